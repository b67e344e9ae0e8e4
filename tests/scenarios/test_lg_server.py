"""The Server scenario's logic without LoadGen's clock: the dynamic batcher (gather / pad / complete) on a fake
clock, the shedding of requests already over the bound, ``auto``'s choice on an injected cost model, the QPS
search on a scripted sequence of VALID/INVALID results, and the Server's settings."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from zoobench.errors import DataError
from zoobench.scenarios.batcher import Gather, Workers, bucket_for, buckets
from zoobench.scenarios.server import choose_policy, per_core_streams, search_qps, search_start
from zoobench.scenarios.settings import Hints, LoadgenSettings, parse_length, parse_scenarios, plan


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_buckets_are_powers_of_two_up_to_the_max_batch() -> None:
    assert buckets(8) == [1, 2, 4, 8] and buckets(6) == [1, 2, 4, 6] and buckets(1) == [1]
    assert [bucket_for(n, buckets(8)) for n in range(1, 9)] == [1, 2, 4, 4, 8, 8, 8, 8]


def test_a_burst_fills_a_batch_at_once() -> None:
    g = Gather(max_batch=4, wait_s=0.002)
    g.add(list("abcdef"), now=1.0)
    assert [item for item, _ in g.take(now=1.0)] == list("abcd")  # full: leaves without waiting
    assert g.take(now=1.001) == []  # the 2 left wait for more, up to the first one's arrival + 2 ms
    assert g.due() == pytest.approx(1.002)
    assert [item for item, _ in g.take(now=1.002)] == ["e", "f"]
    assert g.due() is None and g.take(now=5.0) == []


def test_a_lone_request_leaves_after_the_wait() -> None:
    g = Gather(max_batch=8, wait_s=0.002)
    g.add(["x"], now=10.0)
    assert g.take(now=10.0) == [] and g.take(now=10.0019) == []
    g.add(["y"], now=10.001)  # a later arrival does not extend the first one's wait
    assert g.due() == pytest.approx(10.002)
    assert [item for item, _ in g.take(now=10.002)] == ["x", "y"]
    g.add(["z"], now=11.0)
    assert [item for item, _ in g.take(now=11.0, drain=True)] == ["z"]  # stopping drains


def _workers(policy: str, clock: FakeClock, max_batch: int = 8) -> tuple[Workers, list[Any], list[Any]]:
    ran: list[Any] = []
    shed: list[Any] = []
    w = Workers(
        lambda items, worker, padded: ran.append((list(items), padded)), shed.extend, 1, policy=policy,
        max_batch=max_batch, wait_s=0.002, shed_after_s=1.0, clock=clock,
    )  # fmt: skip
    w.stop()  # no threads: the test drives step() itself
    return w, ran, shed


def test_batches_are_padded_to_a_warmed_bucket_and_counted() -> None:
    clock = FakeClock()
    w, ran, shed = _workers("batch", clock)
    w.gather.add(list("abcde"), clock.now)
    clock.now = 0.002
    w.step(w.gather.take(clock.now), 0)
    w.gather.add(list("abcdefgh"), clock.now)
    w.step(w.gather.take(clock.now), 0)
    assert ran == [(list("abcde"), 8), (list("abcdefgh"), 8)]
    assert w.record()["batch_histogram"] == {"5": 1, "8": 1} and w.record()["buckets"] == [1, 2, 4, 8]
    assert shed == [] and w.record()["shed_samples"] == 0


def test_requests_over_the_shed_bound_complete_empty_and_are_counted() -> None:
    clock = FakeClock()
    w, ran, shed = _workers("streams", clock)
    w.gather.add(["old"], 0.0)
    clock.now = 0.5
    w.gather.add(["new"], 0.5)
    batch = w.gather.take(clock.now) + w.gather.take(clock.now)  # streams: one request at a time
    clock.now = 1.2  # "old" has waited 1.2 s > 1 s, "new" 0.7 s
    w.step(batch, 0)
    assert shed == ["old"] and ran == [(["new"], 1)] and w.record()["shed_samples"] == 1


class RowSession:
    """Logits whose top-1 is the row's position in the batch (so a response shows which row it came from)."""

    input_dtype = np.uint8

    def __init__(self) -> None:
        self.batches: list[int] = []

    def run(self, x: np.ndarray) -> np.ndarray:
        self.batches.append(len(x))
        logits = np.zeros((len(x), 16), np.float32)
        logits[np.arange(len(x)), np.arange(len(x))] = 1.0
        return logits


