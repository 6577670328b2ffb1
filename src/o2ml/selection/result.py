"""ScanResult: everything a threshold scan found, in one file the dashboards read.

A :class:`ScanResult` holds one row per scan point (thresholds of every cut, efficiencies per
class, S, B, significance and their uncertainties, optional raw yields) plus the pT bin, the
cut names and directions, the plateau and free-form metadata. It saves to ONE file, JSON or
parquet by extension, and loads back exactly (bit-identical floats, NaN included).

JSON layout: ``{"format": "o2ml.ScanResult", "version": 1, ...fields...}``, arrays as lists,
NaN as ``null`` and infinities as the strings ``"inf"``/``"-inf"`` (strict JSON).
Parquet layout: one row per point -- ``thr_<k>``, ``eff:<class>``, ``eff_err:<class>`` and
the per-point quantities as columns -- and the remaining fields as JSON in the schema metadata
key ``o2ml.scan_result``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import replacing
from ..errors import InputFileNotFoundError, OutputExistsError, ScanInputError
from ._result_io import (
    FORMAT,
    PARQUET_KEY,
    POINT_FIELDS,
    VERSION,
    _build,
    _encode_floats,
    _kind,
    _plain,
    _read_json,
    _read_parquet,
)
from .plateau import Plateau, working_point

__all__ = ["ScanResult"]


@dataclass(eq=False)
class ScanResult:
    """Result of a threshold scan (or of a single selection point) in one pT bin.

    Attributes
    ----------
    species : str
        Signal species (``"Ds"``...).
    pt_min, pt_max : float
        pT bin, GeV/c.
    cut_names, cut_directions : list of str
        Scored column (or variable) of each cut and its direction (``>``, ``<``, ``abs<``...).
    thresholds : numpy.ndarray
        Shape (P, K): the threshold of each of the K cuts at each of the P points.
    efficiencies, efficiency_errors : dict of str -> numpy.ndarray
        Per class (MC origin, ``"data"``...), the efficiency at each point and its uncertainty.
    signal ... raw_yield_error : numpy.ndarray
        Per point: expected signal S and background B in the signal window (full data size),
        S/sqrt(S+B), the signal efficiency, the raw yield of a S+B fit, and their uncertainties.
        NaN where not computed or where a fit failed.
    fit_ok : numpy.ndarray of bool
        Per point, whether the background fit converged.
    grid_shape : tuple of int, optional
        For a grid scan, the grid (points are in row-major order).
    scan_axis : int, optional
        For a 1-D scan, the cut whose threshold varies (points sorted by it).
    plateau : Plateau, optional
        Significance plateau of a 1-D scan.
    metadata : dict
        Settings and provenance (plain JSON types).
    """

    species: str
    pt_min: float
    pt_max: float
    cut_names: list[str]
    cut_directions: list[str]
    thresholds: np.ndarray
    efficiencies: dict[str, np.ndarray]
    efficiency_errors: dict[str, np.ndarray]
    signal: np.ndarray
    signal_error: np.ndarray
    background: np.ndarray
    background_error: np.ndarray
    significance: np.ndarray
    significance_error: np.ndarray
    signal_efficiency: np.ndarray
    signal_efficiency_error: np.ndarray
    raw_yield: np.ndarray
    raw_yield_error: np.ndarray
    fit_ok: np.ndarray
    grid_shape: tuple[int, ...] | None = None
    scan_axis: int | None = None
    plateau: Plateau | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.species = str(self.species)
        self.pt_min, self.pt_max = float(self.pt_min), float(self.pt_max)
        self.cut_names = [str(c) for c in self.cut_names]
        self.cut_directions = [str(d) for d in self.cut_directions]
        self.thresholds = np.asarray(self.thresholds, dtype=np.float64)
        if self.thresholds.ndim == 1:
            self.thresholds = self.thresholds[:, None]
        n, k = self.thresholds.shape if self.thresholds.ndim == 2 else (-1, -1)
        if self.thresholds.ndim != 2 or k != len(self.cut_names) or k != len(self.cut_directions):
            raise ScanInputError(
                f"ScanResult: expected thresholds of shape (P, {len(self.cut_names)}), found "
                f"{self.thresholds.shape} with {len(self.cut_directions)} directions."
            )
        for name in POINT_FIELDS:
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != (n,):
                raise ScanInputError(
                    f"ScanResult: expected {name} of shape ({n},), found {arr.shape}."
                )
            setattr(self, name, arr)
        self.fit_ok = np.asarray(self.fit_ok, dtype=bool)
        if self.fit_ok.shape != (n,):
            raise ScanInputError(
                f"ScanResult: expected fit_ok of shape ({n},), found {self.fit_ok.shape}."
            )
        for attr in ("efficiencies", "efficiency_errors"):
            table = {
                str(c): np.asarray(v, dtype=np.float64) for c, v in getattr(self, attr).items()
            }
            for c, v in table.items():
                if v.shape != (n,):
                    raise ScanInputError(
                        f"ScanResult: expected {attr}[{c!r}] of shape ({n},), found {v.shape}."
                    )
            setattr(self, attr, table)
        if set(self.efficiencies) != set(self.efficiency_errors):
            raise ScanInputError(
                "ScanResult: efficiencies and efficiency_errors name different classes."
            )
        if self.grid_shape is not None:
            self.grid_shape = tuple(int(s) for s in self.grid_shape)
        if self.scan_axis is not None:
            self.scan_axis = int(self.scan_axis)
        self.metadata = _plain(dict(self.metadata))

    # ---------------------------------------------------------------------------- access
    @property
    def n_points(self) -> int:
        """Number of scan points P."""
        return int(self.thresholds.shape[0])

    @property
    def classes(self) -> list[str]:
        """Names of the classes with an efficiency."""
        return list(self.efficiencies)

    def chosen_index(self, rule: str = "most_efficient") -> int:
        """The index of the working point (:func:`o2ml.selection.plateau.working_point`: by
        default the most efficient plateau point, the maximum significance without a plateau)."""
        return working_point(self.significance, self.plateau, rule)

    def summary(self) -> dict[str, Any]:
        """Maximum significance, efficiency there, and the plateau width in common units: a row
        of a model comparison (:func:`o2ml.selection.compare_models`).

        Thresholds of a probability and of an MSE are not comparable; the plateau is measured in
        signal efficiency (eff at its loose edge - eff at its tight edge) and in background kept
        (log10 ratio of the data fractions at its edges) -- both model-independent.
        """
        if self.plateau is None:
            raise ScanInputError(
                f"{self.metadata.get('model')}: the scan has no plateau (no finite point)."
            )
        p = self.plateau
        eff = self.signal_efficiency
        data_eff = self.efficiencies.get("data")
        out = {
            "max_significance": p.max_significance,
            "max_significance_error": p.max_significance_error,
            "threshold_at_max": p.threshold_at_max,
            "signal_efficiency_at_max": float(eff[p.i_max]),
            "background_kept_at_max": float(data_eff[p.i_max]) if data_eff is not None else np.nan,
            "plateau_width_efficiency": float(eff[p.i_lo] - eff[p.i_hi]),
            "plateau_eff_lo": float(eff[p.i_hi]),
            "plateau_eff_hi": float(eff[p.i_lo]),
            "plateau_points": p.i_hi - p.i_lo + 1,
        }
        if data_eff is not None and data_eff[p.i_hi] > 0:
            out["plateau_width_log10_bkg"] = float(np.log10(data_eff[p.i_lo] / data_eff[p.i_hi]))
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per point: thresholds (by cut name), efficiencies and the per-point fields."""
        cols: dict[str, np.ndarray] = {}
        for k, name in enumerate(self.cut_names):
            key = name if name not in cols else f"{name}#{k}"
            cols[key] = self.thresholds[:, k]
        for c in self.efficiencies:
            cols[f"eff:{c}"] = self.efficiencies[c]
            cols[f"eff_err:{c}"] = self.efficiency_errors[c]
        for name in POINT_FIELDS:
            cols[name] = getattr(self, name)
        cols["fit_ok"] = self.fit_ok
        return pd.DataFrame(cols)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScanResult):
            return NotImplemented

        def same(a: np.ndarray, b: np.ndarray) -> bool:
            return (
                a.shape == b.shape
                and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            )

        return (
            self._header() == other._header()
            and same(self.thresholds, other.thresholds)
            and same(self.fit_ok, other.fit_ok)
            and all(same(getattr(self, f), getattr(other, f)) for f in POINT_FIELDS)
            and list(self.efficiencies) == list(other.efficiencies)
            and all(same(self.efficiencies[c], other.efficiencies[c]) for c in self.efficiencies)
            and all(
                same(self.efficiency_errors[c], other.efficiency_errors[c])
                for c in self.efficiencies
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def _header(self) -> dict[str, Any]:
        """Everything but the per-point arrays (JSON-ready; NaN plateau floats as None)."""
        plateau = None
        if self.plateau is not None:
            plateau = {
                k: (_encode_floats(np.array([v]))[0] if isinstance(v, float) else v)
                for k, v in self.plateau.to_dict().items()
            }
        return {
            "format": FORMAT,
            "version": VERSION,
            "species": self.species,
            "pt_min": self.pt_min,
            "pt_max": self.pt_max,
            "cut_names": list(self.cut_names),
            "cut_directions": list(self.cut_directions),
            "classes": list(self.efficiencies),
            "n_points": self.n_points,
            "grid_shape": None if self.grid_shape is None else list(self.grid_shape),
            "scan_axis": self.scan_axis,
            "plateau": plateau,
            "metadata": self.metadata,
        }

    # ---------------------------------------------------------------------------- saving
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write to ``path`` (``.json`` or ``.parquet``); refuse to overwrite unless asked."""
        path = Path(path)
        kind = _kind(path)
        if path.exists() and not overwrite:
            raise OutputExistsError(f"{path}: the file exists; pass overwrite=True to replace it.")
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:
            if kind == "json":
                tmp.write_text(json.dumps(self._to_json(), indent=1, allow_nan=False))
            else:
                self._write_parquet(tmp)
        return path

    def _to_json(self) -> dict[str, Any]:
        data = self._header()
        data["thresholds"] = [_encode_floats(row) for row in self.thresholds]
        data["efficiencies"] = {c: _encode_floats(v) for c, v in self.efficiencies.items()}
        data["efficiency_errors"] = {
            c: _encode_floats(v) for c, v in self.efficiency_errors.items()
        }
        for name in POINT_FIELDS:
            data[name] = _encode_floats(getattr(self, name))
        data["fit_ok"] = self.fit_ok.tolist()
        return data

    def _write_parquet(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols: dict[str, np.ndarray] = {}
        for k in range(self.thresholds.shape[1]):
            cols[f"thr_{k}"] = self.thresholds[:, k]
        for c in self.efficiencies:
            cols[f"eff:{c}"] = self.efficiencies[c]
            cols[f"eff_err:{c}"] = self.efficiency_errors[c]
        for name in POINT_FIELDS:
            cols[name] = getattr(self, name)
        cols["fit_ok"] = self.fit_ok
        table = pa.table({k: pa.array(v) for k, v in cols.items()})
        header = json.dumps(self._header(), allow_nan=False).encode()
        table = table.replace_schema_metadata({PARQUET_KEY: header})
        pq.write_table(table, path)

    # ---------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | os.PathLike) -> ScanResult:
        """Read a file written by :meth:`save`; a bad file raises :class:`ScanFileError`."""
        path = Path(path)
        kind = _kind(path)
        if not path.is_file():
            raise InputFileNotFoundError(
                f"{path}: expected a saved ScanResult ({kind}), found no file."
            )
        header, columns = _read_json(path) if kind == "json" else _read_parquet(path)
        return _build(cls, path, header, columns)
