"""Accuracy-aware int8: NNCF's ``quantize_with_accuracy_control`` keeps the most sensitive operations in float
until the measured top-1 drop is within ``--max-drop`` (OpenVINO ``ov.Model`` and ``onnx.ModelProto`` backends).

The images given (``compile --data``) are split, seeded, into two halves: NNCF's control loop validates on the
first (and calibrates on it, unless ``--calibration`` names a folder); the second is held out and measures the
final drop, so the recorded drop is on images the quantizer never saw. The metric is top-1 against the labels
when given, else top-1 agreement with the fp32 engine (label-free). The record (``accuracy_control`` in the
engine's metadata) lists the operations kept in float (quantized by plain NNCF int8, not by this one), the drop
measured on the held-out half (plain and accuracy-aware), and the speed of both, timed alike.
(Ascend's counterpart is AMCT's ``accuracy_based_auto_calibration``.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoobench.errors import DataError
from zoobench.evaluate.paired import MaxDrop

BATCH = 8


@dataclass
class AccuracyControl:
    """What the quantizer needs besides the model; :mod:`zoobench.quantize` hands it the model to quantize.

    ``calib``, ``val``, ``held``: normalized float images; ``val_target`` / ``held_target``: the class each
    image should get (its label, or fp32's top-1 when there are no labels).
    """

    calib: np.ndarray
    val: np.ndarray
    val_target: np.ndarray
    held: np.ndarray
    held_target: np.ndarray
    max_drop: MaxDrop
    metric: str  # "top-1 vs labels" or "top-1 agreement with fp32"
    held_fp32_pct: float  # fp32's top-1 on the held-out half against the same targets
    record: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:  # the calibration count, as compile records it
        return len(self.calib)

    def _nncf_args(self) -> dict[str, Any]:
        import logging

        import nncf

        nncf.set_log_level(logging.WARNING)  # its per-step log; the record and compile's one line say the outcome
        drop_type = nncf.DropType.RELATIVE if self.max_drop.relative else nncf.DropType.ABSOLUTE
        return {"max_drop": self.max_drop.value / 100, "drop_type": drop_type, "subset_size": self._items()}

    def _items(self) -> int:
        """Calibration items (batches of BATCH images): NNCF's subset size counts items."""
        return -(-len(self.calib) // BATCH)

    def _datasets(self, input_name: str | None = None) -> tuple[Any, Any]:
        """NNCF's calibration and validation sets; ONNX's backend takes ``{input name: batch}``."""
        import nncf

        def feed(x: np.ndarray) -> Any:
            return x if input_name is None else {input_name: x}

        calib = nncf.Dataset([self.calib[i : i + BATCH] for i in range(0, len(self.calib), BATCH)], feed)
        val = nncf.Dataset([(self.val[i : i + 1], i) for i in range(len(self.val))], lambda item: feed(item[0]))
        return calib, val

    def quantize_openvino(self, model: Any) -> Any:
        """Plain NNCF int8 and the accuracy-aware one of an ``ov.Model``; returns the accuracy-aware model."""
        import nncf
        import openvino as ov

        core = ov.Core()
        calib, val = self._datasets()
        plain = nncf.quantize(model.clone(), calib, subset_size=self._items())

        def validate(compiled: Any, items: Any) -> tuple[float, list[float]]:
            return self._score(lambda x: compiled(x)[0], items)

        aware = nncf.quantize_with_accuracy_control(model, calib, val, validate, **self._nncf_args())
        runners = {k: _ov_runner(core, m) for k, m in (("plain", plain), ("aware", aware))}
        self._finish(_ov_quantized_ops(plain) - _ov_quantized_ops(aware), runners)
        return aware

    def quantize_onnx(self, src: str, dst: str) -> None:
        """Plain NNCF int8 and the accuracy-aware one of an ONNX file; writes the accuracy-aware one to ``dst``."""
        import nncf
        import onnx

        model = onnx.load(src)
        calib, val = self._datasets(model.graph.input[0].name)
        plain = nncf.quantize(model, calib, subset_size=self._items())

        def validate(m: Any, items: Any) -> tuple[float, list[float]]:
            return self._score(_ort_runner(m), items)

        aware = nncf.quantize_with_accuracy_control(model, calib, val, validate, **self._nncf_args())
        runners = {"plain": _ort_runner(plain), "aware": _ort_runner(aware)}
        self._finish(_onnx_quantized_ops(plain) - _onnx_quantized_ops(aware), runners)
        onnx.save(aware, dst)

    def _score(self, run: Any, items: Any) -> tuple[float, list[float]]:
        per = [float(np.argmax(run(x)[0]) == self.val_target[i]) for x, i in items]
        return (float(np.mean(per)) if per else 0.0), per

    def _finish(self, kept: set[str], runners: dict[str, Any]) -> None:
        """Record the ops kept in float, the held-out drop of both quantizations, and their speed."""
        rec: dict[str, Any] = {
            "tool": "nncf.quantize_with_accuracy_control",
            "metric": self.metric,
            "max_drop": self.max_drop.text(),
            "images": {"calibration": len(self.calib), "validation": len(self.val), "held_out": len(self.held)},
            "kept_float": sorted(kept),
        }
        for name, run in runners.items():
            top1 = 100.0 * float(np.mean(np.argmax(_all(run, self.held), axis=1) == self.held_target))
            rec[name] = {
                "held_out_top1_pct": round(top1, 3),
                "held_out_drop_points": round(self.held_fp32_pct - top1, 3),
                "img_s": round(_img_s(run, self.held), 2),
            }
        rec["held_out_fp32_top1_pct"] = round(self.held_fp32_pct, 3)
        bound = self.max_drop.points(self.held_fp32_pct)
        rec["meets_max_drop"] = rec["aware"]["held_out_drop_points"] <= bound + 1e-9
        rec["speed_vs_plain"] = round(rec["aware"]["img_s"] / rec["plain"]["img_s"], 3)
        self.record.update(rec)


def _all(run: Any, x: np.ndarray) -> np.ndarray:
    return np.concatenate([run(x[i : i + BATCH]) for i in range(0, len(x), BATCH)])


def _img_s(run: Any, x: np.ndarray, seconds: float = 0.5) -> float:
    """Sync img/s of one batch of ``x``, after one untimed run (the same loop for both engines)."""
    batch = np.ascontiguousarray(np.resize(x, (BATCH, *x.shape[1:])))
    run(batch)
    n, t0 = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - t0 < seconds:
        run(batch)
        n += 1
    return n * BATCH / (time.perf_counter() - t0)


def _ov_runner(core: Any, model: Any) -> Any:
    compiled = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    return lambda x: compiled(x)[0]


def _ort_runner(model: Any) -> Any:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def _ov_quantized_ops(model: Any) -> set[str]:
    """Operations with a FakeQuantize on an input (what NNCF quantized)."""
    out = set()
    for op in model.get_ops():
        for i in range(op.get_input_size()):
            src = op.input_value(i).get_node()
            if src.get_type_name() == "FakeQuantize" and op.get_type_name() != "FakeQuantize":
                out.add(op.get_friendly_name())
    return out


def _onnx_quantized_ops(model: Any) -> set[str]:
    """Nodes fed by a DequantizeLinear (what NNCF quantized)."""
    producers = {o: n for n in model.graph.node for o in n.output}
    return {
        n.name or n.output[0]
        for n in model.graph.node
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear")
        and any(producers.get(i) is not None and producers[i].op_type == "DequantizeLinear" for i in n.input)
    }


def prepare(
    source: Any, data: str, labels: str | None, calibration: str | None, max_drop: MaxDrop, seed: int = 0
) -> AccuracyControl:
    """The images of ``data`` split into a validation half and a held-out half (seeded), their targets, and the
    calibration images (``calibration``'s, else the validation half's)."""
    from zoobench.data.datasets import image_key, read_labels
    from zoobench.data.transforms import normalize
    from zoobench.quantize import load_images, run_all
    from zoobench.runtimes import load_session

    pixels, names = load_images(data, source.preprocess, limit=10_000, raw=True)
    if labels:  # only the labeled images count (an image without a label cannot say top-1)
        table = read_labels(labels)
        keep = [i for i, n in enumerate(names) if image_key(n) in table]
        pixels, names = pixels[keep], [names[i] for i in keep]
    if len(pixels) < 4:
        what = "labeled " if labels else ""
        raise DataError(f"--accuracy-control needs at least 4 readable {what}images in {data}, found {len(pixels)}")
    session = load_session(source.path, "onnxruntime", precision="fp32")
    fp32 = np.argmax(run_all(session, pixels, pp=source.preprocess), axis=1)
    target, metric = fp32, "top-1 agreement with fp32"
    if labels:
        target, metric = np.array([table[image_key(n)] for n in names]), "top-1 vs labels"
    x = normalize(pixels, source.preprocess)
    order = np.random.default_rng(seed).permutation(len(x))
    val, held = np.sort(order[: len(x) // 2]), np.sort(order[len(x) // 2 :])
    calib = load_images(calibration, source.preprocess)[0] if calibration else x[val]
    held_fp32 = 100.0 * float(np.mean(fp32[held] == target[held]))
    return AccuracyControl(calib, x[val], target[val], x[held], target[held], max_drop, metric, held_fp32)
