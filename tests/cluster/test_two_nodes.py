"""A two-node Ray cluster on this machine (two raylets), started as the README says: the same files as one
machine, a node killed mid-run, and the perf sweep on every node. Each test stops the processes it started, by
their session id.

Each node infers a fixed share of the batches (they are dealt to the actors' nodes in turn), so what each node
does is known in advance, whatever order the actors start and the blocks arrive in."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from raynodes import TwoNodes
from test_ray_infer import _same_files

from zoobench.infer.stage import do_infer

pytestmark = pytest.mark.cluster
HERE = Path(__file__).parent


def _cluster() -> Iterator[TwoNodes]:
    nodes = TwoNodes().start()
    try:
        yield nodes
    finally:
        assert nodes.stop() == []  # nothing this test started is left running


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[TwoNodes]:
    yield from _cluster()


@pytest.fixture
def doomed() -> Iterator[TwoNodes]:
    """A cluster of its own: the test kills its worker node."""
    yield from _cluster()


def _infer_args(tiny: Path, val: tuple[Path, Path], out: Path, address: str) -> list[str]:
    data, labels = val
    return ["infer", str(tiny), "--data", str(data), "--labels", str(labels), "-o", str(out), "-b", "2",
            "--chunk", "4", "--ray", address, "--json"]  # fmt: skip


def test_two_node_cluster_writes_what_one_machine_writes(
    two_nodes: TwoNodes, tiny: Path, val: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "cluster"
    proc = two_nodes.driver([sys.executable, "-m", "zoobench", *_infer_args(tiny, val, out, "auto")])  # RAY_ADDRESS
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    do_infer(str(tiny), str(val[0]), labels=str(val[1]), outdir=str(tmp_path / "one"), batch_size=2, chunk=4,
             quiet=True)  # fmt: skip
    _same_files(out, tmp_path / "one")
    facts = summary["ray"]
    assert facts["plan"]["nodes"] == 2 and facts["plan"]["cluster_cpus"] == 2
    assert sorted(facts["plan"]["placement"].values()) == [1, 1]  # one actor pinned to each node
    # 38 batches of 2 dealt in turn: the even ones (38 images) to one node, the odd ones (37, one broken) to the other
    assert sorted(facts["nodes"].values()) == [36, 38] and set(facts["nodes"]) == set(facts["plan"]["placement"])
    assert facts["images_checked"] == 75 and facts["duplicates_dropped"] == 0


def test_a_worker_node_killed_mid_run_loses_and_repeats_nothing(
    doomed: TwoNodes, tiny: Path, val: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "cluster"
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); from raynodes import kill_session\n"
        "import zoobench.infer.chunks as m; f = m._save_chunk; calls = [0]\n"
        "def wrapped(*a, **k):\n"
        "    f(*a, **k); calls[0] += 1\n"
        f"    if calls[0] == 3: assert kill_session({doomed.sessions['worker']}) == []\n"
        "m._save_chunk = wrapped\n"
        "from zoobench.cli import main; sys.argv = ['zoobench', *sys.argv[1:]]; main()"
    )
    proc = doomed.driver([sys.executable, "-c", code, *_infer_args(tiny, val, out, doomed.address)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.lstrip().startswith("{"), proc.stdout[:3000]
    summary = json.loads(proc.stdout)
    facts = summary["ray"]
    # every chunk is one batch on each node, so the worker node ran 3 batches or more before it was killed (after 3
    # of 19 chunks were saved), and the head node finished the rest
    assert len(facts["nodes"]) == 2 and sum(facts["nodes"].values()) == 74, facts
    assert min(facts["nodes"].values()) >= 5, facts  # 3 batches of 2 (one may hold the broken image)
    assert facts["images_checked"] == 75 and summary["images_inferred"] == 74
    do_infer(str(tiny), str(val[0]), labels=str(val[1]), outdir=str(tmp_path / "one"), batch_size=2, chunk=4,
             quiet=True)  # fmt: skip
    _same_files(out, tmp_path / "one")


def test_perf_per_node_writes_one_record_per_node_and_compare_reads_them(
    two_nodes: TwoNodes, tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "perf"
    args = ["perf", str(tiny), "-b", "1,2", "--seconds", "0.2", "--repeats", "1", "--warmup", "1",
            "--ray", two_nodes.address, "--per-node", "-o", str(out)]  # fmt: skip
    proc = two_nodes.driver([sys.executable, "-m", "zoobench", *args])
    assert proc.returncode == 0, proc.stderr[-3000:]
    nodes = json.loads((out / "nodes.json").read_text())
    records = sorted(out.glob("nodes/*/perf.json"))
    assert len(records) == 2, (proc.stdout, nodes)
    for rec in records:
        perf = json.loads(rec.read_text())
        assert perf["node"]["node_id"] and [r["batch_size"] for r in perf["results"]] == [1, 2]
        assert all(r["throughput_img_s"] > 0 for r in perf["results"])
    cmp = two_nodes.driver([sys.executable, "-m", "zoobench", "compare", str(out)])
    assert cmp.returncode == 0, cmp.stderr[-3000:]
    assert all(rec.parent.name in cmp.stdout for rec in records)


def test_run_with_two_models_joins_the_cluster_once_for_both(
    two_nodes: TwoNodes, tiny: Path, val: tuple[Path, Path], tmp_path: Path
) -> None:
    second = tmp_path / "tiny2.onnx"
    second.write_bytes(tiny.read_bytes())
    out = tmp_path / "run"
    args = ["run", str(tiny), str(second), "--data", str(val[0]), "--labels", str(val[1]), "-b", "1", "--seconds",
            "0.1", "--repeats", "1", "--warmup", "1", "--ray", "auto", "-o", str(out), "--json"]  # fmt: skip
    code = (
        "import ray, sys; calls = [0]; init = ray.init\n"
        "def counted(*a, **k):\n    calls[0] += 1; return init(*a, **k)\n"
        "ray.init = counted\n"
        "from zoobench.cli import main; sys.argv = ['zoobench', *sys.argv[1:]]\n"
        "try:\n    main()\nfinally:\n    print('ray.init calls:', calls[0], file=sys.stderr)"
    )
    proc = two_nodes.driver([sys.executable, "-c", code, *args])
    assert "ray.init calls: 1" in proc.stderr, proc.stderr[-3000:]
    statuses = json.loads(proc.stdout)
    assert set(statuses) == {str(tiny), str(second)}, proc.stdout
    for name in ("tiny", "tiny2"):
        summary = json.loads((out / name / "infer" / "summary.json").read_text())
        assert summary["ray"]["images_checked"] == 75 and len(summary["ray"]["nodes"]) == 2
    a, b = ((out / n / "infer" / "predictions.csv").read_bytes() for n in ("tiny", "tiny2"))
    assert a == b


def test_a_driver_without_the_clusters_token_is_told_what_to_set(
    two_nodes: TwoNodes, tiny: Path, val: tuple[Path, Path], tmp_path: Path
) -> None:
    """Ray 2.60's token auth: a machine without the head's ~/.ray/auth_token gets one line saying what to do
    (Ray alone waits ~20 s, then fails with InvalidAuthToken warnings above a line naming neither)."""
    elsewhere = tmp_path / "home"  # another machine: no ~/.ray/auth_token
    elsewhere.mkdir()
    out = tmp_path / "out"
    args = ["infer", str(tiny), "--data", str(val[0]), "-o", str(out), "--ray", two_nodes.address]
    proc = two_nodes.driver([sys.executable, "-m", "zoobench", *args], env=two_nodes.env(home=elsewhere))
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert lines == [
        f"Error: the Ray cluster at {two_nodes.address} requires token authentication: copy the head node's "
        "~/.ray/auth_token to this machine (or set RAY_AUTH_TOKEN to it) and set RAY_AUTH_MODE=token"
    ], lines
    assert not (out / "summary.json").exists()
    (elsewhere / ".ray").mkdir()
    (elsewhere / ".ray" / "auth_token").write_text("0" * 64)  # a token, but not this cluster's
    proc = two_nodes.driver([sys.executable, "-m", "zoobench", *args], env=two_nodes.env(home=elsewhere))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert f"Error: the Ray cluster at {two_nodes.address} refused this machine's token" in proc.stderr
