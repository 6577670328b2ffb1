"""Dashboards for choosing selection thresholds: ipywidgets + plotly, built from plain data.

* :class:`ThresholdScanner` -- per pT bin, one slider per score cut; live mass histogram after
  the cut with the background fit and the signal window, S, B, S/B, significance and the
  efficiency of each class; record the thresholds per bin and export the O2Physics JSON;
* :class:`SignificancePlateau` -- significance versus threshold with its uncertainty band and
  plateau, for several scans (pT bins, models) at once;
* :class:`EfficiencyCurves` -- efficiency versus threshold per class, ROC, and the corrected
  yield versus threshold (cut-variation stability).

Each is built from a DataFrame of scored candidates or from :class:`o2ml.selection.ScanResult`
objects (the ThresholdScanner also from a :class:`ScanGrid` of saved histograms,
:meth:`ThresholdScanner.from_grid`) and reads no file (:mod:`o2ml.apps` does that); ``.thresholds`` and ``.result``
expose the state, ``.widget`` is the top ipywidget, and the object displays itself.
"""

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
    "error_panel",
    "export_config",
    "fmt",
    "scan_label",
]
