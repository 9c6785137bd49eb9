"""docs/design.md maps the package module for module, and no import runs back up a package.

The map is a promise to readers; this test keeps it true: every module of
``src/improved_gan`` is named on the page (as a backticked path), every path the
page names exists, and the packages import each other in one direction only.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "improved_gan"
MODULE_SUFFIXES = (".py", ".c")


def package_modules() -> set[str]:
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*")
        if path.suffix in MODULE_SUFFIXES and "__pycache__" not in path.parts
    }


def mapped_modules() -> set[str]:
    text = (ROOT / "docs" / "design.md").read_text()
    section = text[text.index("## The map, module by module") : text.index("## Decisions")]
    return set(re.findall(r"^\| `([\w/]+\.(?:py|c))` \|", section, flags=re.MULTILINE))


def test_every_module_is_on_the_map_and_every_mapped_module_exists():
    modules, mapped = package_modules(), mapped_modules()
    assert sorted(modules - mapped) == [], "modules missing from docs/design.md's map"
    assert sorted(mapped - modules) == [], "docs/design.md maps modules that do not exist"


def unit_of(module: str) -> str:
    """The part of the package a module belongs to: its top-level subpackage, or itself at the root."""
    first = module.split(".")[0]
    return first if (PACKAGE / first).is_dir() else module


def imports_between_units() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("improved_gan."):
                targets = [node.module.removeprefix("improved_gan.")]
            elif isinstance(node, ast.Import):
                targets = [a.name.removeprefix("improved_gan.") for a in node.names if a.name.startswith("improved_gan.")]
            for target in targets:
                source_unit, target_unit = unit_of(module), unit_of(target)
                if source_unit != target_unit and target_unit not in ("errors", "__init__"):
                    edges[source_unit].add(target_unit)
    return edges


def test_no_import_runs_back_up():
    """The parts of the package (subpackages and root modules) import each other without a cycle."""
    edges = imports_between_units()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(unit: str, trail: list[str]) -> bool:
        state[unit] = 1
        for nxt in sorted(edges.get(unit, ())):
            if state.get(nxt) == 1:
                cycle.extend(trail + [unit, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, trail + [unit]):
                return True
        state[unit] = 2
        return False

    for unit in sorted(edges):
        if state.get(unit) is None and visit(unit, []):
            break
    assert cycle == [], f"an import runs back up: {' -> '.join(cycle)}"
