"""Exported engines kept across output directories: ``zoobench infer MODEL -o new_dir`` reuses an export made for
another directory instead of exporting again (8-30 s). An entry is keyed by what made it: the model, its weights
(files and sha256, or random init with the torch version that drew it), the opset, the exporter, the
preprocessing, the input type and zoobench's version; a changed input is another key, so a stale engine is never
reused. Entries are copied into the output directory (the caller's file is its own) and written whole (temp file,
then rename), so a killed export leaves no half entry.

Where: ``$ZOOBENCH_CACHE/engines`` when ``ZOOBENCH_CACHE`` is set, else ``~/.cache/zoobench/engines``
(``$XDG_CACHE_HOME`` is honoured). Delete the folder to empty it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from zoobench.io import json_digest


def engine_cache_dir() -> Path:
    """``$ZOOBENCH_CACHE/engines``, else ``$XDG_CACHE_HOME/zoobench/engines`` (``~/.cache/...``)."""
    if os.environ.get("ZOOBENCH_CACHE"):
        return Path(os.environ["ZOOBENCH_CACHE"]).expanduser() / "engines"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "zoobench" / "engines"


def engine_key(model: str, weights: dict[str, Any], preprocess_hash: str, **made: Any) -> str:
    """The sha256 of what made an export: model, weights (files with sha256, provenance; random init with the
    torch version), preprocessing and ``made`` (opset, exporter, input dtype), and zoobench's version."""
    from zoobench import __version__

    blob: dict[str, Any] = {"model": model, "weights": weights, "preprocess": preprocess_hash, **made}
    blob["zoobench"] = __version__
    if weights.get("random"):
        import torch

        blob["torch"] = torch.__version__  # random init is seeded, but drawn by this torch
    return json_digest(blob)


def cached_path(name: str, key: str) -> Path:
    return engine_cache_dir() / f"{name.replace(':', '_').replace('/', '_')}-{key[:16]}.onnx"


def fetch(key_path: Path, out: Path) -> bool:
    """Copy the cached engine ``key_path`` to ``out`` (whole, or not at all); False when there is none."""
    if not key_path.is_file():
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        shutil.copyfile(key_path, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def store(path: Path, key_path: Path) -> str | None:
    """Keep a copy of the export ``path`` as ``key_path``; the reason when the cache cannot be written (the
    export itself is fine: it is only not cached)."""
    tmp = key_path.with_name(f".{key_path.name}.{os.getpid()}.tmp")
    try:
        key_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, tmp)
        os.replace(tmp, key_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        return f"the engine cache {key_path.parent} cannot be written ({exc.strerror or exc}); not cached"
    return None
