"""The engine build's steps: float export → uint8 input, or → compile per runtime × precision (from the float
ONNX, with uint8 input added the runtime's way), each made once per recipe key into the store
(:mod:`zoobench.engines.store`) and linked into the caller's folder.

:func:`column_engine` is the one engine a column runs: ``run`` scores it, times it and tunes it, so the file timed
is the file scored. :func:`resolve_engine` is the float export alone (the ``export`` command, ``infer``/``perf``
of a model name).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from zoobench.artifact import Engine, load_engine
from zoobench.engines import store
from zoobench.engines.recipe import Recipe, resolve
from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.fingerprint import listing_hash
from zoobench.io import file_digest, json_digest

Say = Callable[[str], None]


def _quiet(_msg: str) -> None:
    return None


@contextlib.contextmanager
def _place(model: str, step: str, key: str, workdir: Path) -> Iterator[Path]:
    """Where a step builds its files: a store entry being made (linked into ``workdir`` after), or, when the store
    cannot be written, a temporary folder whose files are copied there (the engine is fine: only not stored)."""
    try:
        store.entry_dir(model, step, key).parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        with tempfile.TemporaryDirectory(dir=workdir, prefix=".build-") as tmp:
            yield Path(tmp)
            store.link_into(Path(tmp), workdir)
        return
    with store.building(model, step, key) as tmp:
        yield tmp
    store.link_into(store.entry_dir(model, step, key), workdir)


def _stored(model: str, step: str, key: str, name: str, workdir: Path) -> Engine | None:
    """The step's stored engine linked into ``workdir``; None when there is none (or it does not load)."""
    hit = store.lookup(model, step, key, name)
    if hit is None:
        return None
    try:
        load_engine(str(hit))
    except Exception:  # a damaged entry: made again
        return None
    store.link_into(hit.parent, workdir)
    return load_engine(str(workdir / name))


@contextlib.contextmanager
def _claim(model: str, step: str, key: str, name: str, workdir: Path, say: Say) -> Iterator[Engine | None]:
    """The stored engine (linked into ``workdir``), or None with the entry claimed for this process to make: a
    process making the same entry is waited for, and what it made is used."""
    found = _stored(model, step, key, name, workdir)
    if found is not None:
        yield found
        return
    waiting = partial(say, f"waiting for another process making the same {step} of {model} ...")
    with store.claimed(model, step, key, waiting):
        yield _stored(model, step, key, name, workdir)


def float_engine(recipe: Recipe, workdir: str | Path, log: Say | None = None) -> Engine:
    """The float ONNX of ``recipe``: the model file itself, or the export ``workdir/<model>.onnx`` (reused from the
    store when one of the same key is there: same weights bytes, wherever they are)."""
    import zoobench.export as export
    from zoobench.models import slug

    say, work = log or _quiet, Path(workdir)
    if recipe.file:
        return load_engine(recipe.file)
    key, name = recipe.export_key(), f"{slug(recipe.model)}.onnx"
    with _claim(recipe.model, "export", key, name, work, say) as found:
        if found is not None:
            entry = store.entry_dir(recipe.model, "export", key)
            say(f"reusing the stored export {entry} (same recipe) -> {found.path}")
            return found
        assert recipe.weights is not None
        say(f"exporting {recipe.model} ({recipe.weights.describe()}) -> {work / name}")
        work.mkdir(parents=True, exist_ok=True)
        with _place(recipe.model, "export", key, work) as tmp:
            from zoobench.models.weights import build_model

            module, _ = build_model(recipe.spec, None, recipe.weights)
            res = export.export_model(
                module,
                recipe.spec,
                tmp / name,
                preprocess=recipe.preprocess,
                weights_info=recipe.weights.to_dict(),
                opset=recipe.opset,
                exporter=recipe.exporter,
                simplify=recipe.simplify,
            )
            if res.note:
                say(f"note: {res.note}")
    return load_engine(str(work / name))


def uint8_input(recipe: Recipe, workdir: str | Path, source: Engine | None = None, log: Say | None = None) -> Engine:
    """The uint8-input engine of ``recipe``: the float ONNX with the Cast → Mul → Add prefix, checked against it
    (:func:`zoobench.uint8_input.write_input_variant`), ``STEM.u8.onnx``; the source itself when it takes uint8.

    Raises:
        ZoobenchError: the source is a compiled artifact (compile its ONNX with ``--input uint8`` instead).
    """
    from zoobench.uint8_input import write_input_variant

    say, work = log or _quiet, Path(workdir)
    src = source or float_engine(recipe, work, log)
    if src.input_dtype == "uint8":
        return src
    if src.runtime or Path(src.path).suffix.lower() != ".onnx":
        raise ZoobenchError(
            f"{src.path} is a compiled float-input engine; compile its ONNX with `--input uint8` instead"
        )
    key, name = recipe.uint8_key(), f"{Path(src.path).stem}.u8.onnx"
    with _claim(recipe.model, "uint8", key, name, work, say) as found:
        if found is not None:
            return found
        digest = file_digest(src.path)
        made = _made_from(work / name, digest)
        if made is not None:  # made here before from these bytes (the store was emptied since): kept as it is
            return made
        say(f"uint8-input engine (normalization inside the graph) -> {work / name}")
        work.mkdir(parents=True, exist_ok=True)
        with _place(recipe.model, "uint8", key, work) as tmp:
            write_input_variant(src.path, tmp / name, "uint8", extra={"float_source_sha256": digest})
    return load_engine(str(work / name))


