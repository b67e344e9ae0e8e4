"""``zoobench run``: every stage for every model into one run directory, skipping what did not change.

The run directory's layout is written once, in ``zoobench/assets/run_layout.txt``: ``zoobench run --help``
prints it and the docs include it (docs/run-layout.md).

Stages, in order: ``export``, ``compile``, ``prep``, ``infer``, ``eval``, ``score:<runtime>-<precision>``,
``perf:<runtime>-<precision>`` (and ``loadgen:<runtime>-<precision>`` with ``--scenarios``: run/scenarios.py),
``report``. A stage is skipped when the hash of its inputs (weights sha256, preprocessing, engine file sha256,
data folder listing (names, sizes, mtimes), labels sha256, perf parameters, the JSON a report reads) equals the
recorded one and its outputs exist. ``stages.json`` is written
atomically after every stage, so an interrupted run resumes at the first stage that did not finish. One
model failing does not stop the others. ``--weights random`` runs every stage (the data path is measured)
but does not gate accuracy.
"""

from __future__ import annotations

import contextlib
import json
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoobench.artifact import Engine
from zoobench.data.fastdecode import key_part
from zoobench.engines import Recipe, engine_record
from zoobench.errors import NoSpaceError, is_no_space, one_line
from zoobench.evaluate.record import AccuracyRecord, read_accuracy
from zoobench.io import file_digest, write_json
from zoobench.models.registry import slug
from zoobench.predictions import Predictions
from zoobench.run.card import model_card
from zoobench.run.columns import REFERENCE, perf_column
from zoobench.run.config import RunConfig
from zoobench.run.faults import error_report, say_not_run, stopped
from zoobench.run.ledger import StageBook, listing_hash

# Model statuses; the run's exit code is 0 only when none is "failed" or "error". "inconclusive": too few images to
# decide the gate; "not-gated": random weights (accuracy measured, not a verdict); "no-labels": accuracy not measured.
PASSED, FAILED, ERROR, PERF_ONLY, NO_GATE = "passed", "failed", "error", "perf-only", "no-reference"
INCONCLUSIVE, NOT_GATED, NO_LABELS = "inconclusive", "not-gated (random weights)", "no-labels"


def _report_inputs(mdir: Path) -> dict[str, str]:
    files = [mdir / "model.json", mdir / "infer" / "accuracy.json", mdir / "infer" / "summary.json"]
    files += sorted((mdir / "infer").glob("*/accuracy.json"))
    files += sorted((mdir / "perf").glob("*.json"))
    files.append(mdir / "ship" / "card.json")  # the report names the shipped engine
    files += sorted((mdir / "loadgen").glob("*/loadgen.json"))
    return {str(f.relative_to(mdir)): file_digest(f) for f in files if f.is_file()}


def run_model(
    model: str, rundir: Path, cfg: RunConfig, log: Callable[[str], None], recipe: Recipe | None = None
) -> str:
    """All stages of one model; returns its status. Errors are recorded, not raised, but for a full disk
    (:class:`NoSpaceError`, after recording it as far as the disk lets): the next models would fail the same way."""
    mdir = rundir / slug(model)
    mdir.mkdir(parents=True, exist_ok=True)
    book = StageBook(mdir, model)
    no_space: Exception | None = None
    try:
        status = _ModelStages(model, mdir, cfg, book, log, recipe).run_all()
        book.data.pop("error", None)
    except Exception as exc:  # one model failing does not stop the others
        status = ERROR
        book.data["error"] = one_line(exc)
        book.data["traceback"] = traceback.format_exc(limit=8)
        log(f"  {model}: ERROR {book.data['error']}")
        say_not_run(planned_stages(cfg), book, log)
        with contextlib.suppress(Exception):
            from zoobench.run.ship import clear_ship

            clear_ship(mdir)
        no_space = exc if is_no_space(exc) else None
    book.data["status"] = status
    book.data["actions"] = book.actions
    with contextlib.suppress(OSError) if no_space else contextlib.nullcontext():
        book.save()
    if status == ERROR:  # still write what there is, so the report shows the failure
        error_report(mdir, log)
    if no_space is not None:
        raise NoSpaceError(book.data["error"]) from no_space
    return status


