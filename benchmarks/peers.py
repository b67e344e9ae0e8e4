"""zoobench's timings vs its peers, in one run, on the same ONNX file, batch and threads. Prints ratios.

    python benchmarks/peers.py --model torchvision:resnet50 --batch 8 --threads 2 --seconds 5

Peers: a plain ONNX Runtime InferenceSession loop; OpenVINO's own ``benchmark_app``; a plain PyTorch
eager loop as timm's benchmark.py does it; a numpy float32 matmul for the machine's peak. Then int8
(and bf16, where the CPU has it) speedups with top-1 agreement vs fp32 on real photos.
Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def plain_ort(onnx_path: str, x: np.ndarray, threads: int, seconds: float) -> float:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return _loop(lambda: sess.run(None, {name: x}), len(x), seconds)


def plain_torch(model: Any, x: np.ndarray, threads: int, seconds: float) -> float:
    """timm benchmark.py style: eval, no_grad, channels_last, warm-up, then a timed loop."""
    import torch

    torch.set_num_threads(threads)
    model = model.eval().to(memory_format=torch.channels_last)
    t = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        return _loop(lambda: model(t), len(x), seconds)


def _loop(fn: Any, batch: int, seconds: float, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or n < 3:
        fn()
        n += 1
    return batch * n / elapsed


def benchmark_app(
    onnx_path: str, batch: int, hw: tuple[int, int], threads: int, seconds: float, precision: str = "f32"
) -> float | None:
    exe = shutil.which("benchmark_app") or str(Path(sys.executable).with_name("benchmark_app"))
    if not Path(exe).is_file():
        return None
    cmd = [
        exe,
        "-m",
        onnx_path,
        "-d",
        "CPU",
        "-hint",
        "throughput",
        "-shape",
        f"[{batch},3,{hw[0]},{hw[1]}]",
        "-infer_precision",
        precision,
        "-t",
        str(int(max(seconds, 1))),
    ]
    # benchmark_app refuses -nthreads together with -hint; with the hint it uses every core (``threads`` is
    # then only recorded), as zoobench's openvino column does when --threads is the machine's core count
    del threads
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr  # benchmark_app logs its result on stderr
    m = re.search(r"Throughput:\s+([\d.]+)\s+FPS", out)
    return float(m.group(1)) if m else None


def matmul_peak(threads: int, n: int = 2048, seconds: float = 2.0) -> float:
    """GFLOP/s of a float32 n×n matmul (numpy's BLAS, with the thread count in the environment)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    rate = _loop(lambda: a @ b, 1, seconds)
    return rate * 2 * n**3 / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="torchvision:resnet50")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--weights", default="random", help="'random' (default), or 'found' for the model's own weights")
    ap.add_argument("--runtimes", default="onnxruntime,openvino,torch", help="zoobench's columns (comma-separated)")
    ap.add_argument("--precisions", default="fp32,bf16,int8", help="zoobench's precisions (comma-separated)")
    args = ap.parse_args()

    from zoobench.demo import write_demo_images
    from zoobench.engines import resolve_engine
    from zoobench.models import get_spec
    from zoobench.models.weights import build_model
    from zoobench.perf.sweep import do_perf

    work = Path(args.workdir or tempfile.mkdtemp(prefix="zoobench-peers-"))
    photos = work / "photos"
    if not photos.is_dir():
        write_demo_images(photos)
    weights = None if args.weights == "found" else args.weights
    eng = resolve_engine(args.model, weights=weights, workdir=work, exporter="torchscript")
    x = np.random.default_rng(0).standard_normal((args.batch, *eng.preprocess.input_size), dtype=np.float32)
    sweep = do_perf(
        eng.path,
        batch_sizes=[args.batch],
        seconds=args.seconds,
        min_iters=5,
        warmup=3,
        threads=args.threads,
        outdir=str(work),
        runtimes=args.runtimes.split(","),
        precisions=args.precisions.split(","),
        calibration=str(photos),
        quiet=True,
    )
    zb = {c["name"]: c.get("best_throughput_img_s") for c in sweep["columns"]}
    peers = {
        "plain ORT loop": plain_ort(eng.path, x, args.threads, args.seconds),
        "benchmark_app f32": benchmark_app(eng.path, args.batch, eng.preprocess.crop_size, args.threads, args.seconds),
        "plain torch eager": plain_torch(build_model(get_spec(eng.model), weights)[0], x, args.threads, args.seconds),
    }
    peak = matmul_peak(args.threads)
    spec = get_spec(eng.model)
    malloc = next(
        (c["info"].get("malloc") for c in sweep["columns"] if c["name"] == "torch fp32" and c.get("info")), None
    )

    print(
        f"\n{eng.model} ({'random' if eng.random_weights else 'real'} weights) · batch {args.batch} · "
        f"{args.threads} threads · "
        f"{sweep['environment']['cpu']} · img/s · load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(f"  torch session malloc: {malloc or 'as it was (no setting)'}")
    rows = [
        ("onnxruntime fp32", "plain ORT loop"),
        ("openvino fp32", "benchmark_app f32"),
        ("torch fp32", "plain torch eager"),
    ]
    for ours, theirs in rows:
        a, b = zb.get(ours), peers[theirs]
        ratio = f"{a / b:.2f}x" if a and b else "n/a"
        print(
            f"  zoobench {ours:<18} {a or float('nan'):8.1f}   vs {theirs:<20} {b or float('nan'):8.1f}   ratio {ratio}"
        )
    print(f"  numpy float32 matmul peak: {peak:.1f} GFLOP/s")
    if spec.gflops:
        for name in ("onnxruntime fp32", "openvino fp32"):
            if zb.get(name):
                achieved = zb[name] * 2 * spec.gflops  # gflops in the spec are GMACs per image
                print(f"  {name}: ~{achieved:.1f} GFLOP/s = {achieved / peak:.0%} of the matmul peak")
    print("  precision speedups (vs the same runtime's fp32), with top-1 agreement vs fp32 on photos:")
    if eng.random_weights:
        print("    (random weights: the logits carry no signal, so agreement only bounds quantization noise)")
    for c in sweep["columns"]:
        if c["precision"] == "fp32":
            continue
        base = zb.get(f"{c['runtime']} fp32")
        if not c["available"]:
            print(f"    {c['name']:<18} unavailable: {c.get('reason')}")
            continue
        agr = c.get("agreement") or {}
        top1 = f"{agr['top1_agreement_pct']:.0f}% on {agr['count']} images" if agr.get("count") else "unknown"
        speed = f"{c['best_throughput_img_s'] / base:.2f}x" if base else "n/a"
        print(f"    {c['name']:<18} {c['best_throughput_img_s']:8.1f} img/s  speedup {speed}  top-1 agreement {top1}")


if __name__ == "__main__":
    main()
