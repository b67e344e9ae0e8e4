"""Join a Ray cluster (or start a local instance) and plan the inference actors from its resources."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

from zoobench.errors import ClusterError
from zoobench.jsontypes import JsonObject

INSTALL = "pip install 'zoobench[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or one line saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ClusterError(f"--ray needs Ray Data, which is not installed: {INSTALL}") from None
    return ray


def _reachable(address: str) -> None:
    """HOST:PORT answers a TCP connect within a few seconds (ray.init would otherwise wait a minute)."""
    if address == "auto":
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--ray {address!r}: expected 'local', 'auto' or HOST:PORT (e.g. 10.0.0.5:6379)")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


def preflight(address: str) -> None:
    """Fail in one line, before any work, when Ray is missing or ``address`` cannot be a reachable cluster."""
    import_ray()
    if address.startswith("ray://"):
        raise ClusterError("--ray ray://... (Ray Client) is not supported: run zoobench on a node of the cluster")
    if address == "auto":
        found = _auto_address()
        _reachable(found)
        _authenticate(found)
    elif address != "local":
        _reachable(address)
        _authenticate(address)


def _token_available() -> bool:
    """A token this machine would present: ``RAY_AUTH_TOKEN``, the file ``RAY_AUTH_TOKEN_PATH`` names, or
    ``~/.ray/auth_token`` (where ``ray start --head`` and ``ray get-auth-token --generate`` keep it)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.join(os.path.expanduser("~"), ".ray", "auth_token")
    return os.path.isfile(path)


def _authenticate(address: str) -> None:
    """Ray 2.60's ``ray start --head`` turns token auth on when ``~/.ray/auth_token`` exists, and a driver
    without ``RAY_AUTH_MODE=token`` then waits ~20 s and fails. Ask the cluster first (about a second): when it
    wants a token and this machine has one, use it (as ``RAY_AUTH_MODE=token`` would); else say what to set."""
    if address == "auto" or not _probe(address):
        return
    if os.environ.get("RAY_AUTH_MODE") is None and _token_available():
        try:
            from ray._private.authentication.authentication_token_setup import _enable_token_auth
        except ImportError:  # Ray moved it: the environment variable is what Ray documents
            os.environ["RAY_AUTH_MODE"] = "token"
        else:
            _enable_token_auth()  # RAY_AUTH_MODE=token for this process, and Ray's cached config reloaded
        if not _probe(address):
            return
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token" and _token_available():
        raise ClusterError(
            f"the Ray cluster at {address} refused this machine's token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or "
            "~/.ray/auth_token): use the head node's"
        )
    raise ClusterError(
        f"the Ray cluster at {address} requires token authentication: copy the head node's ~/.ray/auth_token to "
        "this machine (or set RAY_AUTH_TOKEN to it) and set RAY_AUTH_MODE=token"
    )


def _probe(address: str) -> bool:
    """True when the cluster's GCS at ``address`` rejects this process's credentials (other failures are left
    to ``ray.init``, which says more about them)."""
    ray = import_ray()
    try:
        from ray._raylet import GcsClient  # type: ignore[attr-defined]
    except ImportError:
        return False
    auth_error = getattr(ray.exceptions, "AuthenticationError", None)
    try:
        with _quiet_stderr():  # Ray's C++ client logs the refusal; zoobench says it in one line
            GcsClient(address=address)
    except Exception as exc:
        return auth_error is not None and isinstance(exc, auth_error)
    return False


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null for the block (what native code writes there too)."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _auto_address() -> str:
    """What ``--ray auto`` joins (RAY_ADDRESS, or the cluster ``ray start`` made on this machine), or one line."""
    try:
        from ray._private.services import canonicalize_bootstrap_address_or_die as find
    except ImportError:  # Ray moved it: ray.init will say what it finds
        return os.environ.get("RAY_ADDRESS") or "auto"
    try:
        return str(find("auto"))
    except ConnectionError:
        raise ClusterError(
            "--ray auto: no running Ray cluster on this machine (start one with `ray start --head`, set "
            "RAY_ADDRESS, or pass --ray local or HOST:PORT)"
        ) from None


NICENESS = "RAY_worker_niceness"  # Ray's own setting (ray_constants.RAY_WORKER_NICENESS); it starts workers at 15
# A local instance's processes start with these (its raylet passes them on to its workers).
LOCAL_ENV = {NICENESS: "0"}


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """``local`` starts a Ray instance on this machine (stopped at the end); ``auto`` or ``HOST:PORT`` joins.

    Raises:
        ClusterError: Ray is missing, or no cluster answers at ``address``.
    """
    preflight(address)
    ray = import_ray()
    if ray.is_initialized():  # joined already: `run --ray` keeps one session for all its models
        yield ray
        return
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # Ray Data's own actors always trip a core-worker notice about constructor args (ray#53727); errors that
    # matter reach the driver as Python exceptions. RAY_BACKEND_LOG_LEVEL=info brings the notices back.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    # Ray starts its workers at nice 15: on a machine doing anything else (a laptop, a shared node) the actors that
    # decode and infer get a few percent of a core (benchmarks/ray_niceness.py: 6.2x slower beside two busy loops).
    # This job's workers run at the niceness of everything else, as Ray's own job supervisor does for itself: on a
    # joined cluster through the job's runtime env; on a local instance through the environment its raylet starts
    # with (a runtime env makes Ray start every worker through an extra setup process: ~0.5 s of a core apiece).
    kw: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address == "local":
        kw["include_dashboard"] = False
    else:
        kw["runtime_env"] = {"env_vars": {NICENESS: "0"}}
    try:
        with _env(LOCAL_ENV if address == "local" else {}):
            ray.init(address=address, **kw)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(f"cannot join the Ray cluster at {address!r}: {first}") from None
    _quiet_ray_data(ray)
    _ray_messages_to_stderr()
    try:
        yield ray
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    """The environment with ``values`` inside the block (a variable the user set keeps its value), as it was after:
    what a local instance's processes start with."""
    before = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        os.environ.setdefault(k, v)
    try:
        yield
    finally:
        for k, old in before.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old


