"""S, B and S/sqrt(S+B) of a rectangular-cut selection, to compare with the BDT."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..errors import NonFiniteError, ScanInputError
from ..schema import CandidateColumns, require_columns
from ._estimate import (
    _check_origins,
    _data_arrays,
    _expected_counts,
    _metadata,
    estimate,
    scan_settings,
)
from .efficiency import Efficiency, _weights_array
from .options import BinInputs, SignificanceOptions, _bin_inputs, _options
from .result import ScanResult

__all__ = ["evaluate_cuts"]

Conditions = Mapping[str, tuple[str, float]] | Sequence[tuple[str, str, float]]

#: the O2Physics tree creators' column names
_COLUMNS = CandidateColumns()

_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


def _parse_conditions(conditions: Conditions) -> list[tuple[str, str, float]]:
    items = (
        [(k, *v) for k, v in conditions.items()]
        if isinstance(conditions, Mapping)
        else list(conditions)
    )
    out = []
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 3):
            raise ScanInputError(f"rectangular cut: expected (column, op, value), found {item!r}.")
        column, op, value = item
        base = op[3:] if isinstance(op, str) and op.startswith("abs") else op
        if base not in _OPS:
            raise ScanInputError(
                f"rectangular cut on {column!r}: expected an operator in "
                f"{[*_OPS, *('abs' + o for o in _OPS)]}, found {op!r}."
            )
        out.append((str(column), op, float(value)))
    if not out:
        raise ScanInputError("rectangular cuts: expected at least one condition, found none.")
    return out


def _rectangular_mask(
    frame: pd.DataFrame, conditions: list[tuple[str, str, float]], source: str
) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    require_columns(frame, list(dict.fromkeys(c for c, _, _ in conditions)), f"{source}: the cuts")
    for column, op, value in conditions:
        x = frame[column].to_numpy(dtype=np.float64)
        n_nan = int(np.isnan(x).sum())
        if n_nan:
            raise NonFiniteError(
                f"{source}: expected no NaN in {column!r}, found {n_nan} of {len(x)}."
            )
        if op.startswith("abs"):
            x, op = np.abs(x), op[3:]
        mask &= _OPS[op](x, value)
    return mask


def evaluate_cuts(
    conditions: Conditions,
    data: pd.DataFrame,
    mc: Mapping[str, pd.DataFrame],
    inputs: BinInputs,
    *,
    options: SignificanceOptions | None = None,
    columns: CandidateColumns = _COLUMNS,
    mc_weights: Mapping[str, ArrayLike] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ScanResult:
    """S, B and S/sqrt(S+B) of a rectangular-cut selection: a :class:`ScanResult` with one point.

    Parameters
    ----------
    conditions : mapping or sequence
        ``{column: (op, value)}`` or ``[(column, op, value), ...]`` with ``op`` one of ``>``,
        ``>=``, ``<``, ``<=`` or the same prefixed by ``abs`` (cut on the absolute value), e.g.
        :data:`o2ml.channels.ds.REFERENCE_CUTS`.
    data, mc : DataFrame, mapping origin -> DataFrame
        Data candidates (with the mass column ``columns.mass``) and true MC signal candidates
        of the pT bin.
    inputs : BinInputs
        The bin (expected signal, pT range, peak: required, scale, mass edges).
    mc_weights : mapping origin -> array, optional
        Weights of the MC candidates.

    The other parameters are those of :func:`scan_significance` (the plateau options do not
    apply to one point). ``cut_names`` and ``cut_directions`` of the result are the
    conditions' columns and operators, ``thresholds`` their values. :func:`scan_bin` evaluates
    a channel's reference cuts with it.
    """
    opts = _options(options, "evaluate_cuts")
    peak = _bin_inputs(inputs, "evaluate_cuts").require_peak("evaluate_cuts")
    pt_range, scale, mass_edges, mass_column = (
        inputs.pt_range, inputs.scale, inputs.mass_edges, columns.mass
    )  # fmt: skip
    expected = inputs.expected
    species, signal_origins = opts.species, opts.signal_origins
    parsed = _parse_conditions(conditions)
    require_columns(data, [mass_column], "data: the mass")
    mass = _data_arrays(data[mass_column].to_numpy())
    settings = scan_settings(mass, peak, opts, mass_edges=mass_edges, scale=scale)
    expected_n = _expected_counts(expected, species, pt_range)
    _check_origins(mc, signal_origins, expected_n, species)
    keep = _rectangular_mask(data, parsed, "data")
    hist, _ = np.histogram(mass[keep], settings.edges)
    efficiencies: dict[str, Efficiency] = {}
    for origin, frame in mc.items():
        source = f"MC {origin}"
        m = _rectangular_mask(frame, parsed, source)
        w = _weights_array(
            None if mc_weights is None else mc_weights.get(origin), len(frame), source
        )
        w = np.ones(len(frame)) if w is None else w
        if not w.sum() > 0:
            raise ScanInputError(f"{source}: expected candidates, found none.")
        efficiencies[origin] = Efficiency(
            np.array([w[m].sum()]),
            np.array([(w[m] ** 2).sum()]),
            float(w.sum()),
            float((w * w).sum()),
        )
    est = estimate(
        hist[None, :].astype(float), efficiencies, expected_n, settings,
        signal_origins=signal_origins,
    )  # fmt: skip
    eff_values = {o: e.values for o, e in efficiencies.items()}
    eff_errors = {o: e.errors for o, e in efficiencies.items()}
    n_data = len(mass)
    if n_data:
        data_eff = Efficiency(
            np.array([float(keep.sum())]), np.array([float(keep.sum())]), n_data, n_data
        )
        eff_values["data"], eff_errors["data"] = data_eff.values, data_eff.errors
    n_mc = {o: len(f) for o, f in mc.items()}
    meta = _metadata(
        "rectangular", settings, expected, expected_n, signal_origins, n_data, n_mc, metadata
    )
    return ScanResult(
        species=species,
        pt_min=pt_range[0],
        pt_max=pt_range[1],
        cut_names=[c for c, _, _ in parsed],
        cut_directions=[op for _, op, _ in parsed],
        thresholds=np.array([[v for _, _, v in parsed]]),
        efficiencies=eff_values,
        efficiency_errors=eff_errors,
        metadata=meta,
        **est,
    )
