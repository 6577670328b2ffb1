"""What a page's URL may choose when a dashboard is served: inputs inside one folder, never the export.

Voila hands the page's query string to the kernel (``QUERY_STRING``), and anyone who can send a
link writes that string. So two kinds of parameters are kept apart:

* the **starter's**: the notebook's parameters cell and the ``$O2ML_*`` environment of the server.
  Whoever starts the server sets them; they are trusted (any path).
* the **URL's** (``?candidates=``, ``?expected_signal=``, ``?scan=``): they may only choose inputs
  inside the *data root* (:class:`DataRoot`: ``$O2ML_DATA_ROOT`` or the parameters cell, default
  the folder of the default inputs). Paths are made absolute (relative ones start at the root),
  normalised and resolved (symbolic links, ``..``) before the check, and every file a folder or
  glob pattern expands to is checked again. A refused path gets one message that does not say
  whether it exists.

The export destination never comes from the URL: the dashboards write numbered files
(:func:`o2ml.export.files.write_numbered`) into one folder (:func:`export_directory`:
``$O2ML_EXPORT_DIR`` or the parameters cell, default the folder of the default inputs).

Pre-heated kernels (``voila --preheat_kernel=True``, what ``make dashboards`` starts): Voila
runs each dashboard in a pool kernel before anyone asks for it, so the imports are done when a
page is opened. Such a kernel has no request yet: the apps build the page of the starter's
inputs first (:func:`awaiting_request`), then :func:`url_parameters` waits for the request
(``voila.utils.wait_for_request``), so everything a URL may choose is read after it, as without
pre-heating; a URL that chooses other inputs gets a page built for them.
"""

from __future__ import annotations

import glob
import os
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .._extras import load
from ..errors import PathNotAllowedError

__all__ = [
    "ENV_DATA_ROOT",
    "ENV_EXPORT_DIR",
    "DataRoot",
    "awaiting_request",
    "export_directory",
    "starter_parameter",
    "url_parameters",
    "wait_for_request",
]

ENV_DATA_ROOT = "O2ML_DATA_ROOT"
ENV_EXPORT_DIR = "O2ML_EXPORT_DIR"


def url_parameters(query: str | None = None) -> dict[str, str]:
    """The page URL's parameters (first value of each): ``query``, else ``$QUERY_STRING`` (Voila;
    in a pre-heated kernel, once the page has been requested)."""
    if query is None:
        wait_for_request()
        query = os.environ.get("QUERY_STRING", "")
    return {k: v[0] for k, v in urllib.parse.parse_qs(query).items() if v}


_requested = False  # a pre-heated kernel serves one page: its request arrives once


def awaiting_request() -> bool:
    """Whether this is a kernel Voila pre-heats (``$VOILA_PREHEAT`` is ``True``) whose page has
    not been requested yet: :func:`wait_for_request` would block."""
    return not _requested and os.environ.get("VOILA_PREHEAT", "False") != "False"


def wait_for_request() -> None:
    """In a kernel Voila pre-heats (``$VOILA_PREHEAT`` is ``True``), block until its page is
    requested and the request (query string, URL) is in ``os.environ``; at once after that, and
    elsewhere."""
    global _requested
    if not awaiting_request():
        return
    load("voila.utils", "dashboards").wait_for_request()
    _requested = True


def starter_parameter(name: str, value: str | os.PathLike | None = None):
    """A parameter of whoever started the server: ``value`` (parameters cell), else ``$O2ML_<NAME>``."""
    if value is not None:
        return value
    return os.environ.get(f"O2ML_{name.upper()}") or None


def export_directory(value: str | os.PathLike | None, default_folder: str | os.PathLike) -> Path:
    """Where Export writes: ``value`` (parameters cell), else ``$O2ML_EXPORT_DIR``, else the default."""
    chosen = value if value is not None else os.environ.get(ENV_EXPORT_DIR) or default_folder
    return Path(chosen).expanduser().resolve()


def _magic(part: str) -> bool:
    return glob.has_magic(part)


@dataclass(frozen=True)
class DataRoot:
    """The folder inside which a URL may choose a dashboard's inputs (resolved)."""

    path: Path

    @classmethod
    def choose(cls, value: str | os.PathLike | None, default_folder: str | os.PathLike) -> DataRoot:
        """``value`` (parameters cell), else ``$O2ML_DATA_ROOT``, else ``default_folder``."""
        chosen = value if value is not None else os.environ.get(ENV_DATA_ROOT) or default_folder
        return cls(Path(chosen).expanduser().resolve())

    def refusal(self, value: str) -> PathNotAllowedError:
        """The one message for every refused URL path, whether or not it exists."""
        return PathNotAllowedError(
            f"{value}: not opened. A served dashboard opens files given in its URL only inside its "
            f"data root, {self.path} (set by whoever started the server: $O2ML_DATA_ROOT or the "
            "parameters cell); give a path inside it, or relative to it."
        )

    def contains(self, path: str | os.PathLike) -> bool:
        """Whether ``path``, resolved (symbolic links followed), lies inside the root."""
        return Path(path).resolve().is_relative_to(self.path)

    def confine(self, value: str) -> str:
        """A URL's file, folder or glob pattern as an absolute, normalised path inside the root.

        Relative paths start at the root. A plain path is returned resolved; a glob pattern is
        returned normalised, with its literal leading folder checked (check what it expands to
        with :meth:`confine_files`). Raises :class:`~o2ml.errors.PathNotAllowedError` otherwise.
        """
        if not value or "\x00" in value:
            raise self.refusal(value)
        path = Path(value)
        if not path.is_absolute():
            path = self.path / path
        text = os.path.normpath(path)  # collapses '..' lexically: no glob can climb out again
        parts = Path(text).parts
        if any(_magic(p) for p in parts):
            literal = Path(*parts[: next(i for i, p in enumerate(parts) if _magic(p))])
            if not self.contains(literal):
                raise self.refusal(value)
            return text
        if not self.contains(text):
            raise self.refusal(value)
        return str(Path(text).resolve())

    def confine_files(self, value: str, files: Iterable[str | os.PathLike]) -> None:
        """Refuse ``value`` if any file it expanded to resolves outside the root (a link out)."""
        if not all(self.contains(f) for f in files):
            raise self.refusal(value)
