"""Generate and write 1M candidates/tracks to ROOT (4 DF_ folders), as `o2ml generate` does.

Issue target: 1M Ds candidates in under 5 s, 1M PID tracks in under 5 s (generation + writing).
Run: .venv/bin/python benchmarks/bench_generate.py [--n N] [--samples ds pid]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from o2ml.io import write_table
from o2ml.schema import HF_CAND_DS_LITES, TRACKS_EXTRA


def generate(sample: str, n: int):
    if sample == "ds":
        from o2ml.toymc.generate import draw

        return draw("ds", n, 0, seed=1).data, HF_CAND_DS_LITES
    from o2ml.toymc.pid import generate_pid

    # the table with the packed ITS2 cluster sizes, as the PID files hold it
    tracks = generate_pid(n, seed=1, domain="data")
    return tracks[["fITSClusterSizes", "fTPCSignal"]], TRACKS_EXTRA


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--samples", nargs="+", default=["ds", "pid"], choices=["ds", "pid"])
    args = parser.parse_args()
    (
        generate("ds", 1000),
        generate("pid", 1000),
    )  # warm up: imports, particle tables, ITS calibration
    print(
        f"{'sample':<8}{'rows':>10}{'columns':>9}{'generate [s]':>14}{'write [s]':>11}"
        f"{'total [s]':>11}{'CPU [s]':>9}  target"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for sample in args.samples:
            c0, t0 = time.process_time(), time.perf_counter()
            df, table = generate(sample, args.n)
            t1 = time.perf_counter()
            write_table(df, Path(tmp) / f"{sample}.root", table, folders=4)
            t2 = time.perf_counter()
            cpu = time.process_time() - c0
            print(
                f"{sample:<8}{len(df):>10}{df.shape[1]:>9}{t1 - t0:>14.2f}{t2 - t1:>11.2f}"
                f"{t2 - t0:>11.2f}{cpu:>9.2f}  < 5 s wall"
            )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
