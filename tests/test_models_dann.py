"""o2ml.models.dann: DANN beats the baseline on data, domain invariance, ONNX parity, determinism,
storage, missing detectors, user errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from o2ml.errors import ColumnNotFoundError, NonFiniteError, O2mlError, OutputExistsError
from o2ml.export import onnx as ox
from o2ml.models import dann
from o2ml.models.dann._data import InputTransform, engineered
from o2ml.physics import its
from o2ml.toymc.generate import ensure_sample
from o2ml.toymc.pid import generate_pid, species_index

torch.set_num_threads(1)  # shared 2-core machine: one thread avoids OpenMP contention
SMALL = dann.DANNConfig(
    hidden=(16, 16), feature_dim=8, class_hidden=8, domain_hidden=(16, 16), epochs=2
)


def _toy(n: int = 3000, seed: int = 0) -> tuple[dann.Tracks, dann.Tracks]:
    mc = generate_pid(n, seed, "mc")
    data = generate_pid(n, seed, "data", with_truth=True)
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
    """The default sample (400k tracks per domain, seed 42), split in halves for training and
    evaluation and subsampled for speed: 40k MC + 40k data tracks train, 100k held-out data
    tracks (with their synthetic truth) and 50k held-out MC tracks evaluate."""
    s = ensure_sample("pid", fast=False)
    mc_train, mc_test = dann.read_tracks(s.mc, "mc").split(0.5, seed=1)
    data_train, data_test = dann.read_tracks(s.data, "data").split(0.5, seed=1)
    return (
        mc_train.subsample(40_000, seed=2),
        data_train.subsample(40_000, seed=3),
        mc_test.subsample(50_000, seed=4),
        data_test.subsample(100_000, seed=5),
    )


@pytest.fixture(scope="module")
def trained(default_sample):
    mc_train, data_train, mc_test, data_test = default_sample
    cfg = dann.DANNConfig(epochs=10)
    base = dann.train_baseline(mc_train, data_train, cfg, progress=False)
    adapted = dann.train_dann(mc_train, data_train, cfg, progress=False)
    return {
        "baseline": dann.evaluate(base, mc_test, data_test),
        "dann": dann.evaluate(adapted, mc_test, data_test),
    }


@pytest.mark.slow
def test_dann_beats_the_baseline_on_data_by_two_points(trained):
    base, adapted = trained["baseline"], trained["dann"]
    assert base["mc_macro_f1"] > 0.9  # the baseline is a good classifier on its own domain
    assert base["data_macro_f1"] < base["mc_macro_f1"] - 0.05  # ... that suffers on data
    assert adapted["data_macro_f1"] >= base["data_macro_f1"] + 0.02, trained


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


def test_missing_detectors_are_kept_with_indicators():
    x = np.array(
        [
            [0.4, 0.1, 60.0, -999.0, 2, 3, 0, 2, 2, 3, 2],  # no TOF, one ITS layer missing
            [1.2, -0.5, 50.0, 0.99, 0, 0, 0, 0, 0, 0, 0],  # TOF, no ITS hit at all
        ],
        dtype=np.float32,
    )
    values, valid = engineered(torch.from_numpy(x))
    assert valid[:, 3].tolist() == [False, True]  # beta present?
    assert valid[:, 4].tolist() == [True, False]  # ITS estimator present?
    expected = its.mean_cluster_size_cos_lambda(x[:, 4:].astype(int), x[:, 1])
    np.testing.assert_allclose(values[:, 4].numpy(), expected, rtol=1e-6)  # as O2Physics
    assert values[0, 5].item() == 6  # hit layers
    z = InputTransform()(torch.from_numpy(x))
    assert torch.isfinite(z).all() and z[0, 3] == 0 and z[1, 4] == 0
    assert z[:, -2:].tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_nan_beta_is_a_missing_tof_and_every_track_gets_probabilities(small_model):
    df = generate_pid(500, 5, "data")
    df.loc[:10, "fBeta"] = np.nan
    df.loc[20:30, "fITSClusterSizes"] = 0
    X = dann.build_inputs(df)
    assert (X[:11, 3] == -999).all()
    proba = small_model.predict_proba(X)
    assert proba.shape == (500, 4) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


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
    c = dann.train_dann(mc, data, SMALL, progress=False, seed=7)
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
    assert sess.get_inputs()[0].shape[1] == len(dann.FEATURES)
    assert isinstance(sess.get_inputs()[0].shape[0], str)  # dynamic batch
    assert sess.get_outputs()[-1].name == "probabilities"
    for X in (data.X, data.X[:1], data.X[:7]):
        np.testing.assert_allclose(ox.run(sess, X), small_model.predict_proba(X), atol=1e-5)
    meta = ox.read_metadata(path)
    assert meta["features"] == dann.FEATURES
    assert meta["class_labels"] == ["e", "pi", "K", "p"]
    assert meta["seed"] == 42 and meta["o2ml_version"]
    with pytest.raises(OutputExistsError):
        small_model.to_onnx(path)


def test_save_load_roundtrip(small_model, toy, tmp_path):
    _, data = toy
    path = small_model.save(tmp_path / "dann.pt")
    meta = json.loads(path.with_suffix(".meta.json").read_text())
    assert meta["features"] == dann.FEATURES and meta["class_labels"] == ["e", "pi", "K", "p"]
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
    df = generate_pid(100, 1, "mc")
    with pytest.raises(ColumnNotFoundError, match="fTPCSignal"):
        dann.build_inputs(df.drop(columns="fTPCSignal"))
    bad = df.copy()
    bad.loc[3, "fEta"] = np.inf
    with pytest.raises(NonFiniteError, match="fEta"):
        dann.build_inputs(bad)
    with pytest.raises(dann.InputError, match=r"\[n, 11\]"):
        small_model.predict_proba(data.X[:, :5])
    X = data.X.copy()
    X[5, 0] = np.nan
    with pytest.raises(NonFiniteError, match="fP"):
        small_model.predict_proba(X)
    with pytest.raises(dann.InputError, match="in this order"):
        small_model.predict_proba(pd.DataFrame(data.X[:, ::-1], columns=dann.FEATURES[::-1]))
    with pytest.raises(dann.InputError, match="labels"):
        dann.train_dann((mc.X, mc.y[:-1]), data, SMALL, progress=False)
    with pytest.raises(dann.InputError, match="needs labels"):
        dann.train_dann(dann.Tracks("mc", mc.X, None), data, SMALL, progress=False)
    # the two files swapped: the MC file given as data and the data file as MC
    from o2ml.io import write_table
    from o2ml.schema import PID_TRACKS

    write_table(df, tmp_path / "mc.root", PID_TRACKS)
    real = generate_pid(100, 1, "data")
    write_table(real, tmp_path / "data.root", PID_TRACKS)
    with pytest.raises(dann.InputError, match="looks like the simulation"):
        dann.read_tracks(tmp_path / "mc.root", "data")
    with pytest.raises(dann.InputError, match="Is this the data file"):
        dann.read_tracks(tmp_path / "data.root", "mc")
    assert dann.read_tracks(tmp_path / "data.root", "data").y is None  # real data: no truth


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


def test_v0_tags_give_a_truth_free_f1_over_e_pi_p():
    """v0_macro_f1 scores e, π, p on the tagged tracks only (untagged: -1), no kaons."""
    tags = np.array([1, 1, 3, 0, -1, -1])
    assert dann.v0_macro_f1(tags, np.array([1, 1, 3, 0, 2, 2])) == pytest.approx(1.0)
    # one pion called a kaon: pion F1 2/3·... ; kaons never enter the average
    f1 = dann.v0_macro_f1(tags, np.array([1, 2, 3, 0, 0, 0]))
    assert f1 == pytest.approx((1.0 + 2 / 3 + 1.0) / 3)
    df = generate_pid(2000, 3, "data", with_truth=True)
    t = dann.tracks_from_frame(df, "data")
    assert t.tags is not None and t.frame is not None and len(t.frame) == len(t)
    assert set(np.unique(t.tags)) <= {-1, 0, 1, 3}  # e, pi, p: no V0 gives kaons
    part = t.take(np.arange(10, 20))
    assert len(part.frame) == 10 and np.array_equal(part.tags, t.tags[10:20])


def test_label_shift_samples_have_the_requested_abundances():
    df = generate_pid(40_000, 5, "data", with_truth=True, fractions=(0.02, 0.5, 0.28, 0.2))
    share = np.bincount(species_index(df["fTruthPdgCode"]), minlength=4) / len(df)
    np.testing.assert_allclose(share, [0.02, 0.5, 0.28, 0.2], atol=0.01)
    with pytest.raises(ValueError, match="fractions"):
        generate_pid(10, 5, "data", fractions=(0.5, 0.5))


def test_nsigma_calibrated_in_data_with_tags_finds_the_data_offset():
    """The data TPC dE/dx is 3 % above the nominal response: the nσ(π) of pions sit ~+0.4 in data.
    Calibrating with tagged tracks (no truth) finds that shift as the truth does, and the
    data-calibrated χ² identifies data tracks better than the MC calibration."""
    from o2ml.models.pid.nsigma import NsigmaPid, data_calibration_labels

    mc = generate_pid(60_000, 11, "mc")
    data = generate_pid(60_000, 12, "data", with_truth=True)
    truth_mc = species_index(mc["fPdgCode"]).astype(int)
    truth = species_index(data["fTruthPdgCode"]).astype(int)
    tags = data_calibration_labels(data)
    cal_mc = NsigmaPid.calibrate(mc, truth_mc)
    cal_tag = NsigmaPid.calibrate(data, tags, priors=np.bincount(truth_mc, minlength=4))
    cal_true = NsigmaPid.calibrate(data, truth)
    i = np.searchsorted(cal_mc.edges, 0.4) - 1  # the bin of 0.4 GeV/c
    assert abs(cal_mc.mean["TPC", "pi"][i]) < 0.1
    assert 0.25 < cal_true.mean["TPC", "pi"][i] < 0.7
    assert cal_tag.mean["TPC", "pi"][i] == pytest.approx(cal_true.mean["TPC", "pi"][i], abs=0.1)
    from o2ml.models.dann._eval import macro_f1

    f1_mc, f1_tag = macro_f1(truth, cal_mc.predict(data)), macro_f1(truth, cal_tag.predict(data))
    assert f1_tag > f1_mc and f1_tag > 0.9, (f1_mc, f1_tag)
    with pytest.raises(O2mlError, match="no track with a species label"):
        NsigmaPid.calibrate(data, np.full(len(data), -1))
