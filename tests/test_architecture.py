"""The shape of the code: the import-linter contracts in pyproject.toml hold, and no two units import
each other, directly or round a longer loop (docs/decisions/0010-layers.md)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("concerns", "statemachines", "models", "flows")


def test_the_import_contracts_hold():
    # Layers, a pure domain, a machine that stores nothing, Prefect only in the flows.
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def _unit(module: str) -> str:
    """concerns.output.letters, concerns.notify, statemachines.pathways, models.cases: a package's children."""
    return ".".join(module.split(".")[:2])


def test_no_cycle_between_units():
    # Imports inside functions and under TYPE_CHECKING count: a lazy import hides a cycle, not removes it.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if _unit(module) != _unit(imported):
                edges.setdefault(_unit(module), set()).add(_unit(imported))

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    units = sorted({_unit(m) for m in graph.modules})
    reach = {u: reachable(u) for u in units}
    cycles = [(a, b) for a, b in itertools.combinations(units, 2) if b in reach[a] and a in reach[b]]
    assert not cycles, f"units that import each other (directly or round a loop): {cycles}"


def test_every_package_directory_is_a_package():
    # A directory without __init__.py is a namespace package: import-linter and grimp do not see it.
    for package in PACKAGES:
        for directory in (ROOT / package).rglob("*"):
            if directory.is_dir() and any(directory.glob("*.py")) and "migrations" not in directory.parts:
                assert (directory / "__init__.py").exists(), f"{directory.relative_to(ROOT)} has no __init__.py"


def test_no_cycle_between_modules():
    # Inside a package too (concerns.ingest.load, concerns.app.web, ...): no module reaches back to one it imports.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = [(module, imported) for module in sorted(graph.modules)
              for imported in graph.find_modules_directly_imported_by(module)
              if imported != module and graph.chain_exists(importer=imported, imported=module)]
    assert not cycles, f"modules in an import cycle: {cycles}"


def _strftime_uses(path: Path) -> list[int]:
    """Lines calling strftime, directly or through a format spec ("{day:%d %B}" is strftime underneath)."""
    def uses(node: ast.AST) -> bool:
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            return "%" in ast.unparse(node.format_spec)
        return isinstance(node, ast.Attribute) and node.attr == "strftime"

    return [node.lineno for node in ast.walk(ast.parse(path.read_text(), filename=str(path))) if uses(node)]


# The desk's own date filter, which is being replaced by concerns.domain.formatting's; only that line.
_STRFTIME_ALLOWED = {"concerns/app/web/app.py": 'env.filters["ukdate"]'}


def test_dates_are_written_by_the_formatting_module_not_strftime():
    # strftime's day and month names follow the process locale (LC_TIME), and a second way of writing a
    # date drifts from the first: concerns.domain.formatting writes dates and times, in words and for machines.
    offenders = []
    for package in ("concerns", "flows", "statemachines", "models"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            lines = path.read_text().splitlines()
            offenders += [f"{name}:{n}" for n in _strftime_uses(path)
                          if not (name in _STRFTIME_ALLOWED and _STRFTIME_ALLOWED[name] in lines[n - 1])]
    assert not offenders, f"strftime (use concerns.domain.formatting): {offenders}"


def _names_bound_by_import(tree: ast.Module) -> set[str]:
    return {alias.asname or alias.name.split(".")[0] for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}


def test_what_letters_imports_is_imported_from_where_it_is_defined():
    # A name concerns.output.letters imports (a formatting filter, LetterSchool, LETTER_KINDS) has one
    # import path, its own module's: a second path through letters hides where it is defined.
    borrowed = _names_bound_by_import(ast.parse((ROOT / "concerns/output/letters.py").read_text()))
    offenders = []
    for package in (*PACKAGES, "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(), filename=name)):
                if isinstance(node, ast.ImportFrom) and node.module == "concerns.output.letters":
                    offenders += [f"{name}:{node.lineno} {alias.name}" for alias in node.names
                                  if alias.name in borrowed]
    assert not offenders, f"import these from the module that defines them: {offenders}"
