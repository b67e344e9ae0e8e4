"""Errors that zoobench raises on purpose; the CLI prints them as one line, without a traceback.

OS errors a user can meet and fix (a full disk, a read-only or wrong path, a permission) are told apart by
errno in :func:`os_error_line`, which words them as that same one line.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path


class ZoobenchError(Exception):
    """Base class for every error a user can cause and fix."""


class WeightsError(ZoobenchError):
    """A weights file is missing, has the wrong checksum, or does not fit the architecture."""


class ModelNotFoundError(ZoobenchError):
    """No model spec, timm model or ONNX file answers to the given name."""


class DataError(ZoobenchError):
    """An image folder, label file, cache or prediction directory is unusable."""


class RuntimeUnavailableError(ZoobenchError):
    """A runtime (or its device) is not installed; the message says how to install it."""


class ExportError(ZoobenchError):
    """Export or the exported model's parity check failed."""


class ClusterError(ZoobenchError):
    """Ray is not installed, the cluster cannot be reached, or it cannot run what was asked."""


class FileSystemError(ZoobenchError):
    """The machine refused a file operation a user can fix: no space, read-only, not a directory, permission."""


class NoSpaceError(FileSystemError):
    """Not enough space for what is about to be written; a ``run`` stops after it (the next model would fail too)."""


# errno -> (what happened, what to do); these are the OS errors a user meets and fixes, each one line
_WRITE_ELSEWHERE = "choose another directory with -o"
_RERUN = "then run the same command again: it resumes"
_OS_ERRORS = {
    errno.ENOSPC: ("no space left on the device", f"free some space there or {_WRITE_ELSEWHERE}, {_RERUN}"),
    errno.EDQUOT: ("disk quota exceeded", f"free some space within your quota or {_WRITE_ELSEWHERE}, {_RERUN}"),
    errno.EROFS: ("read-only file system", f"{_WRITE_ELSEWHERE} on a writable disk"),
    errno.ENOTDIR: ("not a directory", "remove or rename that file, or choose another path"),
    errno.EACCES: ("permission denied", "fix its permissions, or choose another path"),
    errno.EPERM: ("operation not permitted", "fix its permissions, or choose another path"),
    errno.ENOENT: ("no such file or directory", f"check the path (if it vanished while zoobench ran, {_RERUN})"),
}
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def mb(n: float) -> str:
    """A byte count in MB: ``301 MB``, ``2.1 MB``, ``0.06 MB``."""
    x = n / 1e6
    return f"{x:.0f} MB" if x >= 10 or x == 0 else f"{x:.1f} MB" if x >= 1 else f"{x:.2f} MB"


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Free bytes on the filesystem holding ``path`` (or its nearest existing parent); None when unknown."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def _file_in_the_way(path: Path) -> Path | None:
    """The first part of ``path`` that exists and is not a directory (what makes it ENOTDIR)."""
    for part in reversed([path, *path.parents]):
        if part.exists() and not part.is_dir():
            return part
        if not part.exists():
            return None
    return None


def os_error_line(exc: OSError, path: str | os.PathLike[str] | None = None) -> str | None:
    """``<path>: <what> — <what to do>`` for the OS errors a user can fix; None for any other OSError (a bug)."""
    if exc.errno not in _OS_ERRORS:
        return None
    what, todo = _OS_ERRORS[exc.errno]
    where = exc.filename if exc.filename is not None else path
    if where is None:  # a failed write that named no file: "there" would point nowhere
        return f"{what} — {todo.replace(' there', '')}"
    where = os.fsdecode(where)
    if exc.errno in NO_SPACE:
        free = free_bytes(where)
        what += f" ({mb(free)} free)" if free is not None else ""
    elif exc.errno == errno.ENOTDIR:
        blocker = _file_in_the_way(Path(where))
        what = f"{blocker} is a file, not a directory" if blocker is not None else what
    elif exc.errno == errno.ENOENT and exc.filename2 is not None:
        where = f"{where} -> {os.fsdecode(exc.filename2)}"
    return f"{where}: {what} — {todo}"


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (checked before writing, or met while writing)."""
    return isinstance(exc, NoSpaceError) or (isinstance(exc, OSError) and exc.errno in NO_SPACE)


def one_line(exc: BaseException) -> str:
    """What went wrong, in the one line a user reads (stages.json's note, the CLI's ``Error:`` line)."""
    if isinstance(exc, OSError):
        line = os_error_line(exc)
        if line is not None:
            return line
    if isinstance(exc, ZoobenchError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class UsageError(ZoobenchError):
    """An option value that is wrong whatever is on disk (an unknown preprocessing variant, runtime, ...): the
    CLI exits 2, as for click's own usage errors, and nothing has been created."""
