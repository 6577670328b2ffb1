"""The three Voila apps: their inputs chosen (parameters cell, environment, URL), read, shown.

The widgets in :mod:`o2ml.widgets` never read files; the apps do (:mod:`o2ml.apps.files`), with
clear :class:`~o2ml.errors.O2mlError` messages, and turn any such error into a readable panel in
the page instead of a traceback.

:func:`ensure_demo_inputs` makes both from the generated Ds sample on first use (a quick BDT per
pT bin), under a file lock so that several kernels can ask at once.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import (
    InputFileNotFoundError,
    O2mlError,
)
from ..export.choices import ExportSettings
from ..selection import BinInputs, ScanResult, SignificanceOptions, load_expected_signal
from ..selection.histograms import EXPECTED_SIGNAL_FILE
from .demo_inputs import demo_directory, ensure_demo_inputs
from .files import (
    candidates_scale,
    load_candidates,
    load_grid,
    load_scans,
    scan_files,
)
from .serving import (
    DataRoot,
    awaiting_request,
    export_directory,
    starter_parameter,
    url_parameters,
)

__all__ = ["efficiency_curves_app", "significance_plateau_app", "threshold_scan_app"]

#: the pT bins of the threshold dashboard on a candidates file (keyword ``pt_bins``)
DEFAULT_PT_BINS = ((2.0, 4.0), (4.0, 6.0), (6.0, 12.0))


# --------------------------------------------------------------------------------------------
# the apps: a dashboard, or a readable error panel
# --------------------------------------------------------------------------------------------
def _quiet(build):
    """Run an app's ``build`` without RuntimeWarnings of low-statistics fits in the page."""

    @functools.wraps(build)
    def wrapper(*args: Any, **kwargs: Any):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return build(*args, **kwargs)

    return wrapper


def _served(build: Callable[[dict[str, str]], Any], query: str | None, keys: Iterable[str]):
    """``build(url)``: the page for the URL's parameters (``query``, else the request's).

    In a kernel Voila pre-heats, the page of the starter's inputs is built before anyone asks
    for it (files read, widgets made, first fit done), so that a request only has to show it.
    If the URL then chooses other inputs (any of ``keys``), the widgets made for nothing are
    closed and the page is built for the URL, as without pre-heating.
    """
    if query is not None or not awaiting_request():
        return build(url_parameters(query))
    # ipywidgets 8 keeps its open widgets (model id -> widget) only in this module dict; there is
    # no public registry to ask which widgets a build made
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    page = build({})
    url = url_parameters()  # blocks until the page is requested
    if not set(keys) & url.keys():
        return page
    for model_id in set(_instances) - before:
        _instances[model_id].close()
    return build(url)


def _error(err: BaseException):
    from ..widgets import error_panel

    return error_panel(err)


@_quiet
def threshold_scan_app(
    candidates_path: str | os.PathLike | None = None,
    expected_signal_path: str | os.PathLike | None = None,
    *,
    scan_path: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
    export_dir: str | os.PathLike | None = None,
    query: str | None = None,
    pt_bins: Sequence[tuple[float, float]] = DEFAULT_PT_BINS,
    options: SignificanceOptions | None = None,
):
    """The ThresholdScanner on a scored-candidates file, or on the histograms of an ``o2ml scan``
    folder (``scan_path``: any number of candidates, a few MiB in memory); default the demo inputs.

    ``candidates_path``, ``expected_signal_path``, ``scan_path``, ``data_root``, ``export_dir``:
    the starter's parameters (else ``$O2ML_CANDIDATES``, ``$O2ML_EXPECTED_SIGNAL``,
    ``$O2ML_SCAN``, ``$O2ML_DATA_ROOT``, ``$O2ML_EXPORT_DIR``); candidates win over a scan
    folder. The page URL (``query``, default ``$QUERY_STRING``) may choose ``candidates`` and
    ``expected_signal``, or ``scan``, inside the data root only (:mod:`o2ml.apps.serving`).
    On a candidates file: ``pt_bins`` are its bins (its metadata gives the data scale) and
    ``options`` the choices of the significance estimate
    (:class:`~o2ml.selection.SignificanceOptions`, default the ScanGrid's); a scan folder holds
    both. The export writes what a scan folder records (task, features, class columns), else
    :class:`~o2ml.export.choices.ExportSettings`' defaults.
    """

    def build(url: dict[str, str]):
        paths = (candidates_path, expected_signal_path, scan_path)
        return _threshold_scan(url, paths, data_root, export_dir, (pt_bins, options))

    return _served(build, query, ("candidates", "expected_signal", "scan"))


