"""Read a checkpoint in the layouts training scripts write, and load it strictly into an architecture.

Pickles are code: ``torch.load(weights_only=True)`` always. Every failure is a :class:`WeightsError` of one
line that says what the file holds and what would fit.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from zoobench.errors import WeightsError

if TYPE_CHECKING:
    import torch

# Keys under which training scripts nest the model's state dict (torchvision/timm/DeiT/MMCV/Lightning...).
WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module", "net")
# Prefixes that wrappers add to every key: DDP / DataParallel, torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_SAVE_HINT = "save the weights with torch.save(model.state_dict(), PATH) and pass that file"


def load_state_dict_file(path: str, unwrap: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """``path`` as a state dict of tensors, in the layouts training scripts write.

    Accepted: a plain state dict; ``{"state_dict": ...}`` / ``{"model": ...}`` (and the other
    :data:`WRAPPER_KEYS`) wrappers, nested, beside non-tensor extras such as ``epoch``, ``optimizer`` or an
    ``argparse.Namespace`` of the training arguments; keys prefixed ``module.`` (DDP / DataParallel) or
    ``_orig_mod.`` (torch.compile), which are stripped; ``.safetensors`` files. ``unwrap`` names keys that
    must be descended into first (a loader that knows its file's layout).
    """
    import torch

    obj = _read(path)
    for key in unwrap:
        if not isinstance(obj, dict) or key not in obj:
            have = ", ".join(map(str, list(obj)[:5])) if isinstance(obj, dict) else type(obj).__name__
            raise WeightsError(f"{path}: expected a dict with key {key!r}, found {have}")
        obj = obj[key]
    for _ in range(4):  # checkpoint -> {"model": {"state_dict": ...}} at most a few levels deep
        if _is_tensor_dict(obj, torch):
            break
        inner = next((k for k in WRAPPER_KEYS if isinstance(obj, dict) and _holds_tensors(obj.get(k), torch)), None)
        if inner is None:
            break
        obj = obj[inner]
    if not _is_tensor_dict(obj, torch):
        have = ", ".join(map(str, list(obj)[:6])) if isinstance(obj, dict) else type(obj).__name__
        raise WeightsError(
            f"{path}: not a state dict of tensors (name -> tensor), nor one wrapped in "
            f"{'/'.join(WRAPPER_KEYS[:2])} (found: {have}); {_SAVE_HINT}"
        )
    for _ in range(3):  # "module._orig_mod." from DDP around a compiled model
        prefix = next((p for p in WRAPPER_PREFIXES if all(k.startswith(p) for k in obj)), None)
        if prefix is None:
            break
        obj = strip_prefix(obj, prefix)
    tensors: dict[str, torch.Tensor] = obj  # checked above: every value is a tensor
    return tensors  # keep the OrderedDict: its _metadata carries module versions (MNASNet needs them)


def _read(path: str) -> Any:
    """The file's object: safetensors by its header, else a weights-only ``torch.load``."""
    import torch

    try:
        with open(path, "rb") as fh:
            head = fh.read(9)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not head:
        raise WeightsError(f"{path}: the file is empty")
    if len(head) == 9 and head[8:9] == b"{" and not head.startswith(b"PK"):  # 8-byte header size, then JSON
        return _read_safetensors(path)
    import argparse
    import warnings

    try:  # argparse.Namespace: the training arguments timm and many scripts save; attributes, no code
        with torch.serialization.safe_globals([argparse.Namespace]), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol notes: the error below says it all
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a non-weights or unsafe pickle
        raise WeightsError(_load_failure(path, exc)) from exc


def _read_safetensors(path: str) -> Any:
    try:
        from safetensors.torch import load_file
    except ImportError as exc:
        raise WeightsError(f"{path}: a safetensors file needs `pip install safetensors`") from exc
    try:
        return load_file(path, device="cpu")
    except Exception as exc:  # safetensors raises its own types for a truncated or foreign file
        raise WeightsError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0]})") from exc


def _load_failure(path: str, exc: Exception) -> str:
    """One line for a file ``torch.load(weights_only=True)`` refuses."""
    text = str(exc)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return (
            f"{path}: holds a pickled Python object ({found.group(1)}), not only weights; zoobench loads "
            f"weights-only files and never runs pickled code: {_SAVE_HINT}"
        )
    return (
        f"{path}: cannot be read as a weights-only torch file (not written by torch.save, truncated, "
        f"or it holds pickled code); {_SAVE_HINT}"
    )


def _is_tensor_dict(obj: Any, torch: Any) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def _holds_tensors(obj: Any, torch: Any, depth: int = 3) -> bool:
    """A tensor dict, or a dict with one under a wrapper key (so ``{"model": {"name": ...}}`` is skipped)."""
    if _is_tensor_dict(obj, torch):
        return True
    return (
        depth > 0 and isinstance(obj, dict) and any(_holds_tensors(obj.get(k), torch, depth - 1) for k in WRAPPER_KEYS)
    )


def strip_prefix(state_dict: Any, prefix: str) -> Any:
    """``state_dict`` with ``prefix`` removed from every key; module versions (``_metadata``) re-keyed too."""
    stripped = type(state_dict)((k.removeprefix(prefix), v) for k, v in state_dict.items())
    meta = getattr(state_dict, "_metadata", None)
    if meta is not None:  # MNASNet needs its module versions, re-keyed like the tensors
        top = prefix.rstrip(".")
        stripped._metadata = type(meta)(("" if k == top else k.removeprefix(prefix), v) for k, v in meta.items())
    return stripped


def _common_prefix(keys: list[str]) -> str | None:
    """The first dotted component every key shares (``model.`` of a Lightning module), else None."""
    first = {k.split(".", 1)[0] for k in keys}
    return f"{first.pop()}." if len(first) == 1 and all("." in k for k in keys) else None


def fit_keys(own: dict[str, Any], state_dict: Any) -> Any:
    """``state_dict``, or it without one shared key prefix when only that makes the keys those of ``own``
    (a Lightning module's ``model.``, a wrapper's ``backbone.``)."""
    if set(state_dict) == set(own):
        return state_dict
    prefix = _common_prefix(list(state_dict))
    if prefix and {k.removeprefix(prefix) for k in state_dict} == set(own):
        return strip_prefix(state_dict, prefix)
    return state_dict


def strict_load(module: Any, state_dict: dict[str, Any], source: str) -> None:
    """``load_state_dict(strict=True)`` with an error of one line that lists what does not fit."""
    own = module.state_dict()
    state_dict = fit_keys(own, state_dict)
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
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
        raise WeightsError(f"{source}: does not load into the architecture: {first}") from exc
