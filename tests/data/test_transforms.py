"""The reference preprocessing against torchvision (bit exact) and the seeds' squash pipeline."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import skimage.data
from PIL import Image

from zoobench.data.transforms import center_crop, load_rgb, normalize, preprocess_image, to_chw_uint8
from zoobench.errors import DataError
from zoobench.models.spec import IMAGENET_MEAN, IMAGENET_STD, Preprocess

torch = pytest.importorskip("torch")
T = pytest.importorskip("torchvision.transforms")

PHOTOS = ["chelsea", "coffee", "astronaut", "rocket"]  # 451x300, 600x400, 512x512, 640x427
TV_INTERP = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC}


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    return {name: Image.fromarray(getattr(skimage.data, name)()) for name in PHOTOS}


def torchvision_reference(img: Image.Image, pp: Preprocess) -> np.ndarray:
    tf = T.Compose(
        [
            T.Resize(pp.resize, interpolation=TV_INTERP[pp.interpolation]),
            T.CenterCrop(pp.crop_size),
            T.ToTensor(),
            T.Normalize(pp.mean, pp.std),
        ]
    )
    return tf(img).numpy()


@pytest.mark.parametrize("interp", ["bilinear", "bicubic"])
@pytest.mark.parametrize(
    "pp_kw",
    [
        {},  # Resize(256) + CenterCrop(224), ImageNet mean/std
        {"input_size": (3, 299, 299), "resize": 342, "mean": (0.5,) * 3, "std": (0.5,) * 3},  # Xception
        {"input_size": (3, 201, 240), "resize": 257},  # non-square, odd sizes: half-pixel crop offsets
    ],
)
def test_shorter_matches_torchvision_bit_exact(photos, interp, pp_kw) -> None:
    pp = Preprocess(interpolation=interp, **pp_kw)
    for name, img in photos.items():
        ours = preprocess_image(img, pp)
        ref = torchvision_reference(img, pp)
        assert ours.dtype == np.float32 and ours.shape == (3, *pp.crop_size)
        assert np.array_equal(ours, ref), f"{name} {interp} {pp_kw} differs from torchvision"


def test_image_smaller_than_crop_matches_torchvision(photos) -> None:
    small = photos["rocket"].resize((90, 61))
    pp = Preprocess()
    assert np.array_equal(preprocess_image(small, pp), torchvision_reference(small, pp))


@pytest.mark.parametrize("size", [(7, 10), (30, 5), (9, 40), (12, 15)])  # (w, h)
def test_center_crop_pads_like_torchvision(size) -> None:
    rng = np.random.default_rng(0)
    arr = rng.integers(1, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    ref = np.asarray(T.CenterCrop((12, 15))(Image.fromarray(arr)))
    ours = center_crop(arr, 12, 15)
    assert ours.shape == (12, 15, 3)
    assert np.array_equal(ours, ref)


def test_normalize_all_values_bit_exact() -> None:
    values = np.tile(np.arange(256, dtype=np.uint8), (3, 1))[:, None, :]  # (3, 1, 256): every uint8 value
    for mean, std in [(IMAGENET_MEAN, IMAGENET_STD), ((0.5,) * 3, (0.5,) * 3)]:
        pp = Preprocess(mean=mean, std=std)
        ref = T.Normalize(mean, std)(T.ToTensor()(Image.fromarray(values.transpose(1, 2, 0)))).numpy()
        assert np.array_equal(normalize(values, pp), ref)
        batch = normalize(np.stack([values, values[::-1]]), pp)
        assert batch.shape == (2, 3, 1, 256) and np.array_equal(batch[0], ref)


def seed_squash(img: Image.Image, mean_dtype: type) -> np.ndarray:
    """The seeds' DINO/ResNeSt preprocess (SEED_SPEC §1.5), written their way."""
    arr = np.array(img.resize((256, 256), Image.BILINEAR), dtype=np.float32)
    arr = arr[16:240, 16:240] / 255.0
    arr -= np.array(IMAGENET_MEAN, dtype=mean_dtype)
    arr /= np.array(IMAGENET_STD, dtype=mean_dtype)
    return arr.transpose(2, 0, 1)


def test_squash_matches_seed_pipeline(photos) -> None:
    pp = Preprocess(resize_mode="squash")
    for name, img in photos.items():
        ours = preprocess_image(img, pp)
        assert ours.shape == (3, 224, 224)
        # float32 mean/std: the same float32 operations in the same order, so bit exact.
        assert np.array_equal(ours, seed_squash(img, np.float32)), name
        # float64 mean/std (computed in float64, stored back to float32) may differ by an ulp.
        assert np.allclose(ours, seed_squash(img, np.float64), rtol=0, atol=1e-6), name


def test_squash_is_not_shorter_side(photos) -> None:
    img = photos["rocket"]  # not square: squash and shorter-side resize must differ
    a = to_chw_uint8(img, Preprocess(resize_mode="squash"))
    b = to_chw_uint8(img, Preprocess(resize_mode="shorter"))
    assert a.shape == b.shape == (3, 224, 224) and not np.array_equal(a, b)


