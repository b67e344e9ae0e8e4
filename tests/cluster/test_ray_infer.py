"""``infer --ray local``: the same files as a local run, byte for byte; faults and bad addresses are one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from raynodes import kill_session

from zoobench.cli import cli
from zoobench.cluster.pipeline import ray_backend
from zoobench.data.cache import prep_cache
from zoobench.errors import ClusterError
from zoobench.infer.loop import RunIO
from zoobench.infer.settings import InferSettings
from zoobench.infer.stage import do_infer

BYTE_IDENTICAL = ("predictions.csv", "result.json", "skipped.csv", "accuracy.json")


def _same_files(a: Path, b: Path) -> None:
    for name in BYTE_IDENTICAL:
        fa, fb = a / name, b / name
        assert fa.is_file() == fb.is_file(), name
        if fa.is_file():
            assert fa.read_bytes() == fb.read_bytes(), name


def test_ray_local_writes_what_a_local_run_writes(
    ray_local: object, tiny: Path, val: tuple[Path, Path], tmp_path: Path
) -> None:
    data, labels = val
    kw = {"labels": str(labels), "batch_size": 4, "chunk": 16, "quiet": True}
    local = do_infer(str(tiny), str(data), outdir=str(tmp_path / "local"), **kw)
    ray = do_infer(str(tiny), str(data), outdir=str(tmp_path / "ray"), ray="local", backend=ray_backend, **kw)
    _same_files(tmp_path / "local", tmp_path / "ray")
    assert (tmp_path / "ray" / "predictions.csv").read_text().count("\n") == 75  # header + 74 decoded
    facts = ray["ray"]
    assert facts["images_checked"] == 75 and facts["duplicates_dropped"] == 0
    assert sum(facts["nodes"].values()) == ray["images_inferred"] == local["images_inferred"] == 74
    assert facts["actors"] >= 1 and facts["plan"]["cluster_cpus"] >= 1
    assert ray["skipped"] == 1 and ray["skipped_reasons"] == local["skipped_reasons"]
    assert "ray" not in local


def test_the_jobs_ray_workers_run_at_the_drivers_niceness(ray_local: Any) -> None:
    """Ray starts workers at nice 15; zoobench's run at 0, or a busy machine starves its actors (~10x slower)."""
    if os.nice(0) != 0:
        pytest.skip("this test process itself runs niced")

    @ray_local.remote
    def task_nice() -> int:
        return os.nice(0)

    @ray_local.remote
    class Actor:
        def nice(self) -> int:
            return os.nice(0)

    assert ray_local.get(task_nice.remote()) == 0
    assert ray_local.get(Actor.remote().nice.remote()) == 0  # type: ignore[attr-defined]


def test_ray_local_from_a_cache_with_two_actors(
    ray_local: object, tiny: Path, val: tuple[Path, Path], tmp_path: Path
) -> None:
    from zoobench.artifact import load_engine

    data, labels = val
    cache = tmp_path / "cache"
    prep_cache(data, load_engine(str(tiny)).preprocess, cache, workers=0)
    kw = {"labels": str(labels), "batch_size": 8, "chunk": 16, "quiet": True}
    do_infer(str(tiny), str(cache), outdir=str(tmp_path / "local"), **kw)
    s = do_infer(
        str(tiny),
        str(cache),
        outdir=str(tmp_path / "ray"),
        ray="local",
        backend=ray_backend,
        actors=2,
        cpus_per_actor=0.5,
        **kw,
    )
    _same_files(tmp_path / "local", tmp_path / "ray")
    assert s["data_kind"] == "cache" and s["ray"]["plan"]["actors"] == 2


