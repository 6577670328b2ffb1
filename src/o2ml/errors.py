"""Errors a user can cause and fix.

Every message names the file (or other source), what was expected and what was found, so that
no user mistake ends in a bare traceback from uproot, pandas or numpy.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class O2mlError(Exception):
    """Base class of every error o2ml raises on bad user input."""


class InputFileNotFoundError(O2mlError, FileNotFoundError):
    """An input path or glob pattern matches no file."""


class BadFileError(O2mlError):
    """A file is not a readable ROOT or parquet file (wrong format, truncated, corrupted)."""


class TableNotFoundError(O2mlError):
    """The requested table (tree) is not in the file."""


class ColumnNotFoundError(O2mlError):
    """A requested column is not in the table."""


class EmptySelectionError(O2mlError):
    """No row survives the selection (or the table is empty)."""


class NonFiniteError(O2mlError):
    """A column that must be finite (a model feature) holds NaN or inf."""


class SelectionSyntaxError(O2mlError):
    """A selection string cannot be evaluated."""


class SchemaError(O2mlError):
    """A DataFrame does not match the declared table layout."""


class OutputExistsError(O2mlError, FileExistsError):
    """Refusing to overwrite an existing file without ``overwrite=True``."""


class SampleMismatchError(O2mlError):
    """A folder holds a sample other than the one asked for, in files o2ml will not replace."""


class PathNotAllowedError(O2mlError, PermissionError):
    """A path given by a served page's URL lies outside the folder its server allows."""


class DashboardError(O2mlError):
    """A dashboard or an export cannot do what was asked (export without thresholds, unknown scan...)."""


class ConfigError(O2mlError, ValueError):
    """A configuration file (YAML of the O2Physics macros, ...) lacks a key or holds a wrong value."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` names from ``candidates`` that look like ``name`` (case-insensitive)."""
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[h] for h in hits]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A short ``did you mean ...?`` clause, or an empty string when nothing is close."""
    hits = closest(name, candidates)
    return f" Did you mean {', '.join(repr(h) for h in hits)}?" if hits else ""
