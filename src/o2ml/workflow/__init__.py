"""The analyser's workflow behind ``o2ml prepare`` and ``o2ml train`` (``scan`` and ``export``
next): the O2Physics D2H ML macros' configurations, run in pure Python."""

from . import config, export, expressions, figures, scan
from .config import Config, load_config
from .expressions import Expression, conjunction
from .prepare import PREPARE_SCHEMA, PrepareReport, prepare
from .train import TRAIN_SCHEMA, TrainReport, train

__all__ = [
    "PREPARE_SCHEMA",
    "TRAIN_SCHEMA",
    "Config",
    "Expression",
    "PrepareReport",
    "TrainReport",
    "config",
    "conjunction",
    "export",
    "expressions",
    "figures",
    "load_config",
    "prepare",
    "scan",
    "train",
]
