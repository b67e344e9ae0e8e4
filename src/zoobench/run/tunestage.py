"""``run --tune``: the ``tune:<runtime>-<precision>`` stage of one model of a run, before its perf stage.

The search and the decision are perf's (:mod:`zoobench.perf.tune`); this module is the stage around them: its
inputs for the ledger (the engine's sha256, the column, the budget, the machine and the versions), and the
profile handed on to the perf column in memory.
"""

from __future__ import annotations

from zoobench.errors import ZoobenchError
from zoobench.perf.profile import TuneProfile
from zoobench.perf.settings import TuneSettings
from zoobench.run.stages import ModelStages


def tune_stage(stages: ModelStages, runtime: str, precision: str) -> TuneProfile | None:
    """``run --tune``: the ``tune:<runtime>-<precision>`` stage of one model of a run (``stages``: the run's
    per-model stages, with its ``book`` (the stage ledger), ``column(runtime, precision)`` (the column's engine and
    its sha256: the file its score stage scored and its perf stage times; int8 calibrated on the run's calibration
    images), ``cfg``, ``mdir``, ``log``). Skipped when the engine, machine, versions and settings did not change.
    Returns the profile for the perf column, in memory (read back from beside the engine when the stage was up to
    date); None when this column cannot be tuned here (recorded as unavailable, with why)."""
    from zoobench.env import environment
    from zoobench.perf.profile import machine_facts, profile_path, read_profile
    from zoobench.perf.tune import tune_engine

    book, cfg, name = stages.book, stages.cfg, f"tune:{runtime}-{precision}"
    if not cfg.tune:  # run without --tune: no tune stage
        return None
    budget_s = float(cfg.tune)
    try:
        engine, sha = stages.column(runtime, precision)
    except (ZoobenchError, ImportError) as exc:  # runtime not installed, precision without kernels here, ...
        book.mark(name, "unavailable", str(exc), stages.log)
        return None
    out = profile_path(engine.path)
    inputs = {
        "engine_sha256": sha,
        "runtime": runtime,
        "precision": precision,
        "batch_sizes": list(cfg.perf.batch_sizes),
        "budget_s": cfg.tune,
        "threads": cfg.perf.threads,
        "machine": machine_facts(),
        "versions": environment()["versions"],
    }
    made: dict[str, TuneProfile] = {}

    def run() -> tuple[list[str], str]:
        column = TuneSettings(runtime, precision, cfg.perf.batch_sizes, budget_s, threads=cfg.perf.threads)
        made["profile"] = tune_engine(engine, column, workdir=stages.mdir / "engine", quiet=True)
        batches = made["profile"]["columns"][f"{runtime} {precision}"]["batches"]
        ratios = ", ".join(f"bs{bs} {b['ratio']:.2f}×" for bs, b in batches.items() if "ratio" in b)
        mdir = stages.mdir  # a model given as a file is tuned beside that file, outside the run directory
        return [str(out.relative_to(mdir) if out.is_relative_to(mdir) else out)], f"tuned / untuned {ratios}"

    try:
        book.run(name, inputs, run, stages.log)
    except ZoobenchError as exc:  # runtime not installed, precision without kernels here, ...
        book.mark(name, "unavailable", str(exc), stages.log)
        return None
    return made.get("profile") or read_profile(out)
