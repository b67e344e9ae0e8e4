"""One place that makes the rich console: stderr, wide enough for tables when output is not a TTY."""

from __future__ import annotations

from typing import Any


def make_console(quiet: bool = False, stderr: bool = True) -> Any:
    from rich.console import Console

    probe = Console(stderr=stderr)
    width = None if probe.is_terminal else 120
    return Console(stderr=stderr, highlight=False, quiet=quiet, width=width)
