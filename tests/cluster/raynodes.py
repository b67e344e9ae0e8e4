"""A two-node Ray cluster on this machine for the tests: two raylets, each started with ``ray start``.

Each ``ray start`` runs in a session of its own (``setsid``), and every process a node starts stays in
that session, so a node's processes are found by its session id and stopped without touching
anything else on the machine (``ray stop`` would stop every Ray process of every user).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def session_pids(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session
            pids.append(int(p.name))
    return pids


def kill_session(sid: int, timeout: float = 10.0) -> list[int]:
    """SIGKILL every process of session ``sid`` until none is left; returns the pids still alive."""
    deadline = time.monotonic() + timeout
    while (pids := session_pids(sid)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    return session_pids(sid)


def _free_port() -> int:
    """A free TCP port above Ray's worker port range (10002-19999), so no worker can take it first."""
    for port in range(26379, 27379):
        with socket.socket() as s:
            try:
                s.bind(("", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 26379-27378")


class TwoNodes:
    """``ray start --head --num-cpus 1`` then ``ray start --address ... --num-cpus 1``; stopped by session id.

    Started as docs/cluster.md says (HOME is a folder of the cluster's own, so ``~/.ray/auth_token`` is its own):
    ``ray get-auth-token --generate``, plain ``ray start --head`` (Ray 2.60 turns token auth on because the file
    is there), ``RAY_AUTH_MODE=token ray start --address HEAD:PORT`` on the other node, and drivers with neither
    variable set (zoobench finds the token itself).
    """

    def __init__(self) -> None:
        self.temp = tempfile.mkdtemp(prefix="zr", dir="/tmp")  # unix socket paths must stay short
        self.home = Path(self.temp) / "home"  # the nodes' and drivers' HOME: ~/.ray/auth_token is this cluster's
        self.home.mkdir()
        self.sessions: dict[str, int] = {}
        self.address = ""
        self.drivers: list[int] = []

    def env(self, role: str = "driver", home: Path | None = None) -> dict[str, str]:
        """The environment of a ``head``, a ``worker`` node or a ``driver`` (``home``: another HOME)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH_")}
        env.update(HOME=str(home or self.home), RAY_DISABLE_IMPORT_WARNING="1")
        if role == "worker":
            env["RAY_AUTH_MODE"] = "token"  # what docs/cluster.md tells the other nodes to set
        # a dead node is noticed in ~2 s instead of ~30 s
        env.update(RAY_health_check_period_ms="500", RAY_health_check_timeout_ms="500")
        env.update(RAY_health_check_failure_threshold="3")
        if self.address:
            env["RAY_ADDRESS"] = self.address  # what `--ray auto` joins
        return env

    def _ray_start(self, node: str, *args: str) -> None:
        ray = str(Path(sys.executable).parent / "ray")
        common = ["--num-cpus", "1", "--object-store-memory", str(300 * 2**20), "--disable-usage-stats"]
        proc = subprocess.Popen(
            [ray, "start", *args, *common],
            env=self.env(node),
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.sessions[node] = proc.pid  # a session leader's pid is its session id
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start {' '.join(args)} failed:\n{out[-3000:]}")

    def start(self) -> TwoNodes:
        ray = str(Path(sys.executable).parent / "ray")
        subprocess.run([ray, "get-auth-token", "--generate"], env=self.env("head"), capture_output=True, check=True)
        assert (self.home / ".ray" / "auth_token").is_file()
        port = _free_port()
        self._ray_start("head", "--head", "--port", str(port), "--temp-dir", self.temp, "--include-dashboard=false")
        self.address = f"127.0.0.1:{port}"
        self._ray_start("worker", "--address", self.address)
        self._wait_for_nodes(2)
        return self

    def _wait_for_nodes(self, n: int, timeout: float = 60.0) -> None:
        code = (
            "import ray, time, sys\n"
            f"ray.init(address='{self.address}', logging_level='ERROR', log_to_driver=False)\n"
            f"t = time.monotonic()\nwhile len([x for x in ray.nodes() if x['Alive']]) < {n}:\n"
            f"    if time.monotonic() - t > {timeout}: sys.exit('nodes did not join')\n"
            "    time.sleep(0.2)\n"
        )
        env = dict(self.env(), RAY_AUTH_MODE="token")  # a plain ray.init needs it (zoobench sets it itself)
        self.driver([sys.executable, "-c", code], timeout=timeout + 60, env=env).check_returncode()

    def driver(
        self, args: list[str], timeout: float = 300, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a driver process against this cluster (in a session of its own, stopped by ``stop``)."""
        proc = subprocess.Popen(
            args,
            env=env or self.env(),
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.drivers.append(proc.pid)
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(args, proc.returncode, out, err)

    def kill_worker(self) -> None:
        """The worker node dies at once (SIGKILL to each of its processes, raylet included)."""
        kill_session(self.sessions["worker"])

    def stop(self) -> list[int]:
        """Kill every process the nodes and drivers started; returns any pid still alive."""
        left = [p for sid in [*self.sessions.values(), *self.drivers] for p in kill_session(sid)]
        subprocess.run(["rm", "-rf", self.temp], check=False)
        return left
