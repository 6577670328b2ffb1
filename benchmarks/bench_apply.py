"""Bulk `o2ml apply` (ROOT in, parquet out, local dask cluster) vs XGBoost's in-memory predict.

Issue 9 target: on 2 cores, `o2ml apply` over 10M candidates with the tutorial model (500 trees,
depth 5, 3 classes, one model per pT bin) reaches at least 80 % of the throughput of XGBoost's own
predict on the same candidates already in memory (2 threads). The apply time is the whole run:
cluster start-up, reading every DF_ folder, scoring, writing the parquet outputs.

Run: .venv/bin/python benchmarks/bench_apply.py [--n 10000000] [--files 8] [--workdir DIR]
(the input files and models are kept in --workdir and reused by later runs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import numpy as np

from o2ml.channels import ds
from o2ml.export.choices import ExportSettings
from o2ml.export.model_dir import config_file_name, write_model_dir
from o2ml.export.o2physics import DEFAULT_TASK
from o2ml.inference import BinnedModel, Execution, apply_files
from o2ml.io import read_table, write_table
from o2ml.models import bdt
from o2ml.schema import pt_bins
from o2ml.toymc.generate import draw

#: pT bins covering every synthetic candidate (1-24 GeV/c), so that all of them are scored
EDGES = [1, 2, 4, 6, 12, 24]
TABLE = "HfCandDsLites"


def make_inputs(workdir: Path, n: int, files: int) -> list[Path]:
    paths = [workdir / "input" / f"run{i:03d}" / "AO2D.root" for i in range(files)]
    if all(p.exists() for p in paths):
        return paths
    per_file = n // files
    for i, path in enumerate(paths):
        data = draw("ds", per_file, 0, seed=1000 + i).data
        write_table(data, path, TABLE, folders=4, overwrite=True)
    return paths


def make_model(workdir: Path) -> Path:
    out = workdir / "model"
    if (out / config_file_name(DEFAULT_TASK)).exists():
        return out
    sample = draw("ds", 1_000_000, 200_000, seed=42)
    models = {}
    for b in pt_bins(EDGES):
        handlers = bdt.class_handlers(sample.data, sample.mc, b, sidebands=ds.SIDEBANDS)
        tt = bdt.balanced_train_test(handlers, seed=42, max_per_class=20_000)
        models[b] = bdt.model_handler(ds.TUTORIAL_FEATURES, seed=42)  # the tutorial configuration
        models[b].fit(tt[0], tt[1])
    export = ExportSettings(features=ds.TUTORIAL_FEATURES)
    write_model_dir(models, out, export=export, cuts=[[0.5, 0, 0]] * len(models), seed=42)
    return out


def xgboost_in_memory(model_dir: Path, inputs: list[Path], threads: int) -> tuple[int, float]:
    """Candidates and seconds of XGBoost predict (inplace, ``threads``) on all candidates in memory."""
    model = BinnedModel.load(model_dir)
    df = read_table(inputs, TABLE, columns=[*model.features, "fPt"])
    scorers = model.scorers("xgboost", threads=threads)
    X = df[model.features].to_numpy(np.float32)
    bins = np.searchsorted(EDGES, df["fPt"].to_numpy(), side="right") - 1
    parts = [X[bins == i] for i in range(len(scorers))]
    del df, X
    t0 = time.perf_counter()
    for scorer, part in zip(scorers, parts, strict=True):
        scorer.booster.inplace_predict(part)
    return sum(len(p) for p in parts), time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--threads", type=int, default=1, help="model threads per worker")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--workdir", default="/tmp/o2ml-bench-apply")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    workdir = Path(args.workdir)
    t0 = time.perf_counter()
    inputs = make_inputs(workdir, args.n, args.files)
    model_dir = make_model(workdir)
    print(f"inputs and models ready in {time.perf_counter() - t0:.0f} s ({workdir})")
    print(f"cores {cores}; load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    n_mem, t_mem = xgboost_in_memory(model_dir, inputs, threads=cores)
    out = workdir / "output"
    shutil.rmtree(out, ignore_errors=True)
    execution = Execution(
        backend=args.backend, workers=args.workers, threads=args.threads, progress=False
    )
    report = apply_files(model_dir, [str(p) for p in inputs], out, execution=execution)
    assert report.ok, report.summary()
    n_apply = sum(r.entries for r in report.results)
    assert n_apply == n_mem, (n_apply, n_mem)
    mem_rate, apply_rate = n_mem / t_mem, n_apply / report.wall_s
    ratio = apply_rate / mem_rate
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print()
    print(f"{'':<52}{'candidates':>12}{'time [s]':>10}{'cand/s':>12}")
    print(f"{f'XGBoost inplace_predict in memory ({cores} threads)':<52}{n_mem:>12,}{t_mem:>10.1f}"
          f"{mem_rate:>12,.0f}")  # fmt: skip
    label = f"o2ml apply ({report.backend}, {report.workers}x{args.threads} threads, ROOT->parquet)"
    print(f"{label:<52}{n_apply:>12,}{report.wall_s:>10.1f}{apply_rate:>12,.0f}")
    print()
    print(f"o2ml apply / in-memory XGBoost = {ratio:.1%} (target >= 80 %): "
          f"{'PASS' if ratio >= 0.8 else 'FAIL'}")  # fmt: skip


if __name__ == "__main__":
    main()
