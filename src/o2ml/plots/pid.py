"""Plotly figures of the ITS2 PID notebook: cluster sizes, 2D histograms vs p with expected curves,
and per-bin tables (resolution, separation, purity, efficiency) as lines vs p.

Figures are built from arrays and the tidy tables of :mod:`o2ml.physics.pid_performance`;
histograms are filled here with numpy so a figure carries counts, not millions of points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._extras import load
from ..errors import BadArgumentError, EmptySelectionError, O2mlError
from ..models.pid.tagging import SPECIES
from ..physics import its
from ..physics.pid_response import Response

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: colour of each species in every figure
SPECIES_COLORS = {"e": "#1f77b4", "pi": "#ff7f0e", "K": "#2ca02c", "p": "#d62728"}
#: species names as printed
SPECIES_LABELS = {"e": "e", "pi": "π", "K": "K", "p": "p"}


def species_curves(
    func: Callable[[np.ndarray, str], np.ndarray],
    p: ArrayLike,
    species: Sequence[str] = SPECIES,
    *,
    dash: str = "solid",
    suffix: str = "",
) -> list[dict]:
    """Curves ``func(p, species)`` for each species, in the form :func:`heatmap_vs_p` draws."""
    p = np.asarray(p, dtype=np.float64)
    out = []
    for s in species:
        try:
            y = func(p, s)
        except O2mlError:  # e.g. a species without a fitted response: no curve
            continue
        out.append(
            {
                "name": f"{SPECIES_LABELS[s]}{suffix}",
                "x": p,
                "y": y,
                "color": SPECIES_COLORS[s],
                "dash": dash,
            }
        )
    return out


def response_curves(response: Response, p: ArrayLike, suffix: str = "") -> list[dict]:
    """Expected value of a fitted response per species, drawn only where it was fitted."""
    p = np.asarray(p, dtype=np.float64)
    out = []
    for s in response.species:
        try:
            lo, hi = response.p_range(s)
        except EmptySelectionError:
            continue
        x = p[(p >= lo) & (p <= hi)]
        out.append(
            {
                "name": f"{SPECIES_LABELS.get(s, s)}{suffix}",
                "x": x,
                "y": response.expected(x, s),
                "color": SPECIES_COLORS.get(s),
                "dash": "solid",
            }
        )
    return out


def heatmap_vs_p(
    p: ArrayLike,
    values: ArrayLike,
    *,
    p_range: tuple[float, float],
    y_axis: Mapping,
    bins: tuple[int, int] = (120, 120),
    curves: Sequence[Mapping] = (),
    title: str = "",
    log_z: bool = True,
) -> go.Figure:
    """2D histogram of ``values`` vs ``p`` (log colour scale by default) with optional curves.

    ``y_axis``: ``{"range": (lo, hi), "title": ...}``, the range required (the histogram's), as
    :func:`lines_vs_p` takes it.
    """
    go = load("plotly.graph_objects", "dashboards")
    axis = _y_axis(y_axis)
    y_range, y_title = axis["range"], axis["title"] or ""
    if y_range is None:
        raise BadArgumentError('heatmap_vs_p: expected y_axis={"range": (lo, hi), ...}.')
    counts, xe, ye = np.histogram2d(
        np.asarray(p, dtype=np.float64),
        np.asarray(values, dtype=np.float64),
        bins=bins,
        range=[p_range, y_range],
    )
    z = np.where(counts > 0, np.log10(np.maximum(counts, 1)) if log_z else counts, np.nan)
    fig = go.Figure(
        go.Heatmap(
            x=0.5 * (xe[1:] + xe[:-1]),
            y=0.5 * (ye[1:] + ye[:-1]),
            z=z.T,
            colorscale="Viridis",
            colorbar={"title": "log10 counts" if log_z else "counts"},
            showscale=True,
        )
    )
    for c in curves:
        fig.add_scatter(
            x=c["x"],
            y=c["y"],
            mode="lines",
            name=c["name"],
            line={"color": c.get("color"), "dash": c.get("dash", "solid"), "width": 2},
        )
    fig.update_layout(
        title=title,
        xaxis_title="p (GeV/c)",
        yaxis_title=y_title,
        xaxis_range=list(p_range),
        yaxis_range=list(y_range),
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def cluster_size_layers(
    packed: ArrayLike,
    labels: ArrayLike,
    species: Sequence[str] = SPECIES,
    title: str = "Cluster size per ITS2 layer",
) -> go.Figure:
    """Cluster-size distribution of each of the 7 layers (lines), one panel per species label."""
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    px = load("plotly.express", "dashboards")
    sizes = its.unpack_cluster_sizes(np.asarray(packed))
    labels = np.asarray(labels)
    fig = make_subplots(
        rows=1,
        cols=len(species),
        shared_yaxes=True,
        subplot_titles=[SPECIES_LABELS[s] for s in species],
    )
    x = np.arange(1, its.MAX_CLUSTER_SIZE + 1)
    colors = px.colors.sequential.Plasma
    for col, s in enumerate(species, start=1):
        mine = sizes[labels == SPECIES.index(s)]
        for layer in range(its.N_LAYERS):
            hits = mine[:, layer]
            hits = hits[hits > 0]
            frac = np.bincount(hits, minlength=its.MAX_CLUSTER_SIZE + 1)[1:] / max(hits.size, 1)
            fig.add_scatter(
                x=x,
                y=frac,
                mode="lines",
                name=f"layer {layer}",
                legendgroup=f"L{layer}",
                showlegend=col == 1,
                line={"color": colors[layer % len(colors)]},
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="cluster size (pixels)", row=1, col=col)
    fig.update_yaxes(title_text="fraction of hits", row=1, col=1)
    fig.update_layout(title=title)
    return fig


#: the keys of a ``y_axis`` of :func:`lines_vs_p` and :func:`heatmap_vs_p`
_Y_AXIS = {"title": None, "range": None, "log": False, "lines": ()}


def _y_axis(y_axis: Mapping | None) -> dict:
    unknown = set(y_axis or {}) - set(_Y_AXIS)
    if unknown:
        raise BadArgumentError(
            f"y_axis: unknown keys {sorted(unknown)}; expected some of {list(_Y_AXIS)}."
        )
    return {**_Y_AXIS, **(y_axis or {})}


def lines_vs_p(
    table: pd.DataFrame,
    y: str,
    *,
    color: str = "species",
    dash: str | None = None,
    facet_col: str | None = None,
    error: str | None = None,
    title: str = "",
    y_axis: Mapping | None = None,
) -> go.Figure:
    """Column ``y`` of a per-bin table vs bin centre ``p``: one line per ``color`` (and ``dash``),
    optionally one panel per ``facet_col``. Species are printed as e, π, K, p in their colours.

    ``y_axis``: the y axis, any of ``{"title": ... (default y), "range": (lo, hi), "log": True,
    "lines": [values of dotted horizontal reference lines]}``.
    """
    px = load("plotly.express", "dashboards")
    axis = _y_axis(y_axis)
    y_title, y_range, log_y, hlines = axis["title"], axis["range"], axis["log"], axis["lines"]
    data = table[np.isfinite(table[y])].copy()
    color_map = None
    if "species" in data:
        data["species"] = data["species"].map(SPECIES_LABELS).fillna(data["species"])
        if color == "species":
            color_map = {SPECIES_LABELS[k]: v for k, v in SPECIES_COLORS.items()}
    fig = px.line(
        data,
        x="p",
        y=y,
        color=color,
        line_dash=dash,
        facet_col=facet_col,
        error_y=error,
        markers=True,
        color_discrete_map=color_map,
        log_y=log_y,
        title=title,
    )
    for h in hlines:
        fig.add_hline(y=h, line={"color": "grey", "dash": "dot", "width": 1})
    fig.update_xaxes(title_text="p (GeV/c)")
    fig.update_yaxes(title_text=y_title or y, col=1)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))  # "species=K" -> "K"
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    return fig


def training_curve(history: Mapping[str, Sequence[float]], best_iteration: int | None) -> go.Figure:
    """Validation metric vs boosting round, with the round early stopping kept."""
    go = load("plotly.graph_objects", "dashboards")
    fig = go.Figure()
    for name, values in history.items():
        fig.add_scatter(y=list(values), mode="lines", name=f"validation {name}")
    if best_iteration is not None:
        fig.add_vline(x=best_iteration, line={"dash": "dot", "color": "grey"})
    fig.update_layout(
        title="Early stopping on the validation split",
        xaxis_title="boosting round",
        yaxis_title="weighted RMSE of β",
    )
    return fig


__all__ = [
    "SPECIES_COLORS",
    "SPECIES_LABELS",
    "cluster_size_layers",
    "heatmap_vs_p",
    "lines_vs_p",
    "response_curves",
    "species_curves",
    "training_curve",
]


def purity_vs_efficiency(
    curves: pd.DataFrame, momenta: Sequence[float], species: Sequence[str] = ("pi", "K", "p")
) -> go.Figure:
    """Purity vs efficiency of |nσ| < cut (one point per cut), per species (columns) and momentum
    bin (rows, the bins whose centre is nearest each of ``momenta``), one line per method."""
    px = load("plotly.express", "dashboards")
    centres = np.unique(curves["p"].to_numpy())
    picked = [float(centres[np.argmin(np.abs(centres - m))]) for m in momenta]
    df = curves[curves["p"].isin(picked) & curves["species"].isin(species)].copy()
    if df.empty:
        raise EmptySelectionError(f"no purity/efficiency points at p = {list(momenta)} GeV/c.")
    df["bin"] = df["p"].map(lambda c: f"p ≈ {c:.2f} GeV/c")
    fig = px.line(
        df.sort_values("cut"), x="efficiency", y="purity", color="method", facet_col="species",
        facet_row="bin", markers=True, hover_data=["cut"], category_orders={"species": list(species)},
    )  # fmt: skip
    fig.update_yaxes(range=[0.0, 1.02])
    fig.update_xaxes(range=[0.0, 1.02])
    fig.update_layout(
        title=f"Purity vs efficiency of |nσ| < cut (cut {df['cut'].min():g} … {df['cut'].max():g}), "
        "evaluation tracks, truth branch",
        height=260 * len(picked),
    )
    return fig
