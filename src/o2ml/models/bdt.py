"""BDT selections of charm candidates: a thin layer over hipe4ml's TreeHandler and ModelHandler.

The notebook keeps teaching hipe4ml (TreeHandler, train_test_generator, ModelHandler, plot_utils);
this module adds what a real analysis needs on top: one model per pT bin with named classes,
balanced training sets, an Optuna search with a persistent study, and storage as XGBoost JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import __version__, config, schema
from ..errors import (
    BadArgumentError,
    EmptySelectionError,
    StudyMismatchError,
)
from ._storage import load_xgboost, save_xgboost

if TYPE_CHECKING:
    import xgboost as xgb
    from hipe4ml.model_handler import ModelHandler
    from hipe4ml.tree_handler import TreeHandler

#: the tutorial's XGBoost hyper-parameters
TUTORIAL_PARAMS = {
    "max_depth": 5,
    "learning_rate": 0.029,
    "n_estimators": 500,
    "min_child_weight": 2.7,
    "subsample": 0.9,
    "colsample_bytree": 0.97,
    "tree_method": "hist",
}
#: Optuna search ranges (hipe4ml convention: ints give suggest_int, floats suggest_float)
OPTUNA_RANGES = {
    "max_depth": (2, 6),
    "learning_rate": (0.01, 0.2),
    "n_estimators": (100, 600),
    "min_child_weight": (1.0, 10.0),
    "subsample": (0.6, 1.0),
    "colsample_bytree": (0.6, 1.0),
}


def _handler(df: pd.DataFrame | TreeHandler) -> TreeHandler:
    from hipe4ml.tree_handler import TreeHandler

    if isinstance(df, TreeHandler):
        return df
    th = TreeHandler()
    th.set_data_frame(df)
    return th


def class_handlers(
    data: pd.DataFrame | TreeHandler,
    mc: pd.DataFrame | TreeHandler,
    pt_bin: schema.PtBin,
    *,
    sidebands: tuple[float, float],
    columns: schema.CandidateColumns | None = None,
) -> dict[schema.CharmClass, TreeHandler]:
    """Training samples of one pT bin: background = data sidebands, prompt/non-prompt = MC origin.

    ``sidebands=(lo, hi)``: the data with mass < lo or > hi (the channel's, e.g.
    ``o2ml.channels.get("ds").SIDEBANDS``); ``columns``: the table's mass, pT and origin columns
    (:class:`o2ml.schema.CandidateColumns`, default O2Physics' names).
    """
    columns = schema.CandidateColumns() if columns is None else columns
    lo, hi = sidebands
    m, pt, origin = columns.mass, columns.pt, columns.origin
    in_bin = f"{pt} >= {pt_bin.lo} and {pt} < {pt_bin.hi}"
    selections = {
        schema.CharmClass.BACKGROUND: (data, f"{in_bin} and ({m} < {lo} or {m} > {hi})"),
        schema.CharmClass.PROMPT: (mc, f"{in_bin} and {origin} == 1"),
        schema.CharmClass.NONPROMPT: (mc, f"{in_bin} and {origin} == 2"),
    }
    out = {}
    for cls, (source, sel) in selections.items():
        subset = _handler(source).get_subset(sel)
        if subset.get_n_cand() == 0:
            raise EmptySelectionError(f"No {cls.name.lower()} candidate passes {sel!r}.")
        out[cls] = subset
    return out


def balanced_train_test(
    handlers: Mapping[schema.CharmClass, TreeHandler],
    seed: int,
    test_size: float = 0.5,
    max_per_class: int | None = None,
    *,
    share: str = "equal",
    bkg_factor: float = 1.0,
) -> list:
    """hipe4ml ``train_test_generator`` on the classes shared as O2Physics' ``train_models.py`` does.

    ``share="equal"``: every class downsampled to the smallest (or ``max_per_class``).
    ``share="all_signal"`` (the macro's ``class_balance.share``): every signal candidate, and
    ``min(n_bkg, bkg_factor x n_signal)`` background ones (``max_per_class`` caps each class).
    Returns ``[X_train, y_train, X_test, y_test]`` as hipe4ml's ModelHandler expects.
    """
    from hipe4ml.analysis_utils import train_test_generator

    sizes = {c: h.get_n_cand() for c, h in handlers.items()}
    if share == "equal":
        n = min(sizes.values())
        want = {c: n for c in handlers}
    elif share == "all_signal":
        n_signal = sum(v for c, v in sizes.items() if c != schema.CharmClass.BACKGROUND)
        want = {
            c: min(v, int(bkg_factor * n_signal)) if c == schema.CharmClass.BACKGROUND else v
            for c, v in sizes.items()
        }
    else:
        raise BadArgumentError(
            f"class balance share: expected 'equal' or 'all_signal', found {share!r}."
        )
    if max_per_class is not None:
        want = {c: min(v, max_per_class) for c, v in want.items()}
    subsets = [h.get_subset(size=want[c], rndm_state=seed) for c, h in handlers.items()]
    labels = [int(c) for c in handlers]
    return train_test_generator(subsets, labels, test_size=test_size, random_state=seed)


def class_weights(y: np.ndarray) -> np.ndarray:
    """Per-candidate weights that give every class the same total weight (mean weight 1)."""
    y = np.asarray(y).astype(int)
    counts = np.bincount(y)
    present = counts > 0
    per_class = np.zeros(len(counts))
    per_class[present] = len(y) / (present.sum() * counts[present])
    return per_class[y]


def model_handler(
    features: Sequence[str],
    params: Mapping | None = None,
    seed: int = 42,
    n_jobs: int | None = None,
) -> ModelHandler:
    """A hipe4ml ModelHandler around an XGBoost classifier on ``features`` (the tree columns, e.g.
    ``o2ml.channels.ds.TUTORIAL_FEATURES``); tutorial hyper-parameters by default.

    ``n_jobs``: XGBoost threads, default :func:`o2ml.config.threads`.
    """
    import xgboost as xgb
    from hipe4ml.model_handler import ModelHandler

    n_jobs = config.threads() if n_jobs is None else n_jobs
    params = {**TUTORIAL_PARAMS, **(params or {})}
    model = xgb.XGBClassifier(random_state=seed, n_jobs=n_jobs)
    return ModelHandler(model, list(features), {**params, "random_state": seed, "n_jobs": n_jobs})


def _storage_url(storage: str | os.PathLike | None) -> str | None:
    """An Optuna storage URL: a URL as given, a path as an SQLite file, None in memory."""
    if storage is None:
        return None
    text = os.fspath(storage)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


@dataclass(frozen=True)
class Search:
    """An Optuna search with a persistent study: the settings that the searches of o2ml share
    (:func:`optimize`, :func:`o2ml.models.cost_aware.optimize_cost_aware`,
    :func:`o2ml.models.autoencoder.optimize`).

    Fields:

    * ``n_trials``: trials to run (None: until ``timeout``); running a stored study again adds
      them. ``dataclasses.replace(search, **tuning_plan(...).kwargs())`` sets ``n_trials``,
      ``study_name`` and ``timeout`` from a :class:`TuningPlan`.
    * ``storage``: an SQLite file path (default ``optuna.db``), any Optuna RDB URL (e.g.
      PostgreSQL), or None (in memory).
    * ``study_name``: None gives the search's own default (``o2ml-bdt``, ``o2ml-bdt-cost``,
      ``o2ml-autoencoder``).
    * ``seed``: seeds the sampler (:func:`open_study`), the subsample and the folds.
    * ``timeout``: seconds after which no new trial starts (None: no limit).
    * ``ranges``: the search space; None gives the search's own (:data:`OPTUNA_RANGES`,
      :data:`o2ml.models.cost_aware.COST_RANGES`, :data:`o2ml.models.autoencoder.OPTUNA_SPACE`).
    * ``nfold``: cross-validation folds of a trial (BDT searches).
    * ``sample_per_class``: cross-validate on at most that many random training candidates per
      class (BDT searches; None: all): faster, and the best parameters carry over.
    * ``progress``: Optuna's progress bar.
    """

    n_trials: int | None
    storage: str | os.PathLike | None = "optuna.db"
    study_name: str | None = None
    seed: int = 42
    timeout: float | None = None
    ranges: Mapping | None = None
    nfold: int = 3
    sample_per_class: int | None = None
    progress: bool = False

    def name(self, default: str) -> str:
        """The study's name: ``study_name``, else ``default``."""
        return default if self.study_name is None else self.study_name


