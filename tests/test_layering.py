"""DESIGN §5: the dependency direction between packages, enforced on every import statement."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSITION_ROOT = {"gateway/app.py", "gateway/graphql.py", "gateway/context.py", "gateway/cli.py"}
FORBIDDEN = {
    "gateway": {"schema", "resolvers", "loaders", "workers"},
    "loaders": {"schema", "resolvers", "workers"},
    "schema": {"resolvers", "workers"},
    "workers": {"schema", "resolvers"},
    "resolvers": {"workers"},
}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def source_files() -> list[Path]:
    return sorted(p for package in FORBIDDEN for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_dependency_direction(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    if relative in COMPOSITION_ROOT:
        return
    package = relative.split("/")[0]
    wrong = imported_top_levels(path) & FORBIDDEN[package]
    assert not wrong, f"{relative} imports {sorted(wrong)}, against DESIGN §5"


def test_schema_package_init_is_empty() -> None:
    # Circular imports between types and resolvers start with a busy schema/__init__.py.
    assert (ROOT / "schema" / "__init__.py").read_text(encoding="utf-8").strip() == ""