def test_ray_fast_run_writes_what_a_local_fast_run_writes(
    ray_local: object, tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--decoder fast`` on Ray actors: the same predictions and the same fallback count as on this machine (a
    grayscale JPEG falls back to the reference decoder)."""
    pytest.importorskip("skimage")
    monkeypatch.setenv("ZOOBENCH_FAST_MIN_IMAGES", "0")  # the fast pool for 12 images (the small-set rule: its test)
    from datahelp import write_jpegs
    from PIL import Image

    data = tmp_path / "val"
    files = write_jpegs(data, 12)
    Image.open(files[0]).convert("L").save(data / "ILSVRC2012_val_00000013.JPEG", "JPEG", quality=90)
    kw = {"batch_size": 4, "chunk": 8, "quiet": True, "decoder": "fast"}
    local = do_infer(str(tiny), str(data), outdir=str(tmp_path / "local"), **kw)  # type: ignore[arg-type]
    ray = do_infer(str(tiny), str(data), outdir=str(tmp_path / "ray"), ray="local", backend=ray_backend, **kw)  # type: ignore[arg-type]
    assert (tmp_path / "local" / "predictions.csv").read_bytes() == (tmp_path / "ray" / "predictions.csv").read_bytes()
    assert (
        local["decoder"]
        == ray["decoder"]
        == {"name": "fast", "fallbacks": {"grayscale JPEG": 1}, "counted": "this run"}
    )


def test_a_killed_ray_driver_resumes(ray_local: Any, tiny: Path, val: tuple[Path, Path], tmp_path: Path) -> None:
    """A driver killed with -9 mid-run, then run again: the chunks it saved are kept, the rest is inferred, and the
    files equal a local run's. Both drivers join the session's Ray instance (a driver of the cluster, killed)."""
    data, labels = val
    out = tmp_path / "run"
    address = ray_local.get_runtime_context().gcs_address
    args = ["infer", str(tiny), "--data", str(data), "--labels", str(labels), "-o", str(out), "-b", "4", "--chunk", "8",
            "--ray", address]  # fmt: skip
    code = (
        "import os, signal; import zoobench.infer.chunks as m; f = m._save_chunk; calls = [0]\n"
        "def wrapped(*a, **k):\n"
        "    f(*a, **k); calls[0] += 1\n"
        "    if calls[0] == 3: os.kill(os.getpid(), signal.SIGKILL)\n"
        "m._save_chunk = wrapped\n"
        "import sys; from zoobench.cli import main; sys.argv = ['zoobench', *sys.argv[1:]]; main()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE, start_new_session=True)
    _, err = proc.communicate(timeout=300)
    assert kill_session(proc.pid) == []  # nothing of the driver's own is left
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    saved = sorted((out / ".partial").glob("chunk_*.npz"))
    assert len(saved) == 3 and not (out / "predictions.csv").exists()
    # which three chunks finished first depends on timing; each holds 8 images, inferred or skipped, in any order
    with_results = 0
    for f in saved:
        with np.load(f) as z:
            with_results += len(z["names"]) + len(z["skipped"])
    assert with_results == 3 * 8
    again = subprocess.run([sys.executable, "-m", "zoobench", *args], capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    assert "resumed 24 of 75 images from an interrupted run" in again.stderr.decode()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stages"]["resumed_images"] == 24 and summary["ray"]["images_checked"] == 75
    do_infer(str(tiny), str(data), labels=str(labels), outdir=str(tmp_path / "ref"), batch_size=4, chunk=8, quiet=True)
    _same_files(out, tmp_path / "ref")


def test_unreachable_cluster_is_one_line(tiny: Path, val: tuple[Path, Path], tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["infer", str(tiny), "--data", str(val[0]), "-o", str(tmp_path), "--ray", "127.0.0.1:9"]
    )
    assert r.exit_code == 1
    assert r.output.strip().count("\n") == 0 and "cannot reach" in r.output and "127.0.0.1:9" in r.output
    assert "Traceback" not in r.output
    bad = CliRunner().invoke(cli, ["infer", str(tiny), "--data", str(val[0]), "-o", str(tmp_path), "--ray", "nohost"])
    assert bad.exit_code == 1 and "expected 'local', 'auto' or HOST:PORT" in bad.output


def test_auto_without_a_cluster_is_one_line(
    tiny: Path, val: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # other Ray clusters may run on this machine: `auto` must not see them (their address files, their processes)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "no-ray-here"))
    monkeypatch.setattr("ray._private.services.find_gcs_addresses", lambda: [])
    r = CliRunner().invoke(cli, ["infer", str(tiny), "--data", str(val[0]), "-o", str(tmp_path), "--ray", "auto"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "--ray auto" in r.output and "no running Ray cluster" in r.output
    assert not (tmp_path / "summary.json").exists()


def test_a_node_without_the_data_fails_the_run_in_one_line(ray_local: object, tiny: Path, tmp_path: Path) -> None:
    """The images must be at the same path on every node: a node that lacks them is an error, not 20 skips."""
    import shutil

    from datahelp import write_jpegs

    from zoobench.artifact import load_engine
    from zoobench.cluster.pipeline import run_ray
    from zoobench.errors import DataError
    from zoobench.infer.source import resolve_input

    data = tmp_path / "val"
    write_jpegs(data, 20)
    listed = resolve_input(data, None)  # the driver lists them; then the "node" does not have them
    shutil.rmtree(data)
    with pytest.raises(DataError, match=r"val is not there on node .*same path"):
        run_ray(
            load_engine(str(tiny)), data, InferSettings(batch_size=4), source=listed, io=RunIO(tmp_path / "partial")
        )


def test_an_actor_that_cannot_load_the_engine_is_one_line_with_the_cause(
    ray_local: object, tiny: Path, val: tuple[Path, Path], tmp_path: Path
) -> None:
    from zoobench.artifact import load_engine
    from zoobench.cluster.pipeline import run_ray

    copy = tmp_path / "tiny.onnx"
    copy.write_bytes(tiny.read_bytes())
    engine = load_engine(str(copy))
    copy.write_bytes(b"not a model" * 50)  # what the actors receive
    with pytest.raises(ClusterError, match=r"Ray job failed.*InvalidProtobuf"):
        run_ray(engine, val[0], InferSettings(batch_size=4))


def test_without_ray_installed_it_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoobench.cluster.connect import connect

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ClusterError, match=r"pip install 'zoobench\[ray\]'"), connect("local"):
        pass


def test_dump_is_refused_with_ray(tiny: Path, val: tuple[Path, Path], tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["infer", str(tiny), "--data", str(val[0]), "-o", str(tmp_path), "--ray", "local", "--dump", "txt"]
    )
    assert r.exit_code == 1 and "not available with --ray" in r.output


def test_no_ray_process_outlives_the_local_instance() -> None:
    """``--ray local`` stops what it started (checked by the processes' parent: this test's child)."""
    code = (
        "from zoobench.cluster.connect import connect\n"
        "with connect('local') as ray: print(ray.get_runtime_context().get_node_id())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ)
    assert out.returncode == 0, out.stderr[-2000:]
    node = out.stdout.strip().splitlines()[-1]
    for _ in range(100):  # a process told to stop may take a moment to go: wait for it, then fail
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        if node not in ps:
            break
        time.sleep(0.1)
    assert node not in ps
