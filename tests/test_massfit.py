"""Closure and error tests of o2ml.physics.massfit on numpy toy spectra with known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from o2ml.errors import EmptySelectionError, NonFiniteError, O2mlError
from o2ml.physics.massfit import (
    EmptySidebandError,
    MassFitError,
    fit_background,
    fit_peak,
    fit_signal,
)

LO, HI = 1.70, 2.20
SLOPE = -3.0  # background density ~ exp(SLOPE * m), per GeV/c^2
DS_MEAN, DS_SIGMA = 1.968, 0.010
DP_MEAN, DP_SIGMA = 1.8697, 0.0095
N_BKG, N_DS, N_DP = 20_000, 2_000, 1_500
EDGES = np.linspace(LO, HI, 101)
WINDOW = (DS_MEAN - 2 * DS_SIGMA, DS_MEAN + 2 * DS_SIGMA)
DS_REGION = (DS_MEAN - 3 * DS_SIGMA, DS_MEAN + 3 * DS_SIGMA)
DP_REGION = (DP_MEAN - 3 * DP_SIGMA, DP_MEAN + 3 * DP_SIGMA)


def expo_fraction(a: float, b: float, slope: float = SLOPE) -> float:
    """Fraction of the truncated exponential on [LO, HI] that lies in [a, b]."""
    return (math.expm1(slope * (b - LO)) - math.expm1(slope * (a - LO))) / math.expm1(
        slope * (HI - LO)
    )


def toy(seed: int, n_bkg: int = N_BKG, slope: float = SLOPE) -> np.ndarray:
    """Counts of a toy spectrum: exponential background (Poisson number), Ds and D+ peaks."""
    rng = np.random.default_rng(seed)
    u = rng.random(rng.poisson(n_bkg))
    if slope == 0:
        bkg = LO + u * (HI - LO)
    else:
        bkg = LO + np.log1p(u * math.expm1(slope * (HI - LO))) / slope
    mass = np.concatenate(
        [bkg, rng.normal(DS_MEAN, DS_SIGMA, N_DS), rng.normal(DP_MEAN, DP_SIGMA, N_DP)]
    )
    counts, _ = np.histogram(mass, EDGES)
    return counts


@pytest.mark.parametrize("background", ["expo", "pol2"])
@pytest.mark.parametrize("dplus", ["exclude", "gauss"])
@pytest.mark.parametrize("seed", [1, 2])
def test_background_in_window_closure(background, dplus, seed):
    counts = toy(seed)
    exclude = [DS_REGION] + ([DP_REGION] if dplus == "exclude" else [])
    fit = fit_background(
        counts,
        EDGES,
        background=background,
        exclude=exclude,
        dplus=(DP_MEAN, DP_SIGMA) if dplus == "gauss" else None,
    )
    assert fit.valid
    value, error = fit.background_integral(*WINDOW)
    truth = N_BKG * expo_fraction(*WINDOW)
    assert 0 < error < 0.1 * truth
    assert abs(value - truth) / error < 3.0
    if dplus == "gauss":
        assert abs(fit["n_dplus"] - N_DP) < 3 * fit.error("n_dplus") + 0.05 * N_DP


def test_flat_background_zero_slope_limit():
    counts = toy(3, slope=0.0)
    fit = fit_background(counts, EDGES, exclude=[DS_REGION, DP_REGION])
    value, error = fit.background_integral(*WINDOW)
    truth = N_BKG * (WINDOW[1] - WINDOW[0]) / (HI - LO)
    assert abs(fit["slope"]) < 3 * fit.error("slope")
    assert abs(value - truth) / error < 3.0


def test_background_uncertainty_matches_toy_spread():
    """The propagated uncertainty is the spread of the estimate over toys (within 30 %)."""
    values, errors = [], []
    for seed in range(10, 40):
        fit = fit_background(toy(seed), EDGES, exclude=[DS_REGION, DP_REGION])
        v, e = fit.background_integral(*WINDOW)
        values.append(v)
        errors.append(e)
    assert np.std(values, ddof=1) == pytest.approx(np.mean(errors), rel=0.3)


@pytest.mark.parametrize("shape", ["fixed", "constrained", "free"])
@pytest.mark.parametrize("background", ["expo", "pol2"])
def test_raw_yield_closure(shape, background):
    counts = toy(5)
    fit = fit_signal(
        counts,
        EDGES,
        peak=(DS_MEAN, DS_SIGMA),
        peak_errors=(2e-4, 2e-4),
        shape=shape,
        background=background,
        dplus=(DP_MEAN, DP_SIGMA),
    )
    assert fit.valid
    assert 0 < fit.raw_yield_error < 0.1 * N_DS
    assert abs(fit.raw_yield - N_DS) / fit.raw_yield_error < 2.0
    if shape == "free":
        assert abs(fit["sigma"] - DS_SIGMA) < 3 * fit.error("sigma")
    else:
        assert fit.error("sigma") == 0 if shape == "fixed" else fit.error("sigma") > 0


def test_raw_yield_with_dplus_region_excluded():
    fit = fit_signal(counts := toy(6), EDGES, peak=(DS_MEAN, DS_SIGMA), exclude=[DP_REGION])
    assert abs(fit.raw_yield - N_DS) / fit.raw_yield_error < 2.0
    assert not fit.used_bins[np.searchsorted(EDGES, DP_MEAN) - 1]
    pred = fit.predict()
    used = fit.used_bins
    assert (pred["background"] + pred["signal"])[used].sum() == pytest.approx(
        counts[used].sum(), rel=1e-3
    )


def test_fit_peak_recovers_mean_and_sigma():
    rng = np.random.default_rng(11)
    peak = fit_peak(rng.normal(DS_MEAN, DS_SIGMA, 20_000))
    assert peak.valid
    assert abs(peak.mean - DS_MEAN) < 3 * peak.mean_error
    assert abs(peak.sigma - DS_SIGMA) < 3 * peak.sigma_error
    assert peak.n == pytest.approx(20_000, rel=0.01)
    lo, hi = peak.window(2.0)
    assert hi - lo == pytest.approx(4 * peak.sigma)


def test_fit_peak_with_weights():
    rng = np.random.default_rng(12)
    mass = rng.normal(DS_MEAN, DS_SIGMA, 10_000)
    peak = fit_peak(mass, weights=np.full(mass.size, 0.5))
    assert peak.n == pytest.approx(5_000, rel=0.02)
    assert abs(peak.sigma - DS_SIGMA) < 3 * peak.sigma_error


def test_empty_sidebands_raise():
    counts = np.zeros(len(EDGES) - 1)
    counts[np.searchsorted(EDGES, DS_MEAN) - 1] = 50  # only signal-region entries
    with pytest.raises(EmptySidebandError, match="sidebands") as info:
        fit_background(counts, EDGES, exclude=[DS_REGION])
    assert isinstance(info.value, EmptySelectionError)
    assert isinstance(info.value, O2mlError)


@pytest.mark.parametrize(
    ("counts", "edges", "kwargs", "error", "match"),
    [
        (np.ones(99), EDGES, {}, MassFitError, "expected 100 counts"),
        (np.ones(100), EDGES[::-1], {}, MassFitError, "increasing"),
        (np.full(100, np.nan), EDGES, {}, NonFiniteError, "finite"),
        (np.ones(100), EDGES, {"background": "pol3"}, MassFitError, "pol3"),
        (np.ones(100), EDGES, {"exclude": [(LO, HI)]}, MassFitError, "sideband bins"),
        (np.ones(100), EDGES, {"exclude": [(2.0, 1.9)]}, MassFitError, "lo < hi"),
    ],
)
def test_bad_inputs(counts, edges, kwargs, error, match):
    with pytest.raises(error, match=match):
        fit_background(counts, edges, **kwargs)


def test_window_outside_range_and_bad_shape():
    fit = fit_background(toy(7), EDGES, exclude=[DS_REGION, DP_REGION])
    with pytest.raises(MassFitError, match="fitted range"):
        fit.background_integral(1.6, 1.8)
    with pytest.raises(MassFitError, match="constrained"):
        fit_signal(toy(7), EDGES, peak=(DS_MEAN, DS_SIGMA), shape="constrained")
    with pytest.raises(MassFitError, match=r"D\+ peak"):
        fit_background(toy(7), EDGES, exclude=[(1.75, 2.1)], dplus=(DP_MEAN, DP_SIGMA))
    with pytest.raises(MassFitError, match="at least 10"):
        fit_peak([1.9, 2.0])
    assert math.isnan(fit.raw_yield)
