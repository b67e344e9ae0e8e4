"""perf's cell / column / sweep results and eval's accuracy record are types that write the JSON perf.json and
accuracy.json have always had (every key held here) and read it back unchanged; report/ and compare.py read those
files only through the types' readers (``read_perf``, ``read_accuracy``)."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
from datahelp import make_tiny_onnx

from zoobench.evaluate.record import AccuracyRecord, read_accuracy
from zoobench.perf.results import CellResult, ColumnResult, read_perf

SRC = Path(__file__).resolve().parents[1] / "src" / "zoobench"

# today's keys (before the types): a new key is fine, a lost one is not
SWEEP_KEYS = {"model", "engine", "random_weights", "input_size", "data", "repeats", "runtime", "results",
              "best_batch_size", "best_throughput_img_s", "columns", "table", "environment"}  # fmt: skip
COLUMN_KEYS = {"name", "runtime", "precision", "available", "engine", "info", "results", "options",
               "best_batch_size", "best_throughput_img_s"}  # fmt: skip
CELL_KEYS = {"batch_size", "throughput_img_s", "repeats", "spread_pct", "unstable", "latency", "wall_s", "warmup",
             "data", "mode"}  # fmt: skip
ACCURACY_KEYS = {"top1", "top2", "top3", "top4", "top5", "count", "skipped", "unlabeled", "missing", "reference",
                 "delta_top1", "delta_top5", "tolerance_points", "ci95_top1_points", "gate", "passed",
                 "images_needed", "gate_reason", "model", "weights_provenance", "random_weights"}  # fmt: skip


def test_perf_json_keeps_its_keys_and_reads_back_unchanged(tmp_path: Path) -> None:
    from zoobench.perf.sweep import do_perf

    tiny = make_tiny_onnx(tmp_path / "tiny.onnx")
    out = tmp_path / "perf"
    res = do_perf(str(tiny), batch_sizes=[1, 2], outdir=str(out), runtimes=["onnxruntime"], precisions=["fp32", "fp16"],
                  seconds=0.01, min_iters=2, warmup=1, repeats=2, quiet=True)  # fmt: skip
    saved = json.loads((out / "perf.json").read_text())
    assert saved == json.loads(json.dumps(res))
    assert set(saved) == SWEEP_KEYS
    ran, unavailable = saved["columns"]
    assert set(ran) == COLUMN_KEYS and set(unavailable) == {"name", "runtime", "precision", "available", "reason"}
    assert all(set(cell) == CELL_KEYS for cell in ran["results"])
    sweep = read_perf(out / "perf.json")
    assert sweep is not None and sweep.to_dict() == saved  # what report and compare read is what perf wrote
    assert sweep.columns is not None and [c.available for c in sweep.columns] == [True, False]
    first = sweep.results[0]
    assert isinstance(first, CellResult) and first.ok and first.latency is not None and len(first.repeats) == 2
    assert sweep.best_batch_size in (1, 2) and sweep.runtime["runtime"] == "onnxruntime"


def test_a_failed_cell_a_tuned_cell_and_a_log_figure_keep_what_they_hold() -> None:
    failed = {"batch_size": 64, "error": "RuntimeError: static batch 8"}
    tuned = {"batch_size": 2, "throughput_img_s": 9.5, "repeats": [9.5], "spread_pct": 0.0, "unstable": False,
             "settings": {"streams": 2}, "streams": 2}  # fmt: skip
    figure = {"batch_size": 16, "throughput_img_s": 1162.01, "source": {"tool": "benchmark", "line": 3}}
    for d in (failed, tuned, figure):
        assert CellResult.from_dict(d).to_dict() == d
    assert not CellResult.from_dict(failed).ok and CellResult.from_dict(tuned).extra["streams"] == 2
    col = {"name": "openvino int8", "runtime": "openvino", "precision": "int8", "available": False, "reason": "no"}
    assert ColumnResult.from_dict(col).to_dict() == col
    assert read_perf("/nonexistent/perf.json") is None


def _scored(tmp_path: Path, random_weights: bool) -> dict[str, object]:
    from zoobench.evaluate.stage import evaluate
    from zoobench.predictions import Predictions, RunSummary

    names = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, 9)]
    ids = np.tile(np.arange(5), (8, 1))
    summary = {"model": "tiny", "random_weights": random_weights, "weights": {"provenance": "custom"}}
    preds = Predictions(names, ids, np.full((8, 5), 0.2, np.float32), run=RunSummary.of(summary))
    labels = {n.split(".")[0]: i % 3 for i, n in enumerate(names)}
    out = tmp_path / ("random" if random_weights else "trained")
    out.mkdir()
    record = evaluate(preds, labels, out, reference=(75.0, 92.0), quiet=True)
    saved = json.loads((out / "accuracy.json").read_text())
    assert saved == json.loads(json.dumps(record.to_dict()))
    back = read_accuracy(out / "accuracy.json")
    assert back is not None and back.to_dict() == saved and back == record
    return saved


def test_accuracy_json_keeps_its_keys_and_reads_back_unchanged(tmp_path: Path) -> None:
    trained = _scored(tmp_path, random_weights=False)
    assert set(trained) == ACCURACY_KEYS and trained["gate"] in ("pass", "fail", "inconclusive")
    random = _scored(tmp_path, random_weights=True)
    assert set(random) == ACCURACY_KEYS | {"note"} and random["gate"] is None


def test_accuracy_files_of_other_shapes_read_as_records() -> None:
    old = AccuracyRecord.from_dict({"top1": 70.0, "top5": 90.0, "count": 10, "passed": False})  # before the gate
    assert old.gate == "fail" and old.top_k(5) is None and old.top1 == 70.0
    column = {"model": "tiny", "paired": {"count": 5, "top1_agreement_pct": 80.0}, "column": {"runtime": "ov"}}
    unlabeled = AccuracyRecord.from_dict(column)  # a scored column without labels: its agreement only
    assert unlabeled.top1 is None and unlabeled.paired["count"] == 5 and unlabeled.to_dict() == column
    assert AccuracyRecord.from_dict({"top1": 1.0, "count": 3, "paired": {"x": 1}}).paired == {"x": 1}


READERS = {"read_perf", "read_accuracy"}


def _names_a_perf_path(node: ast.AST) -> bool:
    """``x / "perf"``, ``x / "accuracy.json"``, ``Path("perf.json")``, ``x.glob("*/accuracy.json")``: a path to
    perf or accuracy files."""
    parts = [node.left, node.right] if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) else []
    if isinstance(node, ast.Call) and (ast.unparse(node.func) == "Path" or ast.unparse(node.func).endswith(".glob")):
        parts = list(node.args)
    text = [p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)]
    return any(t.startswith("perf") or "accuracy" in t for t in text)


def _reads_outside_readers(path: Path) -> list[str]:
    """Calls that read a file (``json.load(s)``, ``read_text``, ``open``) in a function that names perf or
    accuracy files, and calls given such a path that are not the readers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        # names bound by a loop over perf / accuracy paths: ``for f in (path / "perf").glob("*.json")``
        listed = {
            t.id
            for loop in ast.walk(fn)
            if isinstance(loop, (ast.For, ast.comprehension)) and any(map(_names_a_perf_path, ast.walk(loop.iter)))
            for t in ast.walk(loop.target)
            if isinstance(t, ast.Name)
        }
        for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            args = " ".join(ast.unparse(a) for a in [*call.args, *(k.value for k in call.keywords)])
            if isinstance(call.func, ast.Attribute) and name == "read_text":
                args += " " + ast.unparse(call.func.value)
            names_file = "perf" in args or "accuracy.json" in args or bool(listed & set(args.split()))
            if name in ("load", "loads", "read_text", "open", "_read", "read_json") and names_file:
                found.append(f"{path.name}:{call.lineno} {ast.unparse(call)}")
            if name in ("loads", "load") and any(_names_a_perf_path(n) for n in ast.walk(fn)):
                found.append(f"{path.name}:{call.lineno} {fn.name}: json in a function that builds a perf path")
    return found


