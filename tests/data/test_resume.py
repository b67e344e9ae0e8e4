"""Nothing lost: prep and infer killed with SIGKILL mid-run resume, and end byte-identical to a clean run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
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


def _cli(*args: str, kill_after: tuple[str, str, int] | None = None) -> subprocess.Popen[bytes]:
    """``zoobench ARGS`` in a child process. ``kill_after=(module, function, n)``: the child SIGKILLs itself right
    after the n-th call of that function returns (a real kill -9 mid-run, at a point that does not depend on
    the machine's speed)."""
    code = "import sys; from zoobench.cli import main; sys.argv = ['zoobench', *sys.argv[1:]]; main()"
    if kill_after:
        module, function, n = kill_after
        code = (
            f"import os, signal, importlib; m = importlib.import_module({module!r}); f = m.{function}; calls = [0]\n"
            "def wrapped(*a, **k):\n"
            "    out = f(*a, **k); calls[0] += 1\n"
            f"    if calls[0] == {n}: os.kill(os.getpid(), signal.SIGKILL)\n"
            "    return out\n"
            f"m.{function} = wrapped\n" + code
        )
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy()
    )


def _killed(proc: subprocess.Popen[bytes]) -> None:
    rc = proc.wait(timeout=300)
    assert rc == -signal.SIGKILL, (
        f"the run was not killed mid-run (rc {rc}): {proc.stderr.read() if proc.stderr else ''}"
    )


def _done_chunks(progress: Path) -> int:
    try:
        return len(json.loads(progress.read_text())["done"])
    except (OSError, ValueError):
        return 0


def test_prep_killed_then_rerun_is_byte_identical(big_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "cache"
    args = ["prep", "--data", str(big_folder), "--model", "mnasnet1_0", "-o", str(out), "--workers", "0"]
    _killed(_cli(*args, "--chunk", "16", kill_after=("zoobench.data.cache", "_write_progress", 2)))
    assert not (out / "meta.json").exists() and not (out / "images.npy").exists()
    done_before = _done_chunks(out / "progress.json")
    assert done_before == 2
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
    _killed(_cli(*args, "--workers", "0", "--dump", "txt", kill_after=("zoobench.infer.chunks", "_save_chunk", 2)))
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


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    """60 small JPEGs + one broken file (61 listed images)."""
    pytest.importorskip("skimage")
    d = tmp_path / "small"
    write_jpegs(d, 60)
    (d / "broken.JPEG").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return d


def test_default_chunk_is_5_percent_at_most_64_images_or_4_batches_never_under_a_batch() -> None:
    from zoobench.infer.chunks import default_chunk

    assert default_chunk(300, 16) == 16  # 5% = 15 images: one batch
    assert default_chunk(2000, 16) == 64 and default_chunk(50_000, 16) == 64  # a few seconds of work on a CPU
    assert default_chunk(50_000, 64) == 256 and default_chunk(3000, 64) == 128  # GPU batches: 4 at most
    assert default_chunk(50_000, 1) == 64 and default_chunk(1000, 1) == 50 and default_chunk(10, 4) == 4
    assert all(default_chunk(n, b) % b == 0 for n in (1, 99, 1234, 10**6) for b in (1, 3, 16, 64))


def test_a_default_run_killed_mid_way_resumes_and_says_so(small_folder: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    """Without --chunk, a run of 61 images killed after 3 chunks resumes them (--chunk was 512: nothing)."""
    out = tmp_path / "run"
    args = ["infer", str(tiny_onnx), "--data", str(small_folder), "-o", str(out), "-b", "4", "--workers", "0"]
    _killed(_cli(*args, kill_after=("zoobench.infer.chunks", "_save_chunk", 3)))
    again = subprocess.run([sys.executable, "-m", "zoobench", *args], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed 12 of 61 images from an interrupted run" in again.stderr  # chunks of one batch (5% of 61 < 4)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stages"]["resumed_images"] == 12 and summary["images_inferred"] == 60
    ref = tmp_path / "ref"
    do_infer(str(tiny_onnx), str(small_folder), outdir=str(ref), batch_size=4, quiet=True)
    assert (out / "predictions.csv").read_bytes() == (ref / "predictions.csv").read_bytes()


def test_a_jpeg_replaced_under_the_same_name_is_inferred_again(
    small_folder: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    """After a real kill -9, a JPEG replaced in place redoes only its own chunk, and the rerun says so."""
    from PIL import Image

    out = tmp_path / "run"
    args = ["infer", str(tiny_onnx), "--data", str(small_folder), "-o", str(out), "-b", "4", "--chunk", "8"]
    _killed(_cli(*args, "--workers", "0", kill_after=("zoobench.infer.chunks", "_save_chunk", 2)))
    first = small_folder / "ILSVRC2012_val_00000001.JPEG"  # in chunk 0, which the killed run saved
    Image.new("RGB", (64, 48), (250, 20, 20)).save(first, quality=90)
    again = subprocess.run([sys.executable, "-m", "zoobench", *args], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed 8 of 61 images from an interrupted run; 1 replaced since the interrupted run" in again.stderr
    ref = tmp_path / "ref"
    do_infer(str(tiny_onnx), str(small_folder), outdir=str(ref), batch_size=4, chunk=8, quiet=True)
    assert (out / "predictions.csv").read_bytes() == (ref / "predictions.csv").read_bytes()


def test_the_run_key_and_the_cache_key_see_an_mtime(small_folder: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    """Same names, same sizes, a new mtime: neither that image's infer chunk nor a finished prep cache is reused."""
    from zoobench.artifact import load_engine
    from zoobench.infer.chunks import image_marks
    from zoobench.infer.source import resolve_input
    from zoobench.run.ledger import listing_hash

    engine = load_engine(str(tiny_onnx))
    marks, listing = image_marks(resolve_input(small_folder)), listing_hash(small_folder)
    assert prep_cache(small_folder, engine.preprocess, tmp_path / "c", workers=0)["status"] == "built"
    assert prep_cache(small_folder, engine.preprocess, tmp_path / "c", workers=0)["status"] == "reused"
    img = small_folder / "ILSVRC2012_val_00000007.JPEG"
    st = img.stat()
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    changed = [a != b for a, b in zip(image_marks(resolve_input(small_folder)), marks)]
    assert changed.count(True) == 1 and changed.index(True) == 6  # that image's chunk alone is inferred again
    assert listing_hash(small_folder) != listing
    assert prep_cache(small_folder, engine.preprocess, tmp_path / "c", workers=0)["status"] == "built"
