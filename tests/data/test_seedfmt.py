"""Seed-format interop: ais_bench-style dumps written by infer, and scored by eval (by name or by position)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zoobench.data.seedfmt import dump_output, read_dump_dir, read_output_file, seed_name, txt_line
from zoobench.errors import DataError
from zoobench.evaluate.stage import do_eval
from zoobench.infer.stage import do_infer


def test_txt_line_is_numpy_savetxt_format(tmp_path: Path) -> None:
    row = np.array([1.5, -0.25, 3.0], np.float32)
    with open(tmp_path / "ref.txt", "wb") as fh:  # what ais_bench does
        np.savetxt(fh, np.c_[row], fmt="%f", newline=" ")
        fh.write(b"\n")
    assert txt_line(row) == (tmp_path / "ref.txt").read_text() == "1.500000 -0.250000 3.000000 \n"
    for fmt in ("txt", "bin", "npy"):
        p = dump_output(tmp_path, "ILSVRC2012_val_00000007.JPEG", row, fmt)
        assert p.name == f"ILSVRC2012_val_00000007_0.{fmt}"
        np.testing.assert_array_equal(read_output_file(p), row)
    assert seed_name("ILSVRC2012_val_00000007_0.txt") == "ILSVRC2012_val_00000007"
    assert seed_name("ILSVRC2012_val_00000007_1.bin") == "ILSVRC2012_val_00000007"


@pytest.mark.parametrize("fmt", ["txt", "bin", "npy"])
def test_eval_scores_a_dump_dir_like_predictions(jpeg_folder: Path, tiny_onnx: Path, tmp_path: Path, fmt: str) -> None:
    labels = tmp_path / "val_label.txt"
    labels.write_text("".join(f"{p.name} {i % 7}\n" for i, p in enumerate(sorted(jpeg_folder.iterdir()))))
    out = tmp_path / "run"
    s = do_infer(str(tiny_onnx), str(jpeg_folder), labels=str(labels), outdir=str(out), quiet=True, dump=fmt)
    dumps = sorted((out / "outputs").iterdir())
    assert len(dumps) == 40 and dumps[0].name == f"ILSVRC2012_val_00000001_0.{fmt}"
    acc = do_eval(str(out / "outputs"), str(labels), quiet=True).to_dict()
    assert acc["count"] == 40
    assert [acc[f"top{k}"] for k in range(1, 6)] == [s["accuracy"][f"top{k}"] for k in range(1, 6)]
    keys, scores = read_dump_dir(out / "outputs")
    assert scores.shape == (40, 1000) and keys[0] == "ILSVRC2012_val_00000001"
    res = json.loads((out / "outputs" / "result.json").read_text())
    assert res["value"][0] == {"key": "Number of images", "value": "40"}


def test_eval_scores_an_ais_bench_summary_json_by_position(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    out = tmp_path / "result" / "bs1"
    out.mkdir(parents=True)
    names = [f"ILSVRC2012_val_{i:08d}" for i in range(1, 11)]
    truth = rng.integers(0, 1000, 10)
    info = {}
    for i, (n, t) in enumerate(zip(names, truth)):
        row = rng.standard_normal(1000).astype(np.float32)
        row[t] = 50.0 if i < 7 else -50.0  # 7 of 10 right at top-1
        dump_output(out, n, row, "txt")
        info[str(i)] = {"infiles": [f"./prep_dataset/{n}.bin"], "outfiles": [f"./result/bs1/{n}_0.txt"]}
    summary = tmp_path / "result" / "bs1_summary.json"
    summary.write_text(json.dumps({"filesinfo": info}))
    labels = tmp_path / "val_label.txt"
    labels.write_text("".join(f"{n}.JPEG {t}\n" for n, t in zip(names, truth)))
    acc = do_eval(str(summary), str(labels), quiet=True).to_dict()
    assert acc["count"] == 10 and acc["top1"] == 70.0


def test_eval_without_predictions_or_dumps_is_a_clear_error(tmp_path: Path) -> None:
    labels = tmp_path / "l.txt"
    labels.write_text("a.JPEG 1\n")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no predictions\.csv"):
        do_eval(str(tmp_path / "empty"), str(labels), quiet=True)
