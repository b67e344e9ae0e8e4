"""``run --scenarios S1,S2``: a stage ``loadgen:<runtime>-<precision>`` per column after its perf stage.

It runs :func:`zoobench.scenarios.stage.do_loadgen` on that column alone, over the model's prep cache, with the
engines the run already built (``<model>/engine/``) and the column's ``perf/<column>.json`` for LoadGen's hints;
its files go to ``<model>/loadgen/<column>/`` (``loadgen.json`` there, LoadGen's logs under it). Accuracy mode runs
when the run has labels. The stage ledger skips it when its inputs (the engine, the perf figures, the cache, the
labels, the scenarios and the LoadGen settings) are unchanged.
"""

from __future__ import annotations

from typing import Any

from zoobench.errors import ZoobenchError, is_no_space
from zoobench.io import file_digest
from zoobench.run.stages import ModelStages


def loadgen_column(stages: ModelStages, rt: str, prec: str) -> None:
    """The column's loadgen stage (``stages``: the run's per-model stages: ``cfg``, ``mdir``, ``book``,
    ``engine``, ``engine_sha``, ``log``); a column without a perf result or a cache is marked not-run, with why."""
    from zoobench.data.cache import is_cache
    from zoobench.run.calibration import calibration_folder
    from zoobench.run.ledger import listing_hash

    cfg, mdir, book, log = stages.cfg, stages.mdir, stages.book, stages.log
    col = f"{rt}-{prec}"
    name, perf_json, cache = f"loadgen:{col}", mdir / "perf" / f"{col}.json", mdir / "cache"
    if not is_cache(cache):
        book.mark(name, "not-run", "no prep cache (give --data): LoadGen's QSL is the cache", log)
        return
    if not perf_json.is_file():
        book.mark(name, "not-run", f"no perf result for {col}", log)
        return
    source = stages.engine
    if cfg.loadgen is None:  # run without --scenarios: no loadgen stage
        return
    if source is None:
        book.mark(name, "not-run", "no engine: export did not run", log)
        return
    calib = calibration_folder(mdir, cfg.data) if prec == "int8" else None
    out = mdir / "loadgen" / col
    s = cfg.loadgen.but(
        runtimes=[rt],
        precisions=[prec],
        mode="both" if cfg.infer.labels else "performance",
        labels=cfg.infer.labels,
        outdir=str(out),
        workdir=str(mdir / "engine"),
        perf_json=str(perf_json),
        calibration=calib,
        max_drop=cfg.max_drop,
        quiet=True,
    )
    inputs = {
        "engine_sha256": stages.engine_sha,
        "perf": file_digest(perf_json),
        "cache": file_digest(cache / "meta.json") if (cache / "meta.json").is_file() else None,
        "labels": file_digest(cfg.infer.labels) if cfg.infer.labels else None,
        "calibration": listing_hash(calib) if calib else None,
        "settings": _settings_inputs(s),
    }

    def run() -> tuple[list[str], str]:
        from zoobench.scenarios.stage import do_loadgen

        doc = do_loadgen(source.path, str(cache), s)
        return [f"loadgen/{col}/loadgen.json"], _note(doc)

    try:
        book.run(name, inputs, run, log)
    except ZoobenchError as exc:
        if is_no_space(exc):
            raise
        book.mark(name, "unavailable", str(exc), log)


def _settings_inputs(s: Any) -> dict[str, Any]:
    keys = (
        "scenarios",
        "mode",
        "length",
        "batch_size",
        "latency_ms",
        "target_qps",
        "find_qps",
        "server_policy",
        "max_batch",
        "batch_wait_ms",
        "user_conf",
        "max_drop",
    )
    return {k: list(v) if isinstance(v, tuple) else v for k in keys for v in [getattr(s, k)]}


def _note(doc: dict[str, Any]) -> str:
    """One line: each performance row's figure and verdict."""
    parts = []
    for r in doc.get("rows") or []:
        if r.get("mode") == "performance" and r.get("value") is not None:
            parts.append(f"{r['scenario']} {r['value']:.4g} {r.get('unit', '')} {r.get('result')}")
    return "; ".join(parts)
