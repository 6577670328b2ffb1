"""Measure the inference backends on one model: the table of ``o2ml bench inference``.

Per backend: latency per candidate at batch 1 (how O2Physics calls a model: one candidate, one
call), throughput at batch 1000 and in bulk (the whole sample in one call), the memory the bulk
call adds on top of the loaded model, and the largest score difference to XGBoost itself.
All backends run with the same number of threads (1 by default, as O2Physics and each dask
worker of ``o2ml apply``).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ModelFileError
from ..profiling import call_latency_us, measure
from .backends import BACKENDS, Scorer, make_scorer

WHY_HUMMINGBIRD_IS_SLOWER = (
    "hummingbird compiles the trees into tensor operations (for depth > 3 it walks all trees level "
    "by level with gathers over [batch x trees] tensors; for shallow trees it evaluates every node "
    "with matrix products). Each operation has a fixed dispatch cost and materialises "
    "intermediate tensors: that dominates at batch 1 and makes bulk scoring memory-bound. It pays "
    "off where the tensor work runs in parallel (GPUs, many cores); on a few CPU cores the native "
    "tree walkers (XGBoost, onnxruntime's TreeEnsemble), which follow one path per tree in a tight "
    "loop, win. The ~10x quoted in 'ML activities in ALICE' (2023; docs/physics.md) was measured on other hardware and library versions."
)


def latency_us(scorer: Scorer, X: np.ndarray, n: int = 1000, warmup: int = 50) -> float:
    """Median wall time (µs) of scoring one candidate at a time, ``n`` candidates of ``X``."""
    return call_latency_us(scorer.single(), X, n=n, warmup=warmup)


def throughput(scorer: Scorer, X: np.ndarray, batch: int | None = None) -> float:
    """Candidates per second, scoring ``X`` in batches of ``batch`` (None: one bulk call)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    t0 = time.perf_counter()
    if batch is None:
        scorer.predict(X)
    else:
        for lo in range(0, len(X), batch):
            scorer.predict(X[lo : lo + batch])
    return len(X) / (time.perf_counter() - t0)


