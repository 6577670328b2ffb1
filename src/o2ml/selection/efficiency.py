"""Selection efficiency versus score thresholds, for one or several score cuts.

A cut keeps a candidate when ``score <direction> threshold``, with ``direction`` one of
``">"``, ``">="``, ``"<"``, ``"<="`` (a 3-class model is typically cut with
``background score < t_bkg`` and ``prompt score > t_prompt``). The efficiencies at every
threshold come from one pass over the candidates and cumulative sums
(:mod:`o2ml.selection._binning`): 10^7 candidates x 200 thresholds take a fraction of a second.

Thresholds may be given in any order, with repetitions; results follow the order given.
Several cuts are combined either point by point (``grid=False``: threshold arrays of equal
length, scalars broadcast -- a path through threshold space) or on the full grid of all
threshold combinations (``grid=True``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..errors import (
    ColumnNotFoundError,
    EmptySelectionError,
    NonFiniteError,
    ScanInputError,
    did_you_mean,
)
from ._binning import MAX_CELLS, passing_histogram, threshold_index

__all__ = [
    "DIRECTIONS",
    "Direction",
    "Efficiency",
    "ScoreCut",
    "class_efficiencies",
    "efficiency",
    "efficiency_2d",
    "parse_cuts",
    "selection_efficiency",
]

Direction = Literal[">", ">=", "<", "<="]
DIRECTIONS: tuple[str, ...] = (">", ">=", "<", "<=")

#: scores: a DataFrame or a mapping column name -> array
Scores = pd.DataFrame | Mapping[str, ArrayLike]


@dataclass(frozen=True)
class ScoreCut:
    """One score cut: keep candidates with ``column <direction> threshold``.

    ``thresholds`` is a 1-D float64 array (one value for a fixed cut).
    """

    column: str
    direction: str
    thresholds: np.ndarray

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ScanInputError(
                f"cut on {self.column!r}: expected a direction in {DIRECTIONS}, "
                f"found {self.direction!r}."
            )
        thr = np.atleast_1d(np.asarray(self.thresholds, dtype=np.float64))
        if thr.ndim != 1 or thr.size == 0:
            raise ScanInputError(
                f"cut on {self.column!r}: expected a threshold or a 1-D array of thresholds, "
                f"found shape {thr.shape}."
            )
        if not np.all(np.isfinite(thr)):
            raise NonFiniteError(
                f"cut on {self.column!r}: expected finite thresholds, found NaN/inf."
            )
        object.__setattr__(self, "thresholds", thr)


#: cuts: {column: (direction, threshold(s))} or a sequence of ScoreCut / (column, direction, thresholds)
Cuts = Mapping[str, tuple[str, ArrayLike]] | Sequence[ScoreCut | tuple]


def parse_cuts(cuts: Cuts) -> list[ScoreCut]:
    """Normalise the accepted cut specifications to a list of :class:`ScoreCut`.

    Examples
    --------
    >>> parse_cuts({"score_bkg": ("<", 0.01), "score_prompt": (">", [0.1, 0.2])})  # doctest: +SKIP
    """
    if isinstance(cuts, ScoreCut):
        return [cuts]
    out: list[ScoreCut] = []
    if isinstance(cuts, Mapping):
        for column, spec in cuts.items():
            if not (isinstance(spec, (tuple, list)) and len(spec) == 2):
                raise ScanInputError(
                    f"cut on {column!r}: expected (direction, thresholds), found {spec!r}."
                )
            out.append(ScoreCut(str(column), spec[0], spec[1]))
    else:
        for spec in cuts:
            if isinstance(spec, ScoreCut):
                out.append(spec)
            elif isinstance(spec, (tuple, list)) and len(spec) == 3:
                out.append(ScoreCut(str(spec[0]), spec[1], spec[2]))
            else:
                raise ScanInputError(
                    f"cut: expected a ScoreCut or (column, direction, thresholds), found {spec!r}."
                )
    if not out:
        raise ScanInputError("cuts: expected at least one cut, found none.")
    return out


@dataclass(frozen=True)
class Efficiency:
    """Sums of weights passing a selection, and the efficiency with its binomial uncertainty.

    Attributes
    ----------
    passed, passed_sq : numpy.ndarray
        Sum of weights (of squared weights) of the candidates passing, per threshold point.
    total, total_sq : float
        Sum of weights (of squared weights) of all candidates.
    """

    passed: np.ndarray
    passed_sq: np.ndarray
    total: float
    total_sq: float

    @property
    def values(self) -> np.ndarray:
        """Efficiency: passed / total."""
        return self.passed / self.total

    @property
    def errors(self) -> np.ndarray:
        """Binomial uncertainty, generalised to weights.

        var = [(1 - 2 eff) sum_pass w^2 + eff^2 sum_all w^2] / (sum_all w)^2, which is
        eff (1 - eff) / N without weights.
        """
        eff = self.values
        var = ((1 - 2 * eff) * self.passed_sq + eff**2 * self.total_sq) / self.total**2
        return np.sqrt(np.clip(var, 0.0, None))


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def column_values(scores: Scores, name: str, source: str, *, kind: str = "score") -> np.ndarray:
    """Column ``name`` of ``scores`` (a DataFrame or a mapping) as a finite float array; a
    missing or non-finite column is a clear error naming ``source`` and the ``kind`` of
    column expected ("score", "mass", "pT")."""
    try:
        values = scores[name]
    except (KeyError, IndexError):
        names = list(scores.columns if isinstance(scores, pd.DataFrame) else scores)
        raise ColumnNotFoundError(
            f"{source}: expected a {kind} column {name!r}, found {names}.{did_you_mean(name, names)}"
        ) from None
    return _scores_array(values, f"{source} column {name!r}")


def _scores_array(values: ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ScanInputError(f"{what}: expected a 1-D array, found shape {arr.shape}.")
    if arr.dtype.kind not in "fiub":
        raise ScanInputError(f"{what}: expected numbers, found dtype {arr.dtype}.")
    if arr.dtype.kind == "f":
        n_nan = int(np.isnan(arr).sum())
        if n_nan:
            raise NonFiniteError(f"{what}: expected no NaN, found {n_nan} of {arr.size}.")
    else:
        arr = arr.astype(np.float64)
    return arr


def _weights_array(weights: ArrayLike | None, n: int, source: str) -> np.ndarray | None:
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ScanInputError(f"{source} weights: expected shape ({n},), found {w.shape}.")
    if not np.all(np.isfinite(w)):
        raise NonFiniteError(f"{source} weights: expected finite values, found NaN or inf.")
    return w


def _encode(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct labels and each candidate's position among them.

    Small non-negative integer labels (the usual case) avoid the sort of ``np.unique``.
    """
    if labels.dtype.kind in "iub" and labels.size:
        lo, hi = int(labels.min()), int(labels.max())
        if lo >= 0 and hi < 1_000_000:
            present = np.bincount(labels, minlength=hi + 1) > 0
            classes = np.flatnonzero(present).astype(labels.dtype)
            if present.all():  # labels 0 ... K-1: they are their own positions
                return classes, labels.astype(np.intp, copy=False)
            code = np.cumsum(present) - 1
            return classes, code[labels]
    classes, inverse = np.unique(labels, return_inverse=True)
    return classes, inverse.ravel()


