"""One store for every artifact the engine build makes (exports, uint8-input engines, compiled engines with their
sidecars), keyed by the step's recipe key (:mod:`zoobench.engines.recipe`), never by a path.

An entry is a folder ``$ZOOBENCH_CACHE/engines/<model>/<step>-<key>/`` holding the step's files under the names
they get in an output folder; it appears whole (built in a temporary folder, then renamed), so a killed build
leaves no half entry. Output folders get hard links to its files (copies across filesystems), and a hit touches
the entry, so ``zoobench cache --older-than`` prunes what was not used. Without ``ZOOBENCH_CACHE``:
``$XDG_CACHE_HOME/zoobench/engines`` (``~/.cache/...``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zoobench.errors import ZoobenchError


def store_dir() -> Path:
    """``$ZOOBENCH_CACHE/engines``, else ``$XDG_CACHE_HOME/zoobench/engines`` (``~/.cache/...``)."""
    if os.environ.get("ZOOBENCH_CACHE"):
        return Path(os.environ["ZOOBENCH_CACHE"]).expanduser() / "engines"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "zoobench" / "engines"


def _safe(name: str) -> str:
    return name.replace(":", "_").replace("/", "_")


def entry_dir(model: str, step: str, key: str) -> Path:
    return store_dir() / _safe(model) / f"{step}-{key[:24]}"


def lookup(model: str, step: str, key: str, name: str) -> Path | None:
    """The stored file ``name`` of the entry, touched (it was used now); None when there is none."""
    path = entry_dir(model, step, key) / name
    if not path.is_file():
        return None
    with contextlib.suppress(OSError):
        os.utime(path.parent)
    return path


@contextlib.contextmanager
def building(model: str, step: str, key: str) -> Iterator[Path]:
    """A temporary folder to build the entry's files in; it becomes the entry when the block ends without error."""
    final = entry_dir(model, step, key)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        shutil.rmtree(final, ignore_errors=True)  # a damaged entry of the same key is replaced
        try:
            os.replace(tmp, final)
        except OSError:  # another process made the same entry meanwhile: keep theirs (same key, same recipe)
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _lock_file(entry: Path) -> Path:
    """The file whose lock :func:`claimed` holds for ``entry`` (beside it; prune removes it with the entry)."""
    return entry.with_name(f".{entry.name}.lock")


@contextlib.contextmanager
def claimed(model: str, step: str, key: str, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Held while this process makes the entry: another process that wants the same entry waits here (``waiting``
    is called first), then finds it made, so two runs at once build an engine once. Without ``flock`` (Windows) or
    a writable store, nothing waits."""
    lock = _lock_file(entry_dir(model, step, key))
    try:
        import fcntl

        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except (ImportError, OSError):
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def link_into(entry: Path, workdir: Path) -> None:
    """Every file of ``entry`` into ``workdir`` under its own name: a hard link, or a copy across filesystems.
    A file already there that is the same (same inode) is left; any other is replaced whole."""
    workdir.mkdir(parents=True, exist_ok=True)
    for src in sorted(p for p in entry.iterdir() if p.is_file()):
        dest = workdir / src.name
        with contextlib.suppress(OSError):
            if dest.exists() and os.path.samefile(src, dest):
                continue
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.link")
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:  # another filesystem, or links not allowed: a copy
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)


@dataclass(frozen=True)
class Entry:
    """One stored entry: its folder, files, bytes and when it was last used (made or reused)."""

    path: Path
    model: str
    step: str
    files: tuple[str, ...]
    bytes: int
    used: float


def entries() -> list[Entry]:
    """Every complete entry in the store, the least recently used first."""
    root = store_dir()
    found: list[Entry] = []
    if not root.is_dir():
        return found
    for model in sorted(p for p in root.iterdir() if p.is_dir()):
        for e in sorted(p for p in model.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = sorted((f for f in e.iterdir() if f.is_file()), key=lambda f: f.name)
            size = sum(f.stat().st_size for f in files)
            step = e.name.rsplit("-", 1)[0]
            found.append(Entry(e, model.name, step, tuple(f.name for f in files), size, e.stat().st_mtime))
    return sorted(found, key=lambda x: x.used)


def prune(older_than_s: float | None = None, max_bytes: int | None = None, now: float | None = None) -> list[Entry]:
    """Remove the entries not used for ``older_than_s`` seconds, then the least recently used ones until the store
    holds at most ``max_bytes``; returns what was removed. Output folders keep their links (the bytes stay until
    the last link goes)."""
    if older_than_s is None and max_bytes is None:
        raise ZoobenchError("prune by --older-than or --max-size (or both)")
    now = time.time() if now is None else now
    left = entries()
    removed = [e for e in left if older_than_s is not None and now - e.used > older_than_s]
    left = [e for e in left if e not in removed]
    total = sum(e.bytes for e in left)
    while max_bytes is not None and left and total > max_bytes:
        oldest = left.pop(0)
        removed.append(oldest)
        total -= oldest.bytes
    for e in removed:
        shutil.rmtree(e.path, ignore_errors=True)
        _lock_file(e.path).unlink(missing_ok=True)
    for model in {e.path.parent for e in removed}:
        with contextlib.suppress(OSError):
            model.rmdir()  # only when empty
    return removed
