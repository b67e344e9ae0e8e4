"""Reference preprocessing: image file → uint8 crop → normalized float32 CHW.

``shorter`` mode reproduces torchvision's ``Resize(n) + CenterCrop(crop) + ToTensor() + Normalize()`` on
PIL images bit for bit; ``squash`` mode reproduces the seeds' DINO/ResNeSt scripts (SEED_SPEC §1.5);
``squash_center`` is torchvision's ``Resize((n, n)) + CenterCrop(crop)``, timm's ``crop_mode="squash"``.
The geometry (uint8) and the normalization (float32) are separate steps so the uint8 crop can be cached.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from zoobench.errors import DataError
from zoobench.models.spec import Preprocess

PIL_FILTERS = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
}

_16BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")

ImageSource = str | Path | Image.Image | BinaryIO


def _name(src: ImageSource) -> str:
    if isinstance(src, Image.Image):
        return getattr(src, "filename", "") or "<in-memory image>"
    if isinstance(src, (str, Path)):
        return str(src)
    return str(getattr(src, "name", "<in-memory file>"))


def _gray_to_rgb(gray: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(gray, dtype=np.uint8), mode="L").convert("RGB")


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB (see :func:`load_rgb` for the rules)."""
    mode = img.mode
    if mode == "RGB":
        return img.copy()
    if mode in _16BIT_MODES:
        # PIL's convert('L') clips 16-bit values at 255; the right 8-bit value is the high byte.
        return _gray_to_rgb(np.asarray(img).astype(np.uint16) >> 8)
    if mode == "I":
        # 32-bit int: in practice a 16-bit PNG/TIFF decoded as 'I'; treat values as 16-bit.
        return _gray_to_rgb(np.clip(np.asarray(img), 0, 65535).astype(np.uint16) >> 8)
    if mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64))
        # Floats in [0, 1] are intensities (skimage convention); anything larger is taken as 0..255.
        scale = 255.0 if arr.size and arr.max() <= 1.0 else 1.0
        return _gray_to_rgb(np.clip(np.rint(arr * scale), 0, 255))
    if mode in ("P", "PA") and (mode == "PA" or "transparency" in img.info):
        # Through RGBA: PIL warns on P+transparency → RGB; the colour values are the same.
        return img.convert("RGBA").convert("RGB")
    return img.convert("RGB")  # L, LA, P, 1, RGBA (alpha dropped), CMYK, YCbCr, ...


def load_rgb(src: ImageSource, max_pixels: int | None = None) -> Image.Image:
    """Open, fully decode and convert an image to 8-bit RGB.

    Mode rules: L/LA/1/P/RGBA/CMYK/YCbCr go through PIL's ``convert('RGB')`` (alpha is dropped, as
    torchvision users do); P with transparency and PA go through RGBA; 16-bit gray (``I;16*``, and
    ``I`` which is how 16-bit files often decode) keeps the high byte (``value >> 8``) instead of PIL's
    clipping; ``F`` is scaled by 255 when all values are in [0, 1], else clipped to 0..255.
    EXIF orientation is not applied (neither torchvision nor the seeds do).

    Args:
        src: a file path, a binary file object (its ``name`` attribute names it in errors), or an
            already opened PIL image (not closed by this function).
        max_pixels: refuse images with more pixels than this; ``None`` uses ``PIL.Image.MAX_IMAGE_PIXELS``
            (a decompression bomb then raises instead of warning), and no limit if that is ``None`` too.

    Returns:
        A new RGB image.

    Raises:
        DataError: the file is missing, cannot be decoded, is truncated, or is too large.
    """
    name = _name(src)
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        # Escalate PIL's DecompressionBombWarning (limit < pixels <= 2*limit) to an error. catch_warnings
        # is process-global; racing threads can at worst leave this one filter in place, which is harmless.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if isinstance(src, Image.Image):
                img = src
                _check_size(img, limit, name)
                img.load()
                return _to_rgb(img)
            with Image.open(src) as img:
                _check_size(img, limit, name)
                img.load()
                return _to_rgb(img)
    except DataError:
        raise
    except FileNotFoundError as exc:
        raise DataError(f"image {name}: file not found") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"image {name}: refused as a possible decompression bomb: {exc}") from exc
    except Exception as exc:  # any failure inside the decoder means the file is unusable
        raise DataError(f"image {name}: cannot decode ({type(exc).__name__}: {exc})") from exc


def _check_size(img: Image.Image, limit: int | None, name: str) -> None:
    if limit is not None and img.width * img.height > limit:
        raise DataError(
            f"image {name}: {img.width}x{img.height} = {img.width * img.height} pixels exceeds the limit of "
            f"{limit} (possible decompression bomb)"
        )


