"""OpenVINO (CPU): precision always explicit; throughput mode with an AsyncInferQueue for perf."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.artifact import sidecar_path
from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.runtimes.base import Candidate, InFlight, LoadOptions, RuntimeDescription, RuntimeInfo, Timing
from zoobench.uint8_input import check_batch_dtype

# zoobench precision -> INFERENCE_PRECISION_HINT. An int8 IR is a quantized graph: its non-quantized
# parts run in f32 (never the CPU's silent bf16 default).
_HINTS = {"fp32": "f32", "int8": "f32", "bf16": "bf16", "fp16": "f16"}
# precision -> OPTIMIZATION_CAPABILITIES entry the device must list
_CAPS = {"bf16": "BF16", "fp16": "FP16", "int8": "INT8"}


def supported_precisions(core: Any = None, device: str = "CPU") -> list[str]:
    """The precisions the device can run natively, from ``OPTIMIZATION_CAPABILITIES``."""
    import openvino as ov

    core = core or ov.Core()
    caps = set(core.get_property(device, "OPTIMIZATION_CAPABILITIES"))
    return ["fp32"] + [p for p, cap in _CAPS.items() if cap in caps]


class OvSession:
    """One compiled OpenVINO model.

    ``run`` is synchronous (one infer request); its :meth:`in_flight` form (:meth:`time_async`) keeps ``nireq``
    requests in flight through an ``AsyncInferQueue``, which is how OpenVINO's THROUGHPUT hint is meant to be used.
    """

    timing_mode = "async"

    def __init__(
        self,
        model_path: str,
        *,
        device: str = "cpu",
        precision: str = "fp32",
        threads: int | None = None,
        hint: str = "latency",
        **options: Any,
    ) -> None:
        import openvino as ov

        reason = supports(precision, device)
        if reason:
            raise RuntimeUnavailableError(reason)
        if hint.upper() not in ("LATENCY", "THROUGHPUT"):
            raise ZoobenchError(f"openvino hint must be latency or throughput, got {hint!r}")
        core = ov.Core()
        config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": _HINTS[precision],
            "PERFORMANCE_HINT": hint.upper(),
        }
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        config.update(_tuned_config(options))
        model = core.read_model(model_path)
        if len(model.inputs) != 1:
            raise ZoobenchError(f"{model_path}: expected one input, found {len(model.inputs)}")
        self.input_name: str = model.inputs[0].get_any_name()
        self.output_name: str = model.outputs[0].get_any_name()
        pshape = model.inputs[0].get_partial_shape()
        # a uint8 IR (compile --input uint8) normalizes inside, with OpenVINO's PrePostProcessor
        self.input_dtype = np.dtype(np.uint8 if model.inputs[0].get_element_type() == ov.Type.u8 else np.float32)
        self.input_shape: tuple[int | str, ...] = tuple(d.get_length() if d.is_static else "batch" for d in pshape)
        self._compiled = core.compile_model(model, "CPU", config)
        self._request = self._compiled.create_infer_request()
        # A dynamic batch compiles to slower generic kernels; like benchmark_app (and the seeds' one .om per
        # batch size), compile a static-shape copy per batch size on first use.
        self._dynamic_batch = not pshape[0].is_static and bool(options.get("static_batch", True))
        self._model, self._core, self._config = model, core, config
        self._config_nireq = int(options["nireq"]) if options.get("nireq") else None
        self._pinning = options.get("pinning")
        self._by_batch: dict[int, tuple[Any, Any]] = {}
        # concurrent runs: the free infer requests per batch size, made on demand up to ``nireq``
        self._free: dict[int, list[Any]] = {}
        self._made: dict[int, int] = {}
        self._lock, self._cond = threading.Lock(), threading.Condition()
        actual = self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        if actual != _HINTS[precision]:  # never report a precision that is not the one running
            raise RuntimeUnavailableError(f"openvino asked for {_HINTS[precision]} but compiled with {actual}")
        self._precision = precision
        self._hint = hint.lower()
        self._threads = int(self._compiled.get_property("INFERENCE_NUM_THREADS")) or threads or os.cpu_count()
        # requests in flight for time_async: the plugin's optimum unless ``nireq`` says otherwise
        self._nireq = int(options.get("nireq") or self._compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._streams = str(self._compiled.get_property("NUM_STREAMS"))
        self._actual_hint = actual
        self._version = ov.get_version()

    def _for_batch(self, n: int) -> tuple[Any, Any]:
        """(compiled model, infer request) for batch size ``n``."""
        if not self._dynamic_batch:
            return self._compiled, self._request
        with self._lock:
            return self._static(n)

    def _static(self, n: int) -> tuple[Any, Any]:
        if n not in self._by_batch:
            import openvino as ov

            static = self._model.clone()
            shape = [n, *list(self._model.inputs[0].get_partial_shape())[1:]]
            static.reshape({0: ov.PartialShape(shape)})
            compiled = self._core.compile_model(static, "CPU", self._config)
            self._by_batch[n] = (compiled, compiled.create_infer_request())
        return self._by_batch[n]

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self._compiled is None:
            raise ZoobenchError("openvino: this session was released")
        check_batch_dtype(batch, self.input_dtype, "openvino")
        batch = np.ascontiguousarray(batch, dtype=self.input_dtype)
        n = len(batch)
        request = self._acquire(n)
        try:
            res = request.infer({0: batch})
            return np.array(res[0], dtype=np.float32)  # a copy: the request's output is reused by the next run
        finally:
            with self._cond:
                self._free[n].append(request)
                self._cond.notify()

    def _acquire(self, n: int) -> Any:
        """A free infer request of batch size ``n``: the first one, another one made while fewer than
        :meth:`concurrent_runs` exist, else the next one freed (a single caller always gets the first)."""
        compiled, first = self._for_batch(n)
        with self._cond:
            free = self._free.setdefault(n, [first] if n not in self._made else [])
            self._made.setdefault(n, 1)
            while not free and self._made[n] >= self._nireq:
                self._cond.wait()
            if free:
                return free.pop()
            self._made[n] += 1
            return compiled.create_infer_request()

    def concurrent_runs(self) -> int:
        return max(1, self._nireq)

    def in_flight(self) -> InFlight | None:
        return self

    def time_async(self, batch: np.ndarray, timing: Timing) -> tuple[list[float], float]:
        """Keep the optimal number of requests in flight until both ``timing.seconds`` and ``timing.min_iters`` are
        reached (or ``timing.max_iters``).

        Returns:
            Per-request latencies in seconds (start to callback, as benchmark_app reports them) and the
            wall time of the measured region.
        """
        import openvino as ov

        check_batch_dtype(batch, self.input_dtype, "openvino")
        batch = np.ascontiguousarray(batch, dtype=self.input_dtype)
        compiled = self._for_batch(len(batch))[0]
        nireq = self._config_nireq or int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        queue = ov.AsyncInferQueue(compiled, nireq)
        # No Python callback and no userdata: a Python object handed to OpenVINO's worker threads makes one of
        # them take the GIL after ``wait_all`` returns, and the compiled model's release (GIL held) then joins
        # that thread forever. Each request's own latency (start to completion, as benchmark_app reports it) is
        # read when it is idle again, before it is restarted.
        for _ in range(max(timing.warmup, 1) * len(queue)):
            queue.start_async({0: batch}, share_inputs=False)
        queue.wait_all()
        latencies: list[float] = []
        fresh: set[int] = set()  # requests started in the measured region (their latency belongs to it)
        clock = timing.clock or time.perf_counter
        start = clock()
        submitted = 0
        while True:
            idle = queue.get_idle_request_id()  # blocks until a request is free: the one start_async takes
            if idle in fresh:
                latencies.append(queue[idle].latency / 1e3)
            fresh.add(idle)
            queue.start_async({0: batch}, share_inputs=False)
            submitted += 1
            elapsed = clock() - start
            if (elapsed >= timing.seconds and submitted >= timing.min_iters) or submitted >= timing.max_iters:
                break
        queue.wait_all()
        latencies.extend(queue[i].latency / 1e3 for i in sorted(fresh))  # the last run of each request
        return latencies, clock() - start

    def release(self) -> None:
        self._compiled = self._request = self._model = None
        self._by_batch.clear()
        self._free.clear()
        self._made.clear()

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(
            "openvino",
            "cpu",
            self._precision,
            self._threads,
            self._version,
            {
                "inference_precision_hint": self._actual_hint,
                "performance_hint": self._hint,
                "num_streams": self._streams,
                "infer_requests": self._nireq,
                **({"cpu_pinning": self._pinning} if self._pinning is not None else {}),
            },
        )


def _tuned_config(options: dict[str, Any]) -> dict[str, int | bool]:
    """The compile properties ``tune`` searches: ``num_streams`` (NUM_STREAMS), ``pinning``
    (ENABLE_CPU_PINNING); ``nireq`` is not a property: it is the requests ``time_async`` keeps in flight."""
    config: dict[str, int | bool] = {}
    if options.get("num_streams") is not None:
        config["NUM_STREAMS"] = int(options["num_streams"])
    if options.get("pinning") is not None:
        config["ENABLE_CPU_PINNING"] = bool(options["pinning"])
    return config


def tunables(cores: int, precision: str = "fp32", deep: bool = False) -> list[Candidate]:
    """The load settings ``zoobench tune`` tries over perf's default (THROUGHPUT hint), the default first:
    the hint, NUM_STREAMS × INFERENCE_NUM_THREADS, requests in flight, CPU pinning."""
    del precision, deep
    out = [Candidate(), Candidate.of(hint="latency"), Candidate.of(threads=cores, num_streams=1)]
    streams = 2
    while streams <= min(cores, 8):
        out.append(Candidate.of(threads=cores, num_streams=streams))
        out.append(Candidate.of(threads=cores, num_streams=streams, nireq=2 * streams))
        streams *= 2
    out += [Candidate.of(nireq=2 * max(cores, 1)), Candidate.of(pinning=False)]
    return [*out, Candidate.of(threads=cores, num_streams=1, nireq=2)]


def beside_decoders() -> LoadOptions:
    """None declared: OpenVINO is loaded beside decode processes as it is alone."""
    return {}


def server_streams(cores: int) -> LoadOptions:
    """None declared: the Server serves from one session, its infer requests the workers."""
    del cores
    return {}


def _ov_uint8_input(model: Any, core: Any) -> Any:
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


def compile_artifact(
    core: Any, out: Path, precision: str, calib: Any, batch_size: int | None, meta: dict[str, Any]
) -> None:
    """An OpenVINO IR (``.xml`` + ``.bin``, fp32 weights) of the float ``core``: static batch when asked, NNCF
    int8, the uint8 input by PrePostProcessor; the pair lands together (``.bin`` first, then ``.xml``)."""
    import openvino as ov

    reason = supports(precision, "cpu")
    if reason:
        raise RuntimeUnavailableError(reason)
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
        # The pair cannot be renamed in one step. The sidecar is the commit point: removed before the pair is
        # replaced and written after it (by compile), so an interrupted replace leaves no engine that loads.
        sidecar_path(out).unlink(missing_ok=True)
        os.replace(staged.with_suffix(".bin"), out.with_suffix(".bin"))
        os.replace(staged, out)


# perf's load options: THROUGHPUT, with requests kept in flight (``time_async``), as benchmark_app runs
PERF_OPTIONS: LoadOptions = {"hint": "throughput"}

COMPILED_PRECISIONS = frozenset({"int8"})  # fp32 / bf16 / fp16 read the ONNX; the precision is a load setting


def supports(precision: str, device: str = "cpu") -> str | None:
    """None when OpenVINO can run ``precision`` on ``device`` here (the CPU's OPTIMIZATION_CAPABILITIES)."""
    import openvino as ov

    if device.split(":")[0] != "cpu":
        return f"zoobench runs OpenVINO on cpu only, got device {device!r}"
    if precision not in _HINTS:
        return f"openvino precision must be one of {', '.join(_HINTS)}, got {precision!r}"
    core = ov.Core()
    if precision not in supported_precisions(core):
        caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        return f"openvino {precision} is not supported by this CPU (OPTIMIZATION_CAPABILITIES: {', '.join(caps)})"
    return None


def load(model_path: str, **kw: Any) -> OvSession:
    return OvSession(model_path, **kw)


def describe() -> RuntimeDescription:
    """Availability, version, devices and native precisions of OpenVINO here."""
    import openvino as ov

    core = ov.Core()
    return {
        "available": True,
        "version": ov.get_version(),
        "devices": [d.lower() for d in core.available_devices],
        "precisions": supported_precisions(core),
        "cpu_capabilities": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
    }
