"""The TPC dE/dx networks as PyTorch modules: raw pidTPC inputs -> (mu, sigma).

A private module (the classes subclass ``torch.nn.Module``): :mod:`o2ml.models.tpc.network`
imports it inside the functions that build or run a network, once torch (the ``torch`` extra) is
loaded, so that ``import o2ml.models.tpc`` does not import torch.
"""

from __future__ import annotations

import torch
from torch import nn

#: width scale of the output head: sigma = SIGMA_SCALE x exp(head), near a TPC resolution
SIGMA_SCALE = 0.06
#: derived inputs the network sees (from the six raw inputs)
DERIVED = ("log p", "tgl", "asinh(q/pT)", "log mass", "mult", "ncl", "log betagamma")


def derived(x: torch.Tensor) -> torch.Tensor:
    """The :data:`DERIVED` inputs [n, 7] of raw pidTPC inputs [n, 6]."""
    p, tgl, q, m, mult, ncl = x.unbind(dim=1)
    logp, logm = torch.log(p), torch.log(m)
    # asinh(q) written out: the TorchScript ONNX exporter has no symbolic for aten::asinh
    asinh_q = torch.sign(q) * torch.log(torch.abs(q) + torch.sqrt(q * q + 1.0))
    return torch.stack([logp, tgl, asinh_q, logm, mult, ncl, logp - logm], dim=1)


class TpcNet(nn.Module):
    """Raw inputs [n, 6] -> (mu, sigma) of dE/dx / expected."""

    def __init__(self, hidden: tuple[int, ...], mean=None, std=None) -> None:
        super().__init__()
        width = len(DERIVED)
        self.register_buffer("mean", torch.zeros(width) if mean is None else torch.as_tensor(mean))
        self.register_buffer("std", torch.ones(width) if std is None else torch.as_tensor(std))
        layers, n_in = [], width
        for n_out in hidden:
            layers += [nn.Linear(n_in, n_out), nn.SiLU()]
            n_in = n_out
        head = nn.Linear(n_in, 2)
        nn.init.zeros_(head.weight)  # start at mu = 1, sigma = SIGMA_SCALE
        nn.init.zeros_(head.bias)
        self.body = nn.Sequential(*layers, head)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body((derived(x) - self.mean) / self.std)
        return 1.0 + 0.1 * h[:, 0], SIGMA_SCALE * torch.exp(h[:, 1])


class Ensemble(nn.Module):
    """The average of several :class:`TpcNet` (mean of mu, mean of sigma)."""

    def __init__(self, nets: list[TpcNet]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outs = [net(x) for net in self.nets]
        mu = torch.stack([o[0] for o in outs]).mean(dim=0)
        return mu, torch.stack([o[1] for o in outs]).mean(dim=0)


class PidTpcOutputs(nn.Module):
    """What pidTPC reads: one output [n, 2] = (mu, mu + sigma)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, sigma = self.model(x)
        return torch.stack([mu, mu + sigma], dim=1)


__all__ = ["DERIVED", "SIGMA_SCALE", "Ensemble", "PidTpcOutputs", "TpcNet", "derived"]
