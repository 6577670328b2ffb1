"""Training per pT bin: one hipe4ml BDT per bin, its held-out comparison, and binary training sets.

:func:`train_bin` is the notebook-01 step (data sidebands as background, prompt and non-prompt
MC, balanced classes, optional Optuna search with a persistent study, final fit), also the
training of the dashboards' demo inputs (:mod:`o2ml.apps.demo_inputs`); :func:`tune` is the
stored Optuna study of a bin, shared with ``o2ml train`` (:mod:`o2ml.workflow.train`);
:func:`heldout_auc` compares several models on the same held-out candidates with paired
bootstrap errors. :func:`sideband_training_set` is notebook 02's binary dataset (MC signal in
the signal region against data in the sidebands, weights balancing the classes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import EmptySelectionError
from ..schema import CandidateColumns, PtBin
from . import bdt

__all__ = [
    "BinaryTrainingSet", "TrainSettings", "TrainedBin", "heldout_auc", "sideband_training_set",
    "train_bin", "training_config", "tune",
]  # fmt: skip


@dataclass(frozen=True)
class TrainSettings:
    """How :func:`train_bin` trains the model of a pT bin (``dataclasses.replace(settings,
    seed=1)`` makes a variant).

    * ``seed``: seeds the class subsets, the train/test split, XGBoost and the Optuna search.
    * ``params``: XGBoost hyper-parameters on top of :data:`o2ml.models.bdt.TUTORIAL_PARAMS`
      (the search's best ones replace them when ``n_trials`` > 0).
    * ``max_per_class``: at most this many candidates per class (None: all the balance keeps).
    * ``share``, ``bkg_factor``: the class balance of O2Physics' ``train_models.py``
      (:func:`o2ml.models.bdt.balanced_train_test`: ``"equal"`` or ``"all_signal"``).
    * ``weighted``: every class gets the same total weight in the final fit
      (:func:`o2ml.models.bdt.class_weights`), useful with ``share="all_signal"``.
    * ``n_trials``: Optuna trials before the final fit (0: none).
    * ``storage``: where the study lives (an SQLite path or an RDB URL; None: in memory).
    * ``study_name``: the study's prefix (default ``bdt_<pT bin>``), completed by a key of the
      settings (:func:`o2ml.models.bdt.stored_study`).
    * ``ranges``: the search ranges (default :data:`o2ml.models.bdt.OPTUNA_RANGES`).
    * ``optuna_per_class``: the search cross-validates on at most this many candidates per class.
    """

    seed: int = 42
    params: Mapping | None = None
    max_per_class: int | None = None
    share: str = "equal"
    bkg_factor: float = 1.0
    weighted: bool = False
    n_trials: int = 0
    storage: str | None = None
    study_name: str | None = None
    ranges: Mapping | None = None
    optuna_per_class: int | None = None


def training_config(sizes: Mapping, n_trials: int | None = None) -> TrainSettings:
    """The :class:`TrainSettings` of a row of ``o2ml.config.SIZES["ds_bdt"]`` (class cap, Optuna
    trials, ranges and subset); other fields at their defaults.

    ``n_trials`` overrides the table's number of Optuna trials per bin.
    """
    return TrainSettings(
        max_per_class=sizes["max_per_class"],
        n_trials=sizes["n_trials"] if n_trials is None else n_trials,
        optuna_per_class=sizes["optuna_per_class"],
        ranges={**bdt.OPTUNA_RANGES, "n_estimators": tuple(sizes["n_estimators"])},
    )


@dataclass
class TrainedBin:
    """A trained model of one pT bin with its hipe4ml training material."""

    pt_bin: PtBin
    handlers: dict  # CharmClass -> TreeHandler
    train_test: list  # [X_train, y_train, X_test, y_test]
    model: object  # hipe4ml ModelHandler
    study: object | None = None  # optuna.Study

    @property
    def test_scores(self) -> np.ndarray:
        return self.model.predict(self.train_test[2], output_margin=False)

    def roc_auc(self) -> float:
        """One-vs-one ROC AUC on the test set (the tutorial's figure of merit)."""
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(self.train_test[3], self.test_scores, multi_class="ovo"))


def train_bin(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    pt_bin: PtBin,
    features: Sequence[str],
    *,
    sidebands: tuple[float, float],
    settings: TrainSettings = TrainSettings(),
    columns: CandidateColumns | None = None,
    progress: bool = False,
) -> TrainedBin:
    """Train the model of one pT bin: balanced classes, optional Optuna search, then the final fit.

    Classes: data in the ``sidebands=(lo, hi)`` of the channel (mass < lo or > hi, e.g.
    ``o2ml.channels.get("ds").SIDEBANDS``) as background, prompt and non-prompt MC
    (:func:`o2ml.models.bdt.class_handlers`; ``columns``: the table's mass, pT and origin
    columns, default O2Physics' names). ``settings`` (:class:`TrainSettings`): the class balance
    of O2Physics' ``train_models.py``, class weights, hyper-parameters and the Optuna search
    (:func:`tune`), which cross-validates on at most ``settings.optuna_per_class`` candidates
    per class, unweighted.

    With ``settings.n_trials`` > 0 and a ``settings.storage``, the study ``<study_name>-<key>``
    is used, where the key encodes the settings (:func:`o2ml.models.bdt.study_name`: training
    set, ranges, trials, Optuna subset, seed): re-running with the same settings finds the
    finished study and adds no trial (an interrupted one is completed), other settings start a
    fresh study. Its best parameters are used.
    """
    s = settings
    handlers = bdt.class_handlers(data, mc, pt_bin, sidebands=sidebands, columns=columns)
    train_test = bdt.balanced_train_test(
        handlers, seed=s.seed, max_per_class=s.max_per_class, share=s.share,
        bkg_factor=s.bkg_factor,
    )  # fmt: skip
    model = bdt.model_handler(features, s.params, seed=s.seed)
    study = None
    if s.n_trials > 0:
        ranges = s.ranges or bdt.OPTUNA_RANGES
        key = {
            "train": bdt.fingerprint(train_test[0], np.asarray(train_test[1])),
            "features": list(features),
            "ranges": ranges,
            "n_trials": s.n_trials,
            "optuna_per_class": s.optuna_per_class,
            "seed": s.seed,
        }
        search = bdt.Search(
            n_trials=s.n_trials, storage=s.storage, study_name=s.study_name or f"bdt_{pt_bin.label}",
            seed=s.seed, ranges=ranges, sample_per_class=s.optuna_per_class, progress=progress,
        )  # fmt: skip
        study = tune(model, train_test, search, key=key)
    weights = bdt.class_weights(train_test[1]) if s.weighted else None
    model.fit(train_test[0], train_test[1], sample_weight=weights)
    return TrainedBin(pt_bin, handlers, train_test, model, study)


def tune(
    model,
    train_test: list,
    search: bdt.Search,
    *,
    key: Mapping,
    scoring: str = "roc_auc_ovo",
    worker: int = 0,
    limit: int | None = None,
):
    """The stored Optuna study of a pT bin's settings: :func:`o2ml.models.bdt.optimize` on the
    study ``<search.study_name>-<key>`` (:func:`o2ml.models.bdt.stored_study`; ``key`` holds what
    the trials depend on: training-set fingerprint, ranges, seed...), running only the trials of
    ``search.n_trials`` it still lacks (none for a finished study: a re-run gives the same best
    parameters), at most ``limit`` (one of several workers sharing the study, index ``worker``).
    Sets the best parameters on ``model``; returns the study. :func:`train_bin` and ``o2ml
    train`` (:mod:`o2ml.workflow.train`) tune their bins with it.
    """
    name, todo = bdt.stored_study(search.study_name, key, search.n_trials, search.storage)
    todo = todo if limit is None else min(limit, todo)
    search = replace(search, study_name=name, n_trials=todo)
    return bdt.optimize(model, train_test, search, scoring=scoring, worker=worker)


def heldout_auc(
    models: Mapping[str, object],
    data: pd.DataFrame,
    mc: pd.DataFrame,
    pt_bin: PtBin,
    *,
    features: Sequence[str],
    sidebands: tuple[float, float],
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """One-vs-one ROC AUC of several models on the same held-out candidates of a pT bin.

    Classes as in training (data in the channel's ``sidebands``, prompt and non-prompt MC), from
    candidates no model saw. ``error`` is the bootstrap spread; ``difference`` (to the first
    model) has a paired bootstrap error (the same resampled candidates for both), much smaller
    than either error.
    """
    from sklearn.metrics import roc_auc_score

    handlers = bdt.class_handlers(data, mc, pt_bin, sidebands=sidebands)
    x = pd.concat([h.get_data_frame()[list(features)] for h in handlers.values()])
    y = np.concatenate([np.full(h.get_n_cand(), int(c)) for c, h in handlers.items()])
    scores = {name: m.predict(x, output_margin=False) for name, m in models.items()}
    rng = np.random.default_rng(seed)
    boot = {name: [] for name in models}
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) < len(handlers):
            continue
        for name, p in scores.items():
            boot[name].append(roc_auc_score(y[idx], p[idx], multi_class="ovo"))
    first = next(iter(models))
    rows = {}
    for name, p in scores.items():
        b = np.array(boot[name])
        rows[name] = {
            "candidates": len(y),
            "ROC AUC (ovo)": float(roc_auc_score(y, p, multi_class="ovo")),
            "error": float(b.std()),
            "difference": 0.0,
            "difference error": 0.0,
        }
        if name != first:
            d = b - np.array(boot[first])
            rows[name]["difference"] = rows[name]["ROC AUC (ovo)"] - rows[first]["ROC AUC (ovo)"]
            rows[name]["difference error"] = float(d.std())
    return pd.DataFrame(rows).T


@dataclass
class BinaryTrainingSet:
    """MC signal in the SR (label 1) vs data in the SB (label 0), split, with sample weights."""

    x_train: pd.DataFrame
    y_train: np.ndarray
    w_train: np.ndarray
    x_test: pd.DataFrame
    y_test: np.ndarray

    @property
    def train_test(self) -> list:
        return [self.x_train, self.y_train, self.x_test, self.y_test]


def sideband_training_set(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    features: Sequence[str],
    *,
    signal_region: Sequence[float],
    sidebands: Sequence[float],
    seed: int = 42,
    test_size: float = 0.5,
    max_candidates: tuple[int | None, int | None] = (None, None),
) -> BinaryTrainingSet:
    """The poster's mixed dataset: S = MC in SR, B = data in SB, sample weights balance classes.

    ``signal_region=(lo, hi)`` keeps the MC with lo < m < hi, ``sidebands=(lo, hi)`` the data
    with m < lo or m > hi (e.g. :mod:`o2ml.channels.lc`). ``max_candidates=(n_signal,
    n_background)``: at most that many random candidates of each (None: all).

    Weights: each class sums to half the training size (so the BDT sees both equally even
    when the numbers differ); the split is stratified and seeded.
    """
    from sklearn.model_selection import train_test_split

    m_sig, m_bkg = mc["fM"].to_numpy(), data["fM"].to_numpy()
    sig = mc[(m_sig > signal_region[0]) & (m_sig < signal_region[1])]
    bkg = data[(m_bkg < sidebands[0]) | (m_bkg > sidebands[1])]
    for name, df in (("MC signal in the signal region", sig), ("data in the sidebands", bkg)):
        if len(df) == 0:
            raise EmptySelectionError(f"BDT training set: expected {name}, found none.")
    rng = np.random.default_rng(seed)
    max_signal, max_background = max_candidates
    if max_signal is not None and len(sig) > max_signal:
        sig = sig.iloc[np.sort(rng.choice(len(sig), max_signal, replace=False))]
    if max_background is not None and len(bkg) > max_background:
        bkg = bkg.iloc[np.sort(rng.choice(len(bkg), max_background, replace=False))]
    x = pd.concat([sig[list(features)], bkg[list(features)]], ignore_index=True)
    y = np.r_[np.ones(len(sig), int), np.zeros(len(bkg), int)]
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    n1, n0 = max(int(y_tr.sum()), 1), max(int((y_tr == 0).sum()), 1)
    w = np.where(y_tr == 1, len(y_tr) / (2 * n1), len(y_tr) / (2 * n0))
    return BinaryTrainingSet(x_tr, y_tr, w, x_te, y_te)
