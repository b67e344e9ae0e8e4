"""torchvision:NAME and timm:NAME use the library's own published weights, found in the library's own cache
(torch hub's checkpoints folder, the Hugging Face cache), offline; torchvision's enum gives the preprocessing and
the reference accuracy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from zoobench.errors import WeightsError  # noqa: E402
from zoobench.io import file_digest  # noqa: E402
from zoobench.models import get_spec  # noqa: E402
from zoobench.models.weights import build_model, resolve  # noqa: E402


def test_torchvision_names_carry_the_enums_weights_preprocessing_and_reference() -> None:
    spec = get_spec("torchvision:mobilenet_v3_small")
    (wf,) = spec.weights
    assert (wf.filename, wf.sha256_prefix, wf.library) == ("mobilenet_v3_small-047dcff4.pth", "047dcff4", "torch.hub")
    assert spec.reference is not None and (spec.reference.top1, spec.reference.top5) == (67.668, 87.402)
    assert spec.reference.source == "torchvision MobileNet_V3_Small_Weights.IMAGENET1K_V1 meta"
    r50 = get_spec("torchvision:resnet50")  # IMAGENET1K_V2 is evaluated at resize 232, not 256
    assert (r50.preprocess.resize, r50.preprocess.input_size) == (232, (3, 224, 224))


def test_torchvision_weights_come_from_torch_hubs_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = get_spec("torchvision:mobilenet_v3_small")
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    cached = checkpoints / spec.weights[0].filename
    torch.manual_seed(1)
    torch.save(spec.builder().state_dict(), cached)
    # the file is found there (no download); its bytes are not the published ones, and the check says so
    with pytest.raises(WeightsError, match="does not start with 047dcff4"):
        resolve(spec, None)
    # the same path with the checksum of these bytes: loaded from torch hub's cache, weights_only
    mine = dataclasses.replace(
        spec, weights=(dataclasses.replace(spec.weights[0], sha256_prefix=file_digest(cached)[:8]),)
    )
    model, resolved = build_model(mine, None)
    assert resolved.paths == (str(cached),) and resolved.provenance == "published" and resolved.verified
    first = next(iter(torch.load(cached, weights_only=True).values()))
    assert torch.equal(next(iter(model.state_dict().values())), first)


def test_timm_weights_come_from_the_hugging_face_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("timm")
    hf = pytest.importorskip("huggingface_hub")
    from safetensors.torch import save_file

    monkeypatch.setattr(hf.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    spec = get_spec("timm:resnet18")
    (wf,) = spec.weights
    assert wf.library == "hf:timm/resnet18.a1_in1k" and wf.filename == "model.safetensors"
    repo = tmp_path / "hf" / "models--timm--resnet18.a1_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    torch.manual_seed(2)
    state = {k: v.contiguous() for k, v in spec.builder().state_dict().items()}
    save_file(state, str(repo / "snapshots" / "0123abcd" / "model.safetensors"))
    model, resolved = build_model(spec, None)
    assert resolved.provenance == "published" and resolved.paths[0].endswith("snapshots/0123abcd/model.safetensors")
    assert torch.equal(model.state_dict()["fc.weight"], state["fc.weight"])
