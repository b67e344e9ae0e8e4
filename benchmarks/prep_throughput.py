"""prep throughput: zoobench's worker pool vs the seeds' single-process PIL → float32 .bin script, side by side.

Usage: python benchmarks/prep_throughput.py [--images 1000] [--workers 2] [--dir /tmp/zb-bench]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from prep_common import make_photo_jpegs, seed_style_prep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dir", default="/tmp/zb-bench")
    a = ap.parse_args()
    from zoobench.data.cache import prep_cache
    from zoobench.models import get_spec

    root = Path(a.dir)
    files = make_photo_jpegs(root / "val", a.images)
    pp = get_spec("mnasnet1_0").preprocess
    rows = []

    def timed(label: str, fn) -> float:  # type: ignore[no-untyped-def]
        os.sync()  # flush the previous step's writes so their writeback is not billed to this one
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        rows.append((label, dt, len(files) / dt))
        return dt

    for d in ("seed_bin", "zb_npy0", "zb_npy", "zb_bin"):
        shutil.rmtree(root / d, ignore_errors=True)
    t_seed = timed("seeds' script (1 process, float32 .bin)", lambda: seed_style_prep(files, root / "seed_bin"))
    timed("zoobench prep npy, 0 workers", lambda: prep_cache(root / "val", pp, root / "zb_npy0", workers=0))
    t_npy = timed(
        f"zoobench prep npy, {a.workers} workers",
        lambda: prep_cache(root / "val", pp, root / "zb_npy", workers=a.workers),
    )
    t_bin = timed(
        f"zoobench prep bin, {a.workers} workers",
        lambda: prep_cache(root / "val", pp, root / "zb_bin", fmt="bin", workers=a.workers),
    )
    # the seeds' script again, last, so neither page-cache state nor order favours zoobench; keep its best time
    shutil.rmtree(root / "seed_bin", ignore_errors=True)
    t_seed = min(t_seed, timed("seeds' script again (run last)", lambda: seed_style_prep(files, root / "seed_bin")))
    print(f"{len(files)} JPEGs ~500x375 q90, mnasnet1_0 preprocessing (Resize 256, CenterCrop 224)")
    for label, dt, rate in rows:
        print(f"  {label:44s} {dt:7.2f} s  {rate:8.1f} img/s  x{t_seed / dt:.2f} vs seeds")
    print(
        f"ratio npy/{a.workers}w vs seeds: {t_seed / t_npy:.2f}x (goal >= 2x); bin/{a.workers}w: {t_seed / t_bin:.2f}x"
    )


if __name__ == "__main__":
    main()
