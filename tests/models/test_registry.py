from __future__ import annotations

import pytest

from zoobench.errors import ModelNotFoundError, UsageError
from zoobench.models import Preprocess, get_spec, list_specs

SEEDS = {
    "wide_resnet50_2": ("image", "class", 78.468, (3, 224, 224)),
    "mnasnet1_0": ("image", "class", 73.456, (3, 224, 224)),
    "xception": ("image", "class", 78.892, (3, 299, 299)),
    "dino_resnet50": ("input", "output", 75.3, (3, 224, 224)),
    "resnest50": ("actual_input_1", "output1", 81.03, (3, 224, 224)),
}


def test_the_five_seed_models_are_registered_with_seed_facts() -> None:
    seeds = {s.name: s for s in list_specs() if s.seed}
    assert set(seeds) == set(SEEDS)
    for name, (inp, out, top1, size) in SEEDS.items():
        spec = seeds[name]
        assert (spec.input_name, spec.output_name) == (inp, out)
        assert spec.reference is not None and spec.reference.top1 == top1
        assert spec.preprocess.input_size == size
        assert spec.seed_npu is not None and spec.weights


def test_modelzoo_variants_are_the_seeds_pipelines() -> None:
    x = get_spec("xception")
    assert (x.preprocess.resize, x.preprocess_for("modelzoo").resize) == (333, 342)
    for name in ("dino_resnet50", "resnest50"):
        zoo = get_spec(name).preprocess_for("modelzoo")
        assert (zoo.resize_mode, zoo.resize, zoo.crop_size) == ("squash", 256, (224, 224))
        assert get_spec(name).preprocess.resize_mode == "shorter"
    with pytest.raises(UsageError, match="no preprocessing variant"):
        x.preprocess_for("nope")


def test_unknown_model_suggests_names() -> None:
    with pytest.raises(ModelNotFoundError, match="Did you mean mnasnet1_0"):
        get_spec("mnasnet")


def test_timm_and_torchvision_names_resolve() -> None:
    pytest.importorskip("timm")
    spec = get_spec("timm:resnet18")
    assert spec.preprocess.input_size == (3, 224, 224)
    assert get_spec("torchvision:resnet18").name == "torchvision:resnet18"
    with pytest.raises(ModelNotFoundError):
        get_spec("timm:not_a_model_xyz")


def test_preprocess_validates_and_round_trips() -> None:
    pp = Preprocess.from_crop_pct(299, 0.8975, interpolation="bicubic")
    assert pp.resize == 333 and Preprocess.from_dict(pp.to_dict()) == pp
    assert pp.hash() != Preprocess().hash()
    with pytest.raises(ValueError, match="resize_mode"):
        Preprocess(resize_mode="crop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="smaller than the crop"):
        Preprocess(resize=200)
