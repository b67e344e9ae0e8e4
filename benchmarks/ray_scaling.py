"""The Ray path (`infer --ray`): its overhead over the local pipeline, and how it scales with actors.

Usage: python benchmarks/ray_scaling.py [--images 2000] [--scale-images 160] [--rounds 2] [--skip-scaling]

  * overhead: mnasnet1_0 (random weights, one exported ONNX for both), 2,000 real-size JPEGs, batch 16,
    onnxruntime CPU. The local pipeline (`infer`, default decode workers and threads) vs `infer --ray local`
    (default plan: one actor reserving half the CPUs, decode tasks on the other half), in interleaved rounds.
    The ratio is of the img/s each run reports (summary.json's e2e: first batch asked .. last result taken;
    goal >= 85%). The wall clock with Ray's start (`ray.init`, actor start, session load) is printed beside it.
  * scaling: wide_resnet50_2 (random weights; compute-bound), a prep cache, batch 8, onnxruntime CPU with 1
    thread per actor: `--actors 1 --cpus-per-actor 1` vs `--actors 2 --cpus-per-actor 1` on `--ray local`
    (goal >= 1.7x). Same engine, same cache, same batches.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from infer_pipeline import print_machine
from prep_common import make_photo_jpegs


def _timed(fn: Any) -> tuple[float, float]:
    """(img/s the run reports, img/s over the whole call's wall clock)."""
    t0 = time.perf_counter()
    res = fn()
    wall = time.perf_counter() - t0
    return res.stages["e2e"]["throughput_img_s"], len(res.names) / wall


def overhead(root: Path, a: argparse.Namespace) -> None:
    from zoobench.cluster.pipeline import run_ray
    from zoobench.engines import resolve_engine
    from zoobench.infer.loop import run_folder
    from zoobench.infer.settings import InferSettings

    make_photo_jpegs(root / "val", a.images)
    eng = resolve_engine("mnasnet1_0", weights="random", workdir=root, exporter="torchscript")
    print(f"\noverhead: mnasnet1_0 (random weights), onnxruntime CPU, batch 16, {a.images} JPEGs ~500x375")
    runs: dict[str, list[tuple[float, float]]] = {"local": [], "ray": []}
    for r in range(a.rounds):
        runs["local"].append(_timed(lambda: run_folder(eng, root / "val", InferSettings(batch_size=16))))
        runs["ray"].append(_timed(lambda: run_ray(eng, root / "val", InferSettings(batch_size=16, ray="local"))))
        print(f"  round {r + 1}: local {runs['local'][-1][0]:6.1f} img/s, --ray local {runs['ray'][-1][0]:6.1f} img/s")
    med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in runs.items()}
    ratios = [ray[0] / loc[0] for loc, ray in zip(runs["local"], runs["ray"], strict=True)]
    loc, ray = med["local"], med["ray"]
    print(f"  local pipeline            {loc[0]:7.1f} img/s (wall clock incl. session load {loc[1]:6.1f})")
    print(f"  infer --ray local         {ray[0]:7.1f} img/s (wall clock incl. ray.init     {ray[1]:6.1f})")
    print(
        f"  overhead ratio --ray/local: {statistics.median(ratios):.1%} (goal >= 85%; rounds "
        f"{', '.join(f'{x:.1%}' for x in ratios)}); wall clock incl. Ray's start {med['ray'][1] / med['local'][1]:.1%}"
    )


def scaling(root: Path, a: argparse.Namespace) -> None:
    from zoobench.cluster.pipeline import run_ray
    from zoobench.data.cache import prep_cache
    from zoobench.engines import resolve_engine
    from zoobench.infer.settings import InferSettings

    files = make_photo_jpegs(root / "val", a.images)
    eng = resolve_engine("wide_resnet50_2", weights="random", workdir=root, exporter="torchscript")
    cache = root / f"cache_wrn_{a.scale_images}"
    if not (cache / "meta.json").exists():
        sub = root / f"val_{a.scale_images}"
        sub.mkdir(exist_ok=True)
        for f in files[: a.scale_images]:
            if not (sub / f.name).exists():
                (sub / f.name).symlink_to(f)
        prep_cache(sub, eng.preprocess, cache, workers=2)
    print(f"\nscaling: wide_resnet50_2 (random weights), ORT CPU 1 thread/actor, batch 8, cache of {a.scale_images}")
    rates: dict[int, list[float]] = {1: [], 2: []}
    for r in range(a.rounds):
        for n in (1, 2):
            res = run_ray(eng, cache, InferSettings(ray="local", batch_size=8, actors=n, cpus_per_actor=1, threads=1))
            rates[n].append(res.stages["e2e"]["throughput_img_s"])
            actors = (res.cluster or {}).get("actors")
            print(f"  round {r + 1}: {n} actor(s) x 1 CPU: {rates[n][-1]:6.2f} img/s ({actors} reported results)")
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    ratios = [b / x for x, b in zip(rates[1], rates[2], strict=True)]
    print(f"  1 actor  x 1 CPU          {one:7.2f} img/s")
    print(f"  2 actors x 1 CPU          {two:7.2f} img/s")
    rounds = ", ".join(f"{x:.2f}x" for x in ratios)
    print(f"  scaling ratio 2 / 1 actors: {two / one:.2f}x (goal >= 1.70x; rounds {rounds})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--scale-images", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--skip-overhead", action="store_true")
    ap.add_argument("--dir", default="/tmp/zb-bench")
    a = ap.parse_args()
    import ray

    print_machine()
    print(f"ray {ray.__version__}")
    root = Path(a.dir)
    root.mkdir(parents=True, exist_ok=True)
    if not a.skip_overhead:
        overhead(root, a)
    if not a.skip_scaling:
        scaling(root, a)


if __name__ == "__main__":
    main()
