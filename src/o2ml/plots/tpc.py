"""Plotly figures of the TPC dE/dx calibration notebook: nsigma mean and width vs each input and
in 2-D maps, method by method, and the training curves of the networks.

Built from the tables of :mod:`o2ml.models.tpc.evaluate` (profiles, maps) and the networks'
``history``; nothing here computes a number the notebook asserts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._extras import load

if TYPE_CHECKING:
    import plotly.graph_objects as go


def _color(k: int) -> str:
    """The colour of the ``k``-th method, in the order they are given (plotly's palette)."""
    palette = load("plotly.colors", "dashboards").qualitative.Plotly
    return palette[k % len(palette)]


def nsigma_profiles(
    profiles: Mapping[str, Mapping[str, pd.DataFrame]], *, title: str = ""
) -> go.Figure:
    """Mean (top) and width (bottom) of nsigma vs each variable: ``{method: {variable: profile}}``
    with the tables of :func:`o2ml.models.tpc.evaluate.profile`. Ideal: 0 and 1."""
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    methods = list(profiles)
    variables = list(next(iter(profiles.values())))
    fig = make_subplots(rows=2, cols=len(variables), shared_yaxes=True, horizontal_spacing=0.02,
                        vertical_spacing=0.12, subplot_titles=variables)  # fmt: skip
    for k, method in enumerate(methods):
        color = _color(k)
        for j, var in enumerate(variables):
            t = profiles[method][var]
            for row, col in ((1, "mean"), (2, "width")):
                fig.add_scatter(
                    x=t["x"], y=t[col], mode="lines+markers", name=method, legendgroup=method,
                    showlegend=(j == 0 and row == 1), line={"color": color}, row=row, col=j + 1,
                )  # fmt: skip
    for row, ideal in ((1, 0.0), (2, 1.0)):
        for j in range(len(variables)):
            fig.add_hline(
                y=ideal, line={"color": "grey", "dash": "dot", "width": 1}, row=row, col=j + 1
            )
    fig.update_yaxes(title_text="nσ mean", row=1, col=1)
    fig.update_yaxes(title_text="nσ width", row=2, col=1)
    fig.update_layout(title=title, height=560, legend={"orientation": "h", "y": -0.12})
    return fig


def nsigma_maps(
    maps: Mapping[str, pd.DataFrame],
    *,
    x_title: str,
    y_title: str,
    what: str = "mean",
    title: str = "",
) -> go.Figure:
    """One heatmap per method of the nsigma ``what`` (``"mean"`` or ``"width"``) in the 2-D bins
    of :func:`o2ml.models.tpc.evaluate.profile_map`, on one colour scale centred on the ideal."""
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    ideal = 0.0 if what == "mean" else 1.0
    spread = max(float(np.abs(t[what] - ideal).max()) for t in maps.values())
    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=list(maps), shared_yaxes=True,
                        horizontal_spacing=0.03)  # fmt: skip
    for j, t in enumerate(maps.values()):
        grid = t.pivot(index="iy", columns="ix", values=what)
        fig.add_heatmap(
            z=grid.to_numpy(), x=[f"{v:.2g}" for v in t.groupby("ix")["x"].median()],
            y=[f"{v:.2g}" for v in t.groupby("iy")["y"].median()], zmid=ideal,
            zmin=ideal - spread, zmax=ideal + spread, colorscale="RdBu_r",
            showscale=(j == len(maps) - 1), colorbar={"title": f"nσ {what}"}, row=1, col=j + 1,
        )  # fmt: skip
        fig.update_xaxes(title_text=x_title, row=1, col=j + 1)
    fig.update_yaxes(title_text=f"{y_title} (bin medians)", row=1, col=1)
    fig.update_layout(title=title or f"nσ {what} in bins of {x_title} and {y_title}", height=380)
    return fig


def training_curves(histories: Mapping[str, pd.DataFrame]) -> go.Figure:
    """Validation (solid) and training (dotted) loss vs epoch, one colour per network
    (``{name: history}``; a teacher's history holds its members), the kept epoch marked."""
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    fig = make_subplots(rows=1, cols=len(histories), subplot_titles=list(histories))
    k = 0
    for j, (name, history) in enumerate(histories.items()):
        for member, h in history.groupby("member"):
            color = _color(k)
            k += 1
            label = f"{name} {member + 1}" if history["member"].nunique() > 1 else name
            fig.add_scatter(x=h["epoch"], y=h["val_loss"], mode="lines", name=f"{label} validation",
                            line={"color": color}, row=1, col=j + 1)  # fmt: skip
            fig.add_scatter(x=h["epoch"], y=h["train_loss"], mode="lines", name=f"{label} training",
                            line={"color": color, "dash": "dot"}, row=1, col=j + 1)  # fmt: skip
            best = h[h["best"]]
            fig.add_scatter(x=best["epoch"], y=best["val_loss"], mode="markers", showlegend=False,
                            marker={"color": color, "size": 10, "symbol": "star"}, row=1, col=j + 1)  # fmt: skip
        fig.update_xaxes(title_text="epoch", row=1, col=j + 1)
    fig.update_yaxes(title_text="loss (teacher: robust NLL; student: distillation)", row=1, col=1)
    fig.update_layout(title="Training to early stopping (★ the epoch kept)", height=380)
    return fig


__all__ = ["nsigma_maps", "nsigma_profiles", "training_curves"]
