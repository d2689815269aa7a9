"""Imports go one way: cli -> serve -> schedules -> workflow -> query -> batch -> engine
-> units -> (dsl, events, executors, store, observability) -> graph -> (errors, states,
config, notes).

Every import counts: top-level, inside functions (lazy) and under TYPE_CHECKING.
A module may import its own part of the package and any part on a lower layer;
parts on the same layer may not import each other, except the pairs listed in
SAME_LAYER_ALLOWED.  ``batch``, ``query``, ``serve`` and ``schedules`` have
their place before they are written.

Two rules inside the layers: the engine is handed executors and journals and
never imports a concrete one; and while a run goes on, only the runner writes
to its journal (see JOURNAL_WRITERS).
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
    {"errors", "states", "config", "notes"},
    {"graph"},
    {"dsl", "events", "executors", "store", "observability"},
    # Workflow units: found like events (their versions, entry points, git
    # checkouts); nothing below the CLI needs them yet.
    {"units"},
    {"engine"},
    {"batch"},
    {"query"},
    {"workflow"},
    {"schedules"},
    {"__init__"},
    {"serve"},
    {"lsp"},
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


# ---------------------------------------------------------------- inside layers

#: Modules of concrete executors and journals: the engine is handed instances.
CONCRETE_MODULES = (
    f"{PACKAGE}.executors.threads",
    f"{PACKAGE}.executors.processes",
    f"{PACKAGE}.executors.coroutines",
    f"{PACKAGE}.executors.cluster",
    f"{PACKAGE}.store.memory",
    f"{PACKAGE}.store.sqlite",
    f"{PACKAGE}.store.postgres",
)
#: Their classes, wherever re-exported from.
CONCRETE_NAMES = {
    "ThreadExecutor",
    "ProcessExecutor",
    "AsyncioExecutor",
    "DaskExecutor",
    "MemoryJournal",
    "SQLiteJournal",
    "PostgresJournal",
}


def concrete_imports(root: Path, part: str) -> list[str]:
    """Every import of a concrete executor or journal in ``part`` of the package."""
    found = []
    for path in sorted((root / part).rglob("*.py")):
        name, is_package = module_name(path, root)
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            module = ""
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level else []
                module = ".".join([*base, node.module] if node.module else base)
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            where = f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', 0)}"
            for target in [module, *names]:  # one line per import statement
                if target.startswith(CONCRETE_MODULES) or target in CONCRETE_NAMES:
                    found.append(f"{where}: imports {target}")
                    break
    return found


def test_the_engine_imports_no_concrete_executor_or_journal() -> None:
    assert concrete_imports(SRC, "engine") == []


def test_a_concrete_import_in_the_engine_is_caught(tmp_path: Path) -> None:
    root = tmp_path / PACKAGE
    _write(root, "engine/runner.py", "from ..executors import ThreadExecutor\n")
    _write(root, "engine/lazy.py", "def f():\n    from ..store.sqlite.journal import X\n")
    assert concrete_imports(root, "engine") == [
        f"{PACKAGE}/engine/lazy.py:2: imports {PACKAGE}.store.sqlite.journal",
        f"{PACKAGE}/engine/runner.py:1: imports ThreadExecutor",
    ]


#: The journal's write methods, and the modules that may call them: the
#: runner while a run goes on; the lifecycle before it (creating a run, the
#: records a resume starts from); owners from outside any run (cancelling a
#: run whose process is gone).  The journals themselves implement them.
WRITE_METHODS = {
    "record",
    "add_note",
    "add_logs",
    "set_run_state",
    "create_run",
    "request_cancel",
    "record_durations",
}
JOURNAL_WRITERS = {
    f"{PACKAGE}/engine/runner.py",
    f"{PACKAGE}/engine/lifecycle.py",
    f"{PACKAGE}/engine/owners.py",
    # A batch run's parent runs no task: its driver writes the parent's notes
    # and state (each child is written by its own runner).
    f"{PACKAGE}/batch/driver.py",
}


def journal_writes(root: Path) -> list[str]:
    """Calls of a journal write method outside the writers and the journals.

    ``record`` is a common name (a metric records too), so it counts only on a
    receiver that says ``journal``; the other names count on any receiver.
    """
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = str(path.relative_to(root.parent))
        if rel in JOURNAL_WRITERS or rel.startswith(f"{PACKAGE}/store/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            receiver = ast.unparse(node.func.value)
            if method in WRITE_METHODS and (method != "record" or "journal" in receiver):
                found.append(f"{rel}:{node.lineno}: {receiver}.{method}()")
    return found


def test_only_the_runner_writes_to_the_journal_during_a_run() -> None:
    assert journal_writes(SRC) == []


def test_a_journal_write_elsewhere_is_caught(tmp_path: Path) -> None:
    root = tmp_path / PACKAGE
    _write(root, "engine/scheduler.py", "def f(self):\n    self.journal.add_note(1)\n")
    _write(
        root,
        "observability/otel.py",
        "def f(h, journal):\n    h.record(1)\n    journal.record([])\n",
    )
    _write(root, "engine/runner.py", "def f(self):\n    self.journal.record([])\n")
    assert journal_writes(root) == [
        f"{PACKAGE}/engine/scheduler.py:2: self.journal.add_note()",
        f"{PACKAGE}/observability/otel.py:3: journal.record()",
    ]
