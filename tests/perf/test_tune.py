"""``zoobench tune`` with a fake runtime whose speed depends on one setting, timed by an injected clock (no test
here asserts on wall-clock time): the search finds the fastest setting within the budget and keeps the default
when nothing beats it beyond the spread; perf applies the profile beside the engine; a profile from another CPU
or another runtime version is refused with one line; several streams are counted honestly."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from click.testing import CliRunner

from zoobench.runtimes import RUNTIMES, Candidate, RuntimeInfo, RuntimeSpec, register

# --- the fake runtime (this module): seconds per image depend on the ``speed`` setting ---------------------------
COMPILED_PRECISIONS: frozenset[str] = frozenset()
COST_S = {None: 0.010, "slow": 0.020, "meh": 0.011, "fast": 0.006, "fastest": 0.004, "same": 0.0099}
VERSION = ["1.0"]
RUNS: list[tuple[str | None, int]] = []  # (speed, batch) of every run


class FakeClock:
    """Seconds that pass only when the fake runtime works (thread-safe, for streams)."""

    def __init__(self) -> None:
        self.t, self.n, self._lock = 1000.0, 0, threading.Lock()

    def __call__(self) -> float:
        return self.t

    def work(self, seconds: float) -> None:
        with self._lock:
            self.n += 1
            # the machine's other load drifts: ±3% in steps of 0.7 s, so rounds differ as on a shared machine
            self.t += seconds * (1.0 + 0.03 * ((int(self.t / 0.7) % 3) - 1))


CLOCK = [FakeClock()]


class FakeSession:
    input_name, output_name, input_shape, input_dtype = "x", "y", ("batch", 3, 8, 8), np.float32

    def __init__(self, speed: str | None, threads: int | None) -> None:
        self.speed, self.threads = speed, threads
        CLOCK[0].work(0.05)  # loading takes time from the budget too

    def run(self, batch: np.ndarray) -> np.ndarray:
        RUNS.append((self.speed, len(batch)))
        CLOCK[0].work(COST_S[self.speed] * len(batch))
        return np.zeros((len(batch), 1000), np.float32)

    def info(self) -> RuntimeInfo:
        return RuntimeInfo("fakespeed", "cpu", "fp32", self.threads, VERSION[0], {"speed": self.speed})

    def in_flight(self) -> None:
        return None

    def release(self) -> None:
        RELEASED.append(self.speed)


RELEASED: list[str | None] = []


def load(path: str, *, device: str = "cpu", precision: str = "fp32", threads: Any = None, **opts: Any) -> Any:
    if opts.get("speed") not in COST_S:
        raise ValueError(f"no speed {opts.get('speed')!r}")
    return FakeSession(opts.get("speed"), threads)


def describe() -> dict[str, Any]:
    return {"available": True, "version": VERSION[0], "devices": ["cpu"], "precisions": ["fp32"]}


def supports(precision: str, device: str = "cpu") -> str | None:
    return None if precision == "fp32" else "fakespeed runs fp32 only"


SETTINGS: list[dict[str, Any]] = [{}, *({"speed": s} for s in ("slow", "meh", "fast", "fastest", "broken"))]
PERF_OPTIONS: dict[str, Any] = {}


def tunables(cores: int, precision: str = "fp32", deep: bool = False) -> list[Candidate]:
    return [Candidate.of(**s) for s in SETTINGS]


def beside_decoders() -> dict[str, Any]:
    return {}


def server_streams(cores: int) -> dict[str, Any]:
    return {}


# --- fixtures ------------------------------------------------------------------------------------------------------
@pytest.fixture
def fake() -> Iterator[FakeClock]:
    register(RuntimeSpec("fakespeed", __name__, "numpy", "pip install numpy"))
    CLOCK[0], VERSION[0] = FakeClock(), "1.0"
    RUNS.clear()
    RELEASED.clear()
    yield CLOCK[0]
    del RUNS[:]
    RUNTIMES.pop("fakespeed", None)


@pytest.fixture
def engine_copy(cnn_onnx: str, tmp_path: Path) -> str:
    """The shared test engine, copied: the profile lands beside it and must not reach other tests."""
    dst = tmp_path / "eng" / "cnn.onnx"
    dst.parent.mkdir()
    shutil.copyfile(cnn_onnx, dst)
    return str(dst)


def _open(settings: dict[str, Any]) -> Any:
    return load("m.onnx", **settings)


# --- the search ----------------------------------------------------------------------------------------------------
def test_search_finds_the_fastest_setting_within_the_budget(fake: FakeClock) -> None:
    from zoobench.perf.tune import search_batch

    start = fake()
    res = search_batch(_open, SETTINGS, 4, (3, 8, 8), budget_s=20.0, clock=fake)
    assert res["settings"] == {"speed": "fastest"} and not res["kept_default"]
    assert res["ratio"] == pytest.approx(COST_S[None] / COST_S["fastest"], rel=0.05)
    assert res["before"]["spread_pct"] > 0 and len(res["after"]["repeats"]) == 5
    assert res["test"] == "sign" and res["paired"]["won"] == 5 and res["why"].startswith("sign test: won all 5")
    # loads, warm-ups and timed loops all came out of the budget; the overrun is at most a few runs
    assert fake() - start <= 20.0 + 3 * 4 * COST_S["slow"] + 0.1
    broken = next(c for c in res["candidates"] if c["settings"] == {"speed": "broken"})
    assert "no speed 'broken'" in broken["error"]
    slow = next(c for c in res["candidates"] if c["settings"] == {"speed": "slow"})
    assert len(slow["img_s_per_rung"]) == 1  # halved out after its first rung
    assert {s for s, _ in RUNS} >= {None, "fastest", "slow", "fast", "meh"}
    # every session it loaded is released by the end: the losers at once, the final pair after the last round
    assert sorted(map(str, RELEASED)) == sorted(map(str, [None, "slow", "meh", "fast", "fastest"]))


def test_the_default_is_kept_when_nothing_beats_it_beyond_the_spread(fake: FakeClock) -> None:
    from zoobench.perf.tune import search_batch

    res = search_batch(_open, [{}, {"speed": "same"}, {"speed": "slow"}], 2, (3, 8, 8), budget_s=10.0, clock=fake)
    assert res["best_candidate"]["settings"] == {"speed": "same"}  # 1% faster: within the rounds' spread
    assert res["kept_default"] and res["settings"] == {} and res["ratio"] == 1.0
    assert res["test"] is None and res["paired"]["won"] < 5  # the machine's ±3% drift may hand it a round
    assert res["why"].startswith(f"sign test failed (won {res['paired']['won']} of 5 paired rounds by more than 2%")
    assert "the paired t interval failed" in res["why"]


class _Noisy:
    """A session whose seconds per image change from one timed loop to the next (``costs`` in turn): a loop is
    the calls between two other sessions' calls, so each final round of the pair is one entry."""

    input_name, output_name, input_shape, input_dtype = "x", "y", ("batch", 3, 8, 8), np.float32
    last: ClassVar[list[Any]] = [None]

    def __init__(self, costs: list[float]) -> None:
        self.costs, self.loop = costs, -1
        CLOCK[0].work(0.05)

    def run(self, batch: np.ndarray) -> np.ndarray:
        if _Noisy.last[0] is not self:
            _Noisy.last[0], self.loop = self, self.loop + 1
        CLOCK[0].work(self.costs[self.loop % len(self.costs)] * len(batch))
        return np.zeros((len(batch), 1000), np.float32)

    def in_flight(self) -> None:
        return None

    def release(self) -> None:
        pass


