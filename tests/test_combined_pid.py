"""PID with missing detectors (notebook 06): the O2Physics PIDML tables as inputs (missing TOF and
TRD as pidMlProducer writes them), the gaps added to them, the four methods behind one interface,
the ONNX input contract, the domain-adversarial attention model, the published table measured here."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache

import numpy as np
import pandas as pd
import pytest
import torch

from o2ml.errors import (
    BadArgumentError,
    ColumnNotFoundError,
    EmptySelectionError,
    ModelFileError,
    NonFiniteError,
)
from o2ml.models import dann
from o2ml.models.combined import _nets as nets
from o2ml.models.combined import evaluate as ev
from o2ml.models.combined import inputs
from o2ml.models.combined.model import METHODS, CombinedConfig, CombinedPid, train_combined
from o2ml.physics import pid_tracks
from o2ml.schema import PID_TRACKS_DATA_ML, PID_TRACKS_MC_ML
from o2ml.toymc.pid import MISSING_DETECTORS, generate_pid, with_missing_detectors
from o2ml.toymc.pid_tables import pid_tables

pytestmark = pytest.mark.xdist_group("combined")
FAST = CombinedConfig(epochs=80, patience=3, batch_size=256)


@cache
def _pidml(n: int, seed: int, domain: str) -> pd.DataFrame:
    tracks = generate_pid(n, seed, domain, with_truth=True)
    table = (PID_TRACKS_MC_ML if domain == "mc" else PID_TRACKS_DATA_ML).name
    return pid_tables(tracks, seed, domain, with_truth=True)[table].drop(columns="_track")


def pidml(n: int, seed: int, domain: str = "mc") -> pd.DataFrame:
    """The PIDML table (PidTracksMcMl / PidTracksDataMl, with truth) of n synthetic tracks."""
    return _pidml(n, seed, domain).copy()


@pytest.fixture(scope="module")
def tracks():
    mc = with_missing_detectors(pidml(18_000, 5), 5, "mc")
    X, y = inputs.build_inputs(mc), inputs.labels(mc)
    part = np.random.default_rng(0).random(len(X))
    tr, va, te = part < 0.5, (part >= 0.5) & (part < 0.7), part >= 0.7
    return {"train": (X[tr], y[tr]), "val": (X[va], y[va]), "test": (X[te], y[te])}


@pytest.fixture(scope="module")
def trained(tracks):
    (X, y), (Xv, yv) = tracks["train"], tracks["val"]
    return {m: train_combined(m, (X, y), (Xv, yv), config=FAST) for m in METHODS}


# ------------------------------------------------------------------------------- the gaps
def test_missing_detectors_on_pidml_rows_follow_the_documented_rates():
    base = pidml(60_000, 1, "data")
    gaps = with_missing_detectors(base, 1, "data")
    assert list(gaps.columns) == list(base.columns) and gaps.dtypes.equals(base.dtypes)
    pd.testing.assert_frame_equal(gaps, with_missing_detectors(base, 1, "data"))
    had_tof, had_trd = base["fBeta"].notna(), base["fTRDPattern"] > 0
    lost_tof = had_tof & gaps["fBeta"].isna()
    lost_trd = had_trd & (gaps["fTRDPattern"] == 0)
    # written as pidMlProducer writes a missing detector: NaN, pattern 0
    assert gaps.loc[lost_tof, "fTOFSignal"].isna().all()
    assert gaps.loc[lost_trd, "fTRDSignal"].isna().all()
    assert (gaps["fTRDSignal"].isna() == (gaps["fTRDPattern"] == 0)).all()
    assert lost_tof.sum() > 0 and lost_trd.sum() > 0
    # nothing comes back, the TPC and the kinematics stay
    assert not (base["fBeta"].isna() & gaps["fBeta"].notna()).any()
    pd.testing.assert_frame_equal(
        gaps[["fTPCSignal", "fP", "fPx"]], base[["fTPCSignal", "fP", "fPx"]]
    )
    rates = MISSING_DETECTORS["data"]
    assert abs(lost_trd[had_trd].mean() - rates["TRD"]) < 0.01
    high = base["fPt"] > 2.0
    assert abs(lost_tof[had_tof & high].mean() - 2 * rates["TOF"]) < 0.04  # 2 x rate above 2 GeV/c
    assert lost_tof[had_tof & high].mean() > lost_tof[had_tof & ~high].mean()  # rises with pT
    mc_base = pidml(60_000, 1, "mc")
    mc = with_missing_detectors(mc_base, 1, "mc")
    for det, col in (("TOF", "fBeta"), ("TRD", "fTRDSignal")):
        assert MISSING_DETECTORS["mc"][det] < rates[det]  # data lose more than MC
        assert mc[col].isna().mean() - mc_base[col].isna().mean() < (
            gaps[col].isna().mean() - base[col].isna().mean()
        )
    with pytest.raises(ValueError, match="domain"):
        with_missing_detectors(base, 1, "Data")
    with pytest.raises(ColumnNotFoundError, match="fTRDPattern"):
        with_missing_detectors(base.drop(columns="fTRDPattern"), 1, "data")


def test_inputs_read_missing_tof_and_trd_from_nan_and_pattern_0():
    df = pidml(3000, 2)
    X = inputs.build_inputs(df)
    assert X.shape == (len(df), len(inputs.FEATURES)) == (len(df), 7) and X.dtype == np.float32
    a = inputs.available(X)
    np.testing.assert_array_equal(a["TOF"], df["fBeta"].notna())
    np.testing.assert_array_equal(a["TRD"], df["fTRDPattern"] > 0)
    assert 0 < a["TOF"].mean() < 1 and 0 < a["TRD"].mean() < 1
    np.testing.assert_array_equal(inputs.pattern(X), a["TOF"] * 1 + a["TRD"] * 2)
    for group in ("TOF", "TRD"):  # every feature of a missing detector is -999
        cols = [inputs.FEATURES.index(f) for f in inputs.GROUPS[group]]
        assert (X[~a[group]][:, cols] == inputs.MISSING).all()
        assert (X[a[group]][:, cols] > 0).all()
    # eta is derived from fPx, fPy, fPz; the TRD layers from fTRDPattern
    eta, phi = pid_tracks.eta_phi(df)
    np.testing.assert_allclose(X[:, inputs.FEATURES.index("eta")], eta, atol=1e-6)
    assert np.abs(eta).max() < 0.8 and ((phi >= 0) & (phi < 2 * np.pi)).all()  # global tracks
    np.testing.assert_allclose(np.sinh(eta), df["fPz"] / df["fPt"], rtol=1e-5)
    layers = X[a["TRD"], inputs.FEATURES.index("nTRDLayers")]
    assert set(np.unique(layers)) <= set(range(1, 7))
    np.testing.assert_array_equal(inputs.trd_layers(np.array([0, 1, 63, 0b101010])), [0, 1, 6, 3])
    assert set(inputs.DERIVED) == set(inputs.FEATURES) - set(df.columns)


def test_inputs_accept_older_minus_999_and_refuse_what_a_pidml_row_cannot_be():
    df = pidml(500, 3)
    X = inputs.build_inputs(df)
    old = df.copy()  # pidUtils.h: -999 for a missing TOF or Run 3 TRD signal
    signals = ["fBeta", "fTOFSignal", "fTRDSignal"]
    old[signals] = old[signals].fillna(-999.0)
    np.testing.assert_array_equal(inputs.build_inputs(old), X)
    one = df.copy()  # TOF missing when either of its columns is
    has = one["fBeta"].notna().to_numpy()
    one.loc[has, "fTOFSignal"] = np.nan
    assert not inputs.available(inputs.build_inputs(one))["TOF"].any()
    with pytest.raises(ColumnNotFoundError, match="fTRDPattern"):
        inputs.build_inputs(df.drop(columns="fTRDPattern"), source="my_pidml.root")
    bad = df.copy()
    bad.loc[bad.index[:3], "fTPCSignal"] = np.nan
    with pytest.raises(
        NonFiniteError, match=rf"my_pidml.root: 3 of {len(df)} tracks .* fTPCSignal"
    ):
        inputs.build_inputs(bad, source="my_pidml.root")
    with pytest.raises(EmptySelectionError):
        inputs.build_inputs(df.iloc[:0])


# ------------------------------------------------------------------------------- modules
def test_imputation_fills_only_the_gaps():
    X = torch.from_numpy(inputs.build_inputs(pidml(4000, 3)))
    transform = nets.Transform.fitted(X)
    z, present = transform(X)
    assert torch.all(z[present == 0] == 0)  # a gap is the mean (0) for mean imputation
    assert torch.all(present[:, inputs.FEATURES.index("fTPCSignal")] == 1)
    reg = nets.RegressionImputation(transform)
    reg.fit_imputation(X)
    beta = inputs.FEATURES.index("fBeta")
    assert reg.coef[:, beta].abs().sum() > 0  # beta depends on p: the regression learned it


def test_the_ensemble_routes_rare_patterns_to_a_trained_sub_pattern():
    ens = nets.PatternEnsemble(nets.Transform())
    assert len(ens.nets) == 4  # TOF x TRD; the TPC is always there
    ens.set_trained([0, 2])
    assert ens.route.tolist() == [0, 0, 2, 2]
    ens.set_trained([0, 1, 2])
    assert ens.route.tolist() == [0, 1, 2, 2]


def test_attention_ignores_a_missing_detector_s_values():
    X = torch.from_numpy(inputs.build_inputs(pidml(800, 4)))
    model = nets.FSEAttention(nets.Transform.fitted(X)).eval()
    no_trd = X[:, inputs.FEATURES.index("fTRDSignal")] < 0
    no_tof = X[:, inputs.FEATURES.index("fBeta")] < 0
    other = X.clone()
    # the first feature says the TRD is missing: its other features may hold anything
    other[no_trd, inputs.FEATURES.index("nTRDLayers")] = 5.0
    other[no_tof, inputs.FEATURES.index("fBeta")] = float("nan")  # NaN is missing as -999 is
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
    assert set(trained["ensemble"].history["pattern"]) == {0, 1, 2, 3}


def test_save_load_and_onnx_parity(tmp_path, trained, tracks):
    from o2ml.onnx import read_metadata, run, session

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


def test_the_onnx_input_contract(tmp_path, trained, tracks):
    """float32 [batch, 7] in FEATURES order; a missing TOF or TRD as NaN (pidMlProducer,
    pidOnnxModel.h) or -999, decided by the group's first feature; probabilities [batch, 4]."""
    import onnx

    from o2ml.onnx import read_metadata, run, session

    X = tracks["test"][0][:2000]
    a = inputs.available(X)
    assert (~a["TOF"]).any() and (~a["TRD"]).any()
    with_nan = X.copy()
    with_nan[with_nan == inputs.MISSING] = np.nan  # the PIDML values as they are
    only_first = X.copy()  # only the first feature marks the TRD missing
    only_first[~a["TRD"], inputs.FEATURES.index("nTRDLayers")] = 0.0
    for method, model in trained.items():
        path = tmp_path / f"{method}.onnx"
        model.to_onnx(path)
        graph = onnx.load(str(path)).graph
        assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim][1:] == [7]
        assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        assert [o.name for o in graph.output] == ["probabilities"]
        sess, expected = session(path), model.predict_proba(X)
        for variant in (with_nan, only_first):
            got = run(sess, variant)
            assert np.isfinite(got).all() and np.abs(got - expected).max() <= 1e-5, method
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
        meta = read_metadata(path)
        assert meta["features"] == inputs.FEATURES == [
            "fP", "eta", "fSign", "fTPCSignal", "fBeta", "fTRDSignal", "nTRDLayers"
        ]  # fmt: skip
        assert meta["missing_value"] == -999.0 and "NaN" in meta["missing"]
        assert meta["derived"] == inputs.DERIVED
        assert meta["class_labels"] == ["e", "pi", "K", "p"]


