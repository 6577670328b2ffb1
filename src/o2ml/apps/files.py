"""The files the Voila dashboards read: scored candidates, scans, ``o2ml scan`` grids.

* scored candidates: ONE parquet file, one row per candidate, columns ``fM, fPt, score_bkg,
  score_prompt, score_nonprompt, fOriginMcRec`` (0 for data, 1 prompt, 2 non-prompt) and
  ``sample`` (``"data"`` or ``"mc"``); the schema metadata key ``o2ml.expected_signal`` names
  the expected-signal JSON (relative to the parquet file);
* scans: :class:`o2ml.selection.ScanResult` files (JSON or parquet), one per pT bin and model;
* grids: the folder ``o2ml scan --out`` writes (``grid_pt*.npz`` histograms and
  ``expected_signal.json``).

Every reader names the file and what it expected on bad input (:class:`~o2ml.errors.O2mlError`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import replacing
from ..errors import BadFileError, InputFileNotFoundError
from ..io import read_arrow
from ..schema import SCORE_COLUMNS, require_columns
from ..selection import ScanResult, load_expected_signal

__all__ = [
    "CANDIDATE_COLUMNS",
    "candidates_scale",
    "load_candidates",
    "load_grid",
    "load_scans",
    "scan_files",
    "write_candidates",
]

CANDIDATE_COLUMNS = ("fM", "fPt", *SCORE_COLUMNS, "fOriginMcRec", "sample")
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
    *,
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
    with replacing(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)
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
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(
            f"{path}: expected a parquet file of scored candidates, found no file."
        )
    table = read_arrow(path, "a parquet file of scored candidates")
    require_columns(table, CANDIDATE_COLUMNS, f"{path}: the scored candidates")
    import pyarrow as pa
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
def scan_files(path: str | os.PathLike) -> list[Path]:
    """The ScanResult files of ``path``: a file, a folder (``scan*.json|parquet``), a pattern."""
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
    from ..widgets import scan_label

    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    out: dict[str, ScanResult] = {}
    for item in paths:
        for f in scan_files(item):
            result = ScanResult.load(f)
            label = scan_label(result)
            out[label if label not in out else f"{label} ({f.stem})"] = result
    if not out:
        raise InputFileNotFoundError(f"{path}: expected at least one ScanResult file, found none.")
    return out


def load_grid(folder: str | os.PathLike):
    """The threshold dashboard's :class:`~o2ml.widgets.ScanGrid` from an ``o2ml scan`` folder
    (``grid_pt*.npz`` and ``expected_signal.json``), and the
    :class:`~o2ml.export.choices.ExportSettings` its metadata names."""
    from ..export.choices import ExportSettings
    from ..selection import BinInputs, SignificanceOptions
    from ..selection.histograms import EXPECTED_SIGNAL_FILE, ScanHistograms
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
    expected_path = folder / Path(str(meta.get("expected_signal", EXPECTED_SIGNAL_FILE))).name
    expected = load_expected_signal(expected_path)
    bins = []
    for f, h in zip(files, hists, strict=True):
        if "peak" not in h.metadata:
            raise BadFileError(f"{f}: expected the signal peak in the metadata, found none.")
        bins.append(BinInputs(expected, h.pt_range, peak=h.metadata["peak"]))
    if "species" not in meta:
        raise BadFileError(f"{files[0]}: expected the signal species in the metadata, found none.")
    options = SignificanceOptions(species=str(meta["species"]))
    grid = ScanGrid.from_histograms(hists, bins, options=options)
    export = ExportSettings(
        features=meta.get("features"),
        task=meta.get("task"),
        class_columns=meta.get("class_columns") or ["score_bkg"],
        onnx_files=[h.metadata.get("onnx_file") for h in hists]
        if all(h.metadata.get("onnx_file") for h in hists)
        else None,
    )
    return grid, export
