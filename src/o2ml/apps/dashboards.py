"""Inputs of the Voila dashboards: file reading, the default demo inputs, and the three apps.

The widgets in :mod:`o2ml.widgets` never read files; this module does, with clear
:class:`~o2ml.errors.O2mlError` messages, and turns any such error into a readable panel in the
page instead of a traceback. Files:

* scored candidates: ONE parquet file, one row per candidate, columns ``fM, fPt, score_bkg,
  score_prompt, score_nonprompt, fOriginMcRec`` (0 for data, 1 prompt, 2 non-prompt) and
  ``sample`` (``"data"`` or ``"mc"``); the schema metadata key ``o2ml.expected_signal`` names
  the expected-signal JSON (relative to the parquet file);
* scans: :class:`o2ml.selection.ScanResult` files (JSON or parquet), one per pT bin and model.

:func:`ensure_demo_inputs` makes both from the generated Ds sample on first use (a quick BDT per
pT bin), under a file lock so that several kernels can ask at once.
"""

from __future__ import annotations

import functools
import glob
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import (
    BadFileError,
    ColumnNotFoundError,
    InputFileNotFoundError,
    O2mlError,
    did_you_mean,
)
from ..selection import ScanResult, load_expected_signal
from ..widgets._scans import scan_label as _scan_label
from .demo_inputs import DemoInputs, demo_directory, ensure_demo_inputs, make_scans, toy_candidates
from .serving import DataRoot, export_directory, starter_parameter, url_parameters

__all__ = [
    "CANDIDATE_COLUMNS",
    "DemoInputs",
    "candidates_scale",
    "demo_directory",
    "efficiency_curves_app",
    "ensure_demo_inputs",
    "load_candidates",
    "load_grid",
    "load_scans",
    "make_scans",
    "significance_plateau_app",
    "threshold_scan_app",
    "toy_candidates",
    "write_candidates",
]

CANDIDATE_COLUMNS = (
    "fM",
    "fPt",
    "score_bkg",
    "score_prompt",
    "score_nonprompt",
    "fOriginMcRec",
    "sample",
)
EXPECTED_KEY = b"o2ml.expected_signal"
#: full-sample size / size of the data in the file (when the rest trained the model)
SCALE_KEY = b"o2ml.scale"


# --------------------------------------------------------------------------------------------
# scored candidates
# --------------------------------------------------------------------------------------------
def write_candidates(
    path: str | os.PathLike,
    data: pd.DataFrame,
    mc: pd.DataFrame,
    expected_signal: str | os.PathLike | None = None,
    scale: float = 1.0,
) -> Path:
    """Write data and MC scored candidates to one parquet file (see the module docstring).

    ``scale``: the full data sample over the data written (e.g. 2 when the other half trained the
    model); the threshold scanner multiplies the background by it, as the expected signal refers
    to the full sample.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    cols = [c for c in CANDIDATE_COLUMNS if c not in ("sample", "fOriginMcRec")]
    frames = []
    for df, sample in ((data, "data"), (mc, "mc")):
        out = df[cols].copy()
        out["fOriginMcRec"] = df["fOriginMcRec"].to_numpy(np.int8) if sample == "mc" else np.int8(0)
        out["sample"] = sample
        frames.append(out)
    table = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    if scale != 1.0:
        meta[SCALE_KEY] = repr(float(scale)).encode()
    if expected_signal is not None:
        target = Path(expected_signal).resolve()
        try:
            meta[EXPECTED_KEY] = str(target.relative_to(path.parent.resolve())).encode()
        except ValueError:
            meta[EXPECTED_KEY] = str(target).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table.replace_schema_metadata(meta), tmp)
    os.replace(tmp, path)
    return path


def candidates_scale(path: str | os.PathLike) -> float:
    """The ``scale`` :func:`write_candidates` stored (1 if none), from the file's footer only."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        return float(meta.get(SCALE_KEY, b"1.0").decode())
    except (OSError, ValueError) as err:
        raise BadFileError(f"{path}: cannot read the candidates' scale ({err}).") from None


