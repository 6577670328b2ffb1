"""o2ml: a Jupyter-first machine-learning environment for ALICE O2 physics analyses.

The public subpackages load on first use (``import o2ml; o2ml.selection.scan_significance``),
so that ``import o2ml`` stays cheap; the README's Layout section lists what each holds.
"""

import importlib

__version__ = "0.1.0"

_SUBPACKAGES = (
    "errors", "config", "schema", "profiling", "io", "physics", "toymc", "channels", "onnx",
    "selection", "models", "export", "inference", "plots", "widgets", "workflow", "apps",
)  # fmt: skip


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBPACKAGES])


__all__ = ["__version__", *_SUBPACKAGES]