def test_training_is_reproducible_and_checks_its_input(tracks):
    (X, y), (Xv, yv) = tracks["train"], tracks["val"]
    cfg = CombinedConfig(epochs=2, hidden=(8,))
    a, b = (train_combined("mean", (X[:3000], y[:3000]), (Xv, yv), config=cfg) for _ in range(2))
    for va, vb in zip(a.module.state_dict().values(), b.module.state_dict().values(), strict=True):
        assert torch.equal(va, vb)
    with pytest.raises(BadArgumentError, match="Unknown method"):
        train_combined("median", (X, y), (Xv, yv))
    with pytest.raises(BadArgumentError, match="labels for"):
        train_combined("mean", (X, y[:-1]), (Xv, yv))
    with pytest.raises(BadArgumentError, match="attention"):
        train_combined("mean", (X, y), (Xv, yv), data=Xv, config=CombinedConfig(lambda_max=1.0))
    with pytest.raises(BadArgumentError, match="Unknown combined-PID settings"):
        CombinedConfig.from_dict({"epoch": 3})


def test_domain_adversarial_attention_trains_a_domain_head(tracks):
    (X, y), (Xv, yv) = tracks["train"], tracks["val"]
    data = inputs.build_inputs(with_missing_detectors(pidml(4000, 6, "data"), 6, "data"))
    cfg = CombinedConfig(epochs=2)
    model = train_combined(
        "attention", (X[:4000], y[:4000]), (Xv, yv), data=data, config=replace(cfg, lambda_max=1.0)
    )
    plain = train_combined("attention", (X[:4000], y[:4000]), (Xv, yv), config=cfg)
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
    assert 0.5 < ev.case_deletion_share(X) < 1.0  # most tracks lack the TOF or the TRD


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


