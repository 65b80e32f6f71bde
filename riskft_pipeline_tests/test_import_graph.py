"""The layers, read from the source with ``ast`` (every ``import``, at module level or inside a function):

- ``core/`` is pure: no dagster, mlflow, torch, transformers, peft, trl, and nothing of the layers above it;
- ``training/`` imports neither dagster nor mlflow, nor ``defs``/``tracking``;
- ``tracking/`` does not import ``defs`` (nor the CLI);
- no import cycle among riskft_pipeline modules (a module importing its own package's ``__init__`` counts).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import riskft_pipeline

ROOT = Path(riskft_pipeline.__file__).resolve().parent
HEAVY = ("dagster", "mlflow", "torch", "transformers", "peft", "trl")


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = ["riskft_pipeline", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """Every module name ``name`` imports (absolute; ``from x import y`` gives ``x.y`` and ``x``)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return found


def _internal(name: str) -> str | None:
    """The riskft_pipeline module an imported name lives in (a name imported from a module is that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    edges = {}
    for name in MODULES:
        deps = {_internal(i) for i in _imports(name) if i.startswith("riskft_pipeline")}
        deps.discard(None)
        deps.discard(name)
        edges[name] = deps
    return edges


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _offences(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{m} imports {i}" for m in MODULES if _in(m, package)
                  for i in _imports(m) if any(_in(i, f) for f in forbidden))


def test_core_is_pure():
    forbidden = (*HEAVY, "riskft_pipeline.training", "riskft_pipeline.tracking", "riskft_pipeline.defs",
                 "riskft_pipeline.cli", "riskft_pipeline.definitions", "riskft_pipeline.workflows",
                 "riskft_pipeline.enrich", "riskft_pipeline.incoming")
    assert not _offences("riskft_pipeline.core", forbidden)


def test_training_knows_neither_dagster_nor_mlflow():
    forbidden = ("dagster", "mlflow", "riskft_pipeline.defs", "riskft_pipeline.tracking", "riskft_pipeline.cli",
                 "riskft_pipeline.definitions")
    assert not _offences("riskft_pipeline.training", forbidden)


def test_tracking_does_not_import_dagster_code():
    assert not _offences("riskft_pipeline.tracking", ("dagster", "riskft_pipeline.defs", "riskft_pipeline.cli",
                                                      "riskft_pipeline.definitions"))


def test_only_the_cli_and_definitions_import_definitions():
    users = sorted(m for m, deps in graph().items() if "riskft_pipeline.definitions" in deps)
    assert all(_in(m, "riskft_pipeline.cli") for m in users), users


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    assert _cycles(graph()) == []


@pytest.mark.parametrize(("edges", "expected"), [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
])
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert _cycles(edges) == expected


def test_the_graph_sees_function_level_imports():
    """``riskft_pipeline.workflows`` imports training only inside functions: the graph must still see it."""
    assert "riskft_pipeline.training.sft" in graph()["riskft_pipeline.workflows"]
