"""Cost-aware training: a Ds model as good as the tutorial's, and how much cheaper in onnxruntime.

On the default Ds sample (2 < pT < 4 GeV/c, balanced classes, at most 20k per class, half for
training) trains the tutorial-configuration model (500 trees per class, depth 5), runs the
cost-aware Optuna study (cross-validated ROC AUC vs measured onnxruntime µs per candidate; the
tutorial configuration is its first, reference trial), picks the cheapest Pareto model within
``--max-auc-loss`` of the reference trial's cross-validated AUC, refits it on the same training
set and compares both models on the same test set: ROC AUC (one-vs-one) and onnxruntime batch-1
latency (1 thread), measured back to back in this process, median of ``--repeat`` rounds.
Issue #9 target: within 0.005 ROC AUC of the tutorial model and at least 5x faster per candidate.
The search cross-validates on the whole training set by default: with ``--per-class 3000`` the
tutorial configuration (many slowly learning trees) gains more from the full training set than the
small, fast-learning models do, so a tolerance judged on the subset does not carry over to the
refitted models (one such run: picked model 0.0058 below the tutorial on the test set).
Run: .venv/bin/python benchmarks/bench_cost_aware.py [--trials 50] [--per-class 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

# shared cores: OpenMP threads that spin while waiting slow each other down (as tests/conftest.py)
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np

from o2ml import selection
from o2ml.channels import ds
from o2ml.models import bdt, cost_aware, training
from o2ml.schema import PtBin
from o2ml.toymc.generate import ensure_sample

TARGET_AUC_LOSS = 0.005
TARGET_SPEEDUP = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=50, help="cost-aware Optuna trials")
    parser.add_argument(
        "--per-class", type=int, default=None, help="Optuna CV candidates/class (default: all)"
    )
    parser.add_argument("--max-per-class", type=int, default=20_000, help="training set per class")
    parser.add_argument("--max-auc-loss", type=float, default=TARGET_AUC_LOSS, help="for pick()")
    parser.add_argument("--repeat", type=int, default=3, help="latency rounds (median)")
    parser.add_argument("--n-latency", type=int, default=1000, help="candidates per round")
    parser.add_argument("--storage", default=None, help="Optuna storage (default: in memory)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    load = [os.getloadavg()]
    s = ensure_sample("ds", fast=False)
    features = ds.TUTORIAL_FEATURES
    data = selection.read_candidates(s.data, "HfCandDsLites", features)
    mc = selection.read_candidates(s.mc, "HfCandDsLites", features, kind="mc")
    pt_bin = PtBin(2, 4)

    t0 = time.perf_counter()
    settings = training.TrainSettings(seed=args.seed, max_per_class=args.max_per_class)
    tutorial = training.train_bin(
        data, mc, pt_bin, features, sidebands=ds.SIDEBANDS, settings=settings
    )
    fit_tutorial_s = time.perf_counter() - t0
    x_train, y_train, x_test, y_test = tutorial.train_test

    t0 = time.perf_counter()
    study = cost_aware.optimize_cost_aware(
        bdt.model_handler(features, seed=args.seed),
        tutorial.train_test,
        bdt.Search(
            n_trials=args.trials,
            storage=args.storage,
            study_name=f"bench-cost-ds-{pt_bin.label}-seed{args.seed}",
            seed=args.seed,
            sample_per_class=args.per_class,
        ),
        reference_params=bdt.TUTORIAL_PARAMS,
    )
    study_s = time.perf_counter() - t0
    load.append(os.getloadavg())
    reference = cost_aware.reference_trial(study)
    picked = cost_aware.pick(study, args.max_auc_loss, reference_auc=reference.values[0])

    t0 = time.perf_counter()
    cheap = bdt.model_handler(features, picked.params, seed=args.seed)
    cheap.fit(x_train, y_train)
    fit_cheap_s = time.perf_counter() - t0
    models = {"tutorial": tutorial.model, "picked": cheap}
    table = cost_aware.compare(
        models, x_test, y_test, features, n_latency=args.n_latency, repeat=args.repeat
    )
    load.append(os.getloadavg())

    front = cost_aware.pareto_front(study)
    per_class = f"{args.per_class:,}" if args.per_class else f"all {np.bincount(y_train).max():,}"
    print(
        f"\nDs, {pt_bin}: {len(x_train):,} training / {len(x_test):,} test candidates, "
        f"{len(features)} features; cost-aware study: {len(study.trials)} trials on "
        f"{per_class} candidates/class ({study_s:.0f} s), {len(front)} on the Pareto front"
    )
    cols = ["trial", "roc_auc", "latency_us", "n_trees", "max_depth", "learning_rate"]
    print("Pareto front (CV ROC AUC, µs/candidate measured during the search):")
    print(front[cols].round(4).to_string(index=False))
    print(
        f"reference (tutorial) trial {reference.number}: CV AUC {reference.values[0]:.4f}, "
        f"{reference.values[1]:.1f} µs; picked trial {picked.number}: CV AUC "
        f"{picked.values[0]:.4f}, {picked.values[1]:.1f} µs (max AUC loss {args.max_auc_loss:g})"
    )
    table.insert(3, "fit on full training set (s)", [fit_tutorial_s, fit_cheap_s])
    table["rounds"] = [" ".join(f"{v:.1f}" for v in r) for r in table["rounds"]]
    shown = table.rename(
        columns={
            "latency_us": f"ORT batch 1 (µs/cand, median of {args.repeat})",
            "rounds": "ORT rounds (µs/cand)",
        }
    )
    print(shown.T.to_string(float_format=lambda v: f"{v:.4g}"))
    auc = table["test ROC AUC (ovo)"]
    latency = table["latency_us"]
    loss = auc["tutorial"] - auc["picked"]
    speedup = latency["tutorial"] / latency["picked"]
    print(f"AUC difference (tutorial - picked): {loss:+.4f}; speed-up: {speedup:.1f}x")
    print(
        "load average (1, 5, 15 min) at start, after the study, after the latencies:",
        "; ".join(f"{a:.1f} {b:.1f} {c:.1f}" for a, b, c in load),
    )
    ok_auc = loss <= TARGET_AUC_LOSS
    ok_speed = speedup >= TARGET_SPEEDUP
    print(f"{'PASS' if ok_auc else 'FAIL'}: within {TARGET_AUC_LOSS} ROC AUC ({loss:+.4f})")
    print(f"{'PASS' if ok_speed else 'FAIL'}: >= {TARGET_SPEEDUP:g}x faster ({speedup:.1f}x)")


if __name__ == "__main__":
    main()
