"""PID with missing detectors (notebook 06): the gaps of the synthetic tracks, the inputs, the four
methods behind one interface, the domain-adversarial attention model, the published table measured here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from o2ml.errors import BadArgumentError, ColumnNotFoundError, ModelFileError
from o2ml.models import dann
from o2ml.models.combined import evaluate as ev
from o2ml.models.combined import inputs, nets
from o2ml.models.combined.model import CombinedConfig, CombinedPid, train_combined
from o2ml.toymc.pid import MISSING_DETECTORS, generate_pid, with_missing_detectors

pytestmark = pytest.mark.xdist_group("combined")
FAST = {"epochs": 40, "patience": 3, "batch_size": 256}


@pytest.fixture(scope="module")
def tracks():
    mc = with_missing_detectors(generate_pid(16_000, 5, "mc"), 5, "mc")
    X, y = inputs.build_inputs(mc), inputs.labels(mc)
    part = np.random.default_rng(0).random(len(X))
    tr, va, te = part < 0.5, (part >= 0.5) & (part < 0.7), part >= 0.7
    return {"train": (X[tr], y[tr]), "val": (X[va], y[va]), "test": (X[te], y[te])}


@pytest.fixture(scope="module")
def trained(tracks):
    (X, y), (Xv, yv) = tracks["train"], tracks["val"]
    return {m: train_combined(m, (X, y), (Xv, yv), **FAST) for m in nets.METHODS}


# ------------------------------------------------------------------------------- the gaps
def test_missing_detectors_follow_the_documented_rates_and_keep_a_pid_detector():
    base = generate_pid(40_000, 1, "data")
    gaps = with_missing_detectors(base, 1, "data")
    assert list(gaps.columns) == list(base.columns) and gaps.dtypes.equals(base.dtypes)
    pd.testing.assert_frame_equal(gaps, with_missing_detectors(base, 1, "data"))
    no_tpc = (gaps["fTPCSignal"] == -999).mean()
    no_its = (gaps["fITSClusterSizes"] == 0).mean()
    assert abs(no_tpc - MISSING_DETECTORS["data"]["TPC"]) < 0.005
    assert abs(no_its - MISSING_DETECTORS["data"]["ITS"]) < 0.01
    lost = (base["fBeta"] > 0) & (gaps["fBeta"] == -999)
    high = base["fPt"] > 2.0
    assert lost[high].mean() > lost[~high & (base["fPt"] > 0.6)].mean()  # rises with pT
    assert (gaps.loc[lost, "fTOFNSigmaPi"] == -999).all()
    x = inputs.build_inputs(gaps)
    a = inputs.available(x)
    assert (a["TPC"] | a["TOF"] | a["ITS"]).all()
    mc = with_missing_detectors(generate_pid(40_000, 1, "mc"), 1, "mc")
    assert (mc["fITSClusterSizes"] == 0).mean() < no_its  # data lose more
    with pytest.raises(ValueError, match="domain"):
        with_missing_detectors(base, 1, "Data")


def test_inputs_mark_missing_detectors_and_their_pattern():
    df = generate_pid(200, 2, "mc")
    X = inputs.build_inputs(df)
    assert X.shape == (200, len(inputs.FEATURES)) and X.dtype == np.float32
    tof = X[:, inputs.FEATURES.index("fBeta")] > 0
    np.testing.assert_array_equal(inputs.available(X)["TOF"], tof)
    np.testing.assert_array_equal(inputs.pattern(X) & 2, 2 * tof)
    with pytest.raises(ColumnNotFoundError, match="fTOFNSigmaKa"):
        inputs.build_inputs(df.drop(columns="fTOFNSigmaKa"), source="my_tracks.root")


# ------------------------------------------------------------------------------- modules
def test_imputation_fills_only_the_gaps():
    X = torch.from_numpy(inputs.build_inputs(generate_pid(3000, 3, "mc")))
    transform = nets.Transform.fitted(X)
    z, present = transform(X)
    assert torch.all(z[present == 0] == 0)  # a gap is the mean (0) for mean imputation
    reg = nets.RegressionImputation(transform)
    reg.fit_imputation(X)
    beta = inputs.FEATURES.index("fBeta")
    assert reg.coef[:, beta].abs().sum() > 0  # beta depends on p: the regression learned it


def test_the_ensemble_routes_rare_patterns_to_a_trained_sub_pattern():
    ens = nets.PatternEnsemble(nets.Transform())
    ens.set_trained([0, 1, 5])
    assert ens.route.tolist() == [0, 1, 0, 1, 0, 5, 0, 5]


def test_attention_ignores_a_missing_detector_s_values():
    X = torch.from_numpy(inputs.build_inputs(generate_pid(500, 4, "mc")))
    model = nets.FSEAttention(nets.Transform.fitted(X)).eval()
    no_tof = X[:, inputs.FEATURES.index("fBeta")] < 0
    other = X.clone()
    # change the -999 TOF nsigma of tracks without TOF: nothing may move (still "missing")
    other[no_tof, inputs.FEATURES.index("fTOFNSigmaPi")] = -5000.0
    with torch.no_grad():
        torch.testing.assert_close(model(X), model(other))


# ------------------------------------------------------------------------------- models
def test_every_method_learns_and_converges(trained, tracks):
    X, y = tracks["test"]
    for method, model in trained.items():
        acc = np.mean(model.predict(X) == y)
        assert acc > 0.95, (method, acc)
        h = model.history
        stopped = h.groupby(h["pattern"] if "pattern" in h else np.zeros(len(h)))[
            "stopped_early"
        ].all()
        assert stopped.all(), method
    assert set(trained["ensemble"].history["pattern"]) >= {0, 5, 7}


def test_save_load_and_onnx_parity(tmp_path, trained, tracks):
    from o2ml.export.onnx import read_metadata, run, session

    X = tracks["test"][0][:3000]
    for method, model in trained.items():
        back = CombinedPid.load(model.save(tmp_path / f"{method}.pt"))
        np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
        path = tmp_path / f"{method}.onnx"
        model.to_onnx(path)
        assert np.abs(run(session(path), X) - model.predict_proba(X)).max() <= 1e-5, method
        assert read_metadata(path)["features"] == inputs.FEATURES
    (tmp_path / "x.pt").write_bytes(b"")
    (tmp_path / "x.meta.json").write_text(json.dumps({"model": "o2ml.models.tpc.network"}))
    with pytest.raises(ModelFileError, match="combined-PID"):
        CombinedPid.load(tmp_path / "x.pt")
    meta = {"model": "o2ml.models.combined", "features": inputs.FEATURES}
    (tmp_path / "x.meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"lacks \['config', 'method'\]"):
        CombinedPid.load(tmp_path / "x.pt")
    (tmp_path / "x.meta.json").write_text(json.dumps({**meta, "method": "mean", "config": {}}))
    with pytest.raises(ModelFileError, match="not a state_dict"):
        CombinedPid.load(tmp_path / "x.pt")


def test_training_is_reproducible_and_checks_its_input(tracks):
    (X, y), (Xv, yv) = tracks["train"], tracks["val"]
    kw = {"epochs": 2, "hidden": (8,)}
    a, b = (train_combined("mean", (X[:3000], y[:3000]), (Xv, yv), **kw) for _ in range(2))
    for va, vb in zip(a.module.state_dict().values(), b.module.state_dict().values(), strict=True):
        assert torch.equal(va, vb)
    with pytest.raises(BadArgumentError, match="Unknown method"):
        train_combined("median", (X, y), (Xv, yv))
    with pytest.raises(BadArgumentError, match="labels for"):
        train_combined("mean", (X, y[:-1]), (Xv, yv))
    with pytest.raises(BadArgumentError, match="attention"):
        train_combined("mean", (X, y), (Xv, yv), data=Xv, lambda_max=1.0)
    with pytest.raises(BadArgumentError, match="Unknown combined-PID settings"):
        CombinedConfig.from_dict({"epoch": 3})


def test_domain_adversarial_attention_trains_a_domain_head(tracks):
    (X, y), (Xv, yv) = tracks["train"], tracks["val"]
    data = inputs.build_inputs(with_missing_detectors(generate_pid(4000, 6, "data"), 6, "data"))
    model = train_combined(
        "attention", (X[:4000], y[:4000]), (Xv, yv), data=data, lambda_max=1.0, epochs=2
    )
    plain = train_combined("attention", (X[:4000], y[:4000]), (Xv, yv), epochs=2)
    assert not torch.equal(model.module.head[0].weight, plain.module.head[0].weight)


# ------------------------------------------------------------------------------- table
def test_the_table_has_the_published_rows_and_columns(trained, tracks):
    X, y = tracks["test"]
    preds = {m: model.predict(X) for m, model in trained.items()}
    table = ev.comparison_table(y, preds)
    published = ev.published_table()
    assert list(table.index) == list(published.index) == list(ev.ROWS)
    assert list(table.columns) == list(published.columns)
    assert table.loc["case deletion"].isna().all() and published.loc["case deletion"].isna().all()
    assert published.loc["attention + FSE", ("π", "F1")] == 0.9835
    t = dann.species_scores(y, preds["mean"])
    assert table.loc["mean", ("K", "F1")] == pytest.approx(t.loc["K", "F1"])
    both = ev.side_by_side(table, ours_label="ours", published_label="published")
    assert both.index[0] == ("mean", "ours") and both.index[1] == ("mean", "published")
    assert 0.5 < ev.case_deletion_share(X) < 1.0  # most tracks lack TOF


def test_the_bootstrap_names_the_winner_and_its_certainty():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 4, 5000)
    good = np.where(rng.random(5000) < 0.95, y, (y + 1) % 4)
    bad = np.where(rng.random(5000) < 0.85, y, (y + 1) % 4)
    wins = ev.f1_bootstrap(y, {"good": good, "bad": bad}, n=100)
    assert (wins["winner"] == "good").all() and (wins["p_win"] == 1.0).all()
    tie = ev.f1_bootstrap(y, {"a": good, "b": good.copy()}, n=50)
    assert (tie["margin"] == 0).all()
    with pytest.raises(BadArgumentError, match="two methods"):
        ev.f1_bootstrap(y, {"a": good})
