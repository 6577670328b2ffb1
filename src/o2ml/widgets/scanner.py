"""ThresholdScanner: move score thresholds per pT bin and see the mass fit, S, B and significance live.

At construction, each pT bin gets ONE cumulative histogram of the data (mass bin x threshold of
every cut, :func:`o2ml.selection.efficiency.passing`) and one cumulative histogram per MC class
(:func:`o2ml.selection.efficiency.class_efficiencies` on the threshold grid). A slider move is
then an array lookup plus one background fit of a ~100-bin histogram (cached): no pass over the
candidates, so it costs the same at 10^4 and 10^7 candidates. Slider values snap to the grid.
The numbers are those :func:`o2ml.selection.scan_significance` gives at the same thresholds.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._extras import load
from ..channels import CHANNELS
from ..errors import ScanInputError
from ..export.choices import ExportSettings
from ..plots import charm
from ..schema import PtBin
from ..selection import ScanResult
from ..selection.bins import AfterCut
from ._common import (
    STYLE,
    DashboardError,
    ExportPanel,
    PlotPane,
    fmt,
    fmt_threshold,
    html_table,
    value_cell,
)
from ._grid import DEFAULT_CUTS, BinGrid, ScanGrid

if TYPE_CHECKING:
    from ..export.o2physics import MlResponseConfig

__all__ = ["DEFAULT_CUTS", "ThresholdScanner"]


class ThresholdScanner:
    """Dashboard: thresholds per pT bin, with the mass fit, S, B, S/B, significance and efficiencies.

    Parameters
    ----------
    grid : ScanGrid
        The numbers on the threshold grid, per pT bin: ``ScanGrid(data, mc, bins, cuts=...,
        columns=..., options=...)`` of scored candidates (``bins``: one
        :class:`o2ml.selection.BinInputs` per pT bin), or :meth:`ScanGrid.from_histograms` of
        the files ``o2ml scan`` writes (no candidates in memory, whatever their number).
    initial : mapping, optional
        ``{(lo, hi): {column: threshold}}`` or ``{column: threshold}``: start values.
    export : ExportSettings, optional
        What the export writes besides the thresholds (:class:`o2ml.export.choices.ExportSettings`:
        class columns and labels, features, ONNX files, task).
    export_dir, export_name
        Where: each export is a new file ``export_dir/<export_name>_NNN.json``.
    """

    def __init__(
        self,
        grid: ScanGrid,
        *,
        initial: Mapping[Any, Any] | None = None,
        export: ExportSettings | None = None,
        export_dir: str | Path = ".",
        export_name: str = "ml_config",
    ) -> None:
        if not isinstance(grid, ScanGrid):
            raise TypeError(
                "ThresholdScanner(): expected a ScanGrid (ScanGrid(data, mc, bins) or "
                f"ScanGrid.from_histograms(...)), found {type(grid).__name__}."
            )
        self._live = False
        self.grid = grid
        self._export = export if export is not None else ExportSettings()
        self._setup(initial, export_dir, export_name)

    def _setup(self, initial, export_dir, export_name) -> None:
        self.cuts, self.grids, self.bins = self.grid.cuts, self.grid.grids, self.grid.bins
        self.pt_bins, self.signal_origins = self.grid.pt_bins, self.grid.signal_origins
        # the channel whose signal this is: its mass axis and peak names (once, not per move)
        channel = next((c for c in CHANNELS.values() if c.SPECIES == self.grid.species), None)
        self._channel = None if channel is None else channel.NAME
        self._peaks = charm.PEAK_NAMES if channel is None else channel.PEAK_LABELS
        self._figure_key: tuple | None = None  # what the figure's traces were built for
        self.recorded: dict[tuple[float, float], dict[str, tuple[str, float]]] = {}
        self._build_ui(initial or {}, export_dir, export_name)
        self._update()
        self._live = True  # later updates draw the figure after the numbers

    # ------------------------------------------------------------------------ precomputation
    # ------------------------------------------------------------------------ state
    @property
    def bin_index(self) -> int:
        """Index of the selected pT bin."""
        return int(self.bin_selector.value)

    @property
    def thresholds(self) -> dict[str, float]:
        """Current threshold of each cut (on the grid)."""
        return {c: float(s.value) for c, s in self.sliders.items()}

    @property
    def result(self) -> ScanResult:
        """The selection at the current thresholds, as a one-point :class:`ScanResult`."""
        return self._point()["result"]

    def set_thresholds(self, **values: float) -> dict[str, float]:
        """Move sliders to the grid values nearest to ``values`` (by column name)."""
        for column, value in values.items():
            if column not in self.sliders:
                raise ScanInputError(
                    f"thresholds: expected a cut column in {list(self.sliders)}, found {column!r}."
                )
            grid = self.grids[column]
            self.sliders[column].value = float(grid[int(np.argmin(np.abs(grid - value)))])
        return self.thresholds

    def record(self) -> dict[str, tuple[str, float]]:
        """Record the current thresholds for the selected pT bin (the record button)."""
        choice = {c.column: (c.direction, self.thresholds[c.column]) for c in self.cuts}
        self.recorded[self.bins[self.bin_index].pt] = choice
        self._show_recorded()
        return choice

    def export_config(self) -> MlResponseConfig:
        """``MlResponse`` configurables of the recorded thresholds (one per pT bin, all bins)."""
        missing = [f"{lo:g}–{hi:g}" for lo, hi in self.pt_bins if (lo, hi) not in self.recorded]
        if missing:
            raise DashboardError(
                f"export: expected recorded thresholds for every pT bin, found none for "
                f"{', '.join(missing)} GeV/c; record them first."
            )
        return self._export.config(self.recorded)

    def export(self) -> Path | None:
        """Write the O2Physics JSON of the recorded thresholds (the export button)."""
        return self.export_panel.export()

    # ------------------------------------------------------------------------ computation
    def _point(self) -> dict[str, Any]:
        return self.grid.point(self.bin_index, self.grid.index(self.thresholds))

    # ------------------------------------------------------------------------ interface
    def _build_ui(
        self, initial: Mapping[Any, Any], export_dir: str | Path, export_name: str
    ) -> None:
        w = load("ipywidgets", "dashboards")
        self._initial = initial
        self.bin_selector = w.ToggleButtons(
            options=[(f"{lo:g}–{hi:g} GeV/c", i) for i, (lo, hi) in enumerate(self.pt_bins)],
            value=0,
            description="pT bin",
        )
        self.bin_selector.add_class("o2ml-pt-bin")
        self.sliders: dict[str, w.SelectionSlider] = {}
        for c in self.cuts:
            options = [(fmt_threshold(t), float(t)) for t in self.grids[c.column]]
            slider = w.SelectionSlider(
                options=options,
                value=options[len(options) // 2][1],
                description=f"{c.column} {html.unescape(c.direction)}",
                continuous_update=True,
                style={"description_width": "130px"},
                layout=w.Layout(width="460px"),
            )
            slider.add_class(f"o2ml-slider-{c.column}")
            self.sliders[c.column] = slider
        self._apply_initial(0)
        self.readout = w.HTML()
        self.readout.add_class("o2ml-readout")
        self.plot = PlotPane()
        self.record_button = w.Button(
            description="Record threshold", icon="check", layout=w.Layout(width="auto")
        )
        self.record_button.add_class("o2ml-record")
        self.record_button.on_click(lambda _: self.record())
        self.recorded_view = w.HTML()
        self.recorded_view.add_class("o2ml-readout")
        self.export_panel = ExportPanel(export_dir, self.export_config, export_name)
        self._show_recorded()
        self._muted = False
        self.bin_selector.observe(self._on_bin, "value")
        for slider in self.sliders.values():
            slider.observe(lambda _: self._update(), "value")
        self.widget = w.VBox(
            [
                w.HTML(STYLE),
                self.bin_selector,
                w.HBox(list(self.sliders.values())),
                w.HBox(
                    [self.readout, self.plot.widget],
                    layout=w.Layout(align_items="flex-start", width="100%"),
                ),
                w.HBox([self.record_button, self.export_panel.button]),
                self.recorded_view,
                self.export_panel.output,
            ]
        )
        self.readout.layout.min_width = "380px"

    def _apply_initial(self, index: int) -> None:
        start = self._initial.get(self.pt_bins[index], self._initial)
        for column, value in start.items():
            if column in self.sliders and isinstance(value, (int, float)):
                grid = self.grids[column]
                self.sliders[column].value = float(grid[int(np.argmin(np.abs(grid - value)))])

    def _on_bin(self, _: Any) -> None:
        recorded = self.recorded.get(self.bins[self.bin_index].pt)
        self._muted = True
        try:
            if recorded:
                for column, (_d, value) in recorded.items():
                    self.sliders[column].value = value
            else:
                self._apply_initial(self.bin_index)
        finally:
            self._muted = False
        self._update()

    def _update(self) -> None:
        if getattr(self, "_muted", False):
            return
        point = self._point()
        r: ScanResult = point["result"]
        b = self.bins[self.bin_index]
        s, s_err = float(r.signal[0]), float(r.signal_error[0])
        bkg, bkg_err = float(r.background[0]), float(r.background_error[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            sb = s / bkg if bkg > 0 else math.nan
            sb_err = (
                abs(sb) * math.hypot(s_err / s, bkg_err / bkg) if s > 0 and bkg > 0 else math.nan
            )
        rows = [
            ["S (expected signal)", value_cell("signal", fmt(s, s_err))],
            ["B (in the window)", value_cell("background", fmt(bkg, bkg_err))],
            ["S/B", value_cell("sb", fmt(sb, sb_err))],
            [
                "S/√(S+B)",
                value_cell(
                    "significance", fmt(float(r.significance[0]), float(r.significance_error[0]))
                ),
            ],
        ]
        for c in sorted(r.classes, key=lambda c: (c not in self.signal_origins, c == "data", c)):
            name = "data (≈ background)" if c == "data" else f"MC {c}"
            rows.append(
                [
                    f"ε {name}",
                    value_cell(
                        f"eff-{c}",
                        fmt(float(r.efficiencies[c][0]), float(r.efficiency_errors[c][0])),
                    ),
                ]
            )
        lo, hi = b.settings.window
        rows.append(["signal window", f"{lo:.4f} – {hi:.4f} GeV/c²"])
        if not r.fit_ok[0]:
            rows.append(["background fit", "<b>failed</b> (too few sideband candidates)"])
        self.readout.value = html_table(rows)
        title = f"{b.pt[0]:g} < pT < {b.pt[1]:g} GeV/c — {self._cut_text()}"
        self.plot.show(self._figure(b, point, title), defer=self._live)

    def _figure(self, b: BinGrid, point: dict[str, Any], title: str) -> dict[str, Any]:
        """The mass panel of :func:`o2ml.plots.mass_after_cut`: drawn by it when the bin (or
        the set of curves) changes, else its curves' y values replaced (a slider move)."""
        after = self._after_cut(b, point)
        curves = charm.mass_after_cut_curves(after, self._peaks)
        key = (b.pt, tuple(curves))
        if key != self._figure_key:
            fig = charm.mass_after_cut([after], channel=self._channel).to_plotly_json()
            self._base, self._figure_key = fig, key
        base = self._base
        data = []
        for trace in base["data"]:
            y = curves[trace["name"]]
            new = {**trace, "y": charm.plain(y)}
            if "error_y" in trace:
                new["error_y"] = {**trace["error_y"], "array": charm.plain(np.sqrt(y))}
            data.append(new)
        layout = {**base["layout"], "title": {"text": html.escape(title), "font": {"size": 14}}}
        return {"data": data, "layout": layout}

    @staticmethod
    def _after_cut(b: BinGrid, point: dict[str, Any]) -> AfterCut:
        """The grid point as the :class:`o2ml.selection.bins.AfterCut` the figure draws: the
        mass histogram after the cut, the sideband fit, the window and the expected signal."""
        st = b.settings
        edges = st.edges
        expected = None
        if point["fit"] is not None:
            centres = 0.5 * (edges[1:] + edges[:-1])
            width = float(edges[1] - edges[0])
            n_s = float(point["result"].signal[0]) / st.window_fraction / st.scale
            gauss = np.exp(-0.5 * ((centres - st.mean) / st.sigma) ** 2)
            gauss *= n_s * width / (st.sigma * math.sqrt(2 * math.pi))
            near = np.abs(centres - st.mean) < 4 * st.sigma + width
            expected = np.where(near, gauss, np.nan)
        return AfterCut(
            np.asarray(point["hist"], dtype=float), edges, point["fit"], math.nan,
            PtBin(*b.pt), window=tuple(st.window), expected_signal=expected,
        )  # fmt: skip

    def _cut_text(self) -> str:
        return ", ".join(
            f"{c.column} {c.direction} {fmt_threshold(self.thresholds[c.column])}"
            for c in self.cuts
        )

    def _show_recorded(self) -> None:
        if not self.recorded:
            self.recorded_view.value = "<i>No thresholds recorded yet.</i>"
            return
        rows = []
        for (lo, hi), choice in sorted(self.recorded.items()):
            cuts = ", ".join(f"{c} {d} {fmt_threshold(v)}" for c, (d, v) in choice.items())
            rows.append([f"{lo:g}–{hi:g} GeV/c", html.escape(cuts)])
        self.recorded_view.value = "<b>Recorded thresholds</b>" + html_table(
            rows, ["pT bin", "cuts"]
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)
