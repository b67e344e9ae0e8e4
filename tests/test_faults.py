"""Faults of the machine: a full disk, a read-only or wrong output path, a permission. Each is one ``Error:`` line
with exit code 1 and no traceback, leaves nothing half-written that looks complete, and the same command run
again once the cause is gone resumes and ends byte-identical to a clean run.

A small tmpfs stands in for a small disk (mounting needs root; without it those tests skip and say why, and the
mocked ``posix_fallocate`` / ``fsync`` raising ENOSPC cover the same paths).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "data"))
from datahelp import make_tiny_onnx, write_jpegs

from zoobench.cli import cli
from zoobench.cli.app import BUG_LINE, friendly
from zoobench.models.spec import Preprocess

N = 40
BIG_PP = Preprocess(input_size=(3, 224, 224), resize=256)  # 150 KB per image in the cache
RERUN = "then run the same command again"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    return {
        "tiny": make_tiny_onnx(d / "tiny.onnx"),
        "big": make_tiny_onnx(d / "big.onnx", BIG_PP),
        "tiny2": make_tiny_onnx(d / "tiny2.onnx"),
    }


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("skimage")
    d = tmp_path_factory.mktemp("faults") / "val"
    write_jpegs(d, N)
    return d


@contextlib.contextmanager
def tmpfs(where: Path, size: str, *, ro: bool = False) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (a small disk), unmounted after; the test skips where it cannot."""
    where.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}" + (",ro" if ro else ""), "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("no mount command here: the mocked ENOSPC tests cover this path")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}; needs root): the mocked ENOSPC tests cover it")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount(where: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True, capture_output=True)


def cli_run(*args: str | Path) -> tuple[int, str]:
    """The CLI in-process: exit code and the last line it printed (the error line); asserts no traceback."""
    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in res.output and BUG_LINE not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    return res.exit_code, lines[-1] if lines else ""


