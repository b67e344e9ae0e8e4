"""The decode workers' shared-memory ring: no killed run leaks it, a full ring directory is one line.

A ring is named after its owner (pid and start time); a new ring removes those of dead owners, and then the
``sem.mp-*`` semaphores no process maps (a killed pool's). Killed alone, the main process's ring is removed at
once by multiprocessing's resource tracker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datahelp import TINY_PP, write_jpegs

from zoobench.data import shm_ring
from zoobench.data.cache import prep_cache

N = 192


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("skimage")
    d = tmp_path_factory.mktemp("ring") / "val"
    write_jpegs(d, N, size=(320, 240))
    return d


def _prep_killed(folder: Path, out: Path, env: dict[str, str], *, group: bool) -> int:
    """A prep with 2 decode workers that SIGKILLs itself (``group``: with its workers, forkserver and resource
    tracker, as ``kill -9 -PGID`` does) right after its first chunk is saved, while the ring is in use."""
    who = "os.killpg(os.getpgid(0), signal.SIGKILL)" if group else "os.kill(os.getpid(), signal.SIGKILL)"
    code = (
        "import os, signal, sys\n"
        "import zoobench.data.cache as c\n"
        "f = c._write_progress\n"
        f"def wrapped(*a, **k):\n    f(*a, **k); {who}\n"
        "c._write_progress = wrapped\n"
        f"c.prep_cache({str(folder)!r}, c.Preprocess(input_size=(3, 32, 32), resize=36), {str(out)!r}, "
        "workers=2, chunk=32)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    rc = proc.wait(timeout=300)
    assert rc == -signal.SIGKILL, f"not killed mid-run (rc {rc}): {proc.stderr.read() if proc.stderr else ''}"
    return proc.pid


def _rings_of(folder: Path, pid: int) -> list[str]:
    return sorted(p.name for p in folder.glob(f"{shm_ring.PREFIX}{pid}-*.u8"))


def _leaked_semaphores() -> set[str]:
    """``sem.mp-*`` of this user that no process maps now."""
    mapped, out = shm_ring._mapped_in_shm(), set()
    for p in Path(shm_ring.SHM).glob("sem.mp-*"):
        try:
            st = p.stat()
        except OSError:
            continue
        if st.st_ino not in mapped and st.st_uid == os.getuid():
            out.add(p.name)
    return out


def test_a_run_killed_with_its_workers_leaks_nothing_past_the_next_run(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not Path("/proc/self/stat").is_file():
        pytest.skip("no /proc: a ring's owner cannot be checked here")
    rings = tmp_path / "rings"
    rings.mkdir()
    env = {**os.environ, shm_ring.ENV: str(rings)}
    dead = _prep_killed(folder, tmp_path / "c1", env, group=True)
    left = _rings_of(rings, dead)
    assert len(left) == 1, "the killed run's ring was not there to be removed (the test proves nothing)"
    leaked = _leaked_semaphores() if os.path.isdir(shm_ring.SHM) else set()
    monkeypatch.setenv(shm_ring.ENV, str(rings))
    meta = prep_cache(folder, TINY_PP, tmp_path / "c2", workers=1, chunk=32, limit=40)  # another run
    assert meta["status"] == "built"
    assert _rings_of(rings, dead) == [] and list(rings.iterdir()) == []
    assert not leaked & {p.name for p in Path(shm_ring.SHM).glob("sem.mp-*")}, "the killed pool's semaphores"


def test_the_ring_of_a_main_process_killed_alone_is_removed_at_once(folder: Path, tmp_path: Path) -> None:
    """The default place, /dev/shm: the resource tracker outlives the killed process and removes its ring."""
    if shm_ring.ring_dir() != shm_ring.SHM:
        pytest.skip("no writable /dev/shm here")
    env = {k: v for k, v in os.environ.items() if k != shm_ring.ENV}
    dead = _prep_killed(folder, tmp_path / "c1", env, group=False)
    shm = Path(shm_ring.SHM)
    for _ in range(600):  # the tracker sees its pipe close; on a busy machine that can take a moment
        if not _rings_of(shm, dead):
            break
        time.sleep(0.1)
    assert _rings_of(shm, dead) == []


def test_sweep_removes_only_the_rings_of_dead_owners(tmp_path: Path) -> None:
    if not Path("/proc/self/stat").is_file():
        pytest.skip("no /proc: a ring's owner cannot be checked here")
    me = f"{os.getpid()}-{shm_ring.start_time(os.getpid())}"
    live = tmp_path / f"{shm_ring.PREFIX}{me}-abc.u8"
    reused_pid = tmp_path / f"{shm_ring.PREFIX}{os.getpid()}-1-abc.u8"  # this pid, another process's start time
    gone = tmp_path / f"{shm_ring.PREFIX}{2**22 + 17}-99-abc.u8"  # above pid_max's default range
    other = tmp_path / "unrelated.u8"
    for f in (live, reused_pid, gone, other):
        f.write_bytes(b"x")
    removed = shm_ring.sweep(str(tmp_path))
    assert set(removed) >= {reused_pid.name, gone.name}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_a_full_ring_directory_is_one_line_before_any_image(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ring that does not fit (a small /dev/shm) is the same one line as a cache that does not fit."""
    from zoobench.errors import NoSpaceError

    rings = tmp_path / "rings"
    rings.mkdir()
    monkeypatch.setenv(shm_ring.ENV, str(rings))
    import zoobench.io

    real = zoobench.io.free_bytes
    monkeypatch.setattr(zoobench.io, "free_bytes", lambda p: 100_000 if Path(p) == rings else real(p))
    out = tmp_path / "cache"
    with pytest.raises(NoSpaceError) as err:
        prep_cache(folder, TINY_PP, out, workers=2, chunk=32)
    need = 6 * 32 * 3 * 32 * 32  # 2 × workers + 2 slots of 32 images
    assert str(err.value) == (
        f"decode ring needs {need / 1e6:.2f} MB in {rings}, 0.10 MB free — free space in it, set "
        f"${shm_ring.ENV} to a directory with room, or decode in this process with --workers 0"
    )
    assert list(rings.iterdir()) == [] and not (out / "images.npy.partial").exists()
