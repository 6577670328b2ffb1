"""Charm-hadron figures: mass regions, significance scans, the mass spectrum after a selection,
corrected yields vs threshold and the closure pulls of a toy ensemble."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._extras import load

if TYPE_CHECKING:
    import plotly.graph_objects as go


#: names of the two peaks of a mass fit after a cut without a channel (a channel's own:
#: ``PEAK_LABELS`` of its module)
PEAK_NAMES = ("signal", "partner peak")
#: colours of successive curves (plotly's default sequence)
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_LINES = {
    "total fit": {"color": "#1f77b4"},
    "background": {"color": "gray", "dash": "dash"},
    "fit + expected S": {"color": "#2ca02c", "dash": "dot", "width": 2},
}
_PEAK_LINES = ({"color": "#d62728"}, {"color": "#2ca02c"})


def plain(values) -> list[float | None]:
    """Floats for JSON (a figure a dashboard sends as it is), NaN and inf as None (a gap)."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def mass_after_cut_curves(fit, peak_names: Sequence[str] = PEAK_NAMES) -> dict[str, np.ndarray]:
    """The y values of each curve of a :func:`mass_after_cut` panel, by trace name: the data
    after the cut, the fitted total, background and each peak (when there is a fit), and the
    background plus the expected signal (when ``fit.expected_signal`` is given). The threshold
    dashboard updates its figure with these on a slider move."""
    out = {"data after cut": np.asarray(fit.counts, dtype=float)}
    if fit.fit is None:
        return out
    parts = fit.fit.predict()
    out["total fit"] = sum(parts.values())
    out["background"] = parts["background"]
    for name, key in zip(peak_names, ("signal", "dplus"), strict=False):
        if key in parts:
            out[name] = parts[key]
    if getattr(fit, "expected_signal", None) is not None:
        out["fit + expected S"] = parts["background"] + fit.expected_signal
    return out


def mass_after_cut(fits: Sequence, *, channel: str | None = None) -> go.Figure:
    """One panel per pT bin: data after the cut (Poisson errors), the fitted total, background
    and each peak, on a linear scale, the signal window shaded where known (``fits``:
    :class:`o2ml.selection.bins.AfterCut`, e.g. :meth:`o2ml.selection.BinScan.fit_after_cut`;
    ``channel``: a name :func:`o2ml.channels.get` knows, or None). The
    threshold dashboard draws its mass panel with it (:class:`o2ml.widgets.ThresholdScanner`).
    The channel names the axis and the peaks (``MASS_LABEL``, ``PEAK_LABELS``)."""
    go = load("plotly.graph_objects", "dashboards")
    make_subplots = load("plotly.subplots", "dashboards").make_subplots
    from ..channels import get

    xaxis_title = get(channel).MASS_LABEL if channel is not None else "m (GeV/c²)"
    peak_names = get(channel).PEAK_LABELS if channel is not None else PEAK_NAMES
    fig = make_subplots(
        rows=1, cols=len(fits), subplot_titles=[f.pt_bin.label + " GeV/c" for f in fits]
    )
    for col, f in enumerate(fits, start=1):
        centres = plain(0.5 * (f.edges[1:] + f.edges[:-1]))
        first = col == 1
        for name, y in mass_after_cut_curves(f, peak_names).items():
            if name == "data after cut":
                trace = go.Scatter(
                    x=centres, y=plain(y), mode="markers", name=name, showlegend=first,
                    error_y={"array": plain(np.sqrt(y)), "thickness": 1}, legendgroup=name,
                    marker={"size": 4, "color": "black"},
                )  # fmt: skip
            else:
                line = _LINES.get(name) or dict(
                    zip(peak_names, _PEAK_LINES, strict=False)
                ).get(name, {})  # fmt: skip
                trace = go.Scatter(x=centres, y=plain(y), mode="lines", line=line, name=name,
                                   showlegend=first, legendgroup=name)  # fmt: skip
            fig.add_trace(trace, 1, col)
        window = getattr(f, "window", None)
        if window is not None:
            fig.add_vrect(x0=window[0], x1=window[1], fillcolor="rgba(44,160,44,0.12)",
                          line_width=0, layer="below", row=1, col=col)  # fmt: skip
        fig.update_xaxes(title_text=xaxis_title, row=1, col=col)
    fig.update_yaxes(title_text="candidates per bin", rangemode="tozero", row=1, col=1)
    fig.update_layout(title="Mass spectrum after the chosen selection, with the fit", height=400)
    return fig


