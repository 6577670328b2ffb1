"""Domain-adversarial PID (DANN): carry a PID classifier from simulation to data (PyTorch).

The method of the ALICE PID studies (JINST 17 (2022) C07016; Ganin & Lempitsky, ICML 2015):

* a feature extractor feeds a **class head** (e, pi, K, p), trained on labelled MC only, and,
  through a **gradient-reversal layer**, a **domain head** that tells MC from data (data labels are
  never used). The reversal is the identity forward and multiplies the gradient by -lambda
  backward, so the extractor learns features the domain head cannot separate;
* lambda is constant or follows the Ganin-Lempitsky schedule 2/(1 + exp(-10 p)) - 1 (p the
  training progress 0 -> 1) up to ``lambda_max``; the baseline is the same network with lambda = 0;
* inputs are the values of the O2Physics PIDML tables (``PidTracksMcMl`` to train,
  ``PidTracksDataMl`` for the data domain) in the order of :data:`FEATURES`: p, η (derived from
  fPx, fPy, fPz), TPC dE/dx, TOF β, TRD signal and pattern; missing TOF and TRD as PIDML writes
  them (:data:`MISSING_VALUES`), never dropped; the standardisation lives inside the model
  (:mod:`o2ml.models.dann._net`).

Training is deterministic for a seed (seeded initialisation and batch order, deterministic
kernels, a fixed thread count). Storage: a ``state_dict`` (``.pt``, plain tensors, loaded with
``weights_only=True``) plus a JSON sidecar; the classifier exports to ONNX.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ... import __version__
from ..._extras import load
from .. import repeat
from .._storage import read_sidecar, sidecar_path
from .._torch import deterministic, load_state_dict, resolve_device, save_state_dict
from ._config import DANNConfig, lambda_at, lr_factor
from ._data import (
    FEATURE_SOURCES,
    FEATURES,
    MISSING_VALUES,
    SPECIES,
    TABLES,
    TOF_TAG_SPECIES,
    TRANSFORMED,
    InputError,
    Tracks,
    build_inputs,
    check_feature_matrix,
    read_tracks,
    tof_tags,
    tracks_from_frame,
)
from ._eval import (
    domain_probe_accuracy,
    embedding_2d,
    evaluate,
    macro_f1_difference,
    scores_vs_p,
    seed_table,
    species_scores,
    tagged_macro_f1,
    without_tof,
)
from ._study import (
    InputCalibration,
    criterion_picks,
    criterion_verdicts,
    gains,
    species_f1,
    training_failures,
)

if TYPE_CHECKING:
    import torch

    from ._net import DANNNet


def _network():
    """The private module of the network (``torch.nn.Module`` classes), once torch is there: a
    missing ``torch`` extra is a :class:`~o2ml.errors.MissingExtraError` naming this module."""
    load("torch", "torch")
    from . import _net

    return _net


def grad_reverse(x: torch.Tensor, lambd: float) -> torch.Tensor:
    """Gradient-reversal layer: identity forward, gradient times -lambda backward."""
    return _network().grad_reverse(x, lambd)


def _cpu() -> torch.device:
    return load("torch", "torch").device("cpu")


# ------------------------------------------------------------------------------- the model
@dataclass
class DANNClassifier:
    """A trained network with what is needed to apply, store and export it."""

    net: DANNNet
    config: DANNConfig = field(default_factory=DANNConfig)
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_train: dict[str, int] = field(default_factory=dict)
    device: torch.device = field(default_factory=_cpu)

    @property
    def class_labels(self) -> list[str]:
        return list(SPECIES)

    def _apply(self, X: np.ndarray | Tracks, fn, batch: int = 65536) -> np.ndarray:
        torch = load("torch", "torch")
        X = check_feature_matrix(X.X if isinstance(X, Tracks) else X, self.features)
        self.net.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(X), batch):
                out.append(fn(torch.from_numpy(X[i : i + batch]).to(self.device)).cpu().numpy())
        return np.concatenate(out)

    def predict_proba(self, X: np.ndarray | Tracks) -> np.ndarray:
        """Class probabilities [n, 4] (e, pi, K, p) of raw inputs [n, n_features] or Tracks."""
        torch = load("torch", "torch")
        return self._apply(X, lambda x: torch.softmax(self.net(x)[0], dim=1))

    def predict(self, X: np.ndarray | Tracks) -> np.ndarray:
        """Most probable class 0..3 of each track."""
        return self.predict_proba(X).argmax(axis=1)

    def embed(self, X: np.ndarray | Tracks) -> np.ndarray:
        """The learned features [n, feature_dim] (domain diagnostics, t-SNE/PCA maps)."""
        return self._apply(X, self.net.features)

    def domain_score(self, X: np.ndarray | Tracks) -> np.ndarray:
        """The network's own domain head: probability that a track comes from data."""
        torch = load("torch", "torch")
        return self._apply(X, lambda x: torch.sigmoid(self.net(x)[1]))

    # ---------------------------------------------------------------------- storage
    def metadata(self) -> dict:
        torch = load("torch", "torch")
        return {
            "model": "o2ml.models.dann",
            "config": asdict(self.config),
            "features": list(self.features),
            "inputs": _input_contract(),
            "class_labels": self.class_labels,
            "standardisation": {
                "inputs": list(TRANSFORMED),
                "mean": self.net.transform.mean.cpu().tolist(),
                "std": self.net.transform.std.cpu().tolist(),
            },
            "lambda_schedule": {
                "schedule": self.config.schedule,
                "lambda_max": self.config.lambda_max,
            },
            "seed": self.config.seed,
            "n_train": self.n_train,
            "o2ml_version": __version__,
            "torch_version": torch.__version__,
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """``state_dict`` at ``path`` (``.pt``) plus ``<stem>.meta.json`` (architecture, features,
        standardisation, class labels, lambda schedule, seed, version). Returns ``path``."""
        return save_state_dict(self.net, path, self.metadata(), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str = "cpu") -> DANNClassifier:
        """Load what :meth:`save` wrote (``weights_only``: plain tensors, no pickled objects)."""
        path, meta_path = Path(path), sidecar_path(path)
        meta = read_sidecar(path, what="a DANN model")
        if list(meta.get("features", [])) != list(FEATURES):
            raise InputError(
                f"{meta_path}: the model was trained with the features {meta.get('features')}; "
                f"this o2ml version builds {FEATURES}."
            )
        config = DANNConfig.from_dict(meta["config"])
        net = load_state_dict(_network().DANNNet(config), path, what="this DANN")
        dev = resolve_device(device)
        return cls(
            net.to(dev).eval(), config, list(FEATURES), n_train=meta.get("n_train", {}), device=dev
        )

    def to_onnx(self, path: str | os.PathLike | None = None, *, overwrite: bool = False):
        """ONNX classifier (transform + extractor + class head + softmax): input ``input``
        [batch, 6] float (dynamic batch) in the order of :data:`FEATURES`, last output
        ``probabilities`` [batch, 4] (e, π, K, p), with o2ml metadata (features, the input
        contract ``inputs``: where each input comes from and how a missing detector is encoded,
        class labels, version, seed).

        The contract: the PIDML values as they are, η = asinh(fPz / sqrt(fPx² + fPy²)); no TOF:
        ``fBeta`` NaN (or any value <= 0); no TRD: ``fTRDPattern`` 0 (``fTRDSignal`` NaN, or any
        value, is then ignored). Written to ``path`` if given; returns the ``onnx.ModelProto``."""
        from ...onnx import model_metadata, torch_to_onnx

        extra = {
            "model": "DANN",
            "lambda_max": self.config.lambda_max,
            "inputs": _input_contract(),
        }
        meta = model_metadata(self.features, self.class_labels, seed=self.config.seed, extra=extra)
        try:
            return torch_to_onnx(
                _network().Probabilities(self.net),
                path,
                output="probabilities",
                metadata=meta,
                overwrite=overwrite,
            )
        finally:
            self.net.to(self.device)


def _input_contract() -> dict:
    """Each input's source and missing-value encoding (ONNX metadata and JSON sidecar)."""
    return {
        "tables": dict(TABLES),
        "features": {
            f: {"source": FEATURE_SOURCES[f], **({"missing": MISSING_VALUES[f]}
                                                 if f in MISSING_VALUES else {})}
            for f in FEATURES
        },
    }  # fmt: skip


# ------------------------------------------------------------------------------- training
def _as_xy(tracks, what: str, labels: bool) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(tracks, Tracks):
        X, y = tracks.X, tracks.y
    else:
        X, y = tracks if isinstance(tracks, tuple) else (tracks, None)
    X = check_feature_matrix(X)
    if labels:
        if y is None:
            raise InputError(f"{what}: the training needs labels (MC truth); none given.")
        y = np.asarray(y, dtype=np.int64)
        if y.shape != (len(X),) or (y >= len(SPECIES)).any() or (y < -1).any():
            raise InputError(
                f"{what}: one label 0..{len(SPECIES) - 1} (-1: ignored) per track expected; got "
                f"{y.size} labels for {len(X)} tracks, range {y.min(initial=0)}..{y.max(initial=0)}."
            )
    return X, y


#: learning-curve values shown on the progress bar
_POSTFIX = ("lambda", "class_loss", "domain_acc_train", "data_macro_f1")


def train_dann(
    mc: Tracks | tuple[np.ndarray, np.ndarray],
    data: Tracks | np.ndarray,
    config: DANNConfig | None = None,
    *,
    monitor: Mapping[str, Tracks] | None = None,
    device: str = "cpu",
    threads: int = 1,
    progress: bool = True,
    desc: str | None = None,
) -> DANNClassifier:
    """Train the DANN on labelled MC tracks and unlabelled data tracks.

    Parameters
    ----------
    mc
        Labelled MC tracks: :class:`Tracks` or ``(X, y)`` with raw inputs [n, n_features]
        (:func:`build_inputs` of PIDML rows) and labels 0..3 (-1, another particle: not used).
    data
        Data tracks (:class:`Tracks` or X); their labels, if any, are never used.
    config
        Settings (:class:`DANNConfig`, default ``DANNConfig()``); to change single fields, pass
        ``dataclasses.replace(config, epochs=5)`` (``lambda_max=0``: the baseline).
    monitor
        ``{"mc": Tracks, "data": Tracks}`` held out, evaluated after every epoch (accuracy and
        macro-F1 where labels exist, the domain head's accuracy on both): the learning curves of
        :attr:`DANNClassifier.history`. Never used to choose anything.
    device
        ``"cpu"`` (default), ``"cuda"`` or ``"auto"``.
    threads
        torch CPU threads during training (fixed: same seed and threads, bit-identical weights).
    progress
        A tqdm bar over the epochs.
    desc
        The bar's label (default: ``DANN λmax=<lambda_max>``).
    """
    torch = load("torch", "torch")
    nn = torch.nn
    from tqdm.auto import tqdm

    config = config or DANNConfig()
    X_mc, y_mc = _as_xy(mc, "MC tracks", labels=True)
    X_data, _ = _as_xy(data, "data tracks", labels=False)
    labelled = y_mc >= 0  # other particles (-1) are not used: every MC batch is labelled
    X_mc, y_mc = X_mc[labelled], y_mc[labelled]
    if len(X_data) == 0 or len(X_mc) == 0:
        raise InputError(
            f"Training needs labelled MC tracks and data tracks; got {len(X_mc)} labelled MC "
            f"tracks and {len(X_data)} data tracks."
        )
    nets, dev = _network(), resolve_device(device)
    with deterministic(threads):
        torch.manual_seed(config.seed)
        gen = torch.Generator().manual_seed(config.seed)
        net = nets.DANNNet(config, *nets.fit_standardisation(X_mc, X_data)).to(dev)
        xs, ys = torch.from_numpy(X_mc).to(dev), torch.from_numpy(y_mc).to(dev)
        xt = torch.from_numpy(X_data).to(dev)
        domain = [p for n, p in net.named_parameters() if n.startswith("domain_head.")]
        rest = [p for n, p in net.named_parameters() if not n.startswith("domain_head.")]
        opt = torch.optim.Adam(
            [{"params": rest, "factor": 1.0}, {"params": domain, "factor": config.domain_lr_factor}]
        )
        class_loss_fn, domain_loss_fn = nn.CrossEntropyLoss(), nn.BCEWithLogitsLoss()
        bs = config.batch_size
        steps = max(1, math.ceil(len(X_mc) / bs))
        total = steps * config.epochs
        model = DANNClassifier(
            net, config, list(FEATURES), n_train={"mc": len(X_mc), "data": len(X_data)}, device=dev
        )
        rows = []
        bar = tqdm(
            range(config.epochs),
            desc=desc or f"DANN λmax={config.lambda_max:g}",
            unit="epoch",
            disable=not progress,
        )
        for epoch in bar:
            net.train()
            t0 = time.perf_counter()
            perm_s = torch.randperm(len(X_mc), generator=gen).to(dev)
            # the data batches run through a permutation of the data tracks, repeated if short
            perm_t = torch.randperm(len(X_data), generator=gen)
            perm_t = perm_t.repeat(math.ceil(steps * bs / len(X_data)))[: steps * bs].to(dev)
            sums = torch.zeros(3, dtype=torch.float64)
            for step in range(steps):
                progress_frac = (epoch * steps + step) / total
                lambd = lambda_at(progress_frac, config.lambda_max, config.schedule)
                for g in opt.param_groups:
                    g["lr"] = (
                        config.learning_rate
                        * g["factor"]
                        * lr_factor(progress_frac, config.lr_schedule)
                    )
                idx_s = perm_s[step * bs : (step + 1) * bs]
                idx_t = perm_t[step * bs : step * bs + len(idx_s)]
                n = len(idx_s)
                class_logits, domain_logits = net(torch.cat([xs[idx_s], xt[idx_t]]), lambd)
                loss_c = class_loss_fn(class_logits[:n], ys[idx_s])
                target = torch.cat([torch.zeros(n, device=dev), torch.ones(n, device=dev)])
                loss_d = domain_loss_fn(domain_logits, target)
                opt.zero_grad(set_to_none=True)
                (loss_c + loss_d).backward()
                opt.step()
                with torch.no_grad():
                    hit = ((domain_logits > 0).float() == target).float().mean()
                    sums += torch.stack([loss_c.detach(), loss_d.detach(), hit]).double().cpu()
            row = {
                "epoch": epoch + 1,
                "lambda": lambd,
                "class_loss": float(sums[0]) / steps,
                "domain_loss": float(sums[1]) / steps,
                "domain_acc_train": float(sums[2]) / steps,
                "seconds": time.perf_counter() - t0,
            }
            if monitor:
                row.update(evaluate(model, monitor["mc"], monitor["data"], probe=False))
            rows.append(row)
            bar.set_postfix({k: f"{row[k]:.3f}" for k in _POSTFIX if k in row})
        model.history = pd.DataFrame(rows)
        net.eval()
    return model


def train_baseline(
    mc: Tracks | tuple[np.ndarray, np.ndarray],
    data: Tracks | np.ndarray,
    config: DANNConfig | None = None,
    *,
    monitor: Mapping[str, Tracks] | None = None,
    device: str = "cpu",
    threads: int = 1,
    progress: bool = True,
    desc: str = "baseline (λ=0)",
) -> DANNClassifier:
    """The same network and training with lambda = 0: no adaptation. The domain head still
    learns (the diagnostic), but its gradient never reaches the features. ``config``'s
    ``lambda_max`` is replaced by 0; the other parameters are :func:`train_dann`'s."""
    config = replace(config or DANNConfig(), lambda_max=0.0)
    return train_dann(
        mc, data, config, monitor=monitor, device=device, threads=threads, progress=progress,
        desc=desc,
    )  # fmt: skip


# ------------------------------------------------------------------------------- evaluation
def lambda_sweep(
    training: tuple[Tracks, Tracks],
    held_out: tuple[Tracks, Tracks],
    *,
    values: Sequence[float],
    config: DANNConfig | None = None,
    trained: Mapping[float, DANNClassifier] | None = None,
    device: str = "cpu",
    threads: int = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """Train one DANN per ``lambda_max`` in ``values`` (``config`` otherwise, same seed) on
    ``training`` = (MC tracks, data tracks) and evaluate each on ``held_out`` = (MC tracks, data
    tracks) (:func:`evaluate`; ``train_s``: summed epoch times); ``trained`` reuses models already
    trained with the same settings. ``device``, ``threads``, ``progress``: :func:`train_dann`'s."""
    (mc_train, data_train), (mc_test, data_test) = training, held_out
    config = config or DANNConfig()
    rows = []
    for lam in values:
        model = (trained or {}).get(float(lam))
        if model is None:
            model = train_dann(
                mc_train, data_train, replace(config, lambda_max=float(lam)), device=device,
                threads=threads, progress=progress,
            )  # fmt: skip
        rows.append(
            {
                "lambda_max": float(lam),
                **evaluate(model, mc_test, data_test),
                "train_s": float(model.history["seconds"].sum()) if len(model.history) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def lambda_sweep_over_seeds(
    training: tuple[Tracks, Tracks],
    held_out: tuple[Tracks, Tracks],
    *,
    values: Sequence[float],
    seeds: Sequence[int],
    config: DANNConfig | None = None,
    trained: Mapping[tuple[float, int], DANNClassifier] | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[tuple[float, int], DANNClassifier]]:
    """One :func:`train_dann` per λmax in ``values`` and seed in ``seeds`` (``config`` otherwise;
    on ``device``, one thread, no bar) on ``training`` = (MC tracks, data tracks)
    (:func:`o2ml.models.repeat.over_seeds` per λ; ``progress``: its bar over the seeds), each
    evaluated on ``held_out`` = (MC tracks, data tracks) (:func:`evaluate`, plus
    :func:`species_f1` on data where it has labels) with its :func:`training_failures`.
    ``trained`` reuses models keyed (λmax, seed). Returns the table (one row per λmax and seed:
    ``lambda_max``, ``seed``, the metrics, ``failed``, ``failure``, ``train_s``) and the models."""
    (mc_train, data_train), (mc_test, data_test) = training, held_out
    config = config or DANNConfig()
    models = dict(trained or {})
    parts = []
    for lam in values:
        lam = float(lam)

        def run(seed: int, lam=lam) -> dict[str, float]:
            model = models.get((lam, seed))
            if model is None:
                cfg = replace(config, lambda_max=lam, seed=seed)
                model = train_dann(mc_train, data_train, cfg, device=device, progress=False)
                models[(lam, seed)] = model
            row = evaluate(model, mc_test, data_test)
            if data_test.y is not None:
                row.update(species_f1(data_test.y, model.predict(data_test)))
            why = training_failures(model.history)
            row["failed"] = float(bool(why))
            row["failure"] = "; ".join(why)
            row["train_s"] = float(model.history["seconds"].sum())
            return row

        t = repeat.over_seeds(run, seeds, progress=progress).reset_index()
        t.insert(0, "lambda_max", lam)
        parts.append(t)
    table = pd.concat(parts, ignore_index=True)
    table["failed"] = table["failed"].astype(bool)
    return table, models


__all__ = [
    "FEATURES",
    "FEATURE_SOURCES",
    "MISSING_VALUES",
    "SPECIES",
    "TABLES",
    "TOF_TAG_SPECIES",
    "DANNClassifier",
    "DANNConfig",
    "InputCalibration",
    "InputError",
    "Tracks",
    "build_inputs",
    "criterion_picks",
    "criterion_verdicts",
    "domain_probe_accuracy",
    "embedding_2d",
    "evaluate",
    "gains",
    "grad_reverse",
    "lambda_at",
    "lambda_sweep",
    "lambda_sweep_over_seeds",
    "macro_f1_difference",
    "read_tracks",
    "resolve_device",
    "scores_vs_p",
    "seed_table",
    "species_f1",
    "species_scores",
    "tagged_macro_f1",
    "tof_tags",
    "tracks_from_frame",
    "train_baseline",
    "train_dann",
    "training_failures",
    "without_tof",
]
