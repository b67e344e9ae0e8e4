"""`zoobench run` with 4 columns (onnxruntime, openvino × fp32, int8), one tree against another, side by side.

    python benchmarks/run_engine_build.py --old /tmp/old/src            # this tree's src vs an older one's
    python benchmarks/run_engine_build.py --old /tmp/old/src --rounds 3 --model efficientnet_lite0

Before the engine build (issue 28) a run built the int8 engines twice (a float-input one for perf, a uint8-input
one for score) and exported from scratch whenever the export cache missed; now each column's engine is built once.
Each round runs both trees in ABBA order, each with an empty engine cache ($ZOOBENCH_CACHE) and a new run folder,
on the demo's photos; prints each run's wall seconds, the medians and new / old, with the CPU flags and the load
average before and after (other work on the machine shows up in the figure). Not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def cpu_flags() -> str:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0].split())
    except (OSError, IndexError):
        return "unknown"
    keep = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")
    return " ".join(f for f in keep if f in flags)


def one_run(src: str, args: argparse.Namespace, data: Path, labels: Path, work: Path) -> float:
    cache, rundir = Path(tempfile.mkdtemp(dir=work)), Path(tempfile.mkdtemp(dir=work)) / "run"
    env = {**os.environ, "PYTHONPATH": src, "ZOOBENCH_CACHE": str(cache)}
    cmd = [sys.executable, "-m", "zoobench", "run", args.model, "--data", str(data), "--labels", str(labels),
           "--runtimes", "onnxruntime,openvino", "--precisions", "fp32,int8", "-b", "8", "--seconds", "0.5",
           "--repeats", "1", "-o", str(rundir), "--json"]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 1):  # 1: a model not passed (four photos rarely decide the gate)
        raise SystemExit(f"{src}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="the older tree's src folder (e.g. from `git archive`)")
    ap.add_argument("--new", default=str(HERE / "src"), help="this tree's src folder")
    ap.add_argument("--model", default="efficientnet_lite0")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, args.new)
    from zoobench.demo import write_demo_images

    times: dict[str, list[float]] = {"old": [], "new": []}
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="zoobench-bench-") as tmp:
        work = Path(tmp)
        labels = write_demo_images(work / "photos")
        for r in range(args.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for which in order:
                times[which].append(one_run(getattr(args, which), args, work / "photos", labels, work))
                print(f"round {r + 1} {which}: {times[which][-1]:.1f} s", flush=True)
    load1 = os.getloadavg()
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"model {args.model}, columns onnxruntime,openvino x fp32,int8, batch 8, cold engine cache per run")
    print(f"old: {', '.join(f'{t:.1f}' for t in times['old'])} s (median {old:.1f})")
    print(f"new: {', '.join(f'{t:.1f}' for t in times['new'])} s (median {new:.1f})")
    print(f"new / old: {new / old:.2f}  (spread old {min(times['old']):.1f}-{max(times['old']):.1f}, "
          f"new {min(times['new']):.1f}-{max(times['new']):.1f})")  # fmt: skip
    print(f"cpu: {cpu_flags()}; {os.cpu_count()} cpus; load average before {load0[0]:.2f}, after {load1[0]:.2f}")


if __name__ == "__main__":
    main()
