"""The runtime module contract (``zoobench.runtimes.base.RuntimeModule`` / ``CompilingRuntime``) is checked, not
hoped for: mypy fails on a module that lacks a part and passes the real ones (``runtimes/_contract.py``), and a
module registered from outside that lacks a part is refused in one line when it is first used."""

from __future__ import annotations

import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import zoobench
from zoobench.errors import ZoobenchError
from zoobench.runtimes import RUNTIMES, Candidate, RuntimeSpec, compiling_module, register, runtime_module

SRC = Path(zoobench.__file__).resolve().parents[1]

COMPLETE = """
from pathlib import Path
from typing import Any

from zoobench.runtimes.base import Candidate, RuntimeDescription, Session

COMPILED_PRECISIONS: frozenset[str] = frozenset()
PERF_OPTIONS: dict[str, Any] = {}


def load(model_path: str, **kw: Any) -> Session:
    raise NotImplementedError


def describe() -> RuntimeDescription:
    return {"available": True}


def supports(precision: str, device: str = "cpu") -> str | None:
    return None


def tunables(cores: int, precision: str = "fp32", deep: bool = False) -> list[Candidate]:
    return [Candidate()]


def beside_decoders() -> dict[str, Any]:
    return {}


def server_streams(cores: int) -> dict[str, Any]:
    return {}
"""


def _mypy(tmp: Path, *files: Path) -> tuple[str, int]:
    from mypy import api

    # Only zoobench and the test's modules are followed: the contract is theirs, and analysing torch, numpy and
    # the other libraries they import took mypy ~15 s, then ~14 s more to free at this process's exit.
    ini = tmp / "mypy.ini"
    ini.write_text(
        f"[mypy]\nmypy_path = {SRC}:{tmp}\nignore_missing_imports = True\ncache_dir = {tmp / 'cache'}\n"
        "follow_imports = skip\n[mypy-zoobench.*,complete_rt,lacking_rt,wrong_rt]\nfollow_imports = normal\n"
    )
    out, err, status = api.run(["--config-file", str(ini), "--no-error-summary", *map(str, files)])
    return out + err, status


def test_mypy_fails_on_a_module_that_lacks_a_part_and_passes_the_real_ones(tmp_path: Path) -> None:
    (tmp_path / "complete_rt.py").write_text(COMPLETE)
    (tmp_path / "lacking_rt.py").write_text(COMPLETE.replace("def tunables(", "def tunables_renamed("))
    (tmp_path / "wrong_rt.py").write_text(COMPLETE.replace("def supports(precision: str,", "def supports(prec: int,"))
    check = tmp_path / "check.py"
    check.write_text(
        textwrap.dedent("""
        import complete_rt, lacking_rt, wrong_rt
        from zoobench.runtimes.base import CompilingRuntime, RuntimeModule

        a: RuntimeModule = complete_rt
        b: RuntimeModule = lacking_rt
        c: RuntimeModule = wrong_rt
        d: CompilingRuntime = complete_rt  # it compiles nothing: no compile_artifact
        """)
    )
    out, status = _mypy(tmp_path, check, SRC / "zoobench" / "runtimes" / "_contract.py")
    assert status == 1, out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert {int(line.split(":")[1]) for line in errors} == {6, 7, 8}, out  # b, c and d; the real modules pass
    assert all(line.startswith(str(check)) for line in errors), out
    assert "tunables" in out and "supports" in out and "compile_artifact" in out


@pytest.fixture
def lacking() -> Iterator[str]:
    module = types.ModuleType("zb_lacking_rt")
    exec(COMPLETE.replace("def beside_decoders(", "def _gone("), module.__dict__)
    sys.modules[module.__name__] = module
    register(RuntimeSpec("lacking", module.__name__, "numpy", "pip install numpy"))
    yield "lacking"
    del RUNTIMES["lacking"], sys.modules[module.__name__]


def test_a_registered_module_that_lacks_a_part_is_refused_in_one_line(lacking: str) -> None:
    with pytest.raises(
        ZoobenchError, match=r"runtime lacking \(zb_lacking_rt\) lacks beside_decoders of RuntimeModule"
    ):
        runtime_module(lacking)
    with pytest.raises(ZoobenchError, match="runtime torch compiles nothing"):
        compiling_module("torch")


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino", "torch", "tensorrt"])
def test_tunables_are_candidates_the_default_first(runtime: str) -> None:
    from zoobench.perf.tune import candidates_for

    found = runtime_module(runtime).tunables(4, "fp32", True)
    assert found[0] == Candidate() and all(isinstance(c, Candidate) for c in found)
    assert len({tuple(sorted(c.as_options().items())) for c in found}) == len(found)
    options = candidates_for(runtime, 4, "fp32", True)
    assert options[0] == {} and options == [c.as_options() for c in found]


def test_a_candidate_keeps_streams_and_threads_as_fields() -> None:
    c = Candidate.of(2, 1, spin=False)
    assert (c.streams, c.threads, dict(c.options)) == (2, 1, {"spin": False})
    assert c.as_options() == {"streams": 2, "threads": 1, "spin": False}
    assert Candidate().as_options() == {}
