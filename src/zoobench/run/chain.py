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
the others. ``--weights random`` runs every stage (the data path is measured) but does not gate accuracy.
"""

from __future__ import annotations

import contextlib
import json
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoobench.errors import ZoobenchError
from zoobench.io import file_digest, write_json
from zoobench.run.card import model_card
from zoobench.run.ledger import StageBook, listing_hash

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
    ray: str | None = None  # run the infer stage on Ray (``infer --ray``); its files are the same
    actors: int | None = None
    cpus_per_actor: float | None = None
    tune: float | None = None  # run --tune: a tune stage per perf column, with this budget (seconds)


def model_dirname(model: str) -> str:
    return Path(model).stem if model.lower().endswith(".onnx") else model.replace(":", "_").replace("/", "_")


def _report_inputs(mdir: Path) -> dict[str, str]:
    files = [mdir / "model.json", mdir / "infer" / "accuracy.json", mdir / "infer" / "summary.json"]
    files += sorted((mdir / "perf").glob("*.json"))
    return {str(f.relative_to(mdir)): file_digest(f) for f in files if f.is_file()}


def _perf_column(
    rt: str,
    prec: str,
    cfg: RunConfig,
    mdir: Path,
    book: StageBook,
    engine: Any,
    engine_sha: str,
    log: Callable[[str], None],
    profile: dict[str, Any] | None = None,
) -> None:
    """One runtime x precision column; a column that cannot run here is recorded as unavailable, with why."""
    from zoobench.errors import ZoobenchError
    from zoobench.perf.profile import profile_digest
    from zoobench.perf.sweep import do_perf

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
        "tuned": profile_digest(engine.path, profile),  # the tune stage's profile, or the file beside the engine
    }

    def perf() -> tuple[list[str], str]:
        # compiled engines (int8, TensorRT) are built once into engine/; int8 calibrates on the run's images
        kw: dict[str, Any] = {"runtimes": [rt], "precisions": [prec], "workdir": str(mdir / "engine")}
        if cfg.data and prec == "int8":
            kw["calibration"] = cfg.data
        res = do_perf(
            engine.model, batch_sizes=cfg.batch_sizes, seconds=cfg.seconds, repeats=cfg.repeats, engine=engine,
            min_iters=cfg.min_iters, warmup=cfg.warmup, threads=cfg.threads, quiet=True, profile=profile, **kw,
        )  # fmt: skip
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
        status = _ModelStages(model, mdir, cfg, book, log).run_all()
        book.data.pop("error", None)
    except Exception as exc:  # one model failing does not stop the others
        status = ERROR
        book.data["error"] = str(exc) if isinstance(exc, ZoobenchError) else f"{type(exc).__name__}: {exc}"
        book.data["traceback"] = traceback.format_exc(limit=8)
        log(f"  {model}: ERROR {book.data['error']}")
        _say_not_run(cfg, book, log)
    book.data["status"] = status
    book.data["actions"] = book.actions
    book.save()
    if status == ERROR:  # still write what there is, so the report shows the failure
        from zoobench.report import write_model_report

        try:
            write_model_report(mdir)
        except Exception as exc:  # the failure is recorded in stages.json; the report is a nicety here
            log(f"  report: not written — {exc}")
    return status


def planned_stages(cfg: RunConfig) -> list[str]:
    """The stages ``run`` goes through for one model, in order."""
    measured = ["prep", "infer", "eval"]
    stages = ("tune", "perf") if cfg.tune else ("perf",)
    perf = [f"{s}:{rt}-{p}" for rt in cfg.runtimes for p in cfg.precisions for s in stages]
    return ["export", "compile", *measured, *perf, "report"]


def _say_not_run(cfg: RunConfig, book: StageBook, log: Callable[[str], None]) -> None:
    """After a stage raised: one line for each later stage, which did not run (their records are kept, so a
    later run still skips what is up to date)."""
    left = [s for s in planned_stages(cfg) if s not in book.actions and s != "report"]
    for name in left[1:]:
        log(f"  {name}: not run — {left[0]} failed")


class _ModelStages:
    """The stages of one model, in order; what a stage produced is handed to the next in memory."""

    def __init__(self, model: str, mdir: Path, cfg: RunConfig, book: StageBook, log: Callable[[str], None]) -> None:
        self.model, self.mdir, self.cfg, self.book, self.log = model, mdir, cfg, book, log
        self.engine: Any = None
        self.engine_sha = ""
        self.scored: Any = None  # infer's predictions, when infer ran in this process
        self.accuracy: dict[str, Any] | None = None

    def run_all(self) -> str:
        from zoobench.perf.tune import tune_stage

        self.export()
        # non-fp32 / TensorRT engines are compiled (and reused) by the perf columns that need them, into engine/
        self.book.mark("compile", "not-run", "perf columns compile the engines they need into engine/", self.log)
        if self.cfg.data:  # random weights too: the data path is measured; eval says "random weights: not gated"
            self.measure()
        else:
            for name in ("prep", "infer", "eval"):
                self.book.mark(name, "not-run", "no --data given", self.log)
        for rt in self.cfg.runtimes:  # one perf/<runtime>-<precision>.json per column
            for prec in self.cfg.precisions:
                profile = tune_stage(self, rt, prec) if self.cfg.tune else None  # handed on in memory
                _perf_column(rt, prec, self.cfg, self.mdir, self.book, self.engine, self.engine_sha, self.log, profile)
        status = self.status()
        self.book.data["status"] = status

        def report() -> tuple[list[str], str]:
            from zoobench.report import write_model_report

            write_model_report(self.mdir)
            return ["report.md", "report.html"], ""

        self.book.run("report", _report_inputs(self.mdir), report, self.log)
        return status

    def export(self) -> None:
        from zoobench.artifact import is_model_file, load_engine
        from zoobench.export import resolve_engine

        model, cfg, mdir = self.model, self.cfg, self.mdir
        given = is_model_file(model)
        engine_rel = f"engine/{model_dirname(model)}.onnx"

        def export() -> tuple[list[str], str]:
            if given:
                self.engine = load_engine(model)
            else:
                self.engine = resolve_engine(
                    model, weights=cfg.weights, variant=cfg.variant, workdir=mdir / "engine", log=self.log
                )
            self.engine_sha = file_digest(self.engine.path)
            write_json(mdir / "model.json", model_card(self.engine, self.engine_sha))
            return ([] if given else [engine_rel]) + ["model.json"], ""

        if not self.book.run("export", _export_inputs(model, cfg), export, self.log):  # an earlier run's export
            self.engine = load_engine(model if given else str(mdir / engine_rel))
            self.engine_sha = json.loads((mdir / "model.json").read_text())["engine_sha256"]

    def measure(self) -> None:
        """prep, infer (from the cache, with the uint8 twin of the engine) and eval."""
        assert self.cfg.data is not None
        data_hash = listing_hash(self.cfg.data)
        infer_data = self._prep(data_hash)
        self._infer(infer_data, data_hash)
        if not self.cfg.labels:
            self.book.mark("eval", "not-run", "no --labels given: accuracy not measured", self.log)
        else:
            self._eval()

    def _prep(self, data_hash: str) -> str:
        """The prep stage; returns what infer reads: the cache, or the image folder when prep failed."""
        from zoobench.data.cache import is_cache, prep_cache

        cfg, cache = self.cfg, self.mdir / "cache"

        def prep() -> tuple[list[str], str]:
            meta = prep_cache(cfg.data, self.engine.preprocess, cache, limit=cfg.limit)  # type: ignore[arg-type]
            return ["cache"], f"cache {meta.get('status', 'built')}: {meta.get('count', '?')} images; infer reads it"

        try:
            self.book.run(
                "prep", {"data": data_hash, "geometry": self.engine.preprocess.geometry_hash()}, prep, self.log
            )
        except Exception as exc:  # record it and go on with the image folder
            note = str(exc) if isinstance(exc, ZoobenchError) else f"{type(exc).__name__}: {exc}"
            self.book.record("prep", status="error", note=note, outputs=[], seconds=0.0)
            self.book.actions["prep"] = "error"
            self.log(f"  prep: error — {exc}; infer reads the image folder instead")
            return cfg.data  # type: ignore[return-value]
        return str(cache) if is_cache(cache) else cfg.data  # type: ignore[return-value]

    def _infer(self, infer_data: str, data_hash: str) -> None:
        from zoobench.infer.stage import infer

        cfg, from_cache = self.cfg, infer_data != self.cfg.data
        inputs = {
            "engine_sha256": self.engine_sha,
            "preprocess": self.engine.preprocess.hash(),
            "data": data_hash,
            "data_kind": "cache" if from_cache else "folder",
            "input_dtype": "uint8" if from_cache else "float32",
            "batch_size": cfg.infer_batch_size,
            "limit": cfg.limit,
            "threads": cfg.threads,
        }

        def run_infer() -> tuple[list[str], str]:
            summary, self.scored = infer(
                self.engine.model, infer_data, labels=None, weights=None, variant=None,
                batch_size=cfg.infer_batch_size, runtime="onnxruntime", threads=cfg.threads, limit=cfg.limit,
                strict=False, outdir=str(self.mdir / "infer"), quiet=True, engine=self.engine, workers=None,
                dump=None, chunk=512, resume=True, input_dtype="uint8" if from_cache else None, ray=cfg.ray,
                actors=cfg.actors, cpus_per_actor=cfg.cpus_per_actor,
            )  # fmt: skip
            return ["infer/predictions.csv", "infer/summary.json"], (
                f"{summary['images_inferred']} images, {summary['skipped']} skipped"
            )

        self.book.run("infer", inputs, run_infer, self.log)

    def _eval(self) -> None:
        from zoobench.data.datasets import read_labels
        from zoobench.evaluate.stage import do_eval, evaluate

        cfg, out = self.cfg, self.mdir / "infer"
        assert cfg.labels is not None
        inputs = {
            "predictions": self.book.data["stages"]["infer"]["inputs_hash"],  # what made predictions.csv
            "labels": file_digest(cfg.labels),
            "tolerance": cfg.tolerance,
            "reference": cfg.reference,
        }

        def run_eval() -> tuple[list[str], str]:
            opts = {"reference": cfg.reference, "tolerance": cfg.tolerance, "quiet": True}
            if self.scored is not None:  # infer ran now: its predictions, in memory
                self.scored.label_map = read_labels(cfg.labels)  # type: ignore[arg-type]
                self.accuracy = evaluate(self.scored, out, **opts)  # type: ignore[arg-type]
            else:  # infer was up to date: an earlier run's predictions.csv
                self.accuracy = do_eval(str(out), cfg.labels, **opts)  # type: ignore[arg-type]
            acc = self.accuracy
            from zoobench.report.tables import gate_text

            verdict = (
                f"{gate_text(acc)}: {acc['gate_reason']}" if acc.get("gate") in ("pass", "fail") else gate_text(acc)
            )
            return ["infer/result.json", "infer/accuracy.json"], f"top-1 {acc['top1']:.2f}%; gate {verdict}"

        self.book.run("eval", inputs, run_eval, self.log)

    def status(self) -> str:
        if not self.cfg.data:
            return PERF_ONLY
        if self.engine.random_weights:
            return NOT_GATED
        acc = self.accuracy
        acc_path = self.mdir / "infer" / "accuracy.json"
        if acc is None and self.cfg.labels and acc_path.is_file():  # eval was up to date: an earlier run's
            acc = json.loads(acc_path.read_text(encoding="utf-8"))
        gate = str((acc or {}).get("gate"))
        return {"pass": PASSED, "fail": FAILED, "inconclusive": INCONCLUSIVE}.get(gate, NO_GATE)


def _export_inputs(model: str, cfg: RunConfig) -> dict[str, Any]:
    from zoobench.artifact import is_model_file

    if is_model_file(model):
        return {"file": str(Path(model).resolve()), "sha256": file_digest(model)}
    from zoobench.models import get_spec
    from zoobench.models.weights import resolve

    spec = get_spec(model)
    return {
        "model": spec.name,
        "weights": resolve(spec, cfg.weights).to_dict(),
        "preprocess": spec.preprocess_for(cfg.variant).to_dict(),
    }


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
    with _ray_session(cfg.ray):
        for model in models:
            console.rule(f"{model}")
            statuses[model] = run_model(model, root, cfg, lambda m: console.print(m, markup=False))
            meta["models"][model] = statuses[model]
            write_json(root / "run.json", meta)
    write_run_report(root, model_reports=False)
    return statuses


def _ray_session(address: str | None) -> Any:
    """One cluster session for every model's infer stage (Ray's start paid once). Not for ``local``: its Ray
    processes would run beside the perf stage's timings, so each infer stage starts and stops its own."""
    if not address or address == "local":
        return contextlib.nullcontext()
    from zoobench.cluster.connect import connect

    return connect(address)


def all_passed(statuses: dict[str, str]) -> bool:
    return not any(s in (FAILED, ERROR) for s in statuses.values())
