"""From zoobench's ONNX to the seeds' hardware: the ``atc`` lines that make ``.om`` files (the seeds' input names
and shapes, one static batch per file as the guides build them), the ``ais_bench`` lines that run them (dataset
mode with TXT dumps, as the ResNeSt guide runs it; pure-inference mode with its console saved under
``perf_logs/``), and the ``zoobench eval`` that scores their dump folders. The user runs them on an Ascend
machine and brings the logs and dumps back (``zoobench compare perf_logs …``, ``zoobench eval result_bs16 …``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_BATCHES = (1, 4, 8, 16, 32, 64)
LOG_DIR = "perf_logs"
# The guides export with torch.onnx.export (TorchScript) at opset 11 for atc; the dynamo exporter writes opset 18
# and cannot convert most of these models down (zoobench export would fall back to TorchScript, after trying).
ATC_OPSET = 11


@dataclass(frozen=True)
class AscendModel:
    """What the command lines need: the ONNX file name, its input name and CHW size."""

    name: str
    onnx: str
    input_name: str
    input_size: tuple[int, int, int]
    output_name: str = ""
    reference: tuple[float, float | None] | None = None  # published top-1/top-5, for eval's gate


def ascend_model(model: str) -> AscendModel:
    """A registry name (its ONNX as `zoobench export MODEL -o MODEL.onnx` names it) or an exported ONNX file."""
    from zoobench.artifact import is_model_file, load_engine

    if is_model_file(model):
        import onnx

        eng = load_engine(model)
        graph = onnx.load(model, load_external_data=False).graph
        ref = _reference(eng.model)
        return AscendModel(eng.model, model, graph.input[0].name, eng.preprocess.input_size, graph.output[0].name, ref)
    from zoobench.models import get_spec, slug

    spec = get_spec(model)
    name = slug(spec.name)
    ref = (spec.reference.top1, spec.reference.top5) if spec.reference else None
    return AscendModel(name, f"{name}.onnx", spec.input_name, spec.preprocess.input_size, spec.output_name, ref)


def _reference(model: str) -> tuple[float, float | None] | None:
    from zoobench.models import reference_of

    top1, top5 = reference_of(model)  # None for an ONNX of a model zoobench does not know: eval gets no reference
    return (top1, top5) if top1 is not None else None


def atc_line(m: AscendModel, batch: int, soc_version: str) -> str:
    c, h, w = m.input_size
    return (
        f"atc --framework=5 --model={m.onnx} --output={m.name}_bs{batch} --input_format=NCHW "
        f'--input_shape="{m.input_name}:{batch},{c},{h},{w}" --log=error --soc_version={soc_version}'
    )


def ais_bench_lines(m: AscendModel, batch: int) -> tuple[str, str]:
    """Dataset mode (TXT dumps into result_bs{N}/, as the ResNeSt guide runs it) and pure-inference mode, its
    console saved as perf_logs/{model}_bs{N}.log for ``zoobench compare``."""
    om = f"{m.name}_bs{batch}.om"
    dataset = (
        f"python3 -m ais_bench --model={om} --input=./prep_dataset --output=./ --output_dirname=result_bs{batch} "
        f"--batchsize={batch} --outfmt TXT"
    )
    pure = f"python3 -m ais_bench --model={om} --loop=100 --batchsize={batch} 2>&1 | tee {LOG_DIR}/{om[:-3]}.log"
    return dataset, pure


def eval_line(m: AscendModel, batch: int) -> str:
    """Scores the dump folder against the labels; the gate's reference is the model's published figure."""
    ref = ""
    if m.reference:
        top1, top5 = m.reference
        ref = f" --reference {top1:g}" + (f",{top5:g}" if top5 is not None else "")
    return f"zoobench eval result_bs{batch} --labels val_label.txt -o result_bs{batch}.json{ref}"


def export_line(model: str, m: AscendModel) -> str:
    """The export at the guides' opset, by the exporter that reaches it."""
    return f"zoobench export {model} --opset {ATC_OPSET} --exporter torchscript -o {m.onnx}"


def command_lines(model: str, batches: tuple[int, ...] = DEFAULT_BATCHES, soc_version: str = "Ascend310P3") -> dict:
    """Every line, per batch size, with the prep and eval lines around them."""
    m = ascend_model(model)
    per_batch = []
    for bs in batches:
        dataset, pure = ais_bench_lines(m, bs)
        per_batch.append(
            {
                "batch_size": bs,
                "atc": atc_line(m, bs, soc_version),
                "ais_bench": dataset,
                "ais_bench_pure": pure,
                "eval": eval_line(m, bs),
            }
        )
    return {
        "model": m.name,
        "onnx": m.onnx,
        "input": m.input_name,
        "output": m.output_name,
        "export": None if Path(model).suffix == ".onnx" else export_line(model, m),
        "prep": f"zoobench prep --data val/ --model {m.onnx} --format bin -o prep_dataset",
        "mkdir": f"mkdir -p {LOG_DIR}",
        "batches": per_batch,
        "compare": f"zoobench compare {LOG_DIR} seeds:310P seeds:310 seeds:T4",
    }
