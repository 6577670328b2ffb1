"""Expected signal before the ML selection, from the JSON table written by the generator.

The table gives, per fine pT bin, the expected number of signal candidates of each species and
origin in the data file before any ML selection::

    {"table": "HfCandDsLites", "n_data": 1000000, "pt_edges": [0, 0.5, ..., 24.0],
     "species": {"Ds": {"prompt": [...], "nonprompt": [...]}, "Dplus": {...}},
     "background": [...], "note": "..."}
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ExpectedSignalError, InputFileNotFoundError, did_you_mean

__all__ = ["expected_signal", "load_expected_signal", "validate_expected_signal"]


def validate_expected_signal(
    table: Mapping[str, Any], source: str = "expected-signal table"
) -> None:
    """Check the layout of an expected-signal table; raise :class:`ExpectedSignalError` if wrong."""
    if not isinstance(table, Mapping):
        raise ExpectedSignalError(
            f"{source}: expected a JSON object, found {type(table).__name__}."
        )
    for key in ("pt_edges", "species"):
        if key not in table:
            raise ExpectedSignalError(
                f"{source}: expected a key {key!r}, found keys {sorted(table)}."
            )
    try:
        edges = np.asarray(table["pt_edges"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ExpectedSignalError(
            f"{source}: expected 'pt_edges' to be a list of numbers."
        ) from None
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise ExpectedSignalError(
            f"{source}: expected 'pt_edges' to be at least 2 increasing numbers, found {table['pt_edges']!r}."
        )
    species = table["species"]
    if not isinstance(species, Mapping) or not species:
        raise ExpectedSignalError(
            f"{source}: expected 'species' to map names to origins, found {species!r}."
        )
    n_bins = len(edges) - 1
    for name, origins in species.items():
        if not isinstance(origins, Mapping) or not origins:
            raise ExpectedSignalError(
                f"{source}: expected species {name!r} to map origins to lists, found {origins!r}."
            )
        for origin, values in origins.items():
            try:
                arr = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):
                arr = np.array([np.nan])
            if arr.shape != (n_bins,) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ExpectedSignalError(
                    f"{source}: expected species {name!r} origin {origin!r} to hold {n_bins} "
                    f"finite non-negative numbers (one per pT bin), found {np.shape(values)} "
                    f"{'values' if arr.shape == (n_bins,) else 'entries'}."
                )


def load_expected_signal(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate an expected-signal JSON file."""
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(
            f"{path}: expected an expected-signal JSON file, found no file."
        )
    try:
        table = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ExpectedSignalError(
            f"{path}: expected JSON, found invalid content ({err})."
        ) from None
    validate_expected_signal(table, str(path))
    return table


def _edge_index(edges: np.ndarray, value: float, what: str, source: str) -> int:
    hits = np.flatnonzero(np.isclose(edges, value, rtol=0.0, atol=1e-9))
    if not hits.size:
        raise ExpectedSignalError(
            f"{source}: expected {what} on a fine pT-bin edge, found {value:g}; "
            f"edges are {[float(e) for e in edges]}."
        )
    return int(hits[0])


def expected_signal(
    table: Mapping[str, Any],
    species: str,
    origin: str | None,
    *,
    pt_min: float,
    pt_max: float,
) -> float:
    """Expected number of signal candidates in ``[pt_min, pt_max)`` before the ML selection.

    Parameters
    ----------
    table : mapping
        The expected-signal table (see the module docstring).
    species : str
        E.g. ``"Ds"`` or ``"Dplus"``.
    origin : str or None
        ``"prompt"``, ``"nonprompt"``, or None for the sum of all origins.
    pt_min, pt_max : float
        pT range in GeV/c; both must be edges of the table's fine bins.

    Returns
    -------
    float
        Sum of the fine bins in the range.
    """
    name = table.get("table") if isinstance(table, Mapping) else None
    source = f"expected-signal table {name!r}" if name else "expected-signal table"
    validate_expected_signal(table, source)
    all_species = table["species"]
    if species not in all_species:
        raise ExpectedSignalError(
            f"{source}: expected a species in {sorted(all_species)}, found {species!r}."
            f"{did_you_mean(species, all_species)}"
        )
    origins = all_species[species]
    if origin is not None and origin not in origins:
        raise ExpectedSignalError(
            f"{source}: expected an origin of {species} in {sorted(origins)}, found {origin!r}."
            f"{did_you_mean(origin, origins)}"
        )
    if not (math.isfinite(pt_min) and math.isfinite(pt_max) and pt_min < pt_max):
        raise ExpectedSignalError(
            f"{source}: expected pt_min < pt_max, found {pt_min!r}, {pt_max!r}."
        )
    edges = np.asarray(table["pt_edges"], dtype=np.float64)
    i = _edge_index(edges, pt_min, "pt_min", source)
    j = _edge_index(edges, pt_max, "pt_max", source)
    chosen = [origin] if origin is not None else list(origins)
    return float(sum(np.asarray(origins[o], dtype=np.float64)[i:j].sum() for o in chosen))
