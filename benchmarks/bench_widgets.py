"""ThresholdScanner slider updates in the kernel: o2ml (precomputed) beside a hipe4ml-style recomputation.

    python benchmarks/bench_widgets.py [--n 10000000] [--n-mc 1000000] [--moves 40]

Builds the ThresholdScanner on ``--n`` toy data candidates (3 pT bins), then moves the prompt
and background sliders to ``--moves`` new grid points and times each update (lookup + one
background fit + readout + figure). Beside it, the hipe4ml way: on every move, select the
candidates with ``DataFrame.query`` (what ``TreeHandler.get_subset`` does), histogram the mass,
count the MC efficiencies, and run the same fit. Prints build time, median and max update
latency, and checks that both give the same significance. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

import numpy as np

from o2ml.physics.massfit import fit_background
from o2ml.selection import BinInputs
from o2ml.selection._estimate import significance
from o2ml.toymc.scored import scored_candidates
from o2ml.widgets import ScanGrid, ThresholdScanner


def hipe4ml_style_update(
    scanner: ThresholdScanner, data, mc, t_bkg: float, t_prompt: float
) -> float:
    """Significance at one point, recomputed from the candidates (one pass over them per move)."""
    b = scanner.bins[0]
    lo, hi = b.pt
    st = b.settings
    sel = data.query(
        f"fPt >= {lo} and fPt < {hi} and score_bkg < {t_bkg!r} and score_prompt > {t_prompt!r}"
    )
    counts, _ = np.histogram(sel["fM"].to_numpy(), st.edges)
    in_bin = mc.query(f"fPt >= {lo} and fPt < {hi} and fOriginMcRec == 1")
    eff = float(((in_bin["score_bkg"] < t_bkg) & (in_bin["score_prompt"] > t_prompt)).mean())
    err = (eff * (1 - eff) / len(in_bin)) ** 0.5
    fit = fit_background(
        counts, st.edges, background=st.background, exclude=st.exclusions(),
        dplus=st.dplus_model(sideband_fit=True), min_counts=st.min_sideband_counts,
    )  # fmt: skip
    w_lo, w_hi = st.window
    bkg, bkg_err = fit.background_integral(w_lo, w_hi)
    n_sig = b.expected["prompt"] * st.window_fraction
    z, _ = significance(n_sig * eff, st.scale * bkg, n_sig * err, st.scale * bkg_err)
    return float(z)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="data candidates")
    parser.add_argument("--n-mc", type=int, default=1_000_000, help="MC candidates")
    parser.add_argument("--moves", type=int, default=40, help="slider moves to time")
    args = parser.parse_args()

    t0 = time.perf_counter()
    data, mc, expected = scored_candidates(args.n, args.n_mc, seed=11)
    t_toy = time.perf_counter() - t0
    t0 = time.perf_counter()
    bins = [BinInputs(expected, pt) for pt in ((2, 4), (4, 6), (6, 12))]
    scanner = ThresholdScanner(ScanGrid(data, mc, bins), export_dir=tempfile.gettempdir())
    t_build = time.perf_counter() - t0

    rng = np.random.default_rng(3)
    grid_b, grid_p = scanner.grids["score_bkg"], scanner.grids["score_prompt"]
    ours, points, z_ours = [], [], []
    for k in range(args.moves):  # one slider move each: alternately the two sliders
        column, grid = ("score_prompt", grid_p[:80]) if k % 2 == 0 else ("score_bkg", grid_b[10:])
        value = float(rng.choice(grid))
        while value == scanner.thresholds[column]:
            value = float(rng.choice(grid))
        t0 = time.perf_counter()
        scanner.sliders[column].value = value
        ours.append(time.perf_counter() - t0)
        points.append((scanner.thresholds["score_bkg"], scanner.thresholds["score_prompt"]))
        z_ours.append(float(scanner.result.significance[0]))
    cached = []
    for t_bkg, t_prompt in points[-10:]:  # revisiting points: the fits are cached
        t0 = time.perf_counter()
        scanner.set_thresholds(score_bkg=t_bkg, score_prompt=t_prompt)
        cached.append(time.perf_counter() - t0)
    n_ref = max(5, args.moves // 4)
    theirs, z_theirs = [], []
    for t_bkg, t_prompt in points[:n_ref]:
        t0 = time.perf_counter()
        z_theirs.append(hipe4ml_style_update(scanner, data, mc, t_bkg, t_prompt))
        theirs.append(time.perf_counter() - t0)
    same = np.allclose(z_ours[:n_ref], z_theirs, rtol=1e-6, equal_nan=True)

    def ms(values: list[float]) -> str:
        return f"{1000 * statistics.median(values):9.1f} {1000 * max(values):9.1f}"

    print(f"ThresholdScanner update latency -- {platform.machine()}, {args.n:.2e} data and "
          f"{args.n_mc:.2e} MC toy candidates, 3 pT bins, grid {len(grid_b)} x {len(grid_p)}")  # fmt: skip
    print(
        f"toy sample {t_toy:.1f} s; scanner build (cumulative histograms, peak fits) {t_build:.1f} s"
    )
    print(f"{'update (kernel side)':52s} {'median ms':>9s} {'max ms':>9s}")
    print(f"{'o2ml: lookup + 1 fit + readout + figure, new point':52s} {ms(ours)}")
    print(f"{'o2ml: revisited points, 2 sliders (cached fits)':52s} {ms(cached)}")
    print(f"{'hipe4ml-style: query + histogram + counts + fit':52s} {ms(theirs)}")
    print(f"same significance at the same points: {same}")


if __name__ == "__main__":
    main()
