"""A workflow unit and its manifest: a TOML file beside the ``.pty`` it describes.

A unit is a workflow with a name and a version: its Pointy-lang text, the
event sources it needs, default inputs, a description, and (optionally) a
deprecation and a changelog.  The manifest says all but the text::

    name = "orders"                # default: the file's name, up to any "@"
    version = "1.2.0"              # required
    description = "Bill yesterday's orders."
    workflow = "orders.pty"        # default: the manifest's name, .toml -> .pty
    events = ["events.py"]         # files, folders (ending in /) or module names

    [inputs]                       # defaults; --input wins over them
    region = "eu"

    [deprecated]                   # optional
    reason = "bills twice on a retry"
    since = "1.3"
    use = "orders@2"

    [changelog]
    "1.2.0" = "adds the region input"

A separate file rather than a comment block in the ``.pty``: the workflow
text stays exactly what the language reference describes, editors and
``volnux fmt`` never need to know about manifests, and the manifest is read
with the same TOML reader, and the same error style, as ``volnux.toml``.
Paths in a manifest are relative to the manifest's folder.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NoReturn

from ..config import WORKFLOW_NAME
from ..errors import WorkflowUnitError
from ..events.deprecation import Deprecated, check_changelog
from ..events.sources import Source, folder_files
from ..events.versions import Version, parse_version

__all__ = ["KEYS", "WorkflowUnit", "find_manifests", "read_manifest"]

#: What a manifest may set.
KEYS: Final = (
    "changelog",
    "deprecated",
    "description",
    "events",
    "inputs",
    "name",
    "version",
    "workflow",
)
_DEPRECATED_KEYS: Final = ("reason", "since", "use")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True, slots=True)
class WorkflowUnit:
    """One version of a named workflow, as its manifest describes it."""

    name: str
    version: Version
    #: The ``.pty`` file (read when the unit is run or shown, not when it is found).
    workflow: Path
    #: The manifest it was read from.
    manifest: Path
    #: Where it was found: a project folder, an installed package or a git registry.
    source: Source
    #: One paragraph for ``volnux workflows list``.
    description: str = ""
    #: Event sources it needs: ``.py`` files and folders (absolute) and module names.
    events: tuple[str, ...] = ()
    #: Default workflow inputs (``--input`` wins over them).
    inputs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    deprecated: Deprecated | None = None
    #: Version to what changed in it, newest first.
    changelog: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def key(self) -> str:
        """``orders@1.2.0``."""
        return f"{self.name}@{self.version}"

    @property
    def origin(self) -> str:
        """Where it was found, in words (``folder /srv/app/workflows``)."""
        return str(self.source)

    def text(self) -> str:
        """The workflow's Pointy-lang text; WorkflowUnitError if the file cannot be read."""
        try:
            return self.workflow.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise WorkflowUnitError(
                f"workflow {self.key}: its file {self.workflow} does not exist "
                f"(fix workflow in {self.manifest}, or restore the file)"
            ) from None
        except UnicodeDecodeError as exc:
            raise WorkflowUnitError(
                f"workflow {self.key}: {self.workflow} is not UTF-8 text (byte {exc.start})"
            ) from None
        except OSError as exc:
            raise WorkflowUnitError(
                f"workflow {self.key}: {self.workflow} cannot be read: {exc.strerror or exc}"
            ) from None

    def event_sources(self) -> list[str]:
        """What to load for its events, as ``--events`` values: a folder's files one by one."""
        found: list[str] = []
        for item in self.events:
            path = Path(item)
            if path.is_absolute() and path.is_dir():
                found.extend(str(p) for p in folder_files(path))
            else:
                found.append(item)
        return found

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (``volnux workflows show --json``)."""
        return {
            "workflow": self.key,
            "name": self.name,
            "version": str(self.version),
            "description": self.description,
            "file": str(self.workflow),
            "manifest": str(self.manifest),
            "source": self.source.as_dict(),
            "origin": self.origin,
            "events": list(self.events),
            "inputs": dict(self.inputs),
            "deprecated": self.deprecated.as_dict() if self.deprecated else None,
            "changelog": dict(self.changelog),
        }


def find_manifests(folder: Path, setting: str) -> list[Path]:
    """Every manifest under ``folder`` (its subfolders too), sorted.

    Files and folders whose names start with ``_`` or ``.`` are skipped (helpers,
    a ``.git``).  ``setting`` is what to fix when the folder does not exist.
    """
    if not folder.is_dir():
        raise WorkflowUnitError(f"workflows folder {folder} does not exist (fix {setting})")
    return sorted(
        path
        for path in folder.rglob("*.toml")
        if path.is_file()
        and not any(part.startswith(("_", ".")) for part in path.relative_to(folder).parts)
    )


def read_manifest(path: Path, source: Source) -> WorkflowUnit:
    """The unit ``path`` describes; WorkflowUnitError names the file, the key and the fix."""
    reader = _Manifest(path)
    version_text = reader.text("version")
    if version_text is None:
        reader.fail('version is missing; add version = "1.0.0"')
    try:
        version = parse_version(version_text)
    except ValueError as exc:
        reader.fail(f"version: {exc}")
    name = reader.text("name") or path.stem.split("@", 1)[0]
    if not WORKFLOW_NAME.match(name):
        where = "name" if "name" in reader.table else f"the file's name ({path.name})"
        reader.fail(
            f"{where}: {name!r} is not a workflow name (letters, digits, _ and -, "
            "dotted parts; it may not start with a digit)"
        )
    workflow = path.parent / (reader.text("workflow") or f"{path.stem}.pty")
    if not workflow.is_file():
        said = "workflow" if "workflow" in reader.table else "the workflow file"
        reader.fail(f"{said} {workflow} does not exist (name the .pty with workflow = ...)")
    return WorkflowUnit(
        name=name,
        version=version,
        workflow=workflow.resolve(),
        manifest=path.resolve(),
        source=source,
        description=(reader.text("description") or "").strip(),
        events=tuple(_event_source(reader, item) for item in reader.strings("events")),
        inputs=MappingProxyType(reader.table_of("inputs")),
        deprecated=_deprecated(reader),
        changelog=_changelog(reader),
    )


class _Manifest:
    """One manifest's keys and values, checked; errors name the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with path.open("rb") as f:
                self.table: dict[str, Any] = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            self.fail(f"not valid TOML: {exc}")
        except OSError as exc:
            self.fail(f"cannot be read: {exc.strerror or exc}")
        unknown = sorted(set(self.table) - set(KEYS))
        if unknown:
            self.fail(f"unknown key {unknown[0]!r}; known keys: {', '.join(KEYS)}")

    def fail(self, message: str) -> NoReturn:
        raise WorkflowUnitError(f"{self.path}: {message}")

    def text(self, key: str) -> str | None:
        value = self.table.get(key)
        if value is not None and not isinstance(value, str):
            self.fail(f"{key} must be a string, got {_kind(value)}")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
            self.fail(f"{key} must be a list of strings, got {_kind(value)}")
        return list(value)

    def table_of(self, key: str) -> dict[str, Any]:
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            self.fail(f"{key} must be a table ([{key}]), got {_kind(value)}")
        return dict(value)


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"{type(value).__name__} {value!r}"
    )


