"""Model figures: training curves, score distributions with ROC curves, two models' significance
plateaus on common axes, and a cost-aware search's accuracy-vs-latency plane."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._extras import load

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["cost_pareto", "loss_curves", "plateau_comparison", "score_distributions"]

COLORS = {"signal": "#d62728", "background": "#1f77b4"}


def loss_curves(history: Mapping, *, title: str = "Autoencoder loss (mean MSE)") -> go.Figure:
    """Training and validation loss per epoch (``history``: ``train_loss``, ``val_loss``)."""
    go = load("plotly.graph_objects", "dashboards")
    fig = go.Figure([go.Scatter(y=history["train_loss"], name="train"),
                     go.Scatter(y=history["val_loss"], name="validation")])  # fmt: skip
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss", height=320)
    return fig


def score_distributions(
    test: pd.DataFrame, scores: Mapping[str, tuple[str, str, bool]], *, label: str = "y"
) -> go.Figure:
    """Per model a panel of signal and background score densities, and one panel of ROC curves.

    ``scores``: model name -> (score column, panel title, log10 axis); ``test[label]`` is 1 for
    signal, 0 for background; a larger score is more signal-like.
    """
    go = load("plotly.graph_objects", "dashboards")
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    from sklearn.metrics import roc_auc_score, roc_curve

    titles = [t for _, t, _ in scores.values()] + ["ROC"]
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles)
    y = test[label].to_numpy()
    for col, (column, _, log) in enumerate(scores.values(), start=1):
        for name, part in (("signal", test[y == 1]), ("background", test[y == 0])):
            x = np.log10(part[column]) if log else part[column]
            fig.add_trace(go.Histogram(x=x, nbinsx=60, histnorm="probability density", name=name,
                                       marker_color=COLORS[name], opacity=0.6, legendgroup=name,
                                       showlegend=col == 1), 1, col)  # fmt: skip
        if log:
            fig.update_xaxes(title_text=f"log10 {column}", row=1, col=col)
    roc = len(titles)
    for name, (column, _, _) in scores.items():
        fpr, tpr, _ = roc_curve(y, test[column])
        auc = roc_auc_score(y, test[column])
        fig.add_trace(go.Scatter(x=fpr, y=tpr, name=f"{name} (AUC {auc:.3f})"), 1, roc)
    fig.update_xaxes(title_text="background efficiency", type="log", row=1, col=roc)
    fig.update_yaxes(title_text="signal efficiency", row=1, col=roc)
    fig.update_layout(barmode="overlay", height=380)
    return fig


def plateau_comparison(scans: Mapping) -> go.Figure:
    """Expected significance of each model (``scans``: name -> :class:`o2ml.selection.ScanResult`)
    vs the fraction of data kept and vs the signal efficiency, plateaus drawn thick."""
    go = load("plotly.graph_objects", "dashboards")
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True,
                        subplot_titles=("vs threshold (as fraction of data kept)", "vs signal efficiency"))  # fmt: skip
    palette = ("#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
    for i, (name, sc) in enumerate(scans.items()):
        color = palette[i % len(palette)]
        p, z = sc.plateau, sc.significance
        for col, x in ((1, sc.efficiencies["data"]), (2, sc.signal_efficiency)):
            first = {"legendgroup": name, "showlegend": col == 1}
            fig.add_trace(go.Scatter(x=x, y=z, name=name, line_color=color, **first), 1, col)
            if p is not None:
                on = slice(p.i_lo, p.i_hi + 1)
                fig.add_trace(go.Scatter(x=x[on], y=z[on], mode="lines", opacity=0.3,
                                         line={"color": color, "width": 8}, name=f"{name} plateau",
                                         **first), 1, col)  # fmt: skip
    fig.update_xaxes(type="log", title_text="fraction of data kept", row=1, col=1)
    fig.update_xaxes(title_text="signal efficiency", row=1, col=2)
    fig.update_yaxes(title_text="expected S/√(S+B)", row=1, col=1)
    fig.update_layout(height=420)
    return fig


def cost_pareto(trials: pd.DataFrame, *, title: str, hover_columns=()) -> go.Figure:
    """ROC AUC vs onnxruntime latency of every trial of a cost-aware search, its Pareto front
    and the reference (tutorial-size) trial (``trials``: :func:`o2ml.models.cost_aware.trials_table`)."""
    go = load("plotly.graph_objects", "dashboards")

    def hover(df: pd.DataFrame) -> list[str]:
        return [f"trial {r['trial']}: {r['n_trees']} trees<br>"
                + "<br>".join(f"{k} {r[k]:.3g}" for k in hover_columns) for _, r in df.iterrows()]  # fmt: skip

    fig = go.Figure()
    for df, name, style in [
        (trials, "trials", {"mode": "markers", "marker_color": "lightgray"}),
        (trials[trials["pareto"]], "Pareto front", {"mode": "lines+markers", "line_shape": "hv"}),
        (trials[trials["reference"]], "tutorial size (500 trees/class, depth 5)",
         {"mode": "markers", "marker": {"symbol": "star", "size": 14}}),
    ]:  # fmt: skip
        fig.add_trace(go.Scatter(x=df["latency_us"], y=df["roc_auc"], name=name, text=hover(df),
                                 hoverinfo="text", **style))  # fmt: skip
    fig.update_layout(title=title, xaxis_title="onnxruntime, batch 1 (µs per candidate)",
                      xaxis_type="log", yaxis_title="ROC AUC (ovo, cross-validated)", height=450)  # fmt: skip
    return fig