def optimize(
    handler: ModelHandler,
    train_test: list,
    search: Search,
    *,
    scoring: str = "roc_auc_ovo",
    worker: int = 0,
):
    """Optuna search of XGBoost hyper-parameters with a persistent study; sets the best ones.

    The objective is hipe4ml's ``optimize_params_optuna`` one (mean ``search.nfold``
    cross-validation ``scoring``); written out here because hipe4ml keeps the study in memory or
    a pickle, while a study in an Optuna storage (``search.storage``: an SQLite file by default,
    any RDB URL such as PostgreSQL) can be resumed and shared by many workers. Running again with
    the same study name (default ``o2ml-bdt``) adds ``search.n_trials`` trials.
    ``search.sample_per_class`` optimises on a random subset of the training set; ``search.ranges``
    defaults to :data:`OPTUNA_RANGES` (see :class:`Search`). ``worker``: the index of one of
    several processes running trials of the same stored study at once (their samplers must
    differ; the cross-validation folds stay those of the seed).

    The two-objective search (ROC AUC and the measured onnxruntime latency per candidate) is
    :func:`o2ml.models.cost_aware.optimize_cost_aware`.
    """
    ranges = OPTUNA_RANGES if search.ranges is None else search.ranges
    seed = search.seed
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x_train, y_train = subsample(
        train_test[0], np.asarray(train_test[1]), search.sample_per_class, seed
    )
    columns = handler.get_training_columns()
    base = handler.get_original_model()
    fixed = handler.get_model_params()
    folds = StratifiedKFold(n_splits=search.nfold, shuffle=True, random_state=seed)

    def objective(trial):
        params = {}
        for key, (lo, hi) in ranges.items():
            params[key] = (
                trial.suggest_int(key, lo, hi)
                if isinstance(lo, int)
                else trial.suggest_float(key, lo, hi)
            )
        model = clone(base).set_params(**{**fixed, **params})
        return float(
            np.mean(cross_val_score(model, x_train[columns], y_train, cv=folds, scoring=scoring))
        )

    study = open_study(search.storage, search.name("o2ml-bdt"), seed, worker=worker)
    study.optimize(
        objective,
        n_trials=search.n_trials,
        timeout=search.timeout,
        show_progress_bar=search.progress,
    )
    handler.set_model_params({**fixed, **study.best_params})
    return study