def planned_stages(cfg: RunConfig) -> list[str]:
    """The stages ``run`` goes through for one model, in order."""
    from zoobench.run.columns import column_names

    measured = ["prep", "infer", "eval", *(f"score:{c}" for c in (column_names(cfg) if cfg.data else []))]
    stages = ("tune", "perf") if cfg.tune else ("perf",)
    if cfg.loadgen is not None:
        stages = (*stages, "loadgen")
    perf = [f"{s}:{rt}-{p}" for rt, p in cfg.columns() for s in stages]
    return ["export", "compile", *measured, *perf, "report"]


class _ModelStages:
    """The stages of one model, in order; what a stage produced is handed to the next in memory."""

    def __init__(
        self, model: str, mdir: Path, cfg: RunConfig, book: StageBook, log: Callable[[str], None], recipe: Any = None
    ) -> None:
        from zoobench.engines import resolve

        self.model, self.mdir, self.cfg, self.book, self.log = model, mdir, cfg, book, log
        # the recipe run's checks made (weights resolved and hashed once), else made here
        self.recipe = recipe or resolve(model, weights=cfg.weights_for(model), variant=cfg.infer.variant)
        self.engine: Any = None  # export's float engine
        self.engine_sha = ""
        self._columns: dict[tuple[str, str], tuple[Engine, str] | Exception] = {}
        self.preds: Predictions | None = None  # infer's predictions, when infer ran in this process
        self.accuracy: AccuracyRecord | None = None
        # the reference column's predictions carry no labels: eval is a stage of its own
        self.settings = cfg.infer.but(outdir=str(mdir / "infer"), labels=None)

    def run_all(self) -> str:
        from zoobench.run.tunestage import tune_stage

        self.export()
        # each column's engine is made once by the engine build (the store), linked into engine/ when a column needs it
        self.book.mark("compile", "not-run", "each column's engine is built once when it is first needed", self.log)
        if self.cfg.data:  # random weights too: the data path is measured; eval says "random weights: not gated"
            self.measure()
        else:
            for name in ("prep", "infer", "eval"):
                self.book.mark(name, "not-run", "no --data given", self.log)
        for rt, prec in self.cfg.columns():  # one perf/<runtime>-<precision>.json per column
            profile = tune_stage(self, rt, prec) if self.cfg.tune else None  # handed on in memory
            perf_column(self, rt, prec, profile)
            if self.cfg.loadgen is not None:
                from zoobench.run.scenarios import loadgen_column

                loadgen_column(self, rt, prec)
        status = self.status()
        self.book.data["status"] = status
        from zoobench.run.ship import ship_model

        ship_model(self.mdir, self.cfg.infer.labels, self.log)  # ship/: the recommended engine, or nothing

        def report() -> tuple[list[str], str]:
            from zoobench.report import write_model_report

            write_model_report(self.mdir)
            return ["report.md", "report.html"], ""

        self.book.run("report", _report_inputs(self.mdir), report, self.log)
        return status

    def column(self, rt: str, prec: str) -> tuple[Engine, str]:
        """The column's engine and its sha256: made (or found in the store) once per run, and the same for its
        score, tune and perf stages (a failure is the same failure for each)."""
        if (rt, prec) not in self._columns:
            from zoobench.engines import column_engine
            from zoobench.run.calibration import calibration_folder
            from zoobench.run.columns import column_control

            calib = calibration_folder(self.mdir, self.cfg.data)
            control = column_control(self.cfg, prec, calib)
            try:
                eng = column_engine(
                    self.recipe,
                    rt,
                    prec,
                    workdir=self.mdir / "engine",
                    calibration=calib,
                    control=None if control is None else dict(control),
                    source=self.engine,
                    log=self.log,
                )
                self._columns[(rt, prec)] = (eng, file_digest(eng.path))
            except Exception as exc:  # said by each stage that needs it
                self._columns[(rt, prec)] = exc
        got = self._columns[(rt, prec)]
        if isinstance(got, Exception):
            raise got
        return got

    def export(self) -> None:
        from zoobench.artifact import is_model_file, load_engine
        from zoobench.engines import float_engine

        model, mdir = self.model, self.mdir
        given = is_model_file(model)
        engine_rel = f"engine/{slug(model)}.onnx"

        def export() -> tuple[list[str], str]:
            self.engine = float_engine(self.recipe, mdir / "engine", self.log)
            self.engine_sha = file_digest(self.engine.path)
            write_json(mdir / "model.json", model_card(self.engine, self.engine_sha))
            return ([] if given else [engine_rel]) + ["model.json"], ""

        if not self.book.run("export", _export_inputs(self.recipe), export, self.log):  # an earlier run's export
            self.engine = load_engine(model if given else str(mdir / engine_rel))
            self.engine_sha = json.loads((mdir / "model.json").read_text())["engine_sha256"]

    def measure(self) -> None:
        """prep, infer (from the cache, with the uint8 twin of the engine) and eval."""
        assert self.cfg.data is not None
        data_hash = listing_hash(self.cfg.data)
        infer_data = self._prep(data_hash)
        inputs = self._infer(infer_data, data_hash)
        if not self.cfg.infer.labels:
            self.book.mark("eval", "not-run", "no --labels given: accuracy not measured", self.log)
        else:
            self._eval()
        from zoobench.run.calibration import split_for_run
        from zoobench.run.columns import ColumnJob, score_columns

        split = split_for_run(self.cfg, self.mdir, self.log)
        score_columns(
            ColumnJob(self.mdir, self.cfg, self.book, self.column, self.settings, infer_data, inputs, split, self.log)
        )

    def _prep(self, data_hash: str) -> str:
        """The prep stage; returns what infer reads: the cache, or the image folder when prep failed."""
        from zoobench.data.cache import is_cache, prep_cache
        from zoobench.data.settings import PrepSettings

        cfg, cache = self.cfg, self.mdir / "cache"
        decoder = cfg.infer.decoder or "reference"

        def prep() -> tuple[list[str], str]:
            settings = PrepSettings(limit=cfg.infer.limit, decoder=decoder)
            meta = prep_cache(cfg.data, self.engine.preprocess, cache, settings)  # type: ignore[arg-type]
            note = f"; {meta['note']}" if meta.get("note") else ""
            return [
                "cache"
            ], f"cache {meta.get('status', 'built')}: {meta.get('count', '?')} images{note}; infer reads it"

        try:
            inputs = {"data": data_hash, "geometry": self.engine.preprocess.geometry_hash(), **key_part(decoder)}
            self.book.run("prep", inputs, prep, self.log)
        except Exception as exc:  # recorded by the book; go on with the image folder (not on a full disk: stop)
            if is_no_space(exc):
                raise
            self.log(f"  prep: error — {one_line(exc)}; infer reads the image folder instead")
            return cfg.data  # type: ignore[return-value]
        return str(cache) if is_cache(cache) else cfg.data  # type: ignore[return-value]

    def _infer(self, infer_data: str, data_hash: str) -> dict[str, Any]:
        from zoobench.cluster.pipeline import backend_for
        from zoobench.infer.stage import infer

        from_cache = infer_data != self.cfg.data
        engine, sha = self.column(*REFERENCE)  # the reference column's engine (uint8 input): perf times the same
        inputs = {
            "engine_sha256": sha,
            "preprocess": self.engine.preprocess.hash(),
            "data": data_hash,
            "data_kind": "cache" if from_cache else "folder",
            "input_dtype": "uint8" if from_cache else "float32",
            "batch_size": self.settings.batch_size,
            "limit": self.settings.limit,
            "threads": self.settings.threads,
            **key_part(self.settings.decoder or "reference"),
        }

        def run_infer() -> tuple[list[str], str]:
            settings = self.settings.but(input_dtype="uint8" if from_cache else None)
            backend = backend_for(settings)  # the Ray pipeline with --ray, else this process
            summary, self.preds, _labels = infer(engine.model, infer_data, settings, engine=engine, backend=backend)
            resumed = summary["stages"].get("resume")  # resumed N of M images; K replaced since the interrupted run
            return ["infer/predictions.csv", "infer/summary.json"], (
                f"{summary['images_inferred']} images, {summary['skipped']} skipped"
                + (f"; {resumed}" if resumed else "")
            )

        self.book.run("infer", inputs, run_infer, self.log)
        return inputs

    def _eval(self) -> None:
        from zoobench.data.datasets import read_labels
        from zoobench.evaluate.stage import do_eval, evaluate

        s, out = self.cfg.infer, self.mdir / "infer"
        assert s.labels is not None
        inputs = {
            "predictions": self.book.data["stages"]["infer"]["inputs_hash"],  # what made predictions.csv
            "labels": file_digest(s.labels),
            "tolerance": s.tolerance,
            "reference": s.reference,
        }

        def run_eval() -> tuple[list[str], str]:
            opts = {"reference": s.reference, "tolerance": s.tolerance, "quiet": True}
            if self.preds is not None:  # infer ran now: its predictions, in memory
                self.accuracy = evaluate(self.preds, read_labels(s.labels), out, **opts)  # type: ignore[arg-type]
            else:  # infer was up to date: an earlier run's predictions.csv
                self.accuracy = do_eval(str(out), s.labels, **opts)  # type: ignore[arg-type]
            engine, sha = self.column(*REFERENCE)
            # the file scored: perf's record names the same
            acc = self.accuracy = self.accuracy.with_extra(engine=engine_record(engine, self.mdir, sha))
            write_json(out / "accuracy.json", acc.to_dict())
            from zoobench.report.tables import gate_text

            verdict = f"{gate_text(acc)}: {acc.verdict.gate_reason}" if acc.gate in ("pass", "fail") else gate_text(acc)
            return ["infer/result.json", "infer/accuracy.json"], f"top-1 {acc.top1:.2f}%; gate {verdict}"

        self.book.run("eval", inputs, run_eval, self.log)

    def status(self) -> str:
        if not self.cfg.data:
            return PERF_ONLY
        if self.engine.random_weights:
            return NOT_GATED
        acc = self.accuracy
        acc_path = self.mdir / "infer" / "accuracy.json"
        if acc is None and self.cfg.infer.labels:  # eval was up to date: an earlier run's
            acc = read_accuracy(acc_path)
        verdicts = {"pass": PASSED, "fail": FAILED, "inconclusive": INCONCLUSIVE}
        return NO_LABELS if acc is None else verdicts.get(str(acc.gate), NO_GATE)


