"""o2ml.models.bdt: hipe4ml training sets, Optuna with a persistent study, XGBoost JSON storage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from o2ml import errors, schema
from o2ml.models import bdt
from o2ml.schema import CharmClass, PtBin

FEATURES = ["fCpa", "fDecayLength", "fAbsCos3PiK"]
#: the Ds sidebands (generic code takes them from the caller)
SB = (1.75, 2.1)


def toy_samples(seed: int = 0, n: int = 6000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "fM": rng.uniform(1.65, 2.25, n),
            "fPt": rng.uniform(1, 8, n),
            "fCpa": rng.normal(0.9, 0.05, n),
            "fDecayLength": rng.exponential(0.01, n),
            "fAbsCos3PiK": rng.uniform(0, 1, n),
        }
    )
    origin = rng.integers(1, 3, n)
    mc = pd.DataFrame(
        {
            "fM": rng.normal(1.968, 0.01, n),
            "fPt": rng.uniform(1, 8, n),
            "fCpa": rng.normal(0.97, 0.02, n),
            "fDecayLength": rng.exponential(0.02, n) * origin,
            "fAbsCos3PiK": rng.uniform(0, 1, n) ** 0.5,
            "fOriginMcRec": origin.astype(np.int8),
        }
    )
    return data, mc


def test_pt_bins_and_selection():
    bins = schema.pt_bins([2, 4, 6, 12])
    assert [b.label for b in bins] == ["2-4", "4-6", "6-12"]
    assert bins[0].selection == "fPt >= 2.0 and fPt < 4.0"


def test_class_handlers_take_sidebands_and_mc_origins():
    data, mc = toy_samples()
    handlers = bdt.class_handlers(data, mc, PtBin(2, 4), sidebands=SB)
    bkg = handlers[CharmClass.BACKGROUND].get_data_frame()
    assert ((bkg.fM < 1.75) | (bkg.fM > 2.1)).all() and bkg.fPt.between(2, 4).all()
    assert (handlers[CharmClass.PROMPT].get_data_frame().fOriginMcRec == 1).all()
    assert (handlers[CharmClass.NONPROMPT].get_data_frame().fOriginMcRec == 2).all()
    _, y_train, _, y_test = bdt.balanced_train_test(handlers, seed=1)
    counts = np.bincount(np.concatenate([y_train, y_test]))
    assert counts.min() == counts.max() == min(h.get_n_cand() for h in handlers.values())


def test_empty_class_is_a_clear_error():
    data, mc = toy_samples()
    with pytest.raises(errors.EmptySelectionError, match="No prompt candidate passes"):
        bdt.class_handlers(data, mc[mc.fOriginMcRec == 2], PtBin(2, 4), sidebands=SB)


def test_train_save_load_round_trip_and_determinism(tmp_path):
    data, mc = toy_samples()
    tt = bdt.balanced_train_test(bdt.class_handlers(data, mc, PtBin(2, 4), sidebands=SB), seed=3)
    preds = []
    for _ in range(2):
        mh = bdt.model_handler(FEATURES, {"n_estimators": 40}, seed=3)
        mh.fit(tt[0], tt[1])
        preds.append(mh.predict(tt[2], output_margin=False))
    assert np.array_equal(preds[0], preds[1])  # same seed, same result, bit for bit
    path = bdt.save_model(
        mh, tmp_path / "model.json", features=FEATURES, pt_bin=PtBin(2, 4), seed=3
    )
    clf, meta = bdt.load_model(path)
    assert np.array_equal(clf.predict_proba(tt[2][FEATURES]), preds[0])
    assert meta["features"] == FEATURES and meta["class_labels"] == [
        "background",
        "prompt",
        "nonprompt",
    ]
    assert meta["pt_bin"] == [2.0, 4.0] and meta["params"]["n_estimators"] == 40
    with pytest.raises(errors.OutputExistsError):
        bdt.save_model(mh, path, features=FEATURES)
    with pytest.raises(errors.O2mlError, match="use a .json extension"):
        bdt.save_model(mh, tmp_path / "model.pkl", features=FEATURES)
    with pytest.raises(errors.InputFileNotFoundError, match="nope.meta.json"):
        bdt.load_model(tmp_path / "nope.json")


def test_optuna_study_persists_and_resumes(tmp_path):
    data, mc = toy_samples()
    tt = bdt.balanced_train_test(
        bdt.class_handlers(data, mc, PtBin(2, 4), sidebands=SB), seed=0, max_per_class=300
    )
    ranges = {"max_depth": (2, 4), "n_estimators": (10, 30)}
    db = tmp_path / "study.db"
    mh = bdt.model_handler(FEATURES, seed=0)
    search = bdt.Search(n_trials=2, storage=db, study_name="ds", ranges=ranges)
    study = bdt.optimize(mh, tt, search)
    assert db.exists() and len(study.trials) == 2
    again = bdt.optimize(bdt.model_handler(FEATURES, seed=0), tt, search)
    assert len(again.trials) == 4  # resumed from the SQLite file, not restarted
    assert mh.get_model_params()["max_depth"] == study.best_params["max_depth"]
    # the stored value is what it says: hipe4ml's objective, the mean 3-fold CV ROC AUC (ovo)
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    handler = bdt.model_handler(FEATURES, seed=0)
    clf = handler.get_original_model().set_params(
        **{**handler.get_model_params(), **study.best_params}
    )
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=42)
    cv = cross_val_score(clf, tt[0][FEATURES], tt[1], cv=folds, scoring="roc_auc_ovo")
    assert study.best_value == pytest.approx(cv.mean(), abs=1e-12)
    assert study.best_value > 0.8  # the toy classes differ in cpa and decay length (toy_samples)


def test_study_names_encode_the_settings_so_reruns_repeat_themselves(tmp_path):
    """Re-running with the same settings finds the finished study (no trial added, same model);
    other settings (here another training set) get a study of their own, never a top-up."""
    from o2ml.models import training

    data, mc = toy_samples()
    db = str(tmp_path / "optuna.db")
    kw = dict(sidebands=SB, settings=training.TrainSettings(
        seed=3, max_per_class=400, n_trials=3, storage=db, optuna_per_class=200,
        ranges={"max_depth": (2, 3), "n_estimators": (5, 15)},
    ))  # fmt: skip
    first = training.train_bin(data, mc, PtBin(2, 4), FEATURES, **kw)
    again = training.train_bin(data, mc, PtBin(2, 4), FEATURES, **kw)
    assert first.study.study_name == again.study.study_name
    assert first.study.study_name.startswith("bdt_2-4-")
    assert len(again.study.trials) == 3  # finished: nothing added
    assert again.study.best_params == first.study.best_params
    x = first.train_test[2][FEATURES]
    np.testing.assert_array_equal(first.model.predict(x), again.model.predict(x))
    other = training.train_bin(data.iloc[::2], mc, PtBin(2, 4), FEATURES, **kw)
    assert other.study.study_name != first.study.study_name and len(other.study.trials) == 3
    # an interrupted study (here: 1 of 3 trials) is completed, not restarted
    name, todo = bdt.stored_study("x", {"a": 1}, 3, db)
    assert (name, todo) == (bdt.study_name("x", {"a": 1}), 3)
    bdt.optimize(bdt.model_handler(FEATURES, seed=0), first.train_test,
                 bdt.Search(n_trials=1, storage=db, study_name=name, ranges=kw["settings"].ranges))  # fmt: skip
    assert bdt.stored_study("x", {"a": 1}, 3, db) == (name, 2)
    assert bdt.study_name("x", {"a": 1}) != bdt.study_name("x", {"a": 2})


def test_a_wall_time_budget_runs_until_spent_and_a_rerun_adds_nothing(tmp_path):
    """tuning_plan(budget_s=...): trials until the budget is spent (Optuna's timeout), the
    study marked spent, and the same settings again run no trial (same best parameters)."""
    data, mc = toy_samples()
    from o2ml.models import training

    settings = training.TrainSettings(
        seed=3, max_per_class=300, n_trials=1, storage=None, optuna_per_class=100,
        ranges={"max_depth": (2, 3), "n_estimators": (5, 10)},
    )  # fmt: skip
    first = training.train_bin(data, mc, PtBin(2, 4), FEATURES, sidebands=SB, settings=settings)
    db = str(tmp_path / "optuna.db")
    ranges = {"max_depth": (2, 3), "n_estimators": (5, 10)}

    def run(plan):
        search = bdt.Search(storage=db, ranges=ranges, nfold=2, **plan.kwargs())
        study = bdt.optimize(bdt.model_handler(FEATURES, seed=0), first.train_test, search)
        plan.finish(study)
        return study

    plan = bdt.tuning_plan("b", {"a": 1}, db, budget_s=1.5)
    assert plan.n_trials is None and plan.timeout == pytest.approx(1.5)
    study = run(plan)
    spent = bdt.tuning_seconds(study)
    longest = max((t.datetime_complete - t.datetime_start).total_seconds() for t in study.trials)
    # Optuna starts no trial after the budget: the trials span it (the time between trials, the
    # storage writes, is not in ``spent``, so under load ``spent`` alone can fall short of it)
    span = (
        max(t.datetime_complete for t in study.trials) - min(t.datetime_start for t in study.trials)
    ).total_seconds()
    assert len(study.trials) >= 2 and span >= 1.0 and spent <= 1.5 + longest + 0.5, (
        len(study.trials),
        span,
        spent,
    )
    again = bdt.tuning_plan("b", {"a": 1}, db, budget_s=1.5)
    assert (again.study_name, again.n_trials, again.timeout) == (plan.study_name, 0, None)
    assert run(again).trials == study.trials  # spent: nothing added
    # another budget is another study; a trial count is the reproducible alternative
    assert bdt.tuning_plan("b", {"a": 1}, db, budget_s=3).study_name != plan.study_name
    counted = bdt.tuning_plan("b", {"a": 1}, db, n_trials=2)
    assert (counted.n_trials, counted.timeout) == (2, None)
    with pytest.raises(ValueError, match="exactly one"):
        bdt.tuning_plan("b", {}, db)


def test_class_balance_shares_as_the_o2physics_macro():
    """share="equal": every class at the smallest; "all_signal": all signal and
    min(n_bkg, bkg_factor x n_signal) background (PWGHF/D2H/Macros/ML/train_models.py);
    class_weights: equal total weight per class, mean 1."""
    data, mc = toy_samples()
    handlers = bdt.class_handlers(data, mc.iloc[:1500], PtBin(2, 6), sidebands=SB)
    n = {c: h.get_n_cand() for c, h in handlers.items()}
    n_sig = n[CharmClass.PROMPT] + n[CharmClass.NONPROMPT]
    assert n[CharmClass.BACKGROUND] > n_sig  # the toy has more sideband than signal

    def counts(tt):
        y = np.r_[tt[1], tt[3]]
        return {int(c): int((y == int(c)).sum()) for c in handlers}

    assert set(counts(bdt.balanced_train_test(handlers, seed=1)).values()) == {min(n.values())}
    alls = counts(bdt.balanced_train_test(handlers, seed=1, share="all_signal", bkg_factor=0.5))
    assert alls[1] == n[CharmClass.PROMPT] and alls[2] == n[CharmClass.NONPROMPT]
    assert alls[0] == int(0.5 * n_sig)
    capped = counts(
        bdt.balanced_train_test(handlers, seed=1, share="all_signal", max_per_class=100)
    )
    assert set(capped.values()) == {100}
    with pytest.raises(errors.O2mlError, match="'equal' or 'all_signal'"):
        bdt.balanced_train_test(handlers, seed=1, share="some")
    y = np.r_[np.zeros(300), np.ones(100), np.full(50, 2)].astype(int)
    w = bdt.class_weights(y)
    assert w.mean() == pytest.approx(1.0)
    assert [w[y == c].sum() for c in range(3)] == pytest.approx([150.0] * 3)


def test_heldout_auc_compares_models_on_the_same_candidates():
    """A model without its best feature loses AUC on held-out candidates; the paired bootstrap
    error of the difference is smaller than either model's own error."""
    from o2ml.models import training

    data, mc = toy_samples()
    b = PtBin(2, 6)
    handlers = bdt.class_handlers(data.iloc[::2], mc.iloc[::2], b, sidebands=SB)
    tt = bdt.balanced_train_test(handlers, seed=0)
    full = bdt.model_handler(FEATURES, {"n_estimators": 30, "max_depth": 3}, seed=0)
    full.fit(tt[0], tt[1])
    weak = bdt.model_handler(["fAbsCos3PiK"], {"n_estimators": 30, "max_depth": 3}, seed=0)
    weak.fit(tt[0], tt[1])
    out = training.heldout_auc(
        {"full": full, "weak": weak},
        data.iloc[1::2],
        mc.iloc[1::2],
        b,
        features=FEATURES,
        sidebands=SB,
        n_boot=100,
    )
    assert list(out.index) == ["full", "weak"]
    assert out.loc["full", "ROC AUC (ovo)"] > out.loc["weak", "ROC AUC (ovo)"] + 0.05
    assert out.loc["weak", "difference"] == pytest.approx(
        out.loc["weak", "ROC AUC (ovo)"] - out.loc["full", "ROC AUC (ovo)"]
    )
    assert 0 < out.loc["weak", "difference error"] < out.loc[["full", "weak"], "error"].sum()