def subsample(
    x: pd.DataFrame, y: np.ndarray, per_class: int | None, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """At most ``per_class`` random candidates per class, in their original order."""
    if per_class is None:
        return x, y
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)]
    )
    keep.sort()
    return x.iloc[keep], y[keep]


def open_study(
    storage: str | os.PathLike | None,
    study_name: str,
    seed: int,
    directions: Sequence[str] | None = None,
    *,
    worker: int = 0,
):
    """Create or resume a maximising Optuna study in ``storage`` (None: in memory).

    The sampler's seed depends on the study and on its trials so far: studies of different pT
    bins explore differently, and a resumed study does not replay the trials it already has.
    ``worker`` > 0 shifts the sampler's seed (tasks that start together on one study).
    ``directions`` (e.g. ``["maximize", "minimize"]``) makes a multi-objective study instead; a
    stored study with other directions is an error, not a silent mix.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=_storage_url(storage),
        study_name=study_name,
        direction="maximize" if directions is None else None,
        directions=None if directions is None else list(directions),
        sampler=optuna.samplers.TPESampler(
            seed=seed
            + zlib.crc32(study_name.encode()) % 100_000
            + len_trials(storage, study_name)
            + 1_000_003 * worker
        ),
        load_if_exists=True,
    )
    wanted = ["maximize"] if directions is None else [d.lower() for d in directions]
    found = [d.name.lower() for d in study.directions]
    if found != wanted:
        raise StudyMismatchError(
            f"Optuna study {study_name!r} in {storage or 'memory'} has directions {found}, expected {wanted}: "
            "a cost-aware (two-objective) study and a single-objective one need different names."
        )
    return study


def study_name(prefix: str, settings: Mapping) -> str:
    """``<prefix>-<8 hex digits>``: a stored study's name that encodes the settings that make it.

    ``settings`` holds everything the trials depend on (training set fingerprint, ranges, trial
    count, seed, ...), as JSON-serialisable values: a notebook re-run with the same settings finds
    its finished study (same best parameters, same printed numbers), one with other settings starts
    a fresh study instead of topping up an old one of other settings.
    """
    text = json.dumps(settings, sort_keys=True, default=repr)
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def stored_study(
    prefix: str, settings: Mapping, n_trials: int, storage: str | os.PathLike | None
) -> tuple[str, int]:
    """The name of the study of these ``settings`` (:func:`study_name`) and the trials it still needs.

    A notebook runs ``optimize(..., Search(n_trials=todo, study_name=name))``: 0 trials when the stored
    study of the same settings is complete (a re-run gives the same best parameters), the rest of
    them when it was interrupted, all of them for new settings.
    """
    name = study_name(prefix, settings)
    return name, max(0, n_trials - len_trials(storage, name))


def stored_budget(
    prefix: str, settings: Mapping, seconds: float, storage: str | os.PathLike | None
) -> tuple[str, float]:
    """Like :func:`stored_study` for a wall-time budget: the study's name and the seconds left.

    A study of a budget runs ``optimize`` with ``Search(n_trials=None, timeout=left)`` and is then marked
    spent (:func:`close_budget`): a re-run of the same settings runs no trial (same best
    parameters), an interrupted one gets the rest of its budget. The trials a budget buys
    depend on the machine; :func:`tuning_seconds` and the study's trial count say what it got.
    """
    name = study_name(prefix, {**settings, "budget_s": seconds})
    study = _load(storage, name)
    if study is None:
        return name, float(seconds)
    if study.user_attrs.get("budget_spent"):
        return name, 0.0
    return name, max(0.0, float(seconds) - tuning_seconds(study))


def close_budget(study) -> None:
    """Mark a budget study spent (see :func:`stored_budget`)."""
    study.set_user_attr("budget_spent", True)


@dataclass
class TuningPlan:
    """What one Optuna run still has to do: a trial count, or a wall-time budget.

    ``optimize(handler, train_test, dataclasses.replace(search, **plan.kwargs()))`` runs it
    (:class:`Search`); ``plan.finish(study)`` marks a budget spent.
    """

    study_name: str
    n_trials: int | None
    timeout: float | None
    budget_s: float | None = None

    def kwargs(self) -> dict:
        return {"study_name": self.study_name, "n_trials": self.n_trials, "timeout": self.timeout}

    def finish(self, study) -> None:
        if self.budget_s is not None:
            close_budget(study)


def tuning_plan(
    prefix: str,
    settings: Mapping,
    storage: str | os.PathLike | None,
    *,
    n_trials: int | None = None,
    budget_s: float | None = None,
) -> TuningPlan:
    """A stored study's plan: exactly ``n_trials`` trials (reproducible on any machine) or as
    many as ``budget_s`` seconds of wall time buy (a fair budget between two models; the count
    then depends on the machine). Give exactly one of them. A re-run of finished settings runs
    nothing (:func:`stored_study`, :func:`stored_budget`).
    """
    if (n_trials is None) == (budget_s is None):
        raise ValueError("tuning_plan: give exactly one of n_trials and budget_s")
    if n_trials is not None:
        name, todo = stored_study(prefix, settings, n_trials, storage)
        return TuningPlan(name, todo, None)
    name, left = stored_budget(prefix, settings, budget_s, storage)
    return TuningPlan(name, None if left > 0 else 0, left if left > 0 else None, budget_s)


def tuning_seconds(study) -> float:
    """Wall time of a study's finished trials, summed (stored studies included)."""
    return float(
        sum(
            (t.datetime_complete - t.datetime_start).total_seconds()
            for t in study.trials
            if t.datetime_complete is not None and t.datetime_start is not None
        )
    )


