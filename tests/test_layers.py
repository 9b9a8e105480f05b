"""The package's layers: every import (lazy ones inside functions too) goes down or stays in
its own package, and no modules import each other in a circle. docs/architecture.md draws
the same layers."""

from __future__ import annotations

import ast
from pathlib import Path

import context_encoder

ROOT = Path(context_encoder.__file__).parent
#: Bottom to top; a module may import its own top-level package and the layers below.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "pixels", "masks"),
    ("runtime", "io", "metrics", "sketch", "work"),
    ("config",),
    ("data", "models", "losses", "baselines"),
    ("checkpoint",),
    ("onnx_model",),
    ("training", "inference", "features"),
    ("evaluation", "server"),
    ("demo",),
    ("cli",),
    ("__main__",),
)
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The package's modules that ``path`` imports (absolute ``context_encoder.x`` and
    relative ``.x`` forms, anywhere in the file), as dotted names under the package."""
    here = _module(path).split(".") if _module(path) else []
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "context_encoder":
                target = node.module.split(".")[1:]
            else:
                continue
            names = [".".join([*target, a.name]) for a in node.names] if not node.module \
                else [".".join(target)]
            found.update(n for n in names if n)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".", 1)[1] for a in node.names
                         if a.name.startswith("context_encoder."))
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in ROOT.rglob("*.py") if _module(p)}
    graph = {}
    for name, path in files.items():
        deps = set()
        for target in _imports(path):
            while target and target not in files:  # a name inside a module: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def test_every_top_level_module_has_a_layer():
    tops = {p.stem if p.suffix else p.name for p in ROOT.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert tops == set(RANK)


def test_imports_only_go_down_or_stay_in_their_package():
    up = []
    for name, deps in _graph().items():
        top = name.split(".")[0]
        for dep in deps:
            other = dep.split(".")[0]
            if other != top and RANK[other] >= RANK[top]:
                up.append(f"{name} -> {dep}")
    assert not up, "imports that do not go down: " + ", ".join(sorted(up))


def test_no_import_cycles():
    graph, state, cycles = _graph(), {}, []

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                cycles.append(" -> ".join([*path[path.index(dep):], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(cycles)
