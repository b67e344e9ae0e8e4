"""``zoobench cache``: the engine store, listed with sizes, pruned by age or size."""

from __future__ import annotations

import re
import time
from typing import Any

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.console import make_console

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SPANS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(text: str) -> int:
    """``500M``, ``2G``, ``1.5g``, ``4096`` (bytes) -> bytes; a usage error otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not m:
        raise click.BadParameter(f"a size such as 500M or 2G, got {text!r}", param_hint="--max-size")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``45m``, ``2w``, ``90s`` -> seconds; a usage error otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not m:
        raise click.BadParameter(f"an age such as 30d, 12h or 45m, got {text!r}", param_hint="--older-than")
    return float(m.group(1)) * _SPANS[m.group(2)]


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


@click.command("cache")
@click.option("--older-than", default=None, help="Prune the entries not used for this long (30d, 12h, 45m).")
@click.option("--max-size", default=None, help="Prune the least recently used entries until the store fits (2G).")
@click.option("--json", "as_json", is_flag=True, help="The entries (and what was pruned) as JSON.")
@friendly
def cache(older_than: str | None, max_size: str | None, as_json: bool) -> None:
    """List the engine store ($ZOOBENCH_CACHE/engines): every export, uint8-input and compiled engine the engine
    build made, with its size and when it was last used; with --older-than or --max-size, prune it.

    \b
    Examples:
      zoobench cache                    # what is stored, largest model folders first
      zoobench cache --older-than 30d   # remove what no run used for a month
      zoobench cache --max-size 2G      # keep the most recently used 2 GB
    """
    from zoobench.engines import store

    removed: list[Any] = []
    if older_than is not None or max_size is not None:
        age = parse_age(older_than) if older_than is not None else None
        size = parse_size(max_size) if max_size is not None else None
        removed = store.prune(age, size)
    left = store.entries()
    now = time.time()
    rows = [
        {
            "model": e.model,
            "step": e.step,
            "files": list(e.files),
            "bytes": e.bytes,
            "path": str(e.path),
            "unused_s": round(now - e.used, 1),
        }
        for e in left
    ]
    total = sum(e.bytes for e in left)
    if as_json:
        gone = [str(e.path) for e in removed]
        emit_json(
            {
                "store": str(store.store_dir()),
                "entries": rows,
                "bytes": total,
                "removed": gone,
                "removed_bytes": sum(e.bytes for e in removed),
            }
        )
        return
    console = make_console()
    for e in removed:
        console.print(f"removed {e.model} {e.step} {', '.join(e.files)} ({_mb(e.bytes)})", markup=False)
    for e in left:
        ago = (now - e.used) / 86400
        console.print(
            f"{e.model:<28} {e.step:<8} {_mb(e.bytes):>12}  used {ago:.1f} d ago  {', '.join(e.files)}", markup=False
        )
    console.print(f"{len(rows)} entries, {_mb(total)} in {store.store_dir()}", markup=False)