def _load(storage, name):
    import optuna

    if storage is None:
        return None
    try:
        return optuna.load_study(study_name=name, storage=_storage_url(storage))
    except KeyError:
        return None


def fingerprint(*frames: pd.DataFrame | pd.Series | np.ndarray) -> str:
    """SHA-256 (16 hex digits) of the content of data frames / arrays, e.g. a training set."""
    digest = hashlib.sha256()
    for frame in frames:
        if isinstance(frame, np.ndarray):
            frame = pd.DataFrame(frame)
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        names = list(frame.columns) if isinstance(frame, pd.DataFrame) else [frame.name]
        digest.update(repr(names).encode())
    return digest.hexdigest()[:16]


def len_trials(storage: str | os.PathLike | None, study_name: str) -> int:
    """Trials already in a stored study (0 if it does not exist yet or lives in memory)."""
    study = _load(storage, study_name)
    return 0 if study is None else len(study.trials)


def save_model(
    model: ModelHandler | xgb.XGBClassifier,
    path: str | os.PathLike,
    *,
    features: Sequence[str],
    class_labels: Sequence[str] = schema.CLASS_LABELS,
    pt_bin: schema.PtBin | None = None,
    seed: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Save as XGBoost JSON (``path``) plus a sidecar ``<stem>.meta.json`` (features, classes...)."""
    import xgboost as xgb
    from hipe4ml.model_handler import ModelHandler

    clf = model.get_original_model() if isinstance(model, ModelHandler) else model
    meta = {
        "features": list(features),
        "class_labels": list(class_labels),
        "pt_bin": None if pt_bin is None else [pt_bin.lo, pt_bin.hi],
        "seed": seed,
        "params": {k: v for k, v in clf.get_params().items() if v is not None and k != "missing"},
        "o2ml_version": __version__,
        "xgboost_version": xgb.__version__,
    }
    return save_xgboost(clf, path, meta, overwrite=overwrite)


def load_model(path: str | os.PathLike) -> tuple[xgb.XGBClassifier, dict]:
    """Load a model saved by :func:`save_model`: the classifier and its metadata."""
    import xgboost as xgb

    return load_xgboost(path, xgb.XGBClassifier)


#: names o2ml taught here whose one home is :mod:`o2ml.schema` (an error for one release)
_MOVED = {"pt_bins", "PtBin", "CharmClass", "CLASS_LABELS"}


def __getattr__(name: str):
    if name in _MOVED:
        raise AttributeError(
            f"o2ml.models.bdt.{name} moved to o2ml.schema.{name}: "
            f"write `from o2ml import schema` and `schema.{name}`."
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
