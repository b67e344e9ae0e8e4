"""``zoobench run``: every stage for every model into one run directory, skipping what did not change.

Run directory layout::

    RUNDIR/
      run.json                  the command, its settings and every model's status (rewritten per model)
      report.md, report.html    the run's report: a summary table, then each model's section
      <model>/                  one directory per model (":" in a name becomes "_")
        stages.json             per stage: inputs, hash of the inputs, outputs, status, seconds
        model.json              the model card: params, GFLOPs, input, preprocessing, weights sha256, references
        engine/<model>.onnx     the exported model (preprocessing in its metadata)
        cache/                  the preprocessed uint8 dataset (prep stage); infer reads it
        infer/                  predictions.csv, summary.json, (skipped.csv), result.json, accuracy.json
        perf/<runtime>-<precision>.json   one perf.json per runtime × precision column
        plots/throughput.png, plots/latency.png
        report.md, report.html  this model's report

Stages, in order: ``export``, ``compile``, ``prep``, ``infer``, ``eval``, ``perf:<runtime>-<precision>``,
``report``. A stage is skipped when the hash of its inputs (weights sha256, preprocessing, engine file
sha256, data folder listing (names, sizes, mtimes), labels sha256, perf parameters, the JSON a report reads)
equals the recorded one and its outputs exist. ``stages.json`` is written atomically after every stage,
so an interrupted run resumes at the first stage that did not finish. One model failing does not stop
the others. ``--weights random`` runs perf only; the report says accuracy was not measured.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoobench.io import write_json
from zoobench.stages import StageBook, listing_hash, sha256_file

# Model statuses; the run's exit code is 0 only when none is "failed" or "error". "inconclusive": too few
# images to decide the gate; "not-gated": random weights (accuracy measured as a data path, not a verdict).
PASSED, FAILED, ERROR, PERF_ONLY, NO_GATE = "passed", "failed", "error", "perf-only", "no-reference"
INCONCLUSIVE, NOT_GATED = "inconclusive", "not-gated (random weights)"


@dataclass
class RunConfig:
    """What ``zoobench run`` was asked to do (the same for every model)."""

    data: str | None = None
    labels: str | None = None
    weights: str | None = None
    variant: str | None = None
    runtimes: list[str] = field(default_factory=lambda: ["onnxruntime"])
    precisions: list[str] = field(default_factory=lambda: ["fp32"])
    batch_sizes: list[int] = field(default_factory=lambda: [1, 4, 8, 16, 32, 64])
    infer_batch_size: int = 16
    seconds: float = 1.0
    repeats: int = 3
    min_iters: int = 5
    warmup: int = 3
    threads: int | None = None
    tolerance: float = 1.0
    reference: tuple[float, float | None] | None = None
    limit: int | None = None
    quiet: bool = False


def model_dirname(model: str) -> str:
    return Path(model).stem if model.lower().endswith(".onnx") else model.replace(":", "_").replace("/", "_")


def _card(model: str, engine: Any, engine_sha: str) -> dict[str, Any]:
    """``model.json``: what the report's model card shows."""
    card: dict[str, Any] = {
        "model": engine.model,
        "engine": Path(engine.path).name,
        "engine_sha256": engine_sha,
        "preprocess": engine.preprocess.to_dict(),
        "preprocess_hash": engine.preprocess.hash(),
        "weights": engine.metadata.get("weights") or {},
        "input_size": list(engine.preprocess.input_size),
    }
    try:
        from zoobench.models import get_spec

        spec = get_spec(engine.model)
    except Exception:  # an ONNX file of a model zoobench does not know
        return card
    card.update(
        description=spec.description,
        params_m=spec.params_m,
        gflops=spec.gflops,
        input_name=spec.input_name,
        output_name=spec.output_name,
        reference=None if spec.reference is None else asdict(spec.reference),
        seed_npu=None if spec.seed_npu is None else asdict(spec.seed_npu),
    )
    return card


def _report_inputs(mdir: Path) -> dict[str, str]:
    files = [mdir / "model.json", mdir / "infer" / "accuracy.json", mdir / "infer" / "summary.json"]
    files += sorted((mdir / "perf").glob("*.json"))
    return {str(f.relative_to(mdir)): sha256_file(f) for f in files if f.is_file()}


