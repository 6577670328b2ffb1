"""The DANN settings and the lambda and learning-rate schedules (no torch: the network is in
:mod:`o2ml.models.dann._net`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import BadArgumentError
from .._torch import config_from_dict

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


__all__ = ["LR_SCHEDULES", "SCHEDULES", "DANNConfig", "lambda_at", "lr_factor"]
