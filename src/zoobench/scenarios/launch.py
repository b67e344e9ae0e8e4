"""One test of one column: its plan, its child process, and its row in loadgen.json (the pieces the scenarios'
stage and the Server's search share)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from zoobench.artifact import Engine
from zoobench.predictions import RunSummary
from zoobench.scenarios.settings import MULTI_STREAM_SAMPLES, Hints, Length, LoadgenSettings, parse_length, plan

if TYPE_CHECKING:
    from zoobench.engines import Recipe
    from zoobench.scenarios.records import SutRecord


@dataclass
class Job:
    """What every test of one ``loadgen`` shares."""

    model: str
    settings: LoadgenSettings
    out: Path
    cache: str
    names: list[str]
    labels: dict[str, int]
    calibration: str | None
    say: Any
    recipe: Recipe  # resolved once (weights hashed once); every column's engine is built from it
    rows: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass(frozen=True)
class Test:
    """One test to run: the column, the scenario and mode, the hints, the SUT's form (load options, sessions),
    and for the Server its serving config; ``length`` / ``folder`` / ``min_queries`` override the defaults
    (the Server's search probes)."""

    runtime: str
    precision: str
    scenario: str
    mode: str
    hints: Hints
    options: dict[str, Any] = field(default_factory=dict)
    sessions: int = 1
    server: dict[str, Any] | None = None
    length: Length | None = None
    folder: Path | None = None
    min_queries: int | None = None
    quiet: bool = False


def _batch(t: Test, s: LoadgenSettings) -> tuple[int, list[int]]:
    """The largest batch a worker runs and the sizes warmed before the test."""
    from zoobench.scenarios.batcher import buckets

    if t.scenario == "Server":
        server = t.server or {}
        if server.get("policy") == "batch":
            return int(server["max_batch"]), buckets(int(server["max_batch"]))
        return 1, [1]
    batch = s.batch_size if t.scenario == "Offline" else (MULTI_STREAM_SAMPLES if t.scenario == "MultiStream" else 1)
    return batch, sorted({batch, 1})


def test_dir(job: Job, t: Test) -> Path:
    """``OUTDIR/<runtime>-<precision>/<scenario>``: the folder under which a test's runs are written."""
    return job.out / f"{t.runtime}-{t.precision}" / t.scenario


def launch(job: Job, engine: Engine, t: Test) -> tuple[Path, SutRecord, Length]:
    """Run ``t`` in its child process; returns its folder, its sut.json and its length."""
    from zoobench.scenarios.child import run_child

    s = job.settings
    length = t.length or parse_length(s.length)
    values = plan(t.scenario, t.mode, length, t.hints, len(job.names), t.min_queries)
    folder = t.folder or test_dir(job, t) / t.mode
    batch, warm = _batch(t, s)
    note = "" if length.rule_compliant else " (test length: not rule compliant)"
    if not t.quiet:
        job.say(f"{t.runtime}-{t.precision} {t.scenario} {t.mode}: expected ~{values['_expected_s']:.1f} s{note}")
    sut = run_child(
        {
            "engine": str(Path(engine.path).resolve()),
            "runtime": t.runtime,
            "precision": t.precision,
            "options": t.options,
            "sessions": t.sessions,
            "cache": str(Path(job.cache).resolve()),
            "plan": values,
            "batch": batch,
            "warm": warm,
            "outdir": str(folder),
            "trace": s.trace,
            "server": t.server,
            "user_conf": str(Path(s.user_conf).resolve()) if s.user_conf else None,
        }
    )
    return folder, sut, length


def record(
    job: Job, engine: Engine, t: Test, run: tuple[Path, SutRecord, Length], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The test's row, appended to ``job.rows`` (an accuracy test's answers kept for the pairing)."""
    from zoobench.scenarios.report import accuracy_row, test_row

    folder, sut, length = run
    rt, prec, hints = t.runtime, t.precision, t.hints
    base = {
        "column": f"{rt}-{prec}",
        "runtime": rt,
        "precision": prec,
        "scenario": t.scenario,
        "mode": t.mode,
        "length": length.text(),
        "rule_compliant": length.rule_compliant,
        "logs": str(folder),
        "hints": {"source": hints.source, "latency_ms": hints.latency_s * 1e3, "offline_qps": hints.offline_qps},
        **(extra or {}),
    }
    if t.mode == "performance":
        row = {**base, **test_row(t.scenario, folder, sut)}
    else:
        summary = RunSummary(model=engine.model, random_weights=engine.random_weights, runtime=rt)
        acc, answers = accuracy_row(folder, sut, job.names, job.labels, summary)
        job.answers[(rt, prec, t.scenario)] = answers
        row = {**base, **acc, **_paired(job, rt, prec, t.scenario, answers)}
    job.rows.append(row)
    return row


class _Paired(TypedDict, total=False):
    vs_fp32: dict[str, Any]
    delta_vs_fp32_points: dict[str, Any] | None


def _paired(job: Job, rt: str, prec: str, scenario: str, answers: tuple[np.ndarray, np.ndarray]) -> _Paired:
    """The column's accuracy against its runtime's fp32 on the same scenario (none for fp32 itself)."""
    from zoobench.scenarios.accuracy import labels_for, paired

    ref = job.answers.get((rt, "fp32", scenario))
    if prec == "fp32" or ref is None:
        return {}
    both = ref[1] & answers[1]
    stats = paired(ref[0], answers[0], both, labels_for(job.names, job.labels, both), job.settings.max_drop)
    delta: dict[str, Any] = {k: stats[k]["delta_points"] for k in ("top1", "top5") if k in stats}
    return {"vs_fp32": stats, "delta_vs_fp32_points": delta or None}
