"""Model application at scale: one interface over the inference backends, ``o2ml apply`` over many
files with dask, and the backend benchmark (``o2ml bench inference``)."""

from ..schema import score_column
from . import apply, backends, bench, model
from .apply import (
    DEFAULT_COLUMNS,
    OUTPUT_TABLE,
    ApplyReport,
    Execution,
    FileResult,
    apply_files,
    check_output,
)
from .backends import BACKENDS, Scorer, make_scorer
from .model import BinnedModel

__all__ = [
    "BACKENDS",
    "DEFAULT_COLUMNS",
    "OUTPUT_TABLE",
    "ApplyReport",
    "BinnedModel",
    "Execution",
    "FileResult",
    "Scorer",
    "apply",
    "apply_files",
    "backends",
    "bench",
    "check_output",
    "make_scorer",
    "model",
    "score_column",
]
