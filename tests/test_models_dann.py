"""o2ml.models.dann on the O2Physics PIDML tables: what the DANN does on data, domain invariance,
the inputs (PIDML values, missing TOF and TRD), the ONNX contract and parity, determinism, storage,
user errors; the nσ and TOF tags of PIDML rows (models.pid)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from o2ml import onnx as ox
from o2ml.errors import ColumnNotFoundError, NonFiniteError, O2mlError, OutputExistsError
from o2ml.models import dann
from o2ml.models.dann._net import InputTransform, engineered
from o2ml.schema import PID_TRACKS_DATA_ML, PID_TRACKS_MC_ML
from o2ml.toymc.generate import ensure_sample
from o2ml.toymc.pid import generate_pid, species_index
from o2ml.toymc.pid_tables import pid_tables

torch.set_num_threads(1)  # shared 2-core machine: one thread avoids OpenMP contention
SMALL = dann.DANNConfig(
    hidden=(16, 16), feature_dim=8, class_hidden=8, domain_hidden=(16, 16), epochs=2
)


def _pidml(n: int, seed: int, domain: str, *, truth: bool = True, **kwargs) -> pd.DataFrame:
    """The PIDML rows (PidTracksMcMl / PidTracksDataMl) of n synthetic tracks, as written to a file."""
    table = PID_TRACKS_MC_ML if domain == "mc" else PID_TRACKS_DATA_ML
    tracks = generate_pid(n, seed, domain, with_truth=True, **kwargs)
    rows = pid_tables(tracks, seed, domain, with_truth=truth)[table.name]
    return rows[table.column_names(domain, truth=truth)].reset_index(drop=True)


def _toy(n: int = 3000, seed: int = 0) -> tuple[dann.Tracks, dann.Tracks]:
    mc = _pidml(n, seed, "mc")
    data = _pidml(n, seed, "data")
    return (
        dann.Tracks("mc", dann.build_inputs(mc), species_index(mc["fPdgCode"]).astype(np.int64)),
        dann.Tracks(
            "data", dann.build_inputs(data), species_index(data["fTruthPdgCode"]).astype(np.int64)
        ),
    )


@pytest.fixture(scope="module")
def toy():
    return _toy()


@pytest.fixture(scope="module")
def small_model(toy):
    mc, data = toy
    return dann.train_dann(mc, data, SMALL, progress=False)


# ------------------------------------------------------------------ physics on the default sample
@pytest.fixture(scope="module")
def default_sample():
    """The PIDML tables of the default sample (400k tracks per domain before the global-track
    selection, seed 42), split in halves for training and evaluation: 150k MC + 150k data tracks
    train (the notebook's size), 100k held-out data tracks (with their synthetic truth) and 50k
    held-out MC tracks evaluate."""
    s = ensure_sample("pid", fast=False)
    mc_train, mc_test = dann.read_tracks(s.mc, "mc").split(0.5, seed=1)
    data_train, data_test = dann.read_tracks(s.data, "data").split(0.5, seed=1)
    return (
        mc_train.subsample(150_000, seed=2),
        data_train.subsample(150_000, seed=3),
        mc_test.subsample(50_000, seed=4),
        data_test.subsample(100_000, seed=5),
    )


@pytest.fixture(scope="module")
def trained(default_sample):
    mc_train, data_train, mc_test, data_test = default_sample
    cfg = dann.DANNConfig(epochs=12)
    base = dann.train_baseline(mc_train, data_train, cfg, progress=False)
    adapted = dann.train_dann(mc_train, data_train, cfg, progress=False)
    return {
        "baseline": dann.evaluate(base, mc_test, data_test),
        "dann": dann.evaluate(adapted, mc_test, data_test),
        "gain": dann.macro_f1_difference(
            data_test.y, base.predict(data_test), adapted.predict(data_test)
        ),
    }


@pytest.mark.slow
def test_the_dann_gains_nothing_significant_on_data(trained):
    """On PIDML's detectors the data/MC gap is a calibration gap (TPC, TOF, TRD responses a few
    per cent off): the baseline loses on data, and the adversary does not win it back beyond
    the statistics of the test sample (notebook 04's conclusion)."""
    base, adapted = trained["baseline"], trained["dann"]
    gain, std = trained["gain"]
    assert base["mc_macro_f1"] > 0.9  # the baseline is a good classifier on its own domain
    assert base["data_macro_f1"] < base["mc_macro_f1"]  # ... that loses on data
    assert gain == pytest.approx(adapted["data_macro_f1"] - base["data_macro_f1"], abs=1e-9)
    assert 0 < std < 0.005 and gain < 2 * std, trained


@pytest.mark.slow
def test_dann_features_are_closer_to_domain_invariant(trained):
    base, adapted = trained["baseline"], trained["dann"]
    # a fresh MLP probe on the frozen features, and the network's own domain head
    assert abs(adapted["domain_probe_acc"] - 0.5) < abs(base["domain_probe_acc"] - 0.5), trained
    assert abs(adapted["domain_head_acc"] - 0.5) < abs(base["domain_head_acc"] - 0.5), trained


# ------------------------------------------------------------------ network pieces
def test_gradient_reversal_is_identity_forward_and_minus_lambda_backward():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = dann.grad_reverse(x, 0.7)
    assert torch.equal(y, x.detach())
    y.sum().backward()
    assert torch.allclose(x.grad, torch.full((3,), -0.7))


def test_lambda_schedules():
    assert dann.lambda_at(0.0, 2.0) == 0.0
    assert dann.lambda_at(1.0, 2.0) == pytest.approx(2.0 * (2 / (1 + np.exp(-10)) - 1))
    assert dann.lambda_at(0.3, 2.0, "constant") == 2.0
    steps = [dann.lambda_at(p, 1.0) for p in np.linspace(0, 1, 11)]
    assert all(np.diff(steps) > 0)
    with pytest.raises(O2mlError, match="schedule"):
        dann.lambda_at(0.5, 1.0, "linear")
    with pytest.raises(O2mlError, match="schedule"):
        dann.DANNConfig(schedule="linear")


def test_inputs_are_the_pidml_values_with_eta_derived():
    df = _pidml(2000, 3, "data")
    X = dann.build_inputs(df)
    assert dann.FEATURES == ["fP", "fEta", "fTPCSignal", "fBeta", "fTRDSignal", "fTRDPattern"]
    assert X.shape == (len(df), 6) and X.dtype == np.float32
    for f in ("fP", "fTPCSignal", "fBeta", "fTRDSignal", "fTRDPattern"):  # read as they are
        np.testing.assert_array_equal(X[:, dann.FEATURES.index(f)], df[f].to_numpy(np.float32))
    pt = np.hypot(df["fPx"], df["fPy"])
    np.testing.assert_allclose(X[:, 1], np.arcsinh(df["fPz"] / pt), rtol=1e-5, atol=1e-6)
    assert np.abs(X[:, 1]).max() < 0.8  # PIDML: global tracks, |eta| < 0.8
    # PIDML's missing detectors stay NaN (TOF, TRD signal) and 0 (TRD pattern)
    assert np.isnan(X[:, 3]).any() and np.isnan(X[:, 4]).any()
    assert np.array_equal(np.isnan(X[:, 4]), X[:, 5] == 0)


def test_missing_detectors_are_kept_with_indicators():
    nan = np.nan
    x = np.array(
        [
            [0.4, 0.1, 60.0, nan, nan, 0],  # no TOF, no TRD (PIDML)
            [1.2, -0.5, 50.0, 0.99, 1.3, 0b111011],  # TOF, TRD with 5 tracklets
            [0.8, 0.3, 55.0, -999.0, 1.1, 0b000001],  # -999: no TOF as well; 1 tracklet
            [0.9, 0.0, 52.0, 0.95, nan, 0b000011],  # a pattern but no signal: no TRD
            [0.9, 0.0, 52.0, 0.95, 1.2, 0],  # a signal but no pattern: no TRD
        ],
        dtype=np.float32,
    )
    values, valid = engineered(torch.from_numpy(x))
    assert valid[:, 3].tolist() == [False, True, False, True, True]  # beta present?
    assert valid[:, 4].tolist() == [False, True, True, False, False]  # TRD signal present?
    assert values[:, 5].tolist() == [0, 5, 1, 2, 0]  # tracklets: bits set in fTRDPattern
    assert torch.isfinite(values).all()  # no NaN reaches the network
    assert values[1, 4].item() == pytest.approx(np.log(1.3), rel=1e-6)
    z = InputTransform()(torch.from_numpy(x))
    assert torch.isfinite(z).all() and (z[[0, 2], 3] == 0).all() and (z[[0, 3, 4], 4] == 0).all()
    assert z[:, -2:].tolist() == [[0, 0], [1, 1], [0, 1], [1, 0], [1, 0]]  # the indicators


def test_missing_tof_and_trd_give_probabilities_and_minus_999_means_missing(small_model):
    df = _pidml(500, 5, "data")
    df.loc[:10, "fBeta"] = np.nan
    df.loc[20:30, ["fTRDSignal", "fTRDPattern"]] = (np.nan, 0)
    X = dann.build_inputs(df)
    proba = small_model.predict_proba(X)
    assert proba.shape == (len(df), 4) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    aod = np.where(np.isnan(X), -999.0, X)  # the AO2D encoding of a missing detector
    assert np.array_equal(small_model.predict_proba(aod), proba)


# ------------------------------------------------------------------ determinism, device
def test_same_seed_gives_bit_identical_weights_and_predictions(toy):
    mc, data = toy
    a = dann.train_dann(mc, data, SMALL, progress=False)
    b = dann.train_dann(mc, data, SMALL, progress=False)
    sa, sb = a.net.state_dict(), b.net.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert np.array_equal(a.predict_proba(data), b.predict_proba(data))
    pd.testing.assert_frame_equal(
        a.history.drop(columns="seconds"), b.history.drop(columns="seconds")
    )
    c = dann.train_dann(mc, data, replace(SMALL, seed=7), progress=False)
    assert not torch.equal(c.net.state_dict()["class_head.0.weight"], sa["class_head.0.weight"])


def test_baseline_features_ignore_the_domain_head(toy):
    mc, data = toy
    base = dann.train_baseline(mc, data, SMALL, progress=False)
    assert base.config.lambda_max == 0.0
    assert (base.history["lambda"] == 0).all()
    # lambda = 0: the features are those of a plain classifier; the domain head still learned
    assert "domain_acc_train" in base.history


def test_other_particles_in_mc_are_not_used_for_the_class_loss(toy):
    mc, data = toy
    y = mc.y.copy()
    y[:100] = -1  # e.g. muons in a real MC: no class of the classifier
    model = dann.train_dann(dann.Tracks("mc", mc.X, y), data, SMALL, progress=False)
    assert model.n_train == {"mc": len(mc) - 100, "data": len(data)}
    assert np.isfinite(model.history["class_loss"]).all()


def test_device_auto_and_history(small_model):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert dann.resolve_device("auto").type == expected
    assert dann.resolve_device("cpu").type == "cpu"
    assert list(small_model.history["epoch"]) == [1, 2]
    assert {"lambda", "class_loss", "domain_loss", "domain_acc_train"} <= set(
        small_model.history.columns
    )


def test_monitor_gives_learning_curves(toy):
    mc, data = toy
    model = dann.train_dann(mc, data, SMALL, monitor={"mc": mc, "data": data}, progress=False)
    cols = {"mc_macro_f1", "data_macro_f1", "domain_head_acc"}
    assert cols <= set(model.history.columns)
    assert model.history[list(cols)].apply(lambda s: s.between(0, 1)).all().all()


# ------------------------------------------------------------------ storage and ONNX
def test_onnx_parity_and_metadata(small_model, toy, tmp_path):
    _, data = toy
    path = tmp_path / "dann.onnx"
    small_model.to_onnx(path)
    sess = ox.session(path)
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert sess.get_inputs()[0].shape[1] == len(dann.FEATURES) == 6
    assert isinstance(sess.get_inputs()[0].shape[0], str)  # dynamic batch
    assert sess.get_outputs()[-1].name == "probabilities"
    assert np.isnan(data.X).any()  # PIDML's missing TOF and TRD go in as NaN
    for X in (data.X, data.X[:1], data.X[:7]):
        np.testing.assert_allclose(ox.run(sess, X), small_model.predict_proba(X), atol=1e-5)
    # the contract: -999 (AO2D) means a missing detector as NaN (PIDML) does
    aod = np.where(np.isnan(data.X), -999.0, data.X)
    np.testing.assert_allclose(ox.run(sess, aod), ox.run(sess, data.X), atol=1e-7)
    meta = ox.read_metadata(path)
    assert meta["features"] == dann.FEATURES
    assert meta["class_labels"] == ["e", "pi", "K", "p"]
    assert meta["seed"] == 42 and meta["o2ml_version"]
    contract = meta["inputs"]
    assert contract["tables"] == {"mc": "PidTracksMcMl", "data": "PidTracksDataMl"}
    assert list(contract["features"]) == dann.FEATURES
    assert "NaN" in contract["features"]["fBeta"]["missing"]
    assert "NaN" in contract["features"]["fTRDSignal"]["missing"]
    assert "0" in contract["features"]["fTRDPattern"]["missing"]
    assert contract["features"]["fEta"]["source"].startswith("derived")
    with pytest.raises(OutputExistsError):
        small_model.to_onnx(path)


def test_save_load_roundtrip(small_model, toy, tmp_path):
    _, data = toy
    path = small_model.save(tmp_path / "dann.pt")
    meta = json.loads(path.with_suffix(".meta.json").read_text())
    assert meta["features"] == dann.FEATURES and meta["class_labels"] == ["e", "pi", "K", "p"]
    assert meta["inputs"]["features"]["fBeta"]["missing"] == dann.MISSING_VALUES["fBeta"]
    assert meta["config"]["hidden"] == [16, 16] and meta["seed"] == 42
    assert meta["lambda_schedule"] == {"schedule": "ganin", "lambda_max": 1.0}
    assert len(meta["standardisation"]["mean"]) == len(meta["standardisation"]["inputs"])
    state = torch.load(path, weights_only=True)  # plain tensors only
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    loaded = dann.DANNClassifier.load(path)
    assert np.array_equal(loaded.predict_proba(data), small_model.predict_proba(data))
    with pytest.raises(OutputExistsError):
        small_model.save(path)
    with pytest.raises(O2mlError, match=r"\.pt"):
        small_model.save(tmp_path / "dann.pkl")


def test_load_rejects_a_feature_mismatch_and_missing_files(small_model, tmp_path):
    path = small_model.save(tmp_path / "m.pt")
    meta_path = path.with_suffix(".meta.json")
    meta = json.loads(meta_path.read_text())
    meta["features"] = ["fP", "fEta"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(dann.InputError, match="trained with the features"):
        dann.DANNClassifier.load(path)
    with pytest.raises(O2mlError, match="no such file"):
        dann.DANNClassifier.load(tmp_path / "absent.pt")


# ------------------------------------------------------------------ user errors
def test_user_errors_name_what_was_expected(toy, small_model, tmp_path):
    mc, data = toy
    df = _pidml(200, 1, "mc")
    with pytest.raises(ColumnNotFoundError, match="fTPCSignal"):
        dann.build_inputs(df.drop(columns="fTPCSignal"))
    bad = df.copy()
    bad.loc[3, "fPz"] = np.inf
    with pytest.raises(NonFiniteError, match="fPz"):
        dann.build_inputs(bad)
    bad = df.copy()
    bad.loc[3, "fBeta"] = np.inf  # NaN is a missing TOF; inf is nothing
    with pytest.raises(NonFiniteError, match="fBeta"):
        dann.build_inputs(bad)
    with pytest.raises(dann.InputError, match=r"\[n, 6\]"):
        small_model.predict_proba(data.X[:, :5])
    X = data.X.copy()
    X[5, 0] = np.nan
    with pytest.raises(NonFiniteError, match="fP"):
        small_model.predict_proba(X)
    X = data.X.copy()
    X[5, 5] = np.nan  # the TRD pattern is 0 without TRD, never NaN
    with pytest.raises(NonFiniteError, match="fTRDPattern"):
        small_model.predict_proba(X)
    with pytest.raises(dann.InputError, match="in this order"):
        small_model.predict_proba(pd.DataFrame(data.X[:, ::-1], columns=dann.FEATURES[::-1]))
    with pytest.raises(dann.InputError, match="labels"):
        dann.train_dann((mc.X, mc.y[:-1]), data, SMALL, progress=False)
    with pytest.raises(dann.InputError, match="needs labels"):
        dann.train_dann(dann.Tracks("mc", mc.X, None), data, SMALL, progress=False)
    # the two files swapped: the MC file given as data and the data file as MC
    from o2ml.io import write_table

    write_table(df, tmp_path / "mc.root", PID_TRACKS_MC_ML)
    rows = _pidml(200, 1, "data", truth=False)
    write_table(rows, tmp_path / "data.root", PID_TRACKS_DATA_ML)
    with pytest.raises(dann.InputError, match="looks like the simulation"):
        dann.read_tracks(tmp_path / "mc.root", "data")
    with pytest.raises(dann.InputError, match="Is this the data file"):
        dann.read_tracks(tmp_path / "data.root", "mc")
    with pytest.raises(dann.InputError, match="looks like the simulation"):
        dann.tracks_from_frame(df, "data")  # a frame of MC rows as data
    real = dann.read_tracks(tmp_path / "data.root", "data")
    assert real.y is None and len(real) == len(rows)  # real data: no truth
    assert dann.read_tracks(tmp_path / "mc.root", "mc").y is not None


# ------------------------------------------------------------------ tables
def test_seed_table_and_scores_vs_p():
    y = np.array([1, 1, 1, 2, 2, 3, 0, -1])
    pred = np.array([1, 1, 2, 2, 1, 3, 0, 3])
    table = dann.seed_table({"baseline": (y, pred)})
    # the three species of Kabus' table (CHEP 2023), then the electrons (their purity counts)
    assert list(table.columns.get_level_values(0).unique()) == ["π", "p", "K", "e", "all"]
    assert table.loc["baseline", ("π", "purity")] == pytest.approx(2 / 3)
    assert table.loc["baseline", ("π", "efficiency")] == pytest.approx(2 / 3)
    assert table.loc["baseline", ("K", "F1")] == pytest.approx(0.5)
    assert table.loc["baseline", ("all", "accuracy")] == pytest.approx(5 / 7)
    p = np.array([0.2, 0.4, 0.6, 0.2, 0.6, 0.4, 0.2, 0.3])
    t = dann.scores_vs_p(y, pred, p, [0.1, 0.5, 1.0])
    assert set(t["species"]) == {"e", "pi", "K", "p"}
    assert {"efficiency", "purity", "F1", "p"} <= set(t.columns)


def test_tof_tags_give_a_truth_free_f1():
    """tagged_macro_f1 scores the tagged tracks only (untagged: -1); TOF tags of PIDML rows are
    pure, include kaons (which no V0 gives), and score the tracks with their TOF hidden."""
    tags = np.array([1, 1, 3, 2, -1, -1])
    assert dann.tagged_macro_f1(tags, np.array([1, 1, 3, 2, 0, 0]), ("pi", "K", "p")) == 1.0
    f1 = dann.tagged_macro_f1(tags, np.array([1, 2, 3, 2, 0, 0]), ("pi", "K", "p"))
    assert f1 == pytest.approx((2 / 3 + 2 / 3 + 1.0) / 3)  # one pion called a kaon
    t = dann.tracks_from_frame(_pidml(20_000, 3, "data"), "data")
    assert t.tags is not None and t.frame is not None and len(t.frame) == len(t)
    tagged = t.tags >= 0
    assert {1, 2, 3} <= set(np.unique(t.tags[tagged]))  # pi, K, p (and electrons at low p)
    assert np.mean(t.tags[tagged] == t.y[tagged]) > 0.99  # TOF tags are clean
    assert np.all(t.frame["fBeta"].to_numpy()[tagged] > 0)  # only tracks with TOF
    assert {"fEta", "fTPCNSigmaPi", "fTOFNSigmaKa"} <= set(t.frame.columns)  # derived, for nσ
    part = t.take(np.arange(10, 20))
    assert len(part.frame) == 10 and np.array_equal(part.tags, t.tags[10:20])
    hidden = dann.without_tof(t.X[:5])
    assert np.isnan(hidden[:, dann.FEATURES.index("fBeta")]).all() and not np.isnan(t.X[0, 0])


def test_macro_f1_difference_is_paired_and_has_an_uncertainty():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 4000)
    a = np.where(rng.random(4000) < 0.9, y, (y + 1) % 4)
    b = np.where(rng.random(4000) < 0.8, y, (y + 1) % 4)
    from o2ml.models.dann._eval import macro_f1

    diff, std = dann.macro_f1_difference(y, a, b, seed=1)
    assert diff == pytest.approx(macro_f1(y, b) - macro_f1(y, a))
    assert 0.002 < std < 0.02 and diff < -5 * std
    assert dann.macro_f1_difference(y, a, a) == (0.0, 0.0)


def test_label_shift_samples_have_the_requested_abundances():
    df = generate_pid(40_000, 5, "data", with_truth=True, fractions=(0.02, 0.5, 0.28, 0.2))
    share = np.bincount(species_index(df["fTruthPdgCode"]), minlength=4) / len(df)
    np.testing.assert_allclose(share, [0.02, 0.5, 0.28, 0.2], atol=0.01)
    with pytest.raises(ValueError, match="fractions"):
        generate_pid(10, 5, "data", fractions=(0.5, 0.5))


def test_pidml_nsigma_follow_the_nominal_response():
    """The nσ derived from PIDML's fTPCSignal and fBeta: centred and of unit width for true MC
    pions (the nominal response is the MC one), NaN without TOF."""
    from o2ml.models.pid.nsigma import pidml_nsigma

    mc = pidml_nsigma(_pidml(60_000, 11, "mc"))
    pions = species_index(mc["fPdgCode"]) == 1
    p = mc["fP"].to_numpy()
    tpc = mc["fTPCNSigmaPi"].to_numpy()[pions & (p > 0.3) & (p < 0.6)]
    assert abs(np.median(tpc)) < 0.1 and 0.9 < 1.4826 * np.median(np.abs(tpc)) < 1.15
    has_tof = mc["fBeta"].to_numpy() > 0
    tof = mc["fTOFNSigmaPi"].to_numpy()[pions & has_tof]
    assert abs(np.median(tof)) < 0.1 and 0.9 < 1.4826 * np.median(np.abs(tof)) < 1.1
    assert np.isnan(mc["fTOFNSigmaKa"].to_numpy()[~has_tof]).all()
    np.testing.assert_allclose(mc["fEta"], np.arcsinh(mc["fPz"] / mc["fPt"]), atol=1e-5)


def test_nsigma_calibrated_in_data_with_tags_finds_the_data_offset():
    """The data TPC dE/dx is 3 % above the nominal response: the nσ(π) of pions sit ~+0.5 in data.
    Calibrating PIDML rows with tagged tracks (TOF tags for the TPC, no V0s, no truth) finds that
    shift as the truth does, and the data-calibrated χ² identifies data tracks better than the MC
    calibration."""
    from o2ml.models.pid.nsigma import NsigmaPid, pidml_calibration_labels, pidml_nsigma

    mc = pidml_nsigma(_pidml(60_000, 11, "mc"))
    data = pidml_nsigma(_pidml(60_000, 12, "data"))
    truth_mc = species_index(mc["fPdgCode"]).astype(int)
    truth = species_index(data["fTruthPdgCode"]).astype(int)
    tags = pidml_calibration_labels(data)
    cal_mc = NsigmaPid.calibrate(mc, truth_mc)
    cal_tag = NsigmaPid.calibrate(data, tags, priors=np.bincount(truth_mc, minlength=4))
    cal_true = NsigmaPid.calibrate(data, truth)
    i = np.searchsorted(cal_mc.edges, 0.6) - 1  # the bin of 0.6 GeV/c, where TOF tags pions
    assert abs(cal_mc.mean["TPC", "pi"][i]) < 0.1
    assert 0.25 < cal_true.mean["TPC", "pi"][i] < 0.7
    assert cal_tag.mean["TPC", "pi"][i] == pytest.approx(cal_true.mean["TPC", "pi"][i], abs=0.1)
    # the TOF width of data (75 ps against the nominal 65 ps)
    assert cal_tag.width["TOF", "pi"][i] == pytest.approx(75 / 65, abs=0.1)
    from o2ml.models.dann._eval import macro_f1

    f1_mc, f1_tag = macro_f1(truth, cal_mc.predict(data)), macro_f1(truth, cal_tag.predict(data))
    assert f1_tag > f1_mc and f1_tag > 0.9, (f1_mc, f1_tag)
    with pytest.raises(O2mlError, match="no track with a species label"):
        NsigmaPid.calibrate(data, np.full(len(data), -1))


# ------------------------------------------------------------------ repeated trainings (issue #32)
def test_training_failures_flag_a_stuck_domain_head_and_a_flat_class_loss(toy):
    ok = pd.DataFrame(
        {"class_loss": [0.7, 0.2, 0.1, 0.08], "domain_acc_train": [0.52, 0.51, 0.507, 0.506]}
    )
    assert dann.training_failures(ok) == []
    stuck = ok.assign(domain_acc_train=[0.52, 0.5, 0.5005, 0.4999])
    (why,) = dann.training_failures(stuck)
    assert "stuck at 0.5" in why and "epoch 2" in why
    flat = ok.assign(class_loss=[0.7, 0.69, 0.69, 0.68])
    assert any("class loss did not decrease" in w for w in dann.training_failures(flat))
    # a real training that cannot learn (learning rate 0) is flagged; a normal one is not
    mc, data = toy
    frozen = dann.train_dann(mc, data, replace(SMALL, learning_rate=0.0), progress=False)
    assert any("class loss" in w for w in dann.training_failures(frozen.history))
    cfg = replace(SMALL, epochs=5, batch_size=128, learning_rate=1e-2)
    model = dann.train_dann(mc, data, cfg, progress=False)
    assert dann.training_failures(model.history) == [], model.history
    with pytest.raises(O2mlError, match="history"):
        dann.training_failures(pd.DataFrame())


def test_input_calibration_maps_the_data_gains_onto_mc():
    """Fitted on TOF-tagged tracks of both domains (no truth): a known gain is undone exactly,
    and on the synthetic PIDML data it finds the data TPC offset (+3 %) and TRD gain (+5 %)."""
    from o2ml.toymc.pid_tables import TRD_GAIN_DATA

    mc = dann.tracks_from_frame(_pidml(40_000, 21, "mc"), "mc")
    X = mc.X.copy()
    X[:, dann.FEATURES.index("fTPCSignal")] *= 1.1
    X[:, dann.FEATURES.index("fTRDSignal")] *= 0.9
    fake = dann.Tracks("data", X, mc.y, tags=mc.tags)
    cal = dann.InputCalibration.fit(mc, fake)
    np.testing.assert_allclose(cal.factors["fTPCSignal"], 1 / 1.1, rtol=1e-4)
    np.testing.assert_allclose(cal.factors["fTRDSignal"], 1 / 0.9, rtol=1e-4)
    back = cal.apply(fake)
    np.testing.assert_allclose(back, mc.X, rtol=1e-5)  # NaN (missing TOF, TRD) stays NaN
    assert cal.table().shape == (len(cal.edges) - 1, 2)
    data = dann.tracks_from_frame(_pidml(40_000, 22, "data"), "data")
    cal = dann.InputCalibration.fit(mc, data)
    assert np.median(cal.factors["fTPCSignal"]) == pytest.approx(1 / 1.03, abs=0.01)
    assert np.median(cal.factors["fTRDSignal"]) == pytest.approx(1 / TRD_GAIN_DATA, abs=0.02)
    assert (
        np.isnan(cal.apply(data)[:, dann.FEATURES.index("fBeta")]).sum()
        == np.isnan(data.X[:, dann.FEATURES.index("fBeta")]).sum()
    )
    with pytest.raises(O2mlError, match="tagged"):
        dann.InputCalibration.fit(dann.Tracks("mc", mc.X, mc.y), fake)


def test_species_f1_gains_and_criterion_picks():
    y = np.array([0, 1, 1, 2, 3, 3])
    s = dann.species_f1(y, y)
    assert s["macro_f1"] == s["macro_f1_no_e"] == 1.0
    s = dann.species_f1(y, np.array([1, 1, 1, 2, 3, 3]))  # the electron lost
    assert s["F1_e"] == 0 and s["macro_f1_no_e"] > s["macro_f1"]
    table = pd.DataFrame({
        "method": ["a"] * 3 + ["b"] * 3 + ["c"] * 3, "seed": [1, 2, 3] * 3,
        "m": [0.90, 0.91, 0.92, 0.95, 0.96, 0.97, 0.90, 0.92, 0.91],
    })  # fmt: skip
    g = dann.gains(table, "a", ["m"]).set_index("method")
    assert g.loc["b", "verdict"] == "wins" and g.loc["b", "gain"] == pytest.approx(0.05)
    assert g.loc["c", "verdict"] == "tie" and not g["smoke"].any()
    sweep = pd.DataFrame({
        "seed": [1, 1, 1, 2, 2, 2], "lambda_max": [0.0, 1.0, 10.0] * 2,
        "data_macro_f1": [0.90, 0.92, 0.95, 0.90, 0.93, 0.94],
        "domain_probe_acc": [0.6, 0.55, 0.5, 0.6, 0.52, 0.5],
        "domain_head_acc": [0.6, 0.51, 0.5, 0.6, 0.53, 0.55],
        "data_tof_tag_f1": [0.7, 0.8, 0.6, 0.7, 0.6, 0.8],
        "failed": [False, False, True, False, False, False],
    })  # fmt: skip
    picks = dann.criterion_picks(sweep).set_index(["seed", "criterion"])
    # seed 1: λ = 10 is best but failed, the criteria see only λ = 0 and 1
    assert picks.loc[(1, "domain probe closest to 0.5"), "lambda_max"] == 1.0
    assert picks.loc[(1, "best on data (truth)"), "lambda_max"] == 10.0
    assert picks.loc[(2, "domain probe closest to 0.5"), "lambda_max"] == 10.0
    assert picks.loc[(1, "no adaptation (λ = 0)"), "loss_vs_best"] == pytest.approx(0.05)
    v = dann.criterion_verdicts(picks.reset_index())
    assert v.loc["domain probe closest to 0.5", "picks"] == "1, 10"
    assert v["n"].eq(2).all() and set(v["choice"]) <= {
        "chooses well", "worse than the best", "undecided"
    }  # fmt: skip
    # seed 1 loses 0.03, seed 2 nothing: a tie with the best, but not a good choice
    assert v.loc["domain probe closest to 0.5", "choice"] == "undecided"
    assert v.loc["domain probe closest to 0.5", "loss_mean"] == pytest.approx(0.015)


def test_lambda_sweep_over_seeds_trains_each_pair_once(toy, small_model):
    mc, data = toy
    trained = {(1.0, SMALL.seed): small_model}
    table, models = dann.lambda_sweep_over_seeds(
        (mc, data), (mc, data), values=[0.0, 1.0], seeds=[SMALL.seed, 7], config=SMALL,
        trained=trained,
    )  # fmt: skip
    assert len(table) == 4 and set(models) == {(0.0, 42), (1.0, 42), (0.0, 7), (1.0, 7)}
    assert models[(1.0, SMALL.seed)] is small_model
    assert {"failed", "failure", "data_macro_f1", "macro_f1_no_e", "F1_e", "train_s"} <= set(table)
    assert table["failed"].dtype == bool
