"""The cost of ``import o2ml``: median wall time over fresh interpreters, and the heavy modules it
loaded.

``import o2ml`` imports every public subpackage, and none of the heavy libraries: each module
imports torch, XGBoost, hipe4ml, scikit-learn, Optuna, onnxruntime, ONNX, SciPy, iminuit, uproot,
matplotlib, plotly, ipywidgets or dask inside the functions that use them (issue #34). Each run is
a new interpreter (``python -c "import o2ml"``), so nothing is cached in ``sys.modules``; the time
is that of the import statement alone, measured inside the interpreter (not its start-up). The
heavy modules it loaded should be none.

Run: .venv/bin/python benchmarks/bench_import.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

#: libraries that ``import o2ml`` must not load (pandas, numpy, pyarrow, particle, yaml and
#: filelock are the core it needs)
HEAVY = (
    "torch", "xgboost", "hipe4ml", "sklearn", "optuna", "onnxruntime", "onnx", "onnxmltools",
    "plotly", "ipywidgets", "dask", "distributed", "matplotlib", "scipy", "iminuit", "uproot",
    "hummingbird", "shap", "voila",
)  # fmt: skip

CHILD = f"""
import json, sys, time
t0 = time.perf_counter()
import o2ml
seconds = time.perf_counter() - t0
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"seconds": seconds, "heavy": heavy, "modules": len(sys.modules)}}))
"""


def one_run() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters (default 5)")
    args = parser.parse_args()

    print(f"load average: {os.getloadavg()[0]:.2f} (1 min)")
    runs = [one_run() for _ in range(args.runs)]
    times = [r["seconds"] for r in runs]
    heavy = sorted({m for r in runs for m in r["heavy"]})
    print(
        f"import o2ml: median {statistics.median(times) * 1e3:.0f} ms over {args.runs} fresh "
        f"interpreters (min {min(times) * 1e3:.0f} ms, max {max(times) * 1e3:.0f} ms), "
        f"{runs[0]['modules']} modules in sys.modules"
    )
    print(f"heavy modules loaded: {', '.join(heavy) if heavy else 'none'}")


if __name__ == "__main__":
    main()
