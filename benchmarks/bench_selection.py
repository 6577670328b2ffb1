"""Efficiency and significance scans: o2ml.selection beside hipe4ml, same scores, same run.

    python benchmarks/bench_selection.py [--n 10000000] [--thresholds 200] [--repeat 3]

Prints one table: wall time of each task (best and median of ``--repeat`` runs; hipe4ml once)
and the largest difference between our efficiencies and hipe4ml's
``analysis_utils.bdt_efficiency_array`` (which loops over the thresholds, one pass over the
candidates per threshold). Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import numpy as np

from o2ml.physics.massfit import PeakFit
from o2ml.selection import BinInputs, scan_significance
from o2ml.selection._binning import count_below
from o2ml.selection.efficiency import (
    ScoreCut,
    class_efficiencies,
    efficiency,
    efficiency_2d,
    passing,
    selection_efficiency,
)


def timed(fn, repeat: int) -> tuple[float, float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="candidates")
    parser.add_argument("--thresholds", type=int, default=200, help="thresholds per scan")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each o2ml task")
    parser.add_argument("--skip-hipe4ml", action="store_true", help="do not run hipe4ml")
    args = parser.parse_args()
    n, n_thr, repeat = args.n, args.thresholds, args.repeat

    rng = np.random.default_rng(1)
    label = (rng.random(n) < 0.3).astype(np.int64)  # 1 signal, 0 background
    score = np.where(label == 1, rng.beta(5, 2, n), rng.beta(2, 5, n))
    score_bkg = np.where(label == 1, rng.beta(1, 8, n), rng.beta(3, 3, n))
    thresholds = np.linspace(score.min(), score.max(), n_thr)  # hipe4ml's thresholds
    mass = rng.uniform(1.7, 2.2, n)

    rows: list[tuple[str, float, float, str]] = []

    best, med, eff = timed(lambda: efficiency(score[label == 1], thresholds), 1)
    best, med, eff = timed(lambda: efficiency(score, thresholds), repeat)
    rows.append((f"1 cut, {n:.0e} cand. x {n_thr} thr.", best, med, ""))

    best, med, by_class = timed(
        lambda: class_efficiencies({"s": score}, label, {"s": (">", thresholds)}), repeat
    )
    rows.append((f"1 cut, per class (2), {n:.0e} x {n_thr}", best, med, ""))

    w = rng.exponential(1.0, n)
    best, med, _ = timed(lambda: efficiency(score, thresholds, weights=w), repeat)
    rows.append((f"1 cut, weighted, {n:.0e} x {n_thr}", best, med, ""))

    scores2 = {"bkg": score_bkg, "sig": score}
    cuts2 = {"bkg": ("<", 0.3), "sig": (">", thresholds)}
    best, med, _ = timed(lambda: selection_efficiency(scores2, cuts2), repeat)
    rows.append((f"2 cuts (bkg<0.3 fixed), {n:.0e} x {n_thr}", best, med, ""))

    thr_b = np.linspace(0, 1, n_thr)
    best, med, grid = timed(lambda: efficiency_2d(score_bkg, score, thr_b, thresholds), repeat)
    rows.append((f"2-D grid {n_thr}x{n_thr}, {n:.0e} cand.", best, med, ""))

    edges = np.linspace(1.7, 2.2, 101)

    def mass_hist() -> np.ndarray:
        idx = count_below(edges, mass, "right")
        return passing([score], [ScoreCut("s", ">", thresholds)], extra=(idx, 102))[0]

    best, med, _ = timed(mass_hist, repeat)
    rows.append((f"mass hist 100 bins x {n_thr} thr., {n:.0e}", best, med, ""))

    # end-to-end scan: 10^6 data candidates (exponential background + peak), 200 fits
    n_data = min(n, 1_000_000)
    u = rng.random(n_data)
    d_mass = 1.7 + np.log1p(u * math.expm1(-3.0 * 0.5)) / -3.0
    d_mass[: n_data // 50] = rng.normal(1.968, 0.01, n_data // 50)
    d_score = rng.beta(2, 5, n_data)
    d_score[: n_data // 50] = rng.beta(5, 2, n_data // 50)
    table = {"pt_edges": [2.0, 4.0], "species": {"Ds": {"prompt": [n_data / 50]}}}
    peak = PeakFit(1.968, 1e-4, 0.01, 1e-4, 1.0, 0.0, True)
    mc = {"prompt": {"s": rng.beta(5, 2, 200_000)}}
    scan_thr = np.linspace(0.05, 0.95, n_thr)

    def scan():
        return scan_significance(
            d_mass, {"s": d_score}, mc, {"s": (">", scan_thr)},
            inputs=BinInputs(table, (2.0, 4.0), peak=peak, mass_edges=edges),
        )  # fmt: skip

    scan()  # compile iminuit's numba cost once
    best, med, result = timed(scan, 1)
    n_ok = int(result.fit_ok.sum())
    rows.append((f"full scan {n_data:.0e} cand., {n_thr} fits ({n_ok} ok)", best, med, ""))

    hipe = math.nan
    diff = ""
    if not args.skip_hipe4ml:
        from hipe4ml.analysis_utils import bdt_efficiency_array

        t0 = time.perf_counter()
        eff_h, thr_h = bdt_efficiency_array(label, score, n_points=n_thr)
        hipe = time.perf_counter() - t0
        assert np.array_equal(thr_h, thresholds)
        max_diff = float(np.max(np.abs(by_class[1].values - eff_h)))
        diff = f"max |eff - hipe4ml| = {max_diff:.1e}"

    print(f"o2ml.selection benchmark -- {platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}, best/median of {repeat} runs")  # fmt: skip
    print(f"{'task':48s} {'best [s]':>9s} {'median [s]':>11s}")
    for name, b, m, _ in rows:
        print(f"{name:48s} {b:9.3f} {m:11.3f}")
    if not args.skip_hipe4ml:
        ours = rows[1][1]
        print()
        print(f"{'signal efficiency, ' + f'{n:.0e} cand. x {n_thr} thr.':48s} "
              f"{'o2ml':>9s} {'hipe4ml':>11s} {'speed-up':>9s}")  # fmt: skip
        print(f"{'class_efficiencies vs bdt_efficiency_array':48s} {ours:9.3f} {hipe:11.3f} "
              f"{hipe / ours:8.0f}x")  # fmt: skip
        print(diff)
    print(f"\n(eff. at threshold 0.5: {float(np.interp(0.5, thresholds, eff)):.4f}; "
          f"grid shape {grid.shape})")  # fmt: skip


if __name__ == "__main__":
    main()
