"""SignificancePlateau: significance versus threshold with its band, plateau and chosen point.

Several scans (pT bins, or models such as BDT and autoencoder in the same bin) overlay; the
x axis is the threshold or the signal efficiency (the fair axis to compare models whose scores
differ). The plateau criterion is live: :func:`o2ml.selection.find_plateau` on the stored scan,
O(points) per change.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from .._extras import missing

try:
    import ipywidgets as w
except ImportError as _err:  # the optional extra
    raise missing("dashboards", "o2ml.widgets.plateau", _err) from _err
import numpy as np

from ..selection import Plateau, ScanResult, find_plateau
from ._common import (
    COLORS,
    STYLE,
    clean,
    cursor_line,
    fmt,
    fmt_threshold,
    html_table,
    layout,
    value_cell,
)
from ._scans import ScanDashboard, axis_title, axis_values, finite_band, rgba

__all__ = ["SignificancePlateau"]


class SignificancePlateau(ScanDashboard):
    """Dashboard: significance versus threshold, uncertainty band, plateau, for several scans.

    Parameters
    ----------
    scans : mapping label -> ScanResult, or a sequence of ScanResult
        1-D scans (made by :func:`o2ml.selection.scan_significance`).
    fraction : float
        Initial plateau criterion: significance >= fraction x maximum.
    n_sigma : float, optional
        If given, start with the criterion significance >= maximum - n_sigma x its error.
    **options
        Export options of :class:`o2ml.widgets._scans.ScanDashboard` (``export_dir``, ``export_name``,
        ``class_columns``, ``features``, ``onnx_files``, ``task``).
    """

    def __init__(
        self,
        scans: Mapping[str, ScanResult] | Sequence[ScanResult] | ScanResult,
        *,
        fraction: float = 0.95,
        n_sigma: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(scans, **options)
        self.visible = w.SelectMultiple(
            options=self.labels,
            value=tuple(self.labels),
            rows=min(6, len(self.labels)),
            description="overlay",
        )
        self.criterion = w.ToggleButtons(
            options=[("fraction of max", "fraction"), ("n σ below max", "sigma")],
            value="sigma" if n_sigma is not None else "fraction",
            description="plateau",
        )
        self.fraction = w.FloatSlider(
            value=fraction,
            min=0.5,
            max=1.0,
            step=0.01,
            description="fraction",
            readout_format=".2f",
        )
        self.n_sigma = w.FloatSlider(
            value=n_sigma or 1.0,
            min=0.1,
            max=5.0,
            step=0.1,
            description="n σ",
            readout_format=".1f",
        )
        self.fraction.add_class("o2ml-slider-fraction")
        self.x_axis = w.ToggleButtons(
            options=[("threshold", "threshold"), ("signal efficiency", "efficiency")],
            value="threshold",
            description="x axis",
        )
        self.choose_button = w.Button(
            description="Cursors to plateau choice",
            icon="crosshairs",
            layout=w.Layout(width="auto"),
        )
        self.choose_button.on_click(lambda _: self.choose())
        self.table = w.HTML()
        self.table.add_class("o2ml-readout")
        for control in (self.visible, self.criterion, self.fraction, self.n_sigma, self.x_axis):
            control.observe(lambda _: self._update(), "value")
        self.widget = w.VBox(
            [
                w.HTML(STYLE),
                w.HBox(
                    [
                        w.VBox([self.scan_selector, self.slider, self.x_axis]),
                        w.VBox([self.criterion, self.fraction, self.n_sigma]),
                        self.visible,
                    ]
                ),
                w.HBox(
                    [self.readout, self.plot.widget],
                    layout=w.Layout(align_items="flex-start", width="100%"),
                ),
                self.table,
                w.HBox([self.choose_button, self.export_panel.button]),
                self.export_panel.output,
            ]
        )
        self.readout.layout.min_width = "380px"
        self._update()
        self._live = True  # later updates draw the figure after the numbers

    # ------------------------------------------------------------------------ state
    @property
    def result(self) -> dict[str, Plateau | None]:
        """Plateau of each scan under the current criterion (None without finite significance)."""
        return {label: self.plateau(label) for label in self.labels}

    def plateau(self, label: str) -> Plateau | None:
        """:func:`o2ml.selection.find_plateau` of one scan with the current criterion."""
        s = self.scans[label]
        if not np.any(np.isfinite(s.significance)):
            return None
        sigma = self.criterion.value == "sigma"
        return find_plateau(
            axis_values(s),
            s.significance,
            s.significance_error,
            efficiency=s.signal_efficiency,
            fraction=float(self.fraction.value),
            n_sigma=float(self.n_sigma.value) if sigma else None,
            direction=s.cut_directions[s.scan_axis],
        )

    def choose(self) -> dict[str, float]:
        """Move every cursor to its plateau's most efficient point; return the thresholds."""
        for label in self.labels:
            p = self.plateau(label)
            if p is not None:
                self.cursor[label] = p.i_most_efficient
        self._muted = True
        try:
            self.slider.value = self.cursor[self.selected]
        finally:
            self._muted = False
        self._update()
        return self.thresholds

    # ------------------------------------------------------------------------ drawing
    def _update(self) -> None:
        plateaus = self.result
        p = plateaus[self.selected]
        i = self.cursor[self.selected]
        extra = [["on the plateau", "yes" if p is not None and p.contains(i) else "no"]]
        self._readout(extra)
        self._table(plateaus)
        self.plot.show(self._figure(plateaus), defer=self._live)

    def _table(self, plateaus: Mapping[str, Plateau | None]) -> None:
        rows = []
        for label, p in plateaus.items():
            s = self.scans[label]
            if p is None:
                rows.append([html.escape(label), "no finite significance", "", "", ""])
                continue
            k = p.i_most_efficient
            rows.append(
                [
                    html.escape(label),
                    value_cell(
                        "max-significance", fmt(p.max_significance, p.max_significance_error)
                    )
                    + f" at {fmt_threshold(p.threshold_at_max)}",
                    f"{fmt_threshold(p.lo)} – {fmt_threshold(p.hi)}",
                    value_cell("plateau-width", fmt_threshold(p.width)),
                    value_cell("chosen", fmt_threshold(p.most_efficient_threshold))
                    + f" (ε<sub>S</sub> = {fmt(s.signal_efficiency[k])})",
                ]
            )
        crit = (
            f"significance ≥ {self.fraction.value:.2f} × max"
            if self.criterion.value == "fraction"
            else f"significance ≥ max − {self.n_sigma.value:.1f} σ"
        )
        self.table.value = f"<b>Plateaus</b> ({crit})" + html_table(
            rows, ["scan", "max S/√(S+B)", "plateau", "width", "chosen (most efficient)"]
        )

    def _x(self, s: ScanResult) -> np.ndarray:
        return s.signal_efficiency if self.x_axis.value == "efficiency" else axis_values(s)

    def _figure(self, plateaus: Mapping[str, Plateau | None]) -> dict[str, Any]:
        traces: list[dict[str, Any]] = []
        shapes: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for n, label in enumerate(self.labels):
            if label not in self.visible.value:
                continue
            s, color = self.scans[label], COLORS[n % len(COLORS)]
            x = self._x(s)
            bx, by = finite_band(x, s.significance, s.significance_error)
            traces.append(
                {
                    "type": "scatter",
                    "x": bx,
                    "y": by,
                    "fill": "toself",
                    "mode": "none",
                    "fillcolor": rgba(color, 0.18),
                    "hoverinfo": "skip",
                    "showlegend": False,
                    "legendgroup": label,
                }
            )
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": clean(x),
                    "y": clean(s.significance),
                    "name": label,
                    "line": {"color": color, "width": 2},
                    "legendgroup": label,
                }
            )
            p = plateaus[label]
            if p is not None:
                x0, x1 = sorted((float(x[p.i_lo]), float(x[p.i_hi])))
                shapes.append(
                    {
                        "type": "rect",
                        "xref": "x",
                        "yref": "paper",
                        "x0": x0,
                        "x1": x1,
                        "y0": 0,
                        "y1": 1,
                        "fillcolor": rgba(color, 0.10),
                        "line": {"width": 0},
                        "layer": "below",
                    }
                )
                shapes.append(
                    {
                        "type": "line",
                        "xref": "x",
                        "yref": "y",
                        "x0": x0,
                        "x1": x1,
                        "y0": p.level,
                        "y1": p.level,
                        "line": {"color": color, "dash": "dot", "width": 1},
                    }
                )
                k = p.i_most_efficient
                traces.append(
                    {
                        "type": "scatter",
                        "mode": "markers",
                        "x": [float(x[k])],
                        "y": [float(s.significance[k])],
                        "showlegend": False,
                        "legendgroup": label,
                        "marker": {
                            "symbol": "star",
                            "size": 14,
                            "color": color,
                            "line": {"color": "black", "width": 1},
                        },
                        "hovertext": f"chosen: {fmt_threshold(p.most_efficient_threshold)}",
                    }
                )
                annotations.append(
                    {
                        "x": float(x[k]),
                        "y": float(s.significance[k]),
                        "xref": "x",
                        "yref": "y",
                        "text": f"width {fmt_threshold(p.width)}",
                        "showarrow": True,
                        "ay": -28,
                        "font": {"size": 11, "color": color},
                    }
                )
        s = self.scans[self.selected]
        x_cur = float(self._x(s)[self.cursor[self.selected]])
        if math.isfinite(x_cur):
            shapes.append(cursor_line(x_cur))
        x_title = "signal efficiency" if self.x_axis.value == "efficiency" else axis_title(s)
        return {
            "data": traces,
            "layout": layout(
                height=420,
                title={"text": "Significance S/√(S+B) versus threshold", "font": {"size": 15}},
                margin={"l": 60, "r": 20, "t": 40, "b": 50},
                legend={
                    "x": 0.99,
                    "xanchor": "right",
                    "y": 0.99,
                    "yanchor": "top",
                    "bgcolor": "rgba(255,255,255,0.8)",
                },
                xaxis={"title": {"text": html.escape(x_title)}},
                yaxis={"title": {"text": "S/√(S+B)"}, "rangemode": "tozero"},
                shapes=shapes,
                annotations=annotations,
            ),
        }
