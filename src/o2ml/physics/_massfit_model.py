"""The model behind :mod:`o2ml.physics.massfit`: types, errors, scaled cumulative distributions
normalised on the histogram range, and the checks of a mass histogram."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ..errors import (
    MassFitError,
    NonFiniteError,
)

BackgroundModel = Literal["expo", "pol2"]
SignalShape = Literal["fixed", "constrained", "free"]
BACKGROUND_MODELS: tuple[str, ...] = ("expo", "pol2")
_BACKGROUND_PARAMS = {"expo": ("n_bkg", "slope"), "pol2": ("n_bkg", "c1", "c2")}


# --------------------------------------------------------------------------------------------
# model: scaled cumulative distributions, normalised on [lo, hi]
# --------------------------------------------------------------------------------------------
class _Model:
    """Sum of a background and optional Gaussians, as a scaled CDF for ExtendedBinnedNLL."""

    def __init__(self, background: str, lo: float, hi: float, signal: bool, dplus: bool):
        self.background, self.lo, self.hi = background, lo, hi
        names = list(_BACKGROUND_PARAMS[background])
        self.background_indices = list(range(len(names)))
        if signal:
            names += ["n_sig", "mean", "sigma"]
        if dplus:
            names += ["n_dplus", "mean_dplus", "sigma_dplus"]
        self.names = tuple(names)
        self.index = {n: i for i, n in enumerate(names)}
        self.signal, self.dplus = signal, dplus

    def background_cdf(self, x: np.ndarray, p: Sequence[float]) -> np.ndarray:
        span = self.hi - self.lo
        if self.background == "expo":
            n, slope = p[0], p[1]
            u = np.asarray(x, dtype=float) - self.lo
            if abs(slope * span) < 1e-9:  # the limit slope -> 0 is a flat background
                return n * u / span
            if slope > 0:  # same ratio, written so that steep slopes cannot overflow (inf / inf)
                return (
                    n
                    * np.exp(slope * (u - span))
                    * np.expm1(-slope * u)
                    / math.expm1(-slope * span)
                )
            return n * np.expm1(slope * u) / math.expm1(slope * span)
        n, c1, c2 = p[0], p[1], p[2]
        t = 2.0 * (np.asarray(x, dtype=float) - self.lo) / span - 1.0
        # integral of 1 + c1 P1(t) + c2 P2(t) from -1 to t, divided by its value at t = 1 (= 2)
        return n * 0.5 * ((t + 1.0) + c1 * 0.5 * (t * t - 1.0) + c2 * 0.5 * (t**3 - t))

    def gauss_cdf(self, x: np.ndarray, p: Sequence[float], which: str) -> np.ndarray:
        from scipy.special import ndtr

        i = self.index["n_sig" if which == "sig" else "n_dplus"]
        n, mu, sigma = p[i], p[i + 1], p[i + 2]
        a, b = ndtr((self.lo - mu) / sigma), ndtr((self.hi - mu) / sigma)
        return n * (ndtr((np.asarray(x, dtype=float) - mu) / sigma) - a) / (b - a)

    def __call__(self, x: np.ndarray, *p: float) -> np.ndarray:
        out = self.background_cdf(x, p)
        if self.signal:
            out = out + self.gauss_cdf(x, p, "sig")
        if self.dplus:
            out = out + self.gauss_cdf(x, p, "dplus")
        return out


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _check_histogram(counts: ArrayLike, edges: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or len(edges) < 3:
        raise MassFitError(
            f"mass histogram: expected at least 3 bin edges, found shape {edges.shape}."
        )
    if not np.all(np.diff(edges) > 0):
        raise MassFitError("mass histogram: expected strictly increasing bin edges.")
    if counts.shape != (len(edges) - 1,):
        raise MassFitError(
            f"mass histogram: expected {len(edges) - 1} counts for {len(edges)} edges, "
            f"found shape {counts.shape}."
        )
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise NonFiniteError("mass histogram: expected finite, non-negative counts.")
    return counts, edges


def _bins_outside(edges: np.ndarray, exclude: Sequence[tuple[float, float]]) -> np.ndarray:
    """Mask of the bins that overlap none of the excluded [lo, hi] intervals."""
    keep = np.ones(len(edges) - 1, dtype=bool)
    for lo, hi in exclude:
        if not lo < hi:
            raise MassFitError(f"excluded mass region: expected lo < hi, found ({lo:g}, {hi:g}).")
        keep &= ~((edges[1:] > lo) & (edges[:-1] < hi))
    return keep


def _background_start(
    background: str, counts: np.ndarray, edges: np.ndarray, mask: np.ndarray
) -> dict[str, float]:
    """Starting values from a linear least-squares fit of the sideband bins."""
    lo, hi = edges[0], edges[-1]
    c, e0, e1 = counts[mask], edges[:-1][mask], edges[1:][mask]
    w = 1.0 / np.maximum(c, 1.0)
    if background == "pol2":
        t0, t1 = 2 * (e0 - lo) / (hi - lo) - 1, 2 * (e1 - lo) / (hi - lo) - 1
        basis = np.stack(
            [(t1 - t0) / 2, (t1**2 - t0**2) / 4, (t1**3 - t1 - t0**3 + t0) / 4], axis=1
        )
        sw = np.sqrt(w)
        a, *_ = np.linalg.lstsq(basis * sw[:, None], c * sw, rcond=None)
        if a[0] > 0:
            return {"n_bkg": float(a[0]), "c1": float(a[1] / a[0]), "c2": float(a[2] / a[0])}
        return {"n_bkg": float(c.sum() * (hi - lo) / (e1 - e0).sum()), "c1": 0.0, "c2": 0.0}
    centres = 0.5 * (e0 + e1)
    dens = c / (e1 - e0)
    slope = 0.0
    if np.count_nonzero(c) >= 2:
        slope, _ = np.polyfit(centres - lo, np.log(dens + 1.0 / (e1 - e0)), 1, w=np.sqrt(c + 1))
        slope = float(np.clip(slope, -100 / (hi - lo), 100 / (hi - lo)))
    model = _Model("expo", lo, hi, False, False)
    frac = np.diff(model.background_cdf(edges, [1.0, slope]))[mask].sum()
    return {"n_bkg": float(max(c.sum(), 0.5) / frac), "slope": slope}


def _check_background(background: str) -> None:
    if background not in BACKGROUND_MODELS:
        raise MassFitError(
            f"background model: expected one of {BACKGROUND_MODELS}, found {background!r}."
        )
