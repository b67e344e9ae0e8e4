"""The Server scenario's ceiling on one engine: the highest Poisson arrival rate an *ideal* server holds at
p99 <= the bound, per parallel form, beside the Offline rate measured in the same run. Not a test: it prints.

The ideal server has no LoadGen, no Python, no hand-off between threads and no early stopping: a request waits
only for a free session (FIFO) and then takes a run time drawn from the session's own measured run times. What
LoadGen measures can only be worse, so when the ceiling is under a goal (issue 34: Server >= 55% of Offline for
mnasnet1_0 on ONNX Runtime fp32 at 15 ms) no serving policy meets that goal on this machine.

    python benchmarks/server_ceiling.py                          # mnasnet1_0, ONNX Runtime fp32, 15 ms
    python benchmarks/server_ceiling.py --model dino_resnet50 --latency-ms 15 --seconds 6

Run times per form: ``back to back`` (a loaded queue runs them so: the optimistic draw) and ``paced`` (each run
after an idle gap, as light Poisson traffic leaves the CPU). For ``N x 1 thread`` the back-to-back times are
taken with all N sessions running at once (they share the memory system); its paced times on one session alone.
"""

from __future__ import annotations

import argparse
import heapq
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from paced_latency import back_to_back, one_image, paced, server_engine, session

GOAL_SHARE = 0.55  # issue 34's goal for mnasnet1_0 on ONNX Runtime fp32
QUERIES = 40_000  # simulated requests per rate
STEPS = 30  # bisection steps over the rate


def p99_response_s(service_s: np.ndarray, servers: int, rate: float, seed: int = 0) -> float:
    """p99 of (wait + run) for Poisson arrivals at ``rate``/s on ``servers`` FIFO sessions, each run drawn from
    ``service_s``. One seed for every rate (common random numbers): the arrivals are the same unit gaps scaled,
    so p99 only grows with the rate and bisection is exact."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0, QUERIES)) / rate
    runs = service_s[rng.integers(0, len(service_s), QUERIES)]
    free = [0.0] * servers
    response = np.empty(QUERIES)
    for i, (t, run) in enumerate(zip(arrivals, runs, strict=True)):
        start = max(t, heapq.heappop(free))
        heapq.heappush(free, start + run)
        response[i] = start + run - t
    return float(np.percentile(response, 99))


def ceiling(service_s: np.ndarray, servers: int, bound_s: float) -> float:
    """The highest rate whose simulated p99 is within ``bound_s`` (0 when even one lone run is over it)."""
    if float(np.percentile(service_s, 99)) > bound_s:
        return 0.0
    low, high = 0.0, servers / float(np.mean(service_s))
    for _ in range(STEPS):
        mid = (low + high) / 2
        low, high = (mid, high) if p99_response_s(service_s, servers, mid) <= bound_s else (low, mid)
    return low


def warmed(path: str, threads: int, batches: tuple[int, ...] = (1,)) -> Any:
    sess = session(path, threads)
    for b in batches:
        for _ in range(10):
            sess.run(np.repeat(one_image(sess), b, axis=0))
    return sess


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mnasnet1_0", help="a registered model (random weights)")
    ap.add_argument("--latency-ms", type=float, default=15.0, help="the bound at p99")
    ap.add_argument("--seconds", type=float, default=5.0, help="each back-to-back measurement's length")
    ap.add_argument("--paced", type=int, default=200, help="paced runs per form")
    ap.add_argument("--gap-ms", type=float, default=20.0, help="idle time before each paced run")
    ap.add_argument("--batch", type=int, default=8, help="the Offline form's batch on one all-thread session")
    args = ap.parse_args()
    import onnxruntime as ort

    cores, bound = os.cpu_count() or 1, args.latency_ms / 1e3
    with tempfile.TemporaryDirectory() as tmp:
        path = server_engine(args.model, tmp)
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        print(f"{args.model} (uint8-input engine), ONNX Runtime {ort.__version__} fp32, {cores} CPUs, load {load}")
        wide = warmed(path, cores, (1, args.batch))
        narrow = [warmed(path, 1) for _ in range(cores)]
        offline = {
            f"{cores} x 1 thread, batch 1": back_to_back(narrow, args.seconds)[0],
            f"1 x {cores} threads, batch {args.batch}": back_to_back([wide], args.seconds, args.batch)[0],
        }
        best = max(offline.values())
        for form, rate in offline.items():
            print(f"Offline {form}: {rate:.1f} img/s")
        gap = args.gap_ms / 1e3
        forms = {
            (f"1 x {cores} threads", 1): (back_to_back([wide], args.seconds)[1], paced(wide, args.paced, gap)),
            (f"{cores} x 1 thread", cores): (back_to_back(narrow, args.seconds)[1], paced(narrow[0], args.paced, gap)),
        }
        print(f"Ideal Server at p99 <= {args.latency_ms:g} ms (goal {GOAL_SHARE:g} x Offline {best:.1f} img/s):")
        for (form, servers), draws in forms.items():
            for how, service in zip(("back to back", f"{args.gap_ms:g} ms apart"), draws, strict=True):
                top = ceiling(service, servers, bound)
                p50, p99 = np.percentile(service, [50, 99]) * 1e3
                print(
                    f"  {form:14s} runs {how:13s} (n {len(service):5d}, p50 {p50:5.2f} p99 {p99:5.2f} ms): "
                    f"{top:6.1f} queries/s = {top / best:.2f} x Offline"
                )


if __name__ == "__main__":
    main()
