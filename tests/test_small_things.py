"""Smaller things a user expects: `runtimes` gives each install hint once; an int8 engine that hardly agrees with
fp32, or any engine of a random-weights model, says what its agreement means."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoobench.runtimes import RUNTIMES, RuntimeSpec, runtime_status


def test_runtimes_gives_the_install_hint_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoobench.cli.runtimes import _install_or_reason

    monkeypatch.setitem(RUNTIMES, "fake", RuntimeSpec("fake", "zb_no_such_module", "zb_no_such_pkg", "pip install zbx"))
    rows = {r["runtime"]: r for r in runtime_status()}
    cell = _install_or_reason(rows["fake"])
    assert cell.count("pip install zbx") == 1 and "zb_no_such_pkg is not installed" in cell
    assert _install_or_reason({"available": False, "install": "pip install zbx"}) == "install: pip install zbx"


def test_low_int8_agreement_is_explained() -> None:
    from zoobench.compile import low_agreement_note

    assert low_agreement_note(87.5, False, "images") is None
    assert "random weights" in (low_agreement_note(0.0, True, "images") or "")
    assert "80% means nothing here" in (low_agreement_note(80.0, True, "images") or "")  # random: any figure
    assert "says nothing about this precision on trained weights" in (low_agreement_note(0.0, True, "images") or "")
    assert "--calibration DIR" in (low_agreement_note(20.0, False, "random") or "")
    assert "check the calibration images" in (low_agreement_note(20.0, False, "images") or "")


def test_compile_says_it_when_int8_hardly_agrees(
    cnn_onnx: str, tmp_path: Path, photos: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import zoobench.evaluate.metrics as metrics
    from zoobench.compile import compile_engine

    real = metrics.agreement
    monkeypatch.setattr(metrics, "agreement", lambda a, b: {**real(a, b), "top1_agreement_pct": 0.0})
    said: list[str] = []
    eng = compile_engine(
        cnn_onnx, runtime="onnxruntime", precision="int8", calibration=str(photos[0]),
        output=str(tmp_path / "q.onnx"), log=said.append,
    )  # fmt: skip
    lines = [s for s in said if "top-1 agreement 0% means nothing here" in s]
    assert len(lines) == 1 and "random weights" in lines[0], said
    assert "random weights" in eng.metadata["agreement"]["warning"]
