"""Matplotlib figures of ``o2ml train``: the files O2Physics' training macro writes per pT bin.

``PWGHF/D2H/Macros/ML/train_models.py`` draws the feature distributions with
``hipe4ml.plot_utils.plot_distr``, which calls ``pandas.DataFrame.hist``: one bar patch per bin,
class and feature (100 bins x 3 classes x 13 features: ~4000 patches), most of a bin's plotting
time. :func:`distributions` draws the same figure (one panel per feature, the classes overlaid,
normalised, log scale, alpha 0.3) with one filled step artist per class and panel, on bin
edges shared by the classes so that they can be compared bin by bin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def distributions(
    frames: Sequence,
    columns: Sequence[str],
    labels: Sequence[str],
    *,
    bins: int = 100,
    figsize=(12, 7),
    alpha: float = 0.3,
    log: bool = True,
):
    """One panel per column, each class's normalised histogram (``frames``: one DataFrame per
    class, in the order of ``labels``); returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    n = len(columns)
    ncols = math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, col in zip(axes.flat, columns, strict=False):
        values = [np.asarray(df[col], dtype=float) for df in frames]
        finite = [v[np.isfinite(v)] for v in values]
        lo = min((v.min() for v in finite if v.size), default=0.0)
        hi = max((v.max() for v in finite if v.size), default=1.0)
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        for k, (v, lab) in enumerate(zip(finite, labels, strict=True)):
            counts, _ = np.histogram(v, edges, density=v.size > 0)
            colour = colours[k % len(colours)]
            ax.stairs(counts, edges, fill=True, alpha=alpha, color=colour, label=lab)
        ax.set_title(col)
        ax.set_ylabel("Normalised counts")
        if log:
            ax.set_yscale("log")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    axes.flat[n - 1].legend(loc="best")
    fig.subplots_adjust(left=0.06, bottom=0.06, right=0.99, top=0.96, hspace=0.55, wspace=0.55)
    return fig


__all__ = ["distributions"]
