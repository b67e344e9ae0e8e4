"""Shared by the benchmarks: real-size JPEGs generated from real photographs: the first set from scikit-image's
photos at quality 90 (:func:`make_photo_jpegs`); a second set the suite does not use (:func:`make_second_set`:
seeded crops of scikit-image's, scikit-learn's and matplotlib's photos at JPEG qualities 75-95, sizes varied)."""

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


SECOND_SET = "second set (seeded crops of scikit-image, scikit-learn and matplotlib photos, JPEG q75-95)"


def second_set_photos() -> list[tuple[str, np.ndarray]]:
    """The source photos of the second set, by name: scikit-image's, scikit-learn's sample images, matplotlib's."""
    import matplotlib.cbook as cbook
    import skimage.data as sd
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = [(f"skimage.{n}", getattr(sd, n)()) for n in ("astronaut", "chelsea", "coffee", "rocket")]
    sk = load_sample_images()
    photos += [(f"sklearn.{Path(f).stem}", img) for f, img in zip(sk.filenames, sk.images)]
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photos.append(("matplotlib.grace_hopper", np.asarray(Image.open(f).convert("RGB"))))
    return [(n, a[..., :3] if a.ndim == 3 else np.stack([a] * 3, -1)) for n, a in photos]


def make_second_set(folder: Path, n: int, seed: int = 35) -> list[Path]:
    """``n`` JPEGs: seeded crops (30-100% of each side, any aspect), scaled to 160-640 pixels on the longer side,
    flipped half the time, saved at a JPEG quality drawn from 75-95 (4:2:0, as Pillow saves); reused if present."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    have = sorted(folder.glob("*.JPEG"))
    if len(have) >= n:
        return have[:n]
    photos = second_set_photos()
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        _name, arr = photos[i % len(photos)]
        h, w = arr.shape[:2]
        ch, cw = int(h * rng.uniform(0.3, 1.0)), int(w * rng.uniform(0.3, 1.0))
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = arr[top : top + ch, left : left + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        longer = int(rng.integers(160, 641))
        size = (longer, max(16, round(longer * ch / cw))) if cw >= ch else (max(16, round(longer * cw / ch)), longer)
        img = Image.fromarray(np.ascontiguousarray(crop)).resize(size, Image.Resampling.BICUBIC)
        p = folder / f"second_{i + 1:06d}.JPEG"
        img.save(p, quality=int(rng.integers(75, 96)))
        out.append(p)
    return out


def make_near_size_set(folder: Path, n: int, size: tuple[int, int] = (410, 272), seed: int = 36) -> list[Path]:
    """``n`` JPEGs of the second set's photos at one size (default 410x272: resized to a shorter side of 256, each
    side shrinks by ~6%, where torch's bilinear first pass is furthest from Pillow's), seeded crops, q75-95."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    have = sorted(folder.glob("*.JPEG"))
    if len(have) >= n:
        return have[:n]
    photos = second_set_photos()
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        arr = photos[i % len(photos)][1]
        h, w = arr.shape[:2]
        ch, cw = int(h * rng.uniform(0.3, 1.0)), int(w * rng.uniform(0.3, 1.0))
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        img = Image.fromarray(np.ascontiguousarray(arr[top : top + ch, left : left + cw]))
        p = folder / f"near_{i + 1:06d}.JPEG"
        img.resize(size, Image.Resampling.BICUBIC).save(p, quality=int(rng.integers(75, 96)))
        out.append(p)
    return out


def decoder_bound(files: list[Path], model: str = "mnasnet1_0") -> dict[str, object]:
    """The fast decoder against the reference on ``files`` (``model``'s preprocessing): the largest difference in
    levels, the images that reach it, the share of values that differ at all, and the worst image."""
    from collections import Counter

    from zoobench.data.decode import decode_one
    from zoobench.models import get_spec

    pp = get_spec(model).preprocess
    worst: Counter[int] = Counter()
    differ = total = 0
    worst_image, top = "", -1
    for f in files:
        ref, _r, _a, _b = decode_one(f, pp)
        fast, _r, _a, _b = decode_one(f, pp, "fast")
        if ref is None or fast is None:
            continue
        d = np.abs(ref.astype(np.int16) - fast.astype(np.int16))
        m = int(d.max())
        worst[m] += 1
        differ += int((d > 0).sum())
        total += d.size
        if m > top:
            top, worst_image = m, f.name
    return {"max_levels": top, "images_at_max": worst[top], "images": sum(worst.values()),
            "values_differ_pct": 100.0 * differ / max(total, 1), "per_max": dict(sorted(worst.items())),
            "worst_image": worst_image}  # fmt: skip


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