def test_report_and_compare_read_perf_and_accuracy_json_only_through_the_readers() -> None:
    files = [*sorted((SRC / "report").glob("*.py")), SRC / "compare.py"]
    assert [f for f in files for _ in [0] if _reads_outside_readers(f)] == [], [
        line for f in files for line in _reads_outside_readers(f)
    ]
    used = {n.id for f in files for n in ast.walk(ast.parse(f.read_text())) if isinstance(n, ast.Name)}
    assert used >= READERS  # the readers are what they call


def test_the_reader_check_sees_a_direct_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import json\n"
        "def f(d):\n"
        "    return json.loads((d / 'perf.json').read_text())\n"
        "def g(d):\n"
        "    acc = _read(d / 'infer' / 'accuracy.json')\n"
        "def h(d):\n"
        "    return [_read(f) for f in sorted((d / 'perf').glob('*.json'))]\n"
    )
    assert len(_reads_outside_readers(bad)) >= 3, _reads_outside_readers(bad)
    good = tmp_path / "good.py"
    good.write_text("def f(d):\n    return read_perf(d / 'perf.json')\n")
    assert _reads_outside_readers(good) == []


@pytest.mark.parametrize("reader", [read_perf, read_accuracy])
def test_a_reader_returns_none_for_what_is_not_its_file(tmp_path: Path, reader: object) -> None:
    junk = tmp_path / "x.json"
    junk.write_text("[1, 2]")
    assert reader(junk) is None  # type: ignore[operator]
    junk.write_text("{not json")
    assert reader(junk) is None  # type: ignore[operator]
