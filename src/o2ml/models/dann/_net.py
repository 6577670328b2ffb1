"""The DANN network: settings, gradient reversal, lambda and learning-rate schedules, modules."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..._extras import missing

try:
    import torch
    from torch import nn
except ImportError as _err:  # the optional extra
    raise missing("torch", "o2ml.models.dann._net", _err) from _err

from ...errors import BadArgumentError
from .._torch import config_from_dict, resolve_device
from ._data import SPECIES, InputTransform

#: lambda schedules: Ganin-Lempitsky 2/(1 + exp(-10 p)) - 1 (times lambda_max), or constant
SCHEDULES = ("ganin", "constant")
#: learning-rate schedules: constant, Ganin-Lempitsky 1/(1 + 10 p)^0.75, cosine down to 5 %
LR_SCHEDULES = ("constant", "ganin", "cosine")


@dataclass(frozen=True)
class DANNConfig:
    """Architecture and training settings (all stored in the JSON sidecar).

    The defaults were chosen on o2ml's synthetic tracks (40k-150k per domain, held-out data truth):

    * a narrow feature layer (8): with 32 features the extractor hid the domain information from
      its own domain head (accuracy 0.5) while a fresh classifier on the same features still told
      MC from data at 0.85; with 8 the fresh classifier falls to 0.55-0.6 as well;
    * a domain head wider than the class head, learning 10x faster than the rest: a sharper
      adversary, and +3-4 points of data macro-F1 over equal rates;
    * a cosine learning-rate decay ends the adversarial game in a stable state instead of
      mid-oscillation (the Ganin-Lempitsky decay left the class head undertrained in 10-15 epochs).
    """

    hidden: tuple[int, ...] = (64, 64)  # feature-extractor hidden layers
    feature_dim: int = 8  # width of the learned features
    class_hidden: int = 32  # hidden layer of the class head
    domain_hidden: tuple[int, ...] = (128, 128)  # hidden layers of the domain head
    epochs: int = 15
    batch_size: int = 512  # tracks per domain and step
    learning_rate: float = 1e-3  # Adam
    lr_schedule: str = "cosine"
    domain_lr_factor: float = 10.0  # learning rate of the domain head / the others'
    lambda_max: float = 1.0  # 0: the baseline without adaptation
    schedule: str = "ganin"  # lambda schedule
    seed: int = 42

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise BadArgumentError(f"schedule must be one of {SCHEDULES}, not {self.schedule!r}.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise BadArgumentError(
                f"lr_schedule must be one of {LR_SCHEDULES}, not {self.lr_schedule!r}."
            )
        if self.lambda_max < 0 or self.epochs < 1 or self.batch_size < 1:
            raise BadArgumentError(
                "lambda_max >= 0, epochs >= 1 and batch_size >= 1 expected; got "
                f"{self.lambda_max}, {self.epochs}, {self.batch_size}."
            )

    @classmethod
    def from_dict(cls, d: dict) -> DANNConfig:
        """Inverse of :func:`dataclasses.asdict` after a JSON round trip (lists -> tuples)."""
        return config_from_dict(cls, d, "DANN")


def lambda_at(progress: float, lambda_max: float, schedule: str = "ganin") -> float:
    """lambda at training progress 0..1: lambda_max, or lambda_max (2/(1 + exp(-10 p)) - 1)."""
    if schedule == "constant":
        return float(lambda_max)
    if schedule == "ganin":
        return float(lambda_max * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0))
    raise BadArgumentError(f"schedule must be one of {SCHEDULES}, not {schedule!r}.")


def lr_factor(progress: float, schedule: str = "cosine") -> float:
    """Learning rate / initial learning rate at training progress 0..1."""
    if schedule == "ganin":
        return (1.0 + 10.0 * progress) ** -0.75
    if schedule == "cosine":
        return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "constant":
        return 1.0
    raise BadArgumentError(f"lr_schedule must be one of {LR_SCHEDULES}, not {schedule!r}.")


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lambd: float) -> torch.Tensor:
        ctx.lambd = lambd
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lambd * grad, None


def grad_reverse(x: torch.Tensor, lambd: float) -> torch.Tensor:
    """Gradient-reversal layer: identity forward, gradient times -lambda backward."""
    return _GradientReversal.apply(x, lambd)


def _mlp(sizes: list[int], last_activation: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if last_activation or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DANNNet(nn.Module):
    """Input transform -> feature extractor -> class head; features -> reversal -> domain head."""

    def __init__(
        self, config: DANNConfig, mean: np.ndarray | None = None, std: np.ndarray | None = None
    ) -> None:
        super().__init__()
        self.transform = InputTransform(mean, std)
        self.extractor = _mlp(
            [InputTransform.n_out, *config.hidden, config.feature_dim], last_activation=True
        )
        self.class_head = _mlp([config.feature_dim, config.class_hidden, len(SPECIES)], False)
        self.domain_head = _mlp([config.feature_dim, *config.domain_hidden, 1], False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The learned features of raw inputs [n, n_features]."""
        return self.extractor(self.transform(x))

    def forward(self, x: torch.Tensor, lambd: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(class logits [n, 4], domain logit [n], > 0 meaning data)."""
        f = self.features(x)
        return self.class_head(f), self.domain_head(grad_reverse(f, lambd)).squeeze(1)


class Probabilities(nn.Module):
    """The exported classifier: raw inputs -> softmax class probabilities."""

    def __init__(self, net: DANNNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net.class_head(self.net.features(x)), dim=1)


__all__ = [
    "LR_SCHEDULES",
    "SCHEDULES",
    "DANNConfig",
    "DANNNet",
    "Probabilities",
    "grad_reverse",
    "lambda_at",
    "lr_factor",
    "resolve_device",
]
