"""Errors of the selection tools, subclasses of :class:`o2ml.errors.O2mlError`."""

from __future__ import annotations

from ..errors import BadFileError, O2mlError


class ScanInputError(O2mlError, ValueError):
    """Inputs of an efficiency or significance scan do not fit together (lengths, directions...)."""


class ExpectedSignalError(O2mlError):
    """The expected-signal table is malformed, or a species, origin or pT range is not in it."""


class ScanFileError(BadFileError):
    """A saved scan result cannot be read: wrong format, missing or inconsistent fields."""
