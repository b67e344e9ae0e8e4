"""``infer --ray``: the local pipeline's batches, run on Ray Data.

list the images (driver) -> read + decode to uint8 crops (CPU tasks, where the files are) -> one runtime
session per actor (uint8 in; normalized in the actor or in the graph) -> top-5 -> gathered by the driver,
which keeps the local pipeline's resumable chunks. Each row is one local batch (same images, same order),
so predictions.csv and result.json are byte-identical to a local run on the same engine.
"""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.artifact import Engine
from zoobench.errors import ClusterError
from zoobench.infer.chunks import ChunkSink, GroupResult, InferenceResult, merge
from zoobench.infer.loop import RunIO, open_run
from zoobench.infer.settings import InferSettings
from zoobench.infer.source import Source
from zoobench.infer.stage import Backend


def backend_for(settings: InferSettings) -> Backend | None:
    """The Ray backend for ``infer`` when ``settings.ray`` says so (its address checked now, in one line, before
    any export); None: infer runs in this process."""
    if not settings.ray:
        return None
    from zoobench.cluster.connect import preflight

    preflight(settings.ray)
    return ray_backend


def ray_backend(
    engine: Engine, data_dir: str, settings: InferSettings, *, source: Source, io: RunIO
) -> InferenceResult:
    """:func:`run_ray`, said first through ``io.log`` (a ``zoobench.infer.stage.Backend``)."""
    if io.log:
        io.log(f"infer on Ray ({settings.ray or 'local'})")
    return run_ray(engine, data_dir, settings, source=source, io=io)


def run_ray(
    engine: Engine,
    data_dir: str | Path,
    settings: InferSettings | None = None,
    *,
    source: Source | None = None,
    io: RunIO | None = None,
) -> InferenceResult:
    """Infer a folder or a prep cache on a Ray cluster; same arguments and result as
    :func:`~zoobench.infer.loop.run_folder`, with ``settings.ray`` the cluster's address (None: ``local``) and
    ``settings.actors`` / ``settings.cpus_per_actor`` overriding the plan.

    The images (or the cache) must be readable at the same path on every node (a shared filesystem).
    Chunks are saved under ``io.partial_dir`` as the local loop saves them, so a killed driver resumes, and a
    local run can resume a Ray run (the key does not depend on where the batches ran).

    Raises:
        ClusterError: Ray missing, cluster unreachable, or a batch lost.
    """
    s = settings or InferSettings()
    # dump=None: the same run key as a local run without --dump, so either can resume the other
    inp, ranges, groups, sink = open_run(engine, data_dir, s.but(dump=None), source, io or RunIO())
    address = s.ray or "local"
    facts: dict[str, Any] = {"address": address, "nodes": {}, "actors": 0, "duplicates_dropped": 0}
    e2e, info = 0.0, dict[str, Any]()
    if groups:
        from zoobench.cluster.connect import connect

        with connect(address) as ray:
            ds, p = _dataset(ray, engine, inp, groups, data_dir, s)
            facts["ray_version"], facts["plan"] = ray.__version__, p.to_dict()
            e2e, info = _execute(ray, ds, sink, facts)
    if sink.missing():
        raise ClusterError(f"{len(sink.missing())} batch(es) never came back from the cluster; rerun to resume")
    res = merge(inp, sink, len(ranges), e2e, info, [], s.strict)
    _check_every_image_once(inp, res)
    facts["images_checked"] = len(inp.names)
    res.cluster = facts
    return res


