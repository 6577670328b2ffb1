"""Plotly figures of the DANN PID notebook: the domain gap, learning curves, feature maps, scores.

Histograms are filled here with numpy so that a figure carries counts, not millions of points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._extras import load

if TYPE_CHECKING:
    import plotly.graph_objects as go
from ..models.dann import FEATURES, Tracks
from .pid import lines_vs_p

#: colour of each domain in every figure
DOMAIN_COLORS = {"MC": "#1f77b4", "data": "#d62728"}
_NAMES = {"mc": "MC", "data": "data"}


def physical_inputs(tracks: Tracks) -> pd.DataFrame:
    """The inputs as a physicist reads them: p, η, TPC dE/dx, TOF β (NaN without TOF), the TRD
    signal (NaN without TRD) and the number of TRD tracklets (0 without TRD)."""
    X = tracks.X
    beta = X[:, FEATURES.index("fBeta")]
    pattern = X[:, FEATURES.index("fTRDPattern")].astype(np.uint8)
    tracklets = np.unpackbits(pattern[:, None], axis=1)[:, 2:].sum(axis=1)  # bits 0-5
    trd = X[:, FEATURES.index("fTRDSignal")]
    return pd.DataFrame(
        {
            "p (GeV/c)": X[:, FEATURES.index("fP")],
            "η": X[:, FEATURES.index("fEta")],
            "TPC dE/dx": X[:, FEATURES.index("fTPCSignal")],
            "TOF β": np.where(beta > 0, beta, np.nan),
            "TRD signal": np.where((tracklets > 0) & (trd > 0), trd, np.nan),
            "TRD tracklets": tracklets,
        }
    )


#: histogram ranges of the physical inputs (log-spaced bins where marked)
_RANGES = {
    "p (GeV/c)": (0.1, 10.0, True),
    "η": (-0.9, 0.9, False),
    "TPC dE/dx": (20.0, 400.0, True),
    "TOF β": (0.2, 1.05, False),
    "TRD signal": (0.5, 6.0, True),
    "TRD tracklets": (-0.5, 6.5, False),
}


def input_distributions(mc: Tracks, data: Tracks, bins: int = 60) -> go.Figure:
    """Normalised distributions of every input, MC and data overlaid (the domain gap, 1D)."""
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    frames = {"MC": physical_inputs(mc), "data": physical_inputs(data)}
    names = list(_RANGES)
    fig = make_subplots(rows=2, cols=3, subplot_titles=names)
    for i, name in enumerate(names):
        lo, hi, log = _RANGES[name]
        edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
        if name == "TRD tracklets":
            edges = np.arange(-0.5, 7.0)
        for domain, df in frames.items():
            v = df[name].to_numpy()
            v = v[np.isfinite(v)]
            counts, _ = np.histogram(v, edges)
            density = counts / max(counts.sum(), 1) / np.diff(edges)
            fig.add_scatter(
                x=0.5 * (edges[1:] + edges[:-1]) if not log else np.sqrt(edges[1:] * edges[:-1]),
                y=density,
                mode="lines",
                line={"shape": "hvh", "color": DOMAIN_COLORS[domain]},
                name=domain,
                legendgroup=domain,
                showlegend=i == 0,
                row=i // 3 + 1,
                col=i % 3 + 1,
            )
        fig.update_xaxes(type="log" if log else "linear", row=i // 3 + 1, col=i % 3 + 1)
    fig.update_layout(title="Inputs in MC and data (normalised)", height=600)
    return fig


def gap_vs_p(
    mc: Tracks,
    data: Tracks,
    quantity: str = "TPC dE/dx",
    *,
    bins: tuple[int, int] = (80, 80),
    p_range: tuple[float, float] = (0.1, 3.0),
) -> go.Figure:
    """``quantity`` vs p in MC (left) and data (right), log colour scale, with the median per p
    bin of both domains drawn on both panels (solid: that panel's domain, dashed: the other)."""
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    lo, hi, log = _RANGES[quantity]
    frames = {"MC": physical_inputs(mc), "data": physical_inputs(data)}
    pe = np.geomspace(*p_range, bins[0] + 1)
    ye = np.geomspace(lo, hi, bins[1] + 1) if log else np.linspace(lo, hi, bins[1] + 1)
    medians = {}
    for domain, df in frames.items():
        p, v = df["p (GeV/c)"].to_numpy(), df[quantity].to_numpy()
        idx = np.digitize(p, pe) - 1
        medians[domain] = np.array(
            [
                np.median(w[np.isfinite(w)]) if np.isfinite(w := v[idx == i]).any() else np.nan
                for i in range(bins[0])
            ]
        )
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(frames), shared_yaxes=True)
    pc = np.sqrt(pe[1:] * pe[:-1])
    counts = {
        d: np.histogram2d(df["p (GeV/c)"], df[quantity], bins=[pe, ye])[0]
        for d, df in frames.items()
    }
    zmax = np.log10(max(max(c.max() for c in counts.values()), 1))
    for col, domain in enumerate(frames, start=1):
        c = counts[domain]
        fig.add_heatmap(
            x=pc,
            y=np.sqrt(ye[1:] * ye[:-1]) if log else 0.5 * (ye[1:] + ye[:-1]),
            z=np.where(c > 0, np.log10(np.maximum(c, 1)), np.nan).T,
            zmin=0,
            zmax=zmax,
            colorscale="Viridis",
            colorbar={"title": "log10 counts"},
            showscale=col == 2,
            row=1,
            col=col,
        )
        for other, med in medians.items():
            fig.add_scatter(
                x=pc,
                y=med,
                mode="lines",
                name=f"median {other}",
                legendgroup=other,
                showlegend=col == 1,
                line={
                    "color": DOMAIN_COLORS[other],
                    "dash": "solid" if other == domain else "dash",
                },
                row=1,
                col=col,
            )
    fig.update_xaxes(type="log", title_text="p (GeV/c)")
    fig.update_yaxes(type="log" if log else "linear")
    fig.update_yaxes(title_text=quantity, col=1)
    fig.update_layout(title=f"{quantity} vs p: MC and data", legend={"orientation": "h", "y": -0.2})
    return fig


