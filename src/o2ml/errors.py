"""Errors a user can cause and fix: every error class of o2ml, all subclasses of :class:`O2mlError`.

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


# ---- selection (scans, expected signal, result files)


class ScanInputError(O2mlError, ValueError):
    """Inputs of an efficiency or significance scan do not fit together (lengths, directions...)."""


class ExpectedSignalError(O2mlError):
    """The expected-signal table is malformed, or a species, origin or pT range is not in it."""


class ScanFileError(BadFileError):
    """A saved scan result cannot be read: wrong format, missing or inconsistent fields."""


# ---- physics (mass fits)


class MassFitError(O2mlError):
    """A mass fit cannot be done: bad histogram, too few bins, or the minimisation failed."""


class EmptySidebandError(MassFitError, EmptySelectionError):
    """The bins used by a background fit (the sidebands) hold (almost) no candidates."""


# ---- channels and export (O2Physics selectors, ONNX, MlResponse)


class UnsupportedFeatureError(O2mlError):
    """A training column has no counterpart among the feature names a selector offers."""


class FeatureOrderError(O2mlError):
    """The features given to a model are not the ones, in order, it was trained with."""


class ModelIndexError(O2mlError):
    """A candidate outside ``binsPtMl``: ``MlResponse::getModelOutput`` stops the job there."""


# ---- models and inference


class InputError(O2mlError):
    """The tracks given to the DANN are not usable as they are (columns, domain, values)."""


class NoModelQualifiesError(O2mlError):
    """No model of a cost-aware study reaches the requested ROC AUC."""


class UnknownBackendError(O2mlError):
    """A backend name o2ml does not know."""


class ModelFileError(BadFileError):
    """A model file is not what it should be: wrong extension, not an XGBoost JSON model or a
    ``state_dict`` of the architecture, invalid metadata, a file missing from a model folder or
    changed while in use."""


class MlResponseConfigError(ConfigError):
    """An O2Physics ``MlResponse`` configuration that the selector would refuse or misread
    (classes, cuts, pT bins, feature names)."""


class StudyMismatchError(O2mlError):
    """A stored Optuna study does not fit what is asked of it (objectives, trials)."""


class JoinError(BadFileError):
    """Tables of one AO2D cannot be joined row by row: different DF_ folders or row counts, or an
    index column that points outside the table it references."""


# ---- arguments and outputs


class BadArgumentError(O2mlError, ValueError):
    """A function or command-line argument has a value it cannot take: a name not in the list,
    a length that does not match, a number out of range."""


class OutputError(O2mlError, OSError):
    """An output cannot be written where asked (not writable, it would replace an input, two
    inputs would share it, no free numbered name is left)."""


class SchedulerError(O2mlError, ConnectionError):
    """The dask scheduler given cannot be reached."""


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


class MissingExtraError(O2mlError, ImportError):
    """An optional part of o2ml needs a package of an extra that is not installed."""
