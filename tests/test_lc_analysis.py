"""o2ml.lc_analysis: mass regions, nσ clipping, sculpting check, training set, model comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from o2ml import analysis, selection
from o2ml import lc_analysis as L
from o2ml.errors import EmptySelectionError
from o2ml.toymc.generate import ensure_sample


def test_signal_region_and_sidebands_are_disjoint():
    m = np.linspace(2.14, 2.44, 3001)
    sr, sb = L.signal_region(m), L.sidebands(m)
    assert not np.any(sr & sb)
    assert np.all(np.abs(m[sr] - L.LC_MASS) < L.SR_HALF_WIDTH)
    lo, hi = L.sideband_edges()
    assert lo < L.LC_MASS < hi


def test_nsigma_clip_covers_only_nsigma_columns():
    clip = L.nsigma_clip(L.LC_FEATURES)
    assert set(clip) == set(L.NSIGMA_FEATURES)
    assert clip["fNSigTofPr0"] == (-10.0, 10.0)


def test_sculpting_check_flags_a_mass_correlated_feature():
    rng = np.random.default_rng(1)
    m = rng.uniform(2.14, 2.44, 50_000)
    df = pd.DataFrame(
        {"fM": m, "fFlat": rng.normal(size=m.size), "fBad": m + rng.normal(0, 0.05, m.size)}
    )
    chk = L.sculpting_check(df, ["fFlat", "fBad"])
    assert L.non_sculpting(chk) == ["fFlat"]
    assert chk.loc["fBad", "max_shape_change"] > chk.loc["fFlat", "max_shape_change"]


def test_bdt_training_set_is_balanced_and_errors_on_empty():
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"fM": rng.uniform(2.14, 2.44, 5000), "fA": rng.normal(size=5000)})
    mc = pd.DataFrame({"fM": rng.normal(L.LC_MASS, 0.008, 800), "fA": rng.normal(1, 1, 800)})
    ts = L.bdt_training_set(data, mc, ["fA"], seed=3)
    w1 = ts.w_train[ts.y_train == 1].sum()
    assert np.isclose(w1, ts.w_train[ts.y_train == 0].sum())
    assert (
        len(ts.x_train) + len(ts.x_test)
        == L.signal_region(mc["fM"]).sum() + L.sidebands(data["fM"]).sum()
    )
    with pytest.raises(EmptySelectionError, match="sidebands"):
        L.bdt_training_set(data[L.signal_region(data["fM"])], mc, ["fA"])


def test_quantile_thresholds_increase():
    thr = L.quantile_thresholds(np.random.default_rng(0).exponential(size=10_000), n=50)
    assert np.all(np.diff(thr) > 0)


@pytest.mark.slow
def test_scan_and_summary_on_the_fast_sample():
    s = ensure_sample("lc", fast=True)
    data = analysis.read_candidates(s.data, "HfCandLcLites", ["fCpa", "fDecayLength"])
    mc = analysis.read_candidates(s.mc, "HfCandLcLites", ["fCpa", "fDecayLength"], kind="mc")
    expected = selection.load_expected_signal(s.expected_signal)
    for df in (data, mc):
        df["score"] = df["fDecayLength"]  # a crude score: signal is displaced
    thr = L.quantile_thresholds(data["score"].to_numpy(), n=40)
    scan = L.scan_model(data, mc, "score", thr, expected, (2.0, 6.0), label="L")
    out = L.summarize(scan)
    assert out["max_significance"] > 0
    assert 0 < out["signal_efficiency_at_max"] <= 1
    assert out["plateau_width_efficiency"] >= 0


def test_data_mc_check_sees_a_shifted_simulation_and_not_a_faithful_one():
    rng = np.random.default_rng(3)
    n = 4000

    def sample(shift: float) -> pd.DataFrame:
        return pd.DataFrame({
            "fM": rng.choice([2.15, 2.40], n),  # both sidebands
            "fCpa": rng.normal(0.9 + shift, 0.05, n), "fDecayLength": rng.exponential(0.01, n),
        })  # fmt: skip

    data = sample(0.0)
    faithful = L.data_mc_check(data, sample(0.0), ["fCpa", "fDecayLength"], seed=1)
    shifted = L.data_mc_check(data, sample(0.03), ["fCpa", "fDecayLength"], seed=1)
    assert abs(faithful - 0.5) < 0.03  # nothing to learn: a fair coin within its spread
    assert shifted > 0.6  # a 0.6 sigma shift of one feature is found


def test_sideband_shape_pull_sees_a_cut_that_tilts_the_background():
    rng = np.random.default_rng(5)
    mass = rng.uniform(2.14, 2.44, 200_000)
    flat = rng.random(mass.size) < 0.2  # a cut that does not look at the mass
    tilted = rng.random(mass.size) < np.where(mass < L.LC_MASS, 0.22, 0.18)  # keeps more below
    assert abs(L.sideband_shape_pull(mass, flat)) < 3
    assert L.sideband_shape_pull(mass, tilted) > 5
    with pytest.raises(EmptySelectionError, match="sculpting check"):
        L.sideband_shape_pull(mass, np.zeros(mass.size, bool))


def test_equal_rejection_reads_each_roc_at_the_same_background_efficiency():
    """Two scores on different scales, one a monotonic transform of the other, give the same
    efficiencies; a better score gives a higher one; too few background candidates: an error."""
    rng = np.random.default_rng(1)
    sig = pd.DataFrame({"a": rng.normal(2, 1, 5000)})
    bkg = pd.DataFrame({"a": rng.normal(0, 1, 20000)})
    for df in (sig, bkg):
        df["b"] = np.exp(df["a"])  # same ranking, other scale
        df["c"] = df["a"] + rng.normal(0, 2, len(df))  # a worse score
    out = L.at_equal_rejection(sig, bkg, {"A": "a", "B": "b", "C": "c"}, (0.1, 0.01))
    np.testing.assert_allclose(out["A signal eff."], out["B signal eff."], atol=1e-3)
    assert (out["A signal eff."] > out["C signal eff."] + 5 * out["A error"]).all()
    # Gaussian truth: 1 - Φ(z_b - 2), z_b the background quantile
    from scipy.stats import norm

    expected = 1 - norm.cdf(norm.ppf(1 - np.array([0.1, 0.01])) - 2)
    np.testing.assert_allclose(out["A signal eff."], expected, atol=4 * out["A error"].max())
    with pytest.raises(EmptySelectionError, match="expected >= 10"):
        L.at_equal_rejection(sig, bkg.iloc[:500], {"A": "a"}, (0.01,))
