"""What every PyTorch model of o2ml shares: the device choice and deterministic training."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .._extras import load

if TYPE_CHECKING:
    import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; otherwise the device asked for."""
    torch = load("torch", "torch")
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@contextlib.contextmanager
def deterministic(threads: int) -> Iterator[None]:
    """Deterministic kernels and a fixed number of CPU threads, restored afterwards."""
    torch = load("torch", "torch")
    before = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.set_num_threads(before[1])


def save_state_dict(module, path, meta: dict, *, overwrite: bool = False):
    """``module``'s ``state_dict`` (plain CPU tensors) at ``path`` (``.pt``) plus ``meta`` in the
    ``<stem>.meta.json`` sidecar; returns ``path``."""
    torch = load("torch", "torch")
    from ._storage import save_with_sidecar

    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    return save_with_sidecar(
        path, ".pt", meta, lambda p: torch.save(state, p), overwrite=overwrite,
        what="a PyTorch model (state_dict)",
    )  # fmt: skip


def config_from_dict(cls, d: dict, what: str):
    """A settings dataclass ``cls`` from its JSON form (lists back to tuples); unknown keys are a
    :class:`~o2ml.errors.BadArgumentError` naming them (``what``: whose settings)."""
    from ..errors import BadArgumentError

    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(d) - known)
    if unknown:
        raise BadArgumentError(f"Unknown {what} settings {unknown}; known: {sorted(known)}.")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def load_state_dict(module, path, *, what: str):
    """Load the ``state_dict`` at ``path`` into ``module`` (``weights_only``: plain tensors, never
    pickled objects); a file that is not one, or not of this architecture, is a
    :class:`~o2ml.errors.ModelFileError` naming the file. Returns ``module``."""
    torch = load("torch", "torch")
    from ..errors import ModelFileError

    try:
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as err:
        raise ModelFileError(f"{path}: not a state_dict of {what} ({err}).") from None
    return module


def require_metadata(meta: dict, keys, path, *, what: str) -> None:
    """A sidecar without the ``keys`` a model needs is a :class:`~o2ml.errors.ModelFileError`."""
    from ..errors import ModelFileError

    missing = [k for k in keys if k not in meta]
    if missing:
        raise ModelFileError(f"{path}: the metadata of {what} lacks {missing}.")
