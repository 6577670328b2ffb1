"""Shared core of the significance tools: settings, S and B per point, S/sqrt(S+B).

* S = (expected signal before selection, from the generator's table) x (MC efficiency)
  x (fraction of a Gaussian peak inside the +-n_sigma window); its uncertainty is the binomial
  uncertainty of the MC efficiency (the table carries no uncertainty);
* B = the background in the signal window from a fit of the data mass sidebands
  (:func:`o2ml.physics.massfit.fit_background`), times ``scale`` = full-sample size /
  scanned-sample size; its uncertainty propagates the fit covariance.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from tqdm.auto import tqdm

from .. import __version__
from ..errors import ExpectedSignalError, NonFiniteError, ScanInputError, did_you_mean
from ..physics.massfit import (
    MassFit,
    MassFitError,
    PeakFit,
    fit_background,
    fit_signal,
)
from .efficiency import Efficiency, _scores_array
from .expected import expected_signal, validate_expected_signal
from .options import SignificanceOptions


def significance(
    s: ArrayLike, b: ArrayLike, s_error: ArrayLike = 0.0, b_error: ArrayLike = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """S/sqrt(S+B) and its uncertainty from independent uncertainties of S and B.

    dZ/dS = (S + 2B) / (2 (S+B)^(3/2)),  dZ/dB = -S / (2 (S+B)^(3/2)). NaN where S+B <= 0.
    """
    s, b = np.asarray(s, dtype=float), np.asarray(b, dtype=float)
    total = s + b
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(total > 0, s / np.sqrt(total), np.nan)
        d_s = (s + 2 * b) / (2 * total**1.5)
        d_b = -s / (2 * total**1.5)
        err = np.sqrt((d_s * s_error) ** 2 + (d_b * b_error) ** 2)
    return z, np.where(total > 0, err, np.nan)


# --------------------------------------------------------------------------------------------
# settings shared by the scan and the rectangular cuts
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScanSettings:
    """The resolved choices of an S/B/significance estimate, made once per pT bin by
    :func:`scan_settings` and shared by the scans, the rectangular cuts and the threshold
    dashboard's grid: the peak (mean, sigma and their errors), the signal window (``n_sigma``),
    the background model, the D+ treatment, the sidebands, the mass binning, the scale, the
    raw-yield fit."""

    mean: float
    sigma: float
    mean_error: float
    sigma_error: float
    n_sigma: float
    background: str
    dplus: str
    dplus_peak: tuple[float, float]
    sidebands: tuple[float, float] | None
    exclude_nsigma: float
    edges: np.ndarray
    scale: float
    min_sideband_counts: float
    fit_raw_yield: bool
    raw_yield_shape: str

    @property
    def window(self) -> tuple[float, float]:
        return (self.mean - self.n_sigma * self.sigma, self.mean + self.n_sigma * self.sigma)

    @property
    def window_fraction(self) -> float:
        """Fraction of a Gaussian peak inside the window."""
        return math.erf(self.n_sigma / math.sqrt(2.0))

    def dplus_region(self) -> list[tuple[float, float]]:
        """The D+ region left out of the fits (when ``dplus="exclude"``)."""
        if self.dplus != "exclude":
            return []
        d_mean, d_sigma = self.dplus_peak
        return [(d_mean - self.exclude_nsigma * d_sigma, d_mean + self.exclude_nsigma * d_sigma)]

    def exclusions(self) -> list[tuple[float, float]]:
        """Mass regions left out of the sideband fit."""
        if self.sidebands is not None:
            regions = [self.sidebands]
        else:
            k = self.exclude_nsigma
            regions = [(self.mean - k * self.sigma, self.mean + k * self.sigma)]
        return regions + self.dplus_region()

    def dplus_model(self, sideband_fit: bool = False) -> tuple[float, float] | None:
        """The D+ Gaussian (mean, sigma) when modelled; never in a sideband fit whose
        ``sidebands`` leave the D+ peak out anyway (its yield would be unconstrained)."""
        if self.dplus != "gauss":
            return None
        if sideband_fit and self.sidebands is not None:
            if self.sidebands[0] < self.dplus_peak[0] < self.sidebands[1]:
                return None
        return self.dplus_peak

    def to_metadata(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "sigma": self.sigma,
            "mean_error": self.mean_error,
            "sigma_error": self.sigma_error,
            "n_sigma": self.n_sigma,
            "window": list(self.window),
            "window_fraction": self.window_fraction,
            "background_model": self.background,
            "dplus": self.dplus,
            "dplus_peak": list(self.dplus_peak),
            "sidebands": None if self.sidebands is None else list(self.sidebands),
            "exclude_nsigma": self.exclude_nsigma,
            "excluded_regions": [list(r) for r in self.exclusions()],
            "mass_edges": self.edges.tolist(),
            "scale": self.scale,
            "min_sideband_counts": self.min_sideband_counts,
            "raw_yield_shape": self.raw_yield_shape if self.fit_raw_yield else None,
        }


def scan_settings(
    mass: np.ndarray,
    peak: PeakFit | Sequence[float],
    options: SignificanceOptions | None = None,
    *,
    mass_edges: ArrayLike | None = None,
    scale: float = 1.0,
) -> ScanSettings:
    """The :class:`ScanSettings` of one pT bin: ``options`` resolved against the signal
    ``peak`` and the data masses (the default mass binning: 100 bins over their range)."""
    from ..physics.constants import mass as pdg_mass

    opts = options if options is not None else SignificanceOptions()
    if isinstance(peak, PeakFit):
        mean, sigma, mean_error, sigma_error = (
            peak.mean,
            peak.sigma,
            peak.mean_error,
            peak.sigma_error,
        )
    else:
        values = [float(v) for v in peak]
        if len(values) not in (2, 4):
            raise ScanInputError(
                f"peak: expected a PeakFit, (mean, sigma) or (mean, sigma, mean_error, sigma_error), found {peak!r}."
            )
        mean, sigma = values[0], values[1]
        mean_error, sigma_error = (
            (values[2], values[3]) if len(values) == 4 else (math.nan, math.nan)
        )
    if not (math.isfinite(mean) and sigma > 0):
        raise ScanInputError(
            f"peak: expected a finite mean and sigma > 0, found {mean!r}, {sigma!r}."
        )
    if (
        opts.fit_raw_yield
        and opts.raw_yield_shape == "constrained"
        and not (math.isfinite(mean_error) and math.isfinite(sigma_error))
    ):
        raise ScanInputError(
            "raw_yield_shape='constrained': expected a peak with mean and sigma errors."
        )
    if not scale > 0:
        raise ScanInputError(f"scale: expected > 0, found {scale!r}.")
    dplus_peak = opts.dplus_peak
    if dplus_peak is None and opts.partner_peak is None:
        dplus_peak = (mean, sigma)  # no second peak in this channel (used only if asked for)
    elif dplus_peak is None:
        # the partner peak (D+ next to the Ds): PDG mass shifted like the measured peak, width
        # scaled with the mass
        main, partner = pdg_mass(opts.species), pdg_mass(opts.partner_peak)
        d_mass = partner + (mean - main)
        dplus_peak = (d_mass, sigma * d_mass / main)
    if mass_edges is None:
        if mass.size == 0:
            raise ScanInputError("mass_edges: no data candidates to take the mass range from.")
        top = np.nextafter(float(mass.max()), np.inf)
        edges = np.linspace(float(mass.min()), top, 101)
    else:
        edges = np.asarray(mass_edges, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 3 or not np.all(np.diff(edges) > 0):
            raise ScanInputError("mass_edges: expected at least 3 strictly increasing edges.")
    settings = ScanSettings(
        mean=float(mean), sigma=float(sigma), mean_error=float(mean_error),
        sigma_error=float(sigma_error), n_sigma=float(opts.n_sigma),
        background=opts.background, dplus=opts.dplus_mode, dplus_peak=dplus_peak,
        sidebands=opts.sidebands, exclude_nsigma=float(opts.exclude_nsigma), edges=edges,
        scale=float(scale), min_sideband_counts=float(opts.min_sideband_counts),
        fit_raw_yield=bool(opts.fit_raw_yield), raw_yield_shape=opts.raw_yield_shape,
    )  # fmt: skip
    lo, hi = settings.window
    if not (edges[0] <= lo and hi <= edges[-1]):
        raise ScanInputError(
            f"signal window [{lo:g}, {hi:g}]: expected inside the mass histogram "
            f"[{edges[0]:g}, {edges[-1]:g}]."
        )
    if (
        settings.sidebands is not None
        and not settings.sidebands[0] < lo < hi < settings.sidebands[1]
    ):
        raise ScanInputError(
            f"sidebands {settings.sidebands}: expected (lo, hi) around the signal window "
            f"[{lo:g}, {hi:g}] (the fit uses mass < lo and mass > hi)."
        )
    return settings


def _expected_counts(
    table: Mapping[str, Any], species: str, pt_range: tuple[float, float]
) -> dict[str, float]:
    validate_expected_signal(table)
    if species not in table["species"]:
        names = table["species"]
        raise ExpectedSignalError(
            f"expected-signal table: expected a species in {sorted(names)}, found {species!r}."
            f"{did_you_mean(species, names)}"
        )
    pt_min, pt_max = pt_range
    return {
        o: expected_signal(table, species, o, pt_min=pt_min, pt_max=pt_max)
        for o in table["species"][species]
    }


# --------------------------------------------------------------------------------------------
# estimation from mass histograms and MC efficiencies
# --------------------------------------------------------------------------------------------
def estimate(
    hists: np.ndarray,
    mc_eff: Mapping[str, Efficiency],
    expected: Mapping[str, float],
    settings: ScanSettings,
    *,
    signal_origins: Sequence[str],
    progress: bool = False,
    fits: list[MassFit | None] | None = None,
) -> dict[str, np.ndarray]:
    """S, B, S/sqrt(S+B), signal efficiency and (with ``settings.fit_raw_yield``) the raw yield
    at each point: ``hists`` (points x mass bins) are the data mass histograms after each
    selection, ``mc_eff`` the MC efficiencies of each origin at the same points, ``expected``
    the expected signal per origin before any selection. The background fit of each point is
    appended to ``fits`` when given (None where the fit failed or the estimate is unusable).
    """
    n_points = hists.shape[0]
    n_sig = np.array([expected[o] for o in signal_origins])
    if not n_sig.sum() > 0:
        raise ExpectedSignalError(
            f"expected signal of origins {list(signal_origins)}: expected > 0, found {n_sig.sum():g}."
        )
    eff = np.array([mc_eff[o].values for o in signal_origins])
    eff_err = np.array([mc_eff[o].errors for o in signal_origins])
    f_win = settings.window_fraction
    sig = f_win * (n_sig @ eff)
    sig_err = f_win * np.sqrt((n_sig**2) @ (eff_err**2))
    sig_eff = (n_sig @ eff) / n_sig.sum()
    sig_eff_err = np.sqrt((n_sig**2) @ (eff_err**2)) / n_sig.sum()

    bkg = np.full(n_points, np.nan)
    bkg_err = np.full(n_points, np.nan)
    raw = np.full(n_points, np.nan)
    raw_err = np.full(n_points, np.nan)
    ok = np.zeros(n_points, dtype=bool)
    lo, hi = settings.window
    previous: MassFit | None = None
    bar = tqdm(range(n_points), desc="mass fits", disable=not progress or n_points < 2, leave=False)
    for p in bar:
        fit = _background_fit(hists[p], settings, previous)
        if fit is not None:
            previous = fit
            value, error = fit.background_integral(lo, hi)
            if value < 0:  # a pol2 going negative under the peak: no usable estimate
                fit = None
        if fits is not None:
            fits.append(fit)
        if fit is None:
            continue
        bkg[p], bkg_err[p], ok[p] = settings.scale * value, settings.scale * error, True
        if settings.fit_raw_yield:
            try:
                sfit = fit_signal(
                    hists[p], settings.edges, peak=(settings.mean, settings.sigma),
                    peak_errors=(settings.mean_error, settings.sigma_error),
                    shape=settings.raw_yield_shape, background=settings.background,
                    exclude=settings.dplus_region(), dplus=settings.dplus_model(),
                )  # fmt: skip
            except MassFitError:
                continue
            if sfit.valid:
                raw[p], raw_err[p] = sfit.raw_yield, sfit.raw_yield_error
    z, z_err = significance(sig, bkg, sig_err, bkg_err)
    return {
        "signal": sig,
        "signal_error": sig_err,
        "background": bkg,
        "background_error": bkg_err,
        "significance": z,
        "significance_error": z_err,
        "signal_efficiency": sig_eff,
        "signal_efficiency_error": sig_eff_err,
        "raw_yield": raw,
        "raw_yield_error": raw_err,
        "fit_ok": ok,
    }


def _background_fit(
    hist: np.ndarray, settings: ScanSettings, start: MassFit | None
) -> MassFit | None:
    """The sideband fit of one mass histogram; None when it fails or is not valid."""
    with warnings.catch_warnings():  # nearly empty sidebands: harmless NaN steps
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            fit = fit_background(
                hist, settings.edges, background=settings.background,
                exclude=settings.exclusions(), dplus=settings.dplus_model(sideband_fit=True),
                min_counts=settings.min_sideband_counts, start=start,
            )  # fmt: skip
        except MassFitError:
            return None
    return fit if fit.valid else None


def _data_arrays(mass: ArrayLike) -> np.ndarray:
    arr = _scores_array(mass, "data mass")
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError("data mass: expected finite values, found inf.")
    return arr


def _check_origins(
    mc: Mapping[str, Any],
    signal_origins: Sequence[str],
    expected: Mapping[str, float],
    species: str,
) -> None:
    if isinstance(signal_origins, str):
        raise ScanInputError(
            f"signal_origins: expected a sequence of origins, found the string {signal_origins!r}."
        )
    for o in signal_origins:
        if o not in expected:
            raise ExpectedSignalError(
                f"expected-signal table: expected origin {o!r} for {species}, found origins "
                f"{sorted(expected)}.{did_you_mean(o, expected)}"
            )
        if o not in mc:
            raise ScanInputError(
                f"MC samples: expected one for signal origin {o!r}, found {sorted(mc)}.{did_you_mean(o, mc)}"
            )


def _metadata(
    kind: str,
    settings: ScanSettings,
    expected_table: Mapping[str, Any],
    expected_n: Mapping[str, float],
    signal_origins: Sequence[str],
    n_data: int,
    n_mc: Mapping[str, int],
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Provenance and settings stored with a result."""
    return {
        "o2ml_version": __version__,
        "kind": kind,
        "signal_origins": list(signal_origins),
        "expected_signal": dict(expected_n),
        "expected_table": expected_table.get("table"),
        "n_data_scanned": n_data,
        "n_mc": dict(n_mc),
        **settings.to_metadata(),
        **dict(extra or {}),
    }
