"""o2ml.models.autoencoder: quality on the Λc sample, ONNX parity, determinism, storage, Optuna."""

from __future__ import annotations

import mmap
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
import xgboost as xgb

from o2ml import onnx as ox
from o2ml import profiling, selection
from o2ml.channels import lc
from o2ml.errors import ColumnNotFoundError, NonFiniteError, O2mlError, OutputExistsError
from o2ml.models import autoencoder as ae
from o2ml.models import bdt, training
from o2ml.toymc.generate import ensure_sample

torch.set_num_threads(1)  # shared 2-core machine: one thread avoids OpenMP contention
FEATURES = lc.FEATURES
SMALL = ae.AutoencoderConfig(hidden=(16, 8), bottleneck=4, epochs=2, batch_size=512)


@pytest.fixture(scope="module")
def lc_default():
    """The default (non-fast) Λc sample, subsampled to keep the test under a minute."""
    s = ensure_sample("lc", fast=False)
    data = selection.read_candidates(s.data, "HfCandLcLites", FEATURES)
    mc = selection.read_candidates(s.mc, "HfCandLcLites", FEATURES, kind="mc")
    rng = np.random.default_rng(0)
    bkg = data[lc.sidebands(data["fM"])]
    bkg = bkg.iloc[np.sort(rng.choice(len(bkg), 60_000, replace=False))]
    test_bkg = data[lc.signal_region(data["fM"])].iloc[:20_000]
    sig = mc[lc.signal_region(mc["fM"])]
    return data, mc, bkg, test_bkg, sig


def _toy(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    x[:, 3] = np.where(rng.random(n) < 0.2, -999.0, x[:, 3] * 3)
    return pd.DataFrame(x, columns=["fA", "fB", "fC", "fNSigTofPr0"])


@pytest.mark.slow
def test_autoencoder_beats_random_and_signal_has_larger_mse(lc_default):
    _, _, bkg, test_bkg, sig = lc_default
    cfg = ae.AutoencoderConfig(epochs=8)
    model = ae.fit(bkg, FEATURES, cfg, seed=1, clip=lc.nsigma_clip(FEATURES), progress=False)
    s, b = model.predict(sig), model.predict(test_bkg)
    assert selection.roc_auc(s, b) > 0.8
    assert s.mean() > b.mean()
    assert len(model.history["val_loss"]) >= 1


@pytest.mark.slow
def test_bdt_beats_random(lc_default):
    data, mc, *_ = lc_default
    ts = training.sideband_training_set(
        data, mc, FEATURES, signal_region=lc.SIGNAL_REGION, sidebands=lc.SIDEBANDS,
        max_candidates=(20_000, 40_000),
    )  # fmt: skip
    assert np.isclose(ts.w_train[ts.y_train == 1].sum(), ts.w_train[ts.y_train == 0].sum())
    clf = xgb.XGBClassifier(n_estimators=100, max_depth=4, n_jobs=1, random_state=1)
    clf.fit(ts.x_train, ts.y_train, sample_weight=ts.w_train)
    p = clf.predict_proba(ts.x_test)[:, 1]
    assert selection.roc_auc(p[ts.y_test == 1], p[ts.y_test == 0]) > 0.8


def test_onnx_output_is_the_mse(tmp_path):
    df = _toy()
    feats = list(df.columns)
    model = ae.fit(df, feats, SMALL, seed=3, clip=lc.nsigma_clip(feats), progress=False)
    path = tmp_path / "ae.onnx"
    model.to_onnx(path, pt_bin=(2, 4))
    sess = ox.session(path)
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert [o.name for o in sess.get_outputs()] == ["mse"]
    x = df.to_numpy(np.float32)
    onnx_mse = ox.run(sess, x)
    assert onnx_mse.shape == (len(x),)
    np.testing.assert_allclose(onnx_mse, model.predict(df), atol=1e-5, rtol=0)
    meta = ox.read_metadata(path)
    assert meta["features"] == feats and meta["class_labels"] == ["mse"]
    assert meta["pt_bin"] == [2.0, 4.0] and meta["seed"] == 3
    assert meta["clip"]["fNSigTofPr0"] == [-10.0, 10.0]
    with pytest.raises(OutputExistsError):
        model.to_onnx(path)


def test_same_seed_is_bit_identical_and_other_seed_differs():
    df = _toy()
    feats = list(df.columns)
    a, b, c = (ae.fit(df, feats, SMALL, seed=s, progress=False) for s in (7, 7, 8))
    for k, v in a.net.state_dict().items():
        assert torch.equal(v, b.net.state_dict()[k]), k
    assert a.history == b.history
    assert np.array_equal(a.predict(df), b.predict(df))
    assert not np.array_equal(a.predict(df), c.predict(df))


def test_scaling_is_min_max_of_training_sample_and_mse_matches_definition():
    df = _toy()
    feats = list(df.columns)
    clip = lc.nsigma_clip(feats)
    model = ae.fit(df, feats, SMALL, seed=1, clip=clip, progress=False)
    x = np.clip(df.to_numpy(np.float32), [-np.inf] * 3 + [-10], [np.inf] * 3 + [10]).astype(
        np.float32
    )
    lo, hi = model.net.x_min.numpy(), model.net.x_max.numpy()
    assert lo[3] == -10.0  # the -999 of a missing TOF ends at the clip value
    assert np.all(lo >= x.min(axis=0)) and np.all(hi <= x.max(axis=0))
    scaled = (x - lo) / (hi - lo)
    with torch.no_grad():
        rec = model.net.decoder(model.net.encoder(torch.from_numpy(scaled))).numpy()
    np.testing.assert_allclose(((scaled - rec) ** 2).mean(axis=1), model.predict(df), rtol=1e-5)


def test_save_and_load_round_trip(tmp_path):
    df = _toy()
    feats = list(df.columns)
    model = ae.fit(df, feats, SMALL, seed=2, clip=lc.nsigma_clip(feats), progress=False)
    path = model.save(tmp_path / "ae.pt")
    assert path.with_suffix(".meta.json").exists()
    back = ae.AutoencoderModel.load(path)
    assert back.features == feats and back.config == model.config and back.seed == 2
    assert back.clip == model.clip
    np.testing.assert_array_equal(back.predict(df), model.predict(df))
    with pytest.raises(OutputExistsError):
        model.save(path)
    with pytest.raises(O2mlError, match=".pt"):
        model.save(tmp_path / "ae.pkl")
    with pytest.raises(FileNotFoundError):
        ae.AutoencoderModel.load(tmp_path / "missing.pt")
    # a sidecar under o2ml 0.1's name is not read silently: the error says how to fix it
    path.with_suffix(".meta.json").rename(path.with_suffix(".json"))
    with pytest.raises(FileNotFoundError, match=r"found ae\.json: rename it to ae\.meta\.json"):
        ae.AutoencoderModel.load(path)


def test_user_errors_name_what_is_wrong():
    df = _toy()
    with pytest.raises(ColumnNotFoundError, match="fMissing"):
        ae.fit(df, ["fA", "fMissing"], SMALL, progress=False)
    bad = df.copy()
    bad.loc[3, "fB"] = np.nan
    with pytest.raises(NonFiniteError, match="fB"):
        ae.fit(bad, list(df.columns), SMALL, progress=False)
    model = ae.fit(df, list(df.columns), SMALL, progress=False)
    with pytest.raises(O2mlError, match="shape"):
        model.predict(np.zeros((3, 2)))


def test_optuna_study_is_persistent(tmp_path):
    df = _toy(2000)
    feats = list(df.columns)
    sig = _toy(300, seed=9) * 2
    storage = tmp_path / "optuna.db"
    # a tolerance of 50 %: every training converges after 2 epochs
    kw = dict(signal=sig, config=ae.AutoencoderConfig(epochs=20, patience=1, min_delta=0.5))
    search = bdt.Search(n_trials=2, storage=storage, study_name="ae", seed=1)
    study = ae.optimize(df, feats, search, **kw)
    assert len(study.trials) == 2
    study = ae.optimize(df, feats, replace(search, n_trials=1), **kw)
    assert len(study.trials) == 3
    cfg = ae.best_config(study, config=ae.AutoencoderConfig(epochs=5))
    assert cfg.epochs == 5 and len(cfg.hidden) == 2


def test_a_trial_cut_by_the_epoch_limit_is_pruned_and_none_left_is_an_error():
    """A trial whose training did not converge scores an unfinished model: Optuna prunes it,
    and best_config refuses a study without a finished training (names the study, says what
    to change)."""
    import optuna

    df, sig = _toy(2000), _toy(300, seed=9) * 2
    search = bdt.Search(n_trials=2, storage=None, seed=1)
    study = ae.optimize(
        df, list(df.columns), search, signal=sig, config=ae.AutoencoderConfig(epochs=2)
    )
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.PRUNED}
    with pytest.raises(O2mlError, match="none of its 2 trials.*raise epochs"):
        ae.best_config(study)


