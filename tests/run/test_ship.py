"""``run`` ships the recommended engine: ``ship/`` with the scored file, card.json and a loading snippet that runs
without zoobench; undecided ships nothing and says what would decide; a rerun leaves nothing stale.

EfficientNet-Lite0 with its real weights on the demo's photos, onnxruntime and openvino × fp32 and int8.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.io import file_digest
from zoobench.report.accuracy import REFERENCE, load_columns, recommend
from zoobench.report.tables import load_model_run
from zoobench.run.ship import CARD, SHIP, scored_engine, ship_model
from zoobench.run.snippets import snippet

COLUMNS = ("onnxruntime-fp32", "onnxruntime-int8", "openvino-fp32", "openvino-int8")
WIDE = "99"  # points: four photos decide every column within it (Newcombe's interval on 4 images is about ±43)
# The snippet runs as written; this wrapper only proves afterwards that it never imported zoobench.
RUNNER = (
    "import runpy, sys; script = sys.argv[1]; sys.argv = sys.argv[1:]; runpy.run_path(script, run_name='__main__'); "
    "assert not [m for m in sys.modules if m.split('.')[0] == 'zoobench'], 'the snippet imported zoobench'"
)


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def ship_runs(tmp_path_factory: pytest.TempPathFactory, photos: tuple[Path, Path], lite0_onnx: Path) -> dict[str, Any]:
    """One run with a --max-drop four photos can decide (its ship/ kept aside), then the same run with the
    default --max-drop into the same directory."""
    pytest.importorskip("openvino")
    folder, labels = photos
    root = tmp_path_factory.mktemp("ship")
    args = [
        "run", str(lite0_onnx), "--data", str(folder), "--labels", str(labels), "--runtimes", "onnxruntime,openvino",
        "--precisions", "fp32,int8", "-b", "1,4", "--seconds", "0.05", "--repeats", "1", "--min-iters", "2",
        "--warmup", "1", "--infer-batch-size", "4", "-o", str(root / "run"),
    ]  # fmt: skip
    code, wide_out = _run(*args, "--max-drop", WIDE)
    assert code == 0, wide_out
    mdir = root / "run" / "efficientnet_lite0"
    shutil.copytree(mdir / SHIP, root / "wide-ship")
    wide_rec = recommend(load_columns(mdir, load_model_run(mdir).perf))
    wide_report = (mdir / "report.md").read_text()
    assert wide_rec.column is not None
    scored = scored_engine(mdir, wide_rec.column.name)  # the file this column's accuracy was measured on
    top1 = _top1(mdir, wide_rec.column.name)  # and what it predicted (the next run compiles int8 again)
    code, default_out = _run(*args)
    assert code == 0, default_out
    return {"mdir": mdir, "ship": root / "wide-ship", "wide": wide_out, "default": default_out, "rec": wide_rec,
            "report": wide_report, "folder": folder, "scored": scored, "top1": top1}  # fmt: skip


def test_wide_max_drop_ships_the_recommended_scored_engine_with_its_card(ship_runs: dict[str, Any]) -> None:
    ship, rec = ship_runs["ship"], ship_runs["rec"]
    card = json.loads((ship / CARD).read_text())
    assert rec.ships and rec.column is not None and card["recommendation"]["column"] == rec.column.name
    assert card["recommendation"]["kind"] == rec.kind  # a faster column within the drop, or fp32 itself
    eng = card["engine"]
    scored = ship_runs["scored"]
    assert eng["sha256"] == scored.sha256 == file_digest(ship / eng["name"]) and eng["file"] == scored.file
    assert eng["bytes"] == (ship / eng["name"]).stat().st_size and eng["input"] == "uint8"
    assert eng["name"].endswith((".u8.onnx", ".u8.xml"))
    if eng["name"].endswith(".xml"):  # OpenVINO's weights travel with its IR
        assert (ship / eng["name"]).with_suffix(".bin").is_file() and eng["companion_bytes"] > eng["bytes"]
    assert card["weights"]["files"][0]["sha256"] and card["preprocessing"]["interpolation"] == "bicubic"
    assert card["labels"]["sha256"] == file_digest(card["labels"]["file"])
    acc = card["accuracy"]
    assert acc["images"] == 4 and acc["top1"]["ci95"][0] < acc["top1"]["pct"] <= acc["top1"]["ci95"][1]
    assert card["vs_fp32"]["verdict"] == ("reference" if rec.kind == "fp32" else "within")
    perf = card["throughput"]
    assert perf["img_s"] > 0 and perf["batch_size"] in (1, 4) and perf["machine"]["cpu"]
    assert card["zoobench_version"] and (ship / card["snippet"]["file"]).read_text() == card["snippet"]["code"]
    assert f"Shipped{' (fp32 itself)' if rec.kind == 'fp32' else ''}: ship/{eng['name']}" in ship_runs["report"]
    assert eng["sha256"] in ship_runs["report"] and "ship: ship/" in ship_runs["wide"]


def test_default_max_drop_ships_nothing_and_says_what_would_decide(ship_runs: dict[str, Any]) -> None:
    mdir = ship_runs["mdir"]
    rec = recommend(load_columns(mdir, load_model_run(mdir).perf))
    if rec.kind == "fp32":  # no column was faster than fp32 on this machine: fp32 itself ships, and says so
        assert json.loads((mdir / SHIP / CARD).read_text())["recommendation"]["kind"] == "fp32"
        return
    assert rec.kind == "undecided" and rec.max_drop_to_decide is not None
    assert not (mdir / SHIP).exists() and not list(mdir.glob(".ship.*"))  # the wide run's ship/ is gone
    out = " ".join(ship_runs["default"].split())
    assert "ship: nothing — Not decided:" in out and "held-out images would decide" in out
    assert f"a --max-drop of {rec.max_drop_to_decide:g} points would accept it" in out
    assert "Shipped" not in (mdir / "report.md").read_text()


def _top1(mdir: Path, col: str) -> dict[str, int]:
    lines = (mdir / "infer" / ("" if col == REFERENCE else col) / "predictions.csv").read_text().splitlines()[1:]
    return {ln.split(",")[0]: int(ln.split(",")[1]) for ln in lines}


def _run_snippet(code: str, where: Path, folder: Path, tmp_path: Path) -> dict[str, int]:
    """The snippet as a file, run by a fresh, isolated Python beside the engine, on the demo JPEGs."""
    script = tmp_path / "snippet.py"
    script.write_text(code)
    images = sorted(str(p) for p in folder.glob("*.JPEG"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ZOOBENCH"))}
    res = subprocess.run([sys.executable, "-I", "-c", RUNNER, str(script), *images], cwd=where, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    return {Path(p).name: int(i) for p, i in (ln.rsplit(" ", 1) for ln in res.stdout.splitlines())}


def test_the_cards_snippet_gives_the_columns_top1(ship_runs: dict[str, Any], tmp_path: Path) -> None:
    ship = ship_runs["ship"]
    card = json.loads((ship / CARD).read_text())
    assert "zoobench" not in "".join(ln for ln in card["snippet"]["code"].splitlines() if "import" in ln)
    got = _run_snippet(card["snippet"]["code"], ship, ship_runs["folder"], tmp_path)
    assert len(got) == 5 and got == ship_runs["top1"]


@pytest.mark.parametrize("col", COLUMNS)
def test_every_columns_snippet_gives_its_top1(ship_runs: dict[str, Any], tmp_path: Path, col: str) -> None:
    from zoobench.artifact import load_engine

    mdir = ship_runs["mdir"]
    eng = scored_engine(mdir, col)
    pp = load_engine(str(eng.path)).preprocess
    code = snippet(*col.split("-", 1), eng.path.name, eng.input, pp, f"{col} test")
    got = _run_snippet(code, eng.path.parent, ship_runs["folder"], tmp_path)
    assert got == _top1(mdir, col)


def test_float_input_snippet_normalizes_like_zoobench(
    ship_runs: dict[str, Any], tmp_path: Path, lite0_onnx: Path
) -> None:
    from zoobench.artifact import load_engine

    mdir = ship_runs["mdir"]
    export = load_engine(str(lite0_onnx))  # the float-input export the run was given
    assert export.input_dtype == "float32"
    code = snippet("onnxruntime", "fp32", Path(export.path).name, "float32", export.preprocess, "float test")
    assert "MEAN" in code
    assert _run_snippet(code, Path(export.path).parent, ship_runs["folder"], tmp_path) == _top1(mdir, REFERENCE)


def test_a_rerun_replaces_ship_and_leaves_nothing_stale(ship_runs: dict[str, Any], tmp_path: Path) -> None:
    mdir = tmp_path / "m"
    shutil.copytree(ship_runs["mdir"], mdir, ignore=shutil.ignore_patterns("cache"))
    (mdir / SHIP).mkdir(exist_ok=True)
    (mdir / SHIP / "stale.onnx").write_bytes(b"an earlier recommendation")
    (mdir / ".ship.new-1").mkdir()  # what a run killed mid-swap left
    said: list[str] = []
    card = ship_model(mdir, None, said.append)
    assert not list(mdir.glob(".ship.*")) and said[0].startswith("  ship: ")
    if card is None:  # undecided: nothing ships
        assert not (mdir / SHIP).exists() and "would decide" in said[0]
    else:
        names = {card["engine"]["name"], *card["engine"]["companions"], CARD, card["snippet"]["file"]}
        assert {p.name for p in (mdir / SHIP).iterdir()} == names