# ------------------------------------------------------------------------- over seeds (repeat)
def _runs(n_seeds: int, gap: float = 0.02, noise: float = 0.001) -> pd.DataFrame:
    """Per-seed F1 of four methods: attention ahead by ``gap`` for K, all equal for pi and p."""
    rng = np.random.default_rng(4)
    rows = {}
    for s in range(1, n_seeds + 1):
        scores = {}
        for m in ("mean", "regression", "ensemble", "attention"):
            k = 0.80 + (gap if m == "attention" else 0.0)
            scores[("MC", m)] = {"pi": 0.98 + rng.normal(0, noise), "p": 0.92 + rng.normal(0, noise),
                                 "K": k + rng.normal(0, noise)}  # fmt: skip
        scores[("data", "attention + DANN")] = {"pi": 0.9, "p": 0.8 + 0.01 * s, "K": 0.7}
        scores[("data", "attention")] = {"pi": 0.9, "p": 0.8, "K": 0.65}
        rows[s] = ev.seed_metrics(scores)
    from o2ml.models import repeat

    return ev.long_table(repeat.over_seeds(lambda s: rows[s], list(rows)))


def test_the_seed_table_winners_and_resolution_rest_on_the_seeds():
    runs = _runs(4)
    assert set(runs.columns) >= {"seed", "regime", "method", "pi", "p", "K"} and len(runs) == 4 * 6
    table = ev.seed_table(runs, "MC")
    assert table.loc["attention + FSE", ("K", "measured")].startswith("0.82")
    assert table.loc["attention + FSE", ("K", "published")] == "0.8581"
    assert table.loc["case deletion", ("π", "measured")] == "−" and table.attrs["n_seeds"] == 4
    w = ev.winners(runs, "MC").set_index("species")
    assert w.loc["K", "best"] == "attention" and w.loc["K", "leads"] and not w.loc["K", "ties"]
    assert len(w.loc["K", "beats"]) == 3 and not w.loc["K", "smoke"]
    assert not w.loc["pi", "leads"] and w.loc["pi", "ties"]  # equal methods: a tie
    assert ev.published_margins() == {"pi": 0.0006, "p": 0.008, "K": 0.0111}
    r = ev.resolution(runs, "MC").set_index("species")
    assert r.loc["K", "resolved"] and not r.loc["pi", "resolved"]  # 0.0006 < noise ~0.0014
    assert (r["resolved"] == (r["published_margin"] > r["measured_spread"])).all()
    g = ev.paired_gain(runs, "data", "attention + DANN", "attention").set_index("species")
    assert g.loc["K", "verdict"] == "gain" and g.loc["K", "gain"] == pytest.approx(0.05)
    assert g.loc["pi", "verdict"] == "tie" and g.loc["p", "gain_std"] > 0
    smoke = ev.winners(_runs(2), "MC")
    assert smoke["smoke"].all() and (smoke["n"] == 2).all()
    with pytest.raises(BadArgumentError, match="regime"):
        ev.seed_table(runs, "nowhere")


