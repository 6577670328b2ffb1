"""DANN PID, full-size run of notebook 04: training time per epoch, total timing, physics numbers.

Reads the default synthetic PID sample (400k tracks per domain, seed 42, truth in data), splits
each domain in halves, trains the baseline (lambda = 0) and the DANN with the notebook's defaults
(at most 150k training tracks per domain, 12 epochs) and prints, on the held-out data tracks, the
seed-format table (purity, efficiency, F1 of pi, p, K), accuracy and macro-F1 of both models, the
domain-classifier accuracies (the network's own head, a fresh probe), a lambda sweep and the
ONNX parity. Issue targets: full notebook < 15 min on 2 cores; DANN macro-F1 on data >= baseline
+ 2 points; domain-classifier accuracy closer to 0.5 with DANN.
Run: .venv/bin/python benchmarks/bench_dann.py [--max-train N] [--epochs E] [--sweep 0,0.3,1,3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from o2ml.models import dann
from o2ml.onnx import run, session
from o2ml.toymc.generate import ensure_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-train", type=int, default=150_000, help="tracks per domain")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lambda-max", type=float, default=1.0)
    parser.add_argument("--sweep", default="0,0.1,0.3,1,3", help="lambda_max values ('' skips)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    timings: dict[str, float] = {}

    def step(name: str, t0: float) -> float:
        now = time.perf_counter()
        timings[name] = now - t0
        return now

    t = time.perf_counter()
    s = ensure_sample("pid", fast=False)
    mc_train, mc_test = dann.read_tracks(s.mc, "mc").split(0.5, seed=args.seed)
    data_train, data_test = dann.read_tracks(s.data, "data").split(0.5, seed=args.seed)
    mc_train = mc_train.subsample(args.max_train, args.seed)
    data_train = data_train.subsample(args.max_train, args.seed)
    t = step("read + split", t)
    cfg = dann.DANNConfig(epochs=args.epochs, lambda_max=args.lambda_max, seed=args.seed)
    kw = {"threads": args.threads, "progress": False}
    base = dann.train_baseline(mc_train, data_train, cfg, **kw)
    t = step("train baseline", t)
    model = dann.train_dann(mc_train, data_train, cfg, **kw)
    t = step("train DANN", t)
    scores = pd.DataFrame(
        {n: dann.evaluate(m, mc_test, data_test) for n, m in (("baseline", base), ("DANN", model))}
    ).T
    table = dann.seed_table(
        {n: (data_test.y, m.predict(data_test)) for n, m in (("baseline", base), ("DANN", model))}
    )
    t = step("evaluate", t)
    sweep = None
    if args.sweep:
        values = [float(v) for v in args.sweep.split(",")]
        trained = {0.0: base, args.lambda_max: model}
        sweep = dann.lambda_sweep(
            (mc_train, data_train),
            (mc_test, data_test),
            values=values,
            config=cfg,
            trained=trained,
            **kw,
        )
        t = step(f"lambda sweep ({len(set(values) - set(trained))} new trainings)", t)
    with tempfile.TemporaryDirectory() as tmp:
        model.to_onnx(Path(tmp) / "dann.onnx")
        X = data_test.X[:20_000]
        parity = np.abs(run(session(Path(tmp) / "dann.onnx"), X) - model.predict_proba(X)).max()
    step("ONNX export + parity", t)

    pd.set_option("display.width", 160)
    print(f"training: {len(mc_train):,} MC + {len(data_train):,} data tracks, {args.epochs} epochs")
    print(f"evaluation: {len(mc_test):,} MC + {len(data_test):,} data tracks (held out)\n")
    for name, m in (("baseline", base), ("DANN", model)):
        sec = m.history["seconds"]
        print(f"{name:8} s/epoch: mean {sec.mean():.1f}, min {sec.min():.1f}, max {sec.max():.1f}")
    print("\nTimings [s]")
    for k, v in timings.items():
        print(f"  {k:45} {v:8.1f}")
    print(f"  {'total':45} {sum(timings.values()):8.1f}\n")
    print("Data, seed-talk format (truth of the synthetic data):")
    print(table.round(4).to_string(), "\n")
    print("Scores on held-out tracks (domain accuracies: 0.5 = indistinguishable):")
    print(scores.round(4).to_string(), "\n")
    print("Data, all species:")
    for name, m in (("baseline", base), ("DANN", model)):
        print(name)
        print(dann.species_scores(data_test.y, m.predict(data_test)).round(4).to_string())
    if sweep is not None:
        print("\nlambda sweep:")
        print(sweep.round(4).to_string(index=False))
    gain = 100 * (scores.loc["DANN", "data_macro_f1"] - scores.loc["baseline", "data_macro_f1"])
    print(f"\nDANN - baseline macro-F1 on data: {gain:+.1f} points (target >= +2)")
    print(f"ONNX parity: max |ONNX - torch| = {parity:.1e}")


if __name__ == "__main__":
    main()
