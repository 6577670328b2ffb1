"""o2ml's optional extras: which packages each brings, and the error when one is missing.

The core (io, schema, channels, toymc, selection, export, inference, workflow, the CLI) needs none
of them. ``pip install "o2ml[torch]"`` adds the networks (autoencoder, DANN, TPC and combined
PID), ``o2ml[dashboards]`` the figures, widgets and Voila apps, ``o2ml[dask]`` the clusters of
``train --workers``, ``scan --workers`` and ``apply``; ``o2ml[test]`` the test tools. The lock
(env/requirements.lock), ``make lab`` and ``make test`` install them all.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from .errors import MissingExtraError

__all__ = ["EXTRAS", "load", "missing"]

#: the packages of each extra (pyproject.toml [project.optional-dependencies])
EXTRAS = {
    "torch": ("torch", "hummingbird"),
    "dashboards": ("plotly", "ipywidgets", "voila", "jupyterlab"),
    "dask": ("dask", "distributed"),
    "test": ("pytest", "nbmake", "xdist", "playwright"),
}


def missing(extra: str, what: str, err: ImportError) -> MissingExtraError:
    """The error to raise (``from err``) where ``what`` cannot import a package of ``extra``."""
    name = getattr(err, "name", None) or str(err)
    return MissingExtraError(
        f"{what} needs {name}, part of the optional extra {extra!r} "
        f'({", ".join(EXTRAS[extra])}): pip install "o2ml[{extra}]"'
    )


def load(module: str, extra: str) -> ModuleType:
    """Import ``module`` of the optional ``extra`` where a function first needs it.

    o2ml's modules import every optional package inside the functions that use it (as uproot
    does), so that ``import o2ml`` stays fast and works without the extras; a missing one is a
    :class:`MissingExtraError` naming the function's module and ``pip install "o2ml[EXTRA]"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        what = sys._getframe(1).f_globals.get("__name__", "o2ml")
        raise missing(extra, what, err) from err
