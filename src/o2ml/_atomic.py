"""Files written under a temporary name and renamed when complete, with the mode any tool gives.

``tempfile.mkstemp`` creates its file with mode 0o600 whatever the umask: renamed into place, a
table, a scan or an export would then be unreadable by a colleague in the same group folder,
where ROOT, ``cp`` or ``open()`` give ``0o666 & ~umask`` (0o644 or 0o664). Every o2ml writer that
goes through a temporary name uses :func:`mkstemp` or :func:`replacing` from here, so that what
o2ml writes gets the mode the user's umask asks for, like any other file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["file_mode", "mkstemp", "replacing", "umask"]


def umask() -> int:
    """The process's umask. Read from ``/proc/self/status`` where the kernel gives it (Linux):
    setting and restoring it with ``os.umask`` would, for an instant, let another thread create
    files with no mask at all."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new file gets from ``open()``: 0o666 less the umask."""
    return 0o666 & ~umask()


def mkstemp(directory: str | os.PathLike, *, prefix: str, suffix: str = ".tmp") -> tuple[int, str]:
    """``tempfile.mkstemp`` in ``directory`` (file descriptor, path), with :func:`file_mode`
    instead of mkstemp's 0o600; the caller closes the descriptor and renames or removes the file."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    try:
        os.fchmod(fd, file_mode())
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


@contextmanager
def replacing(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A new temporary file next to ``path`` (same folder, so the rename is atomic), created
    empty with :func:`file_mode`; the block writes it, and on success it replaces ``path``. On
    an error it is removed and ``path`` is left as it was. The folder must exist."""
    path = Path(path)
    fd, tmp = mkstemp(path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
