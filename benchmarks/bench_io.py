"""io.read_table vs a plain uproot.concatenate on a 1M-row, 20-column ROOT file with 4 DF_ folders.

Issue target: read_table reaches at least 70 % of uproot.concatenate's speed.
Run: .venv/bin/python benchmarks/bench_io.py [--rows N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import uproot

from o2ml.io import read_table, write_table
from o2ml.schema import HF_CAND_DS_LITES


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    columns = HF_CAND_DS_LITES.column_names("data")[:20]
    rng = np.random.default_rng(0)
    df = pd.DataFrame({c: rng.normal(size=args.rows).astype(np.float32) for c in columns})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.root"
        write_table(df, path, HF_CAND_DS_LITES, folders=4)
        tree = HF_CAND_DS_LITES.tree_name
        files = [f"{path}:DF_{i}/{tree}" for i in range(1, 5)]

        def plain():
            return uproot.concatenate(files, library="np")

        def ours():
            return read_table(path, HF_CAND_DS_LITES)

        assert np.array_equal(ours()["fPt"].to_numpy(), plain()["fPt"])
        t_plain = best_of(plain, args.repeat)
        t_ours = best_of(ours, args.repeat)
    mb = args.rows * len(columns) * 4 / 1e6
    print(f"{args.rows} rows x {len(columns)} float32 columns in 4 DF_ folders ({mb:.0f} MB)")
    print(f"{'reader':<34}{'best time [s]':>14}{'MB/s':>9}")
    print(f"{'uproot.concatenate(library=np)':<34}{t_plain:>14.3f}{mb / t_plain:>9.0f}")
    print(f"{'o2ml.io.read_table -> DataFrame':<34}{t_ours:>14.3f}{mb / t_ours:>9.0f}")
    print(f"read_table speed / uproot.concatenate speed = {t_plain / t_ours:.0%} (target >= 70%)")


if __name__ == "__main__":
    main()