def closure_pulls(pulls: pd.DataFrame, columns: Sequence[str]) -> go.Figure:
    """Histograms of closure pulls over a toy ensemble with the unit Gaussian they should follow."""
    go = load("plotly.graph_objects", "dashboards")
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
    go = load("plotly.graph_objects", "dashboards")
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


def significance_vs_threshold(
    scans: Mapping,
    *,
    plateaus: Mapping | None = None,
    chosen: Mapping[str, int] | None = None,
    x: str = "threshold",
    references: Mapping[str, float] | None = None,
    log_x: bool = False,
    title: str = "Significance S/√(S+B) versus threshold",
) -> go.Figure:
    """Expected significance vs threshold of 1-D scans (``scans``: label ->
    :class:`o2ml.selection.ScanResult`): ±1σ band, plateau shaded with its level dotted, the
    chosen point starred, reference significances (label -> Z) as dotted horizontal lines.

    ``plateaus``: label -> :class:`~o2ml.selection.plateau.Plateau` or None (default each
    scan's own); ``chosen``: label -> index of the working point (default
    :meth:`ScanResult.chosen_index` where there is a plateau); ``x``: ``"threshold"`` or
    ``"efficiency"`` (the signal efficiency: the fair axis between models). The
    :class:`o2ml.widgets.SignificancePlateau` dashboard draws its figure with it."""
    go = load("plotly.graph_objects", "dashboards")
    from ..selection.plateau import working_point

    fig = go.Figure()
    shapes, annotations = [], []
    x_title = "signal efficiency"
    for n, (label, s) in enumerate(scans.items()):
        color = COLORS[n % len(COLORS)]
        xs = s.signal_efficiency if x == "efficiency" else s.thresholds[:, s.scan_axis]
        if x != "efficiency":
            k = s.scan_axis
            x_title = f"{s.cut_names[k]} {s.cut_directions[k]} threshold"
        z, dz = s.significance, s.significance_error
        ok = np.isfinite(z) & np.isfinite(dz) & np.isfinite(xs)
        bx, lo, hi = xs[ok], (z - dz)[ok], (z + dz)[ok]
        fig.add_trace(go.Scatter(
            x=plain(np.r_[bx, bx[::-1]]), y=plain(np.r_[hi, lo[::-1]]), fill="toself",
            mode="none", fillcolor=_rgba(color, 0.18), hoverinfo="skip", showlegend=False,
            legendgroup=label,
        ))  # fmt: skip
        fig.add_trace(go.Scatter(x=plain(xs), y=plain(z), mode="lines", name=label,
                                 line={"color": color, "width": 2}, legendgroup=label))  # fmt: skip
        p = s.plateau if plateaus is None else plateaus.get(label)
        if p is not None:
            x0, x1 = sorted((float(xs[p.i_lo]), float(xs[p.i_hi])))
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1,
                           "y0": 0, "y1": 1, "fillcolor": _rgba(color, 0.10), "line": {"width": 0},
                           "layer": "below"})  # fmt: skip
            shapes.append({"type": "line", "xref": "x", "yref": "y", "x0": x0, "x1": x1,
                           "y0": p.level, "y1": p.level,
                           "line": {"color": color, "dash": "dot", "width": 1}})  # fmt: skip
        i = (chosen or {}).get(label)
        if i is None and p is not None:
            i = working_point(z, p)
        if i is not None and np.isfinite(xs[i]) and np.isfinite(z[i]):
            fig.add_trace(go.Scatter(
                x=[float(xs[i])], y=[float(z[i])], mode="markers", showlegend=False,
                legendgroup=label, hovertext=f"chosen: {float(s.thresholds[i, s.scan_axis]):.4g}",
                marker={"symbol": "star", "size": 14, "color": color,
                        "line": {"color": "black", "width": 1}},
            ))  # fmt: skip
            if p is not None:
                annotations.append({"x": float(xs[i]), "y": float(z[i]), "xref": "x", "yref": "y",
                                    "text": f"width {p.width:.4g}", "showarrow": True, "ay": -28,
                                    "font": {"size": 11, "color": color}})  # fmt: skip
    for label, ref in (references or {}).items():
        shapes.append({"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": ref,
                       "y1": ref, "line": {"color": "black", "dash": "dot", "width": 1}})  # fmt: skip
        annotations.append({"x": 1, "y": ref, "xref": "paper", "yref": "y", "showarrow": False,
                            "text": label, "xanchor": "right", "yanchor": "top"})  # fmt: skip
    fig.update_layout(
        title={"text": title, "font": {"size": 15}}, height=420, plot_bgcolor="white",
        xaxis={"title": {"text": x_title}, "type": "log" if log_x else "linear", **_AXIS},
        yaxis={"title": {"text": "S/√(S+B)"}, "rangemode": "tozero", **_AXIS},
        legend={"x": 0.99, "xanchor": "right", "y": 0.99, "yanchor": "top",
                "bgcolor": "rgba(255,255,255,0.8)"},
        margin={"l": 60, "r": 20, "t": 40, "b": 50}, shapes=shapes, annotations=annotations,
    )  # fmt: skip
    return fig