def load_candidates(path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame, Path | None]:
    """Read scored candidates: (data, MC, the expected-signal file named in the metadata)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(
            f"{path}: expected a parquet file of scored candidates, found no file."
        )
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise BadFileError(
            f"{path}: expected a parquet file of scored candidates, found an unreadable file ({err})."
        ) from None
    names = table.column_names
    for col in CANDIDATE_COLUMNS:
        if col not in names:
            raise ColumnNotFoundError(
                f"{path}: expected a column {col!r}, found {names}.{did_you_mean(col, names)}"
            )
    import pyarrow.compute as pc

    sample = table.column("sample").cast(pa.string())
    is_data, is_mc = pc.equal(sample, "data"), pc.equal(sample, "mc")
    n_other = len(table) - pc.sum(is_data).as_py() - pc.sum(is_mc).as_py()
    if n_other:
        raise BadFileError(
            f"{path}: expected column 'sample' to hold 'data' or 'mc', found {n_other} other values."
        )
    columns = [c for c in CANDIDATE_COLUMNS if c != "sample"]
    expected = (table.schema.metadata or {}).get(EXPECTED_KEY)
    expected_path = None if expected is None else path.parent / expected.decode()
    return (
        table.filter(is_data).select(columns).to_pandas(),
        table.filter(is_mc).select(columns).to_pandas(),
        expected_path,
    )


# --------------------------------------------------------------------------------------------
# scans
# --------------------------------------------------------------------------------------------
def _scan_files(path: str | os.PathLike) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        files = sorted(
            q
            for q in p.iterdir()
            if q.suffix in (".json", ".parquet") and q.name.startswith("scan")
        )
        if not files:
            raise InputFileNotFoundError(
                f"{p}: expected ScanResult files (scan*.json, scan*.parquet) in the folder, found none."
            )
        return files
    if any(ch in str(path) for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(str(path)))
        if not files:
            raise InputFileNotFoundError(
                f"{path}: expected ScanResult files matching the pattern, found none."
            )
        return files
    return [p]


def load_scans(path: str | os.PathLike | Sequence[str | os.PathLike]) -> dict[str, ScanResult]:
    """Read ScanResult files: one file, a folder (``scan*``), a glob pattern, or a list of those."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    out: dict[str, ScanResult] = {}
    for item in paths:
        for f in _scan_files(item):
            result = ScanResult.load(f)
            label = _scan_label(result)
            out[label if label not in out else f"{label} ({f.stem})"] = result
    if not out:
        raise InputFileNotFoundError(f"{path}: expected at least one ScanResult file, found none.")
    return out


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


def _error(err: BaseException):
    from ..widgets._common import error_panel

    return error_panel(err)


def load_grid(folder: str | os.PathLike):
    """The threshold dashboard's :class:`~o2ml.widgets.ScanGrid` from an ``o2ml scan`` folder
    (``grid_pt*.npz`` and ``expected_signal.json``), and the export options its metadata names."""
    from ..selection.histograms import ScanHistograms
    from ..widgets import ScanGrid

    folder = Path(folder)
    files = sorted(folder.glob("grid_pt*.npz")) if folder.is_dir() else []
    if not files:
        raise InputFileNotFoundError(
            f"{folder}: expected the grid_pt*.npz files of `o2ml scan`, found none."
        )
    hists = sorted((ScanHistograms.load(f) for f in files), key=lambda h: h.pt_range)
    meta = hists[0].metadata
    # a file beside the histograms (a name only: metadata never leads out of the folder)
    expected_path = folder / Path(str(meta.get("expected_signal", "expected_signal.json"))).name
    expected = load_expected_signal(expected_path)
    peaks = {}
    for f, h in zip(files, hists, strict=True):
        if "peak" not in h.metadata:
            raise BadFileError(f"{f}: expected the signal peak in the metadata, found none.")
        peaks[h.pt_range] = h.metadata["peak"]
    grid = ScanGrid.from_histograms(
        hists, expected, peaks=peaks, species=str(meta.get("species", "Ds"))
    )
    options = {
        "features": meta.get("features"),
        "task": meta.get("task"),
        "class_columns": meta.get("class_columns") or ["score_bkg"],
        "onnx_files": [h.metadata.get("onnx_file") for h in hists]
        if all(h.metadata.get("onnx_file") for h in hists)
        else None,
    }
    return grid, options


