"""Read a model's JSON results from a run directory and turn them into renderer-neutral tables.

Both renderers (:mod:`zoobench.report.markdown`, :mod:`zoobench.report.html`) and ``compare`` use
these tables, so markdown and HTML always show the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoobench.evaluate.record import AccuracyRecord, read_accuracy
from zoobench.perf.results import read_perf
from zoobench.perf.table import best_of_file, cell_text, split_columns
from zoobench.report.seeds import precision_note, seed_best, seed_sources

NA = "-"


@dataclass
class Table:
    """A titled table of strings. ``note`` is a line printed under it."""

    headers: list[str]
    rows: list[list[str]]
    title: str = ""
    note: str = ""


@dataclass
class ModelRun:
    """Everything the report knows about one model of a run, read from JSON only."""

    name: str
    path: Path
    card: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    accuracy: AccuracyRecord | None = None
    summary: dict[str, Any] | None = None
    perf: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def random_weights(self) -> bool:
        return bool(self.card.get("weights", {}).get("random", False))

    @property
    def status(self) -> str:
        return str(self.stages.get("status", "unknown"))


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_model_run(path: Path) -> ModelRun:
    """Read ``model.json``, ``stages.json``, ``infer/*.json`` and ``perf/*.json`` of a model directory."""
    run = ModelRun(name=path.name, path=path)
    run.card = _read(path / "model.json") or {}
    run.stages = _read(path / "stages.json") or {}
    run.name = str(run.card.get("model") or path.name)
    run.accuracy = read_accuracy(path / "infer" / "accuracy.json")
    run.summary = _read(path / "infer" / "summary.json")
    for f in sorted((path / "perf").glob("*.json")):
        sweep = read_perf(f)  # the column as perf.json's type reads it; the report's tables take its JSON form
        data = None if sweep is None else sweep.to_dict()
        if data and data.get("results"):
            parts = split_columns(data)  # a column with its tuned twin (run --tune) is two columns
            run.perf.update(parts if len(parts) > 1 else {f.stem: data})
    return run


def column_label(perf: dict[str, Any], fallback: str = "") -> str:
    """``runtime precision`` of a perf.json, e.g. ``onnxruntime fp32``."""
    rt = perf.get("runtime") or {}
    if rt.get("runtime"):
        return f"{rt['runtime']} {rt.get('precision', '')}".strip() + (" tuned" if perf.get("tuned") else "")
    return fallback


def throughput_by_batch(perf: dict[str, Any]) -> dict[int, float]:
    """Median img/s per batch size of a perf.json's first column (batches that failed are left out)."""
    return {int(r["batch_size"]): float(r["throughput_img_s"]) for r in perf.get("results", []) if "error" not in r}


def cells_by_batch(perf: dict[str, Any]) -> dict[int, str]:
    """The throughput cells of the report and compare: median img/s, with ``±7.2% unstable`` where the rounds
    spread more than 5%."""
    return {
        int(r["batch_size"]): cell_text(r["throughput_img_s"], r.get("spread_pct"), bool(r.get("unstable")), long=True)
        for r in perf.get("results", [])
        if "error" not in r
    }


def best_of(perf: dict[str, Any]) -> tuple[int, float] | None:
    """The best batch and its img/s, as the sweep stored it (highest median)."""
    best = best_of_file(perf)
    return None if best is None else (int(best["batch_size"]), float(best["throughput_img_s"]))


def best_text(perf: dict[str, Any]) -> str:
    """``447.7 (bs8)``, ``447.7 (bs8; tied: bs16)`` when other batches are within the noise of it."""
    best = best_of_file(perf)
    if best is None:
        return NA
    tied = f"; tied: {', '.join(f'bs{b}' for b in best['tied'])}" if best.get("tied") else ""
    return f"{best['throughput_img_s']:.1f} (bs{best['batch_size']}{tied})"


def _f(v: float | None, fmt: str = "{:.1f}") -> str:
    return NA if v is None else fmt.format(v)


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return NA
    r = a / b
    return f"{r:.2f}" if r >= 0.1 else f"{r:.2g}"


_PROVENANCE = {
    "published": "published weights, checksum verified",
    "custom": "custom weights (your own file; not the published checkpoint)",
    "unverified": "published file name; no checksum was published to verify it",
}


def card_table(run: ModelRun) -> Table:
    """Model card: what was measured, with which weights and preprocessing."""
    c = run.card
    pp = c.get("preprocess") or {}
    w = c.get("weights") or {}
    if w.get("random"):
        weights = "RANDOM INIT (untrained; accuracy not measured)"
    else:
        weights = ", ".join(f"{Path(f['path']).name} sha256 {f['sha256'][:16]}…" for f in w.get("files", [])) or NA
        kind = w.get("provenance", "")
        kind = "unverified" if kind == "published" and w.get("verified") is False else kind  # DINO: no sums
        weights += f" ({_PROVENANCE.get(kind, 'provenance not recorded')})"
    size = pp.get("input_size") or c.get("input_size") or []
    rows = [
        ["model", f"{run.name}" + (f" — {c['description']}" if c.get("description") else "")],
        ["parameters", _f(c.get("params_m"), "{:.2f} M")],
        ["GFLOPs", _f(c.get("gflops"), "{:.3f}")],
        ["input", f"{c.get('input_name', NA)} {'×'.join(str(v) for v in size) or NA} (NCHW float32, dynamic batch)"],
        [
            "preprocessing",
            f"resize {pp.get('resize', NA)} ({pp.get('resize_mode', NA)}, {pp.get('interpolation', NA)}) → "
            f"center crop {size[1] if len(size) > 2 else NA}, mean {_vec(pp.get('mean'))}, std {_vec(pp.get('std'))}"
            + (f" · hash {c['preprocess_hash']}" if c.get("preprocess_hash") else ""),
        ],
        ["weights", weights],
        [
            "engine",
            f"{c.get('engine', NA)}" + (f" sha256 {c['engine_sha256'][:16]}…" if c.get("engine_sha256") else ""),
        ],
    ]
    return Table(["", ""], rows, title="Model card")


def _vec(v: list[float] | None) -> str:
    return NA if not v else "(" + ", ".join(f"{x:.3f}" for x in v) + ")"


def gate_text(acc: AccuracyRecord, random_weights: bool = False) -> str:
    """The gate in a word or two: PASS / FAIL only when the images decide; never for random weights (the record's,
    or ``random_weights`` when the model card says so). A file written before the three-way gate reads with the
    gate its ``passed`` gave (:meth:`AccuracyRecord.from_dict`)."""
    if acc.random_weights or random_weights:
        return "random weights: not gated"
    if acc.gate == "inconclusive":
        need = acc.verdict.images_needed
        return f"inconclusive (n={acc.count}" + (f"; ~{need:,} images needed)" if need else ")")
    return {"pass": "PASS", "fail": "FAIL"}.get(acc.gate or "", "no-reference")  # the word `zoobench run` prints


def accuracy_table(run: ModelRun) -> Table | None:
    """Measured Top-1..5 against the published reference and the seeds' NPU figure; ``None`` if not measured."""
    acc = run.accuracy
    if acc is None:
        return None
    ref = acc.reference or (run.card.get("reference") or {})
    npu = run.card.get("seed_npu") or {}
    gate = gate_text(acc)
    rows = []
    for k in range(1, 6):
        measured = acc.top_k(k)
        r = ref.get(f"top{k}") if k in (1, 5) else None
        n = npu.get(f"top{k}") if k in (1, 5) else None
        delta = {1: acc.delta_top1, 5: acc.delta_top5}.get(k)
        rows.append(
            [
                f"Top-{k}",
                _f(measured, "{:.2f}"),
                _f(r, "{:.3f}"),
                _f(n, "{:.2f}"),
                NA if delta is None else f"{delta:+.2f}",
                gate if k == 1 else "",
            ]
        )
    tolerance = NA if acc.tolerance_points is None else acc.tolerance_points
    note = (
        f"{acc.count or 0} labeled images ({acc.skipped} skipped, {acc.unlabeled} "
        f"unlabeled); gate: |Top-1 − reference| ≤ {tolerance} points; "
        f"±{acc.ci95_top1_points or 0:.1f} points is the 95% interval of Top-1 on this many images."
    )
    if (run.card.get("reference") or {}).get("source"):
        note += f" Reference: {run.card['reference']['source']}."
    if acc.verdict.gate_reason and acc.gate in ("pass", "fail", "inconclusive"):
        note += f" Gate: {acc.verdict.gate_reason}."
    if acc.reference.get("source") not in (None, "published"):
        note += f" Reference used: {acc.reference['source']}."
    if acc.note:
        note += f" {acc.note}."
    headers = ["", "measured %", "reference %", "seed NPU %", "delta", "gate"]
    if npu.get("source"):
        note += f" Seed NPU: {npu['source']}."
    return Table(headers, rows, title="Accuracy", note=note)


def perf_table(
    perf: dict[str, dict[str, Any]], seeds: dict[str, dict[int, float]] | None = None, model: str = ""
) -> Table:
    """The seeds' throughput table: rows batch sizes + best batch; columns runtime×precision, ratios vs the
    first column, then the guide's quoted hardware columns with our first column over each."""
    cols = list(perf)
    labels = [column_label(perf[c], c) for c in cols]
    tps = [throughput_by_batch(perf[c]) for c in cols]
    seeds = seeds or {}
    batches = sorted({b for tp in tps for b in tp} | {b for s in seeds.values() for b in s})
    headers = ["batch", *[f"{lab} img/s" for lab in labels]]
    # a tuned column's ratio is over its untuned twin (the seeds' "310P(aoe)/310P"); any other's over the first
    base = [_twin(perf, c, labels) for c in cols]
    headers += [f"{lab} / {labels[base[i + 1]]}" for i, lab in enumerate(labels[1:])]
    tuned = next((i for i, c in enumerate(cols) if perf[c].get("tuned")), None)
    ours = {dev: tuned if dev.endswith("AOE") and tuned is not None else 0 for dev in seeds}  # tuned vs AOE
    for dev in seeds:
        headers += [f"{dev} img/s (quoted)", f"{labels[ours[dev]]} / {dev}"]
    rows = []
    shown = [cells_by_batch(perf[c]) for c in cols]
    for b in batches:
        vals = [tp.get(b) for tp in tps]
        row = [f"bs{b}", *[cells.get(b, NA) for cells in shown]]
        row += [_ratio(v, vals[base[i + 1]]) for i, v in enumerate(vals[1:])]
        for dev, fps in seeds.items():
            row += [_f(fps.get(b)), _ratio(vals[ours[dev]], fps.get(b))]
        rows.append(row)
    best_vals = [best[1] if (best := best_of(perf[c])) else None for c in cols]
    row = ["best", *[best_text(perf[c]) for c in cols]]
    row += [_ratio(v, best_vals[base[i + 1]]) for i, v in enumerate(best_vals[1:])]
    for dev, fps in seeds.items():
        best = seed_best(model, dev)  # the guide's own best row, where these are its figures
        sb, sv = best if best and fps.get(best[0]) == best[1] else max(fps.items(), key=lambda kv: kv[1])
        row += [f"{sv:.1f} (bs{sb})", _ratio(best_vals[ours[dev]], sv)]
    rows.append(row)
    note = (
        "Throughput = images / wall time of the timed loop after warm-up (random input, pure inference); each cell "
        "is the median of its rounds, interleaved across cells; '±N% unstable' marks a cell whose rounds spread "
        "more than 5% ((max − min) / median); 'tied' lists batches within the noise of the best."
    )
    if seeds:
        note += " " + seed_sources(model)
        precisions = [str((perf[c].get("runtime") or {}).get("precision", "fp32")) for c in cols]
        extra = precision_note(precisions[:1], list(seeds))  # the ratio columns are of the first column
        note += f" {extra}" if extra else ""
    return Table(headers, rows, title="Performance (throughput, images/s)", note=note)


def _twin(perf: dict[str, dict[str, Any]], col: str, labels: list[str]) -> int:
    """The index of the column a column's ratio is taken over: a tuned column's untuned twin, else the first."""
    untuned = perf[col].get("untuned")
    cols = list(perf)
    for i, c in enumerate(cols):
        if perf[col].get("tuned") and c != col and labels[i] == untuned:
            return i
    return 0


def _rounds_text(r: dict[str, Any]) -> tuple[str, str]:
    """A cell's img/s per round (``98.1 / 100.2 / 99.0``) and its spread; ``-`` for files without rounds."""
    reps = r.get("repeats")
    if not isinstance(reps, list) or not reps:
        return NA, NA
    spread = r.get("spread_pct")
    flag = " unstable" if r.get("unstable") else ""
    return " / ".join(f"{v:.1f}" for v in reps), (NA if spread is None else f"{spread:.1f}%{flag}")


def latency_table(perf: dict[str, dict[str, Any]]) -> Table:
    """Per column and batch size: latency percentiles of one batch, in ms (pooled over the rounds), and the
    img/s of each round with their spread."""
    rows = []
    for c, p in perf.items():
        for r in p.get("results", []):
            if "error" in r or "latency" not in r:
                continue
            lat = r["latency"]
            rows.append(
                [
                    column_label(p, c),
                    f"bs{r['batch_size']}",
                    str(lat["count"]),
                    f"{lat['mean_ms']:.2f}",
                    f"{lat['median_ms']:.2f}",
                    f"{lat['p90_ms']:.2f}",
                    f"{lat['p99_ms']:.2f}",
                    f"{lat['max_ms']:.2f}",
                    *_rounds_text(r),
                ]
            )
    headers = ["runtime", "batch", "iters", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms", "img/s per round"]
    headers.append("spread")
    note = (
        "Milliseconds per batch (not per image), pooled over the rounds; spread = (max − min) / median of the "
        "rounds' img/s, unstable above 5%."
    )
    return Table(headers, rows, title="Latency per batch", note=note)


def unavailable_columns(run: ModelRun) -> list[tuple[str, str]]:
    """perf columns asked for that could not run here, with the reason (from ``stages.json``)."""
    out = []
    for name, st in (run.stages.get("stages") or {}).items():
        if name.startswith("perf:") and st.get("status") == "unavailable":
            out.append((name[5:], str(st.get("note", ""))))
    return out


def stages_table(run: ModelRun) -> Table:
    rows = []
    for name, st in (run.stages.get("stages") or {}).items():
        rows.append([name, str(st.get("status", NA)), str(st.get("note", "")), f"{st.get('seconds', 0):.1f}"])
    return Table(["stage", "status", "note", "seconds"], rows, title="Stages")


def environment_rows(run: ModelRun) -> list[tuple[str, str]]:
    """Where the numbers were measured: CPU, cores, versions, and what each runtime column really ran."""
    env: dict[str, Any] = {}
    for p in run.perf.values():
        env = p.get("environment") or env
    if not env and run.summary:
        env = run.summary.get("environment") or {}
    out: list[tuple[str, str]] = []
    if env:
        out += [
            ("cpu", f"{env.get('cpu', NA)} · {env.get('cpu_count', NA)} cores ({env.get('cpu_affinity', NA)} usable)"),
            ("cpu features", ", ".join(env.get("cpu_features", [])) or NA),
            ("system", f"{env.get('system', NA)} {env.get('machine', '')} · python {env.get('python', NA)}"),
            ("versions", ", ".join(f"{k} {v}" for k, v in (env.get("versions") or {}).items())),
        ]
    for c, p in run.perf.items():
        rt = p.get("runtime") or {}
        out.append(
            (
                f"perf {c}",
                f"{rt.get('runtime', NA)} {rt.get('version', '')} · device {rt.get('device', NA)} · "
                f"precision {rt.get('precision', NA)} · threads {rt.get('threads', NA)}",
            )
        )
    return out
