"""Train, apply, store and export the combined-PID methods (one interface for all four).

:func:`train_combined` trains any method of :data:`METHODS` with the
same optimiser, batch size, epoch budget and early stopping on held-out labelled tracks (the
ensemble's networks each get that budget on their own tracks); with unlabelled ``data`` tracks
and ``lambda_max > 0`` the attention model also learns a domain head through gradient reversal
(the DANN of notebook 04, Ganin & Lempitsky 2015), so that its features do not tell MC from data.
Seeded and deterministic; stored as a ``state_dict`` + ``<stem>.meta.json``.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ... import __version__
from ..._extras import load
from ...errors import BadArgumentError, ModelFileError
from .._storage import read_sidecar
from .._torch import (
    config_from_dict,
    deterministic,
    load_state_dict,
    require_metadata,
    save_state_dict,
)
from ..dann import grad_reverse, lambda_at
from .inputs import DERIVED, FEATURES, SPECIES, pattern

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ._nets import PatternEnsemble, Transform

#: the methods :func:`train_combined` trains (Kabus, CHEP 2023): mean imputation, regression
#: imputation, an ensemble of one network per detector pattern, attention over a feature-set
#: embedding
METHODS = ("mean", "regression", "ensemble", "attention")


def _networks():
    """The private module of the networks (``torch.nn.Module`` classes), once torch is there: a
    missing ``torch`` extra is a :class:`~o2ml.errors.MissingExtraError` naming this module."""
    load("torch", "torch")
    from . import _nets

    return _nets


@dataclass(frozen=True)
class CombinedConfig:
    """Settings shared by every method (stored in the sidecar)."""

    hidden: tuple[int, ...] = (64, 64)  # MLP hidden layers (the head's, for attention)
    d_model: int = 32  # attention: token width
    heads: int = 4
    layers: int = 2
    epochs: int = 100  # at most; early stopping ends sooner
    patience: int = 6
    batch_size: int = 512
    learning_rate: float = 2e-3
    lambda_max: float = 0.0  # > 0 with data tracks: domain-adversarial training
    domain_hidden: tuple[int, ...] = (64,)
    min_pattern_tracks: int = 200  # ensemble: fewer training tracks -> the pattern is not trained
    seed: int = 3

    @classmethod
    def from_dict(cls, d: dict) -> CombinedConfig:
        return config_from_dict(cls, d, "combined-PID")


def _build(method: str, transform: Transform, config: CombinedConfig) -> nn.Module:
    if method not in METHODS:
        raise BadArgumentError(f"Unknown method {method!r}; known: {sorted(METHODS)}.")
    cls = _networks().METHODS[method]
    if method == "attention":
        return cls(transform, config.d_model, config.heads, config.layers, config.hidden[:1])
    return cls(transform, config.hidden)


@dataclass
class CombinedPid:
    """A trained combined-PID module with its settings and training history."""

    module: nn.Module
    method: str
    config: CombinedConfig = field(default_factory=CombinedConfig)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    train_seconds: float = 0.0

    @property
    def class_labels(self) -> list[str]:
        return list(SPECIES)

    def predict_proba(self, X: np.ndarray, batch: int = 65536) -> np.ndarray:
        """Class probabilities [n, 4] (e, pi, K, p) of raw inputs [n, 7] (:data:`FEATURES`)."""
        torch, nets = load("torch", "torch"), _networks()
        X = _check(X)
        net = nets.Probabilities(self.module).eval()
        with torch.no_grad():
            out = [net(torch.from_numpy(X[i : i + batch])).numpy() for i in range(0, len(X), batch)]
        return np.concatenate(out) if out else np.zeros((0, nets.N_CLASSES), np.float32)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class 0..3."""
        return self.predict_proba(X).argmax(axis=1)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def metadata(self) -> dict:
        torch = load("torch", "torch")
        return {"model": "o2ml.models.combined", "method": self.method, "config": asdict(self.config),
                "features": list(FEATURES), "class_labels": self.class_labels, "seed": self.config.seed,
                "o2ml_version": __version__, "torch_version": torch.__version__}  # fmt: skip

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        return save_state_dict(self.module, path, self.metadata(), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> CombinedPid:
        meta = read_sidecar(path, what="a combined-PID model")
        if meta.get("model") != "o2ml.models.combined" or meta.get("features") != FEATURES:
            raise ModelFileError(
                f"{path}: expected a combined-PID model with the features {FEATURES}; the sidecar "
                f"says {meta.get('model')!r} with {meta.get('features')}."
            )
        require_metadata(meta, ("config", "method"), path, what="a combined-PID model")
        config = CombinedConfig.from_dict(meta["config"])
        module = load_state_dict(
            _build(meta["method"], _networks().Transform(), config), path, what="this model"
        )
        return cls(module.eval(), meta["method"], config)

    def to_onnx(self, path: str | os.PathLike | None = None, *, overwrite: bool = False):
        """ONNX, the input contract: one float32 input ``[batch, 7]``, the raw features of
        :data:`~o2ml.models.combined.inputs.FEATURES` in that order (``fP, eta, fSign,
        fTPCSignal, fBeta, fTRDSignal, nTRDLayers``; η = asinh(pz / pT), nTRDLayers = the set
        bits of fTRDPattern); a missing TOF or TRD has NaN (as pidMlProducer writes it and
        pidOnnxModel.h passes it) or -999 in its features: the first one (fBeta, fTRDSignal)
        decides, the others of the group are then ignored. Output ``probabilities``
        ``[batch, 4]`` (e, pi, K, p). The metadata hold the features and these rules."""
        from ...onnx import model_metadata, torch_to_onnx

        extra = {"model": f"combined PID ({self.method})", "missing_value": -999.0,
                 "missing": "NaN or -999 in a detector's first feature (fBeta: TOF, "
                            "fTRDSignal: TRD); its other features are then ignored",
                 "derived": DERIVED}  # fmt: skip
        meta = model_metadata(FEATURES, self.class_labels, seed=self.config.seed, extra=extra)
        return torch_to_onnx(
            _networks().Probabilities(self.module),
            path,
            output="probabilities",
            metadata=meta,
            overwrite=overwrite,
        )


def _check(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != len(FEATURES):
        raise BadArgumentError(
            f"expected the {len(FEATURES)} inputs {FEATURES} as [n, {len(FEATURES)}], got {X.shape}."
        )
    return np.ascontiguousarray(X, dtype=np.float32)


def _labelled(X, y, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    torch = load("torch", "torch")
    X, y = _check(X), np.asarray(y, np.int64)
    if y.shape != (len(X),):
        raise BadArgumentError(f"{what}: {len(y)} labels for {len(X)} tracks.")
    keep = y >= 0
    if keep.sum() == 0:
        raise BadArgumentError(f"{what}: no labelled tracks (labels 0..3).")
    return torch.from_numpy(X[keep]), torch.from_numpy(y[keep])


def _fit(forward, modules: list[nn.Module], train, val, config: CombinedConfig, gen, *, data=None,
         domain_head=None, features=None) -> pd.DataFrame:  # fmt: skip
    """Adam + cross-entropy (+ the domain loss) on the parameters of ``modules``, early stopping
    on the validation loss; the best epoch's state of ``modules`` is restored."""
    torch = load("torch", "torch")
    nn = torch.nn
    loss_fn, bce = nn.CrossEntropyLoss(), nn.BCEWithLogitsLoss()
    opt = torch.optim.Adam([q for m in modules for q in m.parameters()], lr=config.learning_rate)
    x, y = train
    steps = max(1, math.ceil(len(x) / config.batch_size))
    best, best_state, since, rows = math.inf, None, 0, []
    for epoch in range(config.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(x), generator=gen)
        if data is not None:
            perm_d = torch.randperm(len(data), generator=gen).repeat(math.ceil(len(x) / len(data)))
        total = 0.0
        for step in range(steps):
            idx = perm[step * config.batch_size : (step + 1) * config.batch_size]
            loss = loss_fn(forward(x[idx]), y[idx])
            if data is not None:
                lam = lambda_at((epoch * steps + step) / (config.epochs * steps), config.lambda_max)
                xd = data[perm_d[step * config.batch_size : step * config.batch_size + len(idx)]]
                f = features(torch.cat([x[idx], xd]))
                target = torch.cat([torch.zeros(len(idx)), torch.ones(len(xd))])
                loss = loss + bce(domain_head(grad_reverse(f, lam)).squeeze(1), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
        with torch.no_grad():
            val_loss = float(loss_fn(forward(val[0]), val[1]))
        rows.append({"epoch": epoch + 1, "train_loss": total / steps, "val_loss": val_loss,
                     "seconds": time.perf_counter() - t0})  # fmt: skip
        if val_loss < best - 1e-4 * abs(best if math.isfinite(best) else val_loss):
            best, since = val_loss, 0
            best_state = [copy.deepcopy(m.state_dict()) for m in modules]
        else:
            since += 1
            if since >= config.patience:
                break
    for m, state in zip(modules, best_state, strict=True):
        m.load_state_dict(state)
    h = pd.DataFrame(rows)
    h["best"], h["stopped_early"] = h["val_loss"] == best, len(rows) < config.epochs
    return h


def train_combined(
    method: str,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    *,
    data: np.ndarray | None = None,
    config: CombinedConfig | None = None,
    threads: int = 1,
) -> CombinedPid:
    """Train ``method`` (``"mean"``, ``"regression"``, ``"ensemble"``, ``"attention"``) on
    ``train = (X, y)``, raw inputs [n, 7] with labels 0..3 (-1: not used), early-stopped on
    ``val = (X_val, y_val)``, with the settings ``config`` (default ``CombinedConfig()``; to
    change single fields, ``dataclasses.replace(config, epochs=2)``) and ``threads`` torch CPU
    threads.

    ``data`` (unlabelled tracks of the other domain) with ``config.lambda_max > 0``:
    domain-adversarial training (attention only). ``history`` has one row per epoch (per pattern
    for the ensemble: ``pattern`` column)."""
    torch, nets = load("torch", "torch"), _networks()
    nn = torch.nn
    config = config or CombinedConfig()
    train, val = _labelled(*train, "training tracks"), _labelled(*val, "validation tracks")
    adversarial = data is not None and config.lambda_max > 0
    if adversarial and method != "attention":
        raise BadArgumentError(
            f"domain-adversarial training is built for 'attention', not {method!r}."
        )
    t0 = time.perf_counter()
    with deterministic(threads):
        torch.manual_seed(config.seed)
        gen = torch.Generator().manual_seed(config.seed)
        module = _build(method, nets.Transform.fitted(train[0]), config)
        if isinstance(module, nets.RegressionImputation):
            module.fit_imputation(train[0])
        if isinstance(module, nets.PatternEnsemble):
            history = _fit_ensemble(module, train, val, config, gen)
        elif adversarial:
            head = nn.Sequential(*[layer for h in config.domain_hidden for layer in (nn.LazyLinear(h), nn.ReLU())],
                                 nn.LazyLinear(1))  # fmt: skip
            head(torch.zeros(2, config.d_model))  # materialise the lazy layers before Adam
            xd = torch.from_numpy(_check(data))
            history = _fit(module, [module, head], train, val, config, gen, data=xd,
                           domain_head=head, features=module.features)  # fmt: skip
        else:
            history = _fit(module, [module], train, val, config, gen)
    return CombinedPid(module.eval(), method, config, history, time.perf_counter() - t0)


def _fit_ensemble(module: PatternEnsemble, train, val, config, gen) -> pd.DataFrame:
    """Each pattern's network on the tracks that have at least its detectors."""
    torch = load("torch", "torch")
    have_t, have_v = (torch.from_numpy(pattern(a[0].numpy())) for a in (train, val))
    histories, trained = [], []
    for k in range(len(module.nets)):
        sel_t, sel_v = (have_t & k) == k, (have_v & k) == k
        sel_v = sel_v if sel_v.sum() > 0 else torch.ones_like(sel_v)
        if sel_t.sum() < config.min_pattern_tracks:
            continue  # no tracks of this kind to learn from: the network stays untrained

        def forward(x, k=k):
            return module.member(k, x)

        h = _fit(forward, [module.nets[k]], (train[0][sel_t], train[1][sel_t]),
                 (val[0][sel_v], val[1][sel_v]), config, gen)  # fmt: skip
        histories.append(h.assign(pattern=k))
        trained.append(k)
    module.set_trained(trained)
    return pd.concat(histories, ignore_index=True)


__all__ = ["CombinedConfig", "CombinedPid", "train_combined"]
