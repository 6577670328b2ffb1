"""Cost-aware BDT search: ROC AUC against the measured inference cost in onnxruntime.

O2Physics scores candidates one at a time through onnxruntime, so what a model costs in an
analysis is its batch-1 latency, which grows with the number and depth of its trees. An Optuna
multi-objective study (maximise the cross-validated ROC AUC, minimise the measured onnxruntime µs
per candidate) finds the trade-off; :func:`pareto_front` lists the models that no other beats on
both, and the user picks one: by tolerance with :func:`pick` (the cheapest within ``max_auc_loss``
of a reference AUC) or by trial number with :func:`params_of`. :func:`compare` puts the refitted
choice beside another model: test ROC AUC and onnxruntime latency, measured back to back.

Determinism: the parameters of a trial depend on the seed and on the objective values of the trials
before it. The latencies are timings, so once TPE has its start-up trials (10) a rerun with the
same seed suggests the same parameters only as long as the measured latencies rank the same; the
AUC of given parameters is bit-identical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import NoModelQualifiesError, StudyMismatchError
from ..onnx import xgboost_latency_us
from .bdt import OPTUNA_RANGES, Search, open_study, subsample

if TYPE_CHECKING:
    from hipe4ml.model_handler import ModelHandler

#: search ranges that reach cheap models: few shallow trees need a larger learning rate
COST_RANGES = {
    **OPTUNA_RANGES,
    "max_depth": (2, 6),
    "learning_rate": (0.01, 0.4),
    "n_estimators": (10, 600),
}
#: parameters sampled on a log scale: the cost spans orders of magnitude (10 to 600 trees)
LOG_PARAMS = ("n_estimators", "learning_rate")
#: the two objectives, in the order of ``trial.values``
OBJECTIVES = ("roc_auc", "latency_us")
DIRECTIONS = ("maximize", "minimize")


def optimize_cost_aware(
    handler: ModelHandler,
    train_test: list,
    search: Search,
    *,
    scoring: str = "roc_auc_ovo",
    latency_candidates: int = 300,
    log_params: Sequence[str] = LOG_PARAMS,
    reference_params: Mapping | None = None,
):
    """Two-objective Optuna search: cross-validated ROC AUC vs onnxruntime µs per candidate.

    Each trial cross-validates the parameters as :func:`o2ml.models.bdt.optimize` does (mean
    ``search.nfold`` score on at most ``search.sample_per_class`` training candidates per class),
    exports the model of the first fold to ONNX and measures its median batch-1 latency over
    ``latency_candidates`` candidates (onnxruntime, 1 thread: no extra fit). The study lives in
    ``search.storage`` like the single-objective one (:class:`o2ml.models.bdt.Search`; default
    name ``o2ml-bdt-cost``, ranges :data:`COST_RANGES`) and running again with the same study
    name adds ``search.n_trials`` trials.
    ``reference_params`` (e.g. :data:`~o2ml.models.bdt.TUTORIAL_PARAMS`) are evaluated first, once
    per study, and marked as the reference trial (:func:`reference_trial`).

    Trials also store the user attributes ``n_trees`` (boosting rounds × classes, as the ONNX
    ensemble holds them) and ``roc_auc_std`` (spread over the folds). The handler's parameters
    are not changed: pick a model with :func:`pick` or :func:`params_of`.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_validate

    seed = search.seed
    ranges = COST_RANGES if search.ranges is None else search.ranges
    x_train, y_train = subsample(
        train_test[0], np.asarray(train_test[1]), search.sample_per_class, seed
    )
    columns = handler.get_training_columns()
    x_train = x_train[columns]
    x_latency = np.ascontiguousarray(x_train.to_numpy()[:latency_candidates], dtype=np.float32)
    base = handler.get_original_model()
    fixed = handler.get_model_params()
    folds = StratifiedKFold(n_splits=search.nfold, shuffle=True, random_state=seed)

    def objective(trial) -> tuple[float, float]:
        params = _suggest(trial, ranges, log_params)
        model = clone(base).set_params(**{**fixed, **params})
        cv = cross_validate(
            model, x_train, y_train, cv=folds, scoring=scoring, return_estimator=True
        )
        first = cv["estimator"][0]
        trial.set_user_attr("n_trees", n_trees(first))
        trial.set_user_attr("roc_auc_std", float(np.std(cv["test_score"])))
        latency = xgboost_latency_us(first, x_latency, n=latency_candidates)
        return float(np.mean(cv["test_score"])), latency

    study = open_study(search.storage, search.name("o2ml-bdt-cost"), seed, directions=DIRECTIONS)
    queued = any(t.user_attrs.get("reference") for t in study.get_trials(deepcopy=False))
    if reference_params is not None and not queued:  # once per study, even if not run yet
        study.enqueue_trial(
            {k: reference_params[k] for k in ranges if k in reference_params},
            user_attrs={"reference": True},
        )
    study.optimize(
        objective,
        n_trials=search.n_trials,
        timeout=search.timeout,
        show_progress_bar=search.progress,
    )
    return study


def n_trees(model) -> int:
    """Trees of a fitted XGBoost classifier: one per class and round (one per round if binary)."""
    n_classes = int(getattr(model, "n_classes_", 2))
    return model.get_booster().num_boosted_rounds() * (n_classes if n_classes > 2 else 1)


