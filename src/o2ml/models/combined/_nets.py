"""The four ways to classify tracks with missing detectors, as PyTorch modules on the raw inputs.

Each module takes the raw features of :data:`o2ml.models.combined.inputs.FEATURES` (a missing
TOF or TRD: -999 or NaN in its features) and returns class logits (e, pi, K, p). :class:`Transform`
turns the raw values into standardised ones (log p, log TPC dE/dx, log TRD signal) and says which
are present: a detector group is present when its first feature is neither NaN nor below -499.5,
so the values of a missing detector never reach a network (NaN is replaced before any arithmetic).
What happens to the missing ones is the method (Kabus, CHEP 2023):

* :class:`MeanImputation`: a missing value becomes the training mean (0 after standardisation);
* :class:`RegressionImputation`: a linear regression on what every track has, the kinematics and
  the TPC (log p, log^2 p, eta, charge, log dE/dx), fitted on the tracks that have the value,
  predicts it;
* :class:`PatternEnsemble`: one network per detector pattern (which of TOF and TRD are there; the
  TPC always is), each trained on the tracks that have at least those detectors and using only
  their features; a track is classified by the network of its own pattern (a pattern too rare to
  train uses the network of its richest trained sub-pattern);
* :class:`FSEAttention`: feature-set embedding: each present detector measurement is a token (a
  linear embedding of its values plus a learned embedding of *which* detector), multi-head
  self-attention over the tokens with the missing ones masked out, a masked mean, a classifier
  head. Nothing is imputed.

Everything exports to ONNX (opset 17, the TorchScript exporter): the attention is written out with
matrix products and a softmax, and the pattern routing is a gather.

A private module (the classes subclass ``torch.nn.Module``): :mod:`o2ml.models.combined.model`
imports it inside the functions that build a network, once torch (the ``torch`` extra) is
loaded, so that ``import o2ml.models.combined`` does not import torch.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .inputs import DETECTORS, FEATURES, GROUPS, MISSING

N_CLASSES = 4
_LOG = [FEATURES.index(f) for f in ("fP", "fTPCSignal", "fTRDSignal")]
#: the regressors of the regression imputation: what every track has (kinematics, TPC)
_BASE = [FEATURES.index(f) for f in (*GROUPS["kinematics"], *GROUPS["TPC"])]
#: the group (index in DETECTORS, -1 for a group every track has) of every feature
_GROUP_OF = [
    DETECTORS.index(g) if g in DETECTORS else -1
    for f in FEATURES
    for g, cols in GROUPS.items()
    if f in cols
]
#: for every feature, the index of its group's first feature (which says if the group is there)
_FIRST_OF = [FEATURES.index(cols[0]) for f in FEATURES for cols in GROUPS.values() if f in cols]


def mlp(n_in: int, hidden: tuple[int, ...], n_out: int = N_CLASSES) -> nn.Sequential:
    layers = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.ReLU()]
        n_in = h
    return nn.Sequential(*layers, nn.Linear(n_in, n_out))


def _transformed(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(transformed values with 0 where missing, presence 0/1) of raw inputs: a value is present
    when it and its group's first feature are measurements (not NaN, not -999)."""
    valid = x > MISSING / 2  # False for NaN as for -999
    present = (valid[:, _FIRST_OF] & valid).float()
    safe = torch.where(present > 0, x, torch.ones_like(x))  # no NaN past this line
    cols = list(safe.unbind(dim=1))
    for i in _LOG:
        cols[i] = torch.log(cols[i].clamp_min(1e-3))
    return torch.stack(cols, dim=1) * present, present


