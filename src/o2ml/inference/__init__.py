"""Model application at scale: one interface over the inference backends, ``o2ml apply`` over many
files with dask, and the backend benchmark (``o2ml bench inference``)."""

from ..schema import score_column
from .apply import DEFAULT_COLUMNS, OUTPUT_TABLE, ApplyReport, FileResult, apply_files, check_output
from .backends import BACKENDS, Scorer, make_scorer
from .model import BinnedModel

__all__ = [
    "BACKENDS",
    "DEFAULT_COLUMNS",
    "OUTPUT_TABLE",
    "ApplyReport",
    "BinnedModel",
    "FileResult",
    "Scorer",
    "apply_files",
    "check_output",
    "make_scorer",
    "score_column",
]
