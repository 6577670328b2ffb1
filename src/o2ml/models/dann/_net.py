"""The DANN network (torch): the input transform, gradient reversal, the modules.

A private module whose classes subclass ``torch.nn.Module``: :mod:`o2ml.models.dann.model`
imports it inside the functions that build or run a network, once torch (the ``torch`` extra)
is loaded, so that ``import o2ml.models.dann`` does not import torch.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from ...errors import EmptySelectionError
from ._config import DANNConfig
from ._data import MAYBE_MISSING, SPECIES, TRANSFORMED, TRD_LAYERS


def trd_tracklets(pattern: torch.Tensor) -> torch.Tensor:
    """Number of bits 0-5 set in ``fTRDPattern`` (given as float; exportable: floor and
    arithmetic, no bit operations)."""
    pattern = pattern.clamp(0.0, float(2**TRD_LAYERS - 1))
    n = torch.zeros_like(pattern)
    for k in range(TRD_LAYERS):
        n = n + torch.floor(pattern / 2.0**k) - 2.0 * torch.floor(pattern / 2.0 ** (k + 1))
    return n


def engineered(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, valid) [n, 6] of :data:`TRANSFORMED` from raw inputs [n, 6] (torch, exportable).

    TOF is present when β > 0 (a NaN compares false: PIDML's missing TOF), the TRD when
    ``fTRDPattern`` has a tracklet and the signal is > 0. Missing values are replaced before any
    arithmetic, so a NaN never reaches the network.
    """
    p = x[:, 0:1].abs().clamp_min(1e-3)
    eta = x[:, 1:2]
    dedx = x[:, 2:3].clamp_min(1.0)
    beta_raw, trd_raw = x[:, 3:4], x[:, 4:5]
    tracklets = trd_tracklets(x[:, 5:6])
    has_tof = beta_raw > 0.0
    has_trd = (tracklets > 0.5) & (trd_raw > 0.0)
    beta = torch.where(has_tof, beta_raw, torch.zeros_like(beta_raw))
    trd = torch.log(torch.where(has_trd, trd_raw, torch.ones_like(trd_raw)))
    values = torch.cat([torch.log(p), eta, torch.log(dedx), beta, trd, tracklets], dim=1)
    always = torch.ones_like(has_tof)
    valid = torch.cat([always, always, always, has_tof, has_trd, always], dim=1)
    return values, valid


def fit_standardisation(*arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each transformed input over its present (valid) values."""
    with torch.no_grad():
        values, valid = engineered(torch.from_numpy(np.concatenate(arrays)))
    v = values.double().numpy()
    m = valid.numpy()
    n = m.sum(axis=0)
    if (n == 0).any():
        absent = [TRANSFORMED[i] for i in np.flatnonzero(n == 0)]
        raise EmptySelectionError(f"No track has a value for the DANN inputs {absent}.")
    mean = np.where(m, v, 0.0).sum(axis=0) / n
    var = np.where(m, (v - mean) ** 2, 0.0).sum(axis=0) / n
    std = np.sqrt(var)
    return mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)


_MISSING_INDEX = [TRANSFORMED.index(n) for n in MAYBE_MISSING]


class InputTransform(nn.Module):
    """Raw features -> standardised values (missing ones at 0) + missing-value indicators."""

    def __init__(self, mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:
        super().__init__()
        n = len(TRANSFORMED)
        mean = np.zeros(n, np.float32) if mean is None else np.asarray(mean, np.float32)
        std = np.ones(n, np.float32) if std is None else np.asarray(std, np.float32)
        self.register_buffer("mean", torch.from_numpy(mean.copy()))
        self.register_buffer("std", torch.from_numpy(std.copy()))

    #: width of the output: standardised values + one indicator per possibly missing input
    n_out = len(TRANSFORMED) + len(MAYBE_MISSING)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values, valid = engineered(x)
        z = (values - self.mean) / self.std
        z = torch.where(valid, z, torch.zeros_like(z))
        return torch.cat([z, valid[:, _MISSING_INDEX].to(z.dtype)], dim=1)


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
    "DANNNet",
    "InputTransform",
    "Probabilities",
    "engineered",
    "fit_standardisation",
    "grad_reverse",
    "trd_tracklets",
]
