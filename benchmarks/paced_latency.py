"""One image's latency on zoobench's ONNX Runtime session of the Server's engine (the uint8-input export), back to
back and paced (an idle CPU between requests, as the Server scenario's Poisson arrivals leave it), per intra-op
thread count. Not a test: it prints percentiles.

    python benchmarks/paced_latency.py                     # mnasnet1_0, random weights, 1 and 2 threads
    python benchmarks/paced_latency.py --gap-ms 20 --paced 150 --seconds 4

On a 2-vCPU Xeon (2026-12-05) a request after a 20 ms gap took ~1.4x a back-to-back one: that is part of why the
Server's p50 sits above SingleStream's on the same engine (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


def server_engine(model: str, workdir: str) -> str:
    """The engine ``zoobench loadgen`` serves for ONNX Runtime fp32: the export (random weights, from the engine
    store when there) with its uint8 input."""
    from zoobench.engines.build import resolve_engine, uint8_engine

    return uint8_engine(resolve_engine(model, weights="random", workdir=workdir)).path


def session(path: str, threads: int) -> Any:
    from zoobench.runtimes import load_session

    return load_session(path, "onnxruntime", threads=threads)


def one_image(sess: Any) -> np.ndarray:
    return np.zeros((1, 3, 224, 224), sess.input_dtype)


def back_to_back(sessions: list[Any], seconds: float, batch: int = 1) -> tuple[float, np.ndarray]:
    """All ``sessions`` running at once, each in its own thread (the runtimes release the GIL): images/s and
    every run's time (s)."""
    times: list[list[float]] = [[] for _ in sessions]
    end = time.perf_counter() + seconds

    def loop(i: int) -> None:
        x = np.repeat(one_image(sessions[i]), batch, axis=0)
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            sessions[i].run(x)
            times[i].append(time.perf_counter() - t0)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(sessions))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = sum(len(t) for t in times)
    return runs * batch / (time.perf_counter() - start), np.array([x for t in times for x in t])


def paced(sess: Any, runs: int, gap_s: float) -> np.ndarray:
    x = one_image(sess)
    out = []
    for _ in range(runs):
        time.sleep(gap_s)
        t0 = time.perf_counter()
        sess.run(x)
        out.append(time.perf_counter() - t0)
    return np.array(out)


def percentiles(ms: list[float]) -> str:
    p50, p90, p99, top = np.percentile(np.array(ms), [50, 90, 99, 100])
    return f"n {len(ms)}  p50 {p50:.2f}  p90 {p90:.2f}  p99 {p99:.2f}  max {top:.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mnasnet1_0", help="a registered model (random weights)")
    ap.add_argument("--threads", default=f"1,{os.cpu_count() or 1}")
    ap.add_argument("--seconds", type=float, default=4.0, help="the back-to-back loop's length")
    ap.add_argument("--paced", type=int, default=150, help="paced runs")
    ap.add_argument("--gap-ms", type=float, default=20.0, help="idle time before each paced run")
    args = ap.parse_args()
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        path = server_engine(args.model, tmp)
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        print(f"{args.model}, ONNX Runtime {ort.__version__}, {os.cpu_count()} CPUs, load average {load}")
        for threads in sorted({int(t) for t in args.threads.split(",")}):
            sess = session(path, threads)
            x = one_image(sess)
            for _ in range(20):
                sess.run(x)
            tight = list(back_to_back([sess], args.seconds)[1] * 1e3)
            spaced = list(paced(sess, args.paced, args.gap_ms / 1e3) * 1e3)
            print(f"{threads} thread(s), back to back: {percentiles(tight)}")
            print(f"{threads} thread(s), {args.gap_ms:g} ms apart: {percentiles(spaced)}")


if __name__ == "__main__":
    main()