#: colours of the models compared in a figure, in order
MODEL_COLORS = ("#636efa", "#ef553b", "#00cc96", "#ab63fa")


def learning_curves(histories: Mapping[str, pd.DataFrame]) -> go.Figure:
    """Per epoch: class loss, domain-classifier accuracy (-> 0.5 when the features are domain
    invariant), macro-F1 on held-out MC and data, and lambda; one colour per model."""
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    panels = {
        (1, 1): ("class loss (MC)", [("class_loss", "", "solid")]),
        (1, 2): (
            "domain-classifier accuracy",
            [("domain_head_acc", " held out", "solid"), ("domain_acc_train", " train", "dot")],
        ),
        (2, 1): (
            "macro-F1 (held out)",
            [("data_macro_f1", " data", "solid"), ("mc_macro_f1", " MC", "dot")],
        ),
        (2, 2): ("λ", [("lambda", "", "solid")]),
    }
    fig = make_subplots(rows=2, cols=2, subplot_titles=[t for t, _ in panels.values()])
    for m, (name, h) in enumerate(histories.items()):
        color = MODEL_COLORS[m % len(MODEL_COLORS)]
        for (r, c), (title, curves) in panels.items():
            for col, suffix, dash in curves:
                if col not in h:
                    continue
                fig.add_scatter(
                    x=h["epoch"],
                    y=h[col],
                    mode="lines+markers",
                    name=f"{name}: {title.split(' (')[0]}{suffix}",
                    line={"dash": dash, "color": color},
                    row=r,
                    col=c,
                )
    fig.add_hline(y=0.5, line={"color": "grey", "dash": "dot"}, row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(title="Learning curves", height=650)
    return fig


def feature_maps(maps: Mapping[str, pd.DataFrame], method: str = "PCA") -> go.Figure:
    """2D maps (:func:`embedding_2d`) of the learned features, one panel per model, coloured by
    domain: overlapping clouds mean domain-invariant features."""
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=list(maps))
    for col, df in enumerate(maps.values(), start=1):
        for domain, part in df.groupby("domain", sort=False):
            fig.add_scattergl(
                x=part["x"],
                y=part["y"],
                mode="markers",
                name=domain,
                legendgroup=domain,
                showlegend=col == 1,
                opacity=0.5,
                marker={"size": 3, "color": DOMAIN_COLORS.get(domain)},
                row=1,
                col=col,
            )
    fig.update_layout(title=f"{method} of the learned features, by domain", height=450)
    return fig


