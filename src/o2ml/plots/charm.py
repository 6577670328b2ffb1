"""Charm-hadron figures: mass regions, significance scans, the mass spectrum after a selection,
corrected yields vs threshold and the closure pulls of a toy ensemble."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._extras import missing

try:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
except ImportError as _err:  # the optional extra
    raise missing("dashboards", "o2ml.plots.charm", _err) from _err


def mass_after_cut(fits: Sequence, *, channel: str = "ds", peak_names=("Ds⁺", "D⁺")) -> go.Figure:
    """One panel per pT bin: data after the cut (Poisson errors), the fitted total, background
    and each peak, on a linear scale (``fits``: :class:`o2ml.selection.AfterCut`; ``channel``:
    a name :func:`o2ml.channels.get` knows, for the mass axis)."""
    from ..channels import get

    xaxis_title = get(channel).MASS_LABEL
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
        fig.update_xaxes(title_text=xaxis_title, row=1, col=col)
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


def mass_regions(
    mass,
    *,
    sidebands: Sequence[float],
    signal_region: Sequence[float] | None = None,
    mc_mass=None,
    xaxis_title: str = "m (GeV/c²)",
    title: str = "Invariant mass (sidebands shaded)",
    nbins: int = 150,
) -> go.Figure:
    """The data mass spectrum (log scale) with the sidebands (m < lo, m > hi) shaded, optionally
    the signal region and the MC signal overlaid."""
    mass = np.asarray(mass)
    fig = go.Figure(go.Histogram(x=mass, nbinsx=nbins, name="data"))
    if mc_mass is not None:
        fig.add_trace(
            go.Histogram(x=np.asarray(mc_mass), nbinsx=nbins, name="MC signal", opacity=0.6)
        )
    if signal_region is not None:
        fig.add_vrect(x0=signal_region[0], x1=signal_region[1], fillcolor="green", opacity=0.15,
                      line_width=0, annotation_text="SR")  # fmt: skip
    lo, hi = sidebands
    for x0, x1 in [(mass.min(), lo), (hi, mass.max())]:
        fig.add_vrect(x0=x0, x1=x1, fillcolor="orange", opacity=0.2, line_width=0,
                      annotation_text="SB" if signal_region is not None else None)  # fmt: skip
    fig.update_layout(title=title, xaxis_title=xaxis_title, yaxis_title="candidates",
                      yaxis_type="log", barmode="overlay", height=380)  # fmt: skip
    return fig


def significance_scans(scans: Mapping) -> go.Figure:
    """Expected significance vs background-score threshold of each pT bin (``scans``: bin ->
    :class:`o2ml.selection.BinScan`), ±1σ band, plateau shaded, rectangular cuts dotted."""
    fig = go.Figure()
    for b, s in scans.items():
        r, p = s.bdt, s.bdt.plateau
        x, z, dz = r.thresholds[:, 0], r.significance, r.significance_error
        fig.add_trace(go.Scatter(x=x, y=z, name=f"BDT {b.label} GeV/c", mode="lines"))
        fig.add_trace(go.Scatter(x=np.r_[x, x[::-1]], y=np.r_[z + dz, (z - dz)[::-1]], fill="toself",
                                 opacity=0.2, line_width=0, showlegend=False, hoverinfo="skip"))  # fmt: skip
        if p is not None:
            fig.add_vrect(x0=p.lo, x1=p.hi, opacity=0.08, line_width=0, fillcolor="green")
        if s.reference is not None:
            fig.add_hline(y=s.reference.significance[0], line_dash="dot",
                          annotation_text=f"rectangular cuts {b.label}",
                          annotation_position="bottom right")  # fmt: skip
    fig.update_layout(title="Expected significance vs background-score threshold (plateaus shaded)",
                      xaxis_title="score_bkg < threshold", xaxis_type="log", yaxis_title="S/√(S+B)",
                      height=450)  # fmt: skip
    return fig


def corrected_yields(variations: Mapping) -> go.Figure:
    """Corrected yield (raw yield / efficiency) vs threshold of each pT bin (``variations``:
    label -> :class:`o2ml.selection.CutVariation`)."""
    fig = go.Figure()
    for label, cv in variations.items():
        fig.add_trace(go.Scatter(x=cv.thresholds, y=cv.corrected_yield, mode="markers",
                                 name=f"{label} GeV/c",
                                 error_y={"array": cv.corrected_yield_error, "thickness": 1}))  # fmt: skip
    fig.update_layout(title="Corrected yield vs threshold", xaxis_title="score_bkg < threshold",
                      xaxis_type="log", yaxis_title="raw yield / efficiency", yaxis_type="log",
                      height=420)  # fmt: skip
    return fig
