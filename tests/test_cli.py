"""CLI, in-process with click's CliRunner: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.cli import cli


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


def test_models_json_lists_the_seeds_with_reference_top1() -> None:
    code, out = _run("models", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    tops = [
        rows[n]["reference"]["top1"]
        for n in ("wide_resnet50_2", "mnasnet1_0", "xception", "dino_resnet50", "resnest50")
    ]
    assert tops == [78.468, 73.456, 78.892, 75.3, 81.03]
    assert rows["mnasnet1_0"]["weights_found"] == "missing"
    assert rows["resnest50"]["input"]["name"] == "actual_input_1"


def test_models_table_and_help() -> None:
    code, out = _run("models")
    assert code == 0 and "wide_resnet50_2" in out
    code, out = _run("--help")
    assert code == 0 and "export" in out and "perf" in out


def test_user_errors_are_one_line_not_tracebacks(tmp_path: Path) -> None:
    code, out = _run("export", "mnasnet1_0", "-o", str(tmp_path / "m.onnx"))
    assert code == 1 and "mnasnet1.0_top1_73.512-f206786ef8.pth" in out and "Traceback" not in out
    code, out = _run("export", "no_such_model")
    assert code == 1 and "unknown model" in out
    code, out = _run("perf", "missing.onnx")
    assert code == 1 and "no such file" in out


def test_export_infer_eval_perf(tmp_path: Path, photos: tuple[Path, Path]) -> None:
    pytest.importorskip("torch")
    folder, labels = photos
    onnx_path = tmp_path / "m.onnx"
    code, out = _run("export", "mnasnet1_0", "--weights", "random", "-o", str(onnx_path), "--json")
    assert code == 0, out
    res = json.loads(out)
    assert res["parity"]["passed"] and res["weights"]["random"]
    code, out = _run("infer", str(onnx_path), "--data", str(folder), "-o", str(tmp_path / "run"), "-b", "2")
    assert code == 0, out
    assert "[e2e] throughputRate" in out and "RANDOM INIT" in out
    code, out = _run("eval", str(tmp_path / "run"), "--labels", str(labels), "--gate")
    assert code == 0 and "not decided: random weights: not gated" in out  # never PASS/FAIL on random weights
    assert "PASS" not in out and "FAIL" not in out
    code, out = _run("eval", str(tmp_path / "run"), "--labels", str(labels), "--gate", "strict")
    assert code == 1 and "random weights: not gated" in out
    acc = json.loads((tmp_path / "run" / "accuracy.json").read_text())
    assert acc["random_weights"] and acc["gate"] is None and acc["passed"] is None and acc["count"] == 4
    code, out = _run(
        "perf",
        str(onnx_path),
        "-b",
        "1,2",
        "--seconds",
        "0.05",
        "--min-iters",
        "2",
        "-o",
        str(tmp_path / "perf"),
        "--json",
    )
    assert code == 0, out
    perf = json.loads(out)
    assert [r["batch_size"] for r in perf["results"]] == [1, 2]
    assert perf["results"][0]["latency"]["count"] >= 2 and perf["environment"]["cpu"]
    assert (tmp_path / "perf" / "perf.json").is_file()


def test_bad_label_file_names_the_line(tmp_path: Path, photos: tuple[Path, Path], lite0_onnx: Path) -> None:
    folder, _ = photos
    bad = tmp_path / "labels.txt"
    bad.write_text("coffee.JPEG 967\ncamera.JPEG tripod\n")
    code, out = _run("infer", str(lite0_onnx), "--data", str(folder), "--labels", str(bad), "-o", str(tmp_path / "o"))
    assert code == 1 and "line 2" in out


def test_infer_with_labels_on_real_weights_scores_and_cannot_decide_the_gate(
    tmp_path: Path, photos: tuple[Path, Path], lite0_onnx: Path
) -> None:
    folder, labels = photos
    out_dir = tmp_path / "o"
    code, out = _run(
        "infer", str(lite0_onnx), "--data", str(folder), "--labels", str(labels), "-o", str(out_dir), "--json"
    )
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["accuracy"]["top5"] == 100.0
    assert json.loads((out_dir / "result.json").read_text())["value"][0]["value"] == "4"
    # four photos cannot decide a 1-point gate: never PASS, never FAIL, and it says how many images would
    acc = json.loads((out_dir / "accuracy.json").read_text())
    assert acc["gate"] == "inconclusive" and acc["passed"] is None and acc["images_needed"] > 1000


def test_every_command_help_has_an_example() -> None:
    for name in cli.commands:
        code, out = _run(name, "--help")
        assert code == 0 and "Example" in out, f"`zoobench {name} --help` has no example"
