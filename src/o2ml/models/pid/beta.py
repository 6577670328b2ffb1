"""ITS2 particle identification: a boosted-tree regression of beta from the ITS2 cluster sizes.

The method of the ALICE ITS2 PID studies (public repository ``GiorgioAlbertoLucia/ITS_pid``):

* training tracks are tagged by the TPC in data (:mod:`o2ml.models.pid.tagging`): |nsigma_TPC(own species)| < 2 and |nsigma_TPC(neighbouring species)| > 3,
  p <= 1 GeV/c, >= 80 TPC clusters. Tagging leaves contamination where the dE/dx bands cross;
  :func:`tagging_composition` measures it against a truth label when one exists;
* an XGBoost regressor learns beta = p / sqrt(p^2 + m^2) of the tagged species from the 7 layer
  cluster sizes, p, eta, phi, cos(lambda), the mean cluster size and mean x cos(lambda), with the
  species balanced by weights and early stopping on a validation split;
* the model is stored as XGBoost JSON plus a ``.meta.json`` sidecar, and as ONNX with metadata.

The response of the regression (expected beta and resolution vs p per species, nsigma_beta) is
in :mod:`o2ml.physics.pid_response`; separation power and selection performance in
:mod:`o2ml.physics.pid_performance`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ... import __version__, config
from ...errors import BadArgumentError, EmptySelectionError
from ...io import check_finite
from ...physics import its
from ...physics.constants import mass
from .._storage import load_xgboost, save_xgboost
from .tagging import (
    SPECIES,
)
from .tagging import require_columns as _require

if TYPE_CHECKING:
    import xgboost as xgb

#: species the regression learns, as ITS_pid: electrons (about 2 % of tracks) cannot be tagged
#: cleanly by the TPC below 1 GeV/c, and balancing by weight would amplify their ~10 % hadron
#: contamination some 40-fold, teaching the model that pion clusters can have beta = 1
TRAIN_SPECIES = ("pi", "K", "p")
#: per-layer cluster-size features, layer 0 innermost
LAYER_FEATURES = [f"fItsClusterSizeL{i}" for i in range(its.N_LAYERS)]
#: regression inputs, in model order (names as in ITS_pid, plus explicit cos(lambda) names)
FEATURES = [
    *LAYER_FEATURES,
    "fP",
    "fEta",
    "fPhi",
    "fCosLambda",
    "fMeanItsClSize",
    "fMeanItsClSizeCosLambda",
]
#: table columns the features are built from
TRACK_COLUMNS = ["fP", "fEta", "fPhi", "fITSClusterSizes"]
#: XGBoost settings (hist trees; early stopping picks the number of trees)
DEFAULT_PARAMS = {
    "n_estimators": 1000,
    "learning_rate": 0.05,
    "max_depth": 8,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.9,
    "tree_method": "hist",
    "objective": "reg:squarederror",
    "base_score": 0.5,
}
#: early stopping of :func:`train_beta_regressor` unless ``params`` sets ``early_stopping_rounds``
EARLY_STOPPING_ROUNDS = 20


# ------------------------------------------------------------------------------- features
def build_features(df: pd.DataFrame, source: str = "tracks") -> pd.DataFrame:
    """The regression inputs :data:`FEATURES` (float32) from a frame of PID tracks
    (:data:`o2ml.physics.pid_tracks.TRACK_DTYPES`).

    The mean cluster size is the plain mean over the hit layers (as ITS_pid; 0 without hits);
    the classical estimator, the truncated mean, is :func:`baseline_estimator`.
    """
    _require(df, TRACK_COLUMNS, "The ITS PID features")
    check_finite(df, ["fP", "fEta", "fPhi"], source)
    sizes = its.unpack_cluster_sizes(df["fITSClusterSizes"].to_numpy())
    hits = np.count_nonzero(sizes, axis=1)
    total = sizes.sum(axis=1, dtype=np.float64)
    mean = np.divide(total, hits, out=np.zeros_like(total), where=hits > 0)
    cosl = its.cos_lambda(df["fEta"].to_numpy())
    cols = {name: sizes[:, i] for i, name in enumerate(LAYER_FEATURES)}
    cols |= {
        "fP": np.abs(df["fP"].to_numpy()),
        "fEta": df["fEta"].to_numpy(),
        "fPhi": df["fPhi"].to_numpy(),
        "fCosLambda": cosl,
        "fMeanItsClSize": mean,
        "fMeanItsClSizeCosLambda": mean * cosl,
    }
    return pd.DataFrame({c: np.asarray(v, dtype=np.float32) for c, v in cols.items()})


def baseline_estimator(df: pd.DataFrame) -> np.ndarray:
    """The classical ITS PID estimator: truncated-mean cluster size x cos(lambda) (O2Physics)."""
    _require(df, ["fITSClusterSizes", "fEta"], "The truncated-mean estimator")
    return its.mean_cluster_size_cos_lambda(
        df["fITSClusterSizes"].to_numpy(), df["fEta"].to_numpy()
    )


def baseline_nsigma(
    df: pd.DataFrame, params: its.ITSResponseParams = its.ITS_PARAMS_DATA
) -> dict[str, np.ndarray]:
    """nsigma_ITS of every species with the O2Physics response parametrisation ``params``."""
    _require(df, ["fITSClusterSizes", "fEta", "fP"], "The ITS nsigma")
    packed, eta, p = (df[c].to_numpy() for c in ("fITSClusterSizes", "fEta", "fP"))
    return {s: its.its_nsigma(packed, np.abs(p), eta, s, params=params) for s in SPECIES}


def species_masses() -> dict[str, float]:
    """Mass (GeV/c^2) of each species of :data:`SPECIES`."""
    return {s: mass(s) for s in SPECIES}


def beta_target(p: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """beta = p / sqrt(p^2 + m^2) with m the mass of each track's label (0..3)."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(SPECIES)):
        raise BadArgumentError(f"Labels must be 0..{len(SPECIES) - 1} (tagged tracks only).")
    m = np.array(list(species_masses().values()))[labels]
    p = np.abs(np.asarray(p, dtype=np.float64))
    return p / np.sqrt(p * p + m * m)


