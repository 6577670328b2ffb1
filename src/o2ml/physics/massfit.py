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
from dataclasses import dataclass
from typing import Literal

import numpy as np
from iminuit import Minuit
from iminuit.cost import ExtendedBinnedNLL, NormalConstraint
from numpy.typing import ArrayLike
from scipy.special import ndtr

from ..errors import EmptySelectionError, NonFiniteError, O2mlError

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

BackgroundModel = Literal["expo", "pol2"]
SignalShape = Literal["fixed", "constrained", "free"]
BACKGROUND_MODELS: tuple[str, ...] = ("expo", "pol2")
_BACKGROUND_PARAMS = {"expo": ("n_bkg", "slope"), "pol2": ("n_bkg", "c1", "c2")}


class MassFitError(O2mlError):
    """A mass fit cannot be done: bad histogram, too few bins, or the minimisation failed."""


class EmptySidebandError(MassFitError, EmptySelectionError):
    """The bins used by a background fit (the sidebands) hold (almost) no candidates."""


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeakFit:
    """Gaussian peak fitted to MC: mean and sigma in GeV/c^2, with their errors.

    ``n`` is the fitted number of candidates in the fit range.
    """

    mean: float
    mean_error: float
    sigma: float
    sigma_error: float
    n: float
    n_error: float
    valid: bool

    def window(self, n_sigma: float = 2.0) -> tuple[float, float]:
        """The mass window mean +- ``n_sigma`` * sigma."""
        return (self.mean - n_sigma * self.sigma, self.mean + n_sigma * self.sigma)


@dataclass(frozen=True)
class MassFit:
    """Result of :func:`fit_background` or :func:`fit_signal`.

    Attributes
    ----------
    background : str
        Background model, ``"expo"`` or ``"pol2"``.
    edges : numpy.ndarray
        Bin edges of the fitted histogram.
    used_bins : numpy.ndarray
        Boolean mask of the bins that entered the likelihood.
    names, values, errors : tuple, numpy.ndarray, numpy.ndarray
        Parameter names, best values and (Hesse) errors, fixed parameters included.
    covariance : numpy.ndarray
        Parameter covariance (zero rows and columns for fixed parameters).
    valid : bool
        Whether MIGRAD converged, the covariance is accurate and no background parameter
        sits at a limit (too few sideband entries to constrain the shape).
    fval, ndof : float, int
        Minimum of the cost (asymptotically chi2 distributed) and degrees of freedom.
    """

    background: str
    edges: np.ndarray
    used_bins: np.ndarray
    names: tuple[str, ...]
    values: np.ndarray
    errors: np.ndarray
    covariance: np.ndarray
    valid: bool
    fval: float
    ndof: int
    dplus: tuple[float, float] | None = None
    has_signal: bool = False

    def __getitem__(self, name: str) -> float:
        """Best value of the parameter ``name``."""
        return float(self.values[self._index(name)])

    def error(self, name: str) -> float:
        """Error of the parameter ``name``."""
        return float(self.errors[self._index(name)])

    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no parameter {name!r}; parameters are {list(self.names)}") from None

    def _model(self) -> _Model:
        return _Model(
            self.background, float(self.edges[0]), float(self.edges[-1]), self.has_signal,
            self.dplus is not None,
        )  # fmt: skip

    @property
    def raw_yield(self) -> float:
        """Fitted signal yield (NaN for a background-only fit)."""
        return self["n_sig"] if self.has_signal else math.nan

    @property
    def raw_yield_error(self) -> float:
        """Error of :attr:`raw_yield` (NaN for a background-only fit)."""
        return self.error("n_sig") if self.has_signal else math.nan

    def background_integral(self, lo: float, hi: float) -> tuple[float, float]:
        """Background candidates in the mass window [lo, hi] and its uncertainty.

        The background shape is integrated analytically; the uncertainty propagates the full
        fit covariance (Jacobian by central differences).
        """
        if not (self.edges[0] <= lo < hi <= self.edges[-1]):
            raise MassFitError(
                f"background window: expected {self.edges[0]:g} <= lo < hi <= "
                f"{self.edges[-1]:g} (the fitted range), found lo={lo:g}, hi={hi:g}."
            )
        model = self._model()
        x = np.array([lo, hi])

        def integral(p: np.ndarray) -> float:
            c = model.background_cdf(x, p)
            return float(c[1] - c[0])

        value = integral(self.values)
        jac = np.zeros(len(self.values))
        for i in model.background_indices:
            h = (
                1e-4 * self.errors[i]
                if self.errors[i] > 0
                else 1e-7 * max(abs(self.values[i]), 1.0)
            )
            up, down = self.values.copy(), self.values.copy()
            up[i] += h
            down[i] -= h
            jac[i] = (integral(up) - integral(down)) / (2 * h)
        variance = float(jac @ self.covariance @ jac)
        return value, math.sqrt(max(variance, 0.0))

    def predict(self) -> dict[str, np.ndarray]:
        """Expected counts per bin of each component: ``background``, ``signal``, ``dplus``."""
        model = self._model()
        out = {"background": np.diff(model.background_cdf(self.edges, self.values))}
        if self.has_signal:
            out["signal"] = np.diff(model.gauss_cdf(self.edges, self.values, "sig"))
        if self.dplus is not None:
            out["dplus"] = np.diff(model.gauss_cdf(self.edges, self.values, "dplus"))
        return out


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


def _check_background(background: str) -> None:
    if background not in BACKGROUND_MODELS:
        raise MassFitError(
            f"background model: expected one of {BACKGROUND_MODELS}, found {background!r}."
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
    mean: float,
    sigma: float,
    mean_error: float | None = None,
    sigma_error: float | None = None,
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
    mean, sigma : float
        Peak position and width, usually from :func:`fit_peak` on MC.
    mean_error, sigma_error : float, optional
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
    if shape not in ("fixed", "constrained", "free"):
        raise MassFitError(
            f"signal shape: expected 'fixed', 'constrained' or 'free', found {shape!r}."
        )
    if shape == "constrained" and (mean_error is None or sigma_error is None):
        raise MassFitError(
            "signal shape 'constrained': expected mean_error and sigma_error, found None."
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
