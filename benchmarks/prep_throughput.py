"""prep throughput: zoobench's worker pool (reference and fast decoders) vs the seeds' single-process PIL → float32
.bin script, side by side, in interleaved rounds.

Usage: python benchmarks/prep_throughput.py [--images 600,2000] [--set second|first] [--workers 2] [--rounds 3]
       [--dir /tmp/zb-bench-decoder] [--bound-images 2000]

For each set size: the seeds' script, `prep` with the reference decoder and with the fast one, and the fast
decoder's ratio to the reference (same round). Then the fast decoder's pixel bound against the reference on the
set (max levels, on how many images). ``--set second`` (default) is the set the suite does not use
(prep_common.make_second_set); ``first`` the scikit-image photos at q90 ~500x375.

Every step runs as its own process, as a user runs it (`python seeds_script.py`, `zoobench prep ...`), so
each pays its own start: for the fast decoder that includes its pool's forkserver importing torch once
(measured apart and printed). Rounds rotate the order of the steps; the ratio of each round is taken against
the seeds' script of the same round, and the median is reported with every round's figure. Then the serial
bound: each path's cost per image in one process (one thread), and what 2 workers on 2 free cores could
reach against the seeds' script, with and without the fixed start cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from prep_common import SECOND_SET, decoder_bound, make_near_size_set, make_photo_jpegs, make_second_set

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str]) -> float:
    os.sync()  # flush the previous step's writes so their writeback is not billed to this one
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": _pythonpath()})
    return time.perf_counter() - t0


def _pythonpath() -> str:
    return os.pathsep.join([str(HERE.parent / "src"), str(HERE), os.environ.get("PYTHONPATH", "")])


def steps(root: Path, workers: int, val: Path, with_bin: bool = False) -> dict[str, list[str]]:
    py = sys.executable
    seeds = [py, "-c", f"from pathlib import Path; from prep_common import seed_style_prep; "
             f"seed_style_prep(sorted(Path('{val}').glob('*.JPEG')), Path('{root / 'seed_bin'}'))"]  # fmt: skip
    prep = [py, "-m", "zoobench", "prep", "--data", str(val), "--model", "mnasnet1_0", "-j", str(workers)]
    out = {
        "seeds' script (1 process, float32 .bin)": seeds,
        f"zoobench prep npy, reference, {workers} workers": [*prep, "-o", str(root / "zb_ref")],
        f"zoobench prep npy, fast, {workers} workers": [*prep, "--decoder", "fast", "-o", str(root / "zb_fast")],
    }
    if with_bin:
        out[f"zoobench prep bin, fast, {workers} workers"] = [*prep, "--decoder", "fast", "--format", "bin",
                                                             "-o", str(root / "zb_fast_bin")]  # fmt: skip
    return out


def worker_start_s(workers: int) -> float:
    """Seconds for a fast-decoder pool to start as `prep` starts it (a forkserver that imports torch once, then
    forks the workers) until every worker has the decoder loaded: the fast path's fixed cost."""
    code = (
        "import time\nfrom zoobench.data.decode import DecodePool\nfrom zoobench.data import fastdecode\n"
        "def f(_):\n    fastdecode._torch(); return 0\n"
        "if __name__ == '__main__':\n    t0 = time.perf_counter()\n"
        f"    with DecodePool({workers}, 'fast') as p: p._pool.map(f, range({workers}))\n"
        "    print(time.perf_counter() - t0)\n"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as d:  # a file, not -c: the workers import the main module by path
        (Path(d) / "probe.py").write_text(code)
        out = subprocess.run([sys.executable, str(Path(d) / "probe.py")], check=True, capture_output=True,
                             text=True, env={**os.environ, "PYTHONPATH": _pythonpath()}, timeout=300)  # fmt: skip
    return float(out.stdout.split()[-1])


def per_image_s(files: list[Path], root: Path) -> dict[str, float]:
    """Seconds per image in this one process (one thread): the seeds' script, the reference and the fast path."""
    import torch
    from prep_common import seed_style_prep

    from zoobench.data.decode import decode_one
    from zoobench.models import get_spec

    torch.set_num_threads(1)
    pp = get_spec("mnasnet1_0").preprocess
    decode_one(files[0], pp, "fast")  # loads the decoder: not per image
    out: dict[str, float] = {}
    for label, fn in (
        ("seeds", lambda: seed_style_prep(files, root / "seed_one")),
        ("reference", lambda: [decode_one(f, pp) for f in files]),
        ("fast", lambda: [decode_one(f, pp, "fast") for f in files]),
    ):
        os.sync()
        t0 = time.perf_counter()
        fn()
        out[label] = (time.perf_counter() - t0) / len(files)
    shutil.rmtree(root / "seed_one", ignore_errors=True)
    return out


def run_size(root: Path, files: list[Path], val: Path, workers: int, rounds: int) -> dict[str, list[float]]:
    """Every step of one set size, rounds rotating their order; seconds per step per round."""
    cmds = steps(root, workers, val)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    order = list(cmds)
    for r in range(rounds):
        for label in order[r % len(order) :] + order[: r % len(order)]:  # rotate: no step always goes first
            for d in ("seed_bin", "zb_ref", "zb_fast", "zb_fast_bin"):
                shutil.rmtree(root / d, ignore_errors=True)
            times[label].append(timed(cmds[label]))
    return times


def report_size(n: int, times: dict[str, list[float]]) -> None:
    order = list(times)
    seeds, ref, fast = times[order[0]], times[order[1]], times[order[2]]
    print(f"{n} images:")
    for label, ts in times.items():
        ratios = [s / t for s, t in zip(seeds, ts)]
        med = statistics.median(ts)
        print(f"  {label:44s} {med:7.2f} s  {n / med:7.1f} img/s  x{statistics.median(ratios):.2f} vs seeds "
              f"(rounds {', '.join(f'{x:.2f}' for x in ratios)})")  # fmt: skip
    per = [r / f for r, f in zip(ref, fast)]
    print(f"  fast vs reference at {n} images: x{statistics.median(per):.2f} (median of {len(per)} rounds: "
          f"{', '.join(f'{x:.2f}' for x in per)})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", default="600,2000", help="set sizes, comma-separated")
    ap.add_argument("--set", choices=("second", "first"), default="second")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bound-images", type=int, default=2000, help="images the pixel bound is measured on")
    ap.add_argument("--serial", action="store_true", help="also the per-image serial bound (one process)")
    ap.add_argument("--bound-only", action="store_true", help="only the pixel bounds (no timing)")
    ap.add_argument("--dir", default="/tmp/zb-bench-decoder")
    a = ap.parse_args()
    from zoobench.env import cpu_model

    root = Path(a.dir)
    make = make_second_set if a.set == "second" else make_photo_jpegs
    name = SECOND_SET if a.set == "second" else "scikit-image photos ~500x375 q90"
    print(f"{cpu_model()}, {os.cpu_count()} logical cores; {name}; mnasnet1_0 preprocessing (Resize 256 bilinear, "
          f"CenterCrop 224); {a.rounds} rounds, each step a fresh process")  # fmt: skip
    sizes = [] if a.bound_only else [int(x) for x in a.images.split(",")]
    files: list[Path] = []
    for n in sizes:
        val = root / f"{a.set}{n}"
        files = make(val, n)  # a folder of exactly n files
        report_size(n, run_size(root, files, val, a.workers, a.rounds))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average after the timings: {load}")
    bound_files = make(root / f"{a.set}{a.bound_images}", a.bound_images)
    b = decoder_bound(bound_files)
    print(f"fast vs reference pixels (bilinear): max {b['max_levels']} levels, on {b['images_at_max']} of "
          f"{b['images']} images of the {name}; {b['values_differ_pct']:.3f}% of values differ; images by max "
          f"difference {b['per_max']}; worst {b['worst_image']}")  # fmt: skip
    near = decoder_bound(make_near_size_set(root / "near410x272", 300))
    print(f"  the same photos at 410x272 (each side shrinks ~6% to a shorter side of 256): max {near['max_levels']} "
          f"levels, on {near['images_at_max']} of {near['images']} images; {near['values_differ_pct']:.3f}% of "
          f"values differ; {near['per_max']}")  # fmt: skip
    if a.serial and files:
        serial(files, root, a.workers)


def serial(files: list[Path], root: Path, w: int) -> None:
    """The fast path's fixed start and each path's cost per image in one process."""
    start = worker_start_s(w)
    print(f"  fixed cost of the fast decoder: {start:.2f} s for a {w}-worker pool to start (its forkserver "
          f"imports torch once)")  # fmt: skip
    one = per_image_s(files[: min(len(files), 300)], root)
    n = len(files)
    print(f"  per image in one process, one thread: seeds {one['seeds'] * 1e3:.2f} ms, reference "
          f"{one['reference'] * 1e3:.2f} ms, fast {one['fast'] * 1e3:.2f} ms")  # fmt: skip
    bound = n * one["seeds"] / (start + n * one["fast"] / w)
    print(f"  serial bound: {w} fast workers on {w} free cores can be at most x{w * one['seeds'] / one['fast']:.2f} "
          f"the seeds' script; with the fixed cost on {n} images x{bound:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