def test_measure_reports_time_and_memory():
    table = profiling.CostTable()
    size = 160 * 2**20
    with table.measure("AE", "training", n=10) as m:
        # an anonymous mmap of our own, every byte written, so resident: np.ones from malloc can
        # reuse freed heap that is already resident (it did in CI, where an earlier test in the
        # same worker had freed memory and a library had raised glibc's mmap threshold)
        block = mmap.mmap(-1, size)
        np.frombuffer(block, dtype=np.uint8)[:] = 1
        time.sleep(0.5)  # samples of the 10 ms sampler, even on a loaded machine (flaked at 0.05)
        block.close()
    assert m.peak_rss_gib - m.start_rss_gib > 0.8 * size / 2**30, m
    assert m.wall_s >= 0.5
    frame = table.frame()
    assert frame.loc[("AE", "training"), "n"] == 10


def test_early_stopping_ends_a_converged_training_and_the_epoch_limit_does_not_count():
    """converged: early stopping (patience epochs within min_delta of the best) ended it; a
    training cut by the epoch limit while the loss still falls is not converged."""
    x = _toy(4000)
    feats = list(x.columns)
    cut = ae.fit(x, feats, ae.AutoencoderConfig(hidden=(8,), bottleneck=2, epochs=3,
                                                 learning_rate=1e-4), progress=False)  # fmt: skip
    assert len(cut.history["val_loss"]) == 3 and not cut.converged
    cfg = ae.AutoencoderConfig(hidden=(8,), bottleneck=2, epochs=400, patience=4, min_delta=1e-2,
                               learning_rate=1e-2, batch_size=256)  # fmt: skip
    done = ae.fit(x, feats, cfg, progress=False)
    val = done.history["val_loss"]
    assert done.converged and len(val) < 400
    assert min(val[-4:]) >= min(val[:-4]) * (1 - 1e-2) - 1e-7  # the last 4 epochs gained < 1 %
    assert val[done.best_epoch - 1] == min(val)
