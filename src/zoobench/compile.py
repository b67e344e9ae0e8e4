"""``zoobench compile``: an exported ONNX -> a runtime's artifact at a precision, carrying the same metadata.

Artifacts: ORT-optimized or QDQ-int8 ONNX (metadata in ``metadata_props``), OpenVINO IR ``.xml/.bin``
(metadata in the IR's ``rt_info`` under ``zoobench`` and in ``ENGINE.zoobench.json``), TensorRT plan
(sidecar only). Every non-fp32 engine is compared with the fp32 reference on images when there are any.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from zoobench.artifact import Engine, is_model_file, load_engine, sidecar_path
from zoobench.errors import ZoobenchError
from zoobench.io import write_json
from zoobench.runtimes import compiling_module
from zoobench.settings import Settings

if TYPE_CHECKING:
    from zoobench.evaluate.metrics import Agreement

PRECISIONS = ("fp32", "fp16", "bf16", "int8")


def compile_suffix(runtime: str) -> str:
    """The artifact suffix of a runtime that compiles (from the runtime registry); one line otherwise."""
    from zoobench.runtimes import RUNTIMES

    spec = RUNTIMES.get(runtime)
    if spec is None or spec.suffix is None:
        can = ", ".join(n for n, s in RUNTIMES.items() if s.suffix)
        raise ZoobenchError(f"compile --runtime must be one of {can}, got {runtime!r}")
    return spec.suffix


def default_output(
    source: Engine, runtime: str, precision: str, batch_size: int | None = None, input_dtype: str | None = None
) -> Path:
    src = Path(source.path)
    bs = f".b{batch_size}" if batch_size else ""
    tag = ""
    if input_dtype and input_dtype != source.input_dtype:
        tag = ".u8" if input_dtype == "uint8" else ".float"
    return src.with_name(f"{src.stem}.{runtime}.{precision}{bs}{tag}{compile_suffix(runtime)}")


INPUT_DTYPES = {"float": "float32", "fp32": "float32", "float32": "float32", "uint8": "uint8"}  # asked -> made


def _input_dtype(asked: str | None, source: Engine) -> str:
    """The engine's input type: ``uint8`` or ``float32`` (``float`` accepted); None keeps the source's."""
    return source.input_dtype if asked is None else INPUT_DTYPES[asked]


def _build_artifact(source: Engine, out: Path, s: CompileSettings, calib: Any, meta: dict[str, Any]) -> None:
    """The runtime's own compile of ``source`` into ``out`` (the column and batch ``s`` names); ``meta`` gets
    ``compile_seconds``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zoobench-core-") as tmp:
        core = _float_core(source, Path(tmp))  # calibration, quantization and PrePostProcessor work on it
        compiling_module(s.runtime).compile_artifact(core, out, s.precision, calib, s.batch_size, meta)
    meta["compile_seconds"] = round(time.perf_counter() - t0, 3)


@dataclass(frozen=True)
class CompileSettings(Settings):
    """How one engine is compiled: the column, the data that calibrates and checks it, where it goes.

    Attributes:
        runtime / precision: the column compiled for (a runtime that compiles: its registry entry has a suffix).
        batch_size: fix the batch (OpenVINO reshape; TensorRT optimisation profile); None keeps it dynamic.
        calibration: image folder for int8 calibration (the model's own preprocessing). Without it int8
            is calibrated on random data, which is recorded and printed as a warning.
        calibration_limit: at most this many of its images.
        agreement_data: image folder to compare the engine with the fp32 reference (default: ``calibration``).
        output: artifact path (default: beside the source, ``STEM.RUNTIME.PRECISION.EXT``).
        input_dtype: ``uint8`` makes an engine that takes the uint8 crop and normalizes inside (ONNX prefix
            nodes; OpenVINO's PrePostProcessor), ``float32`` (or ``float``) one that takes normalized floats;
            None: as the source.
        accuracy_control: ``{"max_drop": "1.0" | "1%", "data": FOLDER, "labels": FILE | None}``: int8 by NNCF's
            accuracy-aware quantizer (see :mod:`zoobench.accuracy_control`); its record lands in the metadata.
        weights / workdir: how a model name is exported first (by the engine build, before compile), and where to.
    """

    WHAT = "compile"

    runtime: str = "onnxruntime"
    precision: str = "fp32"
    batch_size: int | None = None
    calibration: str | None = None
    calibration_limit: int = 300
    agreement_data: str | None = None
    output: str | None = None
    input_dtype: str | None = None
    accuracy_control: dict[str, Any] | None = None
    weights: str | None = None
    workdir: str = "."

    def __post_init__(self) -> None:
        compile_suffix(self.runtime)
        if self.precision not in PRECISIONS:
            raise ZoobenchError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.input_dtype is not None and self.input_dtype not in INPUT_DTYPES:
            raise ZoobenchError(f"--input must be float or uint8, got {self.input_dtype!r}")