def test_the_harder_regime_keeps_the_window_and_loses_more_detectors(tracks):
    X, y = tracks["test"]
    Xh, yh = ev.harder_regime(X, y, p_range=(0.8, 2.0), drop={"TOF": 0.7, "TRD": 0.5}, seed=1)
    p = Xh[:, inputs.FEATURES.index("fP")]
    assert len(Xh) == len(yh) > 0 and (p >= 0.8).all() and (p < 2.0).all()
    window = (X[:, 0] >= 0.8) & (X[:, 0] < 2.0)
    before, after = inputs.available(X[window]), inputs.available(Xh)
    assert after["TOF"].mean() == pytest.approx(before["TOF"].mean() * 0.3, abs=0.05)
    assert after["TRD"].mean() < before["TRD"].mean() * 0.6
    trd = [inputs.FEATURES.index(f) for f in inputs.GROUPS["TRD"]]
    assert (Xh[~after["TRD"]][:, trd] == inputs.MISSING).all()  # every feature of a lost detector
    again, _ = ev.harder_regime(X, y, p_range=(0.8, 2.0), drop={"TOF": 0.7, "TRD": 0.5}, seed=1)
    assert np.array_equal(Xh, again) and not np.shares_memory(Xh, X)
    f1 = ev.f1_scores(yh, yh)
    assert f1 == {"pi": 1.0, "p": 1.0, "K": 1.0}
    with pytest.raises(BadArgumentError, match="drop"):
        ev.harder_regime(X, y, drop={"ITS": 0.5})
    with pytest.raises(BadArgumentError, match="no track"):
        ev.harder_regime(X, y, p_range=(50.0, 60.0))
