"""The analyser's workflow behind ``o2ml prepare`` (and, next, ``train``, ``scan``, ``export``):
the O2Physics D2H ML macros' configurations, run in pure Python."""

from .config import Config, load_config
from .expressions import Expression, conjunction
from .prepare import PREPARE_SCHEMA, PrepareReport, prepare

__all__ = [
    "PREPARE_SCHEMA",
    "Config",
    "Expression",
    "PrepareReport",
    "conjunction",
    "load_config",
    "prepare",
]
