"""``run`` scores every column it times: held-out calibration, one scored directory per column, unavailable
columns listed and never scored."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
from datahelp import make_tiny_onnx, write_jpegs
from pagecheck import CHROMIUM

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


def test_score_none_keeps_only_the_reference() -> None:
    from zoobench.run.chain import RunConfig, planned_stages

    cfg = RunConfig.of(data="d", runtimes=["onnxruntime", "openvino"], precisions=["fp32", "int8"])
    assert [s for s in planned_stages(cfg) if s.startswith("score:")] == [
        "score:onnxruntime-int8", "score:openvino-fp32", "score:openvino-int8",
    ]  # fmt: skip
    cfg = cfg.but(score="none")
    assert not [s for s in planned_stages(cfg) if s.startswith("score:")]


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


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory: pytest.TempPathFactory, labeled: tuple[Path, Path]) -> Path:
    """A tiny model run over 110 labelled images with five columns: three that run here, two that cannot."""
    from zoobench.run.chain import RunConfig, run_models

    folder, labels = labeled
    root = tmp_path_factory.mktemp("scored")
    tiny = make_tiny_onnx(root / "tiny.onnx")
    cfg = RunConfig.of(
        data=str(folder), labels=str(labels), runtimes=["onnxruntime", "openvino", "tensorrt"],
        precisions=["fp32", "int8"], batch_sizes=[4], seconds=0.0, repeats=1, min_iters=1, warmup=0,
        infer_batch_size=8, quiet=True,
    )  # fmt: skip
    run_models([str(tiny)], root / "run", cfg)
    return root / "run" / "tiny"


def test_run_scores_each_column_on_held_out_images(scored_run: Path) -> None:
    mdir = scored_run
    split = json.loads((mdir / "calibration.json").read_text())
    assert split["mode"] == "held-out" and len(split["calibration"]) == N_IMAGES // 5
    assert not set(split["calibration"]) & set(split["held_out"])

    ref = json.loads((mdir / "infer" / "accuracy.json").read_text())
    assert ref["count"] == N_IMAGES  # the reference still scores every image
    for col in ("onnxruntime-int8", "openvino-fp32", "openvino-int8"):
        acc = json.loads((mdir / "infer" / col / "accuracy.json").read_text())
        assert acc["count"] == len(split["held_out"])  # calibration images are never scored
        assert acc["unlabeled"] == 0  # the calibration images' predictions are kept apart
        calib = (mdir / "infer" / col / "calibration_predictions.csv").read_text().splitlines()[1:]
        assert sorted(line.split(",", 1)[0] for line in calib) == sorted(split["calibration"])
        assert acc["paired"]["count"] == len(split["held_out"])
        assert acc["paired"]["verdict"] in ("within", "worse", "undecided")
        assert (mdir / "infer" / col / "result.json").is_file()
    col = json.loads((mdir / "infer" / "onnxruntime-int8" / "accuracy.json").read_text())
    assert col["calibration"]["mode"] == "held-out" and not col["calibration"]["in_sample"]

    stages = json.loads((mdir / "stages.json").read_text())["stages"]
    for name in ("tensorrt-fp32", "tensorrt-int8"):  # cannot run here: listed with why, never scored
        assert stages[f"score:{name}"]["status"] == "unavailable" and stages[f"score:{name}"]["note"]
        assert not (mdir / "infer" / name).exists()
    assert "tensorrt-int8" in (mdir / "report.md").read_text()


def test_eval_of_each_scored_folder_gives_its_result_json(
    scored_run: Path, labeled: tuple[Path, Path], tmp_path: Path
) -> None:
    """Each scored column's folder agrees with itself: ``zoobench eval`` on it (a copy) writes its result.json byte for
    byte; its predictions.csv and summary.json hold the images result.json counts."""
    import shutil

    from click.testing import CliRunner

    from zoobench.cli import cli

    split = json.loads((scored_run / "calibration.json").read_text())
    folders = {"reference": scored_run / "infer"}
    folders.update({c: scored_run / "infer" / c for c in ("onnxruntime-int8", "openvino-fp32", "openvino-int8")})
    for name, folder in folders.items():
        copy = tmp_path / name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("*-*"))  # a column's folder, not its siblings
        (copy / "result.json").unlink()
        res = CliRunner().invoke(cli, ["eval", str(copy), "--labels", str(labeled[1])])
        assert res.exit_code == 0, res.output
        assert (copy / "result.json").read_bytes() == (folder / "result.json").read_bytes(), name
        count = json.loads((folder / "result.json").read_text())["value"][0]["value"]
        rows = (folder / "predictions.csv").read_text().splitlines()[1:]
        summary = json.loads((folder / "summary.json").read_text())
        assert int(count) == len(rows) == summary["images_inferred"], name
        want = N_IMAGES if name == "reference" else len(split["held_out"])  # the reference scores every image
        assert len(rows) == want, name


def test_report_shows_accuracy_speed_table_plot_and_recommendation(scored_run: Path) -> None:
    md = (scored_run / "report.md").read_text()
    assert "### Accuracy per engine" in md and "### Accuracy and speed" in md
    table = md.split("### Accuracy and speed", 1)[1].split("\n\n")[1]
    assert [r.split(" | ")[0].strip("| ") for r in table.splitlines()[2:]] == [
        "onnxruntime fp32", "onnxruntime int8", "openvino fp32", "openvino int8",
    ]  # fmt: skip
    assert "Fastest engine within" in md or "Not decided:" in md
    assert "![accuracy_speed](plots/accuracy_speed.png)" in md
    html = (scored_run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3  # throughput, accuracy-speed, latency


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_accuracy_speed_table_and_plot_in_headless_chromium(scored_run: Path, tmp_path: Path) -> None:
    """The model report as headless chromium built it (its DOM): the run's numbers, the accuracy-speed table with
    one row per scored column, and its plot among the images, each decoded and not blank."""
    from pagecheck import chromium_dom, number_mismatches, parse, rendered_images

    dom = chromium_dom(scored_run / "report.html", tmp_path)
    check = number_mismatches(dom, scored_run.parent)
    assert check.wrong == [] and check.checked >= 7 + 5  # a timed cell's 7 figures at least, and Top-1..5
    page = parse(dom)
    (table,) = [t for t in page.tables if t.title == "Accuracy and speed"]
    assert [r[0] for r in table.rows[1:]] == ["onnxruntime fp32", "onnxruntime int8", "openvino fp32", "openvino int8"]
    assert table.rows[1][3] == "100.0"  # the reference agrees with itself
    assert "accuracy_speed" in [img.get("alt") for img in page.images]
    images = rendered_images(dom)
    assert len(images) == 3  # throughput, accuracy-speed, latency
    for decoded, width, height, colours in images:
        assert decoded and width >= 300 and height >= 200 and colours >= 3
