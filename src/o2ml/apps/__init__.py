"""The Voila apps behind ``notebooks/dashboards/``: file inputs, demo inputs, what a URL may choose.

* :mod:`o2ml.apps.dashboards`: the three apps (:func:`threshold_scan_app`,
  :func:`significance_plateau_app`, :func:`efficiency_curves_app`);
* :mod:`o2ml.apps.files`: the files they read (scored candidates, scans, ``o2ml scan`` grids);
* :mod:`o2ml.apps.demo_inputs`: the default inputs, made on first use from the generated sample;
* :mod:`o2ml.apps.serving`: a served page's URL chooses inputs inside one data root only, and
  never where Export writes.
"""

from . import dashboards, demo_inputs, files, serving
from .dashboards import efficiency_curves_app, significance_plateau_app, threshold_scan_app
from .demo_inputs import DemoInputs, demo_directory, ensure_demo_inputs, make_scans
from .files import (
    CANDIDATE_COLUMNS,
    candidates_scale,
    load_candidates,
    load_grid,
    load_scans,
    write_candidates,
)
from .serving import DataRoot, export_directory, url_parameters

__all__ = [
    "CANDIDATE_COLUMNS",
    "DataRoot",
    "DemoInputs",
    "candidates_scale",
    "dashboards",
    "demo_directory",
    "demo_inputs",
    "efficiency_curves_app",
    "ensure_demo_inputs",
    "export_directory",
    "files",
    "load_candidates",
    "load_grid",
    "load_scans",
    "make_scans",
    "serving",
    "significance_plateau_app",
    "threshold_scan_app",
    "url_parameters",
    "write_candidates",
]