def _made_from(path: Path, float_sha256: str) -> Engine | None:
    """``path``, when it is a uint8-input engine made from the float ONNX of this sha256."""
    if not path.is_file():
        return None
    try:
        twin = load_engine(str(path))
    except ZoobenchError:  # unreadable or foreign: made again
        return None
    ok = twin.input_dtype == "uint8" and twin.metadata.get("float_source_sha256") == float_sha256
    return twin if ok else None


def control_digest(control: dict[str, Any] | None) -> str | None:
    """Accuracy control as a key: its max drop, its images' listing and its labels' bytes."""
    if not control:
        return None
    labels = control.get("labels")
    data = control.get("data")
    return json_digest(
        {
            "max_drop": str(control.get("max_drop")),
            "data": listing_hash(data) if data else None,
            "labels": file_digest(labels) if labels else None,
        }
    )


def column_engine(
    recipe: Recipe,
    runtime: str,
    precision: str,
    *,
    workdir: str | Path,
    calibration: str | None = None,
    control: dict[str, Any] | None = None,
    source: Engine | None = None,
    log: Say | None = None,
) -> Engine:
    """The one engine that runs ``recipe`` on ``runtime`` at ``precision``: the uint8-input engine for the
    precisions a runtime takes at load time, else the runtime's uint8-input artifact compiled once (``calibration``:
    the int8 images; ``control``: accuracy-aware int8, see :class:`zoobench.compile.CompileSettings`; ``source``:
    the recipe's float engine when the caller has it already).

    Raises:
        RuntimeUnavailableError: the runtime or precision cannot run here (the message says why).
    """
    from zoobench.runtimes import RUNTIMES, runtime_module, supports

    if runtime not in RUNTIMES:
        raise RuntimeUnavailableError(f"unknown runtime {runtime!r}")
    ok, why = supports(runtime, RUNTIMES[runtime].device, precision)
    if not ok:
        raise RuntimeUnavailableError(why)
    src = source or float_engine(recipe, workdir, log)
    if src.runtime:
        if (src.runtime, src.precision) == (runtime, precision):
            return src
        raise ZoobenchError(f"{src.path} is a {src.runtime} {src.precision} engine; pass its ONNX for other columns")
    if precision not in runtime_module(runtime).COMPILED_PRECISIONS:
        return uint8_input(recipe, workdir, src, log)
    calib = calibration if precision != "fp32" or control else None  # int8 calibrates; non-fp32 agreement reads it
    col = recipe.column(
        runtime,
        precision,
        calibration=listing_hash(calib) if calib else None,
        accuracy_control=control_digest(control),
        input_dtype="uint8",
    )
    return _compiled(col, src, Path(workdir), calib, control, log or _quiet)


def _compiled(
    col: Recipe, src: Engine, work: Path, calib: str | None, control: dict[str, Any] | None, say: Say
) -> Engine:
    """The runtime's uint8-input artifact of the column, compiled from the float ONNX (the runtime adds the uint8
    input its own way: ONNX prefix nodes, OpenVINO's PrePostProcessor, TensorRT from the uint8 ONNX)."""
    from zoobench.compile import compile_engine, default_output

    assert col.runtime is not None and col.precision is not None
    key = col.compile_key()
    name = default_output(src, col.runtime, col.precision, col.batch_size, "uint8").name
    with _claim(col.model, "compile", key, name, work, say) as found:
        if found is not None:
            say(f"reusing the stored {col.runtime} {col.precision} engine -> {found.path}")
            return found
        work.mkdir(parents=True, exist_ok=True)
        with _place(col.model, "compile", key, work) as tmp:
            compile_engine(
                src,
                runtime=col.runtime,
                precision=col.precision,
                batch_size=col.batch_size,
                calibration=calib,
                output=str(tmp / name),
                input_dtype="uint8",
                accuracy_control=control,
                log=say,
            )
    return load_engine(str(work / name))


def resolve_engine(
    model_or_file: str,
    *,
    weights: str | None = None,
    variant: str | None = None,
    workdir: str | Path = ".",
    exporter: str = "dynamo",
    log: Say | None = None,
) -> Engine:
    """Use an engine file as it is, or export a model name into ``workdir/<name>.onnx`` (from the store when an
    export of the same recipe is there)."""
    recipe = resolve(model_or_file, weights=weights, variant=variant, exporter=exporter)
    return float_engine(recipe, workdir, log)


def uint8_engine(engine: Engine, *, log: Say | None = None) -> Engine:
    """The uint8-input engine of the float ONNX ``engine``, ``STEM.u8.onnx`` beside it (from the store when made
    before from the same bytes); ``engine`` itself when it takes uint8."""
    if engine.input_dtype == "uint8":
        return engine
    return uint8_input(resolve(engine.path), Path(engine.path).parent, engine, log)


def export_file(recipe: Recipe, out: str | Path, input_dtype: str = "float32", log: Say | None = None) -> Engine:
    """The ``export`` command: the recipe's float (or uint8-input) ONNX at ``out``, a link to the stored engine
    (exported only when the store has none of this recipe)."""
    import os
    import shutil

    dest = Path(out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".export-") as tmp:
        eng = float_engine(recipe, tmp, log)
        if input_dtype == "uint8":
            eng = uint8_input(recipe, tmp, eng, log)
        staged = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            os.link(eng.path, staged)
        except OSError:
            shutil.copyfile(eng.path, staged)
        os.replace(staged, dest)
    return load_engine(str(dest))
