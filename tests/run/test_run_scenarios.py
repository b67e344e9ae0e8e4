"""``run --scenarios``: a loadgen stage per column after its perf stage, hinted by the column's perf figures,
over the run's prep cache and engines; the report's Scenarios table; the ledger skips the stage when nothing
changed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("mlperf_loadgen")

sys.path.insert(0, str(Path(__file__).parents[1] / "scenarios"))
from lghelp import tiny_data

from zoobench.run.chain import RunConfig, planned_stages, run_models


def test_the_loadgen_stage_follows_perf_and_only_with_scenarios() -> None:
    cfg = RunConfig.of(data="d", runtimes=["onnxruntime"], precisions=["fp32", "int8"], scenarios="Server,offline")
    assert cfg.loadgen is not None and cfg.loadgen.scenarios == ("Server", "Offline")
    stages = planned_stages(cfg)
    assert stages.index("loadgen:onnxruntime-fp32") == stages.index("perf:onnxruntime-fp32") + 1
    assert "loadgen:onnxruntime-int8" in stages and cfg.record()["scenarios"] == ["Server", "Offline"]
    plain = RunConfig.of(data="d")
    assert plain.loadgen is None and not [s for s in planned_stages(plain) if s.startswith("loadgen")]
    assert "scenarios" not in plain.record()


def test_run_with_scenarios_reports_them_and_skips_them_when_unchanged(tmp_path: Path) -> None:
    onnx, images, labels = tiny_data(tmp_path / "data")
    cfg = RunConfig.of(
        data=str(images), labels=str(labels), batch_sizes=[1, 8], seconds=0.0, repeats=1, min_iters=3, warmup=1,
        infer_batch_size=8, quiet=True, scenarios="SingleStream,Server",
    )  # fmt: skip
    assert cfg.loadgen is not None
    cfg = cfg.but(loadgen=cfg.loadgen.but(target_qps=100.0, latency_ms=1000.0))
    run_models([str(onnx)], tmp_path / "run", cfg)
    mdir = tmp_path / "run" / "tiny"
    stages = json.loads((mdir / "stages.json").read_text())
    assert stages["stages"]["loadgen:onnxruntime-fp32"]["status"] == "done", stages["stages"]
    doc = json.loads((mdir / "loadgen" / "onnxruntime-fp32" / "loadgen.json").read_text())
    perf_rows = {r["scenario"]: r for r in doc["rows"] if r["mode"] == "performance"}
    assert set(perf_rows) == {"SingleStream", "Server"}
    assert all(r["hints"]["source"].startswith("hints from") and "perf/onnxruntime-fp32.json" in r["hints"]["source"]
               for r in perf_rows.values())  # fmt: skip
    assert perf_rows["Server"]["result"] == "VALID" and perf_rows["Server"]["target_qps"] == 100.0
    assert {r["mode"] for r in doc["rows"]} == {"accuracy", "performance"}  # labels given: accuracy too
    report = (mdir / "report.md").read_text()
    assert "Scenarios (MLPerf LoadGen)" in report and "Server batch histogram" in report
    assert "tiny · onnxruntime-fp32" in report
    run_models([str(onnx)], tmp_path / "run", cfg)  # nothing changed: the stage is skipped
    again = json.loads((mdir / "stages.json").read_text())
    assert again["actions"]["loadgen:onnxruntime-fp32"] == "skipped"
    assert again["stages"]["loadgen:onnxruntime-fp32"] == stages["stages"]["loadgen:onnxruntime-fp32"]
