"""Charm-hadron figures: the mass spectrum after a selection, closure pulls of a toy ensemble."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def mass_after_cut(fits: Sequence, *, peak_names=("Ds⁺", "D⁺")) -> go.Figure:
    """One panel per pT bin: data after the cut (Poisson errors), the fitted total, background
    and each peak, on a linear scale (``fits``: :class:`o2ml.analysis.AfterCut`)."""
    fig = make_subplots(
        rows=1, cols=len(fits), subplot_titles=[f.pt_bin.label + " GeV/c" for f in fits]
    )
    for col, f in enumerate(fits, start=1):
        centres = 0.5 * (f.edges[1:] + f.edges[:-1])
        parts = f.fit.predict()
        total = sum(parts.values())
        first = col == 1
        fig.add_trace(
            go.Scatter(x=centres, y=f.counts, error_y={"array": np.sqrt(f.counts), "thickness": 1},
                       mode="markers", marker={"size": 4, "color": "black"}, name="data after cut",
                       showlegend=first, legendgroup="data"),
            1, col,
        )  # fmt: skip
        styles = [
            ("total fit", total, {"color": "#1f77b4"}),
            ("background", parts["background"], {"color": "gray", "dash": "dash"}),
            (peak_names[0], parts.get("signal"), {"color": "#d62728"}),
            (peak_names[1], parts.get("dplus"), {"color": "#2ca02c"}),
        ]
        for name, y, line in styles:
            if y is None:
                continue
            fig.add_trace(
                go.Scatter(x=centres, y=y, mode="lines", line=line, name=name,
                           showlegend=first, legendgroup=name),
                1, col,
            )  # fmt: skip
        fig.update_xaxes(title_text="m(KKπ) (GeV/c²)", row=1, col=col)
    fig.update_yaxes(title_text="candidates per bin", row=1, col=1)
    fig.update_layout(title="Mass spectrum after the chosen selection, with the fit", height=400)
    return fig


def closure_pulls(pulls: pd.DataFrame, columns: Sequence[str]) -> go.Figure:
    """Histograms of closure pulls over a toy ensemble with the unit Gaussian they should follow."""
    fig = go.Figure()
    x = np.linspace(-4, 4, 161)
    n = len(pulls)
    for col in columns:
        fig.add_trace(go.Histogram(x=pulls[col], xbins={"start": -4, "end": 4, "size": 0.5},
                                   name=col, opacity=0.6))  # fmt: skip
    fig.add_trace(
        go.Scatter(x=x, y=n * 0.5 * np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), mode="lines",
                   name="unit Gaussian", line={"color": "black"})
    )  # fmt: skip
    fig.update_layout(barmode="overlay", xaxis_title="pull", yaxis_title="toys × bins",
                      title="Closure pulls over the toy ensemble", height=360)  # fmt: skip
    return fig
