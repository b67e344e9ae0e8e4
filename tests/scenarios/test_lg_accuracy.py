"""Accuracy mode's log decoded: int32 top-5 per sample (hex), unanswered samples, the pairing with fp32."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zoobench.errors import DataError
from zoobench.predictions import RunSummary
from zoobench.scenarios.accuracy import decode_log, labels_for, paired, predictions


def _entry(seq: int, idx: int, ids: list[int] | None) -> dict[str, object]:
    data = "" if ids is None else np.asarray(ids, dtype="<i4").tobytes().hex().upper()
    return {"seq_id": seq, "qsl_idx": idx, "data": data}


def test_decode_reads_int32_top5_by_sample_index(tmp_path: Path) -> None:
    log = tmp_path / "mlperf_log_accuracy.json"
    log.write_text(json.dumps([_entry(0, 2, [7, 1, 2, 3, 4]), _entry(1, 0, [999, 5, 6, 8, 9]), _entry(2, 1, None)]))
    ids, answered = decode_log(log, 3)
    assert ids[2].tolist() == [7, 1, 2, 3, 4] and ids[0].tolist() == [999, 5, 6, 8, 9]
    assert answered.tolist() == [True, False, True] and ids[1].tolist() == [-1] * 5
    preds = predictions(["a.JPEG", "b.JPEG", "c.JPEG"], ids, answered, RunSummary(model="tiny"))
    assert preds.names == ["a.JPEG", "c.JPEG"] and preds.topk_ids[:, 0].tolist() == [999, 7]
    assert preds.skipped == [("b.JPEG", "no response from the SUT")] and preds.run and preds.run.skipped == 1


def test_decode_refuses_what_is_not_loadgens_log(tmp_path: Path) -> None:
    bad = tmp_path / "a.json"
    bad.write_text("[{")
    with pytest.raises(DataError, match="not a readable"):
        decode_log(bad, 3)
    bad.write_text(json.dumps([_entry(0, 5, [1, 2, 3, 4, 5])]))
    with pytest.raises(DataError, match="outside"):
        decode_log(bad, 3)


def test_paired_records_the_verdict_and_mlperfs_99_percent_rule() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 1000, 400)
    ref = np.tile(np.arange(5), (400, 1))
    ref[:, 0] = truth  # fp32 right everywhere
    col = ref.copy()
    col[:10, 0] = (truth[:10] + 1) % 1000  # 10 of 400 wrong: 97.5% of fp32
    both = np.ones(400, bool)
    stats = paired(ref, col, both, truth.tolist(), "1.0")
    assert stats["top1"]["delta_points"] == pytest.approx(-2.5)
    assert stats["mlperf_99pct"]["passed"] is False and stats["mlperf_99pct"]["ratio"] == pytest.approx(0.975)
    same = paired(ref, ref, both, truth.tolist(), "1.0")
    assert same["mlperf_99pct"]["passed"] is True and same["top1"]["delta_points"] == 0
    assert paired(ref, col, both, None, "1.0")["verdict"] is None  # no labels: agreement only


def test_labels_for_needs_every_sample_labelled() -> None:
    names = ["ILSVRC2012_val_00000001.JPEG", "x.JPEG"]
    mask = np.array([True, False])
    assert labels_for(names, {"ILSVRC2012_val_00000001": 3}, mask) == [3]
    assert labels_for(names, {"ILSVRC2012_val_00000001": 3}, np.array([True, True])) is None