class FakeLG:
    def __init__(self) -> None:
        self.completed: list[tuple[int, list[int]]] = []

    def QuerySampleResponse(self, sid: int, ptr: int, size: int) -> Any:
        ids = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_int32 * (size // 4)).from_address(ptr)) if size else []
        return (sid, [int(i) for i in ids])

    def QuerySamplesComplete(self, responses: list[Any]) -> None:
        self.completed.extend(responses)


def test_padding_rows_never_reach_a_response() -> None:
    from zoobench.scenarios.sut import Runner

    qsl = SimpleNamespace(shape=(2, 2, 3), gather=lambda idx, buf: buf[: len(idx)])
    session, lg = RowSession(), FakeLG()
    runner = Runner(lg, qsl, [session], SimpleNamespace(), batch=8)  # type: ignore[arg-type]
    samples = [SimpleNamespace(id=100 + i, index=i) for i in range(3)]
    runner.answer(samples, 0, padded_to=4)
    assert session.batches == [4]  # the bucket ran
    assert [sid for sid, _ in lg.completed] == [100, 101, 102]  # the 3 real requests, once each
    assert [ids[0] for _, ids in lg.completed] == [0, 1, 2]  # rows 0..2 answered; row 3 (padding) never
    assert runner.error_count == 0


def test_auto_picks_batch_when_a_batch_of_8_costs_less_than_3_images() -> None:
    policy, why = choose_policy(lambda n: 0.001 if n == 1 else 0.0029)
    assert policy == "batch" and "2.90x" in why
    policy, why = choose_policy(lambda n: 0.001 * n)  # a batch of 8 costs 8 single images
    assert policy == "streams" and "8.00x" in why


def test_the_search_keeps_the_highest_valid_target() -> None:
    asked: list[float] = []
    script = iter([False, True, False, True, True, False, False])  # start 400: INVALID, then bisect

    def probe(qps: float) -> bool:
        asked.append(qps)
        return next(script)

    qps, tried = search_qps(probe, 400.0, 400.0, steps=6)
    assert asked == [400.0, 200.0, 300.0, 250.0, 275.0, 287.5, 281.25]
    assert qps == 275.0 and tried == list(zip(asked, [False, True, False, True, True, False, False]))


def test_the_search_raises_a_valid_start_up_to_the_ceiling_and_reports_none_valid() -> None:
    qps, tried = search_qps(lambda q: True, 100.0, 300.0)
    assert qps == 300.0 and [q for q, _ in tried] == [100.0, 150.0, 225.0, 300.0]  # never above perf's best
    qps, tried = search_qps(lambda q: q <= 160.0, 100.0, 300.0, steps=2)
    assert qps == 150.0 and [q for q, _ in tried] == [100.0, 150.0, 225.0, 187.5, 168.75]
    qps, tried = search_qps(lambda q: False, 100.0, 300.0, steps=3)
    assert qps == 0.0 and [q for q, _ in tried] == [100.0, 50.0, 25.0, 12.5]
    qps, tried = search_qps(lambda q: False, 100.0, 300.0, steps=6, floor=20.0)  # no probe below the floor
    assert qps == 0.0 and [q for q, _ in tried] == [100.0, 50.0, 25.0]


def test_the_search_starts_low_and_skips_a_bound_one_image_cannot_meet() -> None:
    start, why = search_start(400.0, 0.004, 0.015)
    assert start == 100.0 and "best" in why  # a quarter of perf's best: probes far above the answer are wasted
    start, why = search_start(24.0, 0.080, 0.015)
    assert start == 0.0 and "80.0 ms" in why and "15 ms" in why


def test_streams_use_a_session_per_core_only_while_one_thread_leaves_room_under_the_bound() -> None:
    ok, why = per_core_streams(0.0019, 2, 0.015)  # one thread ~3.8 ms: MLPerf's reference scheme
    assert ok and "3.8 ms" in why
    ok, why = per_core_streams(0.0034, 2, 0.015)  # ~6.8 ms on one thread against 15 ms: one session, all threads
    assert not ok and "6.8 ms" in why and "one session" in why
    assert per_core_streams(0.010, 1, 0.015)[0]  # one core: there is no other form


def test_server_form_follows_the_latency_rule(tmp_path: Any) -> None:
    from zoobench.scenarios.serving import server_form

    (tmp_path / "m.onnx").write_bytes(b"not read: no tuned profile beside it")
    engine: Any = SimpleNamespace(path=str(tmp_path / "m.onnx"), model="mnasnet1_0")
    fast = server_form(engine, ("onnxruntime", "fp32"), "streams", 8, (0.00001, 0.015))
    slow = server_form(engine, ("onnxruntime", "fp32"), "streams", 8, (0.100, 0.015))
    assert fast[1] >= 1 and fast[0].get("threads") == 1 and "Server form" in fast[2]
    assert slow[1] == 1 and "threads" not in slow[0] and "one session" in slow[2]
    batch = server_form(engine, ("onnxruntime", "fp32"), "batch", 8, (0.0019, 0.015))
    assert batch[1] == 1 and "threads" not in batch[0]  # the batcher serves from perf's one session


def test_server_settings() -> None:
    assert parse_scenarios("singlestream,server") == ["SingleStream", "Server"]
    hints = Hints(0.004, 0.02, 500.0, server_qps=300.0, latency_bound_s=0.015)
    p = plan("Server", "performance", parse_length("test"), hints, 100)
    assert (p["server_target_qps"], p["server_target_latency_ns"], p["min_query_count"]) == (300.0, 15_000_000, 459)
    assert p["server_target_latency_percentile"] == 0.99 and p["_expected_s"] == pytest.approx(2.0)
    assert p["max_duration_ms"] == int((2 * 2.0 + 2) * 1000)  # an overload ends here
    probe = plan("Server", "performance", parse_length("1"), hints, 100, min_queries=1000)
    assert probe["min_query_count"] == 1000 and probe["_expected_s"] == pytest.approx(1000 / 300)
    for bad in ({"target_qps": 0.0}, {"server_policy": "greedy"}, {"latency_ms": -1.0}, {"max_batch": 0},
                {"target_qps": 100.0, "find_qps": True}):  # fmt: skip
        with pytest.raises(DataError):
            LoadgenSettings(**bad)  # type: ignore[arg-type]


def test_find_qps_probes_nothing_when_one_image_misses_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoobench.scenarios import serving

    said: list[str] = []
    job = SimpleNamespace(settings=LoadgenSettings(find_qps=True, latency_ms=15.0, search_steps=2), say=said.append)
    base = SimpleNamespace(runtime="onnxruntime", precision="fp32")
    probed: list[float] = []
    monkeypatch.setattr(serving, "_prober", lambda *a: lambda q: probed.append(q) or q <= 60.0)
    qps, source, tried = serving._find(job, None, base, (24.0, "24.0 img/s at batch 8"), 0.080)  # type: ignore[arg-type]
    assert (qps, tried, probed) == (6.0, [], []) and "no target can be VALID" in source and "80.0 ms" in said[0]
    qps, source, tried = serving._find(job, None, base, (200.0, "200 img/s"), 0.004)  # type: ignore[arg-type]
    assert probed == [50.0, 75.0, 62.5, 56.25] and qps == 56.25 == max(q for q, ok in tried if ok)
    assert "the highest VALID of 4 probes" in source


def test_a_probe_and_its_confirming_run_have_as_many_queries() -> None:
    from zoobench.scenarios.serving import probe_queries

    # 1,000 at a fast target, 10 s of them at a slower one, never under early stopping's 459
    assert (probe_queries(300.0), probe_queries(50.0), probe_queries(10.0)) == (1000, 500, 459)


def test_the_search_stops_where_its_bracket_is_within_a_runs_noise() -> None:
    qps, tried = search_qps(lambda q: q <= 300.0, 100.0, 1000.0, steps=20)
    valid = max(q for q, ok in tried if ok)
    invalid = min(q for q, ok in tried if not ok)
    assert qps == valid <= 300.0 < invalid and invalid - valid <= 0.03 * invalid
    assert len(tried) < 4 + 20  # stopped on the resolution, not on the steps
    before = tried[:-1]  # the bracket one probe earlier was wider than the resolution
    assert min(q for q, ok in before if not ok) - max(q for q, ok in before if ok) > 0.03 * 300.0


def test_a_failed_confirmation_is_repeated_lower_and_the_row_is_the_last_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from zoobench.scenarios import serving

    hints = Hints(0.004, 0.02, 500.0, server_qps=100.0, latency_bound_s=0.015)
    test = serving.Test("onnxruntime", "fp32", "Server", "performance", hints)

    def run(verdicts: list[str], search: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
        job: Any = SimpleNamespace(rows=[], out=tmp_path, say=lambda line: None)
        ran: list[Any] = []
        script = iter(verdicts)

        def record(job: Any, engine: Any, t: Any, launched: Any, extra: dict[str, Any]) -> dict[str, Any]:
            row = {"value": t.hints.server_qps, "result": next(script), "p99_ms": 20.0, **extra}
            job.rows.append(row)
            return row

        monkeypatch.setattr(serving, "launch", lambda job, engine, t: ran.append(t))
        monkeypatch.setattr(serving, "record", record)
        serving._confirm(job, None, test, {"search": search})  # type: ignore[arg-type]
        return job.rows, ran

    rows, ran = run(["INVALID", "INVALID", "VALID"], [{"target_qps": 100.0, "valid": True}])
    assert [round(t.hints.server_qps, 2) for t in ran] == [100.0, 90.0, 81.0]
    assert [t.min_queries for t in ran] == [serving.probe_queries(q) for q in (100.0, 90.0, 81.0)]
    assert ran[0].folder is None and ran[1].folder != ran[2].folder  # each run keeps its own logs
    assert len(rows) == 1 and rows[0]["result"] == "VALID" and rows[0]["value"] == pytest.approx(81.0)
    assert [c["result"] for c in rows[0]["confirm"]] == ["INVALID", "INVALID", "VALID"]
    rows, ran = run(["INVALID"] * 3, [{"target_qps": 100.0, "valid": True}])
    assert len(ran) == 3 and len(rows) == 1 and rows[0]["result"] == "INVALID"  # never more than CONFIRM_TRIES
    rows, ran = run(["INVALID"], [{"target_qps": 100.0, "valid": False}])
    assert len(ran) == 1 and rows[0]["result"] == "INVALID"  # no probe held: nothing lower to try