def fill(disk: Path, leave: int) -> Path:
    """Take all the free space of ``disk`` but ``leave`` bytes."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(filler, "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, free - leave)
    return filler


# ---- the one line, by errno -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "line"),
    [
        (errno.ENOSPC, "Error: /x/out: no space left on the device (0 MB free) — free some space there or choose "
         f"another directory with -o, {RERUN}: it resumes"),
        (errno.EDQUOT, "Error: /x/out: disk quota exceeded (0 MB free) — free some space within your quota or "
         f"choose another directory with -o, {RERUN}: it resumes"),
        (errno.EROFS, "Error: /x/out: read-only file system — choose another directory with -o on a writable disk"),
        (errno.ENOTDIR, "Error: /x/out: not a directory — remove or rename that file, or choose another path"),
        (errno.EACCES, "Error: /x/out: permission denied — fix its permissions, or choose another path"),
        (errno.EPERM, "Error: /x/out: operation not permitted — fix its permissions, or choose another path"),
        (errno.ENOENT, f"Error: /x/out: no such file or directory — check the path (if it vanished while zoobench "
         f"ran, {RERUN}: it resumes)"),
    ],
)  # fmt: skip
def test_each_os_error_a_user_can_fix_is_one_line(code: int, line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import zoobench.errors

    monkeypatch.setattr(zoobench.errors, "free_bytes", lambda _p: 0)

    @click.command()
    @friendly
    def verb() -> None:
        raise OSError(code, os.strerror(code), "/x/out")

    res = CliRunner().invoke(verb, [])
    assert res.exit_code == 1 and res.output.strip() == line
    assert "Traceback" not in res.output and BUG_LINE not in res.output


@pytest.mark.parametrize("exc", [OSError(errno.EIO, "Input/output error", "/x"), ValueError("bad state")])
def test_an_unexpected_error_is_a_bug_and_keeps_its_traceback(exc: Exception) -> None:
    @click.command()
    @friendly
    def verb() -> None:
        raise exc

    res = CliRunner().invoke(verb, [])
    assert res.exit_code == 1 and res.exception is exc  # re-raised: Python prints its traceback under the line
    assert res.output.strip() == BUG_LINE


# ---- prep ---------------------------------------------------------------------------------------------------


def test_prep_on_a_too_small_disk_fails_before_decoding_any_image(
    jpegs: Path, models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zoobench.data.cache as cache

    ref = tmp_path / "ref"
    assert cli_run("prep", "--data", jpegs, "--model", models["big"], "-o", ref, "--workers", "0")[0] == 0
    with tmpfs(tmp_path / "disk", "2m") as disk:
        real_pool = cache.DecodePool

        class NoDecoding:
            def __init__(self, *a: object, **k: object) -> None:
                raise AssertionError("an image was about to be decoded")

        monkeypatch.setattr(cache, "DecodePool", NoDecoding)
        args = ("prep", "--data", jpegs, "--model", models["big"], "-o", disk / "cache", "--workers", "0")
        code, line = cli_run(*args)
        need = 128 + N * 3 * 224 * 224 + cache.SMALL_FILES
        assert code == 1
        assert line == (
            f"Error: cache needs {need / 1e6:.1f} MB in {disk / 'cache'}, 2.1 MB free — free some space there or "
            f"choose another directory with -o, {RERUN}"
        )
        assert sorted(p.name for p in (disk / "cache").iterdir()) == []  # nothing half-written, no partial left
        remount(disk, "16m")  # the cause removed: the same command completes, byte-identical
        monkeypatch.setattr(cache, "DecodePool", real_pool)
        assert cli_run(*args)[0] == 0
        for name in ("images.npy", "meta.json"):
            assert (disk / "cache" / name).read_bytes() == (ref / name).read_bytes()


def test_prep_with_a_failing_reservation_is_the_same_line(
    jpegs: Path, models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no small disk can be mounted: posix_fallocate saying ENOSPC (the free-space check passed)."""
    import zoobench.io

    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zoobench.io.os, "posix_fallocate", no_space)
    out = tmp_path / "cache"
    code, line = cli_run("prep", "--data", jpegs, "--model", models["big"], "-o", out, "--workers", "0")
    assert code == 1
    assert re.fullmatch(rf"Error: cache needs 6\.0 MB in {re.escape(str(out))}, [\d.]+ MB free — .*{RERUN}", line)
    assert list(out.iterdir()) == []
    monkeypatch.undo()
    assert cli_run("prep", "--data", jpegs, "--model", models["big"], "-o", out, "--workers", "0")[0] == 0