def _quiet_ray_data(ray: Any) -> None:
    """zoobench draws its own progress bar; Ray Data's own bars and per-operator logs would interleave with it."""
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a task's error reaches the driver as one line
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    for attr in ("enable_operator_progress_bars", "print_on_execution_start", "verbose_progress"):
        if hasattr(ctx, attr):
            setattr(ctx, attr, False)


def _ray_messages_to_stderr() -> None:
    """Ray prints cluster events (e.g. "Raylet is terminated" when a node dies) on the driver's stdout, which
    belongs to zoobench (``--json``); send them to stderr."""
    from ray._private import worker

    original = getattr(worker, "print_to_stdstream", None)
    if original is None or getattr(original, "_zoobench", False):
        return

    def to_stderr(data: dict[str, Any], ignore_prefix: bool) -> None:
        original({**data, "is_err": True}, ignore_prefix)

    to_stderr._zoobench = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = to_stderr


class RayNode(TypedDict, total=False):
    """A node as ``ray.nodes()`` describes it (the keys zoobench reads)."""

    NodeID: str
    Alive: bool
    NodeManagerAddress: str
    NodeName: str
    Resources: dict[str, float]  # CPU, GPU, memory, ...


def alive_nodes(ray: Any) -> list[RayNode]:
    """The cluster's live nodes: id, address and resources."""
    return [n for n in ray.nodes() if n.get("Alive")]


@dataclass
class Plan:
    """How the inference is spread: actors, and the logical CPUs/GPUs each actor and decode task reserves."""

    actors: int
    cpus_per_actor: float
    gpus_per_actor: float
    threads: int | None
    decode_cpus: float
    decode_tasks: int
    nodes: int
    cluster_cpus: float
    cluster_gpus: float
    placement: dict[str, int] = field(default_factory=dict)  # node id -> actors pinned there

    def to_dict(self) -> JsonObject:
        return asdict(self)


def plan(ray: Any, *, gpu: bool, actors: int | None, cpus_per_actor: float | None, threads: int | None) -> Plan:
    """Defaults from the cluster's resources (each can be overridden).

    CPU runtimes: one actor per node, reserving half the node's CPUs and using all of them as runtime threads,
    the other half reserved for decode tasks. The two overlap in time, as they do in the local pipeline.
    GPU runtimes: one actor per GPU with one CPU; decode tasks take the CPUs.
    ``placement`` pins the actors to nodes (round robin over the nodes, a GPU node taking one per GPU), so every
    node works however the actors start.
    """
    nodes = [n for n in alive_nodes(ray) if n["Resources"].get("CPU", 0) > 0 or n["Resources"].get("GPU", 0) > 0]
    nodes.sort(key=lambda n: str(n["NodeID"]))
    if not nodes:
        raise ClusterError("the Ray cluster has no live node with CPUs")
    cpus = [float(n["Resources"].get("CPU", 0)) for n in nodes]
    total_cpu, total_gpu = sum(cpus), sum(float(n["Resources"].get("GPU", 0)) for n in nodes)
    if gpu:
        if total_gpu < 1:
            raise ClusterError("this runtime runs on GPUs, and the Ray cluster has none")
        n_act, cpa, gpa = actors or int(total_gpu), cpus_per_actor if cpus_per_actor is not None else 1.0, 1.0
        th = threads
    else:
        smallest = min(c for c in cpus if c > 0)
        n_act = actors or len([c for c in cpus if c > 0])
        cpa = cpus_per_actor if cpus_per_actor is not None else max(smallest / 2, 0.5)
        gpa = 0.0
        th = threads or max(1, int(cpus_per_actor) if cpus_per_actor else int(smallest))
    if n_act * cpa > total_cpu:
        raise ClusterError(
            f"{n_act} actors x {cpa:g} CPUs need {n_act * cpa:g} CPUs; the cluster has {total_cpu:g} "
            "(lower --actors or --cpus-per-actor)"
        )
    spare = total_cpu - n_act * cpa
    decode_cpus = min(0.5, spare / max(1, len(nodes)))
    where = placement(nodes, n_act, gpu)
    return Plan(n_act, cpa, gpa, th, decode_cpus, max(2, int(total_cpu)), len(nodes), total_cpu, total_gpu, where)


def placement(nodes: list[RayNode], n_actors: int, gpu: bool) -> dict[str, int]:
    """Actors per node: round robin over the nodes (each CPU node one per round, a GPU node one per GPU)."""
    caps = [int(n["Resources"].get("GPU", 0)) if gpu else 1 for n in nodes]
    slots = [str(n["NodeID"]) for r in range(max(caps, default=0)) for n, c in zip(nodes, caps) if c > r]
    out: dict[str, int] = {}
    for k in range(n_actors if slots else 0):
        out[slots[k % len(slots)]] = out.get(slots[k % len(slots)], 0) + 1
    return out