def bench_backends(
    xgb_model,
    onnx_path,
    X: np.ndarray,
    *,
    backends: Sequence[str] = BACKENDS,
    threads: int = 1,
    n_single: int = 1000,
    n_batch: int = 100_000,
    progress: bool = False,
) -> pd.DataFrame:
    """The benchmark table, one row per backend (measured now, on this machine)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    reference = None
    rows = []
    for name in backends:
        if progress:
            print(f"  {name} ...", flush=True)
        t0 = time.perf_counter()
        scorer = make_scorer(name, xgb_model=xgb_model, onnx_path=onnx_path, threads=threads)
        load_s = time.perf_counter() - t0
        lat = latency_us(scorer, X, n=n_single)
        thr_1k = throughput(scorer, X[:n_batch], batch=1000)
        gc.collect()
        with measure(name) as m:
            t0 = time.perf_counter()
            scores = scorer.predict(X)
            bulk = len(X) / (time.perf_counter() - t0)
        if reference is None:
            reference = scores
        rows.append(
            {
                "backend": name,
                "load / convert (s)": load_s,
                "batch 1 (µs/cand)": lat,
                "batch 1k (cand/s)": thr_1k,
                "bulk (cand/s)": bulk,
                "bulk extra memory (MiB)": (m.peak_rss_gib - m.start_rss_gib) * 1024,
                f"max |score - {backends[0]}|": float(np.max(np.abs(scores - reference))),
            }
        )
        del scorer, scores
    return pd.DataFrame(rows).set_index("backend")


def verdict(table: pd.DataFrame) -> str:
    """What the table says, in words (which backend is fastest, and hummingbird vs onnxruntime)."""
    lat, bulk = table["batch 1 (µs/cand)"], table["bulk (cand/s)"]
    lines = [
        f"fastest at batch 1: {lat.idxmin()} ({lat.min():.1f} µs/candidate); "
        f"fastest in bulk: {bulk.idxmax()} ({bulk.max():,.0f} candidates/s)."
    ]
    hb = [b for b in table.index if b.startswith("hummingbird")]
    if "onnxruntime" in table.index and hb:
        ort_lat, ort_bulk = lat["onnxruntime"], bulk["onnxruntime"]
        best_lat, best_bulk = lat[hb].min(), bulk[hb].max()
        if best_lat > ort_lat and best_bulk < ort_bulk:
            lines.append(
                f"hummingbird is slower than onnxruntime's TreeEnsemble on this CPU "
                f"({best_lat / ort_lat:.1f}x the latency at batch 1, "
                f"{ort_bulk / best_bulk:.1f}x less throughput in bulk): "
                + WHY_HUMMINGBIRD_IS_SLOWER
            )
        else:
            lines.append(
                f"hummingbird vs onnxruntime: batch 1 {best_lat:.1f} vs {ort_lat:.1f} µs, "
                f"bulk {best_bulk:,.0f} vs {ort_bulk:,.0f} candidates/s."
            )
    diff = table.filter(like="max |score").iloc[:, 0].max()
    lines.append(f"largest score difference between backends: {diff:.1e}.")
    return "\n".join(lines)


def bench_model(
    model,
    candidates: pd.DataFrame,
    *,
    bin_index: int = 0,
    backends: Sequence[str] = BACKENDS,
    n: int = 100_000,
    threads: int = 1,
    pt_column: str = "fPt",
    progress: bool = False,
) -> tuple[pd.DataFrame, dict]:
    """:func:`bench_backends` on one pT bin's model of a model directory.

    Uses up to ``n`` candidates of that pT bin from ``candidates`` (all candidates if the bin holds
    fewer than 1000). Returns the table and a description of what was measured.
    """
    import os

    from ..models.bdt import load_model
    from .model import BinnedModel

    binned = model if isinstance(model, BinnedModel) else BinnedModel.load(model)
    edges = binned.config.bins_pt
    if not 0 <= bin_index < len(binned.onnx_paths):
        raise ValueError(f"bin_index {bin_index}: the model has {len(binned.onnx_paths)} pT bins.")
    lo, hi = edges[bin_index], edges[bin_index + 1]
    in_bin = candidates[(candidates[pt_column] >= lo) & (candidates[pt_column] < hi)]
    chosen = in_bin if len(in_bin) >= 1000 else candidates
    X = chosen[binned.features].to_numpy(np.float32)[:n]
    onnx_path = binned.onnx_paths[bin_index]
    if binned.has_xgboost:
        clf, _ = load_model(binned.xgboost_path(bin_index))
        params = clf.get_params()
        classes = int(getattr(clf, "n_classes_", 2))
        trees, depth = int(params["n_estimators"]) * max(1, classes), params.get("max_depth")
    else:  # an O2Physics model of one's own: only its ONNX file
        others = [b for b in backends if b != "onnxruntime"]
        if others and list(backends) != list(BACKENDS):
            raise ModelFileError(
                f"{onnx_path}: {', '.join(others)} need the XGBoost JSON model, which this "
                "configuration does not have (an ONNX-only model); measure --backends onnxruntime."
            )
        clf, backends = None, ["onnxruntime"]
        trees, depth = onnx_tree_count(onnx_path), "?"
        classes = binned.config.n_classes
    table = bench_backends(clf, onnx_path, X, backends=backends, threads=threads, progress=progress)
    info = {
        "model": str(onnx_path),
        "pt_bin": (lo, hi),
        "trees": trees,
        "max_depth": depth,
        "classes": classes,
        "candidates": len(X),
        "candidates_from": "the pT bin" if chosen is in_bin else "all pT (bin has < 1000)",
        "threads": threads,
        "cores": len(os.sched_getaffinity(0)),
        "load_average": os.getloadavg(),
    }
    return table, info


def onnx_tree_count(path) -> int | str:
    """Trees of an ONNX tree ensemble (``nodes_treeids`` of its TreeEnsemble node), else ``"?"``."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    for node in graph.node:
        if node.op_type.startswith("TreeEnsemble"):
            for attr in node.attribute:
                if attr.name == "nodes_treeids":
                    return len(set(attr.ints))
    return "?"


def format_report(table: pd.DataFrame, info: dict) -> str:
    """The benchmark as text: what was measured, the table, and what it says."""
    head = (
        f"model {info['model']} (pT {info['pt_bin'][0]:g}-{info['pt_bin'][1]:g} GeV/c): "
        f"{info['trees']} trees (depth {info['max_depth']}, {info['classes']} classes); "
        f"{info['candidates']:,} candidates from {info['candidates_from']}; "
        f"{info['threads']} thread(s) per backend; {info['cores']} cores, load average "
        + " ".join(f"{x:.1f}" for x in info["load_average"])
    )
    fmt = {
        "load / convert (s)": "{:.2f}".format,
        "batch 1 (µs/cand)": "{:.1f}".format,
        "batch 1k (cand/s)": "{:,.0f}".format,
        "bulk (cand/s)": "{:,.0f}".format,
        "bulk extra memory (MiB)": "{:.0f}".format,
    }
    body = table.to_string(formatters={**fmt, table.columns[-1]: "{:.1e}".format})
    return f"{head}\n\n{body}\n\n{verdict(table)}"
