"""The guides' tables as data: `compare` with seeds: pseudo-runs reproduces each guide's own ratio columns."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.compare import compare_runs
from zoobench.errors import DataError
from zoobench.models.seed_figures import GUIDE_RATIOS, SEED_TABLES


def _printed_unit(value: float) -> float:
    """One unit of the last digit the guide printed (1.62273 -> 1e-5)."""
    decimals = len(repr(value).split(".")[1]) if "." in repr(value) else 0
    return 10.0**-decimals


@pytest.mark.parametrize("model", sorted(GUIDE_RATIOS))
def test_compare_reproduces_each_guides_ratios(model: str) -> None:
    checked = 0
    for ratio in GUIDE_RATIOS[model]:
        cmp = compare_runs([f"seeds:{ratio.numerator}", f"seeds:{ratio.denominator}"])
        (table,) = [t for t in cmp["tables"] if t["model"] == model]
        ours = {r["batch_size"]: r["ratio"][0] for r in table["rows"]}
        for bs, printed in ratio.by_batch.items():
            if bs in ratio.skip:
                assert abs(ours[bs] - printed) > _printed_unit(printed)  # the noted inconsistency is real
                continue
            assert abs(ours[bs] - printed) <= _printed_unit(printed), (model, ratio, bs, ours[bs])
            checked += 1
        if ratio.best is not None and not ratio.skip_best:
            assert abs(table["best"]["ratio"][0] - ratio.best) <= _printed_unit(ratio.best)
    assert checked >= 2


def test_every_guide_column_has_a_source_and_sensible_figures() -> None:
    assert set(SEED_TABLES) == {"wide_resnet50_2", "mnasnet1_0", "xception", "dino_resnet50", "resnest50"}
    for model, cols in SEED_TABLES.items():
        for dev, col in cols.items():
            assert col.device == dev and col.source.startswith("seeds/") and col.fps, (model, dev)
            assert set(col.fps) <= {1, 4, 8, 16, 32, 64} and all(v > 0 for v in col.fps.values())
    # the 310 column is per card: the guides' per-device Interface throughputRate × 4 (Xception's log lines)
    assert SEED_TABLES["xception"]["310"].fps[1] == pytest.approx(158.623 * 4)


def test_our_run_beside_the_seeds_hardware(tmp_path) -> None:
    from zoobench.io import write_json

    run = tmp_path / "run"
    lat = {"count": 3, "min_ms": 1.0, "max_ms": 3.0, "mean_ms": 2.0, "median_ms": 2.0, "p90_ms": 2.5,
           "p95_ms": 2.7, "p99_ms": 2.9, "stdev_ms": 0.5}  # fmt: skip
    write_json(run / "mnasnet1_0" / "model.json", {"model": "mnasnet1_0"})
    write_json(
        run / "mnasnet1_0" / "perf" / "onnxruntime-fp32.json",
        {"model": "mnasnet1_0", "runtime": {"runtime": "onnxruntime", "precision": "fp32", "threads": 2},
         "results": [{"batch_size": b, "throughput_img_s": v, "latency": lat} for b, v in {1: 250.0, 16: 500.0}.items()],
         "environment": {"cpu": "AMD EPYC", "cpu_affinity": 2, "versions": {"onnxruntime": "1.31.1"}}},
    )  # fmt: skip
    res = CliRunner().invoke(cli, ["compare", str(run), "seeds:310P", "seeds:T4", "--json"])
    assert res.exit_code == 0, res.output
    cmp = json.loads(res.output)
    (t,) = cmp["tables"]
    rows = {r["batch_size"]: r for r in t["rows"]}
    assert rows[16]["throughput"] == [500.0, 9836.44, 4655.534]
    assert rows[16]["ratio"] == pytest.approx([500.0 / 9836.44, 500.0 / 4655.534])
    assert cmp["warnings"] == []  # quoted columns are not machines to warn about
    res = CliRunner().invoke(cli, ["compare", str(run), "seeds:A100"])
    assert res.exit_code == 1 and "seeds:A100: no guide has that column" in res.output
    with pytest.raises(DataError, match="known: seeds:310, seeds:310P, seeds:310P-AOE, seeds:T4"):
        compare_runs([str(run), "seeds:910"])
