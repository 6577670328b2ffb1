"""o2ml.models.cost_aware: ROC AUC vs onnxruntime latency, Pareto front, picking a model."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

from o2ml import errors
from o2ml.models import bdt, cost_aware

# one worker runs the module: the study fixture is built once
pytestmark = pytest.mark.xdist_group("cost_aware")

FEATURES = ["fCpa", "fDecayLength", "fAbsCos3PiK"]
#: small and cheap: a few shallow trees, so that a trial takes a fraction of a second
RANGES = {**cost_aware.COST_RANGES, "n_estimators": (5, 60), "max_depth": (2, 4)}


def toy_train_test(seed: int = 0, n: int = 600) -> list:
    """Three overlapping classes (background, prompt, non-prompt) in hipe4ml's layout."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n)
    x = pd.DataFrame(
        {
            "fCpa": rng.normal(0.9, 0.05, 3 * n) + 0.03 * (y > 0),
            "fDecayLength": rng.exponential(0.01, 3 * n) * (1 + y),
            "fAbsCos3PiK": rng.uniform(0, 1, 3 * n) ** np.where(y > 0, 0.6, 1.0),
        }
    )
    return [x.iloc[::2], y[::2], x.iloc[1::2], y[1::2]]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A cost-aware study of 8 trials in an SQLite file, started through bdt.optimize."""
    db = tmp_path_factory.mktemp("cost") / "study.db"
    tt = toy_train_test()
    handler = bdt.model_handler(FEATURES, seed=0)
    before = dict(handler.get_model_params())
    search = bdt.Search(
        n_trials=8, storage=db, study_name="ds-cost", ranges=RANGES, seed=0, sample_per_class=200
    )
    study = cost_aware.optimize_cost_aware(handler, tt, search)
    assert handler.get_model_params() == before  # the user picks: nothing is set
    return db, tt, study


@pytest.mark.slow  # the study fixture: ~10 real trials
def test_study_has_two_objectives_and_measured_latencies(stored):
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    _, tt, study = stored
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 8
    x, y = bdt.subsample(tt[0], np.asarray(tt[1]), 200, 0)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    handler = bdt.model_handler(FEATURES, seed=0)
    for t in trials:
        auc, latency = t.values
        # the first objective is the mean 3-fold CV ROC AUC (ovo) of the trial's parameters
        clf = handler.get_original_model().set_params(**{**handler.get_model_params(), **t.params})
        cv = cross_val_score(clf, x[FEATURES], y, cv=folds, scoring="roc_auc_ovo")
        assert auc == pytest.approx(cv.mean(), abs=1e-12), t.number
        assert latency > 0
        assert t.user_attrs["n_trees"] == 3 * t.params["n_estimators"]  # 3 classes
        assert RANGES["n_estimators"][0] <= t.params["n_estimators"] <= RANGES["n_estimators"][1]


@pytest.mark.slow  # the study fixture: ~10 real trials
def test_pareto_front_is_not_dominated(stored):
    _, _, study = stored
    table = cost_aware.trials_table(study)
    front = cost_aware.pareto_front(study)
    assert len(front) >= 1 and front["latency_us"].is_monotonic_increasing
    assert set(front.columns) >= {"trial", "roc_auc", "latency_us", "n_trees", *RANGES}

    def dominates(a, b) -> bool:
        return (
            a.roc_auc >= b.roc_auc
            and a.latency_us <= b.latency_us
            and (a.roc_auc > b.roc_auc or a.latency_us < b.latency_us)
        )

    rows = list(table.itertuples())
    for f in front.itertuples():
        assert not any(dominates(o, f) for o in rows)
    for o in table[~table["pareto"]].itertuples():  # every other trial is beaten by the front
        assert any(dominates(f, o) for f in front.itertuples())


@pytest.mark.slow  # the study fixture: ~10 real trials
def test_pick_is_the_cheapest_within_tolerance(stored):
    _, _, study = stored
    table = cost_aware.trials_table(study)
    best = table["roc_auc"].max()
    for loss in (0.0, 0.01, 0.05, 1.0):
        t = cost_aware.pick(study, max_auc_loss=loss)
        assert t.values[0] >= best - loss
        qualifying = table[table["roc_auc"] >= best - loss]
        assert t.values[1] == qualifying["latency_us"].min()
    assert cost_aware.pick(study, 0.0).values[0] == best
    assert cost_aware.pick(study, 1.0).values[1] == table["latency_us"].min()
    t = cost_aware.pick(study, 0.01)
    assert cost_aware.params_of(study, t.number) == t.params
    with pytest.raises(errors.O2mlError, match="no completed trial 999"):
        cost_aware.params_of(study, 999)


def _study_with(points: list[tuple[float, float]]) -> optuna.Study:
    """An in-memory two-objective study with given (AUC, µs) trials."""
    study = optuna.create_study(directions=list(cost_aware.DIRECTIONS), study_name="hand-made")
    dist = {"n_estimators": optuna.distributions.IntDistribution(1, 1000)}
    for i, values in enumerate(points):
        study.add_trial(
            optuna.trial.create_trial(
                params={"n_estimators": 10 * (i + 1)}, distributions=dist, values=list(values)
            )
        )
    return study


def test_pick_against_a_reference_and_its_clear_error():
    study = _study_with([(0.900, 100.0), (0.899, 20.0), (0.894, 10.0), (0.880, 5.0), (0.85, 50.0)])
    assert list(cost_aware.pareto_front(study)["trial"]) == [3, 2, 1, 0]  # trial 4 is dominated
    assert cost_aware.pick(study, 0.005).number == 1  # best AUC 0.900 on the front
    assert cost_aware.pick(study, 0.005, reference_auc=0.8985).number == 2
    assert cost_aware.pick(study, 0.0).number == 0
    with pytest.raises(cost_aware.NoModelQualifiesError, match=r"best found is 0\.9000") as e:
        cost_aware.pick(study, 0.005, reference_auc=0.95)
    assert "reference 0.9500" in str(e.value) and isinstance(e.value, errors.O2mlError)


@pytest.mark.slow  # the study fixture: ~10 real trials
def test_resume_from_sqlite_adds_trials_and_keeps_objectives_apart(stored, tmp_path):
    import shutil

    db = shutil.copy(stored[0], tmp_path / "copy.db")  # the other tests keep their 8 trials
    tt = stored[1]
    again = cost_aware.optimize_cost_aware(
        bdt.model_handler(FEATURES, seed=0),
        tt,
        bdt.Search(
            n_trials=2,
            storage=db,
            study_name="ds-cost",
            ranges=RANGES,
            seed=0,
            sample_per_class=200,
        ),
        latency_candidates=50,
        reference_params={"n_estimators": 40, "max_depth": 3},
    )
    assert len(again.trials) == 10  # resumed from the SQLite file, not restarted
    ref = cost_aware.reference_trial(again)
    assert ref.number == 8 and ref.params["n_estimators"] == 40 and ref.params["max_depth"] == 3
    with pytest.raises(errors.O2mlError, match="directions"):  # a single-objective run
        search = bdt.Search(n_trials=1, storage=db, study_name="ds-cost")
        bdt.optimize(bdt.model_handler(FEATURES, seed=0), tt, search)


def test_single_objective_studies_are_not_cost_aware():
    study = optuna.create_study(direction="maximize", study_name="single")
    with pytest.raises(errors.O2mlError, match="1 objective"):
        cost_aware.pick(study)


def test_compare_puts_models_side_by_side():
    from sklearn.metrics import roc_auc_score

    tt = toy_train_test(n=300)
    models = {}
    for name, params in {"big": {"n_estimators": 40}, "small": {"n_estimators": 5}}.items():
        models[name] = bdt.model_handler(FEATURES, {**params, "max_depth": 3}, seed=0)
        models[name].fit(tt[0], tt[1])
    table = cost_aware.compare(models, tt[2], tt[3], FEATURES, n_latency=50, repeat=2)
    assert list(table.index) == ["big", "small"]
    assert list(table["trees"]) == [120, 15] and list(table["max_depth"]) == [3, 3]
    expected = roc_auc_score(
        tt[3], models["small"].predict(tt[2], output_margin=False), multi_class="ovo"
    )
    assert table.loc["small", "test ROC AUC (ovo)"] == pytest.approx(expected)
    assert all(len(r) == 2 and min(r) > 0 for r in table["rounds"])
    assert table.loc["small", "latency_us"] == np.median(table.loc["small", "rounds"])
