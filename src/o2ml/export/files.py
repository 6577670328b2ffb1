"""Writing exports without ever replacing a file: numbered names, temporary file + hard link.

A dashboard's Export button, pressed twice, must keep the first export, and it must never
replace a file that o2ml did not write (a user's notes, a symbolic link planted at the next
name). :func:`write_numbered` writes ``<stem>_001.json``, ``<stem>_002.json``, ... in one
folder: the content goes to a temporary file first, then ``os.link`` gives it the final name,
which fails if anything (a file, a folder, a dangling link) already holds that name. So two
kernels exporting at once get two numbers, and no existing path is ever opened for writing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .._atomic import file_mode, mkstemp
from ..errors import BadArgumentError, OutputError

__all__ = ["MAX_NUMBERED", "write_numbered"]

#: the most numbered files of one stem in one folder
MAX_NUMBERED = 999
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _next_numbers(directory: Path, stem: str, suffix: str):
    pattern = re.compile(rf"^{re.escape(stem)}_(\d{{3}}){re.escape(suffix)}$")
    used = [int(m.group(1)) for n in os.listdir(directory) if (m := pattern.match(n))]
    start = max(used, default=0) + 1
    yield from range(start, MAX_NUMBERED + 1)


def _link_new(tmp: str, target: Path, text: str) -> None:
    """Give ``tmp`` the name ``target`` unless the name exists (FileExistsError)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system: create exclusively, links not followed
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(target, flags, file_mode()), "w", encoding="utf-8") as f:
            f.write(text)


def write_numbered(
    directory: str | os.PathLike, stem: str, text: str, suffix: str = ".json"
) -> Path:
    """Write ``text`` to a new file ``directory/<stem>_NNN<suffix>``; return its path.

    The number is one past the highest already in the folder. Nothing that exists is replaced
    or opened: the file is written under a temporary name and hard-linked to its final name.
    The folder is created if missing.
    """
    if not _STEM.match(stem):
        raise BadArgumentError(
            f"export: expected a file stem of letters, digits, '_', '.', '-', found {stem!r}."
        )
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = mkstemp(directory, prefix=f".{stem}.")  # the umask's mode, as any tool
    except OSError as err:
        raise OutputError(f"{directory}: cannot write an export there ({err.strerror}).") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        for number in _next_numbers(directory, stem, suffix):
            target = directory / f"{stem}_{number:03d}{suffix}"
            try:
                _link_new(tmp, target, text)
            except FileExistsError:  # another kernel took this number, or a planted name
                continue
            return target
        raise OutputError(
            f"{directory}: expected a free name {stem}_NNN{suffix}, found all numbers up to "
            f"{MAX_NUMBERED} taken; move old exports away."
        )
    except OSError as err:
        raise OutputError(f"{directory}: cannot write an export there ({err.strerror}).") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