def _paired_search(default: list[float], candidate: list[float], fake: FakeClock) -> dict[str, Any]:
    from zoobench.perf.tune import search_batch

    _Noisy.last[0] = None
    made = {"": _Noisy(default), "x": _Noisy(candidate)}

    def open_session(settings: dict[str, Any]) -> Any:
        return made[settings.get("speed", "")]

    return search_batch(open_session, [{}, {"speed": "x"}], 4, (3, 8, 8), budget_s=10.0, clock=fake)


def test_a_candidate_that_wins_every_round_against_a_noisy_default_is_taken(fake: FakeClock) -> None:
    """The default scatters by ~40% from round to round, the candidate is steady and ahead in every round: the
    rounds' spread would hide it; the paired sign test does not."""
    # the default's first loop is its first final round (the default takes no part in the search rungs)
    res = _paired_search([0.010, 0.014, 0.0105, 0.013, 0.011, 0.0145], [0.0082], fake)
    assert res["before"]["spread_pct"] > 25 and res["paired"]["won"] == 5
    assert not res["kept_default"] and res["settings"] == {"speed": "x"} and res["test"] == "sign"


def test_a_candidate_that_wins_half_the_rounds_is_not_taken(fake: FakeClock) -> None:
    res = _paired_search([0.0070, 0.0120], [0.0095], fake)  # the candidate wins the slow default rounds only
    assert 2 <= res["paired"]["won"] <= 3 and len(res["paired"]["ratios"]) == 5
    assert res["kept_default"] and res["settings"] == {} and res["test"] is None
    assert res["why"].startswith(f"sign test failed (won {res['paired']['won']} of 5 paired rounds")


