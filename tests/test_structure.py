"""The shape of the package, counted from its AST: no import cycle, no function over 60 lines, no module over 400.

Every import counts, also one inside a function (a lazy import still ties two modules together).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "zoobench"
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["zoobench", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The zoobench modules ``name`` imports (``from zoobench.x import y`` counts as x.y when that is a module)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and not name.startswith(t + "."):  # a package's own __init__ is not a cycle
                found.add(t)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    mods = _modules()
    graph = {name: _imports(name, path, set(mods)) for name, path in mods.items()}
    assert graph["zoobench.cli"] >= {"zoobench.cli.app", "zoobench.cli.run"}  # the walk sees imports at all
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_functions_and_modules_stay_small() -> None:
    long_functions, big_modules = [], []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            big_modules.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # from `def` to the last line, as ../shared/tools/structure.py counts (click's option
                # decorators are declarations, not logic)
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}.{node.name}: {n} lines")
    assert long_functions == [] and big_modules == []


MAX_PARAMETERS = 8


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Positional, keyword-only, *args and **kwargs all count; ``self`` and ``cls`` do not."""
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs] + [x.arg for x in (a.vararg, a.kwarg) if x]
    return sum(1 for n in names if n not in ("self", "cls"))


def test_no_function_outside_cli_takes_more_than_8_parameters() -> None:
    over = []
    for name, path in _modules().items():
        if name == "zoobench.cli" or name.startswith("zoobench.cli."):  # click commands take one per option
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _parameters(node) > MAX_PARAMETERS:
                over.append(f"{name}.{node.name}: {_parameters(node)}")
    assert over == []


def test_the_parameter_count_counts_every_kind_but_self() -> None:
    fn = ast.parse("def f(self, a, /, b, *c, d, e=1, **f): pass").body[0]
    assert isinstance(fn, ast.FunctionDef) and _parameters(fn) == 6


# The layers, lowest first: a package (or top-level module) imports only from its own rank or below, and the
# packages have no cycle among themselves. docs/architecture.md shows the same table.
RANKS: dict[str, int] = {
    **dict.fromkeys(
        (
            *("errors", "io", "jsontypes", "env", "console", "classes"),
            *("fingerprint", "logits", "predictions", "settings", "onnx_meta"),
        ),
        0,
    ),
    "models": 1,
    **dict.fromkeys(("artifact", "data"), 2),
    **dict.fromkeys(("quantize", "uint8_input"), 3),
    **dict.fromkeys(("runtimes", "export"), 4),
    **dict.fromkeys(("evaluate", "ascend", "accuracy_control"), 5),
    **dict.fromkeys(("compile", "infer", "engines"), 6),
    **dict.fromkeys(("perf", "scenarios"), 7),
    **dict.fromkeys(("cluster", "report"), 8),
    **dict.fromkeys(("compare", "run"), 9),
    "demo": 10,
    **dict.fromkeys(("cli", "__main__"), 11),
}


def _package_graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        if name == "zoobench":
            continue
        top = name.split(".")[1]
        graph.setdefault(top, set()).update(t.split(".")[1] for t in _imports(name, path, set(mods)) if "." in t)
        graph[top].discard(top)
    return graph


def test_every_package_has_a_rank() -> None:
    assert sorted(set(_package_graph()) - set(RANKS)) == []


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{a} ({RANKS[a]}) imports {b} ({RANKS[b]})" for a, bs in graph.items() for b in bs if RANKS[b] > RANKS[a]
    )


def test_no_package_imports_one_above_it_and_packages_have_no_cycle() -> None:
    graph = _package_graph()
    assert graph["run"] >= {"infer", "cluster"} and graph["data"] >= {"models"}  # the walk sees package imports
    assert _upward(graph) == []
    assert _cycles(graph) == []


