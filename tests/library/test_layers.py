"""The layers, structurally: no import cycles, and the library knows nothing of Home Assistant.

Every import of every module is parsed with ``ast``: at module level, inside functions and
under ``if TYPE_CHECKING:`` alike (a cycle hidden in a function or a type block is still a
cycle of the design). Relative imports are resolved to module names, ``from pkg import name``
points at the submodule ``pkg.name`` when there is one and at ``pkg`` itself otherwise.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
INTEGRATION = "custom_components.webasto_chargeconnect"
LIBRARY = f"{INTEGRATION}.chargeconnect"
PACKAGES = (INTEGRATION, "webasto_sim")
# What Home Assistant loads by name: the integration itself, its flow, diagnostics and platforms.
ENTRY_POINTS = {
    INTEGRATION,
    *(
        f"{INTEGRATION}.{name}"
        for name in (
            "config_flow",
            "diagnostics",
            *("binary_sensor", "button", "calendar", "event", "number", "select"),
            *("sensor", "switch"),
        )
    ),
}


@dataclass(frozen=True)
class Import:
    """One import statement's target, as a module name (``target``) and where it stands."""

    source: str
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    """Every module of ``package`` (its subpackages included), by dotted name."""
    base = ROOT.joinpath(*package.split("."))
    return {_module_name(path): path for path in sorted(base.rglob("*.py"))}


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module ``from <level dots><module> import ...`` names."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".")
    if path.name != "__init__.py":
        package.pop()  # a plain module's relative imports start at its package
    up = node.level - 1
    if up >= len(package):
        raise AssertionError(f"{path}:{node.lineno}: relative import beyond the top level")
    base = package[: len(package) - up]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports(module: str, path: Path, known: set[str]) -> list[Import]:
    """Every import in ``path``: module level, in functions and under TYPE_CHECKING."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append(Import(module, sub if sub in known else target, node.lineno))
    return found


def _graph(package: str) -> tuple[dict[str, Path], dict[str, list[Import]]]:
    modules = _modules(package)
    known = set(modules)
    edges = {
        name: [
            imp for imp in _imports(name, path, known) if imp.target in known and imp.target != name
        ]
        for name, path in modules.items()
    }
    return modules, edges


def _find_cycle(edges: dict[str, list[Import]]) -> list[Import] | None:
    """One cycle of the graph, as the imports that make it up (None: the graph is acyclic)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[Import] = []

    def visit(name: str) -> list[Import] | None:
        state[name] = 1
        for imp in edges[name]:
            if state.get(imp.target) == 1:
                start = next(i for i, p in enumerate(path) if p.source == imp.target)
                return [*path[start:], imp]
            if imp.target not in state:
                path.append(imp)
                if (cycle := visit(imp.target)) is not None:
                    return cycle
                path.pop()
        state[name] = 2
        return None

    for name in sorted(edges):
        if name not in state and (cycle := visit(name)) is not None:
            return cycle
    return None


def _describe(cycle: list[Import]) -> str:
    return " -> ".join([*(f"{imp.source} (line {imp.line})" for imp in cycle), cycle[-1].target])


def _cycles(edges: dict[str, list[Import]]) -> list[str]:
    """One cycle of each strongly connected component: every tangle is reported, not the first."""
    reach = {name: _reachable(edges, name) for name in edges}
    components: list[set[str]] = []
    for name in sorted(edges):
        if name in reach[name] and not any(name in c for c in components):
            components.append({other for other in reach[name] if name in reach[other]})
    found = []
    for component in components:
        inside = {
            name: [imp for imp in edges[name] if imp.target in component] for name in component
        }
        cycle = _find_cycle(inside)
        assert cycle is not None
        names = ", ".join(sorted(name.rsplit(".", 1)[-1] for name in component))
        found.append(f"{len(component)} modules ({names}), e.g. " + _describe(cycle))
    return found


def _reachable(edges: dict[str, list[Import]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [imp.target for imp in edges[start]]
    while todo:
        if (name := todo.pop()) not in seen:
            seen.add(name)
            todo += [imp.target for imp in edges[name]]
    return seen


def test_find_cycle_reports_the_path() -> None:
    """The checker itself: it finds a cycle and names each import on it, in order."""
    a_b, b_c, c_a = Import("a", "b", 1), Import("b", "c", 2), Import("c", "a", 3)
    assert _find_cycle({"a": [a_b], "b": [b_c], "c": [c_a], "d": [Import("d", "a", 4)]}) == [
        a_b,
        b_c,
        c_a,
    ]
    assert _find_cycle({"a": [a_b], "b": [b_c], "c": []}) is None
    assert _describe([a_b, b_c, c_a]) == "a (line 1) -> b (line 2) -> c (line 3) -> a"
    two = {
        "a": [a_b],
        "b": [b_c],
        "c": [c_a],
        "d": [Import("d", "e", 5)],
        "e": [Import("e", "d", 6)],
    }
    assert len(_cycles(two)) == 2


def test_relative_imports_resolve_to_modules() -> None:
    """``from . import x``, ``from ..y import z`` and a package's own ``from .x`` resolve right."""
    modules, edges = _graph(INTEGRATION)
    assert f"{LIBRARY}.ocpp.charger" in modules
    targets = {imp.target for imp in edges[f"{INTEGRATION}.coordinator"]}
    assert f"{LIBRARY}" in targets  # from .chargeconnect import Charger
    assert f"{LIBRARY}.ocpp.events" in targets


def test_module_graphs_are_acyclic() -> None:
    """Neither the integration (glue and library) nor the simulator has an import cycle."""
    cycles = [cycle for package in PACKAGES for cycle in _cycles(_graph(package)[1])]
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_nothing_imports_an_entry_point() -> None:
    """The integration's ``__init__``, flow, diagnostics and platforms sit on top: none is imported.

    A flow importing ``__init__`` or a module importing a platform turns the layers upside down
    (and ``__init__`` imports nearly everything, so it closes a cycle as soon as it grows one).
    """
    _, edges = _graph(INTEGRATION)
    offenders = [
        f"{imp.source} (line {imp.line}) -> {imp.target}"
        for imports in edges.values()
        for imp in imports
        if imp.target in ENTRY_POINTS
    ]
    assert offenders == [], "entry points imported:\n" + "\n".join(offenders)


def test_library_imports_neither_home_assistant_nor_the_glue() -> None:
    """``chargeconnect/`` stands alone: no ``homeassistant``, no module of the glue around it."""
    offenders = []
    for name, path in _modules(LIBRARY).items():
        for imp in _imports(name, path, set()):
            glue = imp.target.startswith(f"{INTEGRATION}.") or imp.target == INTEGRATION
            if imp.target.split(".")[0] == "homeassistant" or (
                glue and not (imp.target == LIBRARY or imp.target.startswith(f"{LIBRARY}."))
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{imp.line}: {imp.target}")
    assert offenders == []
