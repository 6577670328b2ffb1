"""The Λc recipe (o2ml.channels.lc) and the studies of notebook 02: mass regions, nσ clipping,
sculpting checks (o2ml.selection.checks), the sideband training set, model comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from o2ml import selection
from o2ml.channels import lc
from o2ml.errors import EmptySelectionError, ScanInputError
from o2ml.models import training
from o2ml.toymc.generate import ensure_sample


def test_signal_region_and_sidebands_are_disjoint():
    m = np.linspace(2.14, 2.44, 3001)
    sr, sb = lc.signal_region(m), lc.sidebands(m)
    assert not np.any(sr & sb)
    assert np.all(np.abs(m[sr] - lc.MASS) < 0.025) and np.all(np.abs(m[sb] - lc.MASS) > 0.05)
    lo, hi = lc.SIDEBANDS
    assert lo < lc.MASS < hi


def test_nsigma_clip_covers_only_nsigma_columns():
    clip = lc.nsigma_clip(lc.FEATURES)
    assert set(clip) == set(lc.NSIGMA_FEATURES)
    assert clip["fNSigTofPr0"] == (-10.0, 10.0)


def test_sculpting_check_flags_a_mass_correlated_feature():
    rng = np.random.default_rng(1)
    m = rng.uniform(2.14, 2.44, 50_000)
    df = pd.DataFrame(
        {"fM": m, "fFlat": rng.normal(size=m.size), "fBad": m + rng.normal(0, 0.05, m.size)}
    )
    chk = selection.sculpting_check(df, ["fFlat", "fBad"])
    assert selection.non_sculpting(chk) == ["fFlat"]
    assert chk.loc["fBad", "max_shape_change"] > chk.loc["fFlat", "max_shape_change"]


def test_sideband_training_set_is_balanced_and_errors_on_empty():
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"fM": rng.uniform(2.14, 2.44, 5000), "fA": rng.normal(size=5000)})
    mc = pd.DataFrame({"fM": rng.normal(lc.MASS, 0.008, 800), "fA": rng.normal(1, 1, 800)})
    regions = {"signal_region": lc.SIGNAL_REGION, "sidebands": lc.SIDEBANDS}
    ts = training.sideband_training_set(data, mc, ["fA"], seed=3, **regions)
    w1 = ts.w_train[ts.y_train == 1].sum()
    assert np.isclose(w1, ts.w_train[ts.y_train == 0].sum())
    assert (
        len(ts.x_train) + len(ts.x_test)
        == lc.signal_region(mc["fM"]).sum() + lc.sidebands(data["fM"]).sum()
    )
    with pytest.raises(EmptySelectionError, match="sidebands"):
        training.sideband_training_set(data[lc.signal_region(data["fM"])], mc, ["fA"], **regions)


def test_quantile_thresholds_increase():
    thr = selection.quantile_thresholds(np.random.default_rng(0).exponential(size=10_000), n=50)
    assert np.all(np.diff(thr) > 0)


@pytest.mark.slow
def test_scan_and_summary_on_the_fast_sample():
    s = ensure_sample("lc", fast=True)
    data = selection.read_candidates(s.data, "HfCandLcLites", ["fCpa", "fDecayLength"])
    mc = selection.read_candidates(s.mc, "HfCandLcLites", ["fCpa", "fDecayLength"], kind="mc")
    expected = selection.load_expected_signal(s.expected_signal)
    for df in (data, mc):
        df["score"] = df["fDecayLength"]  # a crude score: signal is displaced
    thr = selection.quantile_thresholds(data["score"].to_numpy(), n=40)
    scan = selection.scan_candidates(
        data,
        mc,
        {"score": (">", thr)},
        selection.BinInputs(expected, (2.0, 6.0)),
        options=selection.SignificanceOptions(**lc.SCAN_OPTIONS),
        metadata={"model": "L"},
    )
    out = scan.summary()
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

    data, features = sample(0.0), ["fCpa", "fDecayLength"]
    faithful = selection.data_mc_check(data, sample(0.0), features, sidebands=lc.SIDEBANDS, seed=1)
    shifted = selection.data_mc_check(data, sample(0.03), features, sidebands=lc.SIDEBANDS, seed=1)
    assert abs(faithful - 0.5) < 0.03  # nothing to learn: a fair coin within its spread
    assert shifted > 0.6  # a 0.6 sigma shift of one feature is found


def test_sideband_shape_pull_sees_a_cut_that_tilts_the_background():
    rng = np.random.default_rng(5)
    mass = rng.uniform(2.14, 2.44, 200_000)
    flat = rng.random(mass.size) < 0.2  # a cut that does not look at the mass
    tilted = rng.random(mass.size) < np.where(mass < lc.MASS, 0.22, 0.18)  # keeps more below
    assert abs(selection.sideband_shape_pull(mass, flat, sidebands=lc.SIDEBANDS)) < 3
    assert selection.sideband_shape_pull(mass, tilted, sidebands=lc.SIDEBANDS) > 5
    with pytest.raises(EmptySelectionError, match="sculpting check"):
        selection.sideband_shape_pull(mass, np.zeros(mass.size, bool), sidebands=lc.SIDEBANDS)


def test_equal_rejection_reads_each_roc_at_the_same_background_efficiency():
    """Two scores on different scales, one a monotonic transform of the other, give the same
    efficiencies; a better score gives a higher one; too few background candidates: an error."""
    rng = np.random.default_rng(1)
    sig = pd.DataFrame({"a": rng.normal(2, 1, 5000)})
    bkg = pd.DataFrame({"a": rng.normal(0, 1, 20000)})
    for df in (sig, bkg):
        df["b"] = np.exp(df["a"])  # same ranking, other scale
        df["c"] = df["a"] + rng.normal(0, 2, len(df))  # a worse score
    out = selection.at_equal_rejection(sig, bkg, {"A": "a", "B": "b", "C": "c"}, (0.1, 0.01))
    np.testing.assert_allclose(out["A signal eff."], out["B signal eff."], atol=1e-3)
    assert (out["A signal eff."] > out["C signal eff."] + 5 * out["A error"]).all()
    # Gaussian truth: 1 - Φ(z_b - 2), z_b the background quantile
    from scipy.stats import norm

    expected = 1 - norm.cdf(norm.ppf(1 - np.array([0.1, 0.01])) - 2)
    np.testing.assert_allclose(out["A signal eff."], expected, atol=4 * out["A error"].max())
    with pytest.raises(EmptySelectionError, match="expected >= 10"):
        selection.at_equal_rejection(sig, bkg.iloc[:500], {"A": "a"}, (0.01,))


def test_compare_models_names_the_better_model_only_beyond_the_errors():
    values = pd.DataFrame(
        {"auc": [0.9, 0.8], "auc_err": [0.01, 0.01], "time": [2.0, 5.0], "time_err": [0.1, 0.1],
         "z": [5.0, 4.9], "z_err": [0.3, 0.3], "width": [0.1, np.nan]},
        index=["BDT", "AE"],
    )  # fmt: skip
    errors = {"auc": "auc_err", "time": "time_err", "z": "z_err", "width": "z_err"}
    got = selection.compare_models(values, {"ROC AUC": "auc", "training time": "time"},
                                   errors=errors, smaller_is_better=["time"])  # fmt: skip
    assert list(got["better"]) == ["BDT", "BDT"] and got.loc["ROC AUC", "AE"] == 0.8
    assert got.loc["ROC AUC", "AE error"] == 0.01
    flipped = selection.compare_models(values, {"training time": "time"}, errors=errors)
    assert flipped.loc["training time", "better"] == "AE"  # larger is better by default
    # 5.0 vs 4.9 with errors 0.3: a tie, not a win
    assert selection.compare_models(values, {"Z": "z"}, errors=errors).loc["Z", "better"] == "tie"
    with pytest.raises(ScanInputError, match="needs its uncertainty"):
        selection.compare_models(values, {"ROC AUC": "auc"})
    with pytest.raises(ScanInputError, match="'width' or its error is missing for \\['AE'\\]"):
        selection.compare_models(values, {"plateau": "width"}, errors=errors)
    with pytest.raises(ScanInputError, match="'nope'"):
        selection.compare_models(values, {"x": "nope"}, errors=errors)
