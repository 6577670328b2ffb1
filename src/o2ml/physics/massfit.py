"""Binned invariant-mass fits with iminuit: peak shape from MC, background from data sidebands.

Three fits cover what a selection study needs:

* :func:`fit_peak` -- a Gaussian fit to the MC mass of true signal candidates: mean and sigma
  (with errors) that fix the signal window and the peak shape used on data;
* :func:`fit_background` -- the background (exponential or 2nd-order polynomial) fitted to the
  sidebands of a data histogram, with excluded regions (the signal region, the D+ peak) or with
  the D+ peak modelled as a Gaussian; :meth:`MassFit.background_integral` gives the background
  in any window with the uncertainty propagated from the fit covariance;
* :func:`fit_signal` -- signal (Gaussian, shape fixed, constrained or free) plus background
  over the whole histogram, for raw yields.

All fits are extended binned maximum-likelihood fits (``iminuit.cost.ExtendedBinnedNLL``) of
bin-integrated models, so results do not depend on the bin width. Every component is written
as a cumulative distribution normalised on the histogram range, which makes the yields the
numbers of candidates in that range. Masses are in GeV/c^2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import EmptySidebandError, MassFitError, NonFiniteError
from ._massfit_model import (
    _BACKGROUND_PARAMS,
    BACKGROUND_MODELS,
    BackgroundModel,
    SignalShape,
    _background_start,
    _bins_outside,
    _check_background,
    _check_histogram,
    _Model,
)
from ._massfit_results import MassFit, PeakFit

__all__ = [
    "BACKGROUND_MODELS",
    "BackgroundModel",
    "EmptySidebandError",
    "MassFit",
    "MassFitError",
    "PeakFit",
    "SignalShape",
    "fit_background",
    "fit_peak",
    "fit_signal",
]


def _minimise(
    model: _Model,
    counts: np.ndarray,
    edges: np.ndarray,
    mask: np.ndarray,
    start: dict[str, float],
    fixed: Sequence[str] = (),
    constraint: tuple[list[str], list[float], list[float]] | None = None,
    limits: dict[str, tuple[float | None, float | None]] | None = None,
    dplus: tuple[float, float] | None = None,
) -> MassFit:
    from iminuit import Minuit
    from iminuit.cost import ExtendedBinnedNLL, NormalConstraint

    cost = ExtendedBinnedNLL(counts, edges, model, name=model.names)
    cost.mask = mask
    total = cost if constraint is None else cost + NormalConstraint(*constraint)
    m = Minuit(total, *[start[n] for n in model.names], name=model.names)
    m.print_level = 0
    span = model.hi - model.lo
    m.limits["n_bkg"] = (0.0, None)
    if model.background == "expo":
        m.limits["slope"] = (-300.0 / span, 300.0 / span)
    else:
        m.limits["c1"] = m.limits["c2"] = (-10.0, 10.0)
    for name, lim in (limits or {}).items():
        m.limits[name] = lim
    for name in fixed:
        m.fixed[name] = True
    m.migrad()
    if not m.valid:
        m.migrad()
    m.hesse()
    n_free = sum(not m.fixed[n] for n in model.names)
    # a background parameter stuck at a limit (no sideband entries left on one side, a
    # vanishing background) makes the window estimate and its error meaningless
    at_limit = any(
        not m.fixed[n]
        and any(
            abs(m.values[n] - b) <= 1e-6 * (1 + abs(b)) for b in m.limits[n] if math.isfinite(b)
        )
        for n in _BACKGROUND_PARAMS[model.background]
    )
    cov = np.array(m.covariance) if m.covariance is not None else np.full((len(start),) * 2, np.nan)
    return MassFit(
        background=model.background,
        edges=edges,
        used_bins=mask,
        names=model.names,
        values=np.array(m.values),
        errors=np.where(np.array(m.fixed), 0.0, np.array(m.errors)),
        covariance=cov,
        valid=bool(m.valid and m.accurate and not at_limit),
        fval=float(cost(*m.values)),
        ndof=int(mask.sum()) - n_free,
        dplus=None if dplus is None else (float(dplus[0]), float(dplus[1])),
        has_signal=model.signal,
    )


# --------------------------------------------------------------------------------------------
# public fits
# --------------------------------------------------------------------------------------------
def fit_peak(
    mass: ArrayLike,
    *,
    bins: int | ArrayLike = 100,
    range: tuple[float, float] | None = None,
    weights: ArrayLike | None = None,
) -> PeakFit:
    """Fit a Gaussian to the invariant mass of MC signal candidates.

    Parameters
    ----------
    mass : array-like
        Reconstructed mass of true (MC-matched) signal candidates, GeV/c^2.
    bins : int or array-like
        Number of bins or bin edges of the fitted histogram.
    range : (float, float), optional
        Fit range; default median +- 6 robust sigma (from the inter-quartile range).
    weights : array-like, optional
        Candidate weights (the fit then uses the sums of weights and of squared weights).

    Returns
    -------
    PeakFit
        Mean and sigma with their errors.
    """
    from iminuit import Minuit
    from iminuit.cost import ExtendedBinnedNLL
    from scipy.special import ndtr

    mass = np.asarray(mass, dtype=float)
    if mass.size < 10:
        raise MassFitError(f"MC mass: expected at least 10 candidates to fit, found {mass.size}.")
    if not np.all(np.isfinite(mass)):
        raise NonFiniteError("MC mass: expected finite values, found NaN or inf.")
    q25, median, q75 = np.percentile(mass, [25, 50, 75])
    robust = max((q75 - q25) / 1.349, 1e-6)
    if range is None:
        range = (median - 6 * robust, median + 6 * robust)
    edges = np.linspace(*range, bins + 1) if np.ndim(bins) == 0 else np.asarray(bins, float)
    w = None if weights is None else np.asarray(weights, dtype=float)
    if w is not None and w.shape != mass.shape:
        raise MassFitError(f"MC weights: expected shape {mass.shape}, found {w.shape}.")
    sumw, _ = np.histogram(mass, edges, weights=w)
    n = sumw
    if w is not None:
        sumw2, _ = np.histogram(mass, edges, weights=w * w)
        n = np.stack([sumw, sumw2], axis=-1)
    lo, hi = float(edges[0]), float(edges[-1])

    def gauss(x: np.ndarray, ns: float, mu: float, s: float) -> np.ndarray:
        a, b = ndtr((lo - mu) / s), ndtr((hi - mu) / s)
        return ns * (ndtr((x - mu) / s) - a) / (b - a)

    cost = ExtendedBinnedNLL(n, edges, gauss)
    m = Minuit(cost, ns=float(sumw.sum()), mu=float(median), s=float(robust))
    m.limits["s"] = (1e-4 * robust, 100 * robust)
    m.limits["mu"] = (float(edges[0]), float(edges[-1]))
    m.migrad()
    if not m.valid:
        m.migrad()
    m.hesse()
    return PeakFit(
        mean=float(m.values["mu"]),
        mean_error=float(m.errors["mu"]),
        sigma=float(m.values["s"]),
        sigma_error=float(m.errors["s"]),
        n=float(m.values["ns"]),
        n_error=float(m.errors["ns"]),
        valid=bool(m.valid),
    )


def fit_background(
    counts: ArrayLike,
    edges: ArrayLike,
    *,
    background: BackgroundModel = "expo",
    exclude: Sequence[tuple[float, float]] = (),
    dplus: tuple[float, float] | None = None,
    min_counts: float = 1.0,
    start: MassFit | None = None,
) -> MassFit:
    """Fit the background to the sidebands of a mass histogram.

    Parameters
    ----------
    counts, edges : array-like
        Histogram counts and bin edges (GeV/c^2).
    background : {"expo", "pol2"}
        Exponential or 2nd-order polynomial, normalised on the histogram range.
    exclude : sequence of (lo, hi)
        Mass regions left out of the fit (the signal region; the D+ peak if not modelled).
        A bin is left out when it overlaps a region.
    dplus : (mean, sigma), optional
        Model the D+ peak as a Gaussian of this (fixed) mean and sigma with a free yield.
    min_counts : float
        Fewer candidates than this in the fitted bins raise :class:`EmptySidebandError`.
    start : MassFit, optional
        A previous fit of a similar histogram, used as starting point (faster scans).

    Returns
    -------
    MassFit
        ``n_bkg`` is the background in the full histogram range; use
        :meth:`MassFit.background_integral` for a window.
    """
    _check_background(background)
    counts, edges = _check_histogram(counts, edges)
    mask = _bins_outside(edges, exclude)
    model = _Model(background, float(edges[0]), float(edges[-1]), False, dplus is not None)
    n_free = len(model.names) - (2 if dplus is not None else 0)
    if mask.sum() < n_free + 1:
        raise MassFitError(
            f"background fit: expected at least {n_free + 1} sideband bins, found {mask.sum()} "
            f"(excluded regions {list(exclude)} leave too little of [{edges[0]:g}, {edges[-1]:g}])."
        )
    n_side = counts[mask].sum()
    if n_side < min_counts:
        raise EmptySidebandError(
            f"background fit: expected at least {min_counts:g} candidates in the sidebands, "
            f"found {n_side:g} (excluded regions {[tuple(map(float, r)) for r in exclude]})."
        )
    fixed: list[str] = []
    limits = None
    params = _background_start(background, counts, edges, mask)
    if dplus is not None:
        d_mean, d_sigma = dplus
        region = _bins_outside(edges, [(d_mean - 2 * d_sigma, d_mean + 2 * d_sigma)])
        if not np.any(mask & ~region):
            raise MassFitError(
                f"background fit: the D+ peak at {d_mean:g} lies in the excluded regions "
                f"{[tuple(map(float, r)) for r in exclude]}; expected dplus=None there."
            )
        params.update(
            n_dplus=max(counts[mask & ~region].sum() * 0.5, 1.0),
            mean_dplus=d_mean,
            sigma_dplus=d_sigma,
        )
        fixed += ["mean_dplus", "sigma_dplus"]
        limits = {"n_dplus": (0.0, None)}
    if start is not None and start.background == background and start.dplus == dplus:
        # warm start: the previous shape, normalised to the sideband counts of this histogram
        warm = {**params, **dict(zip(start.names, map(float, start.values), strict=True))}
        frac = np.diff(
            model.background_cdf(
                edges, [1.0, *(warm[n] for n in _BACKGROUND_PARAMS[background][1:])]
            )
        )
        if frac[mask].sum() > 0:
            warm["n_bkg"] = max(n_side, 0.5) / frac[mask].sum()
            fit = _minimise(model, counts, edges, mask, warm, fixed, limits=limits, dplus=dplus)
            if fit.valid:
                return fit
    return _minimise(model, counts, edges, mask, params, fixed, limits=limits, dplus=dplus)


def fit_signal(
    counts: ArrayLike,
    edges: ArrayLike,
    *,
    peak: tuple[float, float],
    peak_errors: tuple[float, float] | None = None,
    shape: SignalShape = "fixed",
    background: BackgroundModel = "expo",
    exclude: Sequence[tuple[float, float]] = (),
    dplus: tuple[float, float] | None = None,
) -> MassFit:
    """Fit a Gaussian signal plus background to a mass histogram; the raw yield is ``n_sig``.

    Parameters
    ----------
    counts, edges : array-like
        Histogram counts and bin edges (GeV/c^2).
    peak : (mean, sigma)
        Peak position and width, usually from :func:`fit_peak` on MC.
    peak_errors : (mean_error, sigma_error), optional
        Widths of the Gaussian constraints when ``shape="constrained"``.
    shape : {"fixed", "constrained", "free"}
        Mean and sigma fixed, constrained to the MC values, or free.
    background : {"expo", "pol2"}
        Background model.
    exclude : sequence of (lo, hi)
        Regions left out (e.g. the D+ peak when it is not modelled); must not cover the peak.
    dplus : (mean, sigma), optional
        Model the D+ peak as a Gaussian of fixed mean and sigma with a free yield.

    Returns
    -------
    MassFit
        With :attr:`MassFit.raw_yield` and :attr:`MassFit.raw_yield_error`.
    """
    _check_background(background)
    mean, sigma = peak
    mean_error, sigma_error = (None, None) if peak_errors is None else peak_errors
    if shape not in ("fixed", "constrained", "free"):
        raise MassFitError(
            f"signal shape: expected 'fixed', 'constrained' or 'free', found {shape!r}."
        )
    if shape == "constrained" and (mean_error is None or sigma_error is None):
        raise MassFitError(
            "signal shape 'constrained': expected peak_errors=(mean_error, sigma_error), found "
            "None."
        )
    if not sigma > 0:
        raise MassFitError(f"signal sigma: expected > 0, found {sigma!r}.")
    counts, edges = _check_histogram(counts, edges)
    mask = _bins_outside(edges, exclude)
    window = [(mean - 3 * sigma, mean + 3 * sigma)]
    side = mask & _bins_outside(edges, window)
    if counts[mask].sum() <= 0:
        raise EmptySidebandError(
            f"signal fit: the histogram holds no candidates in [{edges[0]:g}, {edges[-1]:g}]."
        )
    bkg = fit_background(
        counts,
        edges,
        background=background,
        exclude=[*exclude, *window],
        dplus=dplus,
        min_counts=0.0,
    )
    params = dict(zip(bkg.names, map(float, bkg.values), strict=True))
    in_peak = mask & ~side
    n_sig0 = (
        counts[in_peak].sum()
        - np.diff(bkg._model().background_cdf(edges, bkg.values))[in_peak].sum()
    )
    params.update(n_sig=max(float(n_sig0), 1.0), mean=mean, sigma=sigma)
    model = _Model(background, float(edges[0]), float(edges[-1]), True, dplus is not None)
    fixed = ["mean_dplus", "sigma_dplus"] if dplus is not None else []
    constraint = None
    limits: dict[str, tuple[float | None, float | None]] = {
        "mean": (mean - 5 * sigma, mean + 5 * sigma),
        "sigma": (0.2 * sigma, 5 * sigma),
    }
    if dplus is not None:
        limits["n_dplus"] = (0.0, None)
    if shape == "fixed":
        fixed += ["mean", "sigma"]
    elif shape == "constrained":
        constraint = (["mean", "sigma"], [mean, sigma], [mean_error, sigma_error])
    return _minimise(model, counts, edges, mask, params, fixed, constraint, limits, dplus)