def _execute(ray: Any, ds: Any, sink: ChunkSink, facts: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Run the dataset into ``sink``; (e2e seconds, the session's facts)."""
    t0, alive = time.time(), _alive_ids(ray)
    try:
        info = _gather(ds, sink, facts)
    except ray.exceptions.RayError as exc:  # finished chunks are saved: a rerun resumes
        raise _failure(exc) from None
    # e2e starts, as in a local run, once a session is loaded and warmed up; Ray's start is reported beside it
    start = min(max(facts.pop("first_ready", t0), t0), time.time())
    facts["startup_s"] = round(start - t0, 3)
    facts["nodes_lost"] = len(alive - _alive_ids(ray))  # died during the run; their batches were redone
    return time.time() - start, info


@dataclass(frozen=True)
class _Shared:
    """What every node's branch of the dataset gets alike."""

    engine: Engine
    settings: InferSettings  # as the actors run them: the plan's threads
    plan: Any
    files: Any  # the engine's files, in Ray's object store
    cache: str | None  # the prep cache's path (None: image files)
    decoder: str


def _dataset(
    ray: Any, engine: Engine, inp: Source, groups: list[tuple[int, int, int]], data_dir: str | Path, s: InferSettings
) -> tuple[Any, Any]:
    """One branch per node (its share of the batches, its decode tasks and actors pinned there), united; and the
    plan.

    The batches are dealt to the actors' slots in turn, so each node gets a share in proportion to its actors
    by construction (Ray Data alone may hand every block to the actor that started first). The pins are soft:
    when a node dies, its actors and tasks are started again on the nodes left.
    """
    from zoobench.cluster.connect import plan
    from zoobench.cluster.workers import engine_files
    from zoobench.runtimes import RUNTIMES, resolve_runtime

    spec = RUNTIMES.get(resolve_runtime(engine.path, s.runtime))
    p = plan(
        ray,
        gpu=bool(spec and spec.device.startswith("cuda")),
        actors=s.actors,
        cpus_per_actor=s.cpus_per_actor,
        threads=s.threads,
    )
    slots = [node for k in range(max(p.placement.values())) for node, n in p.placement.items() if n > k]
    share: dict[str, list[dict[str, Any]]] = {node: [] for node in p.placement}
    for k, (_c, start, end) in enumerate(groups):  # batch k goes to the node of actor slot k mod slots
        paths = json.dumps([str(x) for x in inp.paths[start:end]]) if inp.paths else "[]"
        share[slots[k % len(slots)]].append({"g": k, "s": start, "e": end, "paths": paths})
    # a tuned profile (``s.tuned``) is one machine's: the actors run the plan's threads with the runtime's defaults
    shared = _Shared(
        engine,
        s.but(threads=p.threads, tuned=None, batch_size=s.batch),
        p,
        ray.put(engine_files(engine.path)),
        str(Path(data_dir).resolve()) if inp.cache is not None else None,
        inp.decoder,
    )
    branches = [_branch(ray, node, p.placement[node], rows, shared) for node, rows in share.items() if rows]
    return (branches[0].union(*branches[1:]) if len(branches) > 1 else branches[0]), p


def _branch(ray: Any, node: str, n_act: int, rows: list[dict[str, Any]], shared: _Shared) -> Any:
    """One node's batches: decode tasks, then ``n_act`` inference actors, all pinned (softly) to ``node``."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from zoobench.cluster.workers import InferActor, decode_row

    here, plan = NodeAffinitySchedulingStrategy(node, soft=True), shared.plan
    # Ray Data retries failed tasks and restarts dead actors by default (max_retries / max_restarts = -1); a
    # batch whose actor died is run again, and the driver drops a repeat.
    # up to 16 batches per block (each Ray task costs ~17 ms of CPU on a 2-core node), >= 4 blocks per actor
    per_block = max(1, min(16, len(rows) // (4 * n_act)))
    blocks = -(-len(rows) // per_block)
    decode_kw = {"pp": shared.engine.preprocess.to_dict(), "cache": shared.cache, "decoder": shared.decoder}
    with warnings.catch_warnings():
        # the scheduling strategy goes in as one of Ray's remote args, which Ray Data >= 2.60 says it will drop
        warnings.simplefilter("ignore", DeprecationWarning)
        ds = ray.data.from_items(rows, override_num_blocks=blocks)
        ds = ds.map(
            decode_row,
            fn_kwargs=decode_kw,
            num_cpus=plan.decode_cpus,
            compute=ray.data.TaskPoolStrategy(size=min(plan.decode_tasks, blocks)),
            scheduling_strategy=here,
        )
        ds = ds.map_batches(
            InferActor,
            fn_constructor_kwargs={"files": [shared.files], "engine": shared.engine, "settings": shared.settings},
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=n_act),
            num_cpus=plan.cpus_per_actor,
            num_gpus=plan.gpus_per_actor or None,
            scheduling_strategy=here,
        )
    return ds


def _gather(ds: Any, sink: ChunkSink, facts: dict[str, Any]) -> dict[str, Any]:
    """Take each batch's row as it arrives: top-5 into the chunks, stage seconds, where it ran."""
    info: dict[str, Any] = {}
    nodes: Counter[str] = Counter()
    actor_ids: set[str] = set()
    timer = sink.timer
    for row in ds.iter_rows():
        names, ok = json.loads(row["names"]), json.loads(row["ok"])
        ids = probs = None
        if ok:
            ids, probs = _npy(row["ids"]), _npy(row["probs"])
        skipped = [(str(a), str(b)) for a, b in json.loads(row["skipped"])]
        if not sink.add(GroupResult(int(row["g"]), len(names), [names[k] for k in ok], ids, probs, skipped)):
            facts["duplicates_dropped"] += 1
            continue
        sink.fallbacks.update(json.loads(row["fallbacks"]))
        for stage, col in (
            ("data_read", "read_s"),
            ("preprocess", "pre_s"),
            ("preprocess", "norm_s"),
            ("infer", "infer_s"),
            ("post", "post_s"),
        ):
            timer.add(stage, float(row[col]))
        nodes[str(row["node"])] += len(ok)
        actor_ids.add(str(row["actor"]))
        if row["info"] and not info:
            info = json.loads(row["info"])
        facts["first_ready"] = min(float(row["ready"]), facts.get("first_ready", float("inf")))
    facts["nodes"] = dict(sorted(nodes.items()))
    facts["actors"] = len(actor_ids)
    return info


def _failure(exc: Exception) -> Exception:
    """A task's error, as one line: zoobench's own error type and message where a task raised one."""
    import re

    from zoobench import errors

    text = str(exc)
    own = re.search(r"^zoobench\.errors\.(\w+): (.+)$", text, re.M)
    if own and isinstance(getattr(errors, own.group(1), None), type):
        return getattr(errors, own.group(1))(own.group(2))
    # a traceback's last line names the error (`module.Class: message`); Ray's own wrappers come after it
    raised = [m for m in re.finditer(r"^([A-Za-z_][\w.]*): (.+)$", text, re.M) if not m.group(1).startswith("ray.")]
    why = f"{raised[-1].group(1).rsplit('.', 1)[-1]}: {raised[-1].group(2)}" if raised else type(exc).__name__
    return ClusterError(f"the Ray job failed ({why}); finished chunks are kept, rerun to resume")


def _alive_ids(ray: Any) -> set[str]:
    from zoobench.cluster.connect import alive_nodes

    return {str(n["NodeID"]) for n in alive_nodes(ray)}


def _npy(blob: bytes) -> np.ndarray:
    import io

    return np.load(io.BytesIO(blob), allow_pickle=False)


def _check_every_image_once(inp: Source, res: InferenceResult) -> None:
    """The results name every listed image exactly once (inferred or skipped), none twice, none missing."""
    listed = Counter(inp.names)
    got = Counter(res.names) + Counter(n for n, _r in res.skipped if n in listed)
    if got != listed:
        lost, twice = listed - got, got - listed
        raise ClusterError(
            f"the cluster's results do not match the image list: {sum(lost.values())} missing, "
            f"{sum(twice.values())} extra (first: {next(iter(lost or twice))})"
        )
