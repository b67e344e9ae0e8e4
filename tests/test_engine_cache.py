"""Exported engines are kept in the engine store keyed by what made them (the weights' bytes, not their path) and
reused across output directories; `zoobench cache` lists and prunes it; `run`'s --weights MODEL=FILE gives each
model its own checkpoint."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from zoobench.cli import cli

torch = pytest.importorskip("torch")


def test_an_export_is_reused_in_another_directory_and_never_when_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_engine_cache: Path
) -> None:
    import zoobench.export as ex
    from zoobench.engines import resolve_engine

    calls: list[str] = []
    real = ex.export_model
    monkeypatch.setattr(ex, "export_model", lambda *a, **k: calls.append(str(a[2])) or real(*a, **k))
    said: list[str] = []
    kw = {"weights": "random", "exporter": "torchscript", "log": said.append}
    a = resolve_engine("mnasnet1_0", workdir=tmp_path / "a", **kw)
    b = resolve_engine("mnasnet1_0", workdir=tmp_path / "b", **kw)
    assert len(calls) == 1 and Path(b.path) == tmp_path / "b" / "mnasnet1_0.onnx"
    assert Path(a.path).read_bytes() == Path(b.path).read_bytes()
    assert Path(a.path).samefile(b.path)  # both are links to the stored entry
    assert any(s.startswith("reusing the stored export ") for s in said), said
    (entry,) = (_isolated_engine_cache / "engines" / "mnasnet1_0").glob("export-*/mnasnet1_0.onnx")  # not ~/.cache
    # a damaged entry is exported again, never loaded (another exporter, weights, ...: another key, below)
    entry.unlink()
    entry.write_bytes(b"not an onnx file")
    resolve_engine("mnasnet1_0", workdir=tmp_path / "d", **kw)
    assert len(calls) == 2 and entry.stat().st_size > 1000  # re-exported, and the entry made whole again


def test_two_builders_of_one_recipe_at_once_export_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_engine_cache: Path
) -> None:
    """A second process (here: a thread with its own lock file handle) that wants an engine being made waits for
    it, says so, and reuses it: two runs started together export once."""
    import threading

    import zoobench.export as ex
    from zoobench.engines import resolve_engine

    started, b_waits = threading.Event(), threading.Event()
    calls: list[str] = []
    real = ex.export_model

    def slow_export(*a: object, **k: object) -> object:
        calls.append(str(a[2]))
        started.set()
        assert b_waits.wait(120), "the second builder never waited"  # B is blocked on the entry's lock now
        return real(*a, **k)

    monkeypatch.setattr(ex, "export_model", slow_export)
    kw = {"weights": "random", "exporter": "torchscript"}
    said_b: list[str] = []

    def b_say(msg: str) -> None:
        said_b.append(msg)
        if msg.startswith("waiting for another process"):
            b_waits.set()

    out: dict[str, object] = {}
    a = threading.Thread(target=lambda: out.update(a=resolve_engine("mnasnet1_0", workdir=tmp_path / "a", **kw)))
    a.start()
    assert started.wait(300)
    b = threading.Thread(
        target=lambda: out.update(b=resolve_engine("mnasnet1_0", workdir=tmp_path / "b", log=b_say, **kw))
    )
    b.start()
    a.join(300)
    b.join(300)
    assert len(calls) == 1, calls
    assert said_b[0] == "waiting for another process making the same export of mnasnet1_0 ..."
    assert said_b[1].startswith("reusing the stored export "), said_b
    assert Path(out["a"].path).samefile(out["b"].path)  # type: ignore[attr-defined]


def test_the_key_changes_with_everything_that_made_the_engine_and_not_with_paths() -> None:
    import dataclasses

    from zoobench.engines.recipe import Recipe
    from zoobench.models import get_spec
    from zoobench.models.weights import ResolvedWeights

    w = ResolvedWeights(("/w.pth",), ("ab",), False, "custom", False)
    base = Recipe("m", get_spec("mnasnet1_0").preprocess, weights=w)
    key = base.export_key()
    moved = dataclasses.replace(base, weights=ResolvedWeights(("/elsewhere/x.pth",), ("ab",), False, "custom", False))
    assert moved.export_key() == key  # paths are provenance, not key
    changed = [
        {"weights": ResolvedWeights(("/w.pth",), ("cd",), False, "custom", False)},
        {"preprocess": dataclasses.replace(base.preprocess, resize=288)}, {"opset": 11}, {"exporter": "torchscript"},
        {"simplify": False}, {"weights": ResolvedWeights((), (), True, "random", False)},
    ]  # fmt: skip
    keys = {dataclasses.replace(base, **c).export_key() for c in changed} | {key}
    assert len(keys) == len(changed) + 1
    col = base.column("openvino", "int8", calibration="c1")
    assert col.compile_key() != base.column("openvino", "int8", calibration="c2").compile_key()
    assert col.compile_key() != base.column("onnxruntime", "int8", calibration="c1").compile_key()
    assert base.uint8_key() != key


def test_cache_lists_the_store_and_prunes_it_by_age_and_size(tmp_path: Path, _isolated_engine_cache: Path) -> None:
    import json
    import os
    import time

    from zoobench.engines import store

    now = time.time()
    for i, (step, size, days) in enumerate([("export", 3000, 40), ("uint8", 2000, 10), ("compile", 1000, 1)]):
        with store.building("m", step, f"{i}" * 64) as tmp:
            (tmp / f"m.{step}.onnx").write_bytes(b"x" * size)
        os.utime(store.entry_dir("m", step, f"{i}" * 64), (now - days * 86400,) * 2)
    res = CliRunner().invoke(cli, ["cache", "--json"])
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)
    steps = [(e["step"], e["bytes"]) for e in listed["entries"]]
    assert steps == [("export", 3000), ("uint8", 2000), ("compile", 1000)]  # the least recently used first
    assert listed["bytes"] == 6000 and listed["store"] == str(_isolated_engine_cache / "engines")
    res = CliRunner().invoke(cli, ["cache", "--older-than", "30d", "--json"])  # the 40-day-old export goes
    assert [e["step"] for e in json.loads(res.output)["entries"]] == ["uint8", "compile"]
    res = CliRunner().invoke(cli, ["cache", "--max-size", "1.5K", "--json"])  # the least recently used goes first
    out = json.loads(res.output)
    assert [e["step"] for e in out["entries"]] == ["compile"] and out["removed_bytes"] == 2000
    res = CliRunner().invoke(cli, ["cache", "--max-size", "lots"])
    assert res.exit_code == 2 and "500M" in res.output
    res = CliRunner().invoke(cli, ["cache"])
    assert res.exit_code == 0 and "1 entries" in res.output and "compile" in res.output


def test_run_weights_model_equals_file() -> None:
    from zoobench.cli.options import split_weights

    models = ["wide_resnet50_2", "mnasnet1_0"]
    assert split_weights(("mnasnet1_0=m.pth",), models) == (None, {"mnasnet1_0": "m.pth"})
    assert split_weights(("random", "mnasnet1_0=m.pth"), models) == ("random", {"mnasnet1_0": "m.pth"})
    assert split_weights(("mine.pth",), ["mnasnet1_0"]) == ("mine.pth", {})  # the bare form, one model
    for bad, why in [
        (("mine.pth",), "one model's checkpoint, and 2 models would get it"),
        (("mnasnet1_0=a.pth", "mnasnet1_0=b.pth"), "given twice"),
        (("resnet=a.pth",), "'resnet' is not a model of this run"),
        (("a.pth", "b.pth"), "MODEL=PATH"),
    ]:
        with pytest.raises(click.BadParameter, match=why):
            split_weights(bad, models)


def test_run_checks_each_models_own_weights_before_creating_anything(tmp_path: Path) -> None:
    from zoobench.engines import resolve
    from zoobench.models import get_spec
    from zoobench.run.chain import RunConfig

    mine = tmp_path / "mnas.pth"
    torch.save(get_spec("mnasnet1_0").builder().state_dict(), mine)
    res = CliRunner().invoke(cli, ["run", "mnasnet1_0", "torchvision:resnet18", "-w", f"torchvision:resnet18={mine}",
                                   "-w", "random", "-o", str(tmp_path / "run")])  # fmt: skip
    assert res.exit_code == 1 and "torchvision:resnet18: " in res.output and "do not fit" in res.output
    assert "mnasnet1_0:" not in res.output and not (tmp_path / "run").exists()
    res = CliRunner().invoke(cli, ["run", "mnasnet1_0", "torchvision:resnet18", "-w", str(mine)])
    assert res.exit_code == 2 and "--weights MODEL=PATH" in res.output
    cfg = RunConfig.of(weights="random", model_weights={"mnasnet1_0": str(mine)})
    own = resolve("mnasnet1_0", weights=cfg.weights_for("mnasnet1_0")).weights
    assert own is not None and own.provenance == "custom"
    other = resolve("torchvision:resnet18", weights=cfg.weights_for("torchvision:resnet18")).weights
    assert other is not None and other.random
