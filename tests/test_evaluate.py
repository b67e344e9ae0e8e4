"""Scoring, predictions.csv, the seeds' result.json and accuracy.json."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from zoobench.classes import class_name
from zoobench.errors import DataError
from zoobench.evaluate.files import read_predictions, result_json_text, write_predictions, write_result_json
from zoobench.evaluate.metrics import AccuracyResult, accuracy_record, score, seed_topk_from_scores
from zoobench.infer.batch import topk_from_logits

SPEC_RESULT_JSON = (
    '{"title": "Overall statistical evaluation", "value": [{"key": "Number of images", "value": "50000"}, '
    '{"key": "Number of classes", "value": "1000"}, {"key": "Top1 accuracy", "value": "73.4%"}, '
    '{"key": "Top2 accuracy", "value": "83.9%"}, {"key": "Top3 accuracy", "value": "87.87%"}, '
    '{"key": "Top4 accuracy", "value": "90.08%"}, {"key": "Top5 accuracy", "value": "91.5%"}]}'
)


def test_seed_topk_matches_argsort_per_row() -> None:
    scores = np.random.default_rng(0).normal(size=(8, 1000)).astype(np.float32)
    ids = seed_topk_from_scores(scores)
    for row, got in zip(scores, ids, strict=True):
        assert got.tolist() == np.argsort(-row)[:5].tolist()
    assert np.array_equal(ids, topk_from_logits(scores)[0])  # no ties: both orders agree
    assert seed_topk_from_scores(scores[0], k=3).tolist() == ids[0, :3].tolist()


LABELS = {"img_1": 3, "img_2": 7, "img_3": 1, "img_4": 0, "img_5": 2, "img_6": 9}
PRED_NAMES = ["img_1.JPEG", "img_2.JPEG", "img_3.png", "img_4.JPEG", "extra.JPEG"]
PRED_IDS = np.array(
    [
        [3, 0, 1, 2, 4],  # hit at rank 1
        [0, 7, 1, 2, 4],  # hit at rank 2
        [0, 2, 3, 4, 1],  # hit at rank 5
        [1, 2, 3, 4, 5],  # miss
        [0, 1, 2, 3, 4],  # no label
    ]
)


def test_score_hits_unlabeled_and_missing() -> None:
    res = score(PRED_NAMES, PRED_IDS, LABELS)
    assert res.count == 4
    assert res.hits_at_k == [1, 2, 2, 2, 3]
    assert res.accuracy == [0.25, 0.5, 0.5, 0.5, 0.75]
    assert res.unlabeled == ["extra.JPEG"]
    assert res.missing == [] and res.labels_unused == 2 and res.labels_without_image is None

    folder = ["img_1.JPEG", "img_2.JPEG", "img_3.png", "img_4.JPEG", "extra.JPEG", "img_5.JPEG"]
    res = score(PRED_NAMES, PRED_IDS, LABELS, expected=folder)
    assert res.missing == ["img_5"]  # in the folder and labeled, but not predicted (e.g. failed to decode)
    assert res.labels_without_image == 1  # img_6
    assert res.labels_unused == 2


def test_score_errors() -> None:
    with pytest.raises(DataError, match="nothing to score"):
        score(["extra.JPEG"], PRED_IDS[:1], LABELS)
    with pytest.raises(DataError, match="two predictions for image img_1"):
        score(["img_1.JPEG", "img_1.png"], PRED_IDS[:2], LABELS)
    with pytest.raises(ValueError):
        score(PRED_NAMES, PRED_IDS[:2], LABELS)


def test_result_json_reproduces_spec_example(tmp_path) -> None:
    hits = [36700, 41950, 43935, 45040, 45750]
    acc = (np.cumsum(np.diff([0, *hits])) / 50000).tolist()
    assert result_json_text(50000, 1000, acc) == SPEC_RESULT_JSON
    assert result_json_text(50000, 1000, [h / 50000 for h in hits]) == SPEC_RESULT_JSON
    write_result_json(tmp_path / "result.json", 50000, 1000, acc)
    assert (tmp_path / "result.json").read_bytes() == SPEC_RESULT_JSON.encode()  # no trailing newline


def test_result_json_formatting_details() -> None:
    values = json.loads(result_json_text(3, 1001, [1 / 3, 2 / 3, 1.0, 1.0, 1.0]))["value"]
    assert [v["value"] for v in values] == ["3", "1001", "33.33%", "66.67%", "100.0%", "100.0%", "100.0%"]
    assert json.loads(result_json_text(1, 1000, [0.0] * 5))["value"][2]["value"] == "0.0%"
    with pytest.raises(ValueError):
        result_json_text(1, 1000, [0.5])


def accuracy_dict(result: AccuracyResult, *args: Any, **kw: Any) -> dict[str, Any]:
    """The record as accuracy.json writes it."""
    return accuracy_record(result, *args, **kw).to_dict()


def make_result(top1_hits: int, top5_hits: int, count: int = 10_000) -> AccuracyResult:
    return AccuracyResult(count, [top1_hits, top1_hits, top1_hits, top1_hits, top5_hits], ["x.JPEG"], [], 0)


def test_accuracy_dict_pass_fail() -> None:
    d = accuracy_dict(make_result(7528, 9256), reference_top1=76.28, reference_top5=93.0, skipped=2)
    assert d["top1"] == 75.28 and d["top5"] == 92.56
    assert d["delta_top1"] == -1.0 and d["passed"] is True  # exactly at the tolerance, despite float noise
    assert d["delta_top5"] == pytest.approx(-0.44)
    assert d["count"] == 10_000 and d["skipped"] == 2 and d["unlabeled"] == 1
    assert d["reference"] == {"top1": 76.28, "top5": 93.0} and d["tolerance_points"] == 1.0

    d = accuracy_dict(make_result(7527, 9256), reference_top1=76.28, tolerance=1.0)
    assert d["delta_top1"] == -1.01 and d["passed"] is False and d["delta_top5"] is None
    assert accuracy_dict(make_result(8000, 9000), reference_top1=78.5, tolerance=1.0)["passed"] is False
    assert accuracy_dict(make_result(8000, 9000), reference_top1=78.5, tolerance=2.0)["passed"] is True

    assert d["gate"] == "fail" and "-1.01 points" in d["gate_reason"]
    d = accuracy_dict(make_result(7528, 9256))
    assert d["gate"] is None and d["gate_reason"] == "no reference to gate against"
    assert d["passed"] is None and d["delta_top1"] is None and d["reference"] == {"top1": None, "top5": None}
    json.dumps(d)  # serializable as is


@pytest.mark.parametrize(
    ("top1", "n", "expected"),
    [
        (75.0, 4, "inconclusive"),  # the demo's photos: ±32.7 points
        (100.0, 4, "inconclusive"),  # even a perfect score on 4 images decides nothing
        (74.6, 1_000, "inconclusive"),  # ±2.7 points on 1,000 images
        (75.0, 10_000, "pass"),  # ±0.85 points: within the 1-point tolerance
        (73.0, 10_000, "fail"),
        (70.0, 50_000, "fail"),
        (0.0, 100, "fail"),  # wide interval, but all of it far below the reference: decided
    ],
)
def test_gate_has_three_outcomes(top1: float, n: int, expected: str) -> None:
    from zoobench.evaluate.metrics import gate_verdict

    v = asdict(gate_verdict(top1, n, 75.1, 1.0))
    assert v["gate"] == expected
    assert v["passed"] is {"pass": True, "fail": False, "inconclusive": None}[expected]
    if expected == "inconclusive":
        assert v["images_needed"] > n and f"{v['images_needed']:,} images would decide" in v["gate_reason"]
    else:
        assert v["images_needed"] is None


def test_images_needed_is_the_smallest_n_that_decides() -> None:
    from zoobench.evaluate.metrics import gate_verdict, images_needed, wilson_halfwidth

    for ref, tol in ((75.1, 1.0), (78.468, 1.0), (50.0, 0.5), (99.0, 1.0)):
        n = images_needed(ref, tol)
        assert 100 * wilson_halfwidth(round(ref / 100 * n), n) <= tol
        assert 100 * wilson_halfwidth(round(ref / 100 * (n - 50)), n - 50) > tol  # not many more than needed
        assert gate_verdict(ref, n, ref, tol).gate == "pass"
    assert images_needed(75.1, 1.0) == pytest.approx(7_200, rel=0.01)  # 1.96² · p(1-p) / 0.01²


def test_predictions_round_trip(tmp_path) -> None:
    ids, probs = topk_from_logits(np.random.default_rng(1).normal(size=(3, 10)).astype(np.float32))
    names = ["a.JPEG", "b,with comma.png", "c.JPEG"]
    path = tmp_path / "predictions.csv"
    write_predictions(path, names, ids, probs, labels=[4, None, 0])
    lines = path.read_text().splitlines()
    assert (
        lines[0] == "image,top1,top2,top3,top4,top5,prob1,prob2,prob3,prob4,prob5,name1,name2,name3,name4,name5,label"
    )
    assert lines[1].startswith("a.JPEG,") and lines[2].endswith(",")
    row = lines[1].split(",")
    assert row[11:16] == [class_name(int(i)) for i in row[1:6]]  # class names beside the ids
    back = read_predictions(path)
    assert back.names == names and back.labels == [4, None, 0]
    assert back.topk_ids.dtype == np.int64 and np.array_equal(back.topk_ids, ids)
    assert back.topk_probs.dtype == np.float32 and np.allclose(back.topk_probs, probs, atol=5e-7)

    write_predictions(path, names, ids, probs)
    back = read_predictions(path)
    assert back.labels is None and "label" not in path.read_text().splitlines()[0]

    # files written before the names existed still read
    old = "image,top1,top2,top3,top4,top5,prob1,prob2,prob3,prob4,prob5,label\na.JPEG,1,2,3,4,5,.5,.1,.1,.1,.1,7\n"
    path.write_text(old)
    back = read_predictions(path)
    assert back.topk_ids.tolist() == [[1, 2, 3, 4, 5]] and back.labels == [7]


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        ("a.JPEG,1,2,3,4,5,0.5,0.1,0.1,0.1,0.1\nb.JPEG,1,2\n", r"line 3: expected 11 columns, got 3"),
        ("a.JPEG,1,2,x,4,5,0.5,0.1,0.1,0.1,0.1\n", r"line 2: bad value"),
        ("a.JPEG,1,2,3,4,5,0.5,0.1,oops,0.1,0.1\n", r"line 2: bad value"),
    ],
)
def test_malformed_predictions(tmp_path, body, pattern) -> None:
    path = tmp_path / "predictions.csv"
    path.write_text("image,top1,top2,top3,top4,top5,prob1,prob2,prob3,prob4,prob5\n" + body)
    with pytest.raises(DataError, match=pattern):
        read_predictions(path)


def test_not_a_predictions_file(tmp_path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("name,class\na,1\n")
    with pytest.raises(DataError, match="line 1: not a predictions header"):
        read_predictions(path)
    path.write_text("")
    with pytest.raises(DataError, match="not a predictions header"):
        read_predictions(path)
    with pytest.raises(DataError, match="cannot be read"):
        read_predictions(tmp_path / "missing.csv")


def _eval_dir(tmp_path, n: int, right: int, weights: dict | None = None):
    """An infer-style folder of ``n`` predictions (new format, with class names), ``right`` of them correct."""
    out = tmp_path / f"preds_{n}_{right}"
    out.mkdir()
    names = [f"img{i:05d}.JPEG" for i in range(n)]
    ids = np.tile(np.arange(5, dtype=np.int64), (n, 1))  # top-1 is class 0 everywhere
    write_predictions(out / "predictions.csv", names, ids, np.full((n, 5), 0.2, dtype=np.float32))
    summary = {"model": "efficientnet_lite0", "num_classes": 1000, **({"weights": weights} if weights else {})}
    (out / "summary.json").write_text(json.dumps(summary))
    labels = tmp_path / f"labels_{n}_{right}.txt"
    labels.write_text("".join(f"{name} {0 if i < right else 999}\n" for i, name in enumerate(names)))
    return out, labels


def _zb(*args: str):
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("zoobench"))
    return subprocess.run([exe, *args], capture_output=True, text=True, check=False, timeout=300)


def test_eval_cli_decided_gates_exit_codes(tmp_path) -> None:
    # 10,000 images at 75.1% vs the published 75.1 (±0.85 points): a pass, plain and strict
    preds, labels = _eval_dir(tmp_path, 10_000, 7_510)
    for mode in ([], ["strict"]):
        proc = _zb("eval", str(preds), "--labels", str(labels), "--gate", *mode)
        assert proc.returncode == 0, proc.stderr
        assert "gate: PASS" in proc.stderr and "Warning" not in proc.stderr
    acc = json.loads((preds / "accuracy.json").read_text())
    assert acc["gate"] == "pass" and acc["images_needed"] is None and acc["reference"]["source"] == "published"
    # 70% on 10,000 images: a conclusive failure, plain and strict; without --gate it is reported, exit 0
    preds, labels = _eval_dir(tmp_path, 10_000, 7_000)
    for mode in ([], ["strict"]):
        proc = _zb("eval", str(preds), "--labels", str(labels), "--gate", *mode)
        assert proc.returncode == 1 and proc.stderr.count("gate: FAIL") == 1 and "Traceback" not in proc.stderr
        assert "accuracy gate failed" not in proc.stderr  # the failure is said once
    proc = _zb("eval", str(preds), "--labels", str(labels))
    assert proc.returncode == 0 and "gate: FAIL" in proc.stderr
    # --gate written before PREDS takes no value from it
    proc = _zb("eval", "--gate", str(preds), "--labels", str(labels))
    assert proc.returncode == 1 and "gate: FAIL" in proc.stderr


def test_eval_cli_custom_weights_say_which_reference(tmp_path) -> None:
    custom = {"provenance": "custom", "sha256": "ab" * 32}
    preds, labels = _eval_dir(tmp_path, 3, 2, weights=custom)  # `run` on 3 photos: never PASS / FAIL
    proc = _zb("eval", str(preds), "--labels", str(labels), "--gate")
    assert proc.returncode == 0 and "PASS" not in proc.stdout + proc.stderr and "FAIL" not in proc.stderr
    acc = json.loads((preds / "accuracy.json").read_text())
    assert acc["gate"] == "inconclusive" and acc["weights_provenance"] == "custom"
    assert acc["reference"]["source"].startswith("published (custom weights")
    assert "points — published (custom weights: compared with" in proc.stderr
    proc = _zb("eval", str(preds), "--labels", str(labels), "--reference", "66.7,90", "--gate", "strict")
    assert proc.returncode == 1 and "strict" in proc.stderr
    acc = json.loads((preds / "accuracy.json").read_text())
    assert acc["reference"] == {"top1": 66.7, "top5": 90.0, "source": "user (--reference)"}


@pytest.mark.parametrize("value", ["", "abc", "70,", "70,80,90", "-1", "101", "70,nan5"])
def test_reference_type_rejects_bad_values(value: str) -> None:
    import click

    from zoobench.cli.options import ReferenceType

    with pytest.raises(click.BadParameter):
        ReferenceType().convert(value, None, None)
    assert ReferenceType().convert("78.4", None, None) == (78.4, None)
    assert ReferenceType().convert(" 78.4 , 94.1", None, None) == (78.4, 94.1)


def test_predictions_from_memory_and_from_files_score_the_same(tmp_path) -> None:
    """One Predictions type: what infer hands over in memory and what eval reads back from its files give the
    same accuracy.json; the run's skipped images (skipped.csv) make a labeled image missing from the run count."""
    from zoobench.evaluate.stage import evaluate, read_predictions_from
    from zoobench.io import write_skipped_csv
    from zoobench.predictions import Predictions, RunSummary

    names = ["a.JPEG", "b.JPEG", "c.JPEG"]
    ids = np.array([[1, 2, 3, 4, 5], [2, 1, 3, 4, 5], [7, 8, 9, 1, 2]], np.int64)
    probs = np.full((3, 5), 0.2, np.float32)
    summary = {"model": "efficientnet_lite0", "num_classes": 1000, "skipped": 1, "random_weights": False,
               "weights": {"provenance": "custom"}, "runtime": {"runtime": "onnxruntime"}}  # fmt: skip
    labels = {"a": 1, "b": 1, "c": 1, "d": 1, "e": 3}  # d was skipped by the run; e is not in the folder
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_predictions(run_dir / "predictions.csv", names, ids, probs)
    (run_dir / "summary.json").write_text(json.dumps(summary))
    write_skipped_csv(run_dir / "skipped.csv", [("d.JPEG", "cannot decode")])
    memory = Predictions(names, ids, probs, skipped=[("d.JPEG", "cannot decode")], run=RunSummary.of(summary))
    files = read_predictions_from(run_dir, labels)
    assert files.skipped == memory.skipped and files.run == memory.run
    assert files.run is not None and files.run.runtime == "onnxruntime" and files.run.weights_provenance == "custom"
    (tmp_path / "mem").mkdir()
    a = evaluate(memory, labels, tmp_path / "mem", quiet=True).to_dict()
    b = evaluate(files, labels, run_dir, quiet=True).to_dict()
    assert a == b
    assert b["count"] == 3 and b["skipped"] == 1 and b["missing"] == 1 and b["model"] == "efficientnet_lite0"
    # without summary.json the skipped images are not known: nothing is counted missing
    (run_dir / "summary.json").unlink()
    bare = read_predictions_from(run_dir, labels)
    assert bare.skipped is None and bare.run is None and bare.listed() is None
    assert evaluate(bare, labels, run_dir, quiet=True).missing == 0
