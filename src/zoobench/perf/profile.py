"""``STEM.tuned.json``: what ``zoobench tune`` found for an engine, kept beside it, and the check that decides
whether it applies here.

One file per engine; one entry per ``runtime precision`` column, each with the winning settings per batch size
(img/s before and after, with spreads) and the runtime's version. The file records the machine it was made on
(CPU model, ISA flags, cores); a profile made on another machine or with another runtime version is refused
with one line saying why, and the defaults run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict, cast

from zoobench.env import environment
from zoobench.errors import DataError
from zoobench.io import file_digest, json_digest, write_json
from zoobench.perf.streams import open_tuned, settings_text
from zoobench.runtimes.base import LoadOptions

FORMAT = "zoobench.tuned/1"


def profile_path(engine_path: str | Path) -> Path:
    """``model.onnx`` -> ``model.tuned.json`` (``model.xml`` / ``model.plan`` alike), beside the engine."""
    p = Path(engine_path)
    return p.with_name(f"{p.stem}.tuned.json")


class MachineFacts(TypedDict):
    """What a tuned setting depends on besides the runtime."""

    cpu: str
    cpu_features: list[str]
    cores: int | None


def machine_facts() -> MachineFacts:
    """What a tuned setting depends on besides the runtime: CPU model, the ISA flags that pick kernels, cores."""
    env = environment()
    return {"cpu": env["cpu"], "cpu_features": list(env["cpu_features"]), "cores": env["cpu_affinity"]}


class TuneProfile(TypedDict, total=False):
    """``<engine>.tuned.json``: the engine and machine it was made for, and one entry per tuned column."""

    format: str
    engine: str  # the engine's file name
    engine_sha256: str
    machine: MachineFacts
    columns: dict[str, dict[str, Any]]  # "runtime precision" -> the entry tune wrote (batches, settings, verdicts)


def column_key(runtime: str, precision: str) -> str:
    return f"{runtime} {precision}"


def read_profile(path: str | Path) -> TuneProfile | None:
    """The profile file, or None when there is none; a file that is not a profile is one error line."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        data: Any = json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{p}: not a tuned profile (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f"{p}: not a tuned profile (no format {FORMAT!r})")
    return cast("TuneProfile", data)  # checked by its format; its entries are read with .get


def save_column(engine_path: str, entry: Mapping[str, Any]) -> TuneProfile:
    """Add (or replace) one column's entry in the engine's profile; returns the whole profile as written."""
    path = profile_path(engine_path)
    profile: TuneProfile
    try:
        profile = read_profile(path) or TuneProfile()
    except DataError:
        profile = TuneProfile()  # a broken file is replaced by a good one
    sha, here = file_digest(engine_path), machine_facts()
    if profile.get("engine_sha256") != sha or profile.get("machine") != here:
        profile = TuneProfile()  # made for another engine or machine: those entries could not apply next to this one
    columns = {**(profile.get("columns") or {}), column_key(entry["runtime"], entry["precision"]): dict(entry)}
    profile = {
        **profile,
        "format": FORMAT,
        "engine": str(Path(engine_path).name),
        "engine_sha256": sha,
        "machine": here,
        "columns": columns,
    }
    write_json(path, profile)
    return profile


def refusal(profile: TuneProfile, engine_sha: str | None) -> str | None:
    """Why ``profile`` does not apply here (another engine, CPU, flags or core count), or None."""
    made: dict[str, Any] = dict(profile.get("machine") or {})
    here = machine_facts()
    if engine_sha and profile.get("engine_sha256") not in (None, engine_sha):
        return "the engine changed since it was tuned (sha256 differs)"
    if made.get("cpu") != here["cpu"]:
        return f"made on {made.get('cpu')!r}, this CPU is {here['cpu']!r}"
    if sorted(made.get("cpu_features") or []) != sorted(here["cpu_features"]):
        theirs, ours = " ".join(made.get("cpu_features") or []) or "none", " ".join(here["cpu_features"]) or "none"
        return f"made on a CPU with flags {theirs}, this one has {ours}"
    if made.get("cores") != here["cores"]:
        return f"made with {made.get('cores')} cores, this machine gives {here['cores']}"
    return None


def column_refusal(entry: dict[str, Any], runtime_version: str | None) -> str | None:
    """Why one column's entry does not apply: it was tuned with another version of its runtime."""
    if runtime_version and entry.get("runtime_version") != runtime_version:
        return f"made with {entry['runtime']} {entry.get('runtime_version')}, this is {runtime_version}"
    return None


def lookup(
    profile: TuneProfile | None,
    runtime: str,
    precision: str,
    *,
    engine_sha: str | None,
    runtime_version: str | None,
) -> tuple[dict[int, LoadOptions] | None, str]:
    """The tuned settings per batch size for this column, with the line to print; None (and why) when the
    profile has no such column or is refused here."""
    if profile is None:
        return None, ""
    entry = (profile.get("columns") or {}).get(column_key(runtime, precision))
    if entry is None:
        return None, ""
    why = refusal(profile, engine_sha) or column_refusal(entry, runtime_version)
    if why:
        return None, f"{runtime} {precision}: tuned profile ignored — {why}; running the defaults"
    settings = {int(bs): dict(b.get("settings") or {}) for bs, b in (entry.get("batches") or {}).items()}
    return settings, ""


