"""`zoobench compare`: the cross-hardware table from run directories, as markdown, html and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.compare import compare_runs
from zoobench.io import write_json


def _perf(tp: dict[int, float], cpu: str) -> dict:
    lat = {"count": 3, "min_ms": 1.0, "max_ms": 3.0, "mean_ms": 2.0, "median_ms": 2.0, "p90_ms": 2.5,
           "p95_ms": 2.7, "p99_ms": 2.9, "stdev_ms": 0.5}  # fmt: skip
    return {
        "model": "mnasnet1_0",
        "runtime": {"runtime": "onnxruntime", "precision": "fp32", "device": "cpu", "threads": 2, "version": "1"},
        "results": [{"batch_size": b, "throughput_img_s": v, "latency": lat} for b, v in tp.items()],
        "environment": {"cpu": cpu, "cpu_affinity": 2, "versions": {"zoobench": "0.1.0", "onnxruntime": "1.2"}},
    }


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    write_json(a / "mnasnet1_0" / "model.json", {"model": "mnasnet1_0"})
    write_json(a / "mnasnet1_0" / "perf" / "onnxruntime-fp32.json", _perf({1: 100.0, 8: 400.0}, "Fast CPU"))
    write_json(b / "perf.json", _perf({1: 50.0, 8: 100.0}, "Slow CPU"))  # a `zoobench perf -o b` directory
    return a, b


def test_compare_ratios_per_batch_and_best(two_runs: tuple[Path, Path]) -> None:
    cmp = compare_runs(list(two_runs))
    assert [r["cpu"] for r in cmp["runs"]] == ["Fast CPU", "Slow CPU"]
    (t,) = cmp["tables"]
    assert t["model"] == "mnasnet1_0" and t["label"] == "onnxruntime fp32"
    assert [r["ratio"] for r in t["rows"]] == [[2.0], [4.0]]
    assert t["best"] == {
        "batch_size": [8, 8],
        "throughput": [400.0, 100.0],
        "cells": ["400.0 (bs8)", "100.0 (bs8)"],
        "ratio": [4.0],
    }
    assert cmp["warnings"] == ["CPU differs: A Fast CPU, B Slow CPU"]


def test_compare_marks_unstable_cells_ties_and_differing_settings(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = two_runs
    p = _perf({1: 100.0, 8: 101.0}, "Fast CPU")
    p["results"][0].update(spread_pct=8.0, unstable=True, repeats=[96.0, 100.0, 104.0])
    p["runtime"]["threads"] = 4
    p["environment"]["versions"]["onnxruntime"] = "1.3"
    write_json(a / "mnasnet1_0" / "perf" / "onnxruntime-fp32.json", p)
    cmp = compare_runs([a, b])
    (t,) = cmp["tables"]
    assert t["rows"][0]["cells"][0] == "100.0 ±8.0% unstable"
    assert t["best"]["cells"][0] == "101.0 (bs8; tied: bs1)"  # 1% short of the best, within bs1's 8% noise
    assert "threads differs: A 4, B 2" in cmp["warnings"] and "onnxruntime differs: A 1.3, B 1.2" in cmp["warnings"]
    res = CliRunner().invoke(cli, ["compare", str(a), str(b)])
    assert res.exit_code == 0 and "Warning: threads differs: A 4, B 2" in res.output


def test_compare_cli_markdown_html_json(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = two_runs
    res = CliRunner().invoke(cli, ["compare", str(a), str(b), "-o", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    assert "| A/B |" in res.output and "| best | 400.0 (bs8) | 100.0 (bs8) | 4.00 |" in res.output
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert html.count("<tr>") >= 4 and "Slow CPU" in html
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["tables"]
    res = CliRunner().invoke(cli, ["compare", str(a), str(b), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["tables"][0]["best"]["ratio"] == [4.0]


def test_compare_needs_two_runs_with_results(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["compare", str(two_runs[0])])
    assert res.exit_code == 1 and "at least two" in res.output
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(cli, ["compare", str(two_runs[0]), str(tmp_path / "empty")])
    assert res.exit_code == 1 and "no zoobench run, perf.json or known perf log" in res.output
