"""What one LoadGen test carries between the parent and its child process, typed: the test's plan (the
``TestSettings`` values, :func:`~zoobench.scenarios.settings.plan`) and the SUT's record (``sut.json``,
:func:`~zoobench.scenarios.child.run_test`)."""

from __future__ import annotations

from typing import Any, TypedDict

from zoobench.scenarios.batcher import BatcherRecord


class _PlanHead(TypedDict):
    scenario: str  # SingleStream / MultiStream / Server / Offline
    mode: str  # LoadGen's TestMode: PerformanceOnly / AccuracyOnly
    performance_sample_count_override: int
    single_stream_expected_latency_ns: int
    multi_stream_expected_latency_ns: int
    multi_stream_samples_per_query: int
    offline_expected_qps: float
    _rules: bool  # FromConfig with mlperf.conf first
    _expected_s: float  # about how long the test takes (printed before it starts)


class PlanValues(_PlanHead, total=False):
    """One test's ``TestSettings`` values (keys without ``_`` are set on LoadGen's object as they are)."""

    min_duration_ms: int  # test and SECONDS lengths (the rules length takes mlperf.conf's)
    min_query_count: int
    server_target_qps: float  # Server only
    server_target_latency_ns: int
    server_target_latency_percentile: float
    max_duration_ms: int


class ServerPart(TypedDict, total=False):
    server: BatcherRecord  # the Server's policy, batch histogram and shed samples


class SutRecord(ServerPart, total=False):
    """``sut.json``: the SUT's errors (any makes the test INVALID) and the form it served in."""

    errors: list[str]
    error_count: int
    failed_samples: int
    runtime: dict[str, Any]  # the session's RuntimeInfo, as info().to_dict() gives it
    sessions: int
    workers: int
    batch: int
    options: dict[str, Any]  # the load options the sessions were opened with