def compile_engine(
    model: str | Engine, settings: CompileSettings | None = None, *, log: Any = None, **options: Any
) -> Engine:
    """Compile ``model`` (a name, an .onnx file or an :class:`Engine`) as ``settings`` say (see
    :class:`CompileSettings`); a caller without them passes their fields as keyword ``options``.

    Returns:
        The compiled engine; its metadata holds ``runtime``, ``precision``, ``calibration`` and ``agreement``.
    """
    s = CompileSettings.given(settings, options)
    runtime, precision, batch_size, control = s.runtime, s.precision, s.batch_size, s.accuracy_control
    say = log or (lambda _msg: None)
    source = model if isinstance(model, Engine) else _source(model, s)
    if source.runtime:
        raise ZoobenchError(f"{source.path} is already compiled ({source.runtime} {source.precision}); pass its ONNX")
    want = _input_dtype(s.input_dtype, source)
    out = Path(s.output) if s.output else default_output(source, runtime, precision, batch_size, want)
    if out.suffix.lower() != compile_suffix(runtime):
        raise ZoobenchError(f"a {runtime} artifact must end in {compile_suffix(runtime)}, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    calib, calib_info = _calibration(precision, s.calibration, source, s.calibration_limit, say, control, runtime)
    meta = _compiled_metadata(source, want, runtime, precision, batch_size, calib_info)
    say(f"compiling {source.path} -> {out} ({runtime} {precision}, {want} input)")
    _build_artifact(source, out, s, calib, meta)
    if control is not None:
        _record_control(meta, calib, say)
    if precision != "fp32":
        data = s.agreement_data or s.calibration or (control or {}).get("data")
        meta["agreement"] = _agreement(source, out, s, data, say)
        _explain_agreement(meta["agreement"], source.random_weights, calib_info, say)
    _store_metadata(out, runtime, meta)
    return load_engine(str(out))


def _source(model: str, s: CompileSettings) -> Engine:
    """The engine a file names; a model name is exported by the engine build first (``zoobench compile NAME``:
    :func:`zoobench.engines.resolve_engine`), never here."""
    if is_model_file(model):
        if s.weights:
            raise ZoobenchError("--weights applies to a model name, not to an ONNX file")
        return load_engine(model)
    raise ZoobenchError(f"compile_engine takes an engine or a model file, not {model!r}: export it first")


class CalibrationInfo(TypedDict, total=False):
    """How an int8 engine was calibrated (``calibration`` in its metadata)."""

    kind: str
    folder: str
    count: int
    warning: str
    note: str


def _calibration(
    precision: str, folder: str | None, source: Engine, limit: int, say: Any, control: Any, runtime: str
) -> tuple[Any, CalibrationInfo | None]:
    """int8's calibration data: the folder's images through the model's preprocessing, else random (warned);
    with ``control``, the accuracy-aware quantizer's images (:func:`zoobench.accuracy_control.prepare`)."""
    if control is not None:
        return _control(precision, folder, source, control, runtime)
    if precision != "int8":
        return None, None
    from zoobench.quantize import RANDOM_CALIBRATION_WARNING, load_images, random_images

    if folder:
        calib, names = load_images(folder, source.preprocess, limit)
        return calib, {"kind": "images", "folder": str(Path(folder).resolve()), "count": len(names)}
    calib = random_images(source.preprocess)
    say(f"[bold red]WARNING[/] {RANDOM_CALIBRATION_WARNING}")
    return calib, {"kind": "random", "count": len(calib), "warning": RANDOM_CALIBRATION_WARNING}


def _control(
    precision: str, folder: str | None, source: Engine, control: dict[str, Any], runtime: str
) -> tuple[Any, CalibrationInfo]:
    from zoobench.accuracy_control import prepare
    from zoobench.evaluate.paired import parse_max_drop

    if precision != "int8":
        raise ZoobenchError(f"--accuracy-control is for int8 engines, got --precision {precision}")
    if runtime not in ("onnxruntime", "openvino"):
        raise ZoobenchError(f"--accuracy-control uses NNCF: --runtime onnxruntime or openvino, got {runtime}")
    if not control.get("data"):
        raise ZoobenchError("--accuracy-control needs --data IMAGES to measure the drop on")
    drop = parse_max_drop(control.get("max_drop") or "1.0")
    ac = prepare(source, control["data"], control.get("labels"), folder, drop)
    info: CalibrationInfo = {
        "kind": "images",
        "folder": str(Path(folder or control["data"]).resolve()),
        "count": len(ac.calib),
    }
    if not folder:
        info["note"] = "the validation half of --data (the held-out half measures the drop)"
    return ac, info


def _record_control(meta: dict[str, Any], ac: Any, say: Any) -> None:
    rec = ac.record
    meta["accuracy_control"] = rec
    meta["quantization"] = {"tool": "nncf.quantize_with_accuracy_control", "metric": rec["metric"]}
    aware, plain = rec["aware"], rec["plain"]
    say(
        f"accuracy-aware int8: {len(rec['kept_float'])} operation(s) kept in float; held-out drop "
        f"{aware['held_out_drop_points']:+.2f} points (plain NNCF int8: {plain['held_out_drop_points']:+.2f}) on "
        f"{rec['images']['held_out']} images, max {rec['max_drop']}; speed {rec['speed_vs_plain']:.2f}× plain int8"
    )


def _compiled_metadata(
    source: Engine, want: str, runtime: str, precision: str, batch_size: int | None, calib_info: Any
) -> dict[str, Any]:
    """The source's metadata (less what described the source graph itself) plus how this engine was made."""
    from zoobench.uint8_input import input_meta

    dropped = ("agreement", "parity", "input_parity", "float_source_sha256")
    meta = {k: v for k, v in source.metadata.items() if k not in dropped}
    meta.update(input_meta(want))
    meta.update(
        runtime=runtime,
        precision=precision,
        source=str(Path(source.path).resolve()),
        batch_size=batch_size,
        calibration=calib_info,
        compiled_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    return meta


def _float_core(source: Engine, tmp: Path) -> Engine:
    """The source as a float-input engine: itself, or its float core with the uint8 prefix removed."""
    if source.input_dtype == "float32":
        return source
    from zoobench.uint8_input import input_meta, write_input_variant

    path = tmp / "core.onnx"
    write_input_variant(source.path, path, "float32")
    return Engine(str(path), source.model, source.preprocess, {**source.metadata, **input_meta("float32")})


def _agreement(source: Engine, out: Path, s: CompileSettings, data: str | None, say: Any) -> Agreement:
    """Compare the new engine with fp32 ONNX Runtime on the source ONNX; print and return the figures. The engine
    runs batches no larger than the batch it was compiled for (a TensorRT profile takes no more)."""
    runtime, precision, batch_size = s.runtime, s.precision, s.batch_size
    from zoobench.evaluate.metrics import agreement
    from zoobench.quantize import load_images, run_all
    from zoobench.runtimes import load_session

    if not data:
        say("[yellow]no images to compare with the fp32 reference: agreement unknown (pass --calibration)[/]")
        return {"count": 0, "note": "no images given; agreement with fp32 unknown"}
    pixels, _ = load_images(data, source.preprocess, raw=True)  # uint8 crops; normalized for float engines
    reference = run_all(load_session(source.path, "onnxruntime", precision="fp32"), pixels, pp=source.preprocess)
    engine_session = load_session(str(out), runtime, precision=precision)
    res = agreement(reference, run_all(engine_session, pixels, min(8, batch_size or 8), pp=source.preprocess))
    res["data"] = str(Path(data).resolve())
    res["reference"] = "onnxruntime fp32 on the source ONNX"
    say(
        f"agreement vs fp32 on {res['count']} images: top-1 {res['top1_agreement_pct']:.1f}%, "
        f"top-5 overlap {res['top5_overlap_pct']:.1f}%, max |logit diff| {res['max_abs_logit_diff']:.3g} "
        f"(max |logit| {res['max_abs_logit']:.3g})"
    )
    return res


LOW_AGREEMENT_PCT = 50.0


def low_agreement_note(agreement_pct: float, random_weights: bool, calibration_kind: str | None) -> str | None:
    """What the top-1 agreement with fp32 means, in one sentence: always for random weights (any figure is noise),
    else when it is below :data:`LOW_AGREEMENT_PCT`; None otherwise."""
    if random_weights:
        return (
            f"top-1 agreement {agreement_pct:.0f}% means nothing here: the model has random weights, whose logits "
            "carry no learned signal (the classes score nearly alike), so rounding noise decides top-1; it says "
            "nothing about this precision on trained weights"
        )
    if agreement_pct >= LOW_AGREEMENT_PCT:
        return None
    if calibration_kind == "random":
        return (
            f"top-1 agreement {agreement_pct:.0f}%: calibrated on random data, the engine answers unlike fp32 on most "
            "images; calibrate on a few hundred real images (--calibration DIR) before trusting it"
        )
    return (
        f"top-1 agreement {agreement_pct:.0f}%: this engine gives other answers than fp32 on most images; check the "
        "calibration images (a few hundred from the task's data) before trusting it"
    )


def _explain_agreement(res: Agreement, random_weights: bool, calib: CalibrationInfo | None, say: Any) -> None:
    if not res.get("count"):
        return
    note = low_agreement_note(float(res["top1_agreement_pct"]), random_weights, (calib or {}).get("kind"))
    if note:
        res["warning"] = note
        say(f"[yellow]{note}[/]")


def _store_metadata(out: Path, runtime: str, meta: dict[str, Any]) -> None:
    """Metadata into the artifact (ONNX) and, for IR/plan, the sidecar; the agreement also in a JSON beside."""
    if out.suffix.lower() == ".onnx":  # the artifact carries its metadata; IR and plans get a sidecar
        import onnx

        from zoobench.artifact import set_metadata

        m = onnx.load(str(out))
        keys = ("agreement", "compile_seconds", "accuracy_control", "quantization")
        extra: dict[str, Any] = {k: meta[k] for k in keys if k in meta}
        set_metadata(m, extra)
        staged = out.with_name(f".{out.name}.tmp")
        onnx.save(m, str(staged))
        os.replace(staged, out)
    else:
        write_json(sidecar_path(out), meta)
    if "agreement" in meta:
        write_json(out.with_name(f"{out.stem}.agreement.json"), meta["agreement"])
