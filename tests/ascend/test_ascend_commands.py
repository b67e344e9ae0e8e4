"""`zoobench ascend`: the atc lines match each guide's own command (input name, shape, framework, format)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.ascend import DEFAULT_BATCHES, command_lines
from zoobench.cli import cli

# Each guide's atc command, as printed (shared/seeds/), the batch size it is for, and the flags where ours may
# differ from it (and why). Mnasnet's guide only says `./onnx2om.sh`: its loop body is SEED_SPEC §1.3's.
ATC = {
    "wide_resnet50_2": (4, 'atc --framework=5 --model=wide_resnet50_2.onnx --output=wide_resnet50_2_bs4 --input_format=NCHW --input_shape="image:4,3,224,224" --log=error --soc_version=Ascend${chip_name}', {}),
    "mnasnet1_0": (16, 'atc --framework=5 --model=mnasnet1.0.onnx --output=mnasnet1.0_bs16 --input_format=NCHW --input_shape="image:16,3,224,224" --log=debug --soc_version=Ascend310', {"model": "file name", "output": "file name", "log": "log level"}),
    "xception": (1, 'atc --framework=5 --model=xception.onnx --output=xception_1 --input_format=NCHW --input_shape="image:1,3,299,299" --log=debug --soc_version=Ascend310', {"output": "xception_1: ours say _bs1", "log": "log level"}),
    "dino_resnet50": (1, 'atc --framework=5 --model=dino_resnet50.onnx --output=dino_resnet50_bs1 --input_format=NCHW --input_shape="input:1,3,224,224" --log=debug --soc_version=Ascend${chip_name}', {"log": "log level"}),
    "resnest50": (16, 'atc --framework=5 \\\n    --model=./resnest50_sim.onnx \\\n    --output=resnest50_bs${bs} \\\n    --input_format=NCHW \\\n    --input_shape="actual_input_1:${bs},3,224,224" \\\n    --soc_version=Ascend${chip_name} ', {"model": "ours is simplified at export: no _sim step", "log": "the guide sets none"}),
}  # fmt: skip

# The guides' ais_bench lines: the ResNeSt guide's own (dataset and pure inference), and the current ModelZoo
# lines of the other four (SEED_SPEC §1.2-1.5; their guides here still run `benchmark`).
AIS = {
    "resnest50": (16, "python -m ais_bench --model=resnest50_bs${bs}.om --input=./prep_dataset --output=./ --output_dirname=./result --batchsize=${batch_size} --outfmt TXT"),
    "wide_resnet50_2": (1, "python3 -m ais_bench --model ./wide_resnet50_2_bs1.om --input ./prep_bin --output ./result --output_dirname bs1 --outfmt TXT --batchsize 1"),
    "mnasnet1_0": (16, "python3.7.5 -m ais_bench --model mnasnet1.0_bs16.om --batchsize 16 --input ./prep_dataset --output ./result --outfmt \"TXT\" --device 0"),
    "xception": (1, "python3 -m ais_bench --model ./xception_1.om --input ./pre_dataset --output ./results --outfmt TXT --batchsize 1"),
    "dino_resnet50": (1, "python -m ais_bench --model ./dino_resnet50_bs1.om --input ./prep_dataset --output ./dinoresnet50_out/ --output_dirname bs1 --outfmt TXT --batchsize 1"),
}  # fmt: skip
AIS_PURE = "python -m ais_bench --model=resnest50_bs${bs}.om --loop=100 --batchsize=${batch_size}"  # ResNeSt guide


def _flags(line: str, bs: int) -> dict[str, str]:
    """``--key=value`` / ``--key value`` pairs of a command (a guide's ${bs} placeholders set to ``bs``)."""
    line = line.replace("${bs}", str(bs)).replace("${batch_size}", str(bs)).split(" 2>&1 |")[0]
    toks = shlex.split(line.replace("\\\n", " "))
    out, i = {}, 0
    while i < len(toks):
        tok = toks[i]
        if tok.startswith("--"):
            if "=" in tok:
                key, val = tok[2:].split("=", 1)
            else:
                key, val, i = tok[2:], toks[i + 1], i + 1
            out[key] = val
        i += 1
    return out


def _om(path: str) -> str:
    return Path(path).name.replace("mnasnet1.0", "mnasnet1_0").replace("xception_1", "xception_bs1")


@pytest.mark.parametrize("model", sorted(ATC))
def test_atc_lines_match_the_guides(model: str) -> None:
    bs, guide, may_differ = ATC[model]
    soc = _flags(guide, bs)["soc_version"]
    for b in DEFAULT_BATCHES:  # the guide's line with its batch size changed: ours, flag for flag
        (ours,) = command_lines(model, (b,), soc)["batches"]
        assert ours["atc"].startswith("atc --framework=5 ")
        mine, theirs = (
            _flags(ours["atc"], b),
            _flags(guide.replace(f":{bs},", f":{b},").replace(f"_bs{bs}", f"_bs{b}"), b),
        )
        assert set(mine) == set(theirs) | ({"log"} if "log" not in theirs else set()), model
        for key in set(mine) & set(theirs) - set(may_differ):
            assert mine[key] == theirs[key], (model, b, key)
    if model == "wide_resnet50_2":
        assert command_lines(model, (4,), soc)["batches"][0]["atc"] == guide  # character for character


@pytest.mark.parametrize("model", sorted(AIS))
def test_ais_bench_lines_match_the_guides(model: str) -> None:
    bs, guide = AIS[model]
    (ours,) = command_lines(model, (bs,))["batches"]
    mine, theirs = _flags(ours["ais_bench"], bs), _flags(guide, bs)
    assert ours["ais_bench"].startswith("python3 -m ais_bench ")
    assert _om(mine["model"]) == _om(theirs["model"]) == f"{model}_bs{bs}.om"
    assert mine["batchsize"] == theirs["batchsize"] == str(bs) and mine["outfmt"] == theirs["outfmt"] == "TXT"
    assert set(mine) - {"output_dirname"} <= set(theirs) and {"input", "output"} <= set(mine)
    pure = _flags(ours["ais_bench_pure"], bs)
    assert pure == _flags(AIS_PURE, bs) | {"model": f"{model}_bs{bs}.om"}  # no --input: ais_bench's pure mode
    assert ours["ais_bench_pure"].endswith(f" 2>&1 | tee perf_logs/{model}_bs{bs}.log")


def test_the_saved_console_of_the_pure_line_is_a_run_for_compare(tmp_path: Path) -> None:
    """The file the pure-inference line tees, with ais_bench's summary in it, is read back by compare."""
    (b16,) = command_lines("mnasnet1_0", (16,))["batches"]
    log = tmp_path / b16["ais_bench_pure"].rsplit("tee ", 1)[1]
    log.parent.mkdir()
    log.write_text(
        "[INFO] NPU_compute_time (ms): min = 1.5, max = 1.6, mean = 1.5, median = 1.5, percentile(99%) = 1.6\n"
        "[INFO] throughput 1000*batchsize.mean(16)/NPU_compute_time.mean(1.5): 10666.67\n"
    )
    res = CliRunner().invoke(cli, ["compare", str(log.parent), "seeds:310P", "seeds:T4"])
    assert res.exit_code == 0, res.output
    assert "### mnasnet1_0 · logs ais_bench" in res.output and "| bs16 | 10666.7 | 9836.44 | 4655.534 |" in res.output


def test_every_batch_gets_atc_ais_bench_and_eval_lines() -> None:
    lines = command_lines("mnasnet1_0")
    assert [b["batch_size"] for b in lines["batches"]] == [1, 4, 8, 16, 32, 64]
    b16 = lines["batches"][3]
    assert '--input_shape="image:16,3,224,224"' in b16["atc"] and "--soc_version=Ascend310P3" in b16["atc"]
    assert b16["ais_bench"].startswith("python3 -m ais_bench --model=mnasnet1_0_bs16.om --input=./prep_dataset")
    assert "--outfmt TXT" in b16["ais_bench"] and "--output_dirname=result_bs16" in b16["ais_bench"]
    assert b16["ais_bench_pure"].startswith("python3 -m ais_bench --model=mnasnet1_0_bs16.om --loop=100 --batchsize=16")
    assert (
        b16["eval"] == "zoobench eval result_bs16 --labels val_label.txt -o result_bs16.json --reference 73.456,91.51"
    )
    assert lines["prep"] == "zoobench prep --data val/ --model mnasnet1_0.onnx --format bin -o prep_dataset"


def test_cli_prints_the_lines_and_rejects_bad_input() -> None:
    res = CliRunner().invoke(cli, ["ascend", "resnest50", "-b", "1,64", "--soc-version", "Ascend310"])
    assert res.exit_code == 0, res.output
    assert '--input_shape="actual_input_1:64,3,224,224"' in res.output and res.output.count("atc --framework=5") == 2
    assert CliRunner().invoke(cli, ["ascend", "nope"]).exit_code == 1
    assert CliRunner().invoke(cli, ["ascend", "resnest50", "-b", "0"]).exit_code == 2
