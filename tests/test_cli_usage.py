"""Exit codes and messages as docs/errors.md says: usage errors exit 2 and create nothing; bad inputs are one line
and leave no output directory; a missing optional package names its pip extra; infer's gate; skip reasons."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.runtimes import RUNTIMES


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def _error_lines(out: str) -> list[str]:
    assert "Traceback" not in out
    return [ln for ln in out.splitlines() if ln.startswith("Error:")]


@pytest.fixture
def images(tmp_path: Path) -> Path:
    import numpy as np
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.full((40, 50, 3), 120, np.uint8)).save(folder / "a.JPEG")
    return folder


def test_an_unknown_runtime_is_a_usage_error_that_creates_nothing(tmp_path: Path, images: Path) -> None:
    out = tmp_path / "foo1"
    code, said = _run("infer", "mnasnet1_0", "-w", "random", "--data", str(images), "--runtime", "foo", "-o", str(out))
    assert code == 2 and "'foo' is not one of" in said and not out.exists()
    code, said = _run("perf", "mnasnet1_0", "-w", "random", "--runtime", "foo", "-o", str(out))
    assert code == 2 and not out.exists()
    code, said = _run("infer", "--help")
    assert code == 0
    choices = said[said.index("--runtime") :].split("]")[0]
    assert all(name in choices for name in RUNTIMES), choices  # read from the registry
    engine = tmp_path / "e.onnx"
    engine.write_bytes(b"not read: the option fails first")
    code, said = _run("tune", str(engine), "--runtime", "foo")
    assert code == 2 and "'foo' is not one of" in said


def test_a_runtime_registered_after_import_is_a_valid_choice() -> None:
    """The choices are the registry's when the option is parsed, not when the CLI module was imported."""
    from zoobench.cli.options import runtime_choice
    from zoobench.runtimes.base import RuntimeSpec

    choice = runtime_choice()
    assert "latecomer" not in choice.choices
    RUNTIMES["latecomer"] = RuntimeSpec("latecomer", "zoobench.runtimes.onnxruntime", "numpy", "pip install numpy")
    try:
        assert "latecomer" in choice.choices and choice.convert("latecomer", None, None) == "latecomer"
    finally:
        RUNTIMES.pop("latecomer")


def test_a_bogus_preprocessing_variant_is_one_line_and_exit_2(tmp_path: Path, images: Path) -> None:
    for verb in (
        ["infer", "mnasnet1_0", "-w", "random", "--data", str(images), "-o", str(tmp_path / "o")],
        ["export", "mnasnet1_0", "-w", "random", "-o", str(tmp_path / "o" / "m.onnx")],
        ["run", "mnasnet1_0", "-w", "random", "--data", str(images), "-o", str(tmp_path / "o")],
        ["prep", "--model", "mnasnet1_0", "--data", str(images), "-o", str(tmp_path / "o")],
    ):
        code, said = _run(*verb, "--preprocess", "bogus")
        assert code == 2, (verb, said)
        assert _error_lines(said) == [
            "Error: --preprocess: mnasnet1_0 has no preprocessing variant 'bogus' (known: default)"
        ]
        assert not (tmp_path / "o").exists()


def test_a_variant_asked_of_a_model_file_is_one_line_not_ignored(
    tmp_path: Path, images: Path, lite0_onnx: Path
) -> None:
    """A model file records its own preprocessing: --preprocess with one is refused (it was silently ignored)."""
    for verb in (
        ["infer", str(lite0_onnx), "--data", str(images), "-o", str(tmp_path / "o")],
        ["prep", "--model", str(lite0_onnx), "--data", str(images), "-o", str(tmp_path / "o")],
    ):
        code, said = _run(*verb, "--preprocess", "squash")
        assert code == 2, (verb, said)
        assert _error_lines(said) == [
            f"Error: --preprocess applies to a model name; {lite0_onnx} records its own preprocessing "
            "(export the model with --preprocess squash instead)"
        ]
        assert not (tmp_path / "o").exists()
    code, said = _run("prep", "--model", str(lite0_onnx), "--data", str(images), "-o", str(tmp_path / "c"))
    assert code == 0, said  # without it, the file's own preprocessing


def test_bad_weights_or_an_unknown_model_leave_no_output_directory(tmp_path: Path, images: Path) -> None:
    torch = pytest.importorskip("torch")
    from zoobench.models import get_spec

    good = tmp_path / "mnas.pth"
    torch.save(get_spec("mnasnet1_0").builder().state_dict(), good)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    other = tmp_path / "other.pth"
    torch.save({"conv1.weight": torch.zeros(2, 3, 1, 1)}, other)
    cases = [("mnasnet1_0", truncated, "cannot be read"), ("mnasnet1_0", other, "do not fit"), ("nope", None, "")]
    for model, weights, why in cases:
        out = tmp_path / "out"
        w = ["-w", str(weights)] if weights else []
        code, said = _run("infer", model, *w, "--data", str(images), "-o", str(out))
        (line,) = _error_lines(said)
        assert code == 1 and why in line and not out.exists(), said


def test_missing_torch_names_the_pip_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ModuleNotFoundError
    for verb in (["export", "mnasnet1_0", "-w", "random", "-o", str(tmp_path / "m.onnx")], ["run", "mnasnet1_0"]):
        code, said = _run(*verb)
        assert code == 1 and _error_lines(said) == [
            "Error: torch is not installed; this needs the torch extra: pip install 'zoobench[torch]'"
        ], said
    assert not (tmp_path / "m.onnx").exists()


def test_infer_gate_exits_1_on_a_conclusive_failure_and_says_it_once(
    tmp_path: Path, photos: tuple[Path, Path], lite0_onnx: Path
) -> None:
    folder, labels = photos
    wrong = tmp_path / "wrong.txt"  # every photo labelled with a class it is not: top-1 0% on 4 images
    wrong.write_text("".join(f"{ln.split()[0]} 999\n" for ln in labels.read_text().splitlines() if ln.strip()))
    args = ["infer", str(lite0_onnx), "--data", str(folder), "--labels", str(wrong), "-b", "2", "-j", "0"]
    code, said = _run(*args, "-o", str(tmp_path / "a"))
    assert code == 0 and "gate: FAIL — " in said  # scored and reported; --gate makes it an exit code
    code, said = _run(*args, "-o", str(tmp_path / "b"), "--gate")
    assert code == 1 and said.count("FAIL") == 1 and not _error_lines(said), said
    code, said = _run(*args, "-o", str(tmp_path / "c"), "--gate", "--json")
    assert code == 1 and _error_lines(said)[0].startswith("Error: accuracy gate failed: top-1 0.00 is")


def test_a_skip_reason_names_the_file_not_a_buffer(tmp_path: Path) -> None:
    from zoobench.data.decode import decode_one
    from zoobench.models import Preprocess

    bad = tmp_path / "bad.JPEG"
    bad.write_text("hello world")
    chw, reason, _, _ = decode_one(bad, Preprocess())
    assert chw is None
    assert reason == "image bad.JPEG: cannot decode (not an image format PIL can read; it starts with b'hello wo')"
