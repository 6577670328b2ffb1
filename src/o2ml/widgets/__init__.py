"""Dashboards for choosing selection thresholds: ipywidgets + plotly, built from plain data.

* :class:`ThresholdScanner` -- per pT bin, one slider per score cut; live mass histogram after
  the cut with the background fit and the signal window, S, B, S/B, significance and the
  efficiency of each class; record the thresholds per bin and export the O2Physics JSON;
* :class:`SignificancePlateau` -- significance versus threshold with its uncertainty band and
  plateau, for several scans (pT bins, models) at once;
* :class:`EfficiencyCurves` -- efficiency versus threshold per class, ROC, and the corrected
  yield versus threshold (cut-variation stability).

The ThresholdScanner is built on a :class:`ScanGrid` (of scored candidates,
``ScanGrid(data, mc, bins)`` with one :class:`o2ml.selection.BinInputs` per pT bin, or of the
histograms ``o2ml scan`` saves, :meth:`ScanGrid.from_histograms`), the others on
:class:`o2ml.selection.ScanResult` objects; none reads a file (:mod:`o2ml.apps` does that).
Their figures are those of :mod:`o2ml.plots` (:func:`o2ml.plots.mass_after_cut`,
:func:`o2ml.plots.significance_vs_threshold`), updated in place on a slider move.
``.thresholds`` and ``.result`` expose the state, ``.widget`` is the top ipywidget, and the
object displays itself.
"""

from . import efficiency, plateau, scanner
from ._common import DashboardError, error_panel, export_config, fmt
from ._grid import ScanGrid
from ._scans import scan_label
from .efficiency import EfficiencyCurves
from .plateau import SignificancePlateau
from .scanner import DEFAULT_CUTS, ThresholdScanner

__all__ = [
    "DEFAULT_CUTS",
    "DashboardError",
    "EfficiencyCurves",
    "ScanGrid",
    "SignificancePlateau",
    "ThresholdScanner",
    "efficiency",
    "error_panel",
    "export_config",
    "fmt",
    "plateau",
    "scan_label",
    "scanner",
]
