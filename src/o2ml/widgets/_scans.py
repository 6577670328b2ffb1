"""Base of the dashboards built on 1-D scans: a scan selector, a threshold cursor, a readout, export.

Each scan keeps its own cursor (an index into its thresholds); the slider shows the cursor of the
selected scan and snaps to its thresholds. Export writes the O2Physics JSON of the cursor
thresholds of every scan of the selected scan's model (one scan per pT bin).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._extras import load
from ..export.choices import ExportSettings, class_columns_of
from ..selection import ScanResult
from ._common import (
    DashboardError,
    ExportPanel,
    PlotPane,
    export_config,
    fmt,
    fmt_threshold,
    html_table,
    value_cell,
)

if TYPE_CHECKING:
    from ..export.o2physics import MlResponseConfig


def scan_label(result: ScanResult) -> str:
    """``"<model> <lo>–<hi> GeV/c"`` (model from the metadata, if any)."""
    model = result.metadata.get("model")
    label = f"{result.pt_min:g}–{result.pt_max:g} GeV/c"
    return f"{model} {label}" if model else label


def as_scans(
    scans: Mapping[str, ScanResult] | Sequence[ScanResult] | ScanResult,
) -> dict[str, ScanResult]:
    """Labelled 1-D scans; a grid scan or an empty input raises :class:`DashboardError`."""
    if isinstance(scans, ScanResult):
        scans = [scans]
    if not isinstance(scans, Mapping):
        labelled: dict[str, ScanResult] = {}
        for s in scans:
            label = scan_label(s)
            k = 2
            while label in labelled:
                label, k = f"{scan_label(s)} #{k}", k + 1
            labelled[label] = s
        scans = labelled
    if not scans:
        raise DashboardError("dashboard: expected at least one scan, found none.")
    for label, s in scans.items():
        if not isinstance(s, ScanResult):
            raise DashboardError(
                f"scan {label!r}: expected a ScanResult, found {type(s).__name__}."
            )
        if s.scan_axis is None:
            raise DashboardError(
                f"scan {label!r}: expected a 1-D scan (one varying threshold), found a "
                f"{'grid' if s.grid_shape else 'single-point'} result."
            )
    return dict(scans)


def axis_values(result: ScanResult) -> np.ndarray:
    """Thresholds of the varying cut."""
    return result.thresholds[:, result.scan_axis]


def axis_title(result: ScanResult) -> str:
    k = result.scan_axis
    return f"{result.cut_names[k]} {result.cut_directions[k]} threshold"


class ScanDashboard:
    """Common part of :class:`SignificancePlateau` and :class:`EfficiencyCurves`."""

    def __init__(
        self,
        scans: Mapping[str, ScanResult] | Sequence[ScanResult] | ScanResult,
        *,
        export: ExportSettings | None = None,
        export_dir: str | Path = ".",
        export_name: str = "ml_config",
    ) -> None:
        w = load("ipywidgets", "dashboards")
        self.scans = as_scans(scans)
        self.labels = list(self.scans)
        #: what the export says besides the thresholds; None fields are taken from the scans'
        #: metadata (score columns, features, task, ONNX files)
        self._export = export if export is not None else ExportSettings()
        self.cursor = {label: self._default_index(s) for label, s in self.scans.items()}
        self._muted = False
        self._live = False
        self.scan_selector = w.Dropdown(
            options=self.labels, value=self.labels[0], description="scan"
        )
        self.scan_selector.add_class("o2ml-scan-selector")
        self.slider = w.SelectionSlider(
            options=self._options(self.labels[0]),
            value=self.cursor[self.labels[0]],
            description="threshold",
            continuous_update=True,
            layout=w.Layout(width="460px"),
        )
        self.slider.add_class("o2ml-slider-threshold")
        self.readout = w.HTML()
        self.readout.add_class("o2ml-readout")
        self.plot = PlotPane(height=420)
        self.export_panel = ExportPanel(export_dir, self.export_config, export_name)
        self.scan_selector.observe(self._on_scan, "value")
        self.slider.observe(self._on_slider, "value")

    # ------------------------------------------------------------------------ state
    @property
    def selected(self) -> str:
        """Label of the scan the slider moves."""
        return str(self.scan_selector.value)

    @property
    def thresholds(self) -> dict[str, float]:
        """Cursor threshold of each scan (its varying cut)."""
        return {label: float(axis_values(s)[self.cursor[label]]) for label, s in self.scans.items()}

    def set_threshold(self, value: float, scan: str | None = None) -> float:
        """Move the cursor of ``scan`` (default the selected one) to the nearest threshold."""
        label = self.selected if scan is None else scan
        if label not in self.scans:
            raise DashboardError(f"expected a scan in {self.labels}, found {label!r}.")
        index = int(np.argmin(np.abs(axis_values(self.scans[label]) - value)))
        if label == self.selected:
            self.slider.value = index
        else:
            self.cursor[label] = index
            self._update()
        return float(axis_values(self.scans[label])[index])

    def export_config(self) -> MlResponseConfig:
        """``MlResponse`` configurables of the cursors of the selected scan's model."""
        model = self.scans[self.selected].metadata.get("model")
        group = {lb: s for lb, s in self.scans.items() if s.metadata.get("model") == model}
        choices: dict[tuple[float, float], dict[str, tuple[str, float]]] = {}
        for label, s in group.items():
            key = (s.pt_min, s.pt_max)
            if key in choices:
                raise DashboardError(
                    f"export: two scans of model {model!r} cover {key[0]:g}–{key[1]:g} GeV/c; "
                    "export one scan per pT bin."
                )
            row = s.thresholds[self.cursor[label]]
            choices[key] = {
                n: (d, float(t)) for n, d, t in zip(s.cut_names, s.cut_directions, row, strict=True)
            }
        first = next(iter(group.values()))
        opts = dataclasses.asdict(self._export)
        opts["class_columns"] = opts["class_columns"] or class_columns_of(first)
        opts["features"] = opts["features"] or first.metadata.get("features")
        opts["task"] = opts.get("task") or first.metadata.get("task")
        files = [
            group[lb].metadata.get("onnx_file")
            for lb in sorted(group, key=lambda lb: group[lb].pt_min)
        ]
        if opts.get("onnx_files") is None and all(files):  # the files the scans' models are in
            opts["onnx_files"] = files
        return export_config(choices, **opts)

    def export(self) -> Path | None:
        """Write the O2Physics JSON (the export button)."""
        return self.export_panel.export()

    # ------------------------------------------------------------------------ internals
    @staticmethod
    def _default_index(s: ScanResult) -> int:
        """The scan's working point (:meth:`ScanResult.chosen_index`): the initial cursor."""
        return s.chosen_index()

    def _options(self, label: str) -> list[tuple[str, int]]:
        return [(fmt_threshold(t), i) for i, t in enumerate(axis_values(self.scans[label]))]

    def _on_scan(self, _: Any) -> None:
        label = self.selected
        self._muted = True
        try:
            self.slider.options = self._options(label)
            self.slider.value = self.cursor[label]
        finally:
            self._muted = False
        self._update()

    def _on_slider(self, change: dict[str, Any]) -> None:
        if self._muted:
            return
        self.cursor[self.selected] = int(change["new"])
        self._update()

    def _point_rows(self, label: str) -> list[list[str]]:
        """Readout rows at the cursor of scan ``label``."""
        s, i = self.scans[label], self.cursor[label]
        rows = [
            [
                "cut",
                value_cell(
                    "threshold",
                    f"{s.cut_names[s.scan_axis]} {s.cut_directions[s.scan_axis]} {fmt_threshold(axis_values(s)[i])}",
                ),
            ],
            [
                "S/√(S+B)",
                value_cell("significance", fmt(s.significance[i], s.significance_error[i])),
            ],
            ["S", value_cell("signal", fmt(s.signal[i], s.signal_error[i]))],
            ["B", value_cell("background", fmt(s.background[i], s.background_error[i]))],
            [
                "signal efficiency",
                value_cell(
                    "signal-efficiency", fmt(s.signal_efficiency[i], s.signal_efficiency_error[i])
                ),
            ],
        ]
        for c in s.classes:
            rows.append(
                [
                    f"ε {c}",
                    value_cell(f"eff-{c}", fmt(s.efficiencies[c][i], s.efficiency_errors[c][i])),
                ]
            )
        return rows

    def _readout(self, extra: list[list[str]] | None = None) -> None:
        rows = self._point_rows(self.selected) + (extra or [])
        self.readout.value = f"<b>{self.selected}</b>" + html_table(rows)

    def _update(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)


def finite_band(x: np.ndarray, y: np.ndarray, err: np.ndarray) -> tuple[list[float], list[float]]:
    """Polygon of the band y ± err over the points where both are finite."""
    ok = np.isfinite(y) & np.isfinite(err)
    xs, lo, hi = x[ok], (y - err)[ok], (y + err)[ok]
    return [float(v) for v in np.r_[xs, xs[::-1]]], [float(v) for v in np.r_[hi, lo[::-1]]]


def rgba(color: str, alpha: float) -> str:
    """``#rrggbb`` -> ``rgba(r,g,b,alpha)``."""
    r, g, b = (int(color[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def nan_to_none(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None