def split_tracks(
    df: pd.DataFrame, test_fraction: float = 0.5, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic random split into (training, test) tracks, original order kept in each."""
    if not 0.0 < test_fraction < 1.0:
        raise BadArgumentError(f"test_fraction must be between 0 and 1, not {test_fraction}.")
    test = np.random.default_rng(seed).random(len(df)) < test_fraction
    return df[~test].reset_index(drop=True), df[test].reset_index(drop=True)


def balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Weights that give every present species the same total weight (mean weight 1)."""
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=len(SPECIES)).astype(np.float64)
    present = np.count_nonzero(counts)
    with np.errstate(divide="ignore"):
        per_species = np.where(counts > 0, labels.size / (present * counts), 0.0)
    return per_species[labels]


# ------------------------------------------------------------------------------- the model
@dataclass
class BetaRegressor:
    """A trained beta regressor with what is needed to apply it again."""

    model: xgb.XGBRegressor
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    seed: int | None = None
    params: dict = field(default_factory=dict)
    n_train: dict[str, int] = field(default_factory=dict)
    best_iteration: int | None = None
    history: dict[str, list[float]] = field(default_factory=dict)

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Predicted beta (float32) of every track of a frame of PID tracks."""
        X = build_features(df)[self.features]
        return self.model.predict(X).astype(np.float32)

    def metadata(self) -> dict:
        import xgboost as xgb

        return {
            "features": list(self.features),
            "target": "beta",
            "species": list(SPECIES),
            "masses": species_masses(),
            "seed": self.seed,
            "params": self.params,
            "n_train": self.n_train,
            "best_iteration": self.best_iteration,
            "o2ml_version": __version__,
            "xgboost_version": xgb.__version__,
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """XGBoost JSON at ``path`` plus ``<stem>.meta.json`` (features, masses, seed, ...)."""
        return save_xgboost(self.model, path, self.metadata(), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> BetaRegressor:
        """Load what :meth:`save` wrote."""
        import xgboost as xgb

        model, meta = load_xgboost(path, xgb.XGBRegressor)
        return cls(
            model,
            list(meta["features"]),
            meta.get("seed"),
            meta.get("params", {}),
            meta.get("n_train", {}),
            meta.get("best_iteration"),
        )

    def to_onnx(self, path: str | os.PathLike | None = None, *, overwrite: bool = False):
        """ONNX model (onnxmltools): input ``input`` [None, n_features] float, output ``variable``
        [None, 1] = beta; o2ml metadata (features, seed, version, target, masses). Written to
        ``path`` if given; returns the ``onnx.ModelProto``.
        """
        from ...onnx import xgboost_to_onnx

        extra = {"target": "beta", "species": list(SPECIES), "masses": species_masses()}
        return xgboost_to_onnx(self.model, self.features, path, class_labels=[], seed=self.seed,
                               extra_metadata=extra, overwrite=overwrite)  # fmt: skip


def _progress(total: int):
    """An XGBoost training callback: a tqdm bar over ``total`` boosting rounds (the class is made
    here, so that importing this module does not import xgboost)."""
    import xgboost as xgb
    from tqdm.auto import tqdm

    class _Progress(xgb.callback.TrainingCallback):
        def __init__(self) -> None:
            self.bar = tqdm(total=total, desc="boosting rounds", leave=False)

        def after_iteration(self, model, epoch, evals_log) -> bool:
            self.bar.update()
            return False

        def after_training(self, model):
            self.bar.close()
            return model

    return _Progress()


def train_beta_regressor(
    df: pd.DataFrame,
    tags: np.ndarray,
    *,
    seed: int = 42,
    params: Mapping | None = None,
    validation_fraction: float = 0.2,
    max_per_species: int | None = None,
    species: Sequence[str] = TRAIN_SPECIES,
    progress: bool = False,
) -> BetaRegressor:
    """Train the XGBoost beta regressor on the tagged tracks of ``df``.

    Parameters
    ----------
    df
        Tracks (a frame of PID tracks, physics.pid_tracks) of the training sample.
    tags
        Label per track from :func:`tag_species` (-1: not used).
    seed
        Seeds the subsampling, the validation split and XGBoost: same seed, same model.
    params
        XGBoost settings on top of :data:`DEFAULT_PARAMS`; also ``early_stopping_rounds`` (stop
        when the validation RMSE has not improved for this many rounds, default
        :data:`EARLY_STOPPING_ROUNDS`; the model keeps the best round only, so the JSON and ONNX
        files hold exactly the trees that predict) and ``n_jobs`` (XGBoost threads, default
        :func:`o2ml.config.threads`; the same count gives bit-identical results, another count
        may change the last bits).
    validation_fraction
        Share of the tagged tracks held out for early stopping (weighted RMSE).
    species
        The species to learn (tags of the others are ignored).
    max_per_species
        Use at most this many tagged tracks of a species (random, seeded); the species are then
        balanced by weights.
    progress
        Show a progress bar over the boosting rounds.
    """
    import xgboost as xgb

    settings = {**DEFAULT_PARAMS, **(params or {})}
    early_stopping_rounds = settings.pop("early_stopping_rounds", EARLY_STOPPING_ROUNDS)
    n_jobs = settings.pop("n_jobs", None)
    n_jobs = config.threads() if n_jobs is None else n_jobs
    tags = np.asarray(tags)
    if tags.shape != (len(df),):
        raise BadArgumentError(
            f"{tags.size} tags for {len(df)} tracks; one tag per track expected."
        )
    rng = np.random.default_rng(seed)
    chosen = []
    unknown = [s for s in species if s not in SPECIES]
    if unknown or not species:
        raise BadArgumentError(
            f"Training species must be some of {list(SPECIES)}; got {list(species)}."
        )
    for k, s in enumerate(SPECIES):
        if s not in species:
            continue
        idx = np.flatnonzero(tags == k)
        if max_per_species is not None and idx.size > max_per_species:
            idx = np.sort(rng.choice(idx, max_per_species, replace=False))
        if idx.size == 0:
            raise EmptySelectionError(
                f"No track is tagged as {s!r}; the regression is asked to learn {list(species)} "
                "(check the TPC nsigma columns, the tagging cuts and the momentum range)."
            )
        chosen.append(idx)
    idx = np.sort(np.concatenate(chosen))
    labels = tags[idx]
    X = build_features(df.iloc[idx])
    y = beta_target(X["fP"].to_numpy(), labels).astype(np.float32)
    w = balanced_weights(labels)
    val = rng.random(idx.size) < validation_fraction
    if val.sum() == 0 or (~val).sum() == 0:
        raise EmptySelectionError(
            f"Validation split of {idx.size} tagged tracks with fraction {validation_fraction} "
            "leaves an empty training or validation set."
        )
    model = xgb.XGBRegressor(
        **settings,
        random_state=seed,
        n_jobs=n_jobs,
        early_stopping_rounds=early_stopping_rounds,
        callbacks=[_progress(settings["n_estimators"])] if progress else None,
    )
    model.fit(
        X[~val],
        y[~val],
        sample_weight=w[~val],
        eval_set=[(X[val], y[val])],
        sample_weight_eval_set=[w[val]],
        verbose=False,
    )
    best = int(model.best_iteration)
    history = {k: list(v) for k, v in model.evals_result()["validation_0"].items()}
    # keep only the trees up to the best round: predict, JSON and ONNX then agree by construction
    booster = model.get_booster()[: best + 1]
    for attr in ("best_iteration", "best_score", "best_ntree_limit"):
        booster.set_attr(**{attr: None})
    final = xgb.XGBRegressor(**settings, random_state=seed, n_jobs=n_jobs)
    with warnings.catch_warnings():  # "loading a native model": it is our own, just trimmed
        warnings.simplefilter("ignore", UserWarning)
        final.load_model(bytearray(booster.save_raw("json")))
    return BetaRegressor(
        final,
        list(FEATURES),
        seed,
        settings,
        {s: int(np.count_nonzero(labels == k)) for k, s in enumerate(SPECIES)},
        best,
        history,
    )


__all__ = [
    "DEFAULT_PARAMS",
    "EARLY_STOPPING_ROUNDS",
    "FEATURES",
    "LAYER_FEATURES",
    "TRACK_COLUMNS",
    "TRAIN_SPECIES",
    "BetaRegressor",
    "balanced_weights",
    "baseline_estimator",
    "baseline_nsigma",
    "beta_target",
    "build_features",
    "species_masses",
    "split_tracks",
    "train_beta_regressor",
]