def test_run_uses_perf_and_perf_knows_nothing_of_runs_stage_ledger() -> None:
    """Issue 29: tune's stage lives in run/ and takes run's typed ``ModelStages``; perf/ (ranked below run/) neither
    imports run/ nor names its ledger or per-model stages, not even by duck typing."""
    graph = _package_graph()
    assert "perf" in graph["run"] and "run" not in graph["perf"]
    assert RANKS["perf"] < RANKS["run"]
    mods = _modules()
    assert "zoobench.run.tunestage" in mods and "zoobench.run.stages" in mods
    perf = {n: p.read_text(encoding="utf-8") for n, p in mods.items() if n.startswith("zoobench.perf.")}
    assert perf  # the walk sees perf/
    words = re.compile(r"\b(?:StageBook|ModelStages|_ModelStages|tune_stage|stages\.json|zoobench\.run)\b|\bbook\.")
    assert sorted(n for n, text in perf.items() if words.search(text)) == []
    assert words.search("book.mark(name)") and words.search("from zoobench.run.ledger import StageBook")


def test_the_layer_check_sees_an_upward_import() -> None:
    assert _upward({"infer": {"cluster", "data"}, "data": {"models"}}) == ["infer (6) imports cluster (8)"]


MAX_FMT_SKIPS = 19  # issue 29: at most a third of the 58 there were; 5 when it landed


def test_few_fmt_skips_hold_lines_together() -> None:
    """``# fmt: skip`` is not how a function stays under 60 lines or 8 parameters: split it, or name the group."""
    skips = sum(path.read_text(encoding="utf-8").count("# fmt: skip") for path in _modules().values())
    assert skips <= MAX_FMT_SKIPS, f"{skips} # fmt: skip in src/zoobench"


# Functions whose return annotation holds an untyped JSON object: dict[str, Any], Mapping[str, Any] or
# dict[str, object] (type aliases resolved). Issue 29 counted 122 and asked for at most 61; this ceiling is where
# that work stands (see the report): lower it as results become types, never raise it.
# 122 before issue 29; 91 on its branch; 130 after the engine build, ship and loadgen merged; 96 on issue-29b;
# 61 once serializers returned JsonObject and the JSON documents read back became TypedDicts (2026-12-05)
MAX_UNTYPED_DICT_RETURNS = 61
_UNTYPED = re.compile(r"\b(?:dict|Dict|Mapping|MutableMapping)\[str, (?:Any|object)\]")


def _aliases(trees: dict[str, ast.Module]) -> dict[str, str]:
    """Module-level ``Name = <type>`` and ``Name: TypeAlias = <type>`` of the package (name -> its text)."""
    out: dict[str, str] = {}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                out.setdefault(node.targets[0].id, ast.unparse(node.value))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                out.setdefault(node.target.id, ast.unparse(node.value))
    return out


def _untyped(annotation: str, aliases: dict[str, str], depth: int = 0) -> bool:
    if _UNTYPED.search(annotation):
        return True
    names = set(re.findall(r"\b[A-Za-z_]\w*\b", annotation)) & set(aliases)
    return depth < 5 and any(_untyped(aliases[n], aliases, depth + 1) for n in names)


def untyped_dict_returns(trees: dict[str, ast.Module]) -> list[str]:
    aliases = _aliases(trees)
    return [
        f"{name}.{node.name}"
        for name, tree in trees.items()
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.returns is not None
        and _untyped(ast.unparse(node.returns).strip("'\""), aliases)
    ]


def test_few_functions_return_an_untyped_dict() -> None:
    trees = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in _modules().items()}
    found = untyped_dict_returns(trees)
    assert len(found) > 20  # the walk sees them at all
    assert len(found) <= MAX_UNTYPED_DICT_RETURNS, "\n".join(found)


def test_the_counter_resolves_aliases_and_counts_mapping_and_object() -> None:
    src = (
        "from typing import Any, Mapping\n"
        "JSON = dict[str, Any]\n"
        "Row: TypeAlias = list[JSON]\n"
        "def a() -> JSON: ...\n"
        "def b() -> Mapping[str, Any]: ...\n"
        "def c() -> 'dict[str, object] | None': ...\n"
        "def d() -> Row: ...\n"
        "def e() -> dict[str, int]: ...\n"
        "def f() -> list[str]: ...\n"
    )
    assert untyped_dict_returns({"m": ast.parse(src)}) == ["m.a", "m.b", "m.c", "m.d"]