def trials_table(study) -> pd.DataFrame:
    """Completed trials of a cost-aware study: AUC, µs per candidate, trees, parameters.

    Columns ``trial``, ``roc_auc``, ``latency_us``, ``n_trees``, ``pareto`` (on the Pareto
    front), ``reference`` (the reference trial), then one per searched parameter; sorted by cost.
    """
    _check_two_objectives(study)
    front = {t.number for t in study.best_trials}
    rows = [
        {
            "trial": t.number,
            "roc_auc": t.values[0],
            "latency_us": t.values[1],
            "n_trees": t.user_attrs.get("n_trees"),
            "pareto": t.number in front,
            "reference": bool(t.user_attrs.get("reference", False)),
            **t.params,
        }
        for t in _completed(study)
    ]
    columns = ["trial", *OBJECTIVES, "n_trees", "pareto", "reference"]
    table = pd.DataFrame(rows, columns=columns if not rows else None)
    return table.sort_values(["latency_us", "roc_auc"], ascending=[True, False], ignore_index=True)


def pareto_front(study) -> pd.DataFrame:
    """The Pareto-optimal trials (no other trial has a higher AUC and a lower cost), by cost."""
    table = trials_table(study)
    return table[table["pareto"]].reset_index(drop=True)


def reference_trial(study):
    """The trial of ``reference_params`` (see :func:`optimize_cost_aware`), None if there is none."""
    for t in _completed(study):
        if t.user_attrs.get("reference"):
            return t
    return None


def pick(study, max_auc_loss: float = 0.005, reference_auc: float | None = None):
    """The cheapest Pareto trial whose ROC AUC is within ``max_auc_loss`` of ``reference_auc``.

    ``reference_auc`` defaults to the best AUC on the front; pass e.g. the reference trial's
    (``reference_trial(study).values[0]``) to compare with the tutorial configuration. The cheapest
    qualifying trial of the whole study is always on the front. Returns an Optuna ``FrozenTrial``:
    ``trial.params`` go to :func:`o2ml.models.bdt.model_handler`.
    """
    _check_two_objectives(study)
    front = study.best_trials
    if not front:
        raise NoModelQualifiesError(f"Optuna study {study.study_name!r} has no completed trial.")
    best = max(front, key=lambda t: t.values[0])
    reference = best.values[0] if reference_auc is None else float(reference_auc)
    floor = reference - max_auc_loss
    qualifying = [t for t in front if t.values[0] >= floor]
    if not qualifying:
        raise NoModelQualifiesError(
            f"No trial of Optuna study {study.study_name!r} reaches ROC AUC {floor:.4f} "
            f"(reference {reference:.4f} - {max_auc_loss:g}): the best found is "
            f"{best.values[0]:.4f} (trial {best.number}). Run more trials, widen the ranges or "
            "allow a larger AUC loss."
        )
    return min(qualifying, key=lambda t: (t.values[1], -t.values[0], t.number))


def params_of(study, number: int) -> dict:
    """The searched parameters of trial ``number``, to pick a model from the front by hand."""
    for t in _completed(study):
        if t.number == number:
            return dict(t.params)
    done = [t.number for t in _completed(study)]
    raise StudyMismatchError(
        f"Optuna study {study.study_name!r} has no completed trial {number}; "
        f"completed: {done[:20]}{' ...' if len(done) > 20 else ''}."
    )


def compare(
    models: Mapping[str, object],
    x_test: pd.DataFrame,
    y_test: np.ndarray,
    features: Sequence[str],
    *,
    n_latency: int = 1000,
    repeat: int = 1,
) -> pd.DataFrame:
    """Models side by side: trees, test ROC AUC (one-vs-one), onnxruntime batch-1 µs/candidate.

    ``models`` maps a name to a hipe4ml ModelHandler or an XGBoost classifier trained on
    ``features``. Latencies are measured here, back to back and alternating between the models
    (``repeat`` rounds over ``n_latency`` test candidates, the median kept; ``rounds`` lists them
    all), so that a busy machine slows all of them alike.
    """
    from hipe4ml.model_handler import ModelHandler
    from sklearn.metrics import roc_auc_score

    clfs = {
        k: m.get_original_model() if isinstance(m, ModelHandler) else m for k, m in models.items()
    }
    x = x_test[list(features)]
    x_latency = np.ascontiguousarray(x.to_numpy(), dtype=np.float32)
    rounds: dict[str, list[float]] = {k: [] for k in clfs}
    for _ in range(repeat):
        for k, clf in clfs.items():
            rounds[k].append(xgboost_latency_us(clf, x_latency, n=n_latency))
    rows = {}
    for k, clf in clfs.items():
        p = clf.get_params()
        proba = clf.predict_proba(x)
        proba = proba[:, 1] if proba.shape[1] == 2 else proba
        auc = roc_auc_score(y_test, proba, multi_class="ovo")
        rows[k] = {
            "trees": n_trees(clf),
            "max_depth": p["max_depth"],
            "learning_rate": p["learning_rate"],
            "test ROC AUC (ovo)": float(auc),
            "latency_us": float(np.median(rounds[k])),
            "rounds": rounds[k],
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _completed(study) -> list:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def _check_two_objectives(study) -> None:
    if len(study.directions) != 2:
        raise StudyMismatchError(
            f"Optuna study {study.study_name!r} has {len(study.directions)} objective(s): "
            "a cost-aware study (optimize_cost_aware) has two, ROC AUC and latency."
        )


def _suggest(trial, ranges: Mapping, log_params: Sequence[str]) -> dict:
    """hipe4ml's convention (ints: suggest_int, floats: suggest_float), some on a log scale."""
    params = {}
    for key, (lo, hi) in ranges.items():
        log = key in log_params and lo > 0
        params[key] = (
            trial.suggest_int(key, lo, hi, log=log)
            if isinstance(lo, int)
            else trial.suggest_float(key, lo, hi, log=log)
        )
    return params
