"""From zoobench's ONNX to the seeds' hardware: the ``atc`` lines that make ``.om`` files (the seeds' input names
and shapes), the ``ais_bench`` lines that run them (dataset and pure-inference mode), and the ``zoobench eval``
that scores their dump folders. The user runs them on an Ascend machine and brings the logs and dumps back
(``zoobench compare LOGDIR …``, ``zoobench eval DUMPDIR …``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_BATCHES = (1, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class AscendModel:
    """What the command lines need: the ONNX file name, its input name and CHW size."""

    name: str
    onnx: str
    input_name: str
    input_size: tuple[int, int, int]


def ascend_model(model: str) -> AscendModel:
    """A registry name (its ONNX as `zoobench export MODEL -o MODEL.onnx` names it) or an exported ONNX file."""
    from zoobench.artifact import is_model_file, load_engine

    if is_model_file(model):
        import onnx

        eng = load_engine(model)
        graph_input = onnx.load(model, load_external_data=False).graph.input[0].name
        return AscendModel(eng.model, model, graph_input, eng.preprocess.input_size)
    from zoobench.models import get_spec

    spec = get_spec(model)
    name = spec.name.replace(":", "_")
    return AscendModel(name, f"{name}.onnx", spec.input_name, spec.preprocess.input_size)


def atc_line(m: AscendModel, batch: int, soc_version: str) -> str:
    c, h, w = m.input_size
    return (
        f"atc --framework=5 --model={m.onnx} --output={m.name}_bs{batch} --input_format=NCHW "
        f'--input_shape="{m.input_name}:{batch},{c},{h},{w}" --log=error --soc_version={soc_version}'
    )


def ais_bench_lines(m: AscendModel, batch: int) -> tuple[str, str]:
    """Dataset mode (TXT dumps into result_bs{N}/, as the ResNeSt guide runs it) and pure-inference mode."""
    om = f"{m.name}_bs{batch}.om"
    dataset = (
        f"python3 -m ais_bench --model={om} --input=./prep_dataset --output=./ --output_dirname=result_bs{batch} "
        f"--batchsize={batch} --outfmt TXT"
    )
    return dataset, f"python3 -m ais_bench --model={om} --loop=100 --batchsize={batch}"


def command_lines(model: str, batches: tuple[int, ...] = DEFAULT_BATCHES, soc_version: str = "Ascend310P3") -> dict:
    """Every line, per batch size, with the prep and eval lines around them."""
    m = ascend_model(model)
    per_batch = []
    for bs in batches:
        dataset, pure = ais_bench_lines(m, bs)
        per_batch.append({
            "batch_size": bs,
            "atc": atc_line(m, bs, soc_version),
            "ais_bench": dataset,
            "ais_bench_pure": pure,
            "eval": f"zoobench eval result_bs{bs} --labels val_label.txt",
        })  # fmt: skip
    return {
        "model": m.name,
        "onnx": m.onnx,
        "export": None if Path(model).suffix == ".onnx" else f"zoobench export {model} -o {m.onnx}",
        "prep": f"zoobench prep --data val/ --model {m.onnx} --format bin -o prep_dataset",
        "batches": per_batch,
        "compare": "zoobench compare ./result_logs seeds:310P   # ais_bench console logs saved per batch size",
    }
