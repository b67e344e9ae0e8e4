"""How far the fast decoder's pixels are from the reference's, for every model's preprocessing, and what that does
to the top-1 of EfficientNet-Lite0 (real ImageNet weights, fp32 ONNX Runtime engine).

Usage: python benchmarks/decoder_difference.py [--images 240] [--rounds 3] [--dir /tmp/zb-bench-decoder]

Images: crops and rescales of scikit-image's photographs saved as JPEG (q90), half of them ~500x375 and half
~375x500 (both orders of Pillow's resize passes). For each model and preprocessing variant: the largest
per-pixel difference (levels of 255), the share of pixel values that differ, and the share that differ by more
than 1, and each decoder's time per image (one thread; the median of --rounds, the two interleaved in
alternating order, so that a shared machine's load falls on both). Then Lite0's top-1 on the reference
crops against the fast crops, for its own preprocessing (shorter side, bicubic) and for bilinear and squash
variants of it.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path

import numpy as np
from prep_common import make_photo_jpegs


def images(root: Path, n: int) -> list[Path]:
    return make_photo_jpegs(root / f"land{n}", n - n // 2) + make_photo_jpegs(
        root / f"port{n}", n // 2, size=(375, 500)
    )


def crops(raws: list[bytes], pp, decoder: str, falls: Counter[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    from zoobench.data.fastdecode import decode_bytes

    return np.stack([decode_bytes(r, "x.JPEG", pp, decoder, falls) for r in raws])


def pixel_rows(raws: list[bytes], rounds: int) -> None:
    import statistics
    import time

    from zoobench.models import list_specs

    print("| model | preprocessing | max | pixels differing | by more than 1 | fallbacks | ms/img fast, reference |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for spec in list_specs():
        name = spec.name
        for variant in [None, *spec.variants]:
            pp = spec.preprocess_for(variant)
            crops(raws[:1], pp, "fast", Counter())  # loads the decoder: not per image
            falls: Counter[str] = Counter()
            out: dict[str, np.ndarray] = {}
            secs: dict[str, list[float]] = {"fast": [], "reference": []}
            for r in range(rounds):  # interleaved, the order alternating: the same load for both
                for dec in ("fast", "reference")[:: 1 if r % 2 == 0 else -1]:
                    t0 = time.perf_counter()
                    out[dec] = crops(raws, pp, dec, falls if r == 0 else Counter())
                    secs[dec].append((time.perf_counter() - t0) / len(raws))
            d = np.abs(out["fast"].astype(np.int16) - out["reference"])
            what = f"{variant or 'default'}: {pp.resize_mode} {pp.resize} {pp.interpolation}, crop {pp.crop_size[0]}"
            ms = ", ".join(f"{1e3 * statistics.median(secs[k]):.2f}" for k in ("fast", "reference"))
            print(f"| {name} | {what} | {d.max()} | {100 * (d > 0).mean():.3f}% | {100 * (d > 1).mean():.5f}% | "
                  f"{sum(falls.values())} | {ms} |")  # fmt: skip


def agreement(raws: list[bytes], root: Path) -> None:
    from dataclasses import replace

    from zoobench.data.transforms import normalize
    from zoobench.engines import resolve_engine
    from zoobench.runtimes import load_session

    eng = resolve_engine("efficientnet_lite0", workdir=root / "engine")
    sess = load_session(eng.path)
    base = eng.preprocess
    print("\n| Lite0 preprocessing | top-1 agree | top-5 sets equal | max abs logit diff |")
    print("|---|---:|---:|---:|")
    for label, pp in [
        ("default: shorter 256 bicubic", base),
        ("shorter 256 bilinear", replace(base, interpolation="bilinear")),
        ("squash 256 bicubic", replace(base, resize_mode="squash")),
        ("squash 256 bilinear", replace(base, resize_mode="squash", interpolation="bilinear")),
    ]:
        falls: Counter[str] = Counter()
        out = {}
        for dec in ("reference", "fast"):
            x = normalize(crops(raws, pp, dec, falls), pp)
            out[dec] = np.concatenate([sess.run(x[i : i + 16]) for i in range(0, len(x), 16)])
        agree = int((out["reference"].argmax(1) == out["fast"].argmax(1)).sum())
        t5r, t5f = np.argsort(-out["reference"], 1)[:, :5], np.argsort(-out["fast"], 1)[:, :5]
        same5 = np.mean([set(a) == set(b) for a, b in zip(t5r, t5f)])
        diff = np.abs(out["reference"] - out["fast"]).max()
        print(f"| {label} | {100 * agree / len(raws):.2f}% ({agree}/{len(raws)}) | {100 * same5:.2f}% | "
              f"{diff:.4f} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=240)
    ap.add_argument("--dir", default="/tmp/zb-bench-decoder")
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds per preprocessing (median)")
    a = ap.parse_args()
    import PIL
    import torch

    from zoobench.env import cpu_model

    torch.set_num_threads(1)
    root = Path(a.dir)
    raws = [p.read_bytes() for p in images(root, a.images)]
    print(f"{len(raws)} JPEGs (q90, {a.images - a.images // 2} at 500x375, {a.images // 2} at 375x500) from "
          f"skimage photos; Pillow {PIL.__version__}, torch {torch.__version__}; {cpu_model()}, "
          f"{os.cpu_count()} cores\n")  # fmt: skip
    pixel_rows(raws, a.rounds)
    agreement(raws, root)


if __name__ == "__main__":
    main()
