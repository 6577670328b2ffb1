"""Pieces shared by the dashboards: plot panes, number formatting, error panels, O2Physics export.

Plots are plotly figure dicts shown through the ``application/vnd.plotly.v1+json`` mime type in
an ``ipywidgets.Output`` (rendered by the jupyterlab-plotly extension in JupyterLab and Voila).
A dashboard draws its figure with the :mod:`o2ml.plots` function (``fig.to_plotly_json()``)
when what it shows changes, and on a slider move replaces only the values it holds: plotly's
validation is not paid per move. Not ``plotly.graph_objects.FigureWidget``, because it needs
``anywidget``, which the pinned environment does not ship.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._extras import load
from ..errors import DashboardError as DashboardError  # re-exported for the widgets
from ..errors import O2mlError

# the export of chosen thresholds lives in o2ml.export.choices (o2ml export uses it too)
from ..export.choices import CLASS_COLUMNS as CLASS_COLUMNS
from ..export.choices import config_from_choices
from ..export.choices import cut_direction as cut_direction

#: the dashboards' name of :func:`o2ml.export.choices.config_from_choices`
export_config = config_from_choices

if TYPE_CHECKING:  # the export and model modules import onnx and xgboost: slow for a dashboard
    import ipywidgets as w

    from ..export.o2physics import MlResponseConfig

PLOTLY_MIME = "application/vnd.plotly.v1+json"
#: colours of successive curves (plotly's default sequence)
COLORS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)

_AXIS = {
    "showline": True,
    "linecolor": "#444",
    "mirror": True,
    "ticks": "outside",
    "gridcolor": "#e5e5e5",
    "zeroline": False,
}
STYLE = """<style>
.o2ml-readout table {border-collapse: collapse; font-size: 14px;}
.o2ml-readout td, .o2ml-readout th {padding: 2px 10px; text-align: right;}
.o2ml-readout th {text-align: left; font-weight: 600;}
.o2ml-error {color: #a00; border: 1px solid #a00; padding: 8px 12px; background: #fff5f5;}
.o2ml-export-json {font-size: 12px; max-height: 320px; overflow: auto; background: #f6f6f6;}
</style>"""


def fmt(value: float | None, error: float | None = None, digits: int = 4) -> str:
    """The text a dashboard shows for a number (and its uncertainty); tests compare with it.

    ``digits`` significant digits of the value, the error with the same decimals; scientific
    notation outside [1e-4, 1e6).
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    has_error = error is not None and math.isfinite(error)
    mag = math.floor(math.log10(abs(value))) if value != 0 else 0
    if value != 0 and not -4 <= mag < 6:
        text = f"{value:.{digits - 1}e}"
        return text + (f" ± {error:.{digits - 1}e}" if has_error else "")
    decimals = max(0, digits - 1 - mag)
    text = f"{value:.{decimals}f}"
    return text + (f" ± {error:.{decimals}f}" if has_error else "")


def fmt_threshold(value: float) -> str:
    """Slider label of a threshold."""
    return f"{value:.4g}"


def layout(**extra: Any) -> dict[str, Any]:
    """A light, readable plotly layout (white background, framed axes, legend on top)."""
    base = {
        "height": 380,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "font": {"size": 13},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "xaxis": dict(_AXIS),
        "yaxis": dict(_AXIS),
    }
    for key, value in extra.items():
        if key.startswith(("xaxis", "yaxis")):
            base[key] = {**_AXIS, **value}
        else:
            base[key] = value
    return base


def cursor_line(x: float, xref: str = "x", yref: str = "paper") -> dict[str, Any]:
    """The dashed vertical line of a slider's position, from bottom to top of its axes."""
    return {
        "type": "line",
        "xref": xref,
        "yref": yref,
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": "black", "dash": "dash", "width": 1},
    }


def clean(values: np.ndarray) -> list[float | None]:
    """Floats for JSON, NaN/inf as None (a gap in a plotly line)."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


class PlotPane:
    """An ``Output`` widget showing one plotly figure dict; ``.figure`` is the last one shown.

    ``show(..., defer=True)`` (the slider callbacks) sends the figure a moment later from the
    kernel's event loop, and only the latest one: the numbers reach the page first (the
    browser draws them before plotly redraws), and keys held down do not queue up redraws.
    """

    delay = 0.03  #: seconds between the numbers and the figure of a deferred update

    def __init__(self, height: int = 380) -> None:
        w = load("ipywidgets", "dashboards")
        self.widget = w.Output(layout=w.Layout(min_height=f"{height}px", width="100%"))
        self.figure: dict[str, Any] = {}
        self._pending: asyncio.TimerHandle | None = None

    def show(self, figure: dict[str, Any], defer: bool = False) -> None:
        """Replace the figure (one trait update; no kernel-side rendering)."""
        self.figure = figure
        if defer:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a script, a test): draw now
                loop = None
            if loop is not None:
                if self._pending is None:
                    self._pending = loop.call_later(self.delay, self._flush)
                return
        self._flush()

    def _flush(self) -> None:
        self._pending = None
        data = {
            PLOTLY_MIME: {
                "data": self.figure.get("data", []),
                "layout": self.figure.get("layout", {}),
                "config": {"displaylogo": False},
            },
            "text/plain": "<plotly figure>",
        }
        self.widget.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)


def html_table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None) -> str:
    """A small HTML table; cells are already-escaped HTML."""
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def value_cell(css: str, text: str) -> str:
    """A number in a span a test (or a user's CSS) can find: ``<span class="o2ml-<css>">``."""
    return f'<span class="o2ml-{css}">{html.escape(text)}</span>'


def error_panel(error: BaseException | str, title: str = "The dashboard cannot start") -> w.HTML:
    """A readable error in the page (no traceback): the title and the error's message."""
    w = load("ipywidgets", "dashboards")
    message = str(error)
    widget = w.HTML(
        STYLE
        + f'<div class="o2ml-error"><b>{html.escape(title)}</b><br>'
        + f"<span class='o2ml-error-message'>{html.escape(message)}</span></div>"
    )
    widget.add_class("o2ml-error-panel")
    return widget


class ExportPanel:
    """Export button + message: writes the O2Physics JSON as a new numbered file and shows it.

    Each press writes ``directory/<stem>_NNN.json`` (:func:`o2ml.export.files.write_numbered`):
    earlier exports are kept and no existing file is ever replaced.
    """

    def __init__(self, directory: str | Path, build: Any, stem: str = "ml_config") -> None:
        w = load("ipywidgets", "dashboards")
        self.directory = Path(directory)
        self.stem = stem
        self.path: Path | None = None  # the last file written
        self._build = build
        self.button = w.Button(
            description="Export O2Physics JSON", icon="download", layout=w.Layout(width="auto")
        )
        self.button.add_class("o2ml-export")
        self.output = w.HTML(
            STYLE
            + "Export writes a new file "
            + f"<code class='o2ml-export-dir'>{html.escape(str(self.directory / stem))}_NNN.json</code>"
            + " (earlier exports are kept)."
        )
        self.output.add_class("o2ml-export-output")
        self.button.on_click(lambda _: self.export())
        self.config: MlResponseConfig | None = None

    def export(self) -> Path | None:
        """Write the JSON to a new numbered file; show it, or the error."""
        from ..export.files import write_numbered

        try:
            config = self._build()
            text = json.dumps({config.task: config.configurables()}, indent=2)
            path = write_numbered(self.directory, self.stem, text + "\n")
        except O2mlError as err:
            self.output.value = STYLE + (
                f'<div class="o2ml-error">Export failed: {html.escape(str(err))}</div>'
            )
            return None
        self.config, self.path = config, path
        self.output.value = (
            STYLE
            + f"Wrote <code class='o2ml-export-path'>{html.escape(str(path))}</code>:"
            + f"<pre class='o2ml-export-json'>{html.escape(text)}</pre>"
        )
        return path


def display_bundle(widget: w.Widget, **kwargs: Any) -> dict[str, Any] | None:
    """``_repr_mimebundle_`` of a dashboard: that of its top widget."""
    return widget._repr_mimebundle_(**kwargs)
