"""ITS2 PID: TPC tagging, the beta regressor (XGBoost JSON, ONNX), its response and performance.

The physics numbers of issue 7 are asserted on one synthetic data sample with its truth branch:
the regression separates pi and K at 0.3-0.5 GeV/c at least as well as the truncated mean on the
same tracks, and selects kaons at 0.4 GeV/c with > 80 % purity at > 50 % efficiency.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from o2ml.errors import (
    ColumnNotFoundError,
    EmptySelectionError,
    InputFileNotFoundError,
    NonFiniteError,
    O2mlError,
    OutputExistsError,
)
from o2ml.models import pid
from o2ml.onnx import read_metadata, run, session
from o2ml.physics import its
from o2ml.physics import pid_performance as perf
from o2ml.physics.constants import mass
from o2ml.toymc.pid import generate_pid

N_TRACKS = 250_000
SEED = 7
EDGES = np.arange(0.225, 0.776, 0.05)  # bin centres 0.25, 0.30, ..., 0.75 GeV/c
PARAMS = {"n_estimators": 400, "learning_rate": 0.1}  # faster than the notebook's 0.05
MAX_PER_SPECIES = 25_000


@pytest.fixture(scope="module")
def tracks() -> pd.DataFrame:
    return generate_pid(N_TRACKS, SEED, "data", with_truth=True)


@pytest.fixture(scope="module")
def halves(tracks):
    return pid.split_tracks(tracks, 0.5, SEED)


@pytest.fixture(scope="module")
def regressor(halves) -> pid.BetaRegressor:
    train, _ = halves
    return pid.train_beta_regressor(
        train, pid.tag_species(train), seed=SEED, params=PARAMS, max_per_species=MAX_PER_SPECIES
    )


@pytest.fixture(scope="module")
def evaluation(halves, regressor) -> dict:
    """Everything measured on the test half: the BDT response, separations and selections."""
    _, test = halves
    beta = regressor.predict(test)
    p = np.abs(test["fP"].to_numpy())
    good = pid.quality_mask(test)
    tags = pid.tag_species(test)
    truth = pid.true_species(test)
    tagged = tags >= 0
    response = perf.fit_response(beta[tagged], p[tagged], tags[tagged], EDGES)
    estimators = {"BDT": beta[good], "TM": pid.baseline_estimator(test)[good]}
    separation = perf.separation_table(estimators, p[good], truth[good], EDGES)
    nsigma = {
        "BDT": response.nsigma_all(beta[good], p[good]),
        "TM": {s: v[good] for s, v in pid.baseline_nsigma(test).items()},
    }
    selection = perf.selection_table(nsigma, truth[good], p[good], EDGES, cut=2.0)
    return {"beta": beta, "response": response, "separation": separation, "selection": selection}


def _value(table: pd.DataFrame, p: float, column: str, **where) -> float:
    rows = perf.at_momentum(table, p)
    for key, value in where.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1, rows
    return float(rows[column].iloc[0])


# ------------------------------------------------------------------------------- tagging
def test_tagging_leaves_measured_contamination(halves):
    train, _ = halves
    tags = pid.tag_species(train)
    comp = pid.tagging_composition(tags, pid.true_species(train)).set_index("species")
    print("\ntagging purity:", comp["purity"].round(4).to_dict())
    assert comp.loc["pi", "purity"] > 0.999  # pions: far from every other band, nearly pure
    for s in ("e", "K", "p"):  # the bands of these species are crossed below 1 GeV/c
        assert 0.85 < comp.loc[s, "purity"] < 1.0, s
        assert comp.loc[s, "contamination"] == pytest.approx(1.0 - comp.loc[s, "purity"])
    # the counts add up: every tagged track has exactly one true species
    true_cols = [f"true_{s}" for s in pid.SPECIES] + ["true_other"]
    assert (comp[true_cols].sum(axis=1) == comp["n_tagged"]).all()
    assert comp["n_tagged"].sum() == np.count_nonzero(tags >= 0)


def test_kaon_tag_contamination_sits_at_the_electron_crossing(halves):
    """Kaon tags take in electrons where the electron dE/dx band crosses the kaon one (~0.45 GeV/c)."""
    train, _ = halves
    comp = pid.tagging_composition(
        pid.tag_species(train), pid.true_species(train), train["fP"], EDGES
    )
    kaons = comp[comp["species"] == "K"]
    low, crossing = kaons[kaons["p"] < 0.33], kaons[(kaons["p"] > 0.37) & (kaons["p"] < 0.53)]
    assert (low["purity"] == 1.0).all()
    assert crossing["purity"].min() < 0.9
    assert crossing["true_e"].sum() > 0.05 * crossing["n_tagged"].sum()


def test_tagging_cuts(halves):
    train, _ = halves
    tags = pid.tag_species(train)
    tagged = tags >= 0
    p = np.abs(train["fP"].to_numpy())
    assert p[tagged].max() <= 1.0
    assert train["fTpcNClsFound"].to_numpy()[tagged].min() >= 80
    kaon = tags == pid.SPECIES.index("K")
    assert np.abs(train["fTPCNSigmaKa"].to_numpy()[kaon]).max() < 2.0
    assert np.abs(train["fTPCNSigmaPi"].to_numpy()[kaon]).min() > 3.0
    # tighter cuts tag fewer tracks
    tight = pid.tag_species(train, pid.TagCuts(own=1.0, neighbour=4.0))
    assert np.count_nonzero(tight >= 0) < np.count_nonzero(tagged)


def test_tagging_runs_without_truth_column(halves):
    train, _ = halves
    real = train.drop(columns=[pid.TRUTH_COLUMN]).iloc[:20_000]
    assert not pid.has_truth(real)
    assert np.count_nonzero(pid.tag_species(real) >= 0) > 0
    with pytest.raises(ColumnNotFoundError, match="fTruthPdgCode"):
        pid.true_species(real)


# ------------------------------------------------------------------------------- physics numbers
@pytest.mark.parametrize("p", [0.3, 0.4, 0.5])
def test_bdt_separates_pi_k_at_least_as_well_as_truncated_mean(evaluation, p):
    sep = evaluation["separation"]
    bdt = _value(sep, p, "separation", method="BDT", pair="pi-K")
    tm = _value(sep, p, "separation", method="TM", pair="pi-K")
    print(f"\npi-K at {p} GeV/c: BDT {bdt:.2f} sigma, truncated mean {tm:.2f} sigma")
    assert bdt >= tm


def test_truncated_mean_separation_matches_o2physics_parametrisation(evaluation):
    """The measured baseline agrees with the response it was generated from (docs/physics.md numbers)."""
    sep = evaluation["separation"]
    ref = perf.parametrised_separation(EDGES)
    for p in (0.3, 0.5):
        measured = _value(sep, p, "separation", method="TM", pair="pi-K")
        expected = _value(ref, p, "separation", pair="pi-K")
        assert measured == pytest.approx(expected, rel=0.2)


def test_kaon_purity_at_0p4(evaluation):
    sel = evaluation["selection"]
    purity = _value(sel, 0.4, "purity", method="BDT", species="K")
    efficiency = _value(sel, 0.4, "efficiency", method="BDT", species="K")
    print(
        f"\nkaons at 0.4 GeV/c, |nsigma_beta| < 2: purity {purity:.3f}, efficiency {efficiency:.3f}"
    )
    assert purity > 0.8
    assert efficiency > 0.5


def test_electrons_and_pions_stay_indistinguishable(evaluation):
    sep = evaluation["separation"]
    e_pi = sep[(sep["pair"] == "e-pi") & (sep["p"] >= 0.4)].dropna(subset=["separation"])
    for method in ("BDT", "TM"):
        values = e_pi.loc[e_pi["method"] == method, "separation"]
        assert values.median() < 1.0, method
        assert values.max() < 3.0, method


def test_response_of_protons_follows_their_beta(evaluation):
    """Far from any other species the fitted expected beta is the true beta within 3 %."""
    response = evaluation["response"]
    for p in (0.3, 0.5):
        true_beta = p / np.hypot(p, mass("p"))
        assert response.expected(p, "p") == pytest.approx(true_beta, rel=0.03)
        assert 0 < response.sigma(p, "p") < 0.05


# ------------------------------------------------------------------------------- model files
def test_onnx_parity(tmp_path, halves, regressor, evaluation):
    _, test = halves
    path = tmp_path / "beta.onnx"
    regressor.to_onnx(path)
    sess = session(path)
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert sess.get_inputs()[0].shape[1] == len(pid.FEATURES)
    out = run(sess, pid.build_features(test)[regressor.features].to_numpy())
    assert out.shape == (len(test), 1)
    np.testing.assert_allclose(out[:, 0], evaluation["beta"], atol=1e-5, rtol=0)
    meta = read_metadata(path)
    assert meta["features"] == pid.FEATURES
    assert meta["seed"] == SEED
    assert meta["target"] == "beta"
    assert meta["masses"]["K"] == pytest.approx(mass("K"))
    with pytest.raises(OutputExistsError):
        regressor.to_onnx(path)


def test_save_load_round_trip(tmp_path, halves, regressor, evaluation):
    _, test = halves
    path = regressor.save(tmp_path / "beta.json")
    meta = json.loads(path.with_suffix(".meta.json").read_text())
    assert meta["features"] == pid.FEATURES
    assert meta["seed"] == SEED
    assert set(meta["masses"]) == set(pid.SPECIES)
    assert meta["n_train"]["e"] == 0 and meta["n_train"]["K"] > 0
    loaded = pid.BetaRegressor.load(path)
    assert np.array_equal(loaded.predict(test), evaluation["beta"])
    assert loaded.best_iteration == regressor.best_iteration
    with pytest.raises(OutputExistsError):
        regressor.save(path)
    with pytest.raises(O2mlError, match=r"\.json"):
        regressor.save(tmp_path / "beta.ubj")
    with pytest.raises(InputFileNotFoundError, match="meta.json"):
        path.with_suffix(".meta.json").unlink()
        pid.BetaRegressor.load(path)


def test_early_stopping_keeps_only_the_best_trees(regressor):
    assert regressor.best_iteration < PARAMS["n_estimators"] - 1
    n_trees = len(regressor.model.get_booster().get_dump())
    assert n_trees == regressor.best_iteration + 1
    assert len(regressor.history["rmse"]) > n_trees


def test_determinism(halves):
    train, test = halves
    small, probe = train.iloc[:40_000], test.iloc[:5_000]
    tags = pid.tag_species(small)
    params = {"n_estimators": 40, "max_depth": 5}
    a = pid.train_beta_regressor(small, tags, seed=3, params=params).predict(probe)
    b = pid.train_beta_regressor(small, tags, seed=3, params=params).predict(probe)
    c = pid.train_beta_regressor(small, tags, seed=4, params=params).predict(probe)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    s1, s2 = pid.split_tracks(small, 0.3, 1), pid.split_tracks(small, 0.3, 1)
    pd.testing.assert_frame_equal(s1[1], s2[1])


# ------------------------------------------------------------------------------- features
def test_features_of_a_hand_made_track():
    sizes = np.array([[2, 3, 0, 4, 5, 6, 10]])
    df = pd.DataFrame(
        {
            "fP": [0.5],
            "fEta": [0.5],
            "fPhi": [1.0],
            "fITSClusterSizes": its.pack_cluster_sizes(sizes),
        }
    )
    f = pid.build_features(df)
    assert list(f.columns) == pid.FEATURES
    assert (f.dtypes == np.float32).all()
    assert f[pid.LAYER_FEATURES].to_numpy()[0].tolist() == sizes[0].tolist()
    cosl = 1.0 / np.cosh(0.5)
    assert f["fCosLambda"].iloc[0] == pytest.approx(cosl, rel=1e-6)
    assert f["fMeanItsClSize"].iloc[0] == pytest.approx(30 / 6)
    assert f["fMeanItsClSizeCosLambda"].iloc[0] == pytest.approx(30 / 6 * cosl, rel=1e-6)
    # the baseline drops the largest cluster: (30 - 10) / 5
    assert pid.baseline_estimator(df)[0] == pytest.approx(4.0 * cosl)


def test_beta_target_and_balanced_weights():
    labels = np.array([1, 1, 1, 2, 3])
    beta = pid.beta_target(np.full(5, 0.5), labels)
    assert beta[0] == pytest.approx(0.5 / np.hypot(0.5, mass("pi")))
    assert beta[3] == pytest.approx(0.5 / np.hypot(0.5, mass("K")))
    w = pid.balanced_weights(labels)
    totals = [w[labels == k].sum() for k in (1, 2, 3)]
    assert totals == pytest.approx([totals[0]] * 3)
    assert w.mean() == pytest.approx(1.0)
    with pytest.raises(O2mlError, match="Labels"):
        pid.beta_target(np.ones(2), np.array([-1, 1]))


# ------------------------------------------------------------------------------- response tools
def test_gaussian_core_ignores_contamination():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0.5, 0.02, 8000), rng.normal(0.9, 0.03, 2500)])
    core = perf.fit_gaussian_core(x)
    assert core.mu == pytest.approx(0.5, abs=0.002)
    assert core.sigma == pytest.approx(0.02, rel=0.05)
    assert core.n == x.size
    assert perf.fit_gaussian_core(x[:10]) is None


def test_response_nsigma_is_standard_normal():
    rng = np.random.default_rng(2)
    p = rng.uniform(0.2, 0.8, 40_000)
    labels = rng.integers(1, 3, p.size)  # pi and K
    mu = np.where(labels == 1, 0.9, 0.3 + 0.5 * p)
    values = rng.normal(mu, 0.02)
    response = perf.fit_response(values, p, labels, np.linspace(0.2, 0.8, 7))
    ns = response.nsigma(values[labels == 2], p[labels == 2], "K")
    assert np.mean(ns) == pytest.approx(0.0, abs=0.1)
    assert np.std(ns) == pytest.approx(1.0, rel=0.1)
    assert set(response.nsigma_all(values, p)) == {"pi", "K"}
    assert response.p_range("K") == pytest.approx((0.25, 0.75))
    with pytest.raises(EmptySelectionError, match="'p'"):
        response.expected(0.5, "p")
    again = perf.Response.from_dict(json.loads(json.dumps(response.to_dict())))
    assert again.expected(0.5, "K") == pytest.approx(response.expected(0.5, "K"))


def test_selection_performance_by_hand():
    truth = np.array([2, 2, 2, 1, 1, 1, 1, 2])
    p = np.array([0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.7])
    selected = {"K": np.array([1, 1, 0, 1, 0, 0, 0, 1], dtype=bool)}
    t = perf.selection_performance(selected, truth, p, [0.2, 0.4, 0.8])
    first = t.iloc[0]
    assert (first["n_true"], first["n_selected"], first["n_correct"]) == (3, 3, 2)
    assert first["efficiency"] == pytest.approx(2 / 3)
    assert first["purity"] == pytest.approx(2 / 3)
    assert t.iloc[1]["purity"] == 1.0


def test_parametrised_separation_matches_physics_md():
    ref = perf.parametrised_separation([0.25, 0.35, 0.45, 0.55], pairs=[("pi", "K"), ("K", "p")])
    assert _value(ref, 0.3, "separation", pair="pi-K") == pytest.approx(4.8, abs=0.1)
    assert _value(ref, 0.5, "separation", pair="pi-K") == pytest.approx(2.5, abs=0.1)
    assert _value(ref, 0.3, "separation", pair="K-p") == pytest.approx(7.0, abs=0.1)
    assert _value(ref, 0.5, "separation", pair="K-p") == pytest.approx(3.9, abs=0.1)


# ------------------------------------------------------------------------------- bad input
def test_missing_columns_are_named(tracks):
    df = tracks.iloc[:100].rename(columns={"fITSClusterSizes": "fItsClusterSize"})
    with pytest.raises(ColumnNotFoundError, match="fITSClusterSizes.*fItsClusterSize'"):
        pid.build_features(df)
    with pytest.raises(ColumnNotFoundError, match="fTPCNSigmaKa"):
        pid.tag_species(tracks.iloc[:100].drop(columns=["fTPCNSigmaKa"]))


def test_non_finite_features(tracks):
    df = tracks.iloc[:100].copy()
    df.loc[3, "fEta"] = np.nan
    with pytest.raises(NonFiniteError, match="fEta"):
        pid.build_features(df)


def test_no_tagged_tracks_of_a_species(halves):
    train, _ = halves
    small = train.iloc[:5_000]
    tags = pid.tag_species(small)
    tags[tags == pid.SPECIES.index("p")] = -1
    with pytest.raises(EmptySelectionError, match="'p'"):
        pid.train_beta_regressor(small, tags, params={"n_estimators": 5})
    with pytest.raises(O2mlError, match="one tag per track"):
        pid.train_beta_regressor(small, tags[:-1])
    with pytest.raises(O2mlError, match="Training species"):
        pid.train_beta_regressor(small, tags, species=["muon"])


def test_other_bad_arguments(halves):
    train, _ = halves
    with pytest.raises(O2mlError, match="Unknown species"):
        pid.tag_species(train.iloc[:10], neighbours={"K": ("kaon",)})
    with pytest.raises(O2mlError, match="test_fraction"):
        pid.split_tracks(train, 1.5)
    with pytest.raises(O2mlError, match="increasing"):
        perf.binned_cores(np.ones(3), np.ones(3), np.ones(3), [0.5, 0.2])
    with pytest.raises(O2mlError, match="different lengths"):
        perf.binned_cores(np.ones(3), np.ones(4), np.ones(3), [0.1, 0.5])
    table = perf.parametrised_separation([0.2, 0.4])
    with pytest.raises(EmptySelectionError, match="No momentum bin contains p = 0.9"):
        perf.at_momentum(table, 0.9)
    with pytest.raises(InputFileNotFoundError):
        pid.BetaRegressor.load("/nonexistent/model.json")


def test_tof_and_v0_tags_are_purer_and_reach_higher_momenta(halves):
    """TOF tags pions where the TPC tags none (p > 0.8 GeV/c); V0 daughters are pure pions and
    protons and never kaons; combine_tags keeps the first tagger's label."""
    train, _ = halves
    truth = pid.true_species(train)
    p = np.abs(train["fP"].to_numpy())
    tpc, tof, v0 = pid.tag_species(train), pid.tag_tof(train), pid.tag_v0(train)
    pi, k = pid.SPECIES.index("pi"), pid.SPECIES.index("K")
    assert np.sum((tof == pi) & (p > 0.8)) > 10 * max(np.sum((tpc == pi) & (p > 0.8)), 1)
    assert np.mean(truth[tof == k] == k) > 0.98
    assert np.mean(truth[v0 == pi] == pi) > 0.98 and not np.any(v0 == k)
    assert np.all(tof[(train["fBeta"].to_numpy() < 0)] == -1)  # no TOF, no TOF tag
    both = pid.combine_tags(v0, tof, tpc)
    assert np.all(both[v0 >= 0] == v0[v0 >= 0])
    rest = (v0 < 0) & (tof >= 0)
    assert np.all(both[rest] == tof[rest])
    assert np.all(both[(v0 < 0) & (tof < 0)] == tpc[(v0 < 0) & (tof < 0)])
    with pytest.raises(O2mlError, match="fV0Tag"):
        pid.tag_v0(train.drop(columns="fV0Tag"))


