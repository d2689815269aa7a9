"""The public surface of `volnux` is exactly what __all__ says, and it is pinned here.

Adding or removing a public name is a user-visible change: update this list
and CHANGELOG.md together.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from types import ModuleType

import pytest

import volnux

PUBLIC = [
    "BatchInfo",
    "BatchRun",
    "Config",
    "ConfigError",
    "Context",
    "Deprecated",
    "DeprecatedEventRefused",
    "Event",
    "EventDefinitionError",
    "EventDeprecationWarning",
    "EventLoadError",
    "EventNotFound",
    "EventRegistry",
    "Failure",
    "FailureInfo",
    "Fenced",
    "InputError",
    "Journal",
    "JournalNotFound",
    "MemoryJournal",
    "NeedsOperator",
    "Partial",
    "PermanentError",
    "PointyError",
    "PoolSettings",
    "RenderError",
    "Resources",
    "ResultEvaluation",
    "ResultMissing",
    "ResultRef",
    "ResultStore",
    "ResumeRefused",
    "RetryPolicy",
    "Route",
    "Run",
    "RunClaimed",
    "RunError",
    "RunExists",
    "RunNotFound",
    "RunState",
    "SQLiteJournal",
    "SourceChanged",
    "StopRequest",
    "StoreError",
    "TaskState",
    "TaskView",
    "TransientError",
    "UnencodableResult",
    "Unpicklable",
    "VolnuxError",
    "WorkerLost",
    "Workflow",
    "__version__",
    "cancel_run",
    "capture_logs",
    "capture_prints",
    "deprecations",
    "event",
    "executor_names",
    "format_graph",
    "format_text",
    "load_config",
    "open_store",
    "otel",
    "parse",
    "parse_file",
    "pause_run",
    "project_registry",
    "render",
    "run_dot",
    "signals",
    "splitter",
    "to_ascii",
    "to_dot",
]

#: Public modules among them (the rest are classes, functions and constants).
MODULES = ["otel", "signals"]


def test_all_is_pinned_and_sorted() -> None:
    assert volnux.__all__ == PUBLIC
    assert sorted(PUBLIC) == PUBLIC


def test_every_public_name_is_importable_from_volnux() -> None:
    namespace: dict[str, object] = {}
    exec(f"from volnux import {', '.join(PUBLIC)}", namespace)
    for name in PUBLIC:
        assert namespace[name] is getattr(volnux, name)


def test_public_objects_are_volnux_own() -> None:
    for name in PUBLIC:
        obj = getattr(volnux, name)
        if name in MODULES:
            assert isinstance(obj, ModuleType) and obj.__name__.startswith("volnux."), name
        elif name != "__version__":
            assert obj.__module__.startswith("volnux."), (name, obj.__module__)


def test_nothing_public_hides_outside_all() -> None:
    # Subpackages are reachable as attributes once imported; they are not API names.
    extra = [
        name
        for name in dir(volnux)
        if not name.startswith("_")
        and name not in PUBLIC
        and not isinstance(getattr(volnux, name), ModuleType)
    ]
    assert extra == []


def test_version_matches_the_installed_distribution() -> None:
    assert volnux.__version__ == importlib.metadata.version("volnux")


def _modules_after(code: str) -> set[str]:
    """The volnux modules a fresh interpreter has loaded after running ``code``."""
    probe = code + "\nimport sys; print(' '.join(m for m in sys.modules if m.startswith('volnux')))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(done.stdout.split())


def test_defining_events_loads_the_authoring_api_and_not_the_runtime() -> None:
    loaded = _modules_after(
        "import volnux\n"
        "@volnux.event(retry=volnux.RetryPolicy(max_attempts=2))\n"
        "def Fetch() -> int:\n"
        "    return 1\n"
    )
    assert "volnux.events" in loaded
    runtime = {"volnux.engine", "volnux.workflow", "volnux.store", "volnux.executors", "volnux.dsl"}
    assert not loaded & runtime, sorted(loaded & runtime)


def test_the_command_line_starts_without_the_engine() -> None:
    loaded = _modules_after("from volnux.cli.app import app")
    assert "volnux.cli.app" in loaded
    assert not {"volnux.engine", "volnux.workflow", "volnux.dsl"} & loaded


def test_the_lazy_names_are_the_same_objects_as_their_modules_own() -> None:
    from volnux import engine, events, workflow

    assert volnux.Workflow is workflow.Workflow
    assert volnux.Run is engine.Run and volnux.TaskView is engine.TaskView
    assert volnux.event is events.event and volnux.RetryPolicy is events.RetryPolicy
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        volnux.Nope  # noqa: B018


def test_the_docs_import_only_the_public_surface() -> None:
    """What README.md and docs/ tell users to import is public (pinned above)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    src = root / "src" / "volnux"
    # Every part of the package that is not itself a public module.
    parts = {p.stem for p in src.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    parts -= {"__init__", "__main__", *MODULES}
    names = "|".join(sorted(parts))
    # An import, or an attribute reached through a private part (volnux.store.x,
    # volnux.config(...)); entry-point groups and loggers (`volnux.events`) are not.
    private = re.compile(
        rf"from volnux\.({names})\b|import volnux\.({names})\b|\bvolnux\.({names})[.(]"
    )
    found = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            found.extend(f"{page.name}:{number}: {m.group(0)}" for m in private.finditer(line))
    assert found == []
