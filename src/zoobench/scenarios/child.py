"""One LoadGen test per child process, and the parent's side of it.

LoadGen keeps process state (its config applies once per process; Ctrl-C inside a test leaves an empty summary
and crashes at exit), so each test runs in ``python -m zoobench.scenarios.child JOB.json``, in its own session
(a terminal's Ctrl-C reaches only the parent). The parent owns Ctrl-C: it stops the child (SIGTERM: no core
dump), keeps what LoadGen wrote, and raises :class:`Interrupted`. A parent that ends any other way (SIGTERM,
SIGKILL, a crash) takes its child with it on Linux: the child asks the kernel for SIGTERM when its parent goes
(``PR_SET_PDEATHSIG``), so no test runs on unwatched, filling memory with its records. The audit config is an
explicit path in the test's own folder (an ``audit.config`` in the working directory is never read); the trace is
off unless asked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from zoobench.errors import ZoobenchError
from zoobench.io import write_json
from zoobench.runtimes.base import Session
from zoobench.scenarios.records import ServerPart, SutRecord

CHILD_LOG = "child.log"
AUDIT = "audit.config"
PARENT_ENV = "ZOOBENCH_LOADGEN_PARENT"  # the parent's pid, for the child's PR_SET_PDEATHSIG
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Interrupted(Exception):
    """Ctrl-C stopped a test; ``folder`` keeps what LoadGen wrote."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder


def open_sessions(job: dict[str, Any]) -> list[Session]:
    """``job["sessions"]`` sessions of the job's engine with its load options (a tuned profile's streams)."""
    from zoobench.runtimes import load_session

    sessions: list[Session] = []
    try:
        for _ in range(int(job.get("sessions", 1))):
            opts = dict(job.get("options") or {})
            sessions.append(load_session(job["engine"], job["runtime"], precision=job["precision"], **opts))
    except BaseException:
        for s in sessions:
            s.release()
        raise
    return sessions


def run_test(job: dict[str, Any], sessions: list[Session] | None = None) -> SutRecord:
    """Run one LoadGen test as ``job`` says (engine, runtime, precision, options, sessions, cache, plan, warm,
    batch, outdir, trace, user_conf); ``sessions``: already opened (tests), else opened here and released after.
    Writes LoadGen's files and ``sut.json`` (the errors, the SUT's settings) into ``outdir``; returns sut.json."""
    import mlperf_loadgen as lg

    from zoobench.artifact import load_engine
    from zoobench.scenarios.qsl import CacheQSL
    from zoobench.scenarios.settings import build
    from zoobench.scenarios.sut import Runner

    out = Path(job["outdir"])
    out.mkdir(parents=True, exist_ok=True)
    qsl = CacheQSL(job["cache"], job.get("rows"))
    settings = build(job["plan"], job.get("user_conf"))
    own = sessions is None
    sessions = open_sessions(job) if sessions is None else sessions
    try:
        threaded = job["plan"]["scenario"] in ("Offline", "Server")
        workers = len(sessions) * sessions[0].concurrent_runs() if threaded else 1
        runner = Runner(lg, qsl, sessions, load_engine(job["engine"]).preprocess, int(job["batch"]), workers)
        runner.warm(job.get("warm") or [1])
        server = _start(lg, job, runner, qsl, settings, out)
        record: SutRecord = {
            **server,
            "errors": runner.errors,
            "error_count": runner.error_count,
            "failed_samples": runner.failed_samples,
            "runtime": sessions[0].info().to_dict(),
            "sessions": len(sessions),
            "workers": workers,
            "batch": int(job["batch"]),
            "options": job.get("options") or {},
        }
    finally:
        if own:
            for s in sessions:
                s.release()
    write_json(out / "sut.json", record)
    return record


def _start(lg: Any, job: dict[str, Any], runner: Any, qsl: Any, settings: Any, out: Path) -> ServerPart:
    """Run the test; returns the Server's record (policy, batch histogram, shed samples; {} otherwise)."""
    from zoobench.scenarios.server import construct_server
    from zoobench.scenarios.sut import construct

    log_out = lg.LogOutputSettings()
    log_out.outdir = str(out)
    log_out.copy_summary_to_stdout = False
    log = lg.LogSettings()
    log.log_output = log_out
    log.enable_trace = bool(job.get("trace"))
    record: Any = dict
    if job["plan"]["scenario"] == "Server":
        sut, stop, record = construct_server(lg, runner, job["server"])
    else:
        sut, stop = construct(lg, job["plan"]["scenario"], runner, int(job["batch"]))
    qsl_handle = qsl.construct(lg, int(job["plan"]["performance_sample_count_override"]))
    try:
        lg.StartTestWithLogSettings(sut, qsl_handle, settings, log, str(out / AUDIT))
    finally:
        stop()
        lg.DestroyQSL(qsl_handle)
        lg.DestroySUT(sut)
    return {"server": record()} if job["plan"]["scenario"] == "Server" else {}


def run_child(job: dict[str, Any]) -> SutRecord:
    """Run ``job`` in a child process (its output in ``outdir/child.log``); returns its sut.json.

    Raises:
        Interrupted: Ctrl-C (the child is stopped first). ZoobenchError: the child failed (its last line).
    """
    out = Path(job["outdir"]).resolve()  # the child runs in it: relative paths would not reach its files
    job = {**job, "outdir": str(out)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "job.json").write_text(json.dumps(job, indent=2), encoding="utf-8")
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])  # this zoobench, also when it is not the installed one
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    env[PARENT_ENV] = str(os.getpid())
    cmd = [sys.executable, "-m", "zoobench.scenarios.child", str(out / "job.json")]
    with open(out / CHILD_LOG, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait()
        except KeyboardInterrupt:
            stop_child(proc)
            raise Interrupted(out) from None
    if rc != 0:
        lines = (out / CHILD_LOG).read_text(encoding="utf-8", errors="replace").strip().splitlines()
        raise ZoobenchError(f"the LoadGen test in {out} failed (exit {rc}): {lines[-1] if lines else 'no output'}")
    record: SutRecord = json.loads((out / "sut.json").read_text(encoding="utf-8"))
    return record


def stop_child(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (no handler, no core dump), then SIGKILL if it is still there after 30 s; reaped either way."""
    try:
        proc.terminate()
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except KeyboardInterrupt:  # a second Ctrl-C: stop now
        proc.kill()
        proc.wait()


def die_with_parent(parent: int) -> None:
    """Linux: SIGTERM to this process when the process that started it ends, however it ends; if it has ended
    already (before the request), SIGTERM now. Elsewhere nothing (the parent's Ctrl-C path still stops it)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str]) -> int:
    if os.environ.get(PARENT_ENV, "").isdigit():
        die_with_parent(int(os.environ[PARENT_ENV]))
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        run_test(job)
    except ZoobenchError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
