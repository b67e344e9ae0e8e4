"""``run`` scores every column it times: held-out calibration, one scored directory per column, unavailable
columns listed and never scored."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
from datahelp import make_tiny_onnx, write_jpegs

from zoobench.run.calibration import plan_split, stratified_pick

N_IMAGES = 110


@pytest.fixture(scope="module")
def labeled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("skimage")
    folder = tmp_path_factory.mktemp("val") / "images"
    paths = write_jpegs(folder, N_IMAGES)
    labels = folder.parent / "labels.txt"
    labels.write_text("".join(f"{p.name} {i % 7}\n" for i, p in enumerate(paths)))
    return folder, labels


def _labels(n: int) -> tuple[list[str], dict[str, int]]:
    names = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(n)]
    return names, {n.rsplit(".", 1)[0]: i % 10 for i, n in enumerate(names)}


def test_same_seed_same_split_and_every_class_calibrates() -> None:
    names, labels = _labels(500)
    a = stratified_pick(names, labels, 50, seed=3)
    assert a == stratified_pick(names, labels, 50, seed=3)
    assert a != stratified_pick(names, labels, 50, seed=4)
    per_class = [sum(1 for n in a if labels[n.rsplit(".", 1)[0]] == c) for c in range(10)]
    assert per_class == [5] * 10


def test_split_holds_calibration_images_out(tmp_path: Path) -> None:
    names, labels = _labels(150)
    paths = [tmp_path / "data" / n for n in names]
    paths[0].parent.mkdir()
    for p in paths:
        p.write_bytes(b"x")
    split = plan_split(paths, labels, count=None, folder=None, seed=0, workdir=tmp_path / "calib")
    assert split.mode == "held-out" and len(split.calibration) == 30  # min(300, 150 // 5)
    assert not set(split.calibration) & set(split.held_out)
    assert sorted(split.calibration + split.held_out) == sorted(names)
    assert sorted(p.name for p in (tmp_path / "calib").iterdir()) == split.calibration
    small = plan_split(paths[:60], labels, count=None, folder=None, seed=0, workdir=tmp_path / "c2")
    assert small.in_sample and "too few to hold out" in small.note and small.held_out == sorted(names[:60])


def test_run_scores_each_column_on_held_out_images(tmp_path: Path, labeled: tuple[Path, Path]) -> None:
    from zoobench.run.chain import RunConfig, run_models

    folder, labels = labeled
    tiny = make_tiny_onnx(tmp_path / "tiny.onnx")
    cfg = RunConfig(
        data=str(folder), labels=str(labels), runtimes=["onnxruntime", "tensorrt"], precisions=["fp32", "int8"],
        batch_sizes=[4], seconds=0.0, repeats=1, min_iters=1, warmup=0, infer_batch_size=8, quiet=True,
    )  # fmt: skip
    run_models([str(tiny)], tmp_path / "run", cfg)
    mdir = tmp_path / "run" / "tiny"
    split = json.loads((mdir / "calibration.json").read_text())
    assert split["mode"] == "held-out" and len(split["calibration"]) == N_IMAGES // 5
    assert not set(split["calibration"]) & set(split["held_out"])

    ref = json.loads((mdir / "infer" / "accuracy.json").read_text())
    assert ref["count"] == N_IMAGES  # the reference still scores every image
    col = json.loads((mdir / "infer" / "onnxruntime-int8" / "accuracy.json").read_text())
    assert col["count"] == len(split["held_out"])  # calibration images are never scored
    assert col["unlabeled"] == len(split["calibration"])
    assert col["paired"]["count"] == len(split["held_out"])
    assert col["paired"]["verdict"] in ("within", "worse", "undecided")
    assert col["calibration"]["mode"] == "held-out" and not col["calibration"]["in_sample"]
    assert (mdir / "infer" / "onnxruntime-int8" / "result.json").is_file()

    stages = json.loads((mdir / "stages.json").read_text())["stages"]
    for name in ("tensorrt-fp32", "tensorrt-int8"):  # cannot run here: listed with why, never scored
        assert stages[f"score:{name}"]["status"] == "unavailable" and stages[f"score:{name}"]["note"]
        assert not (mdir / "infer" / name).exists()
    report = (mdir / "report.md").read_text()
    assert "tensorrt-int8" in report