def _event_source(reader: _Manifest, item: str) -> str:
    """A file or folder made absolute (it must exist); a module name kept as written."""
    if item.endswith(".py") or "/" in item or "\\" in item:
        path = (reader.path.parent / item).resolve()
        if not path.exists():
            reader.fail(f"events: {item!r} does not exist (looked for {path})")
        return str(path)
    if not _MODULE.match(item):
        reader.fail(
            f"events: {item!r} is neither a module name nor a path "
            "(a .py file, or a folder ending in /)"
        )
    return item


def _deprecated(reader: _Manifest) -> Deprecated | None:
    raw = reader.table.get("deprecated")
    if raw is None:
        return None
    if isinstance(raw, str):  # the short form: just the reason
        raw = {"reason": raw}
    if not isinstance(raw, dict):
        reader.fail(f"deprecated must be a table (reason, since, use), got {_kind(raw)}")
    unknown = sorted(set(raw) - set(_DEPRECATED_KEYS))
    if unknown:
        reader.fail(
            f"unknown key {unknown[0]!r} in [deprecated]; known keys: {', '.join(_DEPRECATED_KEYS)}"
        )
    for key, value in raw.items():
        if not isinstance(value, str):
            reader.fail(f"deprecated.{key} must be a string, got {_kind(value)}")
    try:
        return Deprecated(raw.get("reason", ""), raw.get("since"), raw.get("use"))
    except ValueError as exc:
        reader.fail(f"[deprecated]: {exc}".replace("Deprecated(reason=...)", "reason"))


def _changelog(reader: _Manifest) -> Mapping[str, str]:
    try:
        return check_changelog(reader.table_of("changelog"), "[changelog]")
    except ValueError as exc:
        reader.fail(str(exc))
