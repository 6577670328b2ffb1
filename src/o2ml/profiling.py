"""Wall time and peak resident memory of a block of code, for the computing-cost tables; the
latency of a function called on one row at a time.

Peak RSS is sampled by a background thread (psutil, every ``interval`` s): ``getrusage``'s
``ru_maxrss`` is the peak of the whole process lifetime, useless for one step of a notebook.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import psutil

__all__ = ["CostTable", "Measurement", "call_latency_us", "measure"]


@dataclass
class Measurement:
    """Wall time (s) and peak / start resident memory (GiB) of one block."""

    label: str
    wall_s: float = float("nan")
    peak_rss_gib: float = float("nan")
    start_rss_gib: float = float("nan")
    info: dict = field(default_factory=dict)


@contextmanager
def measure(label: str, interval: float = 0.01, **info):
    """``with measure("training") as m: ...`` -> ``m.wall_s``, ``m.peak_rss_gib``."""
    proc = psutil.Process()
    m = Measurement(label, info=dict(info))
    peak = [proc.memory_info().rss]
    m.start_rss_gib = peak[0] / 2**30
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            peak[0] = max(peak[0], proc.memory_info().rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    try:
        yield m
    finally:
        m.wall_s = time.perf_counter() - t0
        stop.set()
        thread.join()
        peak[0] = max(peak[0], proc.memory_info().rss)
        m.peak_rss_gib = peak[0] / 2**30


def call_latency_us(one, X, *, n: int = 1000, warmup: int = 50) -> float:
    """Median wall time (µs) of ``one(row)`` over the first ``n`` rows of ``X`` (after
    ``warmup`` calls): the batch-1 latency of a scoring function."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    for i in range(min(warmup, len(X))):
        one(X[i])
    times = np.empty(min(n, len(X)))
    clock = time.perf_counter
    for i in range(len(times)):
        t0 = clock()
        one(X[i])
        times[i] = clock() - t0
    return float(np.median(times) * 1e6)


class CostTable:
    """Rows of (model, step) measurements, shown as the poster's table."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    @contextmanager
    def measure(self, model: str, step: str, **info):
        with measure(f"{model} {step}", **info) as m:
            yield m
        self.rows.append(
            {"model": model, "step": step, "wall time (s)": m.wall_s,
             "peak RES (GiB)": m.peak_rss_gib, **m.info}
        )  # fmt: skip

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows).set_index(["model", "step"])
