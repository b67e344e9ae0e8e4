"""Nothing lost: prep and infer killed with SIGKILL mid-run resume, and end byte-identical to a clean run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from datahelp import write_jpegs

from zoobench.data.cache import prep_cache
from zoobench.infer.stage import do_infer

N = 240


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("skimage")
    d = tmp_path_factory.mktemp("resume") / "val"
    write_jpegs(d, N, size=(500, 375))
    (d / "broken.JPEG").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return d


def _cli(*args: str) -> subprocess.Popen[bytes]:
    code = "import sys; from zoobench.cli import main; sys.argv = ['zoobench', *sys.argv[1:]]; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy()
    )


def _kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 120) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            pytest.skip(f"the run ended (rc {proc.returncode}) before it could be killed mid-run")
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.005)
    proc.kill()
    pytest.fail("the run never reached the point to kill it")


def _done_chunks(progress: Path) -> int:
    try:
        return len(json.loads(progress.read_text())["done"])
    except (OSError, ValueError):
        return 0


def test_prep_killed_then_rerun_is_byte_identical(big_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "cache"
    args = ["prep", "--data", str(big_folder), "--model", "mnasnet1_0", "-o", str(out), "--workers", "0"]
    proc = _cli(*args, "--chunk", "16")
    _kill_when(proc, lambda: _done_chunks(out / "progress.json") >= 2)
    assert not (out / "meta.json").exists() and not (out / "images.npy").exists()
    done_before = _done_chunks(out / "progress.json")
    assert 2 <= done_before < N // 16 + 1
    proc = _cli(*args, "--chunk", "16")
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    from zoobench.models import get_spec

    ref = tmp_path / "ref"
    meta = prep_cache(big_folder, get_spec("mnasnet1_0").preprocess, ref, workers=2, chunk=16)
    assert meta["status"] == "built" and len(meta["skipped"]) == 1
    for name in ("images.npy", "meta.json", "skipped.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    assert not (out / "progress.json").exists()


def test_infer_killed_then_rerun_is_byte_identical(big_folder: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["infer", str(tiny_onnx), "--data", str(big_folder), "-o", str(out), "-b", "4", "--chunk", "16"]
    proc = _cli(*args, "--workers", "0", "--dump", "txt")
    _kill_when(proc, lambda: len(list((out / ".partial").glob("chunk_*.npz"))) >= 2)
    assert not (out / "predictions.csv").exists() and not (out / "summary.json").exists()
    proc = _cli(*args, "--workers", "2", "--dump", "txt")
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stages"]["resumed_images"] >= 32
    assert summary["images_inferred"] == N and summary["skipped"] == 1
    assert not (out / ".partial").exists()
    ref = tmp_path / "ref"
    do_infer(str(tiny_onnx), str(big_folder), outdir=str(ref), batch_size=4, chunk=16, quiet=True, dump="txt")
    for name in ("predictions.csv", "skipped.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    dumps = sorted(p.name for p in (out / "outputs").iterdir())
    assert len(dumps) == N and dumps == sorted(p.name for p in (ref / "outputs").iterdir())
    for name in dumps[::37]:
        assert (out / "outputs" / name).read_bytes() == (ref / "outputs" / name).read_bytes()
