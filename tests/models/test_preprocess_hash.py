"""The preprocessing hashes of the zoo's models and of timm/torchvision specs whose preprocessing is unchanged,
pinned as they were before timm's crop modes were read: a cache, an export or a run ledger keyed by them stays
valid. Only a model whose pixels change (a timm ``squash`` config) may get a new hash."""

from __future__ import annotations

import pytest

from zoobench.models.registry import get_spec, list_specs

# name -> (hash, geometry_hash) of the default preprocessing, then of each variant
ZOO = {
    "dino_resnet50": ("1e07040b8ff9b712", "ccbe8f0d68796ddc", {"modelzoo": ("b00fed1f5e001829", "8610bf89c11292c2")}),
    "efficientnet_lite0": (
        "e34a958319aac0bb",
        "ccbe8f0d68796ddc",
        {"imagenet-norm": ("1e07040b8ff9b712", "ccbe8f0d68796ddc")},
    ),
    "mnasnet1_0": ("1a005e0c4689ae01", "59094d3119c29cf2", {}),
    "resnest50": ("1a005e0c4689ae01", "59094d3119c29cf2", {"modelzoo": ("b00fed1f5e001829", "8610bf89c11292c2")}),
    "wide_resnet50_2": ("1a005e0c4689ae01", "59094d3119c29cf2", {}),
    "xception": ("36e9b42d1abe9fc7", "147970e3004d5851", {"modelzoo": ("b59637bd5d65791c", "f5e2edeb067e44d4")}),
}

# center-crop configs with bilinear/bicubic: their pixels do not change, so neither does their hash
LIBRARY = {
    "timm:resnet50.a1_in1k": ("5db04b69d2685d84", "d2292407326977c1"),
    "timm:vit_base_patch16_224.augreg2_in21k_ft_in1k": ("c678b38d16c1c3b9", "c79d2ebc02e79bb6"),
    "timm:efficientnet_b0.ra_in1k": ("1e07040b8ff9b712", "ccbe8f0d68796ddc"),
    "timm:deit_small_patch16_224.fb_in1k": ("ee5be79298bbf2d6", "c79d2ebc02e79bb6"),
    "torchvision:resnet50": ("a6299b01bc0898e6", "c96a1ee86e708ae6"),
    "torchvision:mobilenet_v3_small": ("1a005e0c4689ae01", "59094d3119c29cf2"),
}


def test_zoo_hashes_pinned() -> None:
    seen = {}
    for spec in list_specs():
        variants = {k: (v.hash(), v.geometry_hash()) for k, v in spec.variants.items()}
        seen[spec.name] = (spec.preprocess.hash(), spec.preprocess.geometry_hash(), variants)
    assert seen == ZOO


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_library_hashes_pinned(name: str) -> None:
    pytest.importorskip("timm" if name.startswith("timm:") else "torchvision")
    pp = get_spec(name).preprocess
    assert (pp.hash(), pp.geometry_hash()) == LIBRARY[name]
