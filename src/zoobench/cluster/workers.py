"""What runs on the cluster's nodes: decode tasks (files or cache rows -> uint8 crops) and the inference actor.

Rows cross the object store as plain columns: the uint8 crops as bytes (never float32), top-5 ids and
probabilities as bytes, names and skip reasons as JSON text. One row is one batch of the local pipeline,
so every runtime call sees exactly the images it sees locally, and the logits are bit-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

if TYPE_CHECKING:
    from zoobench.artifact import Engine
    from zoobench.infer.settings import InferSettings

_CACHES: dict[str, Any] = {}


class DecodedRow(TypedDict):
    """One decoded batch as a row of the Ray dataset (lists as JSON text, pixels as bytes)."""

    g: int
    names: str
    ok: str
    pixels: bytes
    skipped: str
    read_s: float
    pre_s: float
    fallbacks: str


def decode_row(row: dict[str, Any], pp: dict[str, Any], cache: str | None, decoder: str = "reference") -> DecodedRow:
    """One batch: read and decode its files (or read its cache rows) into uint8 crops; the files with the same
    implementation as the local decode workers (``decoder``: reference, fast or nvjpeg)."""
    from zoobench.data.decode import decode_group

    paths = json.loads(row["paths"])
    _check_here(cache if cache is not None else (str(Path(paths[0]).parent) if paths else None))
    fallbacks: dict[str, int] = {}
    if cache is None:
        d = decode_group((int(row["g"]), paths, pp, decoder))
        names, ok, pixels, skipped, read_s, pre_s = d.names, d.ok, d.pixels, d.skipped, d.read_s, d.preprocess_s
        fallbacks = d.fallbacks
    else:
        names, ok, pixels, skipped, read_s = _cache_rows(cache, int(row["s"]), int(row["e"]))
        pre_s = 0.0
    return {
        "g": int(row["g"]),
        "names": json.dumps(names),
        "ok": json.dumps(ok),
        "pixels": np.ascontiguousarray(pixels, np.uint8).tobytes(),
        "skipped": json.dumps([list(s) for s in skipped]),
        "read_s": read_s,
        "pre_s": pre_s,
        "fallbacks": json.dumps(fallbacks),
    }


def _check_here(folder: str | None) -> None:
    """The data must be at the same path on every node: a node that lacks it fails the run instead of skipping
    every image it was given as unreadable."""
    if folder is not None and not Path(folder).is_dir():
        import socket

        from zoobench.errors import DataError

        raise DataError(
            f"{folder} is not there on node {socket.gethostname()}: with --ray the images (or the cache) must be "
            "at the same path on every node"
        )


def _cache_rows(cache: str, s: int, e: int) -> tuple[list[str], list[int], np.ndarray, list[Any], float]:
    from zoobench.data.cache import open_cache

    t0 = time.perf_counter()
    if cache not in _CACHES:
        _CACHES.clear()
        _CACHES[cache] = open_cache(cache)
    c = _CACHES[cache]
    bad = {n: r for n, r in c.skipped}
    names = list(c.names[s:e])
    ok = [i for i, n in enumerate(names) if n not in bad]
    px = np.array(c.pixels[s:e])
    if len(ok) != len(names):
        px = px[ok]
    return names, ok, px, [(n, bad[n]) for n in names if n in bad], time.perf_counter() - t0


def engine_files(path: str) -> dict[str, bytes]:
    """The engine file and what loads with it (external data, the OpenVINO .bin, the metadata sidecar)."""
    p = Path(path)
    names = {p.name, f"{p.stem}.zoobench.json"}
    if p.suffix == ".xml":
        names.add(f"{p.stem}.bin")
    names.update(f.name for f in p.parent.glob(f"{p.name}.*"))  # e.g. model.onnx.data
    return {n: (p.parent / n).read_bytes() for n in sorted(names) if (p.parent / n).is_file()}


def materialize(files: dict[str, bytes], main: str) -> str:
    """Write shipped engine files into this node's temp dir once (keyed by content); the main file's path."""
    h = hashlib.sha256()
    for n in sorted(files):
        h.update(n.encode() + b"\0" + hashlib.sha256(files[n]).digest())
    d = Path(tempfile.gettempdir()) / "zoobench-engines" / h.hexdigest()[:20]
    if not (d / main).is_file():
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=d.parent if d.parent.is_dir() else _mk(d.parent)))
        for n, b in files.items():
            (tmp / n).write_bytes(b)
        try:
            os.rename(tmp, d)
        except OSError:  # another actor on this node got there first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return str(d / main)


def _mk(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    return d


class InferActor:
    """One batch runner (:class:`~zoobench.infer.batch.BatchRunner`) per actor; takes decoded batches, returns
    top-5 per image and where it ran."""

    def __init__(self, files: list[Any], engine: Engine, settings: InferSettings) -> None:
        import ray

        from zoobench.infer.batch import BatchRunner

        shipped = ray.get(files[0])  # the engine bytes, put once by the driver
        here = materialize(shipped, Path(engine.path).name)
        # decode tasks share the node's cores (as decode workers do in the local loop)
        self.runner = BatchRunner.load(engine, settings, beside_decoders=True, path=here)
        ctx = ray.get_runtime_context()
        self.node, self.actor = ctx.get_node_id(), ctx.get_actor_id()
        self.info: str | None = json.dumps(self.runner.info())
        self.ready = time.time()  # session loaded and warmed up: where a local run's e2e clock starts

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {k: [] for k in ("g", "names", "ok", "skipped", "ids", "probs", "node", "actor")}
        out.update({k: [] for k in ("read_s", "pre_s", "fallbacks", "norm_s", "infer_s", "post_s", "info", "ready")})
        for i in range(len(batch["g"])):
            self._one({k: v[i] for k, v in batch.items()}, out)
        return out

    def _one(self, row: dict[str, Any], out: dict[str, list[Any]]) -> None:
        n_ok = len(json.loads(row["ok"]))
        ids = probs = b""
        norm_s = infer_s = post_s = 0.0
        if n_ok:
            px = np.frombuffer(row["pixels"], np.uint8).reshape(n_ok, *self.runner.input_size)
            res = self.runner.run(px)
            ids, probs = _npy(res.ids), _npy(res.probs)
            norm_s, infer_s, post_s = res.normalize_s, res.infer_s, res.post_s
        for k in ("g", "names", "ok", "skipped", "read_s", "pre_s", "fallbacks"):
            out[k].append(row[k])
        out["ids"].append(ids)
        out["probs"].append(probs)
        out["node"].append(self.node)
        out["actor"].append(self.actor)
        out["norm_s"].append(norm_s)
        out["infer_s"].append(infer_s)
        out["post_s"].append(post_s)
        out["info"].append(self.info or "")
        out["ready"].append(self.ready)
        self.info = None  # the session's facts travel once per actor


def _npy(a: np.ndarray) -> bytes:
    """An array as .npy bytes: dtype and shape travel with it."""
    import io

    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()
