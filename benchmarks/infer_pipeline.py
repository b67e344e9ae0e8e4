"""Pipelined inference: cache-fed vs pure inference (float and uint8-input engines), image-fed vs the serial
bound, RSS over a long run.

Usage: python benchmarks/infer_pipeline.py [--images 1000] [--batch 16] [--workers 2] [--rounds 3] [--rss-images 5000]
       python benchmarks/infer_pipeline.py --columns onnxruntime-int8,openvino-fp32,openvino-int8 --only-columns

mnasnet1_0 with random weights (performance only), exported once to ONNX; onnxruntime CPU.
  * cache-fed / pure, float engine: `infer --data CACHE` e2e throughput over pure `session.run` on the same
    normalized batches (the host normalizes each batch; goal >= 95%)
  * cache-fed / pure, uint8 engine (`export --input uint8`: normalization inside the graph): e2e over pure
    `session.run` on the same uint8 batches (goal >= 98%). Both kinds are measured in interleaved rounds; the
    median ratio is reported with its spread.
  * image-fed / serial bound: `infer --data IMAGES` e2e throughput over 1 / (t_prep + t_infer) where t_prep is
    the single-process decode+resize+crop+normalize time per image and t_infer the pure inference time per
    image (goal >= 90%)
  * peak RSS of the main process and the decode workers sampled during a long image-fed run (should stay flat)
  * with --columns: the same cache-fed / pure ratio for each runtime × precision column that `run` scores,
    through the engine `run` uses for it (the uint8-input twin, int8 compiled with --input uint8, calibrated on
    the first 32 images): scoring a column costs little more than inferring it (goal >= 95% per column)
  * image-fed e2e with the fast decoder (`--decoder fast`) over the reference decoder, in interleaved rounds
    (goal >= 1.10x), with the serial bound of each (its own single-process preprocessing time). The decode
    workers fork from a forkserver that imported torch once before the rounds (`fastdecode.preload_in_workers`),
    so the fast rounds do not each pay torch's import; that fixed cost is measured and printed apart.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from prep_common import make_photo_jpegs

SHOWN_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def print_machine() -> None:
    from zoobench.env import cpu_flags, cpu_model

    flags = cpu_flags()
    shown = " ".join(f"{f}{'+' if f in flags else '-'}" for f in SHOWN_FLAGS)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; flags: {shown}")
    print(f"load average at start: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


def pure_rate(path: str, batches: list[np.ndarray], threads: int | None) -> float:
    """img/s of ``session.run`` alone over ``batches`` (already in memory, in the engine's input type)."""
    from zoobench.runtimes import load_session

    sess = load_session(path, threads=threads)
    for b in batches[:3]:
        sess.run(b)
    t0 = time.perf_counter()
    for b in batches:
        sess.run(b)
    return sum(len(b) for b in batches) / (time.perf_counter() - t0)


def cache_ratios(engines: dict[str, Any], cache: Path, a: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """Per engine kind, over interleaved rounds: pure img/s, cache-fed e2e img/s and their ratio."""
    from zoobench.data.cache import open_cache
    from zoobench.data.transforms import normalize
    from zoobench.infer.loop import run_folder
    from zoobench.infer.settings import InferSettings

    pixels = np.array(open_cache(cache).pixels)
    u8 = [pixels[i : i + a.batch] for i in range(0, len(pixels), a.batch)]
    feeds = {"float": [normalize(b, engines["float"].preprocess) for b in u8], "uint8": u8}
    out: dict[str, dict[str, list[float]]] = {k: {"pure": [], "e2e": [], "ratio": []} for k in engines}
    for _ in range(a.rounds):
        for kind, eng in engines.items():
            pure = pure_rate(eng.path, feeds[kind], a.threads)
            e2e = run_folder(eng, cache, InferSettings(batch_size=a.batch, threads=a.threads)).stages["e2e"][
                "throughput_img_s"
            ]
            out[kind]["pure"].append(pure)
            out[kind]["e2e"].append(e2e)
            out[kind]["ratio"].append(e2e / pure)
    return out


def column_ratios(eng: Any, cache: Path, root: Path, a: argparse.Namespace) -> None:
    """Per scored column: pure sync ``session.run`` on the cache's uint8 batches vs cache-fed ``run_folder``."""
    import shutil

    from zoobench.data.cache import open_cache
    from zoobench.engines import column_engine, resolve
    from zoobench.errors import ZoobenchError
    from zoobench.infer.loop import run_folder
    from zoobench.infer.settings import InferSettings
    from zoobench.runtimes import load_session

    calib = root / "calib"
    if not calib.is_dir():
        calib.mkdir()
        for f in sorted((root / "val").iterdir())[:32]:
            shutil.copy(f, calib / f.name)
    pixels = np.array(open_cache(cache).pixels)
    u8 = [pixels[i : i + a.batch] for i in range(0, len(pixels), a.batch)]
    engines = {}
    for col in a.columns.split(","):
        rt, prec = col.split("-", 1)
        try:
            recipe = resolve(eng.path)
            engines[col] = column_engine(recipe, rt, prec, workdir=root / "engines", calibration=str(calib), source=eng)
        except ZoobenchError as exc:
            print(f"  {col}: unavailable — {exc}")
    res: dict[str, list[tuple[float, float]]] = {c: [] for c in engines}
    for _ in range(a.rounds):
        for col, ce in engines.items():
            rt, prec = col.split("-", 1)
            sess = load_session(ce.path, rt, precision=prec, threads=a.threads)
            for b in u8[:3]:
                sess.run(b)
            t0 = time.perf_counter()
            for b in u8:
                sess.run(b)
            pure = len(pixels) / (time.perf_counter() - t0)
            del sess
            r = run_folder(ce, cache, InferSettings(runtime=rt, precision=prec, batch_size=a.batch, threads=a.threads))
            res[col].append((pure, r.stages["e2e"]["throughput_img_s"]))
    for col, rounds in res.items():
        ratios = [e / p for p, e in rounds]
        med = statistics.median(ratios)
        print(
            f"  cache-fed / pure, {col:18s} pure {statistics.median(p for p, _ in rounds):7.1f}  e2e "
            f"{statistics.median(e for _, e in rounds):7.1f} img/s = {med:6.1%} (goal >= 95%; rounds "
            f"{', '.join(f'{x:.1%}' for x in ratios)})"
        )


def print_cache_ratios(res: dict[str, dict[str, list[float]]]) -> None:
    goals = {"float": 0.95, "uint8": 0.98}
    for kind, r in res.items():
        med = statistics.median(r["ratio"])
        spread = (max(r["ratio"]) - min(r["ratio"])) / med
        rounds = ", ".join(f"{x:.1%}" for x in r["ratio"])
        print(
            f"  cache-fed / pure, {kind:5s} engine: pure {statistics.median(r['pure']):7.1f}  e2e "
            f"{statistics.median(r['e2e']):7.1f} img/s = {med:6.1%} (goal >= {goals[kind]:.0%}; rounds {rounds}; "
            f"spread {spread:.1%})"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rss-images", type=int, default=0)
    ap.add_argument("--dir", default="/tmp/zb-bench")
    ap.add_argument("--columns", default="", help="runtime-precision columns as `run` scores them, comma-separated")
    ap.add_argument("--only-columns", action="store_true", help="only the --columns measurement")
    ap.add_argument("--decoders-only", action="store_true", help="Only the fast-vs-reference decoder comparison.")
    a = ap.parse_args()
    from zoobench.data.fastdecode import preload_in_workers

    preload_in_workers()  # before any pool: the forkserver imports torch once
    from zoobench.data.cache import prep_cache
    from zoobench.data.decode import DecodePool
    from zoobench.data.transforms import normalize
    from zoobench.engines import resolve_engine, uint8_engine
    from zoobench.infer.loop import run_folder
    from zoobench.infer.settings import InferSettings

    print_machine()
    root = Path(a.dir)
    files = make_photo_jpegs(root / "val", a.images)
    eng = resolve_engine("mnasnet1_0", weights="random", workdir=root, exporter="torchscript")
    pp = eng.preprocess
    cache = root / "cache_mnasnet"
    prep_cache(root / "val", pp, cache, workers=a.workers)
    print(f"mnasnet1_0 (random weights), CPU, batch {a.batch}, {len(files)} JPEGs ~500x375")
    if a.columns:
        column_ratios(eng, cache, root, a)
    if a.decoders_only:
        decoder_ratio(eng, root / "val", files, a)
    if a.only_columns or a.decoders_only:
        return
    print_cache_ratios(cache_ratios({"float": eng, "uint8": uint8_engine(eng)}, cache, a))

    # serial preprocessing cost per image (one process, no workers)
    t0 = time.perf_counter()
    batches = []
    with DecodePool(0) as pool:
        for d in pool.imap([files[i : i + a.batch] for i in range(0, len(files), a.batch)], pp):
            batches.append(normalize(d.pixels, pp))
    t_prep = (time.perf_counter() - t0) / len(files)
    t_infer = 1 / pure_rate(eng.path, batches, a.threads)
    r_img = run_folder(eng, root / "val", InferSettings(batch_size=a.batch, threads=a.threads, workers=a.workers))
    img_rate = r_img.stages["e2e"]["throughput_img_s"]
    serial = 1 / (t_prep + t_infer)
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
    decoder_ratio(eng, root / "val", files, a)
    if a.rss_images:
        rss_run(eng, root, a)


def serial_prep_s(files: list[Path], pp: Any, decoder: str, batch: int) -> float:
    """Seconds per image to read, decode, resize, crop and normalize in one process on one thread."""
    import torch

    from zoobench.data.decode import DecodePool
    from zoobench.data.transforms import normalize

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    with DecodePool(0) as pool:
        for d in pool.imap([files[i : i + batch] for i in range(0, len(files), batch)], pp, decoder=decoder):
            normalize(d.pixels, pp)
    torch.set_num_threads(threads)
    return (time.perf_counter() - t0) / len(files)


def decoder_ratio(eng: Any, val: Path, files: list[Path], a: argparse.Namespace) -> None:
    """Image-fed e2e, fast decoder over reference, interleaved rounds; each one's serial bound."""
    from zoobench.data.decode import DecodePool
    from zoobench.data.transforms import normalize
    from zoobench.infer.loop import run_folder
    from zoobench.infer.settings import InferSettings

    pp = eng.preprocess
    t0 = time.perf_counter()
    with DecodePool(a.workers) as pool:  # starts the forkserver (it imports torch) and one pool: the fixed cost
        list(pool.imap([files[:1]] * a.workers, pp, decoder="fast"))
    start = time.perf_counter() - t0
    with DecodePool(0) as pool:
        batches = [
            normalize(d.pixels, pp)
            for d in pool.imap([files[i : i + a.batch] for i in range(0, len(files), a.batch)], pp)
        ]
    t_infer = 1 / pure_rate(eng.path, batches, a.threads)
    rates: dict[str, list[float]] = {"reference": [], "fast": []}
    for r in range(a.rounds):
        for dec in ("reference", "fast") if r % 2 == 0 else ("fast", "reference"):
            res = run_folder(
                eng, val, InferSettings(batch_size=a.batch, threads=a.threads, workers=a.workers, decoder=dec)
            )
            rates[dec].append(res.stages["e2e"]["throughput_img_s"])
    ratios = [f / r for f, r in zip(rates["fast"], rates["reference"])]
    for dec in ("reference", "fast"):
        t_prep = serial_prep_s(files, pp, dec, a.batch)
        serial = 1 / (t_prep + t_infer)
        e2e = statistics.median(rates[dec])
        print(f"  image-fed e2e, {dec:9s} decoder, {a.workers} workers: {e2e:7.1f} img/s (rounds "
              f"{', '.join(f'{x:.1f}' for x in rates[dec])}); serial prep {1 / t_prep:6.1f} img/s, serial bound "
              f"1/(t_prep + t_infer) {serial:6.1f} img/s, e2e = {e2e / serial:.0%} of it")  # fmt: skip
    print(f"  fast / reference, image-fed e2e: {statistics.median(ratios):.2f}x (goal >= 1.10x; rounds "
          f"{', '.join(f'{x:.2f}' for x in ratios)}); pure inference {1 / t_infer:.1f} img/s")  # fmt: skip
    print(f"  fixed cost, not in e2e: {start:.2f} s to start {a.workers} fast workers (a process's first pool also "
          "waits for the forkserver to import torch, once)")  # fmt: skip


def rss_run(eng: Any, root: Path, a: argparse.Namespace) -> None:
    from zoobench.infer.loop import RunIO, run_folder
    from zoobench.infer.settings import InferSettings

    big = make_photo_jpegs(root / "val_rss", a.rss_images)
    samples: list[tuple[int, float, float]] = []
    seen = [0]

    def tick(n: int) -> None:
        seen[0] += n
        if seen[0] // 500 != (seen[0] - n) // 500:
            kids = sum(rss_mb(p.pid) for p in multiprocessing.active_children())
            samples.append((seen[0], rss_mb(), kids))

    run_folder(
        eng,
        root / "val_rss",
        InferSettings(batch_size=a.batch, threads=a.threads, workers=a.workers),
        io=RunIO(progress=tick),
    )
    print(f"  RSS during a {len(big)}-image image-fed run (MB: main, workers):")
    for n, m, k in samples:
        print(f"    {n:6d} images  main {m:7.1f}  workers {k:7.1f}")
    mains = [m for _, m, _ in samples[1:]] or [0.0]
    print(f"  main RSS growth after the first 500 images: {max(mains) - min(mains):.1f} MB")


if __name__ == "__main__":
    main()
