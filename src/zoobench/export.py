"""PyTorch → ONNX: dynamic batch, the seeds' IO names, full check, simplify, parity vs PyTorch. Export-or-reuse
is the engine build's (:func:`zoobench.engines.resolve_engine`).

The preprocessing spec travels inside the ONNX file (``metadata_props``), so an engine knows how its
inputs must be made and ``zoobench infer model.onnx`` needs no model name.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zoobench.artifact import set_metadata
from zoobench.errors import ExportError
from zoobench.logits import compare_logits
from zoobench.models.spec import ModelSpec, Preprocess
from zoobench.settings import Settings

DEFAULT_OPSET = 18
EXPORTERS = ("dynamo", "torchscript")


@dataclass
class Parity:
    """ONNX Runtime vs PyTorch on the same random batch."""

    batch_size: int
    max_abs_diff: float
    max_abs_logit: float
    rel_diff: float
    top1_agreement: float
    tolerance_rel: float
    passed: bool


@dataclass
class ExportResult:
    path: str
    model: str
    opset: int
    exporter: str
    simplified: bool
    seconds: float
    parity: Parity | None
    weights: dict[str, Any]
    note: str = ""  # e.g. why another exporter wrote the file than the one asked for


@dataclass(frozen=True)
class ExportSettings(Settings):
    """How a model is exported and checked.

    Attributes:
        opset / exporter: the ONNX opset and the ``torch.onnx`` exporter (``dynamo`` or ``torchscript``).
        simplify: run onnxslim over the graph.
        parity_batch / tolerance_rel: the random batch ONNX Runtime and PyTorch are compared on, and the relative
            logit difference allowed.
        input_dtype: ``uint8`` prepends the normalization to the checked float graph (see
            :mod:`zoobench.uint8_input`): the engine takes the uint8 NCHW crop under the same input name.
    """

    WHAT = "export"

    opset: int = DEFAULT_OPSET
    exporter: str = "dynamo"
    simplify: bool = True
    parity_batch: int = 2
    tolerance_rel: float = 1e-3
    input_dtype: str = "float32"

    def __post_init__(self) -> None:
        from zoobench.uint8_input import INPUT_DTYPES

        if self.input_dtype not in INPUT_DTYPES:
            raise ExportError(f"input type must be one of {', '.join(INPUT_DTYPES)}, got {self.input_dtype!r}")
        if self.exporter not in EXPORTERS:
            raise ExportError(f"exporter must be one of {EXPORTERS}, got {self.exporter!r}")


def export_model(
    model: Any,
    spec: ModelSpec,
    out_path: str | Path,
    *,
    preprocess: Preprocess,
    weights_info: dict[str, Any],
    settings: ExportSettings | None = None,
    **options: Any,
) -> ExportResult:
    """Export ``model`` (eval mode) to ``out_path`` as ``settings`` say (see :class:`ExportSettings`; a caller
    without them passes their fields as keyword ``options``) and check the result against PyTorch."""
    import onnx
    import torch

    s = ExportSettings.given(settings, options)
    opset, exporter = s.opset, s.exporter
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    t0 = time.perf_counter()
    try:
        exporter, note = _export_at_opset(model, spec, tmp, preprocess, opset, exporter)
        onnx_model = onnx.load(str(tmp))
        onnx_model = _fix_io(onnx_model, spec)
        simplified = False
        if s.simplify:
            onnx_model, simplified = _simplify(onnx_model)
        onnx.checker.check_model(onnx_model, full_check=True)
        meta: dict[str, Any] = {
            "model": spec.name,
            "preprocess": preprocess.to_dict(),
            "preprocess_hash": preprocess.hash(),
        }
        meta.update(weights=weights_info, num_classes=spec.num_classes, exporter=exporter, opset=opset)
        set_metadata(onnx_model, {**meta, "torch_version": torch.__version__})
        parity = check_parity(model, onnx_model.SerializeToString(), preprocess, s.parity_batch, s.tolerance_rel)
        if not parity.passed:
            raise ExportError(
                f"parity check failed for {spec.name}: ONNX Runtime vs PyTorch max |diff| "
                f"{parity.max_abs_diff:.3g} (relative {parity.rel_diff:.3g} > {s.tolerance_rel:g}), "
                f"top-1 agreement {parity.top1_agreement:.0%}"
            )
        set_metadata(onnx_model, {"parity": asdict(parity)})
        onnx_model = _with_input(onnx_model, preprocess, s.input_dtype, s.simplify)
        _check_opset(onnx_model, opset, exporter)
        onnx.save(onnx_model, str(tmp))
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportResult(
        str(out), spec.name, opset, exporter, simplified, time.perf_counter() - t0, parity, weights_info, note
    )


def onnx_opset(onnx_model: Any) -> int | None:
    """The version of the default ONNX domain the file imports (what ``atc`` and every runtime read)."""
    return next((int(o.version) for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")), None)


def _export_at_opset(
    model: Any, spec: ModelSpec, tmp: Path, preprocess: Preprocess, opset: int, exporter: str
) -> tuple[str, str]:
    """Export into ``tmp`` at exactly ``opset``. The dynamo exporter writes opset 18 and converts it down, which
    fails for many models below 18 (it then leaves 18): the TorchScript exporter is used instead, and the
    returned note says so. Returns the exporter that wrote the file and that note ("" when none)."""
    import onnx

    _torch_export(model, spec, tmp, preprocess, opset, exporter)
    got = onnx_opset(onnx.load(str(tmp), load_external_data=False))
    if got == opset or exporter != "dynamo":
        return exporter, ""
    _torch_export(model, spec, tmp, preprocess, opset, "torchscript")
    note = f"the dynamo exporter cannot write opset {opset} for {spec.name} (it wrote {got})"
    note += ": used the TorchScript exporter"
    return "torchscript", note


def _check_opset(onnx_model: Any, opset: int, exporter: str) -> None:
    """The file must have the opset it claims (its metadata says ``opset``)."""
    got = onnx_opset(onnx_model)
    if got != opset:
        raise ExportError(f"the {exporter} exporter wrote opset {got}, not the {opset} asked for; try another --opset")


def _torch_export(model: Any, spec: ModelSpec, tmp: Path, preprocess: Preprocess, opset: int, exporter: str) -> None:
    """``torch.onnx.export`` into ``tmp``: the dynamo exporter (dynamic batch via ``Dim``) or the legacy one."""
    import torch

    c, h, w = preprocess.input_size
    dummy = torch.randn(1, c, h, w)
    names: dict[str, Any] = {
        "input_names": [spec.input_name],
        "output_names": [spec.output_name],
        "opset_version": opset,
    }
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _quiet_loggers():
            warnings.simplefilter("ignore")
            if exporter == "dynamo":
                batch = torch.export.Dim("batch", min=1, max=4096)
                torch.onnx.export(
                    model,
                    (dummy,),
                    str(tmp),
                    dynamic_shapes=({0: batch},),
                    dynamo=True,
                    external_data=False,
                    verbose=False,
                    **names,
                )
            else:
                axes = {spec.input_name: {0: "batch"}, spec.output_name: {0: "batch"}}
                torch.onnx.export(model, (dummy,), str(tmp), dynamic_axes=axes, dynamo=False, **names)
    except Exception as exc:
        fault = _os_fault(exc)
        if fault is not None:  # a full disk or a read-only one: the CLI's one line with the path and what to do
            raise OSError(fault.errno, fault.strerror, str(fault.filename or tmp)) from exc
        raise ExportError(f"torch.onnx.export ({exporter}) failed for {spec.name}: {exc}") from exc


def _os_fault(exc: BaseException | None) -> OSError | None:
    """The OS error a user can fix (no space, read-only, ...) behind an exporter's own exception, if any."""
    from zoobench.errors import os_error_line

    while exc is not None:
        if isinstance(exc, OSError) and os_error_line(exc) is not None:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


