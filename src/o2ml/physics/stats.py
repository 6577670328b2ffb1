"""The two small estimators every part of o2ml shares: a binomial efficiency error and a robust
width. One home each, so that a number quoted in two places is computed the same way."""

from __future__ import annotations

import numpy as np

__all__ = ["MAD_TO_SIGMA", "binomial_error", "robust_width"]

#: the MAD of a unit Gaussian is 1 / 1.4826: 1.4826 x MAD estimates sigma, robust to tails
MAD_TO_SIGMA = 1.4826


def binomial_error(efficiency, n):
    """sqrt(eff (1 - eff) / n): the binomial uncertainty of an efficiency of ``n`` trials
    (arrays broadcast; NaN where n is 0). :class:`o2ml.selection.Efficiency` generalises it
    to weights."""
    eff = np.asarray(efficiency, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sqrt(np.clip(eff * (1.0 - eff), 0.0, None) / n)
    out = np.where(n > 0, out, np.nan)
    return float(out) if out.ndim == 0 else out


def robust_width(x) -> tuple[float, float]:
    """(median, 1.4826 x median absolute deviation) of ``x``: centre and width that a few per
    cent of outliers (contamination of a tagged sample) hardly move."""
    x = np.asarray(x, dtype=np.float64)
    med = float(np.median(x))
    return med, float(MAD_TO_SIGMA * np.median(np.abs(x - med)))
