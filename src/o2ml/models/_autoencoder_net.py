"""The autoencoder network (PyTorch module) of :mod:`o2ml.models.autoencoder`.

A private module (the class subclasses ``torch.nn.Module``): :mod:`o2ml.models.autoencoder`
imports it inside the functions that build or run a network, once torch (the ``torch`` extra) is
loaded, so that ``import o2ml.models.autoencoder`` does not import torch.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


class MseAutoencoder(nn.Module):
    """Clip -> min-max scale -> encoder -> bottleneck -> decoder -> per-candidate MSE.

    ``forward(x)`` takes raw features ``[batch, n_features]`` and returns the MSE ``[batch]``;
    :meth:`reconstruct` returns the scaled input and its reconstruction.
    """

    def __init__(
        self,
        n_features: int,
        hidden: Sequence[int],
        bottleneck: int,
        lo: np.ndarray | None = None,
        hi: np.ndarray | None = None,
        clip_lo: np.ndarray | None = None,
        clip_hi: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        widths = [n_features, *hidden, bottleneck]
        enc: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            enc += [nn.Linear(a, b), nn.ReLU()]
        dec: list[nn.Module] = []
        back = widths[::-1]
        for k, (a, b) in enumerate(itertools.pairwise(back)):
            dec.append(nn.Linear(a, b))
            if k < len(back) - 2:
                dec.append(nn.ReLU())
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

        def buf(v, default):
            return torch.as_tensor(np.full(n_features, default) if v is None else v).float()

        self.register_buffer("x_min", buf(lo, 0.0))
        self.register_buffer("x_max", buf(hi, 1.0))
        self.register_buffer("clip_lo", buf(clip_lo, -np.inf))
        self.register_buffer("clip_hi", buf(clip_hi, np.inf))

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.minimum(torch.maximum(x, self.clip_lo), self.clip_hi)
        span = torch.where(self.x_max > self.x_min, self.x_max - self.x_min, 1.0)
        return (x - self.x_min) / span

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.scale(x)
        return s, self.decoder(self.encoder(s))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, r = self.reconstruct(x)
        return ((s - r) ** 2).mean(dim=1)


__all__ = ["MseAutoencoder"]
