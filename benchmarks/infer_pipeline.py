"""Pipelined inference: cache-fed vs pure inference, image-fed vs the serial bound, RSS over a long run.

Usage: python benchmarks/infer_pipeline.py [--images 1000] [--batch 16] [--workers 2] [--rss-images 5000]

mnasnet1_0 with random weights (performance only), exported once to ONNX; onnxruntime CPU.
  * cache-fed / pure: `infer --data CACHE` e2e throughput over pure `session.run` on the same batches (goal >= 95%)
  * image-fed / serial bound: `infer --data IMAGES` e2e throughput over 1 / (t_prep + t_infer) where t_prep is
    the single-process decode+resize+crop+normalize time per image and t_infer the pure inference time per
    image (goal >= 90%)
  * peak RSS of the main process and the decode workers sampled during a long image-fed run (should stay flat)
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from pathlib import Path

import numpy as np
from prep_common import make_photo_jpegs


def rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rss-images", type=int, default=0)
    ap.add_argument("--dir", default="/tmp/zb-bench")
    a = ap.parse_args()
    from zoobench.data.cache import prep_cache
    from zoobench.data.decode import DecodePool
    from zoobench.data.transforms import normalize
    from zoobench.engine import resolve_engine
    from zoobench.pipeline import run_folder
    from zoobench.runtimes import load_session

    root = Path(a.dir)
    files = make_photo_jpegs(root / "val", a.images)
    eng = resolve_engine("mnasnet1_0", weights="random", workdir=root, exporter="torchscript")
    pp = eng.preprocess
    cache = root / "cache_mnasnet"
    prep_cache(root / "val", pp, cache, workers=a.workers)

    # serial preprocessing cost per image (one process, no workers)
    t0 = time.perf_counter()
    batches = []
    with DecodePool(0) as pool:
        for d in pool.imap([files[i : i + a.batch] for i in range(0, len(files), a.batch)], pp):
            batches.append(normalize(d.pixels, pp))
    t_prep = (time.perf_counter() - t0) / len(files)

    # pure inference on the same batches
    sess = load_session(eng.path, threads=a.threads)
    for b in batches[:3]:
        sess.run(b)
    t0 = time.perf_counter()
    for b in batches:
        sess.run(b)
    t_infer = (time.perf_counter() - t0) / len(files)
    del sess
    pure = 1 / t_infer

    r_cache = run_folder(eng, cache, batch_size=a.batch, threads=a.threads)
    cache_rate = r_cache.stages["e2e"]["throughput_img_s"]
    r_img = run_folder(eng, root / "val", batch_size=a.batch, threads=a.threads, workers=a.workers)
    img_rate = r_img.stages["e2e"]["throughput_img_s"]
    serial = 1 / (t_prep + t_infer)
    np.testing.assert_array_equal(r_cache.topk_ids, r_img.topk_ids)

    print(f"mnasnet1_0 (random weights), onnxruntime CPU, batch {a.batch}, {len(files)} JPEGs ~500x375")
    print(f"  pure inference (session.run only)     {pure:8.1f} img/s")
    print(
        f"  cache-fed infer e2e                   {cache_rate:8.1f} img/s  = {cache_rate / pure:6.1%} of pure "
        "(goal >= 95%)"
    )
    print(f"  serial prep (1 process)               {1 / t_prep:8.1f} img/s")
    print(f"  serial bound 1/(t_prep + t_infer)     {serial:8.1f} img/s")
    print(
        f"  image-fed infer e2e, {a.workers} workers       {img_rate:8.1f} img/s  = {img_rate / serial:6.1%} of serial "
        "bound (goal >= 90%)"
    )
    print(
        f"  image-fed stage breakdown: data_wait {r_img.stages['data_wait']['seconds']:.2f}s of e2e "
        f"{r_img.stages['e2e']['seconds']:.2f}s"
    )

    if a.rss_images:
        big = make_photo_jpegs(root / "val_rss", a.rss_images)
        samples: list[tuple[int, float, float]] = []
        seen = [0]

        def tick(n: int) -> None:
            seen[0] += n
            if seen[0] // 500 != (seen[0] - n) // 500:
                kids = sum(rss_mb(p.pid) for p in multiprocessing.active_children())
                samples.append((seen[0], rss_mb(), kids))

        run_folder(eng, root / "val_rss", batch_size=a.batch, threads=a.threads, workers=a.workers, progress=tick)
        print(f"  RSS during a {len(big)}-image image-fed run (MB: main, workers):")
        for n, m, k in samples:
            print(f"    {n:6d} images  main {m:7.1f}  workers {k:7.1f}")
        mains = [m for _, m, _ in samples[1:]] or [0.0]
        print(f"  main RSS growth after the first 500 images: {max(mains) - min(mains):.1f} MB")


if __name__ == "__main__":
    main()
