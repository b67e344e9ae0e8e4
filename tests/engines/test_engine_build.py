"""One engine build: each run column's engine is built once, and the file perf and tune time is the file score
scored (same sha256 in both records); weights are hashed once per run; the store is keyed by bytes, not paths."""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
from datahelp import write_jpegs

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.usefixtures("_isolated_engine_cache")  # these count builds: they start from an empty store

TINY = "tiny_engine_build"
N_IMAGES = 24
COLUMNS = [("onnxruntime", "fp32"), ("onnxruntime", "int8"), ("openvino", "fp32"), ("openvino", "int8")]


def _tiny_module() -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)
    )  # fmt: skip


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A tiny registered model (10 classes) and a weights file of its own (custom weights)."""
    from zoobench.models import registry
    from zoobench.models.spec import ModelSpec

    pp = registry.get_spec("mnasnet1_0").preprocess
    spec = ModelSpec(TINY, _tiny_module, None, (), pp, num_classes=10, description="test model")
    registry._ensure_zoo()
    monkeypatch.setitem(registry._REGISTRY, TINY, spec)
    torch.manual_seed(1)
    weights = tmp_path / "weights" / "tiny.pth"
    weights.parent.mkdir()
    torch.save(_tiny_module().state_dict(), weights)
    return weights


@pytest.fixture(scope="module")
def labeled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("skimage")
    folder = tmp_path_factory.mktemp("val") / "images"
    paths = write_jpegs(folder, N_IMAGES)
    labels = folder.parent / "labels.txt"
    labels.write_text("".join(f"{p.name} {i % 10}\n" for i, p in enumerate(paths)))
    return folder, labels


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every export and every runtime compile, counted where they happen (a build that bypasses the store counts)."""
    import zoobench.export as export
    from zoobench.runtimes import runtime_module

    counts: Counter[str] = Counter()
    real_export = export.export_model

    def counted_export(*a: Any, **k: Any) -> Any:
        counts["export"] += 1
        return real_export(*a, **k)

    monkeypatch.setattr(export, "export_model", counted_export)
    for rt in ("onnxruntime", "openvino"):
        mod = runtime_module(rt)
        real = mod.compile_artifact

        def counted(*a: Any, _rt: str = rt, _real: Any = real, **k: Any) -> Any:
            counts[f"{_rt}-{a[2]}"] += 1  # compile_artifact(core, out, precision, ...)
            return _real(*a, **k)

        monkeypatch.setattr(mod, "compile_artifact", counted)
    return counts


def _run(model: str, weights: Path, rundir: Path, labeled: tuple[Path, Path], columns: list[tuple[str, str]],
         **extra: Any) -> Path:  # fmt: skip
    from zoobench.run.chain import RunConfig, run_models
    from zoobench.run.checks import validate_models

    runtimes = sorted({rt for rt, _ in columns}, key=[rt for rt, _ in columns].index)
    precisions = sorted({p for _, p in columns}, key=[p for _, p in columns].index)
    cfg = RunConfig.of(
        data=str(labeled[0]), labels=str(labeled[1]), runtimes=runtimes, precisions=precisions, batch_sizes=[4],
        seconds=0.0, repeats=1, min_iters=1, warmup=0, infer_batch_size=8, quiet=True, weights=str(weights), **extra,
    )  # fmt: skip
    recipes = validate_models([model], cfg.infer.weights)
    run_models([model], rundir, cfg, recipes=recipes)
    return rundir / model


def _records(mdir: Path, rt: str, prec: str) -> tuple[dict[str, Any], dict[str, Any]]:
    col = f"{rt}-{prec}"
    acc_path = mdir / "infer" / ("accuracy.json" if (rt, prec) == ("onnxruntime", "fp32") else f"{col}/accuracy.json")
    return json.loads(acc_path.read_text())["engine"], json.loads((mdir / "perf" / f"{col}.json").read_text())["engine"]