def _perf_column(
    rt: str,
    prec: str,
    cfg: RunConfig,
    mdir: Path,
    book: StageBook,
    engine: Any,
    engine_sha: str,
    log: Callable[[str], None],
    do_perf: Callable[..., dict[str, Any]],
) -> None:
    """One runtime x precision column; a column that cannot run here is recorded as unavailable, with why."""
    from zoobench.errors import ZoobenchError

    col, rel = f"{rt}-{prec}", f"perf/{rt}-{prec}.json"
    inputs = {
        "engine_sha256": engine_sha,
        "runtime": rt,
        "precision": prec,
        "batch_sizes": cfg.batch_sizes,
        "seconds": cfg.seconds,
        "repeats": cfg.repeats,
        "min_iters": cfg.min_iters,
        "warmup": cfg.warmup,
        "threads": cfg.threads,
        "calibration": listing_hash(cfg.data) if cfg.data and prec == "int8" else None,
    }

    def perf() -> tuple[list[str], str]:
        # compiled engines (int8, TensorRT) are built once into engine/; int8 calibrates on the run's images
        kw: dict[str, Any] = {"runtimes": [rt], "precisions": [prec], "workdir": str(mdir / "engine")}
        if cfg.data and prec == "int8":
            kw["calibration"] = cfg.data
        res = do_perf(
            engine.model,
            batch_sizes=cfg.batch_sizes,
            seconds=cfg.seconds,
            repeats=cfg.repeats,
            min_iters=cfg.min_iters,
            warmup=cfg.warmup,
            threads=cfg.threads,
            quiet=True,
            engine=engine,
            **kw,
        )
        write_json(mdir / rel, res)
        return [rel], f"best {res['best_throughput_img_s']:.1f} img/s at bs{res['best_batch_size']}"

    try:
        book.run(f"perf:{col}", inputs, perf, log)
    except ZoobenchError as exc:  # runtime not installed, precision without kernels here, ...
        (mdir / rel).unlink(missing_ok=True)
        book.mark(f"perf:{col}", "unavailable", str(exc), log)


def run_model(model: str, rundir: Path, cfg: RunConfig, log: Callable[[str], None]) -> str:
    """All stages of one model; returns its status (raises nothing: errors are recorded)."""
    mdir = rundir / model_dirname(model)
    mdir.mkdir(parents=True, exist_ok=True)
    book = StageBook(mdir, model)
    try:
        status = _stages(model, mdir, cfg, book, log)
        book.data.pop("error", None)
    except Exception as exc:  # one model failing does not stop the others
        status = ERROR
        book.data["error"] = f"{type(exc).__name__}: {exc}"
        book.data["traceback"] = traceback.format_exc(limit=8)
        log(f"  {model}: ERROR {book.data['error']}")
    book.data["status"] = status
    book.data["actions"] = book.actions
    book.save()
    if status == ERROR:  # still write what there is, so the report shows the failure
        from zoobench.report import write_model_report

        write_model_report(mdir)
    return status


def _stages(model: str, mdir: Path, cfg: RunConfig, book: StageBook, log: Callable[[str], None]) -> str:
    from zoobench.engine import is_model_file, load_engine, resolve_engine
    from zoobench.workflow import do_eval, do_infer, do_perf

    # export
    if is_model_file(model):
        exp_inputs: dict[str, Any] = {"file": str(Path(model).resolve()), "sha256": sha256_file(model)}
    else:
        from zoobench.models import get_spec
        from zoobench.models.weights import resolve

        spec = get_spec(model)
        exp_inputs = {
            "model": spec.name,
            "weights": resolve(spec, cfg.weights).to_dict(),
            "preprocess": spec.preprocess_for(cfg.variant).to_dict(),
        }
    engine_rel = f"engine/{model_dirname(model)}.onnx"

    def export() -> tuple[list[str], str]:
        if is_model_file(model):
            eng = load_engine(model)
            engine_file = model
        else:
            eng = resolve_engine(model, weights=cfg.weights, variant=cfg.variant, workdir=mdir / "engine", log=log)
            engine_file = eng.path
        write_json(mdir / "model.json", _card(model, eng, sha256_file(engine_file)))
        return ([engine_rel] if not is_model_file(model) else []) + ["model.json"], ""

    book.run("export", exp_inputs, export, log)
    engine = load_engine(model if is_model_file(model) else str(mdir / engine_rel))
    engine_sha = json.loads((mdir / "model.json").read_text())["engine_sha256"]
    pp_hash = engine.preprocess.hash()

    # non-fp32 / TensorRT engines are compiled (and reused) by the perf columns that need them, into engine/
    book.mark("compile", "not-run", "perf columns compile the engines they need into engine/", log)
    measure = bool(cfg.data)
    if not measure:
        for name in ("prep", "infer", "eval"):
            book.mark(name, "not-run", "no --data given", log)
    else:  # random weights too: the data path is measured; eval says "random weights: not gated"
        _measure(cfg, mdir, book, engine, engine_sha, pp_hash, log, do_infer, do_eval)

    # perf, one column per runtime x precision, one perf/<runtime>-<precision>.json each
    for rt in cfg.runtimes:
        for prec in cfg.precisions:
            _perf_column(rt, prec, cfg, mdir, book, engine, engine_sha, log, do_perf)

    # status, then the report (which shows it)
    status = PERF_ONLY
    acc_path = mdir / "infer" / "accuracy.json"
    if measure and engine.random_weights:
        status = NOT_GATED
    elif measure and acc_path.is_file():
        gate = json.loads(acc_path.read_text()).get("gate")
        status = {"pass": PASSED, "fail": FAILED, "inconclusive": INCONCLUSIVE}.get(gate, NO_GATE)
    elif measure:
        status = NO_GATE
    book.data["status"] = status

    def report() -> tuple[list[str], str]:
        from zoobench.report import write_model_report

        write_model_report(mdir)
        return ["report.md", "report.html"], ""

    book.run("report", _report_inputs(mdir), report, log)
    return status


