"""One place that makes the rich console: stderr, wide enough for tables when output is not a TTY; and one voice:
other tools' own progress bars and warnings (NNCF's, tqdm's, torch's ``No CUDA runtime is found``) are silenced
(:func:`silence_other_tools`, :func:`muted`) unless ``ZOOBENCH_OTHER_TOOLS=show``."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

OTHER_TOOLS_ENV = "ZOOBENCH_OTHER_TOOLS"  # "show": let other tools print their own lines (to debug them)
# loggers of other tools whose warnings are about their own setup, not about zoobench's work
QUIET_LOGGERS = ("torch.utils.cpp_extension", "nncf")


def other_tools_shown() -> bool:
    return os.environ.get(OTHER_TOOLS_ENV, "").lower() == "show"


def silence_other_tools() -> None:
    """At the command line's start, before torch or NNCF is imported: tqdm bars off (also in child processes),
    torch's CUDA_HOME warning and NNCF's log below errors."""
    if other_tools_shown():
        return
    os.environ.setdefault("TQDM_DISABLE", "1")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Another tool's work (NNCF's or ONNX Runtime's quantization) with its prints, progress bars and log lines
    below errors dropped; what it wrote is shown after all when it fails (it may say why)."""
    if other_tools_shown():
        yield
        return
    out, err = io.StringIO(), io.StringIO()
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    except BaseException:
        sys.stderr.write(out.getvalue() + err.getvalue())
        raise
    finally:
        logging.disable(logging.NOTSET)


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
