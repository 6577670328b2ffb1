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
from pathlib import Path
from typing import Any

import numpy as np

from .._extras import load
from ..export.choices import ExportSettings
from ..plots import charm
from ..selection import ScanResult, find_plateau
from ..selection.plateau import Plateau, working_point
from ._common import (
    STYLE,
    cursor_line,
    fmt,
    fmt_threshold,
    html_table,
    value_cell,
)
from ._scans import ScanDashboard, axis_title, axis_values

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
        fraction: float = 0.95,
        n_sigma: float | None = None,
        export: ExportSettings | None = None,
        export_dir: str | Path = ".",
        export_name: str = "ml_config",
    ) -> None:
        w = load("ipywidgets", "dashboards")
        super().__init__(scans, export=export, export_dir=export_dir, export_name=export_name)
        self._figure_key: tuple | None = None  # what the figure was drawn for
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
        """Move every cursor to its plateau's working point
        (:func:`o2ml.selection.plateau.working_point`); return the thresholds."""
        for label in self.labels:
            p = self.plateau(label)
            if p is not None:
                self.cursor[label] = working_point(self.scans[label].significance, p)
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
            k = working_point(s.significance, p)
            rows.append(
                [
                    html.escape(label),
                    value_cell(
                        "max-significance", fmt(p.max_significance, p.max_significance_error)
                    )
                    + f" at {fmt_threshold(p.threshold_at_max)}",
                    f"{fmt_threshold(p.lo)} – {fmt_threshold(p.hi)}",
                    value_cell("plateau-width", fmt_threshold(p.width)),
                    value_cell("chosen", fmt_threshold(float(axis_values(s)[k])))
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

    def _figure(self, plateaus: Mapping[str, Plateau | None]) -> dict[str, Any]:
        """:func:`o2ml.plots.significance_vs_threshold` of the visible scans (drawn again when
        the criterion, the overlay or the x axis changes) with the cursor's line (a slider
        move changes only that)."""
        efficiency = self.x_axis.value == "efficiency"
        visible = [label for label in self.labels if label in self.visible.value]
        criterion = (self.criterion.value, self.fraction.value, self.n_sigma.value)
        key = (tuple(visible), efficiency, criterion)
        if key != self._figure_key:
            fig = charm.significance_vs_threshold(
                {label: self.scans[label] for label in visible},
                plateaus={label: plateaus[label] for label in visible},
                chosen={
                    label: working_point(self.scans[label].significance, plateaus[label])
                    for label in visible if plateaus[label] is not None
                },
                x="efficiency" if efficiency else "threshold",
            ).to_plotly_json()  # fmt: skip
            if not efficiency and visible:  # the selected scan names the x axis
                title = axis_title(self.scans[self.selected])
                fig["layout"]["xaxis"]["title"] = {"text": html.escape(title)}
            self._base, self._figure_key = fig, key
        s = self.scans[self.selected]
        x = s.signal_efficiency if efficiency else axis_values(s)
        x_cur = float(x[self.cursor[self.selected]])
        shapes = list(self._base["layout"].get("shapes", ()))
        if math.isfinite(x_cur):
            shapes.append(cursor_line(x_cur))
        return {"data": self._base["data"], "layout": {**self._base["layout"], "shapes": shapes}}