def significance_scans(scans: Mapping) -> go.Figure:
    """Expected significance vs background-score threshold of each pT bin (``scans``: bin ->
    :class:`o2ml.selection.BinScan`), ±1σ band, plateau shaded, the working point starred,
    rectangular cuts dotted: :func:`significance_vs_threshold` of the BDT scans."""
    labelled = {f"BDT {b.label} GeV/c": s for b, s in scans.items()}
    return significance_vs_threshold(
        {label: s.bdt for label, s in labelled.items()},
        chosen={label: s.chosen_index for label, s in labelled.items()},
        references={
            f"rectangular cuts {b.label}": float(s.reference.significance[0])
            for b, s in scans.items() if s.reference is not None
        },
        log_x=True,
        title="Expected significance vs background-score threshold (plateaus shaded)",
    )  # fmt: skip


def _rgba(color: str, alpha: float) -> str:
    """``#rrggbb`` -> ``rgba(r,g,b,alpha)``."""
    r, g, b = (int(color[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


_AXIS = {"showline": True, "linecolor": "#444", "mirror": True, "ticks": "outside",
         "gridcolor": "#e5e5e5", "zeroline": False}  # fmt: skip


def corrected_yields(variations: Mapping) -> go.Figure:
    """Corrected yield (raw yield / efficiency) vs threshold of each pT bin (``variations``:
    label -> :class:`o2ml.selection.stability.CutVariation`)."""
    go = load("plotly.graph_objects", "dashboards")
    fig = go.Figure()
    for label, cv in variations.items():
        fig.add_trace(go.Scatter(x=cv.thresholds, y=cv.corrected_yield, mode="markers",
                                 name=f"{label} GeV/c",
                                 error_y={"array": cv.corrected_yield_error, "thickness": 1}))  # fmt: skip
    fig.update_layout(title="Corrected yield vs threshold", xaxis_title="score_bkg < threshold",
                      xaxis_type="log", yaxis_title="raw yield / efficiency", yaxis_type="log",
                      height=420)  # fmt: skip
    return fig
