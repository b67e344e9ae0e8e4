"""``prep --format bin`` against timm's own eval transform, on crops of real photos.

For each pretrained cfg, the float32 CHW ``.bin`` that prep writes for a ``timm:NAME`` model is compared with
``timm.data.create_transform(**resolve_data_config({}, model=...))`` applied to the same PIL image (the
pretrained cfgs only: no weights are downloaded). The cfgs cover timm's center and squash crops, bilinear and
bicubic, crop_pct 0.875-1.0, sizes 224-384 (and one 512 bilinear squash), ImageNet and other mean/std, and the
one squash cfg whose crop offset is where the seeds' ``int((n - crop) / 2)`` and torchvision's rounding part.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from zoobench.errors import ZoobenchError

# Looked up, not imported: every pytest-xdist worker collects this file, one runs it (importing these is ~3 s)
MISSING = [m for m in ("timm", "skimage", "sklearn", "matplotlib") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}")

# name: (crop_mode, interpolation, crop_pct, size, mean) as timm's pretrained cfg has them, checked below
CONFIGS = {
    "resnet50.tv_in1k": ("center", "bilinear", 0.875, 224, "imagenet"),
    "resnet50.a1_in1k": ("center", "bicubic", 0.95, 224, "imagenet"),
    "vit_base_patch16_224.augreg2_in21k_ft_in1k": ("center", "bicubic", 0.9, 224, "other"),
    "mobilenetv3_large_150d.ra4_e3600_r256_in1k": ("center", "bilinear", 0.95, 256, "other"),
    "repvgg_d2se.rvgg_in1k": ("center", "bilinear", 1.0, 320, "imagenet"),
    "tf_efficientnet_lite4.in1k": ("center", "bilinear", 0.92, 380, "other"),
    "deit_base_patch16_384.fb_in1k": ("center", "bicubic", 1.0, 384, "imagenet"),
    "convnext_tiny.fb_in22k_ft_in1k_384": ("squash", "bicubic", 1.0, 384, "imagenet"),
    "coat_lite_medium_384.in1k": ("squash", "bicubic", 1.0, 384, "imagenet"),
    "dm_nfnet_f2.dm_in1k": ("squash", "bicubic", 0.92, 256, "imagenet"),
    "dm_nfnet_f4.dm_in1k": ("squash", "bicubic", 0.951, 384, "imagenet"),  # 403 - 384 = 19: 9 vs 10
    "tf_efficientnetv2_b3.in21k_ft_in1k": ("squash", "bicubic", 0.9, 240, "other"),
    "vit_large_patch14_clip_336.openai_ft_in12k_in1k": ("squash", "bicubic", 1.0, 336, "other"),
    "vit_small_patch16_lingbot.robbyant": ("squash", "bilinear", 1.0, 512, "imagenet"),
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)


def _photos() -> dict[str, np.ndarray]:
    """Crops of the photos that ship in scikit-image, scikit-learn and matplotlib: landscape, portrait, odd
    sizes, smaller than the crop (upsampled), square and exactly 384×384 (the squash leaves it as it is)."""
    import matplotlib.cbook
    from PIL import Image
    from skimage import data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
        hopper = np.asarray(im.convert("RGB"))
    return {
        "astronaut": data.astronaut(),
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket_portrait": data.rocket()[:, 100:367],
        "china_odd": china[30:327, 41:600],
        "flower_small": flower[101:302, 150:483],
        "hopper": hopper,
        "hopper_square": hopper[100:485, 60:445],
        "hubble_384": data.hubble_deep_field()[200:584, 300:684],
        "tiny": data.immunohistochemistry()[7:104, 11:141],
    }


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos")
    for name, arr in _photos().items():
        Image.fromarray(np.ascontiguousarray(arr)).save(folder / f"{name}.png")
    return folder


def _timm_output(name: str, path: Path) -> np.ndarray:
    import timm
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    cfg = timm.models.get_pretrained_cfg(name)
    transform = create_transform(**resolve_data_config({}, pretrained_cfg=cfg.to_dict()))
    with Image.open(path) as im:
        return transform(im.convert("RGB")).numpy()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_prep_bin_matches_timm(name: str, photo_dir: Path, tmp_path: Path) -> None:
    import timm

    from zoobench.data.cache import prep_cache
    from zoobench.models.registry import get_spec

    cfg = timm.models.get_pretrained_cfg(name)
    mode, interp, crop_pct, size, mean = CONFIGS[name]
    assert ((cfg.crop_mode or "center"), cfg.interpolation, cfg.crop_pct, cfg.input_size[-1]) == (
        mode,
        interp,
        crop_pct,
        size,
    )
    assert (tuple(cfg.mean) == IMAGENET_MEAN) == (mean == "imagenet")
    pp = get_spec(f"timm:{name}").preprocess
    assert pp.resize_mode == ("squash_center" if mode == "squash" else "shorter")
    out = tmp_path / "bins"
    prep_cache(photo_dir, pp, out, fmt="bin", workers=0)
    worst = 0.0
    for png in sorted(photo_dir.glob("*.png")):
        ours = np.fromfile(out / f"{png.stem}.bin", dtype=np.float32).reshape(pp.input_size)
        theirs = _timm_output(name, png)
        assert theirs.shape == ours.shape, png.name
        worst = max(worst, float(np.abs(ours - theirs).max()))
    assert worst <= 1e-5, f"{name}: max |Δ| {worst}"


def test_the_seeds_squash_offset_is_not_timms() -> None:
    """The case the rounding decides: the seeds' squash crops dm_nfnet_f4 one pixel off timm's."""
    from PIL import Image

    from zoobench.data.transforms import resize_crop
    from zoobench.models.registry import get_spec

    pp = get_spec("timm:dm_nfnet_f4.dm_in1k").preprocess
    seeds = dataclasses.replace(pp, resize_mode="squash")
    img = Image.fromarray(np.ascontiguousarray(_photos()["coffee"]))
    timm_crop, seed_crop = resize_crop(img, pp), resize_crop(img, seeds)
    assert not np.array_equal(timm_crop, seed_crop)
    assert pp.hash() != seeds.hash()


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("deepseek_vit_412m.deepseek_v4_flash_vision_exp", "crop_mode='border'"),
        ("vit_base_patch16_sapiens2.fb", "input_size=(3, 1024, 768)"),
        ("volo_d4_448.sail_in1k", "crop_pct=1.15"),
    ],
)
def test_what_is_not_reproduced_is_refused_in_one_line(name: str, field: str) -> None:
    from zoobench.models.registry import get_spec

    with pytest.raises(ZoobenchError) as info:
        get_spec(f"timm:{name}")
    msg = str(info.value)
    assert "\n" not in msg and f"timm:{name}" in msg and field in msg


def test_prep_cli_refuses_a_border_config(photo_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from zoobench.cli import cli

    name = "deepseek_vit_412m.deepseek_v4_flash_vision_exp"
    res = CliRunner().invoke(
        cli, ["prep", "--data", str(photo_dir), "--model", f"timm:{name}", "--format", "bin", "-o", str(tmp_path / "o")]
    )
    assert res.exit_code != 0
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert lines[-1].startswith("Error: ") and "crop_mode='border'" in lines[-1] and name in lines[-1]
    assert not (tmp_path / "o").exists()
