"""EfficiencyCurves: efficiency versus threshold per class, ROC, and cut-variation stability.

Three panels from stored scans: the efficiency of each class (MC origins, data) versus the
threshold of the selected scan; the ROC (signal versus background efficiency) of every scan;
and the corrected yield versus threshold (:func:`o2ml.selection.cut_variation`) of the selected
scan, with its mean and RMS over the significance plateau.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._extras import load
from ..errors import O2mlError
from ..export.choices import ExportSettings
from ..selection import ScanResult, cut_variation
from ..selection.stability import CutVariation
from ._common import COLORS, STYLE, clean, cursor_line, fmt, layout, value_cell
from ._scans import ScanDashboard, axis_title, axis_values, finite_band, rgba

__all__ = ["EfficiencyCurves"]

_DOMAINS = ([0.0, 0.28], [0.36, 0.64], [0.72, 1.0])


class EfficiencyCurves(ScanDashboard):
    """Dashboard: efficiency per class versus threshold, ROC, corrected yield versus threshold.

    Parameters
    ----------
    scans : mapping label -> ScanResult, or a sequence of ScanResult
        1-D scans; the stability panel needs scans made with ``fit_raw_yield=True``.
    signal_class, background_class : str
        Classes on the ROC axes (default MC ``prompt`` versus ``data``, which is background-dominated).
    export : ExportSettings, optional
        What the export says besides the thresholds (:class:`o2ml.export.choices.ExportSettings`;
        None: the score columns, features, task and ONNX files the scans' metadata records).
    export_dir, export_name : str
        Where the export button writes: ``export_dir/<export_name>_NNN.json``.
    """

    def __init__(
        self,
        scans: Mapping[str, ScanResult] | Sequence[ScanResult] | ScanResult,
        *,
        signal_class: str = "prompt",
        background_class: str = "data",
        export: ExportSettings | None = None,
        export_dir: str | Path = ".",
        export_name: str = "ml_config",
    ) -> None:
        w = load("ipywidgets", "dashboards")
        super().__init__(scans, export=export, export_dir=export_dir, export_name=export_name)
        classes = sorted({c for s in self.scans.values() for c in s.classes})
        self.signal_class = w.Dropdown(
            options=classes,
            value=signal_class if signal_class in classes else classes[0],
            description="ROC signal",
        )
        self.background_class = w.Dropdown(
            options=classes,
            value=background_class if background_class in classes else classes[-1],
            description="ROC bkg.",
        )
        self.log_y = w.Checkbox(value=True, description="log efficiency axis")
        for control in (self.signal_class, self.background_class, self.log_y):
            control.observe(lambda _: self._update(), "value")
        self.widget = w.VBox(
            [
                w.HTML(STYLE),
                w.HBox(
                    [
                        w.VBox([self.scan_selector, self.slider]),
                        w.VBox([self.signal_class, self.background_class]),
                        self.log_y,
                    ]
                ),
                self.plot.widget,
                w.HBox([self.readout]),
                w.HBox([self.export_panel.button]),
                self.export_panel.output,
            ]
        )
        self._update()
        self._live = True  # later updates draw the figure after the numbers

    # ------------------------------------------------------------------------ state
    @property
    def result(self) -> CutVariation | None:
        """Cut variation of the selected scan (None when it holds no raw yields or plateau)."""
        return self.variation(self.selected)

    def variation(self, label: str) -> CutVariation | None:
        """:func:`o2ml.selection.cut_variation` of one scan, or None where it does not apply."""
        try:
            return cut_variation(self.scans[label])
        except O2mlError:
            return None

    def roc(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """(background efficiency, signal efficiency) of one scan, per threshold."""
        s = self.scans[label]
        sig, bkg = self.signal_class.value, self.background_class.value
        nan = np.full(s.n_points, np.nan)
        return s.efficiencies.get(bkg, nan), s.efficiencies.get(sig, nan)

    # ------------------------------------------------------------------------ drawing
    def _update(self) -> None:
        cv = self.result
        i = self.cursor[self.selected]
        extra = []
        if cv is not None:
            extra = [
                [
                    "corrected yield",
                    value_cell(
                        "corrected-yield", fmt(cv.corrected_yield[i], cv.corrected_yield_error[i])
                    ),
                ],
                ["mean on plateau", fmt(cv.mean) + f" (RMS/mean {fmt(100 * cv.relative_rms)} %)"],
                ["expected (truth table)", fmt(cv.expected)],
            ]
        else:
            extra = [["corrected yield", "n/a (scan without raw yields)"]]
        self._readout(extra)
        self.plot.show(self._figure(cv), defer=self._live)

    def _figure(self, cv: CutVariation | None) -> dict[str, Any]:
        s = self.scans[self.selected]
        x = axis_values(s)
        i = self.cursor[self.selected]
        log = bool(self.log_y.value)
        y3_range = None
        traces: list[dict[str, Any]] = []
        for n, c in enumerate(s.classes):
            color = COLORS[n % len(COLORS)]
            eff, err = s.efficiencies[c], s.efficiency_errors[c]
            if log:  # zero efficiency has no place on a log axis
                eff = np.where(eff > 0, eff, np.nan)
            bx, by = finite_band(x, eff, err)
            traces.append(
                {
                    "type": "scatter",
                    "x": bx,
                    "y": by,
                    "fill": "toself",
                    "mode": "none",
                    "fillcolor": rgba(color, 0.2),
                    "hoverinfo": "skip",
                    "showlegend": False,
                }
            )
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": clean(x),
                    "y": clean(eff),
                    "name": f"ε {c}",
                    "line": {"color": color, "width": 2},
                }
            )
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [float(x[i])],
                    "y": clean(eff[i : i + 1]),
                    "marker": {"color": color, "size": 9, "line": {"color": "black", "width": 1}},
                    "showlegend": False,
                }
            )
        for n, label in enumerate(self.labels):
            color = COLORS[(n + 4) % len(COLORS)]
            fx, fy = self.roc(label)
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": clean(fx),
                    "y": clean(fy),
                    "name": f"ROC {label}",
                    "xaxis": "x2",
                    "yaxis": "y2",
                    "line": {"color": color, "width": 2},
                }
            )
            k = self.cursor[label]
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": clean(fx[k : k + 1]),
                    "y": clean(fy[k : k + 1]),
                    "xaxis": "x2",
                    "yaxis": "y2",
                    "showlegend": False,
                    "marker": {"color": color, "size": 9, "line": {"color": "black", "width": 1}},
                }
            )
        shapes: list[dict[str, Any]] = [cursor_line(float(x[i]))]
        if cv is not None:
            on = cv.on_plateau
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": clean(x),
                    "y": clean(cv.corrected_yield),
                    "error_y": {
                        "type": "data",
                        "array": clean(cv.corrected_yield_error),
                        "thickness": 1,
                        "width": 0,
                        "color": "#aaa",
                    },
                    "marker": {"color": ["#d62728" if o else "#999" for o in on], "size": 5},
                    "name": "corrected yield (red: plateau)",
                    "xaxis": "x3",
                    "yaxis": "y3",
                }
            )
            for y, dash, color in ((cv.mean, "solid", "#d62728"), (cv.expected, "dot", "#2ca02c")):
                if np.isfinite(y):
                    shapes.append(
                        {
                            "type": "line",
                            "xref": "x3 domain",
                            "yref": "y3",
                            "x0": 0,
                            "x1": 1,
                            "y0": float(y),
                            "y1": float(y),
                            "line": {"color": color, "dash": dash, "width": 1.5},
                        }
                    )
            if np.isfinite(cv.rms):
                shapes.append(
                    {
                        "type": "rect",
                        "xref": "x3 domain",
                        "yref": "y3",
                        "x0": 0,
                        "x1": 1,
                        "y0": cv.mean - cv.rms,
                        "y1": cv.mean + cv.rms,
                        "fillcolor": "rgba(214,39,40,0.12)",
                        "line": {"width": 0},
                        "layer": "below",
                    }
                )
            shapes.append(cursor_line(float(x[i]), "x3", "y3 domain"))
        if cv is not None:
            finite = np.isfinite(cv.corrected_yield)
            shown = (
                cv.corrected_yield[cv.on_plateau]
                if cv.on_plateau.any()
                else cv.corrected_yield[finite]
            )
            if shown.size:  # fits far off the plateau can explode: keep the plateau in view
                lo = min(float(shown.min()), cv.expected)
                hi = max(float(shown.max()), cv.expected)
                pad = max(0.4 * (hi - lo), 0.05 * abs(hi))
                y3_range = [lo - pad, hi + pad]
        titles = [
            f"Efficiency per class — {html.escape(self.selected)}",
            f"ROC: ε {html.escape(self.signal_class.value)} vs ε {html.escape(self.background_class.value)}",
            "Corrected yield (green: expected)"
            if cv is not None
            else "Corrected yield: no raw yields in the scan",
        ]
        annotations = [
            {
                "text": t,
                "x": sum(d) / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 13},
            }
            for t, d in zip(titles, _DOMAINS, strict=True)
        ]
        x_title = html.escape(axis_title(s))
        return {
            "data": traces,
            "layout": layout(
                height=470,
                margin={"l": 60, "r": 20, "t": 40, "b": 110},
                annotations=annotations,
                shapes=shapes,
                legend={"orientation": "h", "y": -0.22, "yanchor": "top", "x": 0},
                xaxis={"domain": _DOMAINS[0], "title": {"text": x_title}},
                yaxis={
                    "title": {"text": "efficiency"},
                    "type": "log" if log else "linear",
                    "exponentformat": "power",
                },
                xaxis2={
                    "domain": _DOMAINS[1],
                    "anchor": "y2",
                    "title": {"text": f"ε {self.background_class.value}"},
                    "type": "log" if log else "linear",
                    "exponentformat": "power",
                },
                yaxis2={
                    "anchor": "x2",
                    "title": {"text": f"ε {self.signal_class.value}"},
                    "range": [0, 1.02],
                },
                xaxis3={"domain": _DOMAINS[2], "anchor": "y3", "title": {"text": x_title}},
                yaxis3={"anchor": "x3", "title": {"text": "corrected yield"}, "range": y3_range},
            ),
        }