class Transform(nn.Module):
    """Raw inputs -> (standardised values, 0 where missing; presence mask)."""

    def __init__(self, mean: torch.Tensor | None = None, std: torch.Tensor | None = None) -> None:
        super().__init__()
        n = len(FEATURES)
        self.register_buffer("mean", torch.zeros(n) if mean is None else mean.float())
        self.register_buffer("std", torch.ones(n) if std is None else std.float())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, present = _transformed(x)
        return (t - self.mean) / self.std * present, present

    @staticmethod
    def fitted(X: torch.Tensor) -> Transform:
        """Means and widths of each feature over the tracks that have it."""
        t, present = _transformed(X)
        n = present.sum(dim=0).clamp_min(1.0)
        mean = t.sum(dim=0) / n
        var = ((t - mean) ** 2 * present).sum(dim=0) / n
        return Transform(mean, var.sqrt().clamp_min(1e-6))


class MeanImputation(nn.Module):
    """Missing values = the training mean, then an MLP."""

    method = "mean"

    def __init__(self, transform: Transform, hidden: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        self.transform, self.net = transform, mlp(len(FEATURES), hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, _ = self.transform(x)
        return self.net(z)


def _regressors(z: torch.Tensor) -> torch.Tensor:
    logp, eta, sign, dedx = (z[:, i] for i in _BASE)
    return torch.stack([logp, logp * logp, eta, sign, dedx, torch.ones_like(logp)], dim=1)


_N_REGRESSORS = 6


class RegressionImputation(nn.Module):
    """Missing values = a linear regression on the kinematics and the TPC dE/dx, then an MLP."""

    method = "regression"

    def __init__(self, transform: Transform, hidden: tuple[int, ...] = (64, 64), coef=None) -> None:
        super().__init__()
        self.transform, self.net = transform, mlp(len(FEATURES), hidden)
        self.register_buffer(
            "coef", torch.zeros(_N_REGRESSORS, len(FEATURES)) if coef is None else coef.float()
        )

    def fit_imputation(self, X: torch.Tensor) -> None:
        """Least squares, per feature, on the training tracks that have it."""
        z, present = self.transform(X)
        A = _regressors(z)
        coef = torch.zeros(A.shape[1], len(FEATURES))
        for j in range(len(FEATURES)):
            rows = present[:, j] > 0
            if rows.sum() > A.shape[1]:
                coef[:, j] = torch.linalg.lstsq(A[rows].double(), z[rows, j:j + 1].double()).solution[:, 0].float()  # fmt: skip
        self.coef.copy_(coef)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, present = self.transform(x)
        imputed = _regressors(z) @ self.coef
        return self.net(torch.where(present > 0, z, imputed))


class PatternEnsemble(nn.Module):
    """One MLP per detector pattern (1 TOF + 2 TRD); a track uses its pattern's MLP."""

    method = "ensemble"

    def __init__(self, transform: Transform, hidden: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        self.transform = transform
        n = 2 ** len(DETECTORS)
        self.nets = nn.ModuleList([mlp(len(FEATURES), hidden) for _ in range(n)])
        masks = torch.zeros(n, len(FEATURES))
        for k in range(n):
            for i, g in enumerate(_GROUP_OF):
                masks[k, i] = float(g < 0 or (k >> g) & 1)
        self.register_buffer("masks", masks)  # the features each pattern's network sees
        # the network each pattern uses: its own, or (untrained) the richest trained sub-pattern
        self.register_buffer("route", torch.arange(n))

    def set_trained(self, trained: list[int]) -> None:
        """Route every pattern to itself if trained, else to its trained sub-pattern with the most
        detectors (pattern 0, the kinematics and the TPC, is always trained)."""
        for k in range(len(self.nets)):
            subs = [j for j in trained if j & k == j]
            self.route[k] = max(subs, key=lambda j: (bin(j).count("1"), j))

    def pattern(self, present: torch.Tensor) -> torch.Tensor:
        first = [FEATURES.index(GROUPS[d][0]) for d in DETECTORS]
        bits = [present[:, i] * float(1 << k) for k, i in enumerate(first)]
        return torch.stack(bits, dim=1).sum(dim=1).long()

    def member(self, k: int, x: torch.Tensor) -> torch.Tensor:
        z, _ = self.transform(x)
        return self.nets[k](z * self.masks[k])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, present = self.transform(x)
        logits = torch.stack([net(z * self.masks[k]) for k, net in enumerate(self.nets)], dim=1)
        index = self.route[self.pattern(present)].view(-1, 1, 1).expand(-1, 1, N_CLASSES)
        return torch.gather(logits, 1, index).squeeze(1)


class FSEAttention(nn.Module):
    """Feature-set embedding + masked multi-head self-attention + masked mean + classifier.

    The set elements are the detector measurements (Kabus, CHEP 2023): one token for the
    kinematics and one per present detector (TPC, TOF, TRD), each a linear embedding of that
    detector's standardised values plus a learned embedding of which detector it is.
    """

    method = "attention"

    def __init__(self, transform: Transform, d_model: int = 32, heads: int = 4, layers: int = 2,
                 hidden: tuple[int, ...] = (64,)) -> None:  # fmt: skip
        super().__init__()
        self.transform, self.heads = transform, heads
        self.groups = [[FEATURES.index(f) for f in cols] for cols in GROUPS.values()]
        self.embed = nn.ModuleList([nn.Linear(len(g), d_model) for g in self.groups])
        self.detector_embedding = nn.Parameter(torch.randn(len(self.groups), d_model) * 0.1)
        self.qkv = nn.ModuleList([nn.Linear(d_model, 3 * d_model) for _ in range(layers)])
        self.proj = nn.ModuleList([nn.Linear(d_model, d_model) for _ in range(layers)])
        self.norm1 = nn.ModuleList([nn.LayerNorm(d_model) for _ in range(layers)])
        self.norm2 = nn.ModuleList([nn.LayerNorm(d_model) for _ in range(layers)])
        self.ff = nn.ModuleList([nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.ReLU(),
                                               nn.Linear(2 * d_model, d_model)) for _ in range(layers)])  # fmt: skip
        self.head = mlp(d_model, hidden)

    def _attend(self, k: int, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        n, t, d = h.shape
        dh = d // self.heads
        q, key, v = self.qkv[k](self.norm1[k](h)).chunk(3, dim=2)
        q, key, v = (a.reshape(n, t, self.heads, dh).transpose(1, 2) for a in (q, key, v))
        scores = torch.matmul(q, key.transpose(2, 3)) / math.sqrt(dh) + bias
        out = torch.matmul(torch.softmax(scores, dim=3), v).transpose(1, 2).reshape(n, t, d)
        h = h + self.proj[k](out)
        return h + self.ff[k](self.norm2[k](h))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled representation [n, d_model] (the input of the head, and of a domain head)."""
        z, present = self.transform(x)
        tokens = [emb(z[:, g]) for emb, g in zip(self.embed, self.groups, strict=True)]
        h = torch.stack(tokens, dim=1) + self.detector_embedding.unsqueeze(0)
        here = torch.stack([present[:, g[0]] for g in self.groups], dim=1)  # [n, detectors]
        bias = ((1.0 - here) * -1e4).view(here.shape[0], 1, 1, here.shape[1])
        for k in range(len(self.qkv)):
            h = self._attend(k, h, bias)
        w = here.unsqueeze(2)
        return (h * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


#: method name -> module class (the names: :data:`o2ml.models.combined.model.METHODS`)
METHODS = {
    c.method: c for c in (MeanImputation, RegressionImputation, PatternEnsemble, FSEAttention)
}


class Probabilities(nn.Module):
    """Softmax of a module's logits (the ONNX output)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.module(x), dim=1)


__all__ = [
    "METHODS",
    "N_CLASSES",
    "FSEAttention",
    "MeanImputation",
    "PatternEnsemble",
    "Probabilities",
    "RegressionImputation",
    "Transform",
    "mlp",
]