def test_comparison_at_equal_efficiency(evaluation, halves):
    """Purity-vs-efficiency curves: efficiency grows with the cut; at 80 % efficiency the
    regression is purer for kaons at 0.45 GeV/c and not for pions at 0.25 GeV/c."""
    _, test = halves
    p = np.abs(test["fP"].to_numpy())
    good = pid.quality_mask(test)
    nsigma = {
        "BDT": evaluation["response"].nsigma_all(evaluation["beta"][good], p[good]),
        "TM": {s: v[good] for s, v in pid.baseline_nsigma(test).items()},
    }
    curves = perf.purity_efficiency_curves(nsigma, pid.true_species(test)[good], p[good], EDGES)
    for _, g in curves.groupby(["method", "species", "p"]):
        eff = g.sort_values("cut")["efficiency"].dropna().to_numpy()
        assert np.all(np.diff(eff) >= -1e-12)
    at80 = perf.compare_at_efficiency(curves, "BDT", "TM", 0.8)

    def row(species, p):
        d = at80[at80["species"] == species]
        return d.iloc[int(np.argmin(np.abs(d["p"].to_numpy() - p)))]

    k = row("K", 0.45)
    assert k["BDT"] > k["TM"], k
    pi = row("pi", 0.25)
    assert pi["winner"] != "BDT", pi