def center_crop(arr: np.ndarray, crop_h: int, crop_w: int) -> np.ndarray:
    """torchvision's ``CenterCrop`` on an HxWxC array, zero padding included.

    Args:
        arr: image array, height and width first.
        crop_h: crop height.
        crop_w: crop width.

    Returns:
        A contiguous ``crop_h x crop_w x C`` array.
    """
    h, w = arr.shape[:2]
    if crop_h > h or crop_w > w:
        pad_top = (crop_h - h) // 2 if crop_h > h else 0
        pad_left = (crop_w - w) // 2 if crop_w > w else 0
        pad_bottom = (crop_h - h + 1) // 2 if crop_h > h else 0
        pad_right = (crop_w - w + 1) // 2 if crop_w > w else 0
        widths = [(pad_top, pad_bottom), (pad_left, pad_right)] + [(0, 0)] * (arr.ndim - 2)
        arr = np.pad(arr, widths, mode="constant", constant_values=0)
        h, w = arr.shape[:2]
    # Python's round() (half to even) is what torchvision uses: 16.5 -> 16, 17.5 -> 18.
    top = round((h - crop_h) / 2.0)
    left = round((w - crop_w) / 2.0)
    return np.ascontiguousarray(arr[top : top + crop_h, left : left + crop_w])


def shorter_side_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) after torchvision ``Resize(size)``: short side → size, long side truncated."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def resize_crop(img: Image.Image, pp: Preprocess) -> np.ndarray:
    """Resize and center-crop an RGB image: the geometry half of the preprocessing.

    Args:
        img: an RGB image (see :func:`load_rgb`).
        pp: the preprocessing spec; ``pp.resize_mode`` picks torchvision's aspect-preserving resize
            (``shorter``), the seeds' ``resize((n, n))`` squash with ``int((n - crop) / 2)`` offsets (``squash``),
            or the same squash with torchvision's ``CenterCrop`` (``squash_center``, timm's squash).

    Returns:
        uint8 array of shape ``pp.crop_size + (3,)``.
    """
    if img.mode != "RGB":
        raise ValueError(f"resize_crop expects an RGB image, got mode {img.mode!r}; use load_rgb first")
    filt = PIL_FILTERS[pp.interpolation]
    ch, cw = pp.crop_size
    if pp.resize_mode == "squash":
        arr = np.asarray(img.resize((pp.resize, pp.resize), filt))
        top, left = int((pp.resize - ch) / 2), int((pp.resize - cw) / 2)
        return np.ascontiguousarray(arr[top : top + ch, left : left + cw])
    if pp.resize_mode == "squash_center":  # torchvision's Resize((n, n)) leaves an n×n image as it is
        square = img if img.size == (pp.resize, pp.resize) else img.resize((pp.resize, pp.resize), filt)
        return center_crop(np.asarray(square), ch, cw)
    size = shorter_side_size(img.width, img.height, pp.resize)
    if size != img.size:  # torchvision returns the image untouched when the size already fits
        img = img.resize(size, filt)
    return center_crop(np.asarray(img), ch, cw)


def to_chw_uint8(src: ImageSource, pp: Preprocess) -> np.ndarray:
    """Load, resize and crop an image.

    Args:
        src: file path or PIL image.
        pp: the preprocessing spec.

    Returns:
        uint8 array of shape (3, H, W).
    """
    return np.ascontiguousarray(resize_crop(load_rgb(src), pp).transpose(2, 0, 1))


def normalize(x: np.ndarray, pp: Preprocess) -> np.ndarray:
    """``ToTensor()`` + ``Normalize(mean, std)`` in float32, bit-identical to torchvision.

    Args:
        x: uint8 array of shape (3, H, W) or (N, 3, H, W).
        pp: supplies ``mean`` and ``std``.

    Returns:
        float32 array of the same shape.
    """
    if x.dtype != np.uint8 or x.ndim not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"normalize expects uint8 (3,H,W) or (N,3,H,W), got {x.dtype} {x.shape}")
    mean = np.asarray(pp.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(pp.std, dtype=np.float32)[:, None, None]
    out: np.ndarray = x.astype(np.float32) / np.float32(255)
    out -= mean
    out /= std
    return out


def preprocess_image(src: ImageSource, pp: Preprocess) -> np.ndarray:
    """The whole reference preprocessing of one image.

    Args:
        src: file path or PIL image.
        pp: the preprocessing spec.

    Returns:
        float32 array of shape (3, H, W), as the seeds' ``.bin`` files hold it.
    """
    return normalize(to_chw_uint8(src, pp), pp)
