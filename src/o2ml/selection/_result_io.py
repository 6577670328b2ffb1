"""Reading and writing :class:`o2ml.selection.ScanResult` files (JSON or parquet).

JSON layout: ``{"format": "o2ml.ScanResult", "version": 1, ...fields...}``, arrays as lists,
NaN as ``null`` and infinities as the strings ``"inf"``/``"-inf"`` (strict JSON).
Parquet layout: one row per point -- ``thr_<k>``, ``eff:<class>``, ``eff_err:<class>`` and
the per-point quantities as columns -- and the remaining fields as JSON in the schema metadata
key ``o2ml.scan_result``. Every inconsistency found on reading raises :class:`ScanFileError`
naming the file, what was expected and what was found.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ScanFileError
from ..io import read_arrow
from .plateau import Plateau

if TYPE_CHECKING:
    from .result import ScanResult

FORMAT = "o2ml.ScanResult"
VERSION = 1
PARQUET_KEY = b"o2ml.scan_result"

#: per-point float arrays, in file order
POINT_FIELDS = (
    "signal",
    "signal_error",
    "background",
    "background_error",
    "significance",
    "significance_error",
    "signal_efficiency",
    "signal_efficiency_error",
    "raw_yield",
    "raw_yield_error",
)


def _plain(value: Any) -> Any:
    """Metadata as plain JSON types: numpy scalars/arrays -> Python, tuples -> lists, NaN -> None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _encode_floats(arr: np.ndarray) -> list[Any]:
    out: list[Any] = []
    for v in arr.tolist():
        if math.isnan(v):
            out.append(None)
        elif math.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        else:
            out.append(v)
    return out


def _decode_float(v: Any, what: str, path: Path) -> float:
    if v is None:
        return math.nan
    if v == "inf":
        return math.inf
    if v == "-inf":
        return -math.inf
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ScanFileError(f"{path}: expected numbers in {what}, found {v!r}.")
    return float(v)


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ScanFileError(f"{path}: expected a .json or .parquet file name, found suffix {suffix!r}.")


def _read_json(path: Path) -> tuple[dict[str, Any], None]:
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ScanFileError(
            f"{path}: expected a JSON ScanResult, found invalid JSON ({err})."
        ) from None
    if not isinstance(data, dict):
        raise ScanFileError(f"{path}: expected a JSON object, found {type(data).__name__}.")
    return data, None