@_quiet
def threshold_scan_app(
    candidates_path: str | os.PathLike | None = None,
    expected_signal_path: str | os.PathLike | None = None,
    *,
    scan_path: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
    export_dir: str | os.PathLike | None = None,
    query: str | None = None,
    **options: Any,
):
    """The ThresholdScanner on a scored-candidates file, or on the histograms of an ``o2ml scan``
    folder (``scan_path``: any number of candidates, a few MiB in memory); default the demo inputs.

    ``candidates_path``, ``expected_signal_path``, ``scan_path``, ``data_root``, ``export_dir``:
    the starter's parameters (else ``$O2ML_CANDIDATES``, ``$O2ML_EXPECTED_SIGNAL``,
    ``$O2ML_SCAN``, ``$O2ML_DATA_ROOT``, ``$O2ML_EXPORT_DIR``); candidates win over a scan
    folder. The page URL (``query``, default ``$QUERY_STRING``) may choose ``candidates`` and
    ``expected_signal``, or ``scan``, inside the data root only (:mod:`o2ml.apps.serving`).
    """
    from ..widgets import ThresholdScanner

    try:
        url = url_parameters(query)
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
                          folder / "expected_signal.json"]  # fmt: skip
                root.confine_files(url["scan"], [f for f in inside if f.exists()])
            grid, stored = load_grid(folder)
            scans = _scan_files(folder) if any(Path(folder).glob("scan*.json")) else []
            initial = _plateau_choices(load_scans(scans)) if scans else {}
            return ThresholdScanner.from_grid(
                grid, initial=initial, export_dir=exports,
                export_name="ml_config_threshold_scan", **{**stored, **options},
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
        options.setdefault("scale", candidates_scale(candidates_path))
        return ThresholdScanner(
            data, mc, expected, initial=initial, export_dir=exports,
            export_name="ml_config_threshold_scan", **options,
        )  # fmt: skip
    except O2mlError as err:
        return _error(err)


def _folder_of(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p if p.is_dir() else p.parent


def _plateau_choices(scans: dict[str, ScanResult]) -> dict:
    """Each scan's most efficient plateau point, as initial thresholds per pT bin."""
    return {
        (r.pt_min, r.pt_max): dict(
            zip(r.cut_names, r.thresholds[r.plateau.i_most_efficient], strict=True)
        )
        for r in scans.values()
        if r.plateau is not None
    }


@_quiet
def _scan_app(cls_name: str, scan_path, data_root, export_dir, query, options):
    from .. import widgets

    try:
        url = url_parameters(query)
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
            root.confine_files(url["scan"], _scan_files(spec))
            scan_path = spec
        elif scan_path is None:
            scan_path = ensure_demo_inputs().scans
        scans = load_scans(scan_path)
        name = "ml_config_" + {"SignificancePlateau": "plateau"}.get(cls_name, "efficiency")
        return getattr(widgets, cls_name)(scans, export_dir=exports, export_name=name, **options)
    except O2mlError as err:
        return _error(err)


def significance_plateau_app(
    scan_path=None, *, data_root=None, export_dir=None, query=None, **options: Any
):
    """The SignificancePlateau on ScanResult files (default: the demo scans).

    Parameters as in :func:`threshold_scan_app`; the URL may choose ``scan`` inside the data root.
    """
    return _scan_app("SignificancePlateau", scan_path, data_root, export_dir, query, options)


def efficiency_curves_app(
    scan_path=None, *, data_root=None, export_dir=None, query=None, **options: Any
):
    """The EfficiencyCurves on ScanResult files (default: the demo scans).

    Parameters as in :func:`threshold_scan_app`; the URL may choose ``scan`` inside the data root.
    """
    return _scan_app("EfficiencyCurves", scan_path, data_root, export_dir, query, options)
