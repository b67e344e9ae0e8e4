"""Shared by the benchmarks: real-size JPEGs generated from real photographs (scikit-image)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_photo_jpegs(folder: Path, n: int, size: tuple[int, int] = (500, 375), quality: int = 90) -> list[Path]:
    """``n`` JPEGs ~500×375 at quality 90 from skimage's photos: varied crops, scales and flips; reused if present."""
    import skimage.data as sd
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    have = sorted(folder.glob("*.JPEG"))
    if len(have) >= n:
        return have[:n]
    photos = [sd.astronaut(), sd.chelsea(), sd.coffee(), sd.rocket(), sd.immunohistochemistry(), sd.hubble_deep_field()]
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        arr = photos[i % len(photos)]
        h, w = arr.shape[:2]
        s = rng.uniform(0.6, 1.0)
        ch, cw = int(h * s), int(w * s)
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = arr[top : top + ch, left : left + cw]
        if i % 2:
            crop = crop[:, ::-1]
        img = Image.fromarray(np.ascontiguousarray(crop)).resize(size, Image.Resampling.BILINEAR)
        p = folder / f"ILSVRC2012_val_{i + 1:08d}.JPEG"
        img.save(p, quality=quality)
        out.append(p)
    return out


def seed_style_prep(src: list[Path], dst: Path) -> None:
    """The seeds' single-process script: PIL → Resize(256) → CenterCrop(224) → /255, normalize → float32 .bin."""
    from PIL import Image

    dst.mkdir(parents=True, exist_ok=True)
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    for p in src:
        img = Image.open(p).convert("RGB")
        w, h = img.size
        if w < h:
            ow, oh = 256, int(256 * h / w)
        else:
            oh, ow = 256, int(256 * w / h)
        img = img.resize((ow, oh), Image.BILINEAR)
        top, left = round((oh - 224) / 2.0), round((ow - 224) / 2.0)
        img = img.crop((left, top, left + 224, top + 224))
        arr = np.array(img, dtype=np.float32) / 255.0
        arr = ((arr - mean) / std).transpose(2, 0, 1).astype(np.float32)
        arr.tofile(dst / (p.name.split(".")[0] + ".bin"))