def test_the_paired_tests_name_what_decided() -> None:
    from zoobench.perf.paired import lower_bound, paired_verdict

    steady = paired_verdict([100, 101, 99, 100], [110, 112, 109, 111])  # 4 rounds: no sign test, the t bound
    assert steady.wins and steady.test == "t" and steady.lower is not None and steady.lower > 1.08
    noisy = paired_verdict([100, 60, 100, 60, 100, 60], [90, 110, 90, 110, 90, 110])
    assert not noisy.wins and noisy.won == 3 and "sign test failed (won 3 of 6" in noisy.why
    assert lower_bound([1.5]) is None and paired_verdict([], []).why.endswith(
        "n/a (under 2 paired rounds), not above 1.02x)"
    )


def test_a_budget_too_small_to_search_keeps_the_default(fake: FakeClock) -> None:
    from zoobench.perf.tune import search_batch

    res = search_batch(_open, SETTINGS, 1, (3, 8, 8), budget_s=0.0, clock=fake)
    assert res["kept_default"] and res["settings"] == {}
    assert res["why"] == "no candidate was timed within the budget"


# --- the profile, applied by perf ------------------------------------------------------------------------------------
def _tune(engine: str, batch_sizes: list[int], fake: FakeClock) -> dict[str, Any]:
    from zoobench.artifact import load_engine
    from zoobench.perf.profile import save_column
    from zoobench.perf.settings import TuneSettings
    from zoobench.perf.tune import tune_column

    eng = load_engine(engine)
    column = TuneSettings("fakespeed", "fp32", batch_sizes, budget_s=30.0)
    entry = tune_column(eng, column, workdir=Path(engine).parent, clock=fake)
    return save_column(engine, entry)


def _perf(engine: str, batch_sizes: list[int], **kw: Any) -> dict[str, Any]:
    from zoobench.perf.sweep import do_perf

    return do_perf(
        engine, batch_sizes=batch_sizes, runtimes=["fakespeed"], precisions=["fp32"], workdir=str(Path(engine).parent),
        seconds=0.0, min_iters=1, warmup=0, repeats=1, **kw,
    )  # fmt: skip


