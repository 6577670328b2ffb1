"""Neural-network corrections of the TPC dE/dx for pidTPC: teacher ensemble, distilled student.

The approach of the ALICE TPC PID networks (CERN-THESIS-2022-342; the network that
O2Physics' pidTPC evaluates, ``Common/Tools/PID/pidTPCModule.h``): one fully connected regression
over all input dimensions at once, trained once instead of per-dimension splines, giving the mean
of dE/dx / expected and its mean + 1 sigma. Here:

* every network takes the six raw pidTPC inputs (:mod:`o2ml.models.tpc.inputs`); the transform to
  log(p), log(mass), log(beta*gamma), asinh(q/pT) and the standardisation live inside the module,
  so the exported ONNX needs nothing but the contract's inputs;
* it predicts the mean mu and the width sigma of r = dE/dx / expected by maximising a robust
  likelihood, a Gaussian plus a flat outlier term ((1 - eps) N(r; mu, sigma) + eps / R): the tagged
  samples' contamination pulls neither the mean nor the width (the splines use medians and MADs);
* the **teacher** is an ensemble of networks of 10 hidden layers of 12 nodes (the size the ALICE
  work distilled from), averaged; the **student** is a small network trained to reproduce the
  teacher's mu and log sigma (knowledge distillation), much cheaper to evaluate per track;
* training stops early on a held-out validation loss (the best epoch's weights are kept);
  seeded and deterministic (fixed threads, deterministic kernels).

Storage: one ``state_dict`` (``.pt``, plain tensors) + ``<stem>.meta.json``; ``to_onnx`` writes the
pidTPC contract: one float32 input [-1, 6], one float32 output [-1, 2] = (mu, mu + sigma).
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
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
from .inputs import INPUT_COLUMNS, INPUT_DEFINITIONS, OUTPUT_DEFINITIONS, network_inputs

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ._nets import Ensemble

#: the teacher's architecture: 10 hidden layers of 12 nodes ("ML activities in ALICE", 2023: the final
#: network is trained on the output of two larger models of 12 nodes x 10 layers)
TEACHER_HIDDEN = (12,) * 10
#: the student's: two hidden layers of 16 nodes (documented choice: ~6x fewer operations)
STUDENT_HIDDEN = (16, 16)
#: range of r for the flat outlier term of the likelihood (its density is 1 / OUTLIER_RANGE)
OUTLIER_RANGE = 3.0


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture and training settings (stored in the sidecar)."""

    hidden: tuple[int, ...] = TEACHER_HIDDEN
    epochs: int = 100  # at most; early stopping ends the training sooner
    patience: int = 10  # epochs without a better validation loss before stopping
    min_delta: float = 1e-4  # improvement that counts, relative to |loss|
    batch_size: int = 2048
    learning_rate: float = 1e-2  # Adam, halved when the validation loss stalls for 2 epochs
    outlier_fraction: float = 0.05  # eps of the robust likelihood
    seed: int = 7

    def __post_init__(self) -> None:
        if not self.hidden or min(self.hidden) < 1 or self.epochs < 1 or self.batch_size < 1:
            raise BadArgumentError(
                f"hidden layers (>= 1 node), epochs and batch_size >= 1 expected; got {self}."
            )
        if not 0.0 <= self.outlier_fraction < 1.0:
            raise BadArgumentError(
                f"outlier_fraction in [0, 1) expected, not {self.outlier_fraction}."
            )

    @classmethod
    def from_dict(cls, d: dict) -> NetworkConfig:
        return config_from_dict(cls, d, "network")


#: the student's training: larger batches and more epochs (cheap: a small network on a smooth
#: target), still ended by early stopping
STUDENT_CONFIG = NetworkConfig(hidden=STUDENT_HIDDEN, epochs=500, batch_size=8192)


def _networks():
    """The private module of the networks (``torch.nn.Module`` classes), once torch is there: a
    missing ``torch`` extra is a :class:`~o2ml.errors.MissingExtraError` naming this module."""
    load("torch", "torch")
    from . import _nets

    return _nets


