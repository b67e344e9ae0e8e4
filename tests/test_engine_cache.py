"""Exported engines are kept in a cache keyed by what made them and reused across output directories; `run`'s
--weights MODEL=FILE gives each model its own checkpoint."""

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

    calls: list[str] = []
    real = ex.export_model
    monkeypatch.setattr(ex, "export_model", lambda *a, **k: calls.append(str(a[2])) or real(*a, **k))
    said: list[str] = []
    kw = {"weights": "random", "exporter": "torchscript", "log": said.append}
    a = ex.resolve_engine("mnasnet1_0", workdir=tmp_path / "a", **kw)
    b = ex.resolve_engine("mnasnet1_0", workdir=tmp_path / "b", **kw)
    assert len(calls) == 1 and Path(b.path) == tmp_path / "b" / "mnasnet1_0.onnx"
    assert Path(a.path).read_bytes() == Path(b.path).read_bytes()
    assert any(s.startswith("reusing the export cached as ") for s in said), said
    (entry,) = (_isolated_engine_cache / "engines").glob("mnasnet1_0-*.onnx")  # in $ZOOBENCH_CACHE, not ~/.cache
    # a damaged entry is exported again, never loaded (another exporter, weights, ...: another key, below)
    entry.write_bytes(b"not an onnx file")
    ex.resolve_engine("mnasnet1_0", workdir=tmp_path / "d", **kw)
    assert len(calls) == 2 and entry.stat().st_size > 1000  # re-exported, and the entry made whole again


def test_the_key_changes_with_everything_that_made_the_engine() -> None:
    from zoobench.engine_cache import engine_key

    base = {"model": "m", "weights": {"random": False, "files": [{"path": "/w.pth", "sha256": "ab"}]},
            "preprocess_hash": "p1", "opset": 18, "exporter": "dynamo", "input_dtype": "float32"}  # fmt: skip
    key = engine_key(**base)
    assert engine_key(**base) == key
    changed = [
        {"weights": {"random": False, "files": [{"path": "/w.pth", "sha256": "cd"}]}},
        {"preprocess_hash": "p2"}, {"opset": 11}, {"exporter": "torchscript"}, {"input_dtype": "uint8"},
        {"weights": {"random": True, "files": []}},
    ]  # fmt: skip
    assert len({engine_key(**{**base, **c}) for c in changed} | {key}) == len(changed) + 1


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
    from zoobench.models import get_spec
    from zoobench.run.chain import RunConfig, _export_inputs

    mine = tmp_path / "mnas.pth"
    torch.save(get_spec("mnasnet1_0").builder().state_dict(), mine)
    res = CliRunner().invoke(cli, ["run", "mnasnet1_0", "torchvision:resnet18", "-w", f"torchvision:resnet18={mine}",
                                   "-w", "random", "-o", str(tmp_path / "run")])  # fmt: skip
    assert res.exit_code == 1 and "torchvision:resnet18: " in res.output and "do not fit" in res.output
    assert "mnasnet1_0:" not in res.output and not (tmp_path / "run").exists()
    res = CliRunner().invoke(cli, ["run", "mnasnet1_0", "torchvision:resnet18", "-w", str(mine)])
    assert res.exit_code == 2 and "--weights MODEL=PATH" in res.output
    cfg = RunConfig.of(weights="random", model_weights={"mnasnet1_0": str(mine)})
    assert _export_inputs("mnasnet1_0", cfg)["weights"]["provenance"] == "custom"
    assert _export_inputs("torchvision:resnet18", cfg)["weights"]["random"] is True
