"""prep throughput: zoobench's worker pool (reference and fast decoders) vs the seeds' single-process PIL → float32
.bin script, side by side, in interleaved rounds.

Usage: python benchmarks/prep_throughput.py [--images 4000] [--workers 2] [--rounds 3] [--dir /tmp/zb-bench-decoder]

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

from prep_common import make_photo_jpegs

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str]) -> float:
    os.sync()  # flush the previous step's writes so their writeback is not billed to this one
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": _pythonpath()})
    return time.perf_counter() - t0


def _pythonpath() -> str:
    return os.pathsep.join([str(HERE.parent / "src"), str(HERE), os.environ.get("PYTHONPATH", "")])


def steps(root: Path, workers: int, val: Path) -> dict[str, list[str]]:
    py = sys.executable
    seeds = [py, "-c", f"from pathlib import Path; from prep_common import seed_style_prep; "
             f"seed_style_prep(sorted(Path('{val}').glob('*.JPEG')), Path('{root / 'seed_bin'}'))"]  # fmt: skip
    prep = [py, "-m", "zoobench", "prep", "--data", str(val), "--model", "mnasnet1_0", "-j", str(workers)]
    return {
        "seeds' script (1 process, float32 .bin)": seeds,
        f"zoobench prep npy, reference, {workers} workers": [*prep, "-o", str(root / "zb_ref")],
        f"zoobench prep npy, fast, {workers} workers": [*prep, "--decoder", "fast", "-o", str(root / "zb_fast")],
        f"zoobench prep bin, fast, {workers} workers": [*prep, "--decoder", "fast", "--format", "bin",
                                                       "-o", str(root / "zb_fast_bin")],
    }  # fmt: skip


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=4000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/zb-bench-decoder")
    a = ap.parse_args()
    from zoobench.env import cpu_model

    root = Path(a.dir)
    files = make_photo_jpegs(root / f"val{a.images}", a.images)  # a folder of exactly --images files
    cmds = steps(root, a.workers, root / f"val{a.images}")
    times: dict[str, list[float]] = {k: [] for k in cmds}
    order = list(cmds)
    for r in range(a.rounds):
        for label in order[r % len(order) :] + order[: r % len(order)]:  # rotate: no step always goes first
            for d in ("seed_bin", "zb_ref", "zb_fast", "zb_fast_bin"):
                shutil.rmtree(root / d, ignore_errors=True)
            times[label].append(timed(cmds[label]))
    start = worker_start_s(a.workers)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{cpu_model()}, {os.cpu_count()} logical cores; load average at the end: {load}")
    print(f"{len(files)} JPEGs ~500x375 q90, mnasnet1_0 preprocessing (Resize 256 bilinear, CenterCrop 224), "
          f"{a.rounds} rounds, each step a fresh process")  # fmt: skip
    seeds = times[order[0]]
    for label, ts in times.items():
        ratios = [s / t for s, t in zip(seeds, ts)]
        med = statistics.median(ts)
        print(f"  {label:44s} {med:7.2f} s  {len(files) / med:7.1f} img/s  x{statistics.median(ratios):.2f} vs seeds "
              f"(rounds {', '.join(f'{x:.2f}' for x in ratios)})")  # fmt: skip
    print(f"  fixed cost of the fast decoder: {start:.2f} s for a {a.workers}-worker pool to start (its forkserver "
          f"imports torch once; in each fast run above)")  # fmt: skip
    fast = statistics.median(times[order[2]])
    print(f"  fast npy less that fixed cost (estimates a long run's rate): {len(files) / (fast - start):.1f} img/s "
          f"= x{statistics.median(seeds) / (fast - start):.2f} vs seeds")  # fmt: skip
    one = per_image_s(files[: min(len(files), 300)], root)
    n, w = len(files), a.workers
    print(f"  per image in one process, one thread: seeds {one['seeds'] * 1e3:.2f} ms, reference "
          f"{one['reference'] * 1e3:.2f} ms, fast {one['fast'] * 1e3:.2f} ms")  # fmt: skip
    bound = n * one["seeds"] / (start + n * one["fast"] / w)
    print(f"  serial bound: {w} fast workers on {w} free cores can be at most x{w * one['seeds'] / one['fast']:.2f} "
          f"the seeds' script; with the fixed cost on {n} images x{bound:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
