"""The command line: ``app`` (the group, one-line errors, entry point), ``options`` (shared options and list
parsing), and one module per verb. Importing this package adds every verb to the group."""

from __future__ import annotations

from zoobench.cli import (
    ascend,
    cache,
    compare,
    demo,
    export,
    infer,
    loadgen,
    models,
    perf,
    prep,
    report,
    run,
    runtimes,
    tune,
)
from zoobench.cli import compile as compile_verb
from zoobench.cli import eval as eval_verb
from zoobench.cli.app import cli, emit_json, friendly, main

for _command in (
    models.models,
    export.export,
    compile_verb.compile_cmd,
    prep.prep,
    infer.infer,
    eval_verb.eval_cmd,
    perf.perf,
    loadgen.loadgen,
    tune.tune,
    run.run,
    report.report,
    compare.compare,
    runtimes.runtimes_cmd,
    demo.demo,
    ascend.ascend,
    cache.cache,
):
    cli.add_command(_command)

__all__ = ["cli", "emit_json", "friendly", "main"]
