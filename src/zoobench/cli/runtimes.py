"""``zoobench runtimes``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.console import make_console

if TYPE_CHECKING:
    from zoobench.runtimes.base import RuntimeStatus


@click.command(name="runtimes")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly
def runtimes_cmd(as_json: bool) -> None:
    """List the runtimes: installed or not, version, devices and precisions here, and how to install.

    \b
    Examples:
      zoobench runtimes
      zoobench runtimes --json | jq '.[] | select(.available) | .runtime'
    """
    from zoobench.runtimes import runtime_status

    rows = runtime_status()
    if as_json:
        emit_json(rows)
        return
    from rich.table import Table

    t = Table(title="zoobench runtimes", title_justify="left")
    for col in ("runtime", "available", "version", "devices", "precisions", "install / reason"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["runtime"],
            "[green]yes[/]" if r["available"] else "[red]no[/]",
            str(r["version"] or "-").split("-")[0],
            ", ".join(r["devices"]) or "-",
            ", ".join(r["precisions"]) or "-",
            _install_or_reason(r),
        )
    make_console(stderr=False).print(t)


def _install_or_reason(r: RuntimeStatus) -> str:
    """Why a runtime is not available, with its install command once (the reason may already give it)."""
    reason, install = str(r.get("reason", "")), r.get("install", "")
    if r.get("available") or install in reason:
        return reason
    return f"{reason}  (install: {install})" if reason else f"install: {install}"
