"""Atomic file writes (a result file exists only once it is whole), and space reserved before a large write."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from zoobench.errors import NoSpaceError, free_bytes, mb


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read-and-restore
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kw: Any) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; rename it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; a result file gets the usual mode
        with os.fdopen(fd, mode, **kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # a failed write names no file: name the target
            exc.filename = str(target)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2) -> None:
    """Write JSON atomically (pretty by default, with a trailing newline)."""
    text = json.dumps(obj, indent=indent, sort_keys=False)
    write_text(path, text + ("\n" if indent is not None else ""))


def write_skipped_csv(path: str | os.PathLike[str], skipped: list[tuple[str, str]]) -> None:
    """``image,reason`` rows of the inputs a stage skipped; no file (and an old one removed) when none was."""
    import csv
    import io

    if not skipped:
        Path(path).unlink(missing_ok=True)
        return
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["image", "reason"])
    w.writerows(skipped)
    write_text(path, buf.getvalue())


def file_digest(path: str | os.PathLike[str], algo: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks (sha256 by default; md5 for the seeds' published sums)."""
    import hashlib

    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# errnos of a filesystem that cannot preallocate (then the blocks are written instead)
_NO_FALLOCATE = (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS)


def check_space(folder: str | os.PathLike[str], need: int, what: str, todo: str) -> None:
    """Raise :class:`NoSpaceError` (``<what> needs N MB in DIR, M MB free — <todo>``) when ``folder`` lacks ``need``
    bytes; a cheap check before work starts (a reservation with :func:`reserve` is what makes it sure)."""
    free = free_bytes(folder)
    if free is not None and free < need:
        raise NoSpaceError(_needs(what, need, folder, free, todo))


def _needs(what: str, need: int, folder: str | os.PathLike[str], free: int, todo: str) -> str:
    """``<what> needs N MB in DIR, M MB free — <todo>``, with as many decimals as make N and M differ."""
    a, b = mb(need), mb(free)
    if a == b:
        a, b = f"{need / 1e6:.3f} MB", f"{free / 1e6:.3f} MB"
    return f"{what} needs {a} in {folder}, {b} free — {todo}"


def reserve(path: str | os.PathLike[str], size: int, what: str, todo: str, *, fresh: bool) -> None:
    """Give the first ``size`` bytes of the file at ``path`` real blocks, so a memory-mapped write into it can
    never hit a full disk (which is SIGBUS, not an error). ``fresh``: a file whose content may be overwritten
    with zeros where the filesystem cannot preallocate (an existing one is then left as it is).

    Raises:
        NoSpaceError: the disk (or quota) has not ``size`` bytes for it (``<what> needs N MB in DIR, M MB free``).
    """
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as exc:
            if exc.errno in _NO_FALLOCATE and fresh:
                _write_zeros(fd, size)
            elif exc.errno not in _NO_FALLOCATE:
                raise
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            exc.filename = exc.filename or str(path)
            raise
        if fresh:  # give back what a partial reservation took, so the free space said is the real one
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        folder = Path(path).parent
        raise NoSpaceError(_needs(what, size, folder, free_bytes(folder) or 0, todo)) from exc
    finally:
        os.close(fd)


def _write_zeros(fd: int, size: int) -> None:
    block = bytes(1 << 20)
    for off in range(0, size, len(block)):
        os.pwrite(fd, block[: min(len(block), size - off)], off)


@contextlib.contextmanager
def dir_lock(folder: str | os.PathLike[str], log: Any = None) -> Iterator[None]:
    """Hold ``FOLDER/.zoobench.lock`` (flock: the kernel releases it when the process dies, however it dies).

    Two commands writing one output directory take turns instead of removing each other's partial files; the
    second says it waits, then resumes from what the first left (or redoes it), so both end with the same files.
    """
    import fcntl

    fd = os.open(Path(folder) / ".zoobench.lock", os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if log is not None:
                log(f"waiting for another zoobench command writing {folder} to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def json_digest(obj: Any, length: int | None = None) -> str:
    """sha256 of ``obj`` as canonical JSON (sorted keys; anything JSON cannot encode as its ``str``): the one key
    of a settings or inputs dict, truncated to ``length`` hex digits when given."""
    import hashlib

    digest = hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:length] if length else digest
