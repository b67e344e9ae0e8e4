"""How long each LoadGen test runs and with which of its settings: ``--length test|rules|SECONDS``, the hints
(expected latency and QPS) from perf, a ``--user-conf`` file, and the one ``TestSettings.FromConfig`` call a
process may make.

A plan is a plain dict of ``TestSettings`` attribute values (JSON: it travels to the child process that runs the
test); :func:`build` turns it into LoadGen's object there.

* ``test``: at least 2 s and what early stopping needs (SingleStream 64 queries, MultiStream 662 queries of 8
  samples); Offline issues 2 s of samples at the expected QPS. Never rule compliant.
* ``rules``: mlperf.conf's ResNet-50 values (600 s per scenario, performance_sample_count 1024, Offline ≥ 24,576
  samples), through ``FromConfig`` (LoadGen applies its built-in mlperf.conf on a process's first call only, and
  falls back to defaults on a second one: :func:`build` refuses a second call).
* ``SECONDS``: ``test``'s minimum query counts over that many seconds.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zoobench.errors import DataError, ZoobenchError
from zoobench.scenarios.records import PlanValues
from zoobench.settings import Settings

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
DEFAULT_SCENARIOS = ("SingleStream", "Offline")
MODES = ("performance", "accuracy", "both")
MULTI_STREAM_SAMPLES = 8
MIN_QUERIES = {"SingleStream": 64, "MultiStream": 662, "Server": 459, "Offline": 1}  # early stopping's minimum
SERVER_POLICIES = ("auto", "streams", "batch")
SERVER_PERCENTILE = 0.99  # mlperf.conf's Server bound for ResNet-50: 15 ms at p99
TEST_SECONDS = 2.0
RULES = {"seconds": 600.0, "performance_sample_count": 1024, "offline_min_samples": 24576}
RULES_MODEL = "resnet50"  # the model whose rule settings mlperf.conf holds for image classification
RULES_NOTE = "ResNet-50 rule settings applied"
# LoadGen schedules a test's queries up front from its hints (Offline: min_duration × expected QPS samples;
# SingleStream / MultiStream: min_duration / expected latency queries) and calls a run that ends sooner INVALID
# (min duration not met): a SUT faster than perf's hint must still fill the duration, so each hint leaves this
# margin (the QPS raised, the latencies lowered). Seen without it on an idle 2-core machine: OpenVINO int8's
# SingleStream ran faster than perf's batch-1 latency and ended INVALID in 3 rounds of 3.
OFFLINE_QPS_MARGIN = 1.5
LATENCY_MARGIN = 1.5


@dataclass(frozen=True)
class Length:
    """``test``, ``rules`` or a number of seconds (``kind == "seconds"``)."""

    kind: str
    seconds: float

    @property
    def rule_compliant(self) -> bool:
        return self.kind == "rules"

    def text(self) -> str:
        return self.kind if self.kind != "seconds" else f"{self.seconds:g}s"


def parse_length(text: str) -> Length:
    """``test`` / ``rules`` / SECONDS (> 0); anything else is one line."""
    t = str(text).strip().lower()
    if t == "test":
        return Length("test", TEST_SECONDS)
    if t == "rules":
        return Length("rules", RULES["seconds"])
    try:
        seconds = float(t.rstrip("s"))
    except ValueError:
        raise DataError(f"--length must be test, rules or a number of seconds, got {text!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise DataError(f"--length must be a positive number of seconds, got {text!r}")
    return Length("seconds", seconds)


def parse_scenarios(text: str | None) -> list[str]:
    """``SingleStream,MultiStream,Offline`` (LoadGen's spelling; any letter case), each once, in the given order."""
    if not text:
        return list(DEFAULT_SCENARIOS)
    by_lower = {s.lower(): s for s in SCENARIOS}
    out: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part.lower() not in by_lower:
            raise DataError(f"unknown scenario {part!r}; known: {', '.join(SCENARIOS)}")
        if by_lower[part.lower()] not in out:
            out.append(by_lower[part.lower()])
    if not out:
        raise DataError("--scenarios names no scenario")
    return out


@dataclass(frozen=True)
class Hints:
    """What LoadGen is told to expect, from perf: seconds per batch-1 run, per 8-sample batch, and the Offline
    samples per second (the best parallel form at the Offline batch)."""

    latency_s: float
    multi_latency_s: float
    offline_qps: float
    source: str = ""
    server_qps: float = 0.0  # the Server's target (queries/s; one sample each)
    latency_bound_s: float = 0.015  # the Server's bound at p99


def plan(
    scenario: str, mode: str, length: Length, hints: Hints, total: int, min_queries: int | None = None
) -> PlanValues:
    """The ``TestSettings`` values of one test (``mode``: ``performance`` or ``accuracy``), plus ``_expected_s``
    (how long it should take, printed before it starts) and ``_rules`` (FromConfig with mlperf.conf).
    ``min_queries``: more queries than early stopping's minimum (the Server's QPS search probes)."""
    out: PlanValues = {
        "scenario": scenario,
        "mode": "AccuracyOnly" if mode == "accuracy" else "PerformanceOnly",
        "performance_sample_count_override": min(total, int(RULES["performance_sample_count"])),
        "single_stream_expected_latency_ns": max(1, int(hints.latency_s / LATENCY_MARGIN * 1e9)),
        "multi_stream_expected_latency_ns": max(1, int(hints.multi_latency_s / LATENCY_MARGIN * 1e9)),
        "multi_stream_samples_per_query": MULTI_STREAM_SAMPLES,
        "offline_expected_qps": max(1.0, float(hints.offline_qps) * OFFLINE_QPS_MARGIN),
        "_rules": length.kind == "rules",
        "_expected_s": 0.0,
    }
    if length.kind != "rules":
        out["min_duration_ms"] = int(length.seconds * 1000)
        out["min_query_count"] = max(MIN_QUERIES[scenario], min_queries or 0)
    out["_expected_s"] = expected_seconds(scenario, mode, length, hints, total, out.get("min_query_count"))
    if scenario == "Server":
        out["server_target_qps"] = max(1.0, float(hints.server_qps))
        out["server_target_latency_ns"] = max(1, int(hints.latency_bound_s * 1e9))
        out["server_target_latency_percentile"] = SERVER_PERCENTILE
        # an overloaded Server must end: LoadGen stops issuing here (and the SUT sheds what is already late)
        out["max_duration_ms"] = int((2 * out["_expected_s"] + 2) * 1000)
    return out


def expected_seconds(
    scenario: str, mode: str, length: Length, hints: Hints, total: int, min_queries: int | None = None
) -> float:
    """About how long the test takes (LoadGen's own estimate is made the same way: its minimums at the hints)."""
    if scenario == "Server":
        qps = max(1.0, float(hints.server_qps))
        queries = total if mode == "accuracy" else max(min_queries or MIN_QUERIES["Server"], 0)
        return max(0.0 if mode == "accuracy" else length.seconds, queries / qps)
    if mode == "accuracy":
        per = {"SingleStream": hints.latency_s, "MultiStream": hints.multi_latency_s / MULTI_STREAM_SAMPLES}
        return total * per.get(scenario, 1.0 / max(hints.offline_qps, 1e-9))
    if scenario == "Offline":
        floor = RULES["offline_min_samples"] if length.kind == "rules" else 1
        samples = max(length.seconds * hints.offline_qps * OFFLINE_QPS_MARGIN * 1.1, floor)
        return samples / max(hints.offline_qps, 1e-9)
    per_query = hints.latency_s if scenario == "SingleStream" else hints.multi_latency_s
    return max(length.seconds * LATENCY_MARGIN, MIN_QUERIES[scenario] * per_query)


_CONFIGURED: list[str] = []  # FromConfig calls made in this process (LoadGen honours only the first)


def build(values: PlanValues, user_conf: str | None) -> Any:
    """LoadGen's ``TestSettings`` from a :func:`plan`; with ``_rules`` or a ``user_conf``, ``FromConfig`` first
    (mlperf.conf's ResNet-50 values, then the user's), then the plan's hints where the user conf set none."""
    import mlperf_loadgen as lg

    s = lg.TestSettings()
    scenario = values["scenario"]
    if values.get("_rules") or user_conf:
        if _CONFIGURED:
            raise ZoobenchError("LoadGen applies its config only once per process; run one test per process")
        _CONFIGURED.append(scenario)
        _from_config(s, user_conf, scenario)
    for key, value in values.items():
        if key.startswith("_") or key in ("scenario", "mode"):
            continue
        if user_conf and key.endswith(("_expected_latency_ns", "_expected_qps", "_target_qps")) and getattr(s, key):
            continue  # the user's own expectation wins over perf's
        setattr(s, key, value)
    s.scenario = getattr(lg.TestScenario, scenario)
    s.mode = getattr(lg.TestMode, values["mode"])
    return s


def _from_config(s: Any, user_conf: str | None, scenario: str) -> None:
    if user_conf and not os.path.isfile(user_conf):
        raise DataError(f"--user-conf {user_conf}: no such file")
    path = user_conf
    if path is None:  # FromConfig needs a user conf to apply mlperf.conf; an empty one adds nothing
        fd, path = tempfile.mkstemp(prefix="zoobench-user-", suffix=".conf")
        os.close(fd)
    try:
        rc = s.FromConfig(path, RULES_MODEL, scenario)
    finally:
        if user_conf is None:
            os.unlink(path)
    if rc != 0:
        raise DataError(f"LoadGen could not read {user_conf or 'mlperf.conf'} (FromConfig returned {rc})")


@dataclass(frozen=True)
class LoadgenSettings(Settings):
    """Everything ``zoobench loadgen`` needs besides the model and the data.

    Attributes:
        runtimes / precisions: the columns (runtime-major); fp32's accuracy run is added where a lower precision is
            asked in accuracy mode (each column is paired against its runtime's fp32).
        batch_size: Offline's batch (MultiStream's is its 8 samples, SingleStream's 1).
        scenarios / mode / length: which tests, ``performance`` / ``accuracy`` / ``both``, ``test`` / ``rules`` /
            SECONDS.
        labels: a label file (``NAME CLASS`` lines) for accuracy; max_drop: the paired verdict's bound (``--max-drop``).
        user_conf: LoadGen's user.conf (applied with mlperf.conf's ResNet-50 values); trace: LoadGen's trace log.
        latency_ms: the Server's bound at p99; target_qps: its target (None: from perf's best img/s); find_qps:
            search the highest VALID target (probes, then one confirming run at ``length``); search_steps: its
            bisection steps.
        server_policy: ``auto`` / ``streams`` / ``batch``; max_batch / batch_wait_ms: the dynamic batcher's.
        perf_json: perf's figures for the hints (``run``: the column's perf/<column>.json; None: beside the
            engine, else a short perf); workdir: where engines are built or reused (None: OUTDIR/engine);
            calibration: int8's calibration images when the data is a cache (``run``: the held-out pick).
        outdir: where everything goes; weights: how a model name is exported; quiet: no console output.
    """

    WHAT = "loadgen"

    runtimes: Sequence[str] = ("onnxruntime",)
    precisions: Sequence[str] = ("fp32",)
    batch_size: int = 8
    scenarios: Sequence[str] = DEFAULT_SCENARIOS
    mode: str = "both"
    length: str = "test"
    labels: str | None = None
    max_drop: str = "1.0"
    user_conf: str | None = None
    trace: bool = False
    outdir: str = "zoobench-loadgen"
    weights: str | None = None
    quiet: bool = False
    latency_ms: float = 15.0
    target_qps: float | None = None
    find_qps: bool = False
    server_policy: str = "auto"
    max_batch: int = 8
    batch_wait_ms: float = 2.0
    search_steps: int = 6
    perf_json: str | None = None
    workdir: str | None = None
    calibration: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "runtimes", tuple(self.runtimes))
        object.__setattr__(self, "precisions", tuple(self.precisions))
        object.__setattr__(self, "scenarios", tuple(parse_scenarios(",".join(self.scenarios))))
        self._at_least(1, "batch_size", whole=True)
        if self.mode not in MODES:
            raise DataError(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        parse_length(self.length)
        self._server_checks()
        if not self.runtimes or not self.precisions:
            raise DataError("name at least one runtime and one precision")

    def _server_checks(self) -> None:
        self._at_least(1, "max_batch", "search_steps", whole=True)
        for name in ("latency_ms", "batch_wait_ms"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < (0 if name == "batch_wait_ms" else 1e-3):
                raise DataError(f"--{name.replace('_', '-')} must be a positive number of ms, got {value}")
        if self.target_qps is not None and not (math.isfinite(self.target_qps) and self.target_qps > 0):
            raise DataError(f"--target-qps must be a positive number, got {self.target_qps}")
        if self.target_qps is not None and self.find_qps:
            raise DataError("give --target-qps or --find-qps, not both")
        if self.server_policy not in SERVER_POLICIES:
            raise DataError(f"--server-policy must be one of {', '.join(SERVER_POLICIES)}, got {self.server_policy!r}")

    def modes(self) -> list[str]:
        """Accuracy first (a pass over the samples, short), then performance (the length asked)."""
        return ["accuracy", "performance"] if self.mode == "both" else [self.mode]

    def columns(self) -> list[tuple[str, str, list[str]]]:
        """``(runtime, precision, modes)`` in order, each runtime's fp32 first (the others are paired against it);
        with only lower precisions asked in accuracy mode, fp32's accuracy run is added."""
        out: list[tuple[str, str, list[str]]] = []
        rest = [p for p in self.precisions if p != "fp32"]
        for rt in self.runtimes:
            if "fp32" in self.precisions:
                out.append((rt, "fp32", self.modes()))
            elif "accuracy" in self.modes():
                out.append((rt, "fp32", ["accuracy"]))
            out.extend((rt, p, self.modes()) for p in rest)
        return out