def n_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------------------------- the model
@dataclass
class TpcNetwork:
    """A trained teacher ensemble or student, ready to apply, store and export."""

    ensemble: Ensemble
    config: NetworkConfig
    role: str = "teacher"  # "teacher" or "student"
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_train: int = 0

    def _outputs(self, X: np.ndarray | pd.DataFrame, batch: int = 1 << 17) -> np.ndarray:
        torch = load("torch", "torch")
        X = network_inputs(X) if isinstance(X, pd.DataFrame) else _check_inputs(X)
        module = _networks().PidTpcOutputs(self.ensemble).eval()
        with torch.no_grad():
            out = [
                module(torch.from_numpy(X[i : i + batch])).numpy() for i in range(0, len(X), batch)
            ]
        return np.concatenate(out) if out else np.zeros((0, 2), np.float32)

    def predict(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """The two pidTPC outputs [n, 2] (mean, mean + 1 sigma of dE/dx / expected)."""
        return self._outputs(X).astype(np.float64)

    @property
    def n_parameters(self) -> int:
        return n_parameters(self.ensemble)

    def metadata(self) -> dict:
        torch = load("torch", "torch")
        return {
            "model": "o2ml.models.tpc.network",
            "role": self.role,
            "members": len(self.ensemble.nets),
            "config": asdict(self.config),
            "inputs": list(INPUT_COLUMNS),
            "n_train": self.n_train,
            "seed": self.config.seed,
            "o2ml_version": __version__,
            "torch_version": torch.__version__,
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """``state_dict`` (``.pt``) + ``<stem>.meta.json`` (architecture, members, settings)."""
        return save_state_dict(self.ensemble, path, self.metadata(), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TpcNetwork:
        meta = read_sidecar(path, what="a TPC network")
        if meta.get("model") != "o2ml.models.tpc.network":
            raise ModelFileError(
                f"{path}: the sidecar describes {meta.get('model')!r}, not a TPC network."
            )
        require_metadata(meta, ("config", "members"), path, what="a TPC network")
        config = NetworkConfig.from_dict(meta["config"])
        nets = _networks()
        ensemble = nets.Ensemble([nets.TpcNet(config.hidden) for _ in range(int(meta["members"]))])
        load_state_dict(ensemble, path, what="this TPC network")
        return cls(
            ensemble.eval(), config, meta.get("role", "teacher"), n_train=meta.get("n_train", 0)
        )

    def to_onnx(self, path: str | os.PathLike | None = None, *, overwrite: bool = False):
        """The pidTPC network: one float32 input [-1, 6] in the order of pidTPCModule.h, one
        float32 output [-1, 2] = (mean, mean + 1 sigma of dE/dx / expected), with metadata that
        says so. Written to ``path`` if given; returns the ``onnx.ModelProto``."""
        from ...onnx import model_metadata, torch_to_onnx

        extra = {
            "model": f"TPC dE/dx network ({self.role})",
            "consumer": "O2Physics Common/Tools/PID/pidTPCModule.h (networkPathLocally)",
            "inputs": list(INPUT_DEFINITIONS),
            "outputs": list(OUTPUT_DEFINITIONS),
            "nsigma": "(tpcSignal / expected - out0) / (out1 - out0)",
            "networkBetaGammaCutoff": 0.45,
        }
        meta = model_metadata(list(INPUT_COLUMNS), [], seed=self.config.seed, extra=extra)
        return torch_to_onnx(
            _networks().PidTpcOutputs(self.ensemble),
            path,
            output="outputs",
            metadata=meta,
            overwrite=overwrite,
        )


def _check_inputs(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != len(INPUT_COLUMNS):
        raise BadArgumentError(
            f"expected the {len(INPUT_COLUMNS)} pidTPC inputs {list(INPUT_COLUMNS)} as [n, 6], "
            f"got shape {X.shape}."
        )
    return np.ascontiguousarray(X, dtype=np.float32)


# ------------------------------------------------------------------------------- training
def _robust_nll(mu, sigma, r, eps: float) -> torch.Tensor:
    torch = load("torch", "torch")
    z = (r - mu) / sigma
    log_gauss = -0.5 * z * z - torch.log(sigma) - 0.5 * math.log(2.0 * math.pi)
    if eps == 0.0:
        return -log_gauss.mean()
    flat = torch.full_like(log_gauss, math.log(eps / OUTLIER_RANGE))
    return -torch.logaddexp(log_gauss + math.log1p(-eps), flat).mean()


def _fit(
    net: nn.Module,
    loss_fn,
    train: tuple,
    val: tuple,
    config: NetworkConfig,
    *,
    desc: str,
    progress: bool,
) -> pd.DataFrame:
    """Adam with early stopping on the validation loss; the best epoch's weights are restored."""
    torch = load("torch", "torch")
    from tqdm.auto import tqdm

    gen = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    n = len(train[0])
    best, best_state, since, rows = math.inf, None, 0, []
    bar = tqdm(range(config.epochs), desc=desc, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        net.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, config.batch_size):
            idx = perm[i : i + config.batch_size]
            loss = loss_fn(net, *(t[idx] for t in train))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        net.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(net, *val))
        sched.step(val_loss)
        rows.append({"epoch": epoch + 1, "train_loss": total / n, "val_loss": val_loss,
                     "seconds": time.perf_counter() - t0})  # fmt: skip
        bar.set_postfix(val=f"{val_loss:.4f}")
        if val_loss < best - config.min_delta * abs(best if math.isfinite(best) else val_loss):
            best, best_state, since = val_loss, copy.deepcopy(net.state_dict()), 0
        else:
            since += 1
            if since >= config.patience:
                break
    net.load_state_dict(best_state)
    history = pd.DataFrame(rows)
    history["best"] = history["val_loss"] == best
    history["stopped_early"] = len(rows) < config.epochs
    return history


def _standardisation(X: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    torch = load("torch", "torch")
    d = _networks().derived(torch.from_numpy(X))
    return d.mean(dim=0), d.std(dim=0).clamp_min(1e-6)


def _as_train_val(X, r, X_val, r_val) -> tuple[tuple, tuple]:
    torch = load("torch", "torch")
    X, X_val = _check_inputs(X), _check_inputs(X_val)
    r, r_val = np.asarray(r, np.float32), np.asarray(r_val, np.float32)
    if len(r) != len(X) or len(r_val) != len(X_val) or len(X) == 0 or len(X_val) == 0:
        raise BadArgumentError(
            f"training: {len(X)} input rows / {len(r)} targets, validation: {len(X_val)} / "
            f"{len(r_val)}; expected the same numbers, none empty."
        )
    return (torch.from_numpy(X), torch.from_numpy(r)), (
        torch.from_numpy(X_val),
        torch.from_numpy(r_val),
    )


def train_teacher(
    X: np.ndarray,
    ratio: np.ndarray,
    X_val: np.ndarray,
    ratio_val: np.ndarray,
    *,
    members: int = 2,
    config: NetworkConfig | None = None,
    threads: int = 1,
    progress: bool = True,
) -> TpcNetwork:
    """Train ``members`` networks (seeds ``config.seed``, ``config.seed + 1``, ...) on inputs
    [n, 6] and r = dE/dx / expected, each to early stopping on the validation set; their average
    is the teacher. ``config``: the settings (default ``NetworkConfig()``; to change single
    fields, ``dataclasses.replace(config, epochs=2)``); ``threads``: torch CPU threads;
    ``progress``: a bar per member. ``history`` has one row per member and epoch (``member``
    column)."""
    torch = load("torch", "torch")
    config = config or NetworkConfig()
    if members < 1:
        raise BadArgumentError(f"members >= 1 expected, not {members}.")
    train, val = _as_train_val(X, ratio, X_val, ratio_val)
    mean, std = _standardisation(train[0].numpy())
    eps = config.outlier_fraction

    def loss_fn(net, x, r):
        return _robust_nll(*net(x), r, eps)

    nets, histories = [], []
    with deterministic(threads):
        for k in range(members):
            cfg = replace(config, seed=config.seed + k)
            torch.manual_seed(cfg.seed)
            net = _networks().TpcNet(cfg.hidden, mean, std)
            h = _fit(
                net, loss_fn, train, val, cfg, desc=f"teacher {k + 1}/{members}", progress=progress
            )
            nets.append(net.eval())
            histories.append(h.assign(member=k))
    return TpcNetwork(
        _networks().Ensemble(nets).eval(),
        config,
        "teacher",
        pd.concat(histories, ignore_index=True),
        len(X),
    )


def distill(
    teacher: TpcNetwork,
    X: np.ndarray,
    X_val: np.ndarray,
    *,
    config: NetworkConfig | None = None,
    threads: int = 1,
    progress: bool = True,
) -> TpcNetwork:
    """Train a small student to reproduce the teacher's mean and width on the inputs ``X``
    (the measured dE/dx is not used: the student learns the teacher's function). The loss is
    ((mu_s - mu_t) / sigma_t)^2 + (log sigma_s - log sigma_t)^2, early-stopped on ``X_val``.
    ``config``: the student's settings (default :data:`STUDENT_CONFIG`; to change single
    fields, ``dataclasses.replace(network.STUDENT_CONFIG, seed=5)``)."""
    torch = load("torch", "torch")
    config = config or STUDENT_CONFIG
    X, X_val = _check_inputs(X), _check_inputs(X_val)
    with torch.no_grad():
        targets = [teacher.ensemble.eval()(torch.from_numpy(a)) for a in (X, X_val)]
    train = (torch.from_numpy(X), targets[0][0], torch.log(targets[0][1]))
    val = (torch.from_numpy(X_val), targets[1][0], torch.log(targets[1][1]))

    def loss_fn(net, x, mu_t, log_sigma_t):
        mu, sigma = net(x)
        return (
            ((mu - mu_t) / torch.exp(log_sigma_t)) ** 2 + (torch.log(sigma) - log_sigma_t) ** 2
        ).mean()

    with deterministic(threads):
        torch.manual_seed(config.seed)
        net = _networks().TpcNet(config.hidden, *_standardisation(X))
        history = _fit(net, loss_fn, train, val, config, desc="student", progress=progress)
    return TpcNetwork(
        _networks().Ensemble([net.eval()]).eval(),
        config,
        "student",
        history.assign(member=0),
        len(X),
    )


__all__ = [
    "STUDENT_CONFIG",
    "STUDENT_HIDDEN",
    "TEACHER_HIDDEN",
    "NetworkConfig",
    "TpcNetwork",
    "distill",
    "n_parameters",
    "train_teacher",
]
