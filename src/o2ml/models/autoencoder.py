"""Autoencoder anomaly detection of charm candidates (PyTorch), trained on background only.

The anomaly score is the per-candidate mean squared reconstruction error in the min-max scaled
space, as O2Physics' ``PWGHF/Core/HfAeToMseXicToPKPi.h`` computes it: each feature is scaled
with the training sample's min and max, the network reconstructs it, and
``mse = mean_over_features((scaled input - output)^2)``. Signal, never seen in training,
reconstructs worse than the background: larger MSE = more signal-like.

Optional per-feature clipping (``clip``) happens before the scaling; it is part of the model
(stored with it and inside the ONNX graph), so O2Physics feeds the raw tree values. It is what
makes the unbounded TPC/TOF nσ (and the -999 of a missing TOF) usable: see
:func:`o2ml.channels.lc.nsigma_clip`.

Stored as a PyTorch ``state_dict`` (``.pt``, never a pickle of the model) plus a JSON sidecar
(architecture, features, clipping, scaling, seed, o2ml version); exported to ONNX with the MSE
as its single output, shape ``[batch]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import __version__
from .._extras import load
from ..errors import (
    BadArgumentError,
    EmptySelectionError,
    NonFiniteError,
)
from ..schema import require_columns
from ._storage import read_sidecar
from ._torch import load_state_dict, save_state_dict
from .bdt import Search, open_study

if TYPE_CHECKING:
    import torch

    from ._autoencoder_net import MseAutoencoder

__all__ = [
    "OPTUNA_SPACE",
    "AutoencoderConfig",
    "AutoencoderModel",
    "best_config",
    "fit",
    "optimize",
]

#: Optuna search space: hidden-layer width choices, bottleneck, log-uniform rate, batch sizes.
#: Adam rates below 1e-3 fall by under 0.1 % per epoch on a few batches per epoch (notebook 02's
#: FAST sample), so early stopping ends them by chance, long before their minimum: not searched.
OPTUNA_SPACE = {
    "hidden1": (16, 64),
    "hidden2": (8, 32),
    "bottleneck": (2, 12),
    "learning_rate": (1e-3, 1e-2),
    "batch_size": (256, 512, 1024, 2048),
}


@dataclass
class AutoencoderConfig:
    """Architecture and training settings (the defaults are the benchmarked ones)."""

    hidden: tuple[int, ...] = (32, 16)  # encoder widths; the decoder mirrors them
    bottleneck: int = 4
    learning_rate: float = 3e-3
    batch_size: int = 2048
    epochs: int = 12  # the most epochs; early stopping usually ends sooner
    patience: int = 3  # early stopping: epochs without validation improvement
    val_fraction: float = 0.1
    min_delta: float = 0.0  # relative: an epoch improves if val < best * (1 - min_delta)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> AutoencoderConfig:
        d = dict(d)
        d["hidden"] = tuple(d.get("hidden", cls.hidden))
        return cls(**d)


def _network() -> type[MseAutoencoder]:
    """The network class (a ``torch.nn.Module``), once torch is there: a missing ``torch`` extra
    is a :class:`~o2ml.errors.MissingExtraError` naming this module."""
    load("torch", "torch")
    from ._autoencoder_net import MseAutoencoder

    return MseAutoencoder


def _device(device: str | None) -> torch.device:
    torch = load("torch", "torch")
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def _matrix(df: pd.DataFrame | np.ndarray, features: Sequence[str], source: str) -> np.ndarray:
    if isinstance(df, pd.DataFrame):
        require_columns(df, features, f"{source}: the autoencoder's features")
        x = df[list(features)].to_numpy(np.float32)
    else:
        x = np.asarray(df, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(features):
            raise BadArgumentError(
                f"{source}: expected shape [n, {len(features)}], found {x.shape}."
            )
    x = np.require(x, np.float32, ["C", "W"])  # torch.from_numpy wants a writable array
    bad = ~np.isfinite(x)
    if bad.any():
        cols = [features[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise NonFiniteError(f"{source}: {int(bad.sum())} NaN/inf values in {cols}.")
    return x


@dataclass
class AutoencoderModel:
    """A trained autoencoder with its features, clipping, scaling and training history."""

    net: MseAutoencoder
    features: list[str]
    config: AutoencoderConfig
    seed: int
    clip: dict[str, tuple[float, float]] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """True when early stopping ended the training (``patience`` epochs without a relative
        improvement of the validation loss above ``min_delta``), not the epoch limit."""
        val = self.history.get("val_loss", [])
        if len(val) <= self.config.patience:
            return False
        best_before = min(val[: -self.config.patience])
        return min(val[-self.config.patience :]) >= best_before * (1 - self.config.min_delta) - 1e-7

    @property
    def best_epoch(self) -> int:
        """1-based epoch of the lowest validation loss (its weights are the model's)."""
        val = self.history.get("val_loss", [])
        return int(np.argmin(val)) + 1 if val else 0

    def predict(
        self, df: pd.DataFrame | np.ndarray, *, batch_size: int = 65536, device: str | None = None
    ) -> np.ndarray:
        """Per-candidate MSE (float32 ``[n]``, the score: large = anomalous = signal-like) of a
        DataFrame (features by name) or an array."""
        torch = load("torch", "torch")
        x = _matrix(df, self.features, "autoencoder input")
        dev = _device(device)
        net = self.net.to(dev).eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                out.append(net(torch.from_numpy(x[i : i + batch_size]).to(dev)).cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def metadata(self) -> dict:
        torch = load("torch", "torch")
        return {
            "architecture": self.config.to_dict(),
            "features": self.features,
            "clip": {k: list(v) for k, v in self.clip.items()},
            "x_min": self.net.x_min.cpu().tolist(),
            "x_max": self.net.x_max.cpu().tolist(),
            "score": "mse",
            "seed": self.seed,
            "o2ml_version": __version__,
            "torch_version": torch.__version__,
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """``path`` (``.pt``, the state_dict) and ``<stem>.meta.json`` (the sidecar)."""
        return save_state_dict(self.net, path, self.metadata(), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> AutoencoderModel:
        """Load what :meth:`save` wrote (``weights_only=True``: plain tensors, no pickle)."""
        meta = read_sidecar(path, what="an autoencoder")
        config = AutoencoderConfig.from_dict(meta["architecture"])
        net = _network()(len(meta["features"]), config.hidden, config.bottleneck)
        load_state_dict(net, path, what="this autoencoder")
        clip = {k: tuple(v) for k, v in meta.get("clip", {}).items()}
        return cls(net, list(meta["features"]), config, int(meta["seed"]), clip)

    def to_onnx(self, path: str | os.PathLike, *, pt_bin=None, overwrite: bool = False):
        """Export to ONNX: input ``input`` [batch, n_features] raw features, output ``mse`` [batch].

        Clipping and min-max scaling are inside the graph. Metadata as
        :func:`o2ml.onnx.model_metadata` (class label ``mse``) plus clip and scaling.
        """
        from ..onnx import model_metadata, torch_to_onnx

        meta = self.metadata()
        extra = {k: meta[k] for k in ("clip", "x_min", "x_max", "architecture", "score")}
        onnx_meta = model_metadata(self.features, ["mse"], pt_bin=pt_bin, seed=self.seed,
                                   extra={**extra, "selection": SELECTION_NOTE})  # fmt: skip
        return torch_to_onnx(self.net, path, output="mse", metadata=onnx_meta, overwrite=overwrite)


#: what the ONNX file's one output is, and how an O2Physics selector cuts on it
SELECTION_NOTE = (
    "output mse [batch]: the mean over the features of (scaled input - reconstruction)^2, features "
    "clipped and min-max scaled inside the graph (as PWGHF/Core/HfAeToMseXicToPKPi.h computes "
    "it), so the selector feeds the raw tree values; large = anomalous = signal-like. In "
    "MlResponse: nClassesMl 1, cutDirMl [1] (CutSmaller: reject a candidate whose MSE is below "
    "cutsMl)."
)


def _seed_all(seed: int) -> torch.Generator:
    torch = load("torch", "torch")
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (for any legacy-API user code in the loop)
    return torch.Generator().manual_seed(seed)


def fit(
    background: pd.DataFrame | np.ndarray,
    features: Sequence[str],
    config: AutoencoderConfig | None = None,
    *,
    seed: int = 42,
    clip: Mapping[str, tuple[float, float]] | None = None,
    device: str | None = None,
    progress: bool = True,
) -> AutoencoderModel:
    """Train an autoencoder on background candidates only.

    Parameters
    ----------
    background : DataFrame or array [n, n_features]
        Background training candidates (e.g. the data sidebands).
    features : sequence of str
        Feature names, in the model's input order.
    config : AutoencoderConfig, optional
        Architecture and training settings.
    seed : int
        Seeds torch, numpy and the shuffling; same seed -> bit-identical model on the CPU.
    clip : mapping feature -> (lo, hi), optional
        Clipping applied before the min-max scaling (part of the model).
    device : str, optional
        Default ``cuda`` when present, else ``cpu``.
    progress : bool
        tqdm progress bar over epochs.

    Returns
    -------
    AutoencoderModel
        Trained with Adam on the mean MSE, a ``val_fraction`` validation split, early stopping
        after ``patience`` epochs without a relative improvement above ``min_delta`` (the best
        epoch's weights are kept); ``model.converged`` says whether early stopping, not the
        epoch limit, ended it.
    """
    torch = load("torch", "torch")
    from tqdm.auto import tqdm

    config = config or AutoencoderConfig()
    features = list(features)
    clip = {k: (float(a), float(b)) for k, (a, b) in (clip or {}).items() if k in features}
    x = _matrix(background, features, "autoencoder training sample")
    if len(x) < 10:
        raise EmptySelectionError(
            f"autoencoder training: expected >= 10 candidates, found {len(x)}."
        )
    gen = _seed_all(seed)
    dev = _device(device)
    clip_lo = np.array([clip.get(f, (-np.inf, np.inf))[0] for f in features], np.float32)
    clip_hi = np.array([clip.get(f, (-np.inf, np.inf))[1] for f in features], np.float32)
    xc = np.clip(x, clip_lo, clip_hi)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, round(config.val_fraction * len(x)))
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    lo, hi = xc[train_idx].min(axis=0), xc[train_idx].max(axis=0)  # training min and max
    net = _network()(len(features), config.hidden, config.bottleneck, lo, hi, clip_lo, clip_hi)
    net.to(dev)
    x_train = torch.from_numpy(x[train_idx]).to(dev)
    x_val = torch.from_numpy(x[val_idx]).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    best, best_state, stale = np.inf, None, 0
    bar = tqdm(range(config.epochs), desc="autoencoder", disable=not progress, leave=False)
    for _ in bar:
        net.train()
        # in-memory tensors: index batches directly (a DataLoader's per-sample collation is ~10x
        # slower); the permutation comes from a seeded generator, so the order is reproducible
        order = torch.randperm(len(x_train), generator=gen).to(dev)
        total = 0.0
        for i in range(0, len(order), config.batch_size):
            loss = net(x_train[order[i : i + config.batch_size]]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * min(config.batch_size, len(order) - i)
        net.eval()
        with torch.no_grad():
            val = float(net(x_val).mean())
        history["train_loss"].append(total / len(order))
        history["val_loss"].append(val)
        bar.set_postfix(train=f"{history['train_loss'][-1]:.3g}", val=f"{val:.3g}")
        if val < best * (1 - config.min_delta) - 1e-7:
            best, stale = val, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.to("cpu").eval()
    return AutoencoderModel(net, features, config, seed, clip, history)


def optimize(
    background: pd.DataFrame,
    features: Sequence[str],
    search: Search,
    *,
    signal: pd.DataFrame | None = None,
    config: AutoencoderConfig | None = None,
    clip: Mapping[str, tuple[float, float]] | None = None,
):
    """Optuna search of layer sizes, bottleneck, learning rate and batch size; persistent study.

    ``search`` (:class:`o2ml.models.bdt.Search`): trials, storage (an SQLite path, an RDB URL,
    or None in memory; re-running with the same study name, default ``o2ml-autoencoder``, adds
    ``search.n_trials`` trials), seed, timeout, progress bar, and the space (``search.ranges``,
    default :data:`OPTUNA_SPACE`); its ``nfold`` and ``sample_per_class`` are not used.
    ``config``: the training settings of every trial (``epochs``, ``patience``, ``min_delta``,
    ``val_fraction``; default ``AutoencoderConfig(epochs=10)``), the searched fields replaced.
    Objective: with ``signal`` (e.g. MC), the ROC AUC of the MSE for signal against held-out
    background (maximised); without it, minus the validation loss (an unsupervised proxy, which
    favours wide bottlenecks). A trial whose training the epoch limit ended (not converged) is
    pruned, so the best settings are those of a finished training. Returns the study;
    ``best_config(study, config=...)`` gives the config of the final fit.
    """
    import optuna
    from sklearn.metrics import roc_auc_score

    seed, space = search.seed, OPTUNA_SPACE if search.ranges is None else search.ranges
    base = AutoencoderConfig(epochs=10) if config is None else config
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(background))
    n_hold = len(perm) // 5
    hold, train = background.iloc[perm[:n_hold]], background.iloc[perm[n_hold:]]

    def objective(trial) -> float:
        cfg = replace(
            base,
            hidden=(
                trial.suggest_int("hidden1", *space["hidden1"]),
                trial.suggest_int("hidden2", *space["hidden2"]),
            ),
            bottleneck=trial.suggest_int("bottleneck", *space["bottleneck"]),
            learning_rate=trial.suggest_float("learning_rate", *space["learning_rate"], log=True),
            batch_size=trial.suggest_categorical("batch_size", list(space["batch_size"])),
        )
        model = fit(train, features, cfg, seed=seed, clip=clip, progress=False)
        if not model.converged:  # a score of an unfinished training would rank its settings
            raise optuna.TrialPruned(
                f"the epoch limit {cfg.epochs} ended the training, not early stopping"
            )
        if signal is None:
            return -float(np.mean(model.predict(hold)))
        s, b = model.predict(signal), model.predict(hold)
        return float(roc_auc_score(np.r_[np.ones(len(s)), np.zeros(len(b))], np.r_[s, b]))

    study = open_study(search.storage, search.name("o2ml-autoencoder"), seed)
    study.optimize(
        objective,
        n_trials=search.n_trials,
        timeout=search.timeout,
        show_progress_bar=search.progress,
    )
    return study


def best_config(study, *, config: AutoencoderConfig | None = None) -> AutoencoderConfig:
    """The :class:`AutoencoderConfig` of a study's best trial: ``config`` (default
    ``AutoencoderConfig()``) with the searched fields (``hidden``, ``bottleneck``,
    ``learning_rate``, ``batch_size``) replaced by the best trial's; its training fields
    (``epochs``, ``patience``, ``min_delta``, ``val_fraction``) are those of the final fit.
    """
    import optuna

    if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        raise BadArgumentError(
            f"Optuna study {study.study_name!r}: none of its {len(study.trials)} trials finished "
            "a converged training (each was pruned at the epoch limit): raise epochs, patience "
            "or min_delta, or run more trials."
        )
    p = study.best_params
    return replace(
        config or AutoencoderConfig(),
        hidden=(p["hidden1"], p["hidden2"]),
        bottleneck=p["bottleneck"],
        learning_rate=p["learning_rate"],
        batch_size=p["batch_size"],
    )