def _threshold_scan(url, paths, data_root, export_dir, candidates_scan):
    from ..widgets import ScanGrid, ThresholdScanner

    candidates_path, expected_signal_path, scan_path = paths
    try:
        candidates_path = starter_parameter("candidates", candidates_path)
        expected_signal_path = starter_parameter("expected_signal", expected_signal_path)
        scan_path = starter_parameter("scan", scan_path)
        given = candidates_path if candidates_path is not None else scan_path
        default_folder = demo_directory() if given is None else _folder_of(given)
        root = DataRoot.choose(data_root, default_folder)
        exports = export_directory(export_dir, default_folder)
        use_grid = "scan" in url or ("candidates" not in url and candidates_path is None
                                     and scan_path is not None)  # fmt: skip
        if use_grid:
            folder = Path(root.confine(url["scan"]) if "scan" in url else scan_path)
            if "scan" in url:  # no link in the folder may lead out of the data root
                inside = [*folder.glob("grid_pt*.npz"), *folder.glob("scan*.json"),
                          folder / EXPECTED_SIGNAL_FILE]  # fmt: skip
                root.confine_files(url["scan"], [f for f in inside if f.exists()])
            grid, stored = load_grid(folder)
            scans = scan_files(folder) if any(Path(folder).glob("scan*.json")) else []
            initial = _plateau_choices(load_scans(scans)) if scans else {}
            return ThresholdScanner(
                grid, initial=initial, export=stored, export_dir=exports,
                export_name="ml_config_threshold_scan",
            )  # fmt: skip
        initial = {}
        if "candidates" in url:
            candidates_path = root.confine(url["candidates"])
        elif candidates_path is None:
            demo = ensure_demo_inputs()
            candidates_path, expected_signal_path = demo.candidates, demo.expected_signal
            initial = _plateau_choices(load_scans(demo.scans))
        if "expected_signal" in url:
            expected_signal_path = root.confine(url["expected_signal"])
        data, mc, named = load_candidates(candidates_path)
        if expected_signal_path is None and named is not None and "candidates" in url:
            root.confine_files(str(named), [named])  # a URL's file may not name one outside
        expected_signal_path = expected_signal_path or named
        if expected_signal_path is None:
            raise InputFileNotFoundError(
                f"{candidates_path}: expected an expected-signal JSON (parameter expected_signal_path "
                "or the file's metadata), found none."
            )
        expected = load_expected_signal(expected_signal_path)
        pt_bins, options = candidates_scan
        scale = candidates_scale(candidates_path)
        bins = [BinInputs(expected, pt, scale=scale) for pt in pt_bins]
        grid = ScanGrid(data, mc, bins, options=options)
        return ThresholdScanner(
            grid, initial=initial, export=ExportSettings(), export_dir=exports,
            export_name="ml_config_threshold_scan",
        )  # fmt: skip
    except O2mlError as err:
        return _error(err)


def _folder_of(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p if p.is_dir() else p.parent


def _plateau_choices(scans: dict[str, ScanResult]) -> dict:
    """Each scan's working point (:meth:`ScanResult.chosen_index`: the most efficient plateau
    point, the maximum without a plateau), as initial thresholds per pT bin."""
    return {
        (r.pt_min, r.pt_max): dict(zip(r.cut_names, r.thresholds[r.chosen_index()], strict=True))
        for r in scans.values()
    }


@_quiet
def _scan_app(cls_name: str, scan_path, data_root, export_dir, query):
    def build(url: dict[str, str]):
        return _scan_page(url, cls_name, scan_path, data_root, export_dir)

    return _served(build, query, ("scan",))


def _scan_page(url, cls_name, scan_path, data_root, export_dir):
    from .. import widgets

    try:
        scan_path = starter_parameter("scan", scan_path)
        if scan_path is None:
            default_folder = demo_directory()
        else:
            first = Path(scan_path[0] if isinstance(scan_path, (list, tuple)) else scan_path)
            default_folder = first if first.is_dir() else first.parent
        root = DataRoot.choose(data_root, default_folder)
        exports = export_directory(export_dir, default_folder)
        if "scan" in url:
            spec = root.confine(url["scan"])
            root.confine_files(url["scan"], scan_files(spec))
            scan_path = spec
        elif scan_path is None:
            scan_path = ensure_demo_inputs().scans
        scans = load_scans(scan_path)
        name = "ml_config_" + {"SignificancePlateau": "plateau"}.get(cls_name, "efficiency")
        return getattr(widgets, cls_name)(scans, export_dir=exports, export_name=name)
    except O2mlError as err:
        return _error(err)


def significance_plateau_app(scan_path=None, *, data_root=None, export_dir=None, query=None):
    """The SignificancePlateau on ScanResult files (default: the demo scans).

    Parameters as in :func:`threshold_scan_app`; the URL may choose ``scan`` inside the data root.
    The export writes what the scans' metadata records (task, features, class columns).
    """
    return _scan_app("SignificancePlateau", scan_path, data_root, export_dir, query)


def efficiency_curves_app(scan_path=None, *, data_root=None, export_dir=None, query=None):
    """The EfficiencyCurves on ScanResult files (default: the demo scans).

    Parameters as in :func:`threshold_scan_app`; the URL may choose ``scan`` inside the data root.
    The export writes what the scans' metadata records (task, features, class columns).
    """
    return _scan_app("EfficiencyCurves", scan_path, data_root, export_dir, query)