def add_tuned_columns(
    engine_path: str,
    columns: list[dict[str, Any]],
    sessions: dict[str, Any],
    batch_sizes: list[int],
    *,
    profile: TuneProfile | None = None,
    threads: int | None = None,
    say: Any = print,
) -> None:
    """Beside each column the profile tunes, a ``<column> tuned`` column (inserted after it): per batch size a
    session with the tuned settings (batches the profile does not hold, or where it kept the default, share the
    untuned session). ``profile``: one handed on in memory (``run --tune``), else the file beside the engine.
    Prints one line per column: applied, refused (and why), or the batch sizes that run the defaults."""
    path = profile_path(engine_path)
    try:
        profile = profile if profile is not None else read_profile(path)
    except DataError as exc:
        say(f"tuned profile ignored — {exc}")
        return
    if profile is None:
        return
    sha = file_digest(engine_path) if Path(engine_path).is_file() else None
    for col in [c for c in columns if c.get("available") and not c.get("tuned")]:
        version = (col.get("info") or {}).get("version")
        by_bs, why = lookup(profile, col["runtime"], col["precision"], engine_sha=sha, runtime_version=version)
        if why:
            say(why)
        if by_bs is None:
            continue
        tuned = _tuned_column(col, by_bs, sessions, batch_sizes, threads)
        columns.insert(columns.index(col) + 1, tuned)
        if not tuned["available"]:
            say(f"{tuned['name']}: unavailable — {tuned['reason']}")
            continue
        shown = "; ".join(f"batch {bs}: {settings_text(by_bs[bs])}" for bs in batch_sizes if bs in by_bs)
        say(f"{col['name']}: tuned profile {path.name} applied ({shown})")
        missing = [bs for bs in batch_sizes if bs not in by_bs]
        if missing:
            held = ", ".join(map(str, sorted(by_bs)))
            say(f"{col['name']}: batch {', '.join(map(str, missing))} not in the profile (tuned: {held}); defaults")


def _tuned_column(
    col: dict[str, Any],
    by_bs: dict[int, dict[str, Any]],
    sessions: dict[str, Any],
    batch_sizes: list[int],
    threads: int | None,
) -> dict[str, Any]:
    """The tuned twin of ``col``; its sessions go into ``sessions`` as batch size -> session."""
    name = f"{col['name']} tuned"
    tuned: dict[str, Any] = {k: col[k] for k in ("runtime", "precision", "engine", "info")}
    tuned.update(name=name, tuned=True, untuned=col["name"], available=False, results=[])
    tuned["settings"] = {str(bs): by_bs.get(bs, {}) for bs in batch_sizes}
    untuned = sessions[col["name"]]
    opened: dict[str, Any] = {}
    per_batch: dict[int, Any] = {}
    try:
        for bs in batch_sizes:
            settings = by_bs.get(bs) or {}
            key = json.dumps(settings, sort_keys=True)
            if settings and key not in opened:
                opened[key] = open_tuned(
                    col["engine"], col["runtime"], col["precision"], settings, base=col.get("options"), threads=threads
                )
            per_batch[bs] = opened[key] if settings else untuned
    except Exception as exc:  # a setting this machine no longer takes: the column says why, the sweep goes on
        tuned["reason"] = f"{type(exc).__name__}: {exc}"
        return tuned
    sessions[name] = per_batch
    tuned["available"] = True
    return tuned


def profile_digest(engine_path: str, profile: TuneProfile | None) -> str | None:
    """What a perf column's tuned column depends on: the profile handed on, else the file beside the engine."""

    if profile is not None:
        return json_digest(profile)
    path = profile_path(engine_path)
    return file_digest(path) if path.is_file() else None


def tuned_for_infer(engine_path: str, runtime: str, precision: str | None, batch_size: int) -> tuple[Any, str]:
    """The session settings the profile beside ``engine_path`` holds for this column and batch size, for ``infer``
    (one session: a profile's ``streams`` stay perf's), with the line to print; (None, why) when none applies."""
    from zoobench.runtimes import runtime_module

    try:
        profile = read_profile(profile_path(engine_path))
    except DataError as exc:
        return None, f"tuned profile ignored — {exc}"
    if profile is None:
        return None, ""
    prec = precision or "fp32"
    version = runtime_module(runtime).describe().get("version")  # a profile of another version is refused
    by_bs, why = lookup(profile, runtime, prec, engine_sha=file_digest(engine_path), runtime_version=version)
    if by_bs is None:
        return None, why
    if batch_size not in by_bs:
        held = ", ".join(map(str, sorted(by_bs)))
        return None, f"{runtime} {prec}: batch {batch_size} not in the tuned profile (tuned: {held}); defaults"
    settings = dict(by_bs[batch_size])
    streams = settings.pop("streams", 1)
    extra = f" ({streams} streams are perf's: infer runs one session)" if streams and int(streams) > 1 else ""
    return settings, f"{runtime} {prec}: tuned profile applied at batch {batch_size}: {settings_text(settings)}{extra}"
