#!/usr/bin/env bash
# Wall time of each notebook, full run (no O2ML_FAST) and fast run (O2ML_FAST=1).
# Issue targets (2 cores): 01 full < 15 min, fast < 3 min. Run from the repository root:
#   bash benchmarks/bench_notebooks.sh [notebooks/01_ds_bdt.ipynb ...]
set -euo pipefail
cd "$(dirname "$0")/.."
notebooks=("$@")
[ ${#notebooks[@]} -gt 0 ] || notebooks=(notebooks/0*.ipynb)
printf '%-40s %12s %12s\n' notebook "fast [s]" "full [s]"
for nb in "${notebooks[@]}"; do
  times=()
  for fast in 1 0; do
    start=$(date +%s)
    if (cd notebooks && O2ML_FAST=$fast ../.venv/bin/jupyter nbconvert --to notebook --execute \
      --ExecutePreprocessor.timeout=3600 --output "/tmp/bench_$(basename "$nb")" "$(basename "$nb")" >/dev/null 2>&1); then
      times+=($(( $(date +%s) - start )))
    else  # a notebook that stops early is fast: say it failed instead
      times+=("FAILED")
    fi
  done
  printf '%-40s %12s %12s\n' "$(basename "$nb")" "${times[0]}" "${times[1]}"
done