def scores_vs_p_figure(tables: Mapping[str, pd.DataFrame], metric: str = "F1") -> go.Figure:
    """``metric`` (F1, efficiency, purity) vs p per species, one colour per model."""
    both = pd.concat([t.assign(model=name) for name, t in tables.items()], ignore_index=True)
    fig = lines_vs_p(
        both,
        metric,
        color="model",
        facet_col="species",
        title=f"{metric} on data vs p",
        y_axis={"range": (0, 1.05)},
    )
    fig.update_xaxes(type="log")
    return fig


def lambda_sweep_figure(sweep: pd.DataFrame) -> go.Figure:
    """Macro-F1 (MC, data) and domain-classifier accuracies vs lambda_max. With a ``seed``
    column (:func:`o2ml.models.dann.lambda_sweep_over_seeds`): the mean over the seeds with the
    standard deviation as error bars (failed trainings included, their count in the hover)."""
    px = load("plotly.express", "dashboards")
    cols = {
        "data_macro_f1": "macro-F1 data",
        "mc_macro_f1": "macro-F1 MC",
        "domain_probe_acc": "domain probe accuracy",
        "domain_head_acc": "domain head accuracy",
    }
    use = [c for c in cols if c in sweep]
    if "seed" in sweep:
        g = sweep.groupby("lambda_max", sort=True)
        long = g[use].mean().reset_index().melt("lambda_max", use, "quantity", "value")
        err = g[use].std(ddof=1).fillna(0.0).reset_index().melt("lambda_max", use, "q", "std")
        long["std"] = err["std"].to_numpy()
        if "failed" in sweep:
            long = long.merge(g["failed"].sum().rename("failed").reset_index(), on="lambda_max")
    else:
        long = sweep.melt("lambda_max", use, "quantity", "value")
    long["quantity"] = long["quantity"].map(cols)
    long["λmax"] = long["lambda_max"].map(lambda v: f"{v:g}")
    extra = {"error_y": "std"} if "std" in long else {}
    hover = ["failed"] if "failed" in long else None
    fig = px.line(long, x="λmax", y="value", color="quantity", markers=True, hover_data=hover,
                  **extra)  # fmt: skip
    fig.add_hline(y=0.5, line={"color": "grey", "dash": "dot"})
    fig.update_layout(title="λ sweep", yaxis_title="", xaxis_type="category")
    return fig


__all__ = [
    "DOMAIN_COLORS",
    "MODEL_COLORS",
    "feature_maps",
    "gap_vs_p",
    "input_distributions",
    "lambda_sweep_figure",
    "learning_curves",
    "physical_inputs",
    "scores_vs_p_figure",
]


def identified_dedx(selected: Mapping[str, Tracks], title: str) -> go.Figure:
    """TPC dE/dx vs p of the tracks each model identifies as one species, one panel per model:
    the truth-free look at what a selection really contains (other species show as bands)."""
    go = load("plotly.graph_objects", "dashboards")
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    names = list(selected)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, shared_yaxes=True)
    for col, name in enumerate(names, start=1):
        t = selected[name]
        p = t.X[:, FEATURES.index("fP")]
        dedx = t.X[:, FEATURES.index("fTPCSignal")]
        fig.add_trace(
            go.Histogram2d(x=np.log10(p), y=dedx, nbinsx=80, nbinsy=80, colorscale="Viridis",
                           showscale=col == len(names), ybins={"start": 0, "end": 400}),
            1, col,
        )  # fmt: skip
        fig.update_xaxes(title_text="log10 p (GeV/c)", row=1, col=col)
    fig.update_yaxes(title_text="TPC dE/dx", row=1, col=1)
    fig.update_layout(title=title, height=380)
    return fig