def test_reserve_writes_the_blocks_where_the_filesystem_cannot_preallocate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zoobench.io

    def unsupported(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    f = tmp_path / "sparse"
    with open(f, "wb") as fh:
        fh.truncate(3 << 20)
    assert f.stat().st_blocks * 512 < 1 << 20  # sparse: a mapped write could meet a full disk
    monkeypatch.setattr(zoobench.io.os, "posix_fallocate", unsupported)
    zoobench.io.reserve(f, 3 << 20, "cache", "", fresh=True)
    assert f.stat().st_blocks * 512 >= 3 << 20 and f.stat().st_size == 3 << 20


# ---- infer --------------------------------------------------------------------------------------------------


def _infer(model: Path, data: Path, out: Path) -> tuple[int, str]:
    return cli_run("infer", model, "--data", data, "-o", out, "-b", "4", "--chunk", "8", "--workers", "0")


def test_infer_when_the_disk_fills_mid_run_then_resumes_byte_identical(
    jpegs: Path, models: dict[str, Path], tmp_path: Path
) -> None:
    ref = tmp_path / "ref"
    assert _infer(models["tiny"], jpegs, ref)[0] == 0
    with tmpfs(tmp_path / "disk", "1m") as disk:
        filler = fill(disk, leave=3 * 4096)  # room for the manifest and a couple of chunks
        out = disk / "out"
        code, line = _infer(models["tiny"], jpegs, out)
        assert code == 1
        assert re.fullmatch(
            rf"Error: {re.escape(str(out))}/\S+: no space left on the device \([\d.]+ MB free\) — free some space "
            rf"there or choose another directory with -o, {RERUN}: it resumes",
            line,
        ), line
        assert not (out / "predictions.csv").exists() and not (out / "summary.json").exists()
        assert not list(out.rglob(".*.tmp"))  # no temp file of a failed write left
        filler.unlink()
        assert _infer(models["tiny"], jpegs, out)[0] == 0
        assert (out / "predictions.csv").read_bytes() == (ref / "predictions.csv").read_bytes()


def test_infer_when_a_write_fails_for_space_mocked(
    jpegs: Path, models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no small disk can be mounted: the third atomic write's fsync says ENOSPC."""
    import zoobench.io

    ref, out = tmp_path / "ref", tmp_path / "out"
    assert _infer(models["tiny"], jpegs, ref)[0] == 0
    real, calls = os.fsync, [0]

    def fsync(fd: int) -> None:
        calls[0] += 1
        if calls[0] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(zoobench.io.os, "fsync", fsync)
    code, line = _infer(models["tiny"], jpegs, out)
    assert code == 1 and line.startswith(f"Error: {out}/.partial/chunk_000001.npz: no space left on the device (")
    assert not (out / "predictions.csv").exists()
    monkeypatch.undo()
    assert _infer(models["tiny"], jpegs, out)[0] == 0
    assert (out / "predictions.csv").read_bytes() == (ref / "predictions.csv").read_bytes()


def test_an_output_path_under_a_file_is_one_line_and_creates_nothing(
    jpegs: Path, models: dict[str, Path], tmp_path: Path
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("in the way")
    for verb in (
        ("infer", models["tiny"], "--data", jpegs, "-o", afile / "out"),
        ("prep", "--data", jpegs, "--model", models["tiny"], "-o", afile / "c"),
        ("run", models["tiny"], "--data", jpegs, "-o", afile / "r"),
    ):
        code, line = cli_run(*verb)
        assert code == 1 and line.startswith("Error: ") and "\n" not in line, line
        assert all(t in line for t in (str(verb[-1]), f"{afile} is a file")), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_read_only_mount_is_one_line(jpegs: Path, models: dict[str, Path], tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "1m", ro=True) as ro:
        for verb, out in (("infer", ro / "out"), ("prep", ro / "c")):
            args = ["--data", jpegs, "-o", out]
            code, line = cli_run(verb, *([models["tiny"], *args] if verb == "infer" else [*args, "-m", models["tiny"]]))
            assert code == 1
            assert line == f"Error: {out}: read-only file system — choose another directory with -o on a writable disk"


def test_a_read_only_directory_is_one_line(jpegs: Path, models: dict[str, Path], tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root, which ignores a directory's permissions (chmod does not bind)")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, line = cli_run("infer", models["tiny"], "--data", jpegs, "-o", ro / "out")
    finally:
        ro.chmod(0o755)
    assert code == 1
    assert line == f"Error: {ro / 'out'}: permission denied — fix its permissions, or choose another path"


# ---- run ----------------------------------------------------------------------------------------------------


def test_run_stops_at_a_full_disk_says_what_finished_and_resumes(
    jpegs: Path, models: dict[str, Path], tmp_path: Path
) -> None:
    import json

    quick = ("--data", jpegs, "-b", "1", "--seconds", "0.02", "--repeats", "1", "--min-iters", "1", "--warmup", "0")
    ref = tmp_path / "ref"
    assert cli_run("run", models["big"], *quick, "-o", ref)[0] == 0
    with tmpfs(tmp_path / "disk", "2m") as disk:
        rundir = disk / "run"
        args = ("run", models["tiny"], models["big"], models["tiny2"], *quick, "-o", rundir)
        code, line = cli_run(*args)
        assert code == 1
        assert re.fullmatch(
            rf"Error: cache needs 6\.1 MB in {re.escape(str(rundir / 'big' / 'cache'))}, [\d.]+ MB free — .*{RERUN}; "
            rf"run stopped — finished tiny\.onnx \(not-gated \(random weights\)\); error big\.onnx; "
            rf"not run: {re.escape(str(models['tiny2']))}",
            line.replace(str(models["tiny"]), "tiny.onnx").replace(str(models["big"]), "big.onnx"),
        ), line
        book = json.loads((rundir / "big" / "stages.json").read_text())
        assert book["status"] == "error" and book["stages"]["prep"]["status"] == "error"
        assert book["stages"]["prep"]["note"].startswith("cache needs 6.1 MB in ")
        assert not (rundir / "tiny2").exists() and not (rundir / "big" / "infer" / "predictions.csv").exists()
        remount(disk, "24m")
        assert cli_run(*args)[0] == 0
        book = json.loads((rundir / "big" / "stages.json").read_text())
        assert book["status"] != "error" and book["stages"]["prep"]["status"] == "done"
        assert json.loads((rundir / "tiny" / "stages.json").read_text())["actions"]["infer"] == "skipped"
        for name in ("cache/images.npy", "infer/predictions.csv"):
            assert (rundir / "big" / name).read_bytes() == (ref / "big" / name).read_bytes(), name


def test_two_infer_into_one_directory_at_once_both_finish_byte_identical(
    jpegs: Path, models: dict[str, Path], tmp_path: Path
) -> None:
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert _infer(models["tiny"], jpegs, ref)[0] == 0
    code = "import sys; from zoobench.cli import main; sys.argv = ['zoobench', *sys.argv[1:]]; main()"
    args = ["infer", str(models["tiny"]), "--data", str(jpegs), "-o", str(out), "-b", "4", "--chunk", "8"]
    procs = [subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE) for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read() if p.stderr else ""
    assert (out / "predictions.csv").read_bytes() == (ref / "predictions.csv").read_bytes()
    assert not list(out.rglob(".*.tmp"))


def test_prep_of_seed_bin_files_checks_their_space_first(
    jpegs: Path, models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--format bin`` writes one float32 file per image with plain writes: its space is checked up front too."""
    import zoobench.io

    monkeypatch.setattr(zoobench.io, "free_bytes", lambda _p: 2_000_000)
    out = tmp_path / "bins"
    args = ("prep", "--data", jpegs, "--model", models["big"], "-o", out, "--format", "bin", "--workers", "0")
    code, line = cli_run(*args)
    assert code == 1
    assert line == (
        f"Error: cache needs 24 MB in {out}, 2.0 MB free — free some space there or choose another directory "
        f"with -o, {RERUN}"
    )
    assert not list(out.glob("*.bin"))


def test_a_second_infer_into_a_busy_directory_waits_for_the_first(
    jpegs: Path, models: dict[str, Path], tmp_path: Path
) -> None:
    """The output directory is locked while an infer writes it: the second says so and waits, then completes."""
    from zoobench.io import dir_lock

    out = tmp_path / "out"
    out.mkdir()
    code = "import sys; from zoobench.cli import main; sys.argv = ['zoobench', *sys.argv[1:]]; main()"
    args = ["infer", str(models["tiny"]), "--data", str(jpegs), "-o", str(out), "-b", "4"]
    with dir_lock(out):
        p = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert p.stdout is not None
        seen = b""
        while b"waiting for another zoobench command" not in seen:
            line = p.stdout.readline()
            assert line, seen  # the child ended without waiting
            seen += line
        assert not (out / "predictions.csv").exists()  # it waits before it writes anything final
    assert p.wait(timeout=300) == 0
    assert (out / "predictions.csv").is_file()


def test_export_on_a_full_disk_is_the_one_line_with_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The exporter wraps the OS error in its own; zoobench finds it and gives the path and what to do."""
    import errno
    import types

    torch = pytest.importorskip("torch")
    from zoobench.errors import os_error_line
    from zoobench.export import _torch_export

    def full_disk(*_a: object, **_k: object) -> None:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("serialization failed") from exc

    monkeypatch.setattr(torch.onnx, "export", full_disk)
    spec = types.SimpleNamespace(name="m", input_name="image", output_name="class")
    pp = types.SimpleNamespace(input_size=(3, 8, 8))
    with pytest.raises(OSError) as info:
        _torch_export(torch.nn.Identity(), spec, tmp_path / "m.onnx.tmp", pp, 18, "torchscript")  # type: ignore[arg-type]
    line = os_error_line(info.value)
    assert info.value.errno == errno.ENOSPC and line is not None
    assert line.startswith(f"{tmp_path / 'm.onnx.tmp'}: no space left on the device (") and "free some space" in line
