"""`zoobench loadgen` against perf and a plain loop on the same engines, side by side in one run.

    python benchmarks/loadgen.py                         # mnasnet1_0, random weights; ORT fp32 and OpenVINO int8
    python benchmarks/loadgen.py --rounds 3 --length 5 --batch 8

For each column (ONNX Runtime fp32, OpenVINO int8; each the uint8-input engine `loadgen` builds), in interleaved
rounds (column by column within a round, so drift on a shared machine hits all alike):

* Offline: LoadGen's samples/s vs `perf`'s img/s at the same batch on the same engine (perf's best parallel form:
  OpenVINO's THROUGHPUT hint with its request queue). Goal: >= 95%.
* SingleStream: LoadGen's p90 latency vs the p90 of a synchronous batch-1 loop on the same engine and session
  settings (OpenVINO with the latency hint, its default). Goal: <= 1.10x. Twice: `zoobench loadgen`'s row
  against loops run in this process, and, in one child process, the loop, the same SingleStream test on the
  same session, the loop again (this 2-core machine switches between two speeds ~1.6x apart, often between
  processes: only the one-process figure keeps that switch out of the ratio).

Each figure is the median over the rounds; each ratio the median of the rounds' own ratios, the sync loop
bracketing its round's LoadGen tests (run just before and just after them: drift on a shared machine shows).
The images are 64 real-photo crops (scikit-image), prepped once;
int8 is calibrated on them. Not a test: the machine may be shared (the load average is printed).

With ``--server`` (one round; the searches are long): for each column, the highest VALID Server target at p99 <=
``--latency-ms`` found by ``loadgen --find-qps`` under each policy (``streams``, ``batch``, ``auto``; each
search's confirming run at test length gives the verdict printed beside it), and Offline's samples/s, side by
side; the batch policy's histogram. Goals: auto >= 0.95x the better policy; Server >= 55% of Offline (ORT fp32).

    python benchmarks/loadgen.py --server --search-steps 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "data"))

COLUMNS = (("onnxruntime", "fp32"), ("openvino", "int8"))
POLICIES = ("streams", "batch", "auto")


def sync_p90_ms(engine: Any, runtime: str, cache: Any, seconds: float) -> float:
    """p90 of ``session.run`` on one cached crop at a time, for ``seconds`` (after 10 warm-up runs), on a session
    of its own."""
    from zoobench.runtimes import load_session

    session = load_session(engine.path, runtime, precision=engine.precision)
    try:
        return _sync_loop_p90_ms(session, np.asarray(cache.pixels[: min(len(cache.pixels), 64)]), seconds)
    finally:
        session.release()


def _sync_loop_p90_ms(session: Any, rows: np.ndarray, seconds: float) -> float:
    """p90 (ms) of ``session.run`` on one of ``rows`` at a time, for ``seconds`` and at least 64 runs."""
    for i in range(10):
        session.run(rows[i % len(rows)][None])
    lat, end, i = [], time.perf_counter() + seconds, 0
    while time.perf_counter() < end or len(lat) < 64:
        t0 = time.perf_counter()
        session.run(rows[i % len(rows)][None])
        lat.append(time.perf_counter() - t0)
        i += 1
    return float(np.percentile(np.asarray(lat) * 1e3, 90))


def bracket(job_json: str, seconds: float) -> None:
    """In this process: the sync loop, then the SingleStream test of ``job_json`` (a ``loadgen`` test's job.json)
    on the same session, then the sync loop again; prints JSON. One process, seconds apart: a machine that changes
    speed between processes (this one does, by ~1.6x) cannot put its change between the figures compared."""
    import json

    from zoobench.data.cache import open_cache
    from zoobench.scenarios.child import open_sessions, run_test
    from zoobench.scenarios.mllog import read_logs

    job = json.loads(Path(job_json).read_text())
    job["outdir"] = str(Path(job_json).parent / "bracketed")
    rows = np.asarray(open_cache(job["cache"]).pixels[:64])
    sessions = open_sessions(job)
    try:
        before = _sync_loop_p90_ms(sessions[0], rows, seconds)
        run_test(job, sessions)
        after = _sync_loop_p90_ms(sessions[0], rows, seconds)
    finally:
        for sess in sessions:
            sess.release()
    _summary, detail = read_logs(job["outdir"])
    lg = float(detail["result_90.00_percentile_latency_ns"]) / 1e6
    print(json.dumps({"before": before, "after": after, "loadgen": lg, "valid": detail.get("result_validity")}))


def bracketed(folder: Path, seconds: float) -> dict[str, Any]:
    """:func:`bracket` in a child process on the SingleStream test ``loadgen`` just ran under ``folder``."""
    import json
    import subprocess

    job = next(folder.glob("*/SingleStream/performance/job.json"))
    cmd = [sys.executable, __file__, "--bracket", str(job), "--seconds", str(seconds)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def perf_img_s(engine: Any, runtime: str, precision: str, batch: int, seconds: float) -> dict[str, Any]:
    """perf's img/s at ``batch`` (one round); writes perf.json beside the engine (loadgen's hints read it)."""
    from zoobench.perf.settings import PerfSettings
    from zoobench.perf.sweep import do_perf

    s = PerfSettings(runtimes=[runtime], precisions=[precision], batch_sizes=sorted({1, 8, batch}), seconds=seconds,
                     repeats=1, tuned=False, quiet=True, outdir=str(Path(engine.path).parent))  # fmt: skip
    res = do_perf(engine.model, s, engine=engine)
    col = next(c for c in res["columns"] if c.get("available"))
    return next(r for r in col["results"] if r["batch_size"] == batch)


def loadgen_rows(engine: Any, runtime: str, precision: str, cache: Path, args: Any, out: Path) -> dict[str, Any]:
    from zoobench.scenarios.settings import LoadgenSettings
    from zoobench.scenarios.stage import do_loadgen

    s = LoadgenSettings(
        runtimes=[runtime], precisions=[precision], batch_size=args.batch, mode="performance",
        scenarios=["SingleStream", "Offline"], length=str(args.length), outdir=str(out), quiet=True,
    )  # fmt: skip
    doc = do_loadgen(engine.path, str(cache), s)
    return {r["scenario"]: r for r in doc["rows"]}


def server_row(engine: Any, rt: str, prec: str, cache: Path, args: Any, out: Path, policy: str) -> dict[str, Any]:
    """``loadgen --find-qps`` under ``policy`` (Server only): the search's highest VALID target, the confirming
    run's row and the SUT's record."""
    from zoobench.scenarios.settings import LoadgenSettings
    from zoobench.scenarios.stage import do_loadgen

    s = LoadgenSettings(
        runtimes=[rt], precisions=[prec], batch_size=args.batch, mode="performance", scenarios=["Server"],
        length="test", outdir=str(out), quiet=True, find_qps=True, server_policy=policy, latency_ms=args.latency_ms,
        max_batch=args.batch, batch_wait_ms=args.batch_wait_ms, search_steps=args.search_steps,
    )  # fmt: skip
    (row,) = do_loadgen(engine.path, str(cache), s)["rows"]
    valid = [t["target_qps"] for t in row.get("search") or [] if t["valid"]]
    return {"best_valid": max(valid, default=0.0), "row": row}


def run_server(args: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="zoobench-lgserver-") as tmp:
        work = Path(tmp)
        engines, cache_dir, _cache = build(work, args)
        lines = []
        for (rt, prec), eng in engines.items():
            perf = perf_img_s(eng, rt, prec, args.batch, args.seconds)  # perf.json beside the engine: the hints
            got = {p: server_row(eng, rt, prec, cache_dir, args, work / f"{rt}-{prec}-{p}", p) for p in POLICIES}
            off = loadgen_rows(eng, rt, prec, cache_dir, args, work / f"{rt}-{prec}-offline")["Offline"]
            lines.append(_server_line(rt, prec, perf, got, off))
            print(lines[-1], flush=True)
            for p, g in got.items():  # each search, for the record: target -> verdict, and the confirming run
                steps = ", ".join(
                    f"{t['target_qps']:g} {'✓' if t['valid'] else '✗'}" for t in g["row"].get("search") or []
                )
                print(
                    f"  {rt}-{prec} {p}: {g['row']['server_policy']['why']}; search: {steps or 'none'}; confirming "
                    f"{g['row'].get('value')} queries/s {g['row']['result']} (p99 {g['row'].get('p99_ms')} ms)",
                    flush=True,
                )
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"\nServer at p99 <= {args.latency_ms:g} ms, --find-qps with {args.search_steps} bisection steps, "
          f"max batch {args.batch}, batch wait {args.batch_wait_ms:g} ms; load average {load}")  # fmt: skip
    print(f"\n| column | perf img/s (b{args.batch}) | streams QPS | batch QPS | auto QPS (chose) | best/Offline | "
          "auto/best | Offline samples/s | batch histogram |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    print("\n".join(lines))


def _server_line(rt: str, prec: str, perf: dict[str, Any], got: dict[str, Any], off: dict[str, Any]) -> str:
    def cell(p: str) -> str:
        return f"{got[p]['best_valid']:.1f} ({got[p]['row']['result']})"

    best = max(got["streams"]["best_valid"], got["batch"]["best_valid"])
    auto = got["auto"]
    ratio = (auto["best_valid"] / best) if best else float("nan")
    hist = (got["batch"]["row"].get("sut") or {}).get("server", {}).get("batch_histogram")
    share = best / off["value"] if off.get("value") else float("nan")
    return (f"| {rt} {prec} | {perf['throughput_img_s']:.1f} | {cell('streams')} | {cell('batch')} | "
            f"{cell('auto')} {auto['row']['server_policy']['chose']} | {share:.2f} | {ratio:.2f} | "
            f"{off.get('value') or 0:.1f} ({off['result']}) | {hist} |")  # fmt: skip


def build(work: Path, args: Any) -> tuple[dict[tuple[str, str], Any], Path, Any]:
    from datahelp import write_jpegs

    from zoobench.data.cache import open_cache, prep_cache
    from zoobench.engines import column_engine, resolve, resolve_engine

    images = work / "images"
    write_jpegs(images, args.images, size=(320, 256))
    base = resolve_engine(args.model, weights="random", workdir=work / "export")
    prep_cache(images, base.preprocess, work / "cache")
    recipe = resolve(base.path)
    engines = {}
    for rt, prec in [c for c in COLUMNS if not args.columns or f"{c[0]}-{c[1]}" in args.columns.split(",")]:
        engines[(rt, prec)] = column_engine(recipe, rt, prec, workdir=work / f"{rt}-{prec}", calibration=str(images))
    return engines, work / "cache", open_cache(work / "cache")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mnasnet1_0")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--length", type=float, default=5.0, help="seconds per LoadGen test")
    ap.add_argument("--seconds", type=float, default=3.0, help="perf's and the sync loop's seconds per round")
    ap.add_argument("--server", action="store_true", help="the Server scenario's policies instead (one round)")
    ap.add_argument("--latency-ms", type=float, default=15.0)
    ap.add_argument("--batch-wait-ms", type=float, default=2.0)
    ap.add_argument("--search-steps", type=int, default=4)
    ap.add_argument("--columns", help="only these columns, e.g. openvino-int8 (default: both)")
    ap.add_argument("--bracket", metavar="JOB_JSON", help=argparse.SUPPRESS)  # the child of bracketed()
    args = ap.parse_args()
    if args.bracket:
        bracket(args.bracket, args.seconds)
        return
    if args.server:
        run_server(args)
        return
    with tempfile.TemporaryDirectory(prefix="zoobench-lgbench-") as tmp:
        work = Path(tmp)
        engines, cache_dir, cache = build(work, args)
        got: dict[tuple[str, str], dict[str, list[float]]] = {c: {} for c in engines}
        for r in range(args.rounds):
            for (rt, prec), eng in engines.items():
                g = got[(rt, prec)]
                cell = perf_img_s(eng, rt, prec, args.batch, args.seconds)
                g.setdefault("perf", []).append(cell["throughput_img_s"])
                before = sync_p90_ms(eng, rt, cache, args.seconds)
                rows = loadgen_rows(eng, rt, prec, cache_dir, args, work / f"lg-{rt}-{prec}-{r}")
                after = sync_p90_ms(eng, rt, cache, args.seconds)  # the sync loop brackets the LoadGen tests
                g.setdefault("sync_p90", []).append((before + after) / 2)
                g.setdefault("sync_drift", []).append(abs(before - after) / ((before + after) / 2))
                g.setdefault("offline", []).append(rows["Offline"]["value"])
                g.setdefault("ss_p90", []).append(rows["SingleStream"]["value"])
                g.setdefault("offline_ratio", []).append(g["offline"][-1] / g["perf"][-1])
                g.setdefault("ss_ratio", []).append(g["ss_p90"][-1] / g["sync_p90"][-1])
                g.setdefault("valid", []).append(float(all(x["result"] == "VALID" for x in rows.values())))
                b = bracketed(work / f"lg-{rt}-{prec}-{r}", args.seconds)
                g.setdefault("in_ss_p90", []).append(b["loadgen"])
                g.setdefault("in_sync_p90", []).append((b["before"] + b["after"]) / 2)
                g.setdefault("in_drift", []).append(abs(b["before"] - b["after"]) / g["in_sync_p90"][-1])
                g.setdefault("in_ratio", []).append(b["loadgen"] / g["in_sync_p90"][-1])
                print(f"round {r + 1} {rt} {prec}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in g.items()), flush=True)
                for x in rows.values():
                    if x["result"] != "VALID":
                        print(f"  {x['scenario']} INVALID: {x.get('invalid_reason') or x.get('checks')}", flush=True)
    report(args, got)


def report(args: Any, got: dict[tuple[str, str], dict[str, list[float]]]) -> None:
    from zoobench.env import environment

    env = environment()
    print(f"\n{args.model} (random weights) · {args.images} real-photo crops · Offline batch {args.batch} · "
          f"LoadGen {args.length:g} s per test · median of {args.rounds} interleaved rounds")  # fmt: skip
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"CPU: {env.get('cpu')} · {os.cpu_count()} cores · load average {load}")
    print("\nEach ratio: the median of the rounds' own ratios (min-max beside it). The sync loop runs just before and")
    print("just after its round's LoadGen tests (their mean is the reference; drift: how far apart they were).\n")
    print("| column | Offline samples/s | perf img/s (bs) | Offline / perf (goal >= 0.95) | SingleStream p90 ms | "
          "sync bs1 p90 ms (drift) | SingleStream / sync (goal <= 1.10) | the same in one process (drift) | "
          "VALID |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for (rt, prec), g in got.items():
        m = {k: statistics.median(v) for k, v in g.items()}

        def spread(k: str, g: dict[str, list[float]] = g, m: dict[str, float] = m) -> str:
            return f"{m[k]:.3f} ({min(g[k]):.3f}-{max(g[k]):.3f})"

        valid = f"{int(sum(g['valid']))}/{len(g['valid'])}"
        print(f"| {rt} {prec} | {m['offline']:.1f} | {m['perf']:.1f} (b{args.batch}) | {spread('offline_ratio')} | "
              f"{m['ss_p90']:.3f} | {m['sync_p90']:.3f} ({max(g['sync_drift']):.0%}) | {spread('ss_ratio')} | "
              f"{spread('in_ratio')} ({max(g['in_drift']):.0%}) | {valid} |")  # fmt: skip


if __name__ == "__main__":
    main()
