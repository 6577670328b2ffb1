"""ITS2 PID, full-size run of notebook 03: timing of each step and the key physics numbers.

Generates the full synthetic data sample (400k tracks, truth branch), trains the beta regressor on
the TPC-tagged half with the notebook's defaults, and prints the tagging purity per species, the
pi-K and K-p separation of the BDT and of the truncated mean at 0.3 / 0.4 / 0.5 GeV/c on the same
tracks, and the purity and efficiency of |nsigma| < 2 kaons at 0.4 GeV/c.
Issue targets: full notebook run < 10 min on 2 cores; BDT pi-K separation >= truncated mean at
0.3-0.5 GeV/c; kaon purity > 80 % at efficiency > 50 % at 0.4 GeV/c.
Run: .venv/bin/python benchmarks/bench_its_pid.py [--n N] [--seed S] [--n-jobs J]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from o2ml.models import pid
from o2ml.onnx import run, session
from o2ml.physics import pid_performance as perf
from o2ml.toymc.generate import DEFAULT_SIZES
from o2ml.toymc.pid import generate_pid

EDGES = np.arange(0.125, 0.976, 0.05)  # the notebook's bins: centres 0.15 ... 0.95 GeV/c
KEY_P = (0.3, 0.4, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=DEFAULT_SIZES["pid"][1], help="data tracks")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--max-per-species", type=int, default=50_000)
    args = parser.parse_args()

    timings: dict[str, float] = {}

    def step(name: str, t0: float) -> float:
        now = time.perf_counter()
        timings[name] = now - t0
        return now

    t = time.perf_counter()
    tracks = generate_pid(args.n, args.seed, "data", with_truth=True)
    t = step("generate", t)
    train, test = pid.split_tracks(tracks, 0.5, args.seed)
    tags = pid.tag_species(train)
    t = step("tag", t)
    regressor = pid.train_beta_regressor(
        train,
        tags,
        seed=args.seed,
        max_per_species=args.max_per_species,
        params={"n_jobs": args.n_jobs},
    )
    t = step("train", t)
    beta = regressor.predict(test)
    t = step("predict", t)
    with tempfile.TemporaryDirectory() as tmp:
        regressor.to_onnx(Path(tmp) / "beta.onnx")
        beta_onnx = run(
            session(Path(tmp) / "beta.onnx"),
            pid.build_features(test)[regressor.features].to_numpy(),
        )[:, 0]
    t = step("onnx", t)
    p = np.abs(test["fP"].to_numpy())
    good = pid.quality_mask(test)
    tags_test = pid.tag_species(test)
    truth = pid.true_species(test)
    tagged = tags_test >= 0
    response = perf.fit_response(beta[tagged], p[tagged], tags_test[tagged], EDGES)
    methods = {"BDT": beta[good], "truncated mean": pid.baseline_estimator(test)[good]}
    separation = perf.separation_table(methods, p[good], truth[good], EDGES)
    nsigma = {
        "BDT": response.nsigma_all(beta[good], p[good]),
        "truncated mean": {s: v[good] for s, v in pid.baseline_nsigma(test).items()},
    }
    selection = perf.selection_table(nsigma, truth[good], p[good], EDGES, cut=2.0)
    step("evaluate", t)

    print(f"{len(tracks):,} data tracks, {len(train):,} for training, seed {args.seed}")
    print(f"{'step':<10}{'time [s]':>10}")
    for name, seconds in timings.items():
        print(f"{name:<10}{seconds:>10.2f}")
    print(
        f"trees kept {regressor.best_iteration + 1}, training tracks {regressor.n_train}, "
        f"ONNX vs XGBoost max |dbeta| {np.max(np.abs(beta_onnx - beta)):.1e}"
    )

    comp = pid.tagging_composition(tags, pid.true_species(train)).set_index("species")
    print("\nTPC tagging (training half, truth branch)")
    print(f"{'species':<8}{'tagged':>9}{'purity':>9}")
    for s, row in comp.iterrows():
        print(f"{s:<8}{int(row['n_tagged']):>9}{row['purity']:>9.4f}")

    print("\nseparation (sigma) on the same test tracks, true species")
    print(f"{'pair':<6}{'method':<16}" + "".join(f"{x:>9.1f}" for x in KEY_P) + "  GeV/c")
    for pair in ("pi-K", "K-p", "e-pi"):
        for method in methods:
            rows = separation[(separation["pair"] == pair) & (separation["method"] == method)]
            vals = [float(perf.at_momentum(rows, x)["separation"].iloc[0]) for x in KEY_P]
            print(f"{pair:<6}{method:<16}" + "".join(f"{v:>9.2f}" for v in vals))

    print("\n|nsigma| < 2 kaons at 0.4 GeV/c (truth branch)")
    kaons = perf.at_momentum(selection[selection["species"] == "K"], 0.4).set_index("method")
    for method, row in kaons.iterrows():
        print(f"{method:<16} purity {row['purity']:.3f}  efficiency {row['efficiency']:.3f}")


if __name__ == "__main__":
    main()