def test_perf_applies_the_profile_beside_the_engine(
    fake: FakeClock, engine_copy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = _tune(engine_copy, [1], fake)
    path = Path(engine_copy).with_name("cnn.tuned.json")
    assert path.is_file() and json.loads(path.read_text()) == profile
    batch = profile["columns"]["fakespeed fp32"]["batches"]["1"]
    assert (
        batch["settings"] == {"speed": "fastest"}
        and batch["after"]["throughput_img_s"] > batch["before"]["throughput_img_s"]
    )
    assert profile["machine"]["cores"] >= 1 and profile["columns"]["fakespeed fp32"]["runtime_version"] == "1.0"

    RUNS.clear()
    res = _perf(engine_copy, [1, 8])
    err = capsys.readouterr().err
    assert "fakespeed fp32: tuned profile cnn.tuned.json applied (batch 1: speed=fastest)" in err
    assert "fakespeed fp32: batch 8 not in the profile (tuned: 1); defaults" in err
    cols = {c["name"]: c for c in res["columns"]}
    tuned = cols["fakespeed fp32 tuned"]
    assert tuned["untuned"] == "fakespeed fp32" and tuned["results"][0]["settings"] == {"speed": "fastest"}
    assert tuned["results"][0]["streams"] == 1 and tuned["results"][1]["settings"] == {}
    assert ("fastest", 1) in RUNS and ("fastest", 8) not in RUNS  # batch 8 ran the defaults
    assert set(res["table"]["tuned_vs_untuned"]) == {"fakespeed fp32 tuned"}
    assert [c["name"] for c in res["columns"]] == ["fakespeed fp32", "fakespeed fp32 tuned"]

    RUNS.clear()
    res = _perf(engine_copy, [1], tuned=False)  # --untuned
    assert [c["name"] for c in res["columns"]] == ["fakespeed fp32"] and ("fastest", 1) not in RUNS


def test_a_profile_from_another_cpu_or_runtime_version_is_refused(
    fake: FakeClock, engine_copy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _tune(engine_copy, [1], fake)
    path = Path(engine_copy).with_name("cnn.tuned.json")
    VERSION[0] = "2.0"
    res = _perf(engine_copy, [1])
    assert "fakespeed fp32: tuned profile ignored — made with fakespeed 1.0, this is 2.0; running the defaults" in (
        _said(capsys)
    )
    assert [c["name"] for c in res["columns"]] == ["fakespeed fp32"]

    VERSION[0] = "1.0"
    data = json.loads(path.read_text())
    here = data["machine"]["cpu"]
    data["machine"]["cpu"] = "Other CPU 9000"
    path.write_text(json.dumps(data))
    res = _perf(engine_copy, [1])
    assert f"made on 'Other CPU 9000', this CPU is {here!r}; running the defaults" in _said(capsys)
    assert [c["name"] for c in res["columns"]] == ["fakespeed fp32"]

    data["machine"]["cpu"], data["machine"]["cpu_features"] = here, ["avx2"]
    path.write_text(json.dumps(data))
    _perf(engine_copy, [1])
    assert "made on a CPU with flags avx2, this one has" in _said(capsys)


def _said(capsys: pytest.CaptureFixture[str]) -> str:
    """stderr with the console's line wrapping undone (where it wraps depends on this CPU's name's length)."""
    return " ".join(capsys.readouterr().err.split())


def test_tune_command_writes_the_profile_and_bad_input_is_one_line(fake: FakeClock, engine_copy: str) -> None:
    from zoobench.cli import cli

    RUNS.clear()
    out = CliRunner().invoke(cli, ["tune", engine_copy, "--runtime", "fakespeed", "-b", "1", "--budget", "0.5"])
    assert out.exit_code == 0, out.output
    assert "wrote " in out.output and Path(engine_copy).with_name("cnn.tuned.json").is_file()
    bad = CliRunner().invoke(cli, ["tune", engine_copy, "--budget", "0"])
    assert bad.exit_code == 2 and "--budget" in bad.output
    not_model = Path(engine_copy).with_name("notes.txt")
    not_model.write_text("hello")
    res = CliRunner().invoke(cli, ["tune", str(not_model)])
    assert res.exit_code == 1 and res.output.startswith("Error: ") and "Traceback" not in res.output


# --- streams ---------------------------------------------------------------------------------------------------------
def test_streams_count_every_image_over_the_wall_time(fake: FakeClock) -> None:
    from zoobench.perf.streams import StreamGroup, open_tuned
    from zoobench.perf.timing import Timing, time_throughput

    group = open_tuned("m.onnx", "fakespeed", "fp32", {"streams": 2, "threads": 1}, loader=_loader)
    assert isinstance(group, StreamGroup) and len(group.sessions) == 2
    info = group.info()
    assert info.extra["streams"] == 2 and info.extra["threads_per_stream"] == 1 and info.threads == 2
    res = time_throughput(group, 4, (3, 8, 8), Timing(seconds=1.0, min_iters=4, warmup=1, clock=fake))
    timed = [r for r in RUNS[2:]]  # after the two warm-up runs
    assert res.mode == "streams" and res.latency.count == len(timed) >= 4
    assert res.throughput_img_s == pytest.approx(4 * len(timed) / res.wall_s)


def _loader(path: str, runtime: str, **kw: Any) -> Any:
    return load(path, **kw)


# --- run --tune, the report and compare ------------------------------------------------------------------------------
def test_run_tune_stage_hands_its_profile_to_perf_and_is_skipped_when_up_to_date(
    fake: FakeClock, engine_copy: str, tmp_path: Path
) -> None:
    from zoobench.report.tables import load_model_run, perf_table
    from zoobench.run.chain import RunConfig, planned_stages, run_models

    tiny = {"batch_sizes": [1, 2], "seconds": 0.0, "repeats": 1, "min_iters": 1, "warmup": 0}
    cfg = RunConfig.of(runtimes=["fakespeed"], tune=0.5, quiet=True, **tiny)
    assert planned_stages(cfg)[-3:] == ["tune:fakespeed-fp32", "perf:fakespeed-fp32", "report"]
    statuses = run_models([engine_copy], tmp_path / "run", cfg)
    mdir = next(p for p in (tmp_path / "run").iterdir() if p.is_dir())
    stages = json.loads((mdir / "stages.json").read_text())["stages"]
    assert stages["tune:fakespeed-fp32"]["status"] == "done", statuses
    # beside the engine it tuned: the column's engine (uint8 input), the one perf times
    assert (mdir / "engine" / "cnn.u8.tuned.json").is_file()
    perf = json.loads((mdir / "perf" / "fakespeed-fp32.json").read_text())
    assert [c["name"] for c in perf["columns"]] == ["fakespeed fp32", "fakespeed fp32 tuned"]

    run = load_model_run(mdir)
    assert set(run.perf) == {"fakespeed-fp32", "fakespeed-fp32-tuned"}
    table = perf_table(run.perf)
    heads = ["fakespeed fp32 img/s", "fakespeed fp32 tuned img/s", "fakespeed fp32 tuned / fakespeed fp32"]
    assert table.headers[1:4] == heads

    run_models([engine_copy], tmp_path / "run", cfg)
    again = json.loads((mdir / "stages.json").read_text())
    assert again["actions"]["tune:fakespeed-fp32"] == "skipped" and again["actions"]["perf:fakespeed-fp32"] == "skipped"


def test_compare_pairs_the_tuned_column_with_the_guides_aoe_column(
    fake: FakeClock, engine_copy: str, tmp_path: Path
) -> None:
    from zoobench.compare import compare_runs

    _tune(engine_copy, [1, 4], fake)
    res = _perf(engine_copy, [1, 4])
    out = tmp_path / "mine"
    out.mkdir()
    (out / "perf.json").write_text(json.dumps({**res, "model": "wide_resnet50_2"}))  # the guide with an AOE column
    cmp = compare_runs([out, "seeds:310P", "seeds:310P-AOE"])
    by_col = {t["column"]: t for t in cmp["tables"]}
    assert set(by_col) == {"fakespeed-fp32", "fakespeed-fp32-tuned"}
    untuned = next(r for r in by_col["fakespeed-fp32"]["rows"] if r["batch_size"] == 4)
    tuned = next(r for r in by_col["fakespeed-fp32-tuned"]["rows"] if r["batch_size"] == 4)
    # A, 310P, 310P-AOE: the untuned column lines up with the 310P, the tuned one with the 310P after AOE
    assert untuned["throughput"][1] == 1674.09 and untuned["throughput"][2] is None
    assert tuned["throughput"][1] is None and tuned["throughput"][2] == 1729.43
    assert by_col["fakespeed-fp32-tuned"]["label"] == "fakespeed fp32 tuned"


def test_when_the_budget_ends_mid_rung_the_last_ranking_still_reaches_the_final(fake: FakeClock) -> None:
    from zoobench.perf.tune import _Arm, _Search

    search = _Search(_open, SETTINGS, 2, (3, 8, 8), budget_s=1.0, clock=fake, progress=lambda _t: None)
    fast, slow = _Arm({"speed": "fast"}, session=_open({"speed": "fast"}), rungs=[300.0]), _Arm({"speed": "slow"})
    slow.session, slow.rungs = _open({"speed": "slow"}), [100.0]
    search.deadline = fake() - 1.0  # nothing more is timed in this rung
    assert search._rung([slow, fast], fake(), keep=1) == [fast]


def test_infer_applies_the_profile_at_its_batch_size(
    fake: FakeClock, engine_copy: str, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    """infer runs one session with the profile's settings for its batch; another batch or version: defaults."""
    from zoobench.infer.stage import do_infer
    from zoobench.perf.profile import tuned_for_infer

    _tune(engine_copy, [2], fake)
    tuned, line = tuned_for_infer(engine_copy, "fakespeed", "fp32", 2)
    assert tuned == {"speed": "fastest"} and line == "fakespeed fp32: tuned profile applied at batch 2: speed=fastest"
    assert tuned_for_infer(engine_copy, "fakespeed", "fp32", 4) == (
        None,
        "fakespeed fp32: batch 4 not in the tuned profile (tuned: 2); defaults",
    )
    RUNS.clear()
    out = tmp_path / "out"
    summary = do_infer(
        engine_copy, str(photos[0]), runtime="fakespeed", batch_size=2, workers=0, outdir=str(out), quiet=True,
        tuned=tuned,
    )  # fmt: skip
    assert RUNS and {speed for speed, _n in RUNS} == {"fastest"} and summary["tuned"] == {"speed": "fastest"}
    VERSION[0] = "2.0"
    assert tuned_for_infer(engine_copy, "fakespeed", "fp32", 2) == (
        None,
        "fakespeed fp32: tuned profile ignored — made with fakespeed 1.0, this is 2.0; running the defaults",
    )


def test_perf_says_when_the_tuned_column_is_slower_than_untuned_beyond_the_spread() -> None:
    """Batch 1: tuned 0.956x the untuned median with 1% spreads (beyond them: said); batch 2: 0.98x with a 5%
    spread (within it: not said); batch 4: faster."""
    from rich.console import Console

    from zoobench.perf.sweep import _print_notes
    from zoobench.perf.table import build_table

    def col(name: str, rates: list[tuple[float, float]], **kw: Any) -> dict[str, Any]:
        results = [{"batch_size": bs, "throughput_img_s": r, "spread_pct": sp} for bs, (r, sp) in zip([1, 2, 4], rates)]
        info = {"device": "cpu", "threads": 2}
        return {"name": name, "results": results, "available": True, "precision": "fp32", "info": info, **kw}

    columns = [
        col("ort fp32", [(400.0, 1.0), (500.0, 5.0), (600.0, 1.0)]),
        col("ort fp32 tuned", [(382.4, 1.0), (490.0, 1.0), (700.0, 1.0)], tuned=True, untuned="ort fp32"),
    ]
    table = build_table(columns, [1, 2, 4])
    assert table["tuned_slower"] == {"ort fp32 tuned": [{"batch_size": 1, "ratio": 0.956}]}
    console = Console(record=True, width=200)
    _print_notes(console, {"columns": columns, "table": table})
    text = console.export_text()
    assert "ort fp32 tuned: batch 1 is slower than untuned beyond the rounds' spread (0.956×)" in text
    assert "batch 2 is slower" not in text and "batch 4 is slower" not in text