def test_each_column_times_and_tunes_the_engine_it_scores_built_once(
    tiny: Path, labeled: tuple[Path, Path], builds: Counter[str], tmp_path: Path
) -> None:
    from zoobench.artifact import load_engine
    from zoobench.io import file_digest

    mdir = _run(TINY, tiny, tmp_path / "run", labeled, COLUMNS)
    stages = json.loads((mdir / "stages.json").read_text())["stages"]
    assert all(stages[f"perf:{rt}-{p}"]["status"] != "unavailable" for rt, p in COLUMNS), stages
    assert builds == {"export": 1, "onnxruntime-int8": 1, "openvino-int8": 1}  # one build per compiled column
    split = json.loads((mdir / "calibration.json").read_text())
    for rt, prec in COLUMNS:
        scored, timed = _records(mdir, rt, prec)
        assert scored == timed, (rt, prec)  # the file timed is the file scored
        assert file_digest(mdir / scored["file"]) == scored["sha256"] and scored["input"] == "uint8"
        assert scored["bytes"] == (mdir / scored["file"]).stat().st_size
        if prec == "int8":  # calibrated on the run's calibration images, never random data
            calib = load_engine(str(mdir / scored["file"])).metadata["calibration"]
            assert calib["kind"] == "images" and calib["count"] == len(split["calibration"])
            assert calib["folder"] == str(Path(split["folder"] or labeled[0]).resolve())  # in-sample: all images

    tuned = _run(TINY, tiny, tmp_path / "tuned", labeled, COLUMNS, tune=0.4)
    assert builds == {"export": 1, "onnxruntime-int8": 1, "openvino-int8": 1}  # another run: all from the store
    for rt, prec in COLUMNS:
        scored, timed = _records(tuned, rt, prec)
        assert scored == timed
        engine_file = tuned / scored["file"]
        profile = json.loads(engine_file.with_name(f"{engine_file.stem}.tuned.json").read_text())
        assert profile["columns"][f"{rt} {prec}"]["engine_file"] == engine_file.name  # tune timed it too
        if prec == "int8":  # so tune's int8 is calibrated on the run's calibration images, not random data
            assert load_engine(str(engine_file)).metadata["calibration"]["kind"] == "images"
        assert json.loads((tuned / "stages.json").read_text())["stages"][f"tune:{rt}-{prec}"]["status"] == "done"


def test_weights_are_hashed_once_per_run_with_a_torch_column(
    tiny: Path, labeled: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import zoobench.io
    from zoobench.models import weights as weights_mod

    monkeypatch.setattr(weights_mod, "_DIGESTS", {})  # nothing hashed before this run counts
    monkeypatch.setattr(weights_mod, "_KNOWN", {})
    real = zoobench.io.file_digest
    seen: Counter[str] = Counter()

    def counted(path: Any, algo: str = "sha256") -> str:
        seen[str(Path(path).resolve())] += 1
        return real(path, algo)

    for name, mod in list(sys.modules.items()):  # every module that holds io's file_digest under that name
        if name.startswith("zoobench") and getattr(mod, "file_digest", None) is real:
            monkeypatch.setattr(mod, "file_digest", counted)
    mdir = _run(TINY, tiny, tmp_path / "run", labeled, [("onnxruntime", "fp32"), ("torch", "fp32")])
    stages = json.loads((mdir / "stages.json").read_text())["stages"]
    assert stages["score:torch-fp32"]["status"] == "done" and stages["perf:torch-fp32"]["status"] == "done", stages
    assert seen[str(tiny.resolve())] == 1


def test_weights_at_another_path_reuse_the_stored_engine(
    tiny: Path, labeled: tuple[Path, Path], builds: Counter[str], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from zoobench.artifact import load_engine
    from zoobench.cli import cli

    first = CliRunner().invoke(cli, ["export", TINY, "-w", str(tiny), "-o", str(tmp_path / "a.onnx"), "--json"])
    assert first.exit_code == 0, first.output
    copy = tmp_path / "elsewhere" / "mine.pth"
    copy.parent.mkdir()
    shutil.copyfile(tiny, copy)
    second = CliRunner().invoke(cli, ["export", TINY, "-w", str(copy), "-o", str(tmp_path / "b.onnx"), "--json"])
    assert second.exit_code == 0, second.output
    assert builds["export"] == 1 and json.loads(second.output)["reused"] is True
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()

    tiny.unlink()  # the stored engine's metadata names a file that is gone: torch loads the copy (same sha256)
    mdir = _run(TINY, copy, tmp_path / "run", labeled, [("onnxruntime", "fp32"), ("torch", "fp32")])
    assert builds["export"] == 1  # run reused the stored export too
    named = load_engine(str(mdir / "engine" / f"{TINY}.onnx")).metadata["weights"]["files"][0]["path"]
    assert named == str(tiny)
    stages = json.loads((mdir / "stages.json").read_text())["stages"]
    assert stages["score:torch-fp32"]["status"] == "done" and stages["perf:torch-fp32"]["status"] == "done", stages
