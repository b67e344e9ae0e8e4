"""One voice: ``run`` with OpenVINO and ONNX Runtime int8 columns prints zoobench's lines only (no NNCF/tqdm
progress bar, no torch ``No CUDA runtime is found`` with CUDA_HOME set to an empty folder), and its last line after
a failed gate names the model with the gate's reason. The control: with ``ZOOBENCH_OTHER_TOOLS=show`` (silencing
off) the OpenVINO int8 compile inside that run, run alone, prints those lines, so the test can tell (silencing is
one switch for every verb; the control skips the run's other columns, perf and report)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

OTHERS = ("Statistics collection", "No CUDA runtime is found", "━━━")


def _trained_tiny(tmp: Path) -> Path:
    """The tiny test classifier, recorded as trained weights: its accuracy is gated (and fails)."""
    import onnx

    sys.path.insert(0, str(Path(__file__).parent / "data"))
    from datahelp import make_tiny_onnx

    path = make_tiny_onnx(tmp / "tiny.onnx")
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "zoobench.weights":
            prop.value = json.dumps({"random": False, "source": "a test's fixed weights"})
    onnx.save(model, str(path))
    return path


def _zoobench(args: list[str], out: Path, cuda_home: Path, show: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ZOOBENCH_OTHER_TOOLS", "TQDM_DISABLE")}
    env["CUDA_HOME"] = str(cuda_home)
    env["ZOOBENCH_CACHE"] = str(out) + ".store"  # each builds its engines: the control quantizes too
    if show:
        env["ZOOBENCH_OTHER_TOOLS"] = "show"
    return subprocess.run(
        [sys.executable, "-m", "zoobench", *args], capture_output=True, text=True, env=env, timeout=600
    )


def _run(model: Path, photos: tuple[Path, Path], out: Path, cuda_home: Path) -> subprocess.CompletedProcess[str]:
    folder, labels = photos
    args = ["run", str(model), "--data", str(folder), "--labels", str(labels), "--runtimes", "onnxruntime,openvino",
            "--precisions", "fp32,int8", "-b", "1", "--seconds", "0.02", "--min-iters", "2", "--warmup", "0",
            "--infer-batch-size", "2", "--reference", "99", "-o", str(out)]  # fmt: skip
    return _zoobench(args, out, cuda_home, show=False)


def test_run_speaks_with_one_voice_and_its_last_line_says_why(tmp_path: Path, photos: tuple[Path, Path]) -> None:
    for name in ("torch", "nncf", "openvino", "onnx"):
        pytest.importorskip(name)
    model, cuda_home = _trained_tiny(tmp_path), tmp_path / "cuda-home-empty"
    cuda_home.mkdir()
    quiet = _run(model, photos, tmp_path / "quiet", cuda_home)
    text = quiet.stdout + quiet.stderr
    assert quiet.returncode == 1, text[-3000:]
    assert "score:openvino-int8" in text and "perf:onnxruntime-int8" in text  # the int8 columns ran
    assert [o for o in OTHERS if o in text] == [], text[-3000:]
    last = quiet.stderr.strip().splitlines()[-1]
    from zoobench.models.registry import slug

    acc = json.loads((tmp_path / "quiet" / slug(str(model)) / "infer" / "accuracy.json").read_text())
    assert acc["gate"] == "fail" and last == f"Error: not every model passed: {model} (failed) — {acc['gate_reason']}"

    out = tmp_path / "shown.xml"  # the control, silencing off: the run's OpenVINO int8 compile on its own
    args = ["compile", str(model), "-r", "openvino", "-p", "int8", "--calibration", str(photos[0]), "-o", str(out)]
    shown = _zoobench(args, tmp_path / "shown", cuda_home, show=True)
    assert shown.returncode == 0, (shown.stdout + shown.stderr)[-3000:]
    text = shown.stdout + shown.stderr
    assert "Statistics collection" in text and "No CUDA runtime is found" in text, text[-3000:]