def _export_inputs(recipe: Recipe) -> dict[str, Any]:
    """What the export stage depends on: the model file's bytes, or the recipe of the export (the weights' sha256,
    not their path)."""
    if recipe.file:
        return {"file": str(Path(recipe.file).resolve()), "sha256": recipe.file_sha256}
    return {"model": recipe.model, "export_key": recipe.export_key(), "preprocess": recipe.preprocess.to_dict()}


def run_models(
    models: list[str],
    rundir: str | Path,
    cfg: RunConfig,
    *,
    command: str = "",
    recipes: dict[str, Recipe] | None = None,
) -> dict[str, str]:
    """Run every model into ``rundir``, then write the run's report; returns model -> status. ``recipes``: what
    run's checks resolved (:func:`zoobench.run.checks.validate_models`), handed on so nothing is resolved again."""
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
    meta.update(command=command, config=cfg.record())
    meta.setdefault("models", {})
    with _ray_session(cfg.infer.ray):
        for i, model in enumerate(models):
            console.rule(f"{model}")
            try:
                say = lambda m: console.print(m, markup=False)  # noqa: E731
                statuses[model] = run_model(model, root, cfg, say, (recipes or {}).get(model))
            except Exception as exc:  # a full disk: the next models would fail the same way; stop, say what finished
                if not is_no_space(exc):
                    raise
                statuses[model] = meta["models"][model] = ERROR
                with contextlib.suppress(Exception):
                    write_json(root / "run.json", meta)
                    write_run_report(root, model_reports=False)
                raise NoSpaceError(f"{one_line(exc)}; {stopped(statuses, models[i + 1 :], ERROR)}") from exc
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
