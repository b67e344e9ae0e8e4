"""One place that makes the rich console: stderr, wide enough for tables when output is not a TTY."""

from __future__ import annotations

from typing import Any


def make_console(quiet: bool = False, stderr: bool = True) -> Any:
    from rich.console import Console

    probe = Console(stderr=stderr)
    width = None if probe.is_terminal else 120
    return Console(stderr=stderr, highlight=False, quiet=quiet, width=width)


def progress_bar(label: str, console: Any, quiet: bool) -> Any:
    """A rich progress bar with rate and ETA; it refreshes from its own thread, so advancing it is cheap."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet,
        refresh_per_second=4,
    )


class Advance:
    """Advance a progress task and keep a rate field (images/s over the run so far)."""

    def __init__(self, bar: Any, task: Any) -> None:
        import time

        self._bar, self._task, self._t0, self._n, self._time = bar, task, time.perf_counter(), 0, time.perf_counter

    def __call__(self, n: int) -> None:
        self._n += n
        dt = self._time() - self._t0
        self._bar.update(self._task, advance=n, rate=f"{self._n / dt:8.1f} img/s" if dt > 0 else "")