def _read_parquet(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    table = read_arrow(path, "a parquet ScanResult", error=ScanFileError)
    meta = table.schema.metadata or {}
    if PARQUET_KEY not in meta:
        raise ScanFileError(
            f"{path}: expected parquet metadata key {PARQUET_KEY.decode()!r} (a saved ScanResult), "
            f"found keys {sorted(k.decode(errors='replace') for k in meta)}."
        )
    try:
        header = json.loads(meta[PARQUET_KEY])
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ScanFileError(
            f"{path}: expected JSON in the parquet metadata, found invalid JSON ({err})."
        ) from None
    if not isinstance(header, dict):
        raise ScanFileError(f"{path}: expected a JSON object in the parquet metadata.")
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    return header, columns


def _require(header: dict[str, Any], key: str, types: tuple[type, ...], path: Path) -> Any:
    if key not in header:
        raise ScanFileError(f"{path}: expected a field {key!r}, found fields {sorted(header)}.")
    value = header[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        names = " or ".join(t.__name__ for t in types)
        raise ScanFileError(f"{path}: expected {key!r} to be {names}, found {value!r}.")
    return value


def _build(
    cls: type[ScanResult], path: Path, header: dict[str, Any], columns: dict[str, np.ndarray] | None
) -> ScanResult:
    fmt = header.get("format")
    if fmt != FORMAT:
        raise ScanFileError(f"{path}: expected format {FORMAT!r}, found {fmt!r}.")
    version = header.get("version")
    if version != VERSION:
        raise ScanFileError(f"{path}: expected ScanResult version {VERSION}, found {version!r}.")
    species = _require(header, "species", (str,), path)
    pt_min = _require(header, "pt_min", (int, float), path)
    pt_max = _require(header, "pt_max", (int, float), path)
    names = _require(header, "cut_names", (list,), path)
    directions = _require(header, "cut_directions", (list,), path)
    classes = _require(header, "classes", (list,), path)
    n = _require(header, "n_points", (int,), path)
    grid_shape = header.get("grid_shape")
    scan_axis = header.get("scan_axis")
    metadata = header.get("metadata", {})
    if len(names) != len(directions):
        raise ScanFileError(
            f"{path}: expected one direction per cut, found {len(names)} cuts and {len(directions)} directions."
        )

    def column(name: str, what: str | None = None) -> np.ndarray:
        what = what or name
        if columns is None:
            if name not in header:
                raise ScanFileError(
                    f"{path}: expected a field {what!r}, found fields {sorted(header)}."
                )
            raw = header[name]
            if not isinstance(raw, list):
                raise ScanFileError(
                    f"{path}: expected {what!r} to be a list, found {type(raw).__name__}."
                )
            arr = np.array([_decode_float(v, what, path) for v in raw], dtype=np.float64)
        else:
            if name not in columns:
                raise ScanFileError(
                    f"{path}: expected a column {name!r}, found columns {sorted(columns)}."
                )
            arr = columns[name]
            if arr.dtype.kind != "f":
                raise ScanFileError(
                    f"{path}: expected float column {name!r}, found dtype {arr.dtype}."
                )
            arr = arr.astype(np.float64)
        if arr.shape != (n,):
            raise ScanFileError(f"{path}: expected {n} values in {what!r}, found {arr.shape[0]}.")
        return arr

    if columns is None:
        raw = _require(header, "thresholds", (list,), path)
        if len(raw) != n or any(not isinstance(r, list) or len(r) != len(names) for r in raw):
            raise ScanFileError(
                f"{path}: expected 'thresholds' as {n} rows of {len(names)} values, found another shape."
            )
        thresholds = np.array(
            [[_decode_float(v, "thresholds", path) for v in r] for r in raw], dtype=np.float64
        ).reshape(n, len(names))
        effs = _require(header, "efficiencies", (dict,), path)
        errs = _require(header, "efficiency_errors", (dict,), path)
        for c in classes:
            if c not in effs or c not in errs:
                raise ScanFileError(
                    f"{path}: expected efficiencies of class {c!r}, found classes {sorted(effs)}."
                )
        eff = {c: _column_from(effs, c, f"efficiencies[{c!r}]", n, path) for c in classes}
        eff_err = {c: _column_from(errs, c, f"efficiency_errors[{c!r}]", n, path) for c in classes}
        raw_ok = _require(header, "fit_ok", (list,), path)
        if len(raw_ok) != n or not all(isinstance(v, bool) for v in raw_ok):
            raise ScanFileError(f"{path}: expected 'fit_ok' as {n} booleans.")
        fit_ok = np.array(raw_ok, dtype=bool)
    else:
        thresholds = np.stack([column(f"thr_{k}") for k in range(len(names))], axis=1).reshape(
            n, len(names)
        )
        eff = {c: column(f"eff:{c}") for c in classes}
        eff_err = {c: column(f"eff_err:{c}") for c in classes}
        if "fit_ok" not in columns or columns["fit_ok"].dtype != bool:
            raise ScanFileError(
                f"{path}: expected a boolean column 'fit_ok', found columns {sorted(columns)}."
            )
        fit_ok = columns["fit_ok"]
        if fit_ok.shape != (n,):
            raise ScanFileError(
                f"{path}: expected {n} values in 'fit_ok', found {fit_ok.shape[0]}."
            )
    points = {name: column(name) for name in POINT_FIELDS}
    plateau = None
    if header.get("plateau") is not None:
        raw_plateau = header["plateau"]
        try:
            fields = {
                k: (_decode_float(v, "plateau", path) if k not in _PLATEAU_NON_FLOAT else v)
                for k, v in raw_plateau.items()
            }
            plateau = Plateau.from_dict(fields)
        except (TypeError, AttributeError) as err:
            raise ScanFileError(
                f"{path}: expected a plateau with the fields of Plateau, found {raw_plateau!r} ({err})."
            ) from None
    try:
        return cls(
            species=species,
            pt_min=pt_min,
            pt_max=pt_max,
            cut_names=names,
            cut_directions=directions,
            thresholds=thresholds,
            efficiencies=eff,
            efficiency_errors=eff_err,
            fit_ok=fit_ok,
            grid_shape=grid_shape,
            scan_axis=scan_axis,
            plateau=plateau,
            metadata=metadata if isinstance(metadata, dict) else {},
            **points,
        )
    except (TypeError, ValueError) as err:
        raise ScanFileError(f"{path}: expected a consistent ScanResult, found: {err}") from None


_PLATEAU_NON_FLOAT = {"i_lo", "i_hi", "i_max", "i_most_efficient", "criterion"}


def _column_from(table: dict[str, Any], key: str, what: str, n: int, path: Path) -> np.ndarray:
    raw = table[key]
    if not isinstance(raw, list) or len(raw) != n:
        found = len(raw) if isinstance(raw, list) else type(raw).__name__
        raise ScanFileError(f"{path}: expected {n} values in {what}, found {found}.")
    return np.array([_decode_float(v, what, path) for v in raw], dtype=np.float64)