@pytest.mark.parametrize("interp", ["bilinear", "bicubic", "nearest", "box", "hamming", "lanczos"])
@pytest.mark.parametrize(("crop", "resize"), [(224, 256), (384, 403), (240, 266), (300, 300)])
def test_squash_center_matches_torchvision_bit_exact(photos, interp, crop, resize) -> None:
    """``squash_center`` is torchvision's Resize((n, n)) + CenterCrop (timm's squash), for every filter they share;
    403 - 384 = 19 is where its crop offset (10) and the seeds' (9) part."""
    mode = getattr(T.InterpolationMode, interp.upper())
    pp = Preprocess(input_size=(3, crop, crop), resize=resize, resize_mode="squash_center", interpolation=interp)
    tf = T.Compose([T.Resize((resize, resize), interpolation=mode), T.CenterCrop(crop), T.ToTensor(),
                    T.Normalize(pp.mean, pp.std)])  # fmt: skip
    for name, img in photos.items():
        assert np.array_equal(preprocess_image(img, pp), tf(img).numpy()), f"{name} {interp} {crop}/{resize}"
    if (resize - crop) % 4 == 3:
        seeds = Preprocess(input_size=(3, crop, crop), resize=resize, resize_mode="squash", interpolation=interp)
        assert not np.array_equal(to_chw_uint8(photos["coffee"], seeds), to_chw_uint8(photos["coffee"], pp))


@pytest.mark.parametrize("interp", ["nearest", "box", "hamming", "lanczos"])
def test_shorter_matches_torchvision_for_the_other_filters(photos, interp) -> None:
    mode = getattr(T.InterpolationMode, interp.upper())
    pp = Preprocess(input_size=(3, 201, 240), resize=257, interpolation=interp)
    tf = T.Compose([T.Resize(257, interpolation=mode), T.CenterCrop((201, 240)), T.ToTensor(),
                    T.Normalize(pp.mean, pp.std)])  # fmt: skip
    for name, img in photos.items():
        assert np.array_equal(preprocess_image(img, pp), tf(img).numpy()), f"{name} {interp}"


# ---- image modes -------------------------------------------------------------------------------


def gradient(h: int = 24, w: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 8, y * 10, (x + y) * 4], axis=-1).astype(np.uint8)


def save_load(tmp_path, img: Image.Image, name: str) -> np.ndarray:
    path = tmp_path / name
    img.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. PIL's "palette with transparency" warning
        out = load_rgb(path)
    assert out.mode == "RGB" and out.size == img.size
    return np.asarray(out)


def test_modes_gray_and_alpha(tmp_path) -> None:
    rgb = gradient()
    gray = rgb[..., 0]
    expect_gray = np.repeat(gray[..., None], 3, axis=-1)
    assert np.array_equal(save_load(tmp_path, Image.fromarray(gray, "L"), "l.png"), expect_gray)
    la = Image.merge("LA", [Image.fromarray(gray), Image.fromarray(rgb[..., 1])])
    assert np.array_equal(save_load(tmp_path, la, "la.png"), expect_gray)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    assert np.array_equal(save_load(tmp_path, Image.fromarray(rgba, "RGBA"), "rgba.png"), rgb)


def test_modes_palette(tmp_path) -> None:
    pal = Image.fromarray(gradient()).quantize(16)
    expect = np.asarray(pal.convert("RGB"))
    assert np.array_equal(save_load(tmp_path, pal, "p.png"), expect)
    pal.info["transparency"] = 0
    assert np.array_equal(save_load(tmp_path, pal, "p_transparent.png"), expect)
    pal.save(tmp_path / "p.gif")
    assert load_rgb(tmp_path / "p.gif").mode == "RGB"


def test_mode_cmyk(tmp_path) -> None:
    cmyk = Image.fromarray(gradient()).convert("CMYK")
    assert np.array_equal(save_load(tmp_path, cmyk, "cmyk.tif"), np.asarray(cmyk.convert("RGB")))


def test_16bit_gray_keeps_high_byte(tmp_path) -> None:
    arr16 = (np.arange(24 * 32, dtype=np.uint32) * 85 % 65536).astype(np.uint16).reshape(24, 32)
    expect = np.repeat((arr16 >> 8).astype(np.uint8)[..., None], 3, axis=-1)
    assert np.array_equal(save_load(tmp_path, Image.fromarray(arr16), "gray16.png"), expect)
    as_int = Image.fromarray(arr16.astype(np.int32))  # mode "I", as 16-bit files decode in some Pillows
    assert as_int.mode == "I" and np.array_equal(np.asarray(load_rgb(as_int)), expect)
    big_endian = Image.frombytes("I;16B", (32, 24), arr16.astype(">u2").tobytes())
    assert np.array_equal(np.asarray(load_rgb(big_endian)), expect)
    # PIL's own convert clips instead: most of this image would be white.
    assert not np.array_equal(np.asarray(Image.fromarray(arr16).convert("RGB")), expect)


def test_float_mode() -> None:
    f = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), "F")
    assert np.asarray(load_rgb(f))[0, :, 0].tolist() == [0, 128, 255]


# ---- broken files ------------------------------------------------------------------------------


def test_zero_byte_file(tmp_path) -> None:
    path = tmp_path / "empty_photo.jpg"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty_photo\.jpg"):
        load_rgb(path)


def test_truncated_jpeg(tmp_path) -> None:
    path = tmp_path / "cut_photo.jpg"
    Image.fromarray(skimage.data.chelsea()).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut_photo\.jpg"):
        load_rgb(path)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(DataError, match="not found"):
        preprocess_image(tmp_path / "nope.png", Preprocess())


@pytest.mark.parametrize("side", [40, 50])  # 1600 px: PIL warns; 2500 px > 2 * limit: PIL raises
def test_decompression_bomb(tmp_path, monkeypatch, side) -> None:
    path = tmp_path / "bomb.png"
    Image.new("RGB", (side, side)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(DataError, match=r"bomb\.png.*decompression bomb"):
        load_rgb(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert load_rgb(path).size == (side, side)
    with pytest.raises(DataError, match="exceeds the limit"):
        load_rgb(path, max_pixels=side * side - 1)
