"""The decode workers' ring: a memory-mapped file in /dev/shm, named after its owner so no killed run leaks it.

A ring is ``zoobench-ring-<pid>-<start time>-<random>.u8`` (the start time is the process's, from
``/proc/<pid>/stat``: a pid reused by a later process does not pass for the owner). Every new ring first
removes the rings whose owner is gone and, when it found one, multiprocessing's ``sem.mp-*`` semaphores that
no process has open (what a killed pool leaves beside its ring). When only the main process is killed,
multiprocessing's resource tracker removes the ring at once. The ring's blocks are reserved before a worker
writes into it: a full /dev/shm is one line, never SIGBUS.

``$ZOOBENCH_RING_DIR`` puts rings elsewhere (a small /dev/shm, e.g. a container's 64 MB).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.errors import NO_SPACE, NoSpaceError
from zoobench.io import check_space, reserve

PREFIX = "zoobench-ring-"
ENV = "ZOOBENCH_RING_DIR"
SHM = "/dev/shm"
_NAME = re.compile(re.escape(PREFIX) + r"(\d+)-(\d+)-\w+\.u8")
TODO = f"free space in it, set ${ENV} to a directory with room, or decode in this process with --workers 0"


def ring_dir() -> str:
    """Where rings go: ``$ZOOBENCH_RING_DIR``, else /dev/shm where it is writable, else the temp directory."""
    if os.environ.get(ENV):
        return os.environ[ENV]
    return SHM if os.path.isdir(SHM) and os.access(SHM, os.W_OK) else tempfile.gettempdir()


def start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name in (...) may hold spaces


def _owner_gone(pid: int, started: str) -> bool:
    if Path("/proc/self/stat").is_file():
        return start_time(pid) != started
    try:  # no /proc: the pid alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def sweep(folder: str) -> list[str]:
    """Remove the rings in ``folder`` whose owner is gone and, when there was one (a run was killed with its
    pool), the semaphores no process has open; returns the names removed."""
    removed = []
    for f in Path(folder).glob(PREFIX + "*.u8"):
        m = _NAME.fullmatch(f.name)
        if m is not None and _owner_gone(int(m[1]), m[2]):
            with contextlib.suppress(OSError):
                f.unlink()
                removed.append(f.name)
    return removed + _sweep_semaphores() if removed else removed


def _sweep_semaphores() -> list[str]:
    """multiprocessing's named semaphores (``sem.mp-*``) of this user that no process maps: a killed pool's."""
    if not os.path.isdir(SHM):
        return []
    uid = os.getuid()
    found = [f for f in Path(SHM).glob("sem.mp-*") if _owned_by(f, uid)]
    if not found:
        return []
    mapped = _mapped_in_shm()
    removed = []
    for f in found:
        if _inode(f) not in mapped:
            with contextlib.suppress(OSError):
                f.unlink()
                removed.append(f.name)
    return removed


def _inode(f: Path) -> int:
    try:
        return f.stat().st_ino
    except OSError:
        return -1  # gone already: nothing to remove


def _owned_by(f: Path, uid: int) -> bool:
    try:
        return f.stat().st_uid == uid
    except OSError:
        return False


def _mapped_in_shm() -> set[int]:
    """Inodes of the /dev/shm files some process maps. By inode, not name: a semaphore's creator maps the temp file
    that glibc then links to ``sem.mp-*`` (its map shows the temp name). A process whose map this user may not
    read (the init of a sandbox, another user's) is passed over: a pool of this user's runs is readable to it."""
    inodes: set[int] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            text = (proc / "maps").read_text(errors="replace")
        except OSError:
            continue  # it exited, or it is not ours to read
        for line in text.splitlines():
            if SHM + "/" in line:
                with contextlib.suppress(IndexError, ValueError):
                    inodes.add(int(line.split()[4]))
    return inodes


def create(shape: tuple[int, ...]) -> tuple[str, np.memmap]:
    """A new ring of ``shape`` (uint8), its blocks reserved; the old rings of dead runs removed first.

    Raises:
        NoSpaceError: the ring's directory has no room for it (``decode ring needs N MB in DIR, M MB free``).
    """
    folder = ring_dir()
    sweep(folder)
    size = int(np.prod(shape))
    check_space(folder, size, "decode ring", TODO)
    owner = f"{os.getpid()}-{start_time(os.getpid()) or 0}"
    try:
        fd, path = tempfile.mkstemp(prefix=f"{PREFIX}{owner}-", suffix=".u8", dir=folder)
    except OSError as exc:  # no inode left (the blocks were checked above)
        if exc.errno in NO_SPACE:
            raise NoSpaceError(f"decode ring: no space left in {folder} — {TODO}") from exc
        raise
    os.close(fd)
    _track(path, True)
    try:
        os.truncate(path, size)
        reserve(path, size, "decode ring", TODO, fresh=True)
        ring = np.memmap(path, dtype=np.uint8, mode="r+", shape=shape)
    except BaseException:
        remove(path)
        raise
    return path, ring


def remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    _track(path, False)


def _track(path: str, on: bool) -> None:
    """A ring in /dev/shm is the resource tracker's to remove should this process be killed alone."""
    if os.path.dirname(os.path.abspath(path)) != SHM:
        return
    from multiprocessing import resource_tracker

    fn: Any = resource_tracker.register if on else resource_tracker.unregister
    with contextlib.suppress(Exception):
        fn("/" + os.path.basename(path), "shared_memory")
