"""Cut-variation stability: the corrected yield should not depend on the threshold.

Corrected yield = scale x raw yield / efficiency, where the raw yield comes from a signal +
background fit of the data mass histogram after each cut (a scan with
``options=SignificanceOptions(fit_raw_yield=True)``) and the efficiency is the MC efficiency of
the signal mixture. Its RMS over the significance plateau measures the systematic uncertainty of
the selection -- once it is compared with what statistics alone would give: the samples after
two cuts are nested (the tighter one a subset of the looser one), so the difference of their
yields fluctuates with
variance |σ_i² - σ_ref²| (R. Barlow, "Systematic errors: facts and fictions", Durham IPPP
workshop 2002, arXiv:hep-ex/0207026). ``statistical_rms`` is that expectation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ScanInputError
from .plateau import Plateau
from .result import ScanResult

__all__ = ["CutVariation", "cut_variation"]


@dataclass(frozen=True)
class CutVariation:
    """Corrected yield versus threshold and its spread over the plateau.

    Attributes
    ----------
    thresholds : numpy.ndarray
        Thresholds of the scanned cut.
    raw_yield, raw_yield_error : numpy.ndarray
        From the S+B fits (scanned sample).
    efficiency, efficiency_error : numpy.ndarray
        MC efficiency of the signal mixture (origins weighted by their expected counts).
    corrected_yield, corrected_yield_error : numpy.ndarray
        scale x raw yield / efficiency: the signal before selection in the full sample.
    on_plateau : numpy.ndarray of bool
        Points on the plateau (with a finite corrected yield) used for the RMS.
    mean, rms, relative_rms : float
        Mean corrected yield over those points, its RMS and RMS / mean.
    expected : float
        Expected signal of the same origins (before selection) from the generator's table.
    origins : tuple of str
        Origins in the efficiency.
    statistical_rms, statistical_relative_rms : float
        The RMS that the statistical fluctuation of nested samples alone would give:
        sqrt(mean over the plateau of |σ_i² - σ_ref²|), σ_ref the smallest corrected-yield
        error on the plateau (Barlow). ``rms`` well above it points to a systematic effect.
    """

    thresholds: np.ndarray
    raw_yield: np.ndarray
    raw_yield_error: np.ndarray
    efficiency: np.ndarray
    efficiency_error: np.ndarray
    corrected_yield: np.ndarray
    corrected_yield_error: np.ndarray
    on_plateau: np.ndarray
    mean: float
    rms: float
    relative_rms: float
    expected: float
    origins: tuple[str, ...]
    statistical_rms: float = math.nan
    statistical_relative_rms: float = math.nan


def cut_variation(
    result: ScanResult,
    *,
    plateau: Plateau | None = None,
    origins: Sequence[str] | None = None,
) -> CutVariation:
    """Corrected yield versus threshold of a 1-D scan, and its (relative) RMS over the plateau.

    Parameters
    ----------
    result : ScanResult
        A 1-D scan made with ``fit_raw_yield=True``.
    plateau : Plateau, optional
        Range for the RMS; default ``result.plateau``.
    origins : sequence of str, optional
        Origins whose MC efficiencies make the efficiency (weighted by their expected counts);
        default every origin with both an efficiency and an expected count -- the fitted peak
        holds all of them.

    Returns
    -------
    CutVariation
    """
    if result.scan_axis is None:
        raise ScanInputError(
            "cut variation: expected a 1-D scan (one varying threshold), found none."
        )
    if not np.any(np.isfinite(result.raw_yield)):
        raise ScanInputError(
            "cut variation: expected raw yields in the scan, found none; "
            "scan with options=SignificanceOptions(..., fit_raw_yield=True)."
        )
    plateau = plateau if plateau is not None else result.plateau
    if plateau is None:
        raise ScanInputError("cut variation: expected a plateau, found none in the scan.")
    expected = result.metadata.get("expected_signal") or {}
    if origins is None:
        origins = [o for o in result.efficiencies if o in expected]
    missing = [o for o in origins if o not in result.efficiencies or o not in expected]
    if missing or not origins:
        raise ScanInputError(
            f"cut variation: expected MC efficiencies and expected counts for origins {list(origins)}, "
            f"found efficiencies {result.classes} and expected counts {sorted(expected)}."
        )
    n = np.array([float(expected[o]) for o in origins])
    if not n.sum() > 0:
        raise ScanInputError(f"cut variation: expected signal of {list(origins)} is zero.")
    eff = np.array([result.efficiencies[o] for o in origins])
    eff_err = np.array([result.efficiency_errors[o] for o in origins])
    efficiency = (n @ eff) / n.sum()
    efficiency_error = np.sqrt((n**2) @ (eff_err**2)) / n.sum()
    scale = float(result.metadata.get("scale", 1.0))
    raw, raw_err = result.raw_yield, result.raw_yield_error
    with np.errstate(divide="ignore", invalid="ignore"):
        corrected = scale * raw / efficiency
        corrected_err = np.abs(corrected) * np.sqrt(
            (raw_err / raw) ** 2 + (efficiency_error / efficiency) ** 2
        )
    index = np.arange(result.n_points)
    on = plateau.contains(index) & np.isfinite(corrected)
    stat = math.nan
    if on.any():
        mean = float(corrected[on].mean())
        rms = float(np.sqrt(np.mean((corrected[on] - mean) ** 2)))
        relative = rms / mean if mean != 0 else math.nan
        var = corrected_err[on] ** 2
        stat = float(np.sqrt(np.mean(np.abs(var - var.min()))))
    else:
        mean = rms = relative = math.nan
    return CutVariation(
        thresholds=result.thresholds[:, result.scan_axis].copy(),
        raw_yield=raw.copy(),
        raw_yield_error=raw_err.copy(),
        efficiency=efficiency,
        efficiency_error=efficiency_error,
        corrected_yield=corrected,
        corrected_yield_error=corrected_err,
        on_plateau=on,
        mean=mean,
        rms=rms,
        relative_rms=relative,
        expected=float(n.sum()),
        origins=tuple(origins),
        statistical_rms=stat,
        statistical_relative_rms=stat / mean if mean and np.isfinite(mean) else math.nan,
    )
