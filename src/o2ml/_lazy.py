"""Subpackages that load their modules on first use, so that ``import o2ml.models`` stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence


def submodules(package: str, names: Sequence[str]) -> tuple[Callable, Callable]:
    """``__getattr__`` and ``__dir__`` for ``package`` that import ``package.<name>`` when first read."""

    def __getattr__(name: str):
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(names) | set(importlib.import_module(package).__dict__))

    return __getattr__, __dir__
