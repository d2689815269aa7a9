"""Imports go one way: cli -> workflow -> batch -> engine -> (dsl, events, executors,
store, observability) -> graph -> (errors, states, config).

Every import counts: top-level, inside functions (lazy) and under TYPE_CHECKING.
A module may import its own part of the package and any part on a lower layer;
parts on the same layer may not import each other, except the pairs listed in
SAME_LAYER_ALLOWED.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "volnux"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

#: Lowest first.  ``__init__`` is the package's public API (volnux/__init__.py):
#: it gathers names from everything below the CLI; ``__main__`` starts the CLI.
LAYERS: list[set[str]] = [
    {"errors", "states", "config"},
    {"graph"},
    {"dsl", "events", "executors", "store", "observability"},
    {"engine"},
    {"batch"},
    {"workflow"},
    {"__init__"},
    {"cli"},
    {"__main__"},
]

#: (importer, imported) on the same layer that are allowed.
SAME_LAYER_ALLOWED = {
    ("states", "errors"),
    ("config", "errors"),
    # Observers read the journal's records (the transitions) and nothing else.
    ("observability", "store"),
}

LEVEL = {part: i for i, layer in enumerate(LAYERS) for part in layer}


def part_of(module: str) -> str:
    """``volnux.events.base`` -> ``events``; ``volnux`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, root: Path) -> tuple[str, bool]:
    """The dotted name of a source file, and whether it is a package ``__init__``."""
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import of this package in ``path``."""
    name, is_package = module_name(path, root)
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts)
            else:
                base = ""
            if node.module:
                found.append((node.lineno, f"{base}.{node.module}" if base else node.module))
            else:
                # `from . import x`: each name may be a submodule of base.
                found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return [(line, mod) for line, mod in found if mod == PACKAGE or mod.startswith(PACKAGE + ".")]


def violations(root: Path) -> list[str]:
    """Every import under ``root`` that goes up or sideways, as readable lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        importer = part_of(module_name(path, root)[0])
        if importer not in LEVEL:
            found.append(f"{path.relative_to(root.parent)}: {importer!r} is not on any layer")
            continue
        for line, target in imported_modules(path, root):
            imported = part_of(target)
            if imported == importer or (importer, imported) in SAME_LAYER_ALLOWED:
                continue
            if imported not in LEVEL:
                found.append(
                    f"{path.relative_to(root.parent)}:{line}: imports {target}, "
                    f"whose part {imported!r} is not on any layer"
                )
            elif LEVEL[imported] >= LEVEL[importer]:
                way = "sideways" if LEVEL[imported] == LEVEL[importer] else "upwards"
                found.append(
                    f"{path.relative_to(root.parent)}:{line}: {importer} imports {target} "
                    f"({way}: {imported} is not below {importer})"
                )
    return found


def test_package_imports_go_one_way() -> None:
    assert SRC.is_dir(), SRC
    assert violations(SRC) == []


def test_the_walk_sees_the_whole_package() -> None:
    parts = {part_of(module_name(p, SRC)[0]) for p in SRC.rglob("*.py")}
    assert {"errors", "states", "graph", "events", "store", "cli"} <= parts


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def fake_package(tmp_path: Path) -> Path:
    root = tmp_path / PACKAGE
    _write(root, "__init__.py", "from .workflow import Workflow\n")
    _write(root, "errors.py", "")
    _write(root, "states.py", "from .errors import RunError\n")
    _write(root, "graph/__init__.py", "from ..errors import VolnuxError\n")
    _write(root, "workflow.py", "from .engine import Engine\nfrom volnux.graph import Graph\n")
    _write(root, "engine/__init__.py", "from ..store import Journal\n")
    _write(root, "store/__init__.py", "from .. import states\n")
    _write(root, "cli/__init__.py", "def main():\n    from ..workflow import Workflow\n")
    return root


def test_a_clean_tree_passes(fake_package: Path) -> None:
    assert violations(fake_package) == []


def test_a_lazy_upward_import_inside_a_function_is_caught(fake_package: Path) -> None:
    _write(fake_package, "store/sqlite.py", "def f():\n    from ..engine import Engine\n")
    assert violations(fake_package) == [
        f"{PACKAGE}/store/sqlite.py:2: store imports {PACKAGE}.engine "
        "(upwards: engine is not below store)"
    ]


def test_a_sideways_import_is_caught(fake_package: Path) -> None:
    _write(fake_package, "events/__init__.py", "import volnux.store.memory\n")
    assert violations(fake_package) == [
        f"{PACKAGE}/events/__init__.py:1: events imports {PACKAGE}.store.memory "
        "(sideways: store is not below events)"
    ]


def test_from_dot_dot_import_name_resolves_to_the_submodule(fake_package: Path) -> None:
    _write(fake_package, "graph/model.py", "from .. import engine\n")
    assert violations(fake_package) == [
        f"{PACKAGE}/graph/model.py:1: graph imports {PACKAGE}.engine "
        "(upwards: engine is not below graph)"
    ]
