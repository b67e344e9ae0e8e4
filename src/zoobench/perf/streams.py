"""Several sessions of one engine run side by side ("streams"), and the one place that opens a session with a
tuned setting: ``streams`` is runtime-neutral (N sessions × their threads), every other key is the runtime's
own load option (declared by its module's ``tunables()``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from zoobench.perf.timing import timed_runs
from zoobench.runtimes.base import InFlight, RuntimeInfo, Session, Timing


class StreamGroup:
    """N sessions of one engine, timed together: every stream runs its own loop in its own thread (the runtimes
    release the GIL while they compute), throughput counts the images of all streams over the wall time of the
    measured region, latency is per request (per ``run`` of one stream), as benchmark_app reports it."""

    timing_mode = "streams"

    def __init__(self, sessions: list[Session]) -> None:
        if not sessions:
            raise ValueError("a stream group needs at least one session")
        self.sessions = sessions
        first = sessions[0]
        self.input_name, self.output_name, self.input_shape = first.input_name, first.output_name, first.input_shape
        self.input_dtype: np.dtype[Any] = first.input_dtype
        self._next = 0

    def run(self, batch: np.ndarray) -> np.ndarray:
        """One batch on the next stream (round robin); for timing use :meth:`time_async` (its in-flight form)."""
        session = self.sessions[self._next % len(self.sessions)]
        self._next += 1
        return session.run(batch)

    def time_async(self, batch: np.ndarray, timing: Timing) -> tuple[list[float], float]:
        """Every stream runs ``batch`` until ``timing.seconds`` have passed and the streams together did
        ``timing.min_iters`` runs. Returns the per-request latencies (seconds) and the wall time until the last
        stream finished."""
        clk = timing.clock or time.perf_counter
        for session in self.sessions:
            for _ in range(max(timing.warmup, 1)):
                session.run(batch)
        lock = threading.Lock()
        latencies: list[float] = []
        start = clk()
        per_stream = max(1, -(-timing.min_iters // len(self.sessions)))

        def loop(session: Session) -> None:
            mine = timed_runs(
                lambda: session.run(batch),
                clk,
                start,
                seconds=timing.seconds,
                min_iters=per_stream,
                max_iters=timing.max_iters,
            )
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in self.sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return latencies, clk() - start

    def in_flight(self) -> InFlight | None:
        return self

    def concurrent_runs(self) -> int:
        return 1  # run() takes the next stream round robin, unlocked: one caller at a time

    def release(self) -> None:
        for session in self.sessions:
            session.release()

    def info(self) -> RuntimeInfo:
        base = self.sessions[0].info()
        extra = {**base.extra, "streams": len(self.sessions), "threads_per_stream": base.threads}
        threads = None if base.threads is None else base.threads * len(self.sessions)
        return RuntimeInfo(base.runtime, base.device, base.precision, threads, base.version, extra)


def open_tuned(
    path: str,
    runtime: str,
    precision: str,
    settings: dict[str, Any],
    *,
    base: dict[str, Any] | None = None,
    threads: int | None = None,
    loader: Callable[..., Session] | None = None,
) -> Session:
    """A session of ``path`` with ``settings`` over the ``base`` load options: one session, or a
    :class:`StreamGroup` of ``settings["streams"]`` sessions. ``threads`` (perf's ``--threads``) is used when
    the settings name none."""
    if loader is None:
        from zoobench.runtimes import load_session

        loader = load_session
    opts = {**(base or {}), **settings}
    streams = int(opts.pop("streams", 1) or 1)
    n_threads = opts.pop("threads", threads)
    sessions = [loader(path, runtime, precision=precision, threads=n_threads, **opts) for _ in range(streams)]
    return sessions[0] if streams == 1 else StreamGroup(sessions)


def settings_text(settings: dict[str, Any]) -> str:
    """``streams=2 threads=1 spin=False``, or ``defaults`` for an empty setting."""
    return " ".join(f"{k}={v}" for k, v in settings.items()) or "defaults"
