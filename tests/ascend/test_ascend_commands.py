"""`zoobench ascend`: the atc lines match each guide's own command (input name, shape, framework, format)."""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from zoobench.ascend import command_lines
from zoobench.cli import cli

# Each guide's atc command, as printed (shared/seeds/), and the batch size it is for.
GUIDES = {
    "wide_resnet50_2": (4, 'atc --framework=5 --model=wide_resnet50_2.onnx --output=wide_resnet50_2_bs4 --input_format=NCHW --input_shape="image:4,3,224,224" --log=error --soc_version=Ascend${chip_name}'),
    "xception": (1, 'atc --framework=5 --model=xception.onnx --output=xception_1 --input_format=NCHW --input_shape="image:1,3,299,299" --log=debug --soc_version=Ascend310'),
    "dino_resnet50": (1, 'atc --framework=5 --model=dino_resnet50.onnx --output=dino_resnet50_bs1 --input_format=NCHW --input_shape="input:1,3,224,224" --log=debug --soc_version=Ascend${chip_name}'),
    "resnest50": (16, 'atc --framework=5 --model=./resnest50_sim.onnx --output=resnest50_bs16 --input_format=NCHW --input_shape="actual_input_1:16,3,224,224" --soc_version=Ascend${chip_name}'),
}  # fmt: skip


def _flags(line: str) -> dict[str, str]:
    return dict(re.match(r"--(\w+)=(.*)", tok).groups() for tok in shlex.split(line)[1:])  # type: ignore[union-attr]


@pytest.mark.parametrize("model", sorted(GUIDES))
def test_atc_lines_match_the_guides(model: str) -> None:
    bs, guide = GUIDES[model]
    soc = _flags(guide)["soc_version"]
    ours = next(b["atc"] for b in command_lines(model, (bs,), soc)["batches"])
    a, g = _flags(ours), _flags(guide)
    for key in ("framework", "input_format", "input_shape", "soc_version"):
        assert a[key] == g[key], (model, key)
    assert a["model"].removesuffix(".onnx") in g["model"]  # resnest's guide simplifies first: resnest50_sim.onnx
    if model == "wide_resnet50_2":
        assert ours == guide  # this guide's line, character for character


def test_every_batch_gets_atc_ais_bench_and_eval_lines() -> None:
    lines = command_lines("mnasnet1_0")
    assert [b["batch_size"] for b in lines["batches"]] == [1, 4, 8, 16, 32, 64]
    b16 = lines["batches"][3]
    assert '--input_shape="image:16,3,224,224"' in b16["atc"] and "--soc_version=Ascend310P3" in b16["atc"]
    assert b16["ais_bench"].startswith("python3 -m ais_bench --model=mnasnet1_0_bs16.om --input=./prep_dataset")
    assert "--outfmt TXT" in b16["ais_bench"] and "--output_dirname=result_bs16" in b16["ais_bench"]
    assert b16["ais_bench_pure"] == "python3 -m ais_bench --model=mnasnet1_0_bs16.om --loop=100 --batchsize=16"
    assert b16["eval"] == "zoobench eval result_bs16 --labels val_label.txt"
    assert lines["prep"] == "zoobench prep --data val/ --model mnasnet1_0.onnx --format bin -o prep_dataset"


def test_cli_prints_the_lines_and_rejects_bad_input() -> None:
    res = CliRunner().invoke(cli, ["ascend", "resnest50", "-b", "1,64", "--soc-version", "Ascend310"])
    assert res.exit_code == 0, res.output
    assert '--input_shape="actual_input_1:64,3,224,224"' in res.output and res.output.count("atc --framework=5") == 2
    assert CliRunner().invoke(cli, ["ascend", "nope"]).exit_code == 1
    assert CliRunner().invoke(cli, ["ascend", "resnest50", "-b", "0"]).exit_code == 2
