"""Tuned vs untuned, side by side: `zoobench tune` each engine, then one `zoobench perf` sweep that times the
untuned and tuned columns in the same interleaved rounds; and torch.compile vs eager.

    python benchmarks/tune_models.py --models mnasnet1_0 --runtimes onnxruntime -b 1,4,8,16,32,64
    python benchmarks/tune_models.py                       # the five seed models, ORT + OpenVINO, random weights
    python benchmarks/tune_models.py --compile-vs-eager --models efficientnet_lite0,resnet50_tv -b 8

Prints, per model and runtime, every batch (untuned and tuned median img/s with the rounds' spread, the ratio,
the settings tune kept), the best batch of each, and the seeds' quoted 310P and 310P-AOE columns beside them,
with the CPU, its flags and the load average before and after (other work on the machine shows up in the
figures). Not a test: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEEDS = "wide_resnet50_2,mnasnet1_0,xception,dino_resnet50,resnest50"


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def _zoobench(*args: str) -> dict[str, Any]:
    exe = [sys.executable, "-m", "zoobench"]
    out = subprocess.run([*exe, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def _cell(r: dict[str, Any] | None) -> str:
    if not r or "error" in r:
        return "n/a"
    return f"{r['throughput_img_s']:.1f} ±{r.get('spread_pct') or 0:.1f}%"


def _seed_best(model: str, device: str) -> str:
    from zoobench.report.seeds import seed_best

    best = seed_best(model, device)
    return f"{best[1]:g} (bs{best[0]})" if best else "—"


def tune_and_sweep(model: str, args: argparse.Namespace, work: Path) -> list[str]:
    """Export (random weights), tune every runtime, one perf sweep with both columns per runtime; table rows."""
    from zoobench.engines import resolve_engine

    weights = None if model == "efficientnet_lite0" else "random"
    engine = resolve_engine(model, weights=weights, workdir=work / model)
    tune_s = {}
    for rt in args.runtimes.split(","):
        t0 = time.perf_counter()
        _zoobench("tune", engine.path, "--runtime", rt, "-b", args.batch_sizes, "--budget", str(args.budget))
        tune_s[rt] = time.perf_counter() - t0
    perf = _zoobench(
        "perf", engine.path, "-b", args.batch_sizes, "--runtimes", args.runtimes, "--repeats", str(args.repeats),
        "--seconds", str(args.seconds), "--min-iters", "2",
    )  # fmt: skip
    profile = json.loads(Path(engine.path).with_name(f"{Path(engine.path).stem}.tuned.json").read_text())
    cols = {c["name"]: c for c in perf["columns"]}
    rows = []
    for rt in args.runtimes.split(","):
        untuned, tuned = cols.get(f"{rt} fp32"), cols.get(f"{rt} fp32 tuned")
        if not untuned or not tuned or not tuned.get("results"):
            rows.append(f"| {model} | {rt} | not tuned: {(tuned or untuned or {}).get('reason', 'no tuned column')} |")
            continue
        by_u = {r["batch_size"]: r for r in untuned["results"]}
        by_t = {r["batch_size"]: r for r in tuned["results"]}
        entry = profile["columns"][f"{rt} fp32"]["batches"]
        for bs in sorted(by_u):
            u, t = by_u[bs], by_t.get(bs)
            ratio = t["throughput_img_s"] / u["throughput_img_s"] if t and "error" not in t else float("nan")
            kept = entry.get(str(bs), {})
            setting = " ".join(f"{k}={v}" for k, v in (kept.get("settings") or {}).items()) or "defaults"
            rows.append(f"| {model} | {rt} | bs{bs} | {_cell(u)} | {_cell(t)} | {ratio:.2f} | {setting} | | |")
        best = perf["table"]["best"]
        bu, bt = best[f"{rt} fp32"], best[f"{rt} fp32 tuned"]
        ratio = bt["throughput_img_s"] / bu["throughput_img_s"]
        rows.append(
            f"| {model} | {rt} | **best** | {bu['throughput_img_s']:.1f} (bs{bu['batch_size']}) | "
            f"{bt['throughput_img_s']:.1f} (bs{bt['batch_size']}) | **{ratio:.2f}** | tune took {tune_s[rt]:.0f} s | "
            f"{_seed_best(model, '310P')} | {_seed_best(model, '310P-AOE')} |"
        )
    return rows


def compile_vs_eager(model: str, batch: int, seconds: float, repeats: int) -> str:
    """torch eager vs torch.compile (inductor, default mode), interleaved rounds; the compile time is the first
    call's time (it compiles then)."""
    from zoobench.models import get_spec
    from zoobench.perf.timing import Timing, summarize_rounds, time_session
    from zoobench.runtimes import load_session

    size = get_spec(model).preprocess.input_size  # random weights: speed does not depend on them
    eager = load_session(model, "torch")
    compiled = load_session(model, "torch", compile="default")
    rounds: dict[str, list[Any]] = {"eager": [], "compile": []}
    for r in range(repeats):
        for name, s in (("eager", eager), ("compile", compiled)):
            rounds[name].append(
                time_session(s, batch, size, Timing(seconds=seconds, min_iters=3, warmup=1 if r else 2))
            )
    e, c = summarize_rounds(rounds["eager"]), summarize_rounds(rounds["compile"])
    comp_s = compiled.info().extra.get("compile_s", 0.0)
    return (
        f"| {model} | bs{batch} | {_cell(e)} | {_cell(c)} | {c['throughput_img_s'] / e['throughput_img_s']:.2f} | "
        f"{comp_s:.1f} s |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=SEEDS)
    ap.add_argument("--runtimes", default="onnxruntime,openvino")
    ap.add_argument("--batch-sizes", "-b", default="1,8,16")
    ap.add_argument("--budget", type=float, default=90.0, help="tune --budget, per runtime")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--workdir", default=None, help="where the exports go (and are reused from)")
    ap.add_argument("--compile-vs-eager", action="store_true", help="torch.compile vs eager instead")
    args = ap.parse_args()
    from zoobench.env import environment

    env = environment()
    print(f"CPU: {env['cpu']} · {env['cpu_affinity']} cores · flags {' '.join(env['cpu_features'])}")
    print(f"versions: {json.dumps({k: env['versions'].get(k) for k in ('onnxruntime', 'openvino', 'torch')})}")
    print(f"load average (1 min) before: {_load()}\n")
    if args.compile_vs_eager:
        print("| model | batch | eager img/s | torch.compile img/s | compile / eager | compile time |")
        print("|---|---|---:|---:|---:|---:|")
        for model in args.models.split(","):
            bs = int(args.batch_sizes.split(",")[0])
            print(compile_vs_eager(model, bs, args.seconds, args.repeats), flush=True)
    else:
        work = Path(args.workdir or tempfile.mkdtemp(prefix="zoobench-tune-"))
        print("| model | runtime | batch | untuned img/s | tuned img/s | tuned / untuned | settings kept | "
              "310P (quoted) | 310P-AOE (quoted) |")  # fmt: skip
        print("|---|---|---|---:|---:|---:|---|---:|---:|")
        for model in args.models.split(","):
            for row in tune_and_sweep(model, args, work):
                print(row, flush=True)
    print(f"\nload average (1 min) after: {_load()}")


if __name__ == "__main__":
    main()