def _measure(
    cfg: RunConfig,
    mdir: Path,
    book: StageBook,
    engine: Any,
    engine_sha: str,
    pp_hash: str,
    log: Callable[[str], None],
    do_infer: Callable[..., Any],
    do_eval: Callable[..., Any],
) -> None:
    """prep, infer (from the cache) and eval."""
    assert cfg.data is not None
    data_hash = listing_hash(cfg.data)
    from zoobench.data.cache import is_cache, prep_cache

    def prep() -> tuple[list[str], str]:
        assert cfg.data is not None
        meta = prep_cache(cfg.data, engine.preprocess, mdir / "cache", limit=cfg.limit)
        return ["cache"], f"cache {meta.get('status', 'built')}: {meta.get('count', '?')} images; infer reads it"

    prep_ok = False
    try:
        book.run("prep", {"data": data_hash, "geometry": engine.preprocess.geometry_hash()}, prep, log)
        prep_ok = True
    except Exception as exc:  # record it and go on with the image folder
        book.record("prep", status="error", note=f"{type(exc).__name__}: {exc}", outputs=[], seconds=0.0)

    # infer reads the prep cache when the prep stage left one (uint8 memmap, normalized on the fly)
    infer_data = str(mdir / "cache") if prep_ok and is_cache(mdir / "cache") else cfg.data

    infer_inputs = {
        "engine_sha256": engine_sha,
        "preprocess": pp_hash,
        "data": data_hash,
        "data_kind": "cache" if infer_data != cfg.data else "folder",
        "batch_size": cfg.infer_batch_size,
        "limit": cfg.limit,
        "threads": cfg.threads,
    }

    def infer() -> tuple[list[str], str]:
        s = do_infer(
            engine.model,
            infer_data,  # type: ignore[arg-type]
            batch_size=cfg.infer_batch_size,
            threads=cfg.threads,
            limit=cfg.limit,
            outdir=str(mdir / "infer"),
            quiet=True,
            engine=engine,
            input_dtype="uint8" if infer_data != cfg.data else None,  # cache-fed: uint8 engine, no host normalize
        )
        return ["infer/predictions.csv", "infer/summary.json"], f"{s['images_inferred']} images, {s['skipped']} skipped"

    book.run("infer", infer_inputs, infer, log)
    if not cfg.labels:
        book.mark("eval", "not-run", "no --labels given: accuracy not measured", log)
        return
    eval_inputs = {
        "predictions": sha256_file(mdir / "infer" / "predictions.csv"),
        "labels": sha256_file(cfg.labels),
        "tolerance": cfg.tolerance,
        "reference": cfg.reference,
    }

    def evaluate() -> tuple[list[str], str]:
        acc = do_eval(
            str(mdir / "infer"),
            cfg.labels,  # type: ignore[arg-type]
            tolerance=cfg.tolerance,
            reference=cfg.reference,
            quiet=True,
        )
        return ["infer/result.json", "infer/accuracy.json"], f"top-1 {acc['top1']:.2f}%; gate: {acc['gate_reason']}"

    book.run("eval", eval_inputs, evaluate, log)


def validate_models(models: list[str], weights: str | None) -> None:
    """Every model resolves (a registry name or a model file with metadata) and has its weights; one line
    naming each that does not. Run before the run directory is created."""
    from zoobench.engine import is_model_file, load_engine
    from zoobench.errors import ZoobenchError
    from zoobench.models import get_spec
    from zoobench.models.weights import resolve

    problems = []
    for model in models:
        try:
            if is_model_file(model):
                load_engine(model)
            else:
                resolve(get_spec(model), weights)
        except ZoobenchError as exc:
            problems.append(f"{model}: {' '.join(str(exc).split())}")
    if problems:
        raise ZoobenchError("nothing was run; " + " | ".join(problems))


def run_models(models: list[str], rundir: str | Path, cfg: RunConfig, *, command: str = "") -> dict[str, str]:
    """Run every model into ``rundir``, then write the run's report; returns model -> status."""
    from zoobench.console import make_console
    from zoobench.report import write_run_report

    console = make_console(cfg.quiet)
    root = Path(rundir)
    root.mkdir(parents=True, exist_ok=True)
    statuses: dict[str, str] = {}
    meta: dict[str, Any] = {}
    if (root / "run.json").is_file():  # a run directory can be added to: keep the other models' statuses
        try:
            meta = json.loads((root / "run.json").read_text(encoding="utf-8"))
        except ValueError:
            meta = {}
    meta.update(command=command, config=asdict(cfg))
    meta.setdefault("models", {})
    for model in models:
        console.rule(f"{model}")
        statuses[model] = run_model(model, root, cfg, lambda m: console.print(m, markup=False))
        meta["models"][model] = statuses[model]
        write_json(root / "run.json", meta)
    write_run_report(root, model_reports=False)
    return statuses


def all_passed(statuses: dict[str, str]) -> bool:
    return not any(s in (FAILED, ERROR) for s in statuses.values())
