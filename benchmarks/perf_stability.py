"""Are zoobench's perf numbers repeatable? Two back-to-back `zoobench perf` runs on the same engine, cell by cell.

    python benchmarks/perf_stability.py                       # EfficientNet-Lite0 (real weights), batch 1 and 8
    python benchmarks/perf_stability.py --batch-sizes 1,4,8,16 --runtimes onnxruntime,openvino
    python benchmarks/perf_stability.py --weights random --model mnasnet1_0

Each run is the default sweep (3 interleaved rounds per cell, median img/s). Prints, per cell, both medians,
their ratio (run 2 / run 1), their disagreement |a - b| / mean, each run's spread, and the worst disagreement
against the goal (<= 7%), with the CPU flags and the load average before and after (other work on the machine
shows up in the figure). Not a test: the figure depends on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cpu_flags() -> str:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0].split())
    except (OSError, IndexError):
        return "unknown"
    keep = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16")
    return " ".join(f"{f}{'+' if f in flags else '-'}" for f in keep)


def _cpu_name() -> str:
    try:
        line = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown"
    return line.split(":", 1)[1].strip()


def _loadavg() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="efficientnet_lite0")
    ap.add_argument("--batch-sizes", default="1,8")
    ap.add_argument("--runtimes", default="onnxruntime")
    ap.add_argument("--seconds", default="1.0", help="perf --seconds (per cell per round)")
    ap.add_argument("--repeats", default="3")
    ap.add_argument("--weights", default="found", help="'found' (default): the model's published weights; or 'random'")
    ap.add_argument("--goal-pct", type=float, default=7.0)
    args = ap.parse_args()

    import json

    from zoobench.engines import resolve_engine

    work = Path(tempfile.mkdtemp(prefix="zoobench-stability-"))
    weights = None if args.weights == "found" else args.weights
    engine = resolve_engine(args.model, weights=weights, workdir=work)  # the same engine file for both runs
    load_before = _loadavg()
    exe = str(Path(sys.executable).with_name("zoobench"))
    runs = []
    for i in (1, 2):
        out = work / f"run{i}"
        cmd = [exe, "perf", engine.path, "-b", args.batch_sizes, "--runtimes", args.runtimes,
               "--seconds", args.seconds, "--repeats", args.repeats, "-o", str(out), "--json"]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        runs.append((json.loads((out / "perf.json").read_text()), time.perf_counter() - t0))
    kind = "random" if engine.random_weights else "real"
    print(f"\n{args.model} ({kind} weights) · {engine.path}\nCPU: {_cpu_name()} · flags: {cpu_flags()}")
    print(f"load average (1 min) before {load_before} / after {_loadavg()} on {os.cpu_count()} cores")
    print(f"two back-to-back `zoobench perf` runs ({runs[0][1]:.0f} s and {runs[1][1]:.0f} s), img/s medians\n")
    head = f"{'cell':<28} {'run 1':>9} {'run 2':>9} {'2 / 1':>6} {'differ':>8} {'spread 1':>9} {'spread 2':>9}"
    print(head)
    worst = 0.0
    (a, _), (b, _) = runs
    for ca, cb in zip(a["columns"], b["columns"]):
        for ra, rb in zip(ca.get("results", []), cb.get("results", [])):
            if "error" in ra or "error" in rb:
                continue
            x, y = ra["throughput_img_s"], rb["throughput_img_s"]
            diff = 100 * abs(x - y) / ((x + y) / 2)
            worst = max(worst, diff)
            cell = f"{ca['name']} b{ra['batch_size']}"
            spreads = f"{ra['spread_pct']:8.1f}% {rb['spread_pct']:8.1f}%"
            print(f"{cell:<28} {x:9.1f} {y:9.1f} {y / x:6.3f} {diff:7.1f}% {spreads}")
    verdict = "met" if worst <= args.goal_pct else "NOT met"
    print(f"\nworst disagreement {worst:.1f}% · goal <= {args.goal_pct:g}% · {verdict}")


if __name__ == "__main__":
    main()