def _same_length(arrays: Sequence[np.ndarray], names: Sequence[str], source: str) -> int:
    lengths = {name: len(a) for name, a in zip(names, arrays, strict=True)}
    if len(set(lengths.values())) > 1:
        raise ScanInputError(f"{source}: expected columns of equal length, found {lengths}.")
    return next(iter(lengths.values())) if lengths else 0


def points_shape(cuts: Sequence[ScoreCut], grid: bool) -> tuple[int, ...]:
    """Shape of the threshold points: (T1, ..., TK) on a grid, (P,) along a path."""
    sizes = [len(c.thresholds) for c in cuts]
    if grid:
        return tuple(sizes)
    n = max(sizes)
    bad = {c.column: s for c, s in zip(cuts, sizes, strict=True) if s not in (1, n)}
    if bad:
        raise ScanInputError(
            f"cuts: expected threshold arrays of equal length (or single values) when "
            f"grid=False, found lengths {dict(zip([c.column for c in cuts], sizes, strict=True))}."
        )
    return (n,)


# --------------------------------------------------------------------------------------------
# core
# --------------------------------------------------------------------------------------------
def passing(
    columns: Sequence[np.ndarray],
    cuts: Sequence[ScoreCut],
    *,
    weights: np.ndarray | None = None,
    extra: tuple[np.ndarray, int] | None = None,
    grid: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of weights (and of squared weights) passing the cuts at every threshold point.

    ``extra`` = (index, size) adds a leading plain axis (mass bin, class). Returns arrays of
    shape ``[size,] + points_shape(cuts, grid)``.
    """
    shape = points_shape(cuts, grid)
    uniques, inverses, indices, sizes, directions = [], [], [], [], []
    if extra is not None:
        indices.append(extra[0])
        sizes.append(extra[1])
        directions.append(None)
    for col, cut in zip(columns, cuts, strict=True):
        u, inv = np.unique(cut.thresholds, return_inverse=True)
        uniques.append(u)
        inverses.append(inv.ravel())
        indices.append(threshold_index(u, col, cut.direction))
        sizes.append(len(u) + 1)
        directions.append(cut.direction)
    n_cells = int(np.prod(sizes, dtype=np.float64))
    if n_cells > MAX_CELLS:
        raise ScanInputError(
            f"scan: the cumulative histogram would have {n_cells} cells (axes {sizes}), "
            f"expected at most {MAX_CELLS}; use fewer thresholds or mass bins."
        )
    sumw, sumw2 = passing_histogram(indices, sizes, directions, weights)
    lead = (np.arange(extra[1]),) if extra is not None else ()
    if grid:
        sel = np.ix_(*lead, *inverses)
    else:
        n = shape[0]
        path = tuple(np.broadcast_to(inv, (n,)) for inv in inverses)
        sel = (slice(None), *path) if extra is not None else path
    return sumw[sel], sumw2[sel]


def _efficiency(
    passed: np.ndarray, passed_sq: np.ndarray, total: float, total_sq: float, what: str
) -> Efficiency:
    if not total > 0:
        raise EmptySelectionError(
            f"{what}: expected candidates (sum of weights > 0), found {total:g}."
        )
    return Efficiency(passed, passed_sq, float(total), float(total_sq))


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def selection_efficiency(
    scores: Scores,
    cuts: Cuts,
    *,
    weights: ArrayLike | None = None,
    grid: bool = False,
    source: str = "scores",
) -> Efficiency:
    """Efficiency of a sample for score cuts at every threshold point.

    Parameters
    ----------
    scores : DataFrame or mapping column -> array
        Model scores of the candidates, one column per cut.
    cuts : mapping or sequence
        ``{column: (direction, thresholds)}``, e.g.
        ``{"score_bkg": ("<", 0.01), "score_prompt": (">", np.linspace(0, 1, 101))}``.
    weights : array-like, optional
        Candidate weights.
    grid : bool
        False: combine the cuts' thresholds point by point; True: on the full grid.
    source : str
        Name of the sample in error messages.

    Returns
    -------
    Efficiency
        ``.values`` and ``.errors`` with shape (P,) or, on a grid, (T1, ..., TK).
    """
    parsed = parse_cuts(cuts)
    columns = [column_values(scores, c.column, source) for c in parsed]
    n = _same_length(columns, [c.column for c in parsed], source)
    w = _weights_array(weights, n, source)
    passed, passed_sq = passing(columns, parsed, weights=w, grid=grid)
    total = float(n) if w is None else float(w.sum())
    total_sq = float(n) if w is None else float((w * w).sum())
    return _efficiency(passed, passed_sq, total, total_sq, source)


def class_efficiencies(
    scores: Scores,
    labels: ArrayLike,
    cuts: Cuts,
    *,
    weights: ArrayLike | None = None,
    grid: bool = False,
    source: str = "scores",
) -> dict[Hashable, Efficiency]:
    """Efficiency of each class (true label) for score cuts, in a single pass.

    Same parameters as :func:`selection_efficiency`, plus ``labels`` (one per candidate).
    Returns ``{label: Efficiency}`` in sorted label order.
    """
    parsed = parse_cuts(cuts)
    columns = [column_values(scores, c.column, source) for c in parsed]
    labels = np.asarray(labels)
    n = _same_length([*columns, labels], [*(c.column for c in parsed), "labels"], source)
    w = _weights_array(weights, n, source)
    classes, inverse = _encode(labels)
    passed, passed_sq = passing(
        columns, parsed, weights=w, extra=(inverse, len(classes)), grid=grid
    )
    totals = np.bincount(inverse, weights=w, minlength=len(classes))
    totals_sq = totals if w is None else np.bincount(inverse, weights=w * w, minlength=len(classes))
    return {
        cls.item(): _efficiency(
            passed[i], passed_sq[i], totals[i], totals_sq[i], f"{source} class {cls!r}"
        )
        for i, cls in enumerate(classes)
    }


def efficiency(
    scores: ArrayLike,
    thresholds: ArrayLike,
    *,
    direction: Direction = ">",
    weights: ArrayLike | None = None,
) -> np.ndarray:
    """Efficiency of one score cut at each threshold (in the order given).

    Parameters
    ----------
    scores : array-like
        One score per candidate.
    thresholds : array-like
        Thresholds, any order.
    direction : {">", ">=", "<", "<="}
        Keep candidates with ``score <direction> threshold``.
    weights : array-like, optional
        Candidate weights.

    Returns
    -------
    numpy.ndarray
        Efficiency per threshold.
    """
    return selection_efficiency(
        {"score": scores}, [ScoreCut("score", direction, thresholds)], weights=weights
    ).values


def efficiency_2d(
    scores_a: ArrayLike,
    scores_b: ArrayLike,
    thresholds_a: ArrayLike,
    thresholds_b: ArrayLike,
    *,
    directions: tuple[Direction, Direction] = ("<", ">"),
    weights: ArrayLike | None = None,
) -> np.ndarray:
    """Efficiency of two score cuts on the grid of thresholds, shape (len(a), len(b)).

    Computed from one cumulative 2-D histogram: O(N + Ta x Tb). The default directions are
    those of a 3-class model: background score < t_a and signal score > t_b.
    """
    cuts = [ScoreCut("a", directions[0], thresholds_a), ScoreCut("b", directions[1], thresholds_b)]
    scores = {"a": scores_a, "b": scores_b}
    return selection_efficiency(scores, cuts, weights=weights, grid=True).values
