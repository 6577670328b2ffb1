"""XGBoost threads when two processes share the cores (pytest-xdist in `make test`, two notebooks).

Why ``make test`` sets ``O2ML_THREADS=1``: with OpenMP's passive waiting (which keeps two
workers' threads from spinning against each other) a 2-thread fit is slower than a 1-thread one.
Prints the wall time of one fit (tutorial-size model, Ds-like features) per setting, one process
alone and two at once.
Run: .venv/bin/python benchmarks/bench_threads.py [--rows N] [--trees N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

FIT = """
import time, numpy as np, xgboost as xgb
rng = np.random.default_rng(0)
X = rng.normal(size=({rows}, 7)).astype(np.float32); y = rng.integers(0, 3, {rows})
clf = xgb.XGBClassifier(n_estimators={trees}, max_depth=5, tree_method="hist", n_jobs={threads})
t = time.perf_counter(); clf.fit(X, y); print(time.perf_counter() - t)
"""


def fits(threads: int, passive: bool, parallel: int, rows: int, trees: int) -> list[float]:
    env = {**os.environ, "OMP_WAIT_POLICY": "passive" if passive else "active"}
    code = FIT.format(rows=rows, trees=trees, threads=threads)
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(parallel)
    ]
    return [float(p.communicate()[0]) for p in procs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--trees", type=int, default=200)
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.rows:,} rows, {args.trees} trees x 3 classes"
    )
    print(f"{'OMP_WAIT_POLICY':<16}{'threads':>8}{'processes':>10}{'fit [s]':>10}")
    for passive in (True, False):
        for parallel in (1, 2):
            for threads in (1, 2):
                times = fits(threads, passive, parallel, args.rows, args.trees)
                policy = "passive" if passive else "active"
                print(f"{policy:<16}{threads:>8}{parallel:>10}{max(times):>10.2f}")


if __name__ == "__main__":
    main()