@contextlib.contextmanager
def _quiet_loggers(names: tuple[str, ...] = ("onnxscript", "torch.onnx")) -> Any:
    """The exporters log their own failures (a failed opset conversion: a whole traceback) at WARNING; zoobench
    checks the file and says what happened in one line instead."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _with_input(onnx_model: Any, preprocess: Preprocess, input_dtype: str, simplify: bool) -> Any:
    """The checked float graph as it is, or with its uint8 input (checked, simplified, compared with it)."""
    import onnx

    from zoobench.uint8_input import check_input_parity, convert_input

    if input_dtype == "float32":
        return convert_input(onnx_model, preprocess, "float32")  # records input_dtype / normalization
    before = onnx_model.SerializeToString()
    onnx_model = convert_input(onnx_model, preprocess, "uint8")
    if simplify:
        onnx_model, _ = _simplify(onnx_model)
    onnx.checker.check_model(onnx_model, full_check=True)
    set_metadata(onnx_model, {"input_parity": check_input_parity(before, onnx_model.SerializeToString(), preprocess)})
    return onnx_model


def _fix_io(model: Any, spec: ModelSpec) -> Any:
    """Make sure the graph's single input/output carry the seeds' names and a symbolic batch dim."""
    graph = model.graph
    inputs = [i for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ExportError(f"expected one input and one output, got {len(inputs)} and {len(graph.output)}")
    for value in (inputs[0], graph.output[0]):
        dim = value.type.tensor_type.shape.dim[0]
        dim.dim_param = "batch"
    return model


def _simplify(model: Any) -> tuple[Any, bool]:
    try:
        import onnxslim
    except ImportError:
        return model, False
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slim = onnxslim.slim(model)
    del slim.metadata_props[:]  # onnxslim may copy them already: never twice
    slim.metadata_props.extend(model.metadata_props)
    return slim, True


def check_parity(
    model: Any, onnx_model: str | bytes, preprocess: Preprocess, batch: int, tolerance_rel: float
) -> Parity:
    """Run the same seeded random batch through PyTorch and ONNX Runtime (CPU, fp32)."""
    import onnxruntime as ort
    import torch

    from zoobench.data.synthetic import make_input

    x = make_input((batch, *preprocess.input_size))
    with torch.inference_mode():
        ref = model(torch.from_numpy(x)).float().numpy()
    sess = ort.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    if got.shape != ref.shape:
        raise ExportError(f"ONNX output shape {got.shape} differs from PyTorch {ref.shape}")
    c = compare_logits(ref, got)  # relative to the logits' scale: random-init models can have logits of 1e-8
    ok = c["finite"] and c["rel_diff"] <= tolerance_rel
    agree = c["top1_agreement_pct"] / 100.0
    return Parity(batch, c["max_abs_logit_diff"], c["max_abs_logit"], c["rel_diff"], agree, tolerance_rel, ok)
