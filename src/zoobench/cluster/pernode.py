"""``perf --ray``: the same sweep on every node of a Ray cluster, one exclusive task per node.

The driver exports the engine once and ships its bytes; each node's task reserves all of that node's CPUs (and
GPUs), runs ``zoobench perf`` on it with as many runtime threads as the node has CPUs, and returns perf.json
with the node's identity. Nodes that share a host (several raylets on one machine) are swept one after
another, so no two sweeps share cores. OUTDIR/nodes/<label>/perf.json is one run per node for ``compare``.
"""

from __future__ import annotations

import socket
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from zoobench.console import make_console
from zoobench.io import write_json

if TYPE_CHECKING:
    from zoobench.cluster.connect import RayNode


class NodeRecord(TypedDict, total=False):
    """One node's line in nodes.json: who it is, and its best figure with its perf.json, or its error."""

    node_id: str
    ip: str
    cpus: float
    gpus: float
    error: str
    perf: str  # nodes/<label>/perf.json
    best_throughput_img_s: float
    cpu: str | None


class PerNode(TypedDict):
    nodes: dict[str, NodeRecord]  # by label
    order: list[str]


def sweep_on_node(files: list[Any], main: str, sweep: dict[str, Any], cpus: float) -> dict[str, Any]:
    """Runs on the node: materialize the engine, sweep it, say where it ran."""
    import ray

    from zoobench.cluster.workers import materialize
    from zoobench.perf.sweep import do_perf

    shipped = ray.get(files[0])
    kw = dict(sweep)
    if kw.get("threads") is None:
        kw["threads"] = max(1, int(cpus))  # the node's reservation, not the host's core count
    result = do_perf(materialize(shipped, main), quiet=True, **kw)
    ctx = ray.get_runtime_context()
    result["node"] = {
        "node_id": ctx.get_node_id(),
        "hostname": socket.gethostname(),
        "cpus": cpus,
        "ip": ray.util.get_node_ip_address(),
    }
    return result


def node_label(node: RayNode) -> str:
    """A folder name per node: its address and the head of its id (``10.0.0.5-3f2a9c1b``)."""
    return f"{node['NodeManagerAddress']}-{node['NodeID'][:8]}"


def _waves(nodes: list[RayNode]) -> list[list[RayNode]]:
    """Nodes grouped so that no two nodes of one host are in the same wave."""
    by_host: dict[str, list[RayNode]] = defaultdict(list)
    for n in nodes:
        by_host[n["NodeManagerAddress"]].append(n)
    depth = max((len(v) for v in by_host.values()), default=0)
    return [[v[k] for v in by_host.values() if k < len(v)] for k in range(depth)]


def perf_per_node(model: str, *, address: str, outdir: str, weights: str | None, quiet: bool, **sweep: Any) -> PerNode:
    """Sweep ``model`` on every live node; write OUTDIR/nodes/<label>/perf.json and OUTDIR/nodes.json.

    Returns:
        ``{"nodes": {label: {"node_id", "ip", "cpus", "gpus", "perf"}}, "order": [labels]}``.
    """
    from zoobench.cluster.connect import alive_nodes, connect, preflight
    from zoobench.cluster.workers import engine_files
    from zoobench.engines import resolve_engine
    from zoobench.errors import ClusterError

    console = make_console(quiet)
    preflight(address)
    out = Path(outdir)
    engine = resolve_engine(model, weights=weights, workdir=out / "engine", log=console.print)
    index: dict[str, NodeRecord] = {}
    with connect(address) as ray:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n for n in alive_nodes(ray) if n["Resources"].get("CPU", 0) > 0]
        if not nodes:
            raise ClusterError("the Ray cluster has no live node with CPUs")
        files = ray.put(engine_files(engine.path))
        task = ray.remote(sweep_on_node)
        console.print(f"perf on {len(nodes)} node(s) of the Ray cluster ({address}), one exclusive task per node")
        for wave in _waves(nodes):
            refs = {}
            for n in wave:
                cpus, gpus = float(n["Resources"]["CPU"]), float(n["Resources"].get("GPU", 0))
                strategy = NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
                refs[node_label(n)] = (
                    n,
                    task.options(num_cpus=cpus, num_gpus=gpus, scheduling_strategy=strategy, max_retries=0).remote(
                        [files], Path(engine.path).name, sweep, cpus
                    ),
                )
            for label, (n, ref) in refs.items():
                index[label] = _collect(ray, label, n, ref, out, console)
    write_json(out / "nodes.json", {"model": engine.model, "address": address, "nodes": index})
    return {"nodes": index, "order": list(index)}


def _collect(ray: Any, label: str, node: RayNode, ref: Any, out: Path, console: Any) -> NodeRecord:
    """One node's result into OUTDIR/nodes/<label>/perf.json; a node that failed is recorded with its error."""
    facts: NodeRecord = {
        "node_id": node["NodeID"],
        "ip": node["NodeManagerAddress"],
        "cpus": node["Resources"].get("CPU", 0),
        "gpus": node["Resources"].get("GPU", 0),
    }
    try:
        result = ray.get(ref)
    except Exception as exc:  # a node that died or failed: the others' results still count
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        console.print(f"  {label}: [red]failed[/] — {first}")
        return {**facts, "error": first}
    write_json(out / "nodes" / label / "perf.json", result)
    best = result["best_throughput_img_s"]
    cpu = result["environment"].get("cpu")
    console.print(f"  {label}: {cpu}, {facts['cpus']:g} CPUs — best {best:.1f} img/s at bs{result['best_batch_size']}")
    return {**facts, "perf": f"nodes/{label}/perf.json", "best_throughput_img_s": best, "cpu": cpu}
