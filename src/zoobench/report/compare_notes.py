"""What a comparison says beside its numbers: the settings that differ between runs (CPU, cores, threads, runtime
versions) and the precisions its columns ran at; :mod:`zoobench.compare` writes them above its tables."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any


def runtime_packages() -> tuple[str, ...]:
    """The packages of the registered runtimes (a runtime registered later is compared too)."""
    from zoobench.runtimes import RUNTIMES

    return tuple(dict.fromkeys(s.package for s in RUNTIMES.values()))


def version_of(run: dict[str, Any], pkg: str) -> Any:
    return run["versions"].get(pkg)


def setting_warnings(runs: list[dict[str, Any]]) -> list[str]:
    """One line per setting that differs between the runs (CPU, cores, threads, runtime versions): a ratio
    across them measures those differences too."""
    out = []
    checks: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("CPU", lambda r: r.get("cpu")),
        ("cores", lambda r: r.get("cores")),
        ("threads", lambda r: ", ".join(map(str, r.get("threads") or [])) or None),
    ]
    checks += [(pkg, functools.partial(version_of, pkg=pkg)) for pkg in runtime_packages()]
    for what, get in checks:
        values = [get(r) for r in runs]
        if len({json.dumps(v) for v in values}) > 1:
            out.append(
                f"{what} differs: "
                + ", ".join(f"{r['label']} {v if v not in (None, []) else '-'}" for r, v in zip(runs, values))
            )
    return out


def column_precision(perf: dict[str, Any]) -> str | None:
    """What precision a column ran at: a quoted column's (the guides' om and T4 figures are fp16), a measured
    one's; None for imported logs (the log does not say)."""
    if perf.get("quoted"):
        return perf["quoted"].get("precision")
    if perf.get("imported"):
        return None
    return (perf.get("runtime") or {}).get("precision")


def precision_note(labels: list[str], precisions: list[str | None]) -> str:
    """A sentence when the table's columns ran at different precisions; "" when they agree (or are unknown)."""
    known = [(lab, p) for lab, p in zip(labels, precisions) if p]
    if len({p.split()[0] for _, p in known}) < 2:
        return ""
    said = ", ".join(f"{lab} {p}" for lab, p in known)
    return f"Precision differs: {said}. The ratios compare precisions as well as hardware."
