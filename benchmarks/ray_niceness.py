"""`infer --ray local` on a busy machine: Ray's default worker niceness (15) against the niceness zoobench gives
its job's workers (0, the same as every other process).

Usage: python benchmarks/ray_niceness.py [--images 300] [--rounds 2] [--busy 2]

mnasnet1_0 (random weights), ``--images`` real-size JPEGs, batch 16, onnxruntime CPU, the default Ray plan, with
``--busy`` ``python3 -c "while True: pass"`` loops running beside it (a user's machine is never idle). Each round
runs Ray's default (this script calls ``ray.init`` without a runtime env; zoobench then joins that instance) and
zoobench's own ``--ray local`` (``connect`` starts the instance with ``RAY_worker_niceness=0`` in the job's
runtime env), interleaved. Prints each run's img/s (summary e2e) and wall clock, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from infer_pipeline import print_machine
from prep_common import make_photo_jpegs


def _one(eng: Any, folder: Path, ray_default: bool) -> tuple[float, float, int]:
    """(img/s the run reports, wall seconds, the niceness of a worker of the job)."""
    import ray

    from zoobench.cluster.pipeline import run_ray
    from zoobench.infer.settings import InferSettings

    if ray_default:
        ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        t0 = time.perf_counter()
        res = run_ray(eng, folder, InferSettings(batch_size=16, ray="local"))
        wall = time.perf_counter() - t0
        if ray_default:
            nice = ray.get(ray.remote(lambda: os.nice(0)).remote())
        else:  # connect() stopped its instance: start it the same way again to read a worker's niceness
            from zoobench.cluster.connect import connect

            with connect("local") as r:
                nice = r.get(r.remote(lambda: os.nice(0)).remote())
    finally:
        if ray.is_initialized():
            ray.shutdown()
    return res.stages["e2e"]["throughput_img_s"], wall, nice


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=300)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--busy", type=int, default=2, help="busy loops beside the runs (default 2)")
    a = p.parse_args()
    from zoobench.engines import resolve_engine

    print_machine()
    with TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_photo_jpegs(root / "val", a.images)
        eng = resolve_engine("mnasnet1_0", weights="random", workdir=root, exporter="torchscript")
        loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(a.busy)]
        runs: dict[str, list[tuple[float, float, int]]] = {"ray default": [], "zoobench": []}
        try:
            for r in range(a.rounds):
                runs["ray default"].append(_one(eng, root / "val", ray_default=True))
                runs["zoobench"].append(_one(eng, root / "val", ray_default=False))
                d, z = runs["ray default"][-1], runs["zoobench"][-1]
                print(f"  round {r + 1}: Ray's default (workers at nice {d[2]}) {d[0]:6.1f} img/s, {d[1]:6.1f} s; "
                      f"zoobench (nice {z[2]}) {z[0]:6.1f} img/s, {z[1]:6.1f} s")  # fmt: skip
        finally:
            for lp in loops:
                lp.kill()
    med = {k: statistics.median(x[0] for x in v) for k, v in runs.items()}
    print(
        f"mnasnet1_0, {a.images} JPEGs, batch 16, --ray local, {a.busy} busy loops: Ray's default "
        f"{med['ray default']:.1f} img/s, zoobench {med['zoobench']:.1f} img/s -> "
        f"{med['zoobench'] / med['ray default']:.1f}x (median of {a.rounds} rounds)"
    )


if __name__ == "__main__":
    main()
