"""The significance plateau: where the significance stays close to its maximum.

Thresholds on the plateau are all about equally good; the analyser usually takes the most
efficient one, and the plateau's width tells how stable the choice is. :func:`working_point` is
THE rule for a scan's default working point: notebook 01's per-bin study
(:attr:`o2ml.selection.BinScan.chosen_index`), :meth:`o2ml.selection.ScanResult.chosen_index`,
the dashboards' initial cursors and ``o2ml export`` all call it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import BadArgumentError, ScanInputError

__all__ = ["WORKING_POINTS", "Plateau", "find_plateau", "working_point"]

#: the points a scan's working point can be (:func:`working_point`): ``most_efficient`` (the
#: plateau point of largest signal efficiency: its loose edge, the lowest S/B), ``centre`` (the
#: plateau's middle: robust against a shift of the plateau between data and MC) or ``max`` (the
#: maximum significance)
WORKING_POINTS = ("most_efficient", "centre", "max")


@dataclass(frozen=True)
class Plateau:
    """Contiguous range of thresholds around the maximum significance.

    Attributes
    ----------
    lo, hi, width : float
        First and last threshold on the plateau, and hi - lo.
    i_lo, i_hi : int
        Their indices in the (sorted) scan, inclusive.
    i_max, threshold_at_max : int, float
        Where the significance is largest.
    max_significance, max_significance_error : float
        The largest significance and its uncertainty (NaN if none was given).
    level : float
        The significance a point must reach to be on the plateau.
    i_most_efficient, most_efficient_threshold : int, float
        The plateau point with the largest signal efficiency.
    criterion : {"fraction", "sigma"}
        ``fraction``: significance >= fraction x maximum; ``sigma``: significance >= maximum -
        n_sigma x its uncertainty.
    parameter : float
        The fraction or the number of sigmas.
    """

    lo: float
    hi: float
    width: float
    i_lo: int
    i_hi: int
    i_max: int
    threshold_at_max: float
    max_significance: float
    max_significance_error: float
    level: float
    i_most_efficient: int
    most_efficient_threshold: float
    criterion: str
    parameter: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plateau:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)

    def contains(self, index: int | np.ndarray) -> bool | np.ndarray:
        """Whether scan point(s) ``index`` lie on the plateau."""
        return (np.asarray(index) >= self.i_lo) & (np.asarray(index) <= self.i_hi)


def find_plateau(
    thresholds: ArrayLike,
    significance: ArrayLike,
    significance_error: ArrayLike | None = None,
    *,
    efficiency: ArrayLike | None = None,
    fraction: float = 0.95,
    n_sigma: float | None = None,
    direction: str = ">",
) -> Plateau:
    """Find the significance plateau of a one-dimensional threshold scan.

    Parameters
    ----------
    thresholds : array-like
        Scan thresholds, increasing.
    significance : array-like
        Significance per threshold; NaN points (failed fits) break the plateau.
    significance_error : array-like, optional
        Uncertainty of the significance; needed for ``n_sigma``.
    efficiency : array-like, optional
        Signal efficiency per threshold, to pick the most efficient plateau point. Without it,
        the loosest threshold is taken: the lowest for ``direction`` ``>``/``>=``, else the highest.
    fraction : float
        Plateau = points with significance >= fraction x maximum (default 95 %).
    n_sigma : float, optional
        If given, the plateau is instead the points within ``n_sigma`` uncertainties of the
        maximum: significance >= max - n_sigma x error(max).
    direction : str
        Direction of the scanned cut (only used without ``efficiency``).

    Returns
    -------
    Plateau
    """
    thr = np.asarray(thresholds, dtype=np.float64)
    z = np.asarray(significance, dtype=np.float64)
    if thr.ndim != 1 or z.shape != thr.shape or thr.size == 0:
        raise ScanInputError(
            f"plateau: expected thresholds and significance of equal 1-D shape, found "
            f"{thr.shape} and {z.shape}."
        )
    if np.any(np.diff(thr) <= 0):
        raise ScanInputError("plateau: expected strictly increasing thresholds.")
    err = None if significance_error is None else np.asarray(significance_error, dtype=np.float64)
    if err is not None and err.shape != z.shape:
        raise ScanInputError(f"plateau: expected {z.shape} significance errors, found {err.shape}.")
    if not np.any(np.isfinite(z)):
        raise ScanInputError("plateau: expected at least one finite significance, found none.")
    i_max = int(np.nanargmax(np.where(np.isfinite(z), z, np.nan)))
    z_max = float(z[i_max])
    z_err = float(err[i_max]) if err is not None else math.nan
    if n_sigma is not None:
        if err is None or not math.isfinite(z_err):
            raise ScanInputError(
                "plateau: n_sigma needs a finite significance error at the maximum."
            )
        level, criterion, parameter = z_max - n_sigma * z_err, "sigma", float(n_sigma)
    else:
        if not 0 < fraction <= 1:
            raise ScanInputError(f"plateau: expected 0 < fraction <= 1, found {fraction!r}.")
        level, criterion, parameter = fraction * z_max, "fraction", float(fraction)
    on = np.isfinite(z) & (z >= level)
    i_lo = i_max
    while i_lo > 0 and on[i_lo - 1]:
        i_lo -= 1
    i_hi = i_max
    while i_hi < len(z) - 1 and on[i_hi + 1]:
        i_hi += 1
    if efficiency is not None:
        eff = np.asarray(efficiency, dtype=np.float64)
        if eff.shape != z.shape:
            raise ScanInputError(f"plateau: expected {z.shape} efficiencies, found {eff.shape}.")
        i_best = i_lo + int(np.argmax(eff[i_lo : i_hi + 1]))
    else:
        i_best = i_lo if direction in (">", ">=") else i_hi
    return Plateau(
        lo=float(thr[i_lo]),
        hi=float(thr[i_hi]),
        width=float(thr[i_hi] - thr[i_lo]),
        i_lo=i_lo,
        i_hi=i_hi,
        i_max=i_max,
        threshold_at_max=float(thr[i_max]),
        max_significance=z_max,
        max_significance_error=z_err,
        level=float(level),
        i_most_efficient=i_best,
        most_efficient_threshold=float(thr[i_best]),
        criterion=criterion,
        parameter=parameter,
    )


def working_point(
    significance: ArrayLike, plateau: Plateau | None, rule: str = "most_efficient"
) -> int:
    """The index of a 1-D scan's working point: the one rule every part of o2ml uses.

    ``rule`` (:data:`WORKING_POINTS`) picks a point of the ``plateau``: ``most_efficient``
    (:attr:`Plateau.i_most_efficient`), ``centre`` (the middle index of the plateau) or ``max``.
    Without a plateau (no finite significance or a grid), and for ``max``, it is the largest
    finite significance (index 0 where none is finite).
    """
    if rule not in WORKING_POINTS:
        raise BadArgumentError(f"working point: expected one of {WORKING_POINTS}, found {rule!r}")
    if plateau is not None and rule == "most_efficient":
        return int(plateau.i_most_efficient)
    if plateau is not None and rule == "centre":
        return (plateau.i_lo + plateau.i_hi) // 2
    z = np.asarray(significance, dtype=np.float64)
    finite = np.isfinite(z)
    return int(np.argmax(np.where(finite, z, -np.inf))) if finite.any() else 0
