"""``zoobench compile``: an exported ONNX -> a runtime's artifact at a precision, carrying the same metadata.

Artifacts: ORT-optimized or QDQ-int8 ONNX (metadata in ``metadata_props``), OpenVINO IR ``.xml/.bin``
(metadata in the IR's ``rt_info`` under ``zoobench`` and in ``ENGINE.zoobench.json``), TensorRT plan
(sidecar only). Every non-fp32 engine is compared with the fp32 reference on images when there are any.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from zoobench.engine import Engine, resolve_engine, sidecar_path
from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.io import write_json

PRECISIONS = ("fp32", "fp16", "bf16", "int8")
_SUFFIX = {"onnxruntime": ".onnx", "openvino": ".xml", "tensorrt": ".plan"}


def default_output(
    source: Engine, runtime: str, precision: str, batch_size: int | None = None, input_dtype: str | None = None
) -> Path:
    src = Path(source.path)
    bs = f".b{batch_size}" if batch_size else ""
    tag = ""
    if input_dtype and input_dtype != source.input_dtype:
        tag = ".u8" if input_dtype == "uint8" else ".float"
    return src.with_name(f"{src.stem}.{runtime}.{precision}{bs}{tag}{_SUFFIX[runtime]}")


def _input_dtype(asked: str | None, source: Engine) -> str:
    """The engine's input type: ``uint8`` or ``float32`` (``float`` accepted); None keeps the source's."""
    if asked is None:
        return source.input_dtype
    value = {"float": "float32", "fp32": "float32"}.get(asked, asked)
    if value not in ("float32", "uint8"):
        raise ZoobenchError(f"--input must be float or uint8, got {asked!r}")
    return value


def compile_engine(
    model: str | Engine,
    *,
    runtime: str = "onnxruntime",
    precision: str = "fp32",
    batch_size: int | None = None,
    calibration: str | None = None,
    agreement_data: str | None = None,
    output: str | None = None,
    weights: str | None = None,
    workdir: str = ".",
    calibration_limit: int = 300,
    log: Any = None,
    input_dtype: str | None = None,
) -> Engine:
    """Compile ``model`` (a name, an .onnx file or an :class:`Engine`) for ``runtime`` at ``precision``.

    Args:
        batch_size: fix the batch (OpenVINO reshape; TensorRT optimisation profile); None keeps it dynamic.
        calibration: image folder for int8 calibration (the model's own preprocessing). Without it int8
            is calibrated on random data, which is recorded and printed as a warning.
        agreement_data: image folder to compare the engine with the fp32 reference (default: ``calibration``).
        output: artifact path (default: beside the source, ``STEM.RUNTIME.PRECISION.EXT``).
        input_dtype: ``uint8`` makes an engine that takes the uint8 crop and normalizes inside (ONNX prefix
            nodes; OpenVINO's PrePostProcessor), ``float32`` one that takes normalized floats; None: as the source.

    Returns:
        The compiled engine; its metadata holds ``runtime``, ``precision``, ``calibration`` and ``agreement``.
    """
    say = log or (lambda _msg: None)
    if runtime not in _SUFFIX:
        raise ZoobenchError(f"compile --runtime must be one of {', '.join(_SUFFIX)}, got {runtime!r}")
    if precision not in PRECISIONS:
        raise ZoobenchError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    source = model if isinstance(model, Engine) else resolve_engine(model, weights=weights, workdir=workdir, log=say)
    if source.runtime:
        raise ZoobenchError(f"{source.path} is already compiled ({source.runtime} {source.precision}); pass its ONNX")
    want = _input_dtype(input_dtype, source)
    out = Path(output) if output else default_output(source, runtime, precision, batch_size, want)
    if out.suffix.lower() != _SUFFIX[runtime]:
        raise ZoobenchError(f"a {runtime} artifact must end in {_SUFFIX[runtime]}, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    pp = source.preprocess
    calib_info: dict[str, Any] | None = None
    calib = None
    if precision == "int8":
        from zoobench.quantize import RANDOM_CALIBRATION_WARNING, load_images, random_images

        if calibration:
            calib, names = load_images(calibration, pp, calibration_limit)
            calib_info = {"kind": "images", "folder": str(Path(calibration).resolve()), "count": len(names)}
        else:
            calib = random_images(pp)
            calib_info = {"kind": "random", "count": len(calib), "warning": RANDOM_CALIBRATION_WARNING}
            say(f"[bold red]WARNING[/] {RANDOM_CALIBRATION_WARNING}")
    from zoobench.uint8_input import input_meta

    dropped = ("agreement", "parity", "input_parity", "float_source_sha256")
    meta = {k: v for k, v in source.metadata.items() if k not in dropped}
    meta.update(input_meta(want))
    meta.update(
        {
            "runtime": runtime,
            "precision": precision,
            "source": str(Path(source.path).resolve()),
            "batch_size": batch_size,
            "calibration": calib_info,
            "compiled_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    )
    t0 = time.perf_counter()
    say(f"compiling {source.path} -> {out} ({runtime} {precision}, {want} input)")
    with tempfile.TemporaryDirectory(prefix="zoobench-core-") as tmp:
        core = _float_core(source, Path(tmp))  # calibration, quantization and PrePostProcessor work on it
        if runtime == "onnxruntime":
            _compile_ort(core, out, precision, calib, meta)
        elif runtime == "openvino":
            _compile_openvino(core, out, precision, calib, batch_size, meta)
        else:
            _compile_tensorrt(core, out, precision, calib, batch_size, meta)
    meta["compile_seconds"] = round(time.perf_counter() - t0, 3)
    data = agreement_data or calibration
    if precision != "fp32":
        meta["agreement"] = _agreement(source, out, runtime, precision, data, say)
    _store_metadata(out, runtime, meta)
    from zoobench.engine import load_engine

    return load_engine(str(out))


def _float_core(source: Engine, tmp: Path) -> Engine:
    """The source as a float-input engine: itself, or its float core with the uint8 prefix removed."""
    if source.input_dtype == "float32":
        return source
    from zoobench.uint8_input import input_meta, write_input_variant

    path = tmp / "core.onnx"
    write_input_variant(source.path, path, "float32")
    return Engine(str(path), source.model, source.preprocess, {**source.metadata, **input_meta("float32")})


def _with_uint8_input(src: str, dst: str, core: Engine) -> str:
    """Write ``src`` with the normalization prepended (uint8 input) to ``dst``; return ``dst``."""
    import onnx

    from zoobench.uint8_input import convert_input

    m = onnx.load(src)
    convert_input(m, core.preprocess, "uint8")
    onnx.save(m, dst)
    return dst


def _quantized(core: Engine, dst: str, calib: Any) -> None:
    """QDQ int8 of the float core, calibrated on normalized floats (the in-graph prefix stays fp32)."""
    import onnxruntime as ort

    from zoobench.quantize import quantize_onnx

    input_name = ort.InferenceSession(core.path, providers=["CPUExecutionProvider"]).get_inputs()[0].name
    quantize_onnx(core.path, dst, calib, input_name)


def _compile_ort(core: Engine, out: Path, precision: str, calib: Any, meta: dict[str, Any]) -> None:
    import onnx
    import onnxruntime as ort

    from zoobench.export import set_metadata

    if precision in ("fp16", "bf16"):
        raise RuntimeUnavailableError(
            f"onnxruntime {precision}: not useful on CPU; use openvino bf16 or tensorrt fp16 on a GPU"
        )
    uint8 = meta["input_dtype"] == "uint8"
    with tempfile.TemporaryDirectory(prefix="zoobench-compile-", dir=out.parent) as tmp:
        staged = str(Path(tmp) / "model.onnx")
        if precision == "int8":
            _quantized(core, staged, calib)
            if uint8:
                _with_uint8_input(staged, staged, core)
            meta["quantization"] = {
                "tool": "onnxruntime.quantization.quantize_static",
                "format": "QDQ",
                "per_channel": True,
                "activations": "uint8",
                "weights": "int8",
            }
        else:
            src = _with_uint8_input(core.path, str(Path(tmp) / "u8.onnx"), core) if uint8 else core.path
            # EXTENDED, not ALL: ALL bakes in layout-specific ops that only run on this exact CPU.
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            so.optimized_model_filepath = staged
            ort.InferenceSession(src, sess_options=so, providers=["CPUExecutionProvider"])
            meta["optimization"] = "ORT_ENABLE_EXTENDED"
        m = onnx.load(staged)
        del m.metadata_props[:]  # the export's own (parity of the fp32 graph) would mislead here
        set_metadata(m, meta)
        onnx.save(m, staged)
        os.replace(staged, out)


def _ov_uint8_input(model: Any, core: Engine) -> Any:
    """OpenVINO's own PrePostProcessor: u8 NCHW tensor -> f32, ``(x - 255*mean) / (255*std)``."""
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    pp = core.preprocess
    ppp = PrePostProcessor(model)
    inp = ppp.input()
    inp.tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NCHW"))
    inp.model().set_layout(ov.Layout("NCHW"))
    inp.preprocess().convert_element_type(ov.Type.f32).mean([255.0 * m for m in pp.mean]).scale(
        [255.0 * s for s in pp.std]
    )
    return ppp.build()


def _compile_openvino(
    core: Engine, out: Path, precision: str, calib: Any, batch_size: int | None, meta: dict[str, Any]
) -> None:
    import openvino as ov

    from zoobench.runtimes.openvino import supported_precisions

    if precision not in supported_precisions():
        caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        raise RuntimeUnavailableError(f"openvino {precision} is not supported by this CPU (capabilities: {caps})")
    model = ov.convert_model(core.path)
    if batch_size:
        model.reshape([batch_size, *core.preprocess.input_size])
    if precision == "int8":
        from zoobench.quantize import quantize_openvino

        model = quantize_openvino(model, calib)  # on the float model: calibrated on normalized floats
        meta["quantization"] = {"tool": "nncf.quantize", "nncf_preset": "performance (symmetric)"}
    if meta["input_dtype"] == "uint8":
        model = _ov_uint8_input(model, core)
        meta["normalization_impl"] = "openvino.preprocess.PrePostProcessor"
    meta["openvino_version"] = ov.get_version()
    for key, value in meta.items():
        model.set_rt_info(json.dumps(value), ["zoobench", key])
    with tempfile.TemporaryDirectory(prefix="zoobench-compile-", dir=out.parent) as tmp:
        staged = Path(tmp) / "model.xml"
        # weights stay fp32 in the IR: the runtime precision is set at load time, explicitly
        ov.save_model(model, str(staged), compress_to_fp16=False)
        os.replace(staged.with_suffix(".bin"), out.with_suffix(".bin"))
        os.replace(staged, out)


def _compile_tensorrt(
    core: Engine, out: Path, precision: str, calib: Any, batch_size: int | None, meta: dict[str, Any]
) -> None:
    """UNVERIFIED (no GPU here): int8 builds from a QDQ ONNX quantized by onnxruntime (explicit quantization);
    a uint8 plan is built from the uint8 ONNX (the normalization runs on the GPU)."""
    from zoobench.runtimes.tensorrt import build_plan

    onnx_path = core.path
    with tempfile.TemporaryDirectory(prefix="zoobench-compile-") as tmp:
        if precision == "int8":
            onnx_path = str(Path(tmp) / "qdq.onnx")
            _quantized(core, onnx_path, calib)
        if meta["input_dtype"] == "uint8":
            onnx_path = _with_uint8_input(onnx_path, str(Path(tmp) / "u8.onnx"), core)
        bs = batch_size or 64
        build_plan(
            onnx_path,
            str(out),
            precision=precision,
            max_batch=bs,
            opt_batch=bs,
            input_size=core.preprocess.input_size,
        )


def _agreement(source: Engine, out: Path, runtime: str, precision: str, data: str | None, say: Any) -> dict[str, Any]:
    """Compare the new engine with fp32 ONNX Runtime on the source ONNX; print and return the figures."""
    from zoobench.quantize import agreement, load_images, run_all
    from zoobench.runtimes import load_session

    if not data:
        say("[yellow]no images to compare with the fp32 reference: agreement unknown (pass --calibration)[/]")
        return {"count": 0, "note": "no images given; agreement with fp32 unknown"}
    pixels, _ = load_images(data, source.preprocess, raw=True)  # uint8 crops; normalized for float engines
    reference = run_all(load_session(source.path, "onnxruntime", precision="fp32"), pixels, pp=source.preprocess)
    engine_session = load_session(str(out), runtime, precision=precision)
    res = agreement(reference, run_all(engine_session, pixels, pp=source.preprocess))
    res["data"] = str(Path(data).resolve())
    res["reference"] = "onnxruntime fp32 on the source ONNX"
    say(
        f"agreement vs fp32 on {res['count']} images: top-1 {res['top1_agreement_pct']:.1f}%, "
        f"top-5 overlap {res['top5_overlap_pct']:.1f}%, max |logit diff| {res['max_abs_logit_diff']:.3g} "
        f"(max |logit| {res['max_abs_logit']:.3g})"
    )
    return res


def _store_metadata(out: Path, runtime: str, meta: dict[str, Any]) -> None:
    """Metadata into the artifact (ONNX) and, for IR/plan, the sidecar; the agreement also in a JSON beside."""
    if runtime == "onnxruntime":
        import onnx

        from zoobench.export import set_metadata

        m = onnx.load(str(out))
        extra: dict[str, Any] = {k: meta[k] for k in ("agreement", "compile_seconds") if k in meta}
        set_metadata(m, extra)
        staged = out.with_name(f".{out.name}.tmp")
        onnx.save(m, str(staged))
        os.replace(staged, out)
    else:
        write_json(sidecar_path(out), meta)
    if "agreement" in meta:
        write_json(out.with_name(f"{out.stem}.agreement.json"), meta["agreement"])
