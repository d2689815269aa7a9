"""Project configuration: ``volnux.toml`` or ``[tool.volnux]`` in ``pyproject.toml``.

Built explicitly by :func:`load_config`; nothing is read at import time.  The
order of precedence, strongest first: command-line flags (applied by the
caller with :meth:`Config.override`), environment variables, the file, the
defaults below.  docs/configuration.md is the reader's reference.

A file looks like this (every key optional)::

    store = "sqlite:.volnux/volnux.db"
    strict = false
    executor = "thread"
    events = ["myproject.events", "extra/events.py"]

    [pins]
    "payments.Charge" = "1.2"

    [registries]
    folders = ["events"]
    entry_points = true            # or ["acme-events"]: only these distributions
    cache = ".volnux/registries"

    [registries.git.shared]
    url = "https://example.com/acme/events.git"
    ref = "v2"
    path = "events"
    workflows = "workflows"        # its folder of workflow units (this is the default)

    [workflows]
    folders = ["workflows"]        # workflow units: manifests beside their .pty files
    entry_points = true            # or ["acme-flows"]: group volnux.workflows

    [workflows.pins]
    orders = "1.2"                 # a bare `volnux run orders` means orders@1.2

Relative paths in the file are relative to the file's folder, so a command
run from a subfolder means the same project.  This module sits on the lowest
layer: it may import only :mod:`volnux.errors`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NoReturn

from ..errors import ConfigError
from .schedules import Schedule, read_schedules

__all__ = [
    "CONFIG_FILE",
    "WORKFLOW_NAME",
    "Config",
    "ConfigError",
    "GitRegistry",
    "find_config",
    "load_config",
]

#: The project file searched for first in each folder.
CONFIG_FILE: Final = "volnux.toml"
#: Searched second in each folder; only its ``[tool.volnux]`` table is read.
PYPROJECT: Final = "pyproject.toml"
#: Where git registries are checked out, relative to the project root.
DEFAULT_CACHE: Final = Path(".volnux") / "registries"

#: Environment variables and the setting each overrides.
ENV_CONFIG: Final = "VOLNUX_CONFIG"
ENV_STORE: Final = "VOLNUX_STORE"
ENV_STRICT: Final = "VOLNUX_STRICT"
ENV_EXECUTOR: Final = "VOLNUX_EXECUTOR"
#: Where the dask executor's cluster is named, first that is set (over ``[dask] address``).
ENV_CLUSTER: Final = ("VOLNUX_DASK_ADDRESS", "DASK_SCHEDULER_ADDRESS")
ENV_EVENTS: Final = "VOLNUX_EVENTS"
ENV_CACHE: Final = "VOLNUX_REGISTRY_CACHE"
#: Where large results are kept (over ``[results] location``), and above what size.
ENV_RESULTS: Final = "VOLNUX_RESULTS"
ENV_RESULT_THRESHOLD: Final = "VOLNUX_RESULT_THRESHOLD"

# An executor's name; which names exist is the executor registry's to say (a
# layer above this one): callers that know them pass them in (`executors=`).
_EXECUTOR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("0", "false", "no", "off", "")
# The same forms as volnux.events.versions (this layer may not import it).
_VERSION_SPEC = re.compile(r"^(latest|v?\d+(\.\d+)?(\.\d+)?)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_REGISTRY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
#: A workflow unit's name: dotted parts of letters, digits, ``_`` and ``-``.
WORKFLOW_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")

_TOP_KEYS: Final = (
    "dask", "events", "executor", "executors", "pins", "registries", "results", "schedules",
    "store", "strict", "workflows",
)  # fmt: skip
_WORKFLOWS_KEYS: Final = ("entry_points", "folders", "pins")
_DASK_KEYS: Final = ("address",)
_RESULTS_KEYS: Final = ("location", "threshold")
_SIZE_UNITS: Final = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024**2}
_SIZE_UNITS.update({"mb": 1000**2, "mib": 1024**2, "g": 1024**3, "gb": 1000**3, "gib": 1024**3})
#: A Dask scheduler's address, or ``local`` (a cluster of this process's own).
_CLUSTER: Final = re.compile(r"local|(tcp|tls|ucx|inproc|ws|wss)://\S+")
#: What ``[executors.NAME]`` may set: how big that executor's pool may be.
POOL_KEYS: Final = ("idle_s", "max_workers", "min_workers")
_REGISTRY_KEYS: Final = ("cache", "entry_points", "folders", "git")
_GIT_KEYS: Final = ("path", "ref", "url", "workflows")


@dataclass(frozen=True, slots=True)
class GitRegistry:
    """A git repository of event files, named in the configuration."""

    #: The name it has in ``[registries.git.NAME]`` (used by ``volnux events refresh``).
    name: str
    #: Where to fetch from: any URL or path ``git fetch`` accepts.
    url: str
    #: Branch, tag or commit to check out; the commit it resolves to is pinned.
    ref: str
    #: The folder inside the repository that holds the event files ("" = the root).
    path: str = ""
    #: The folder inside the repository that holds workflow units (None: ``workflows``,
    #: where the repository has one).
    workflows: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """One project's settings, after the file, the environment and flags are merged."""

    #: The file the settings came from (None: no file was found or given).
    path: Path | None = None
    #: The project root: the file's folder, else the folder the search started in.
    root: Path = field(default_factory=Path.cwd)
    #: The journal URL (None: ``open_store``'s default, ``.volnux/volnux.db`` here).
    store: str | None = None
    #: Refuse deprecated events before anything runs.
    strict: bool = False
    #: The executor for events that do not choose one (None: the engine's default).
    executor: str | None = None
    #: Event sources loaded like ``--events``: module names or ``.py`` paths.
    events: tuple[str, ...] = ()
    #: Event name to the version spec a bare reference resolves to (``"1.2"``).
    pins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Project folders whose every ``*.py`` file is an events source.
    folders: tuple[Path, ...] = ()
    #: Load the ``volnux.events`` entry points: True (all), False, or only these distributions.
    entry_points: bool | tuple[str, ...] = False
    #: Git registries of event files.
    git: tuple[GitRegistry, ...] = ()
    #: Where git registries are checked out (one folder per commit).
    cache: Path = DEFAULT_CACHE
    #: Executor name -> its pool's sizes (``[executors.thread] max_workers = 16``,
    #: ``VOLNUX_THREAD_MAX_WORKERS=16``): ``min_workers``, ``max_workers``, ``idle_s``.
    pools: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))
    #: The Dask cluster the dask executor uses (``[dask] address``,
    #: ``VOLNUX_DASK_ADDRESS``, ``--cluster``): ``tcp://HOST:PORT`` or ``local``.
    cluster: str | None = None
    #: Where large results are kept (``[results] location``, ``$VOLNUX_RESULTS``):
    #: a folder or an fsspec URL; None: the journal's own (beside a SQLite file).
    results: str | None = None
    #: Results larger than this many bytes go there (``[results] threshold``,
    #: ``$VOLNUX_RESULT_THRESHOLD``); None: the default, 256 KiB.
    result_threshold: int | None = None
    #: ``[schedules.NAME]``: the workflows ``volnux serve`` and ``volnux schedule run``
    #: fire at their slots.
    schedules: tuple[Schedule, ...] = ()
    #: Project folders of workflow units (``[workflows] folders``): manifests beside
    #: their ``.pty`` files (docs/workflows.md).
    workflow_folders: tuple[Path, ...] = ()
    #: Load the ``volnux.workflows`` entry points: True (all), False, or only these
    #: distributions (``[workflows] entry_points``).
    workflow_entry_points: bool | tuple[str, ...] = False
    #: Workflow unit name to the version spec a bare name resolves to (``[workflows.pins]``).
    workflow_pins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def override(
        self,
        *,
        store: str | None = None,
        strict: bool | None = None,
        executor: str | None = None,
        executors: Collection[str] | None = None,
        cluster: str | None = None,
    ) -> Config:
        """The same settings with command-line flags applied (None leaves a setting).

        ``executors`` are the executor names there are, to check ``executor`` against.
        """
        changes: dict[str, Any] = {}
        if store is not None:
            changes["store"] = store
        if strict is not None:
            changes["strict"] = strict
        if executor is not None:
            changes["executor"] = _executor(executor, "--executor", executors)
        if cluster is not None:
            changes["cluster"] = _cluster(cluster, "--cluster")
        return dataclasses.replace(self, **changes) if changes else self

    def git_registry(self, name: str) -> GitRegistry:
        """The git registry called ``name``; ConfigError lists the configured ones."""
        for registry in self.git:
            if registry.name == name:
                return registry
        where = self.path or "the configuration (no volnux.toml was found)"
        known = ", ".join(r.name for r in self.git) or "none"
        raise ConfigError(
            f"no git registry {name!r} is configured in {where} (configured: {known}); "
            f"add [registries.git.{name}] with url and ref"
        )

    def git_to_load(self, refresh: bool | Iterable[str]) -> list[tuple[GitRegistry, bool]]:
        """Each git registry, with whether to fetch it again: all of them when
        ``refresh`` is True, those it names otherwise (a name not configured is a
        ConfigError naming the configured ones)."""
        if isinstance(refresh, str):
            refresh = [refresh]  # one name, not its letters
        if isinstance(refresh, bool):
            return [(git, refresh) for git in self.git]
        wanted = set(refresh)
        for unknown in sorted(wanted - {g.name for g in self.git}):
            self.git_registry(unknown)
        return [(git, git.name in wanted) for git in self.git]


def find_config(start: Path | None = None) -> Path | None:
    """The nearest ``volnux.toml``, or ``pyproject.toml`` with ``[tool.volnux]``, upward."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        candidate = folder / PYPROJECT
        if candidate.is_file() and "volnux" in _read_toml(candidate).get("tool", {}):
            return candidate
    return None


def load_config(
    start: Path | None = None,
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    executors: Collection[str] | None = None,
) -> Config:
    """The project's settings: file (``path``, $VOLNUX_CONFIG or searched), then env.

    ``start`` is where the upward search begins (default: the working
    directory); ``env`` defaults to ``os.environ``.  Raises ConfigError on a
    missing explicit file, bad TOML, an unknown key or a value of the wrong kind.
    ``executors`` are the executor names there are
    (:func:`volnux.executors.executor_names`): an executor setting must be one
    of them.  Without them it must only look like a name, and planning a
    workflow finds one that does not exist.
    """
    env = os.environ if env is None else env
    if path is None and env.get(ENV_CONFIG):
        path = Path(env[ENV_CONFIG])
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise ConfigError(f"configuration file {path} does not exist")
        table = _table(path, explicit=True)
    else:
        path = find_config(start)
        table = _table(path, explicit=False) if path is not None else {}
    root = path.resolve().parent if path is not None else (start or Path.cwd()).resolve()
    config = _from_table(table, path, root, executors)
    return _apply_env(config, env, executors)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror or exc}") from None


def _table(path: Path, *, explicit: bool) -> dict[str, Any]:
    data = _read_toml(path)
    if path.name != PYPROJECT:
        return data
    tool = data.get("tool", {})
    if "volnux" not in tool:
        if explicit:
            raise ConfigError(f"{path} has no [tool.volnux] table; add one or pass volnux.toml")
        return {}
    table = tool["volnux"]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.volnux] must be a table")
    return table


class _Reader:
    """Checks one table's keys and values, naming the file and the key in errors."""

    def __init__(
        self, path: Path | None, section: str, table: Any, known: tuple[str, ...] | None
    ) -> None:
        self.path = path
        self.section = section
        if not isinstance(table, dict):
            self.fail(f"[{section}] must be a table, got {_kind(table)}")
        self.where = "at the top level" if section == "" else f"in [{section}]"
        self.table: dict[str, Any] = table
        # known=None: the keys are names the user chooses (pins, registry names).
        unknown = sorted(set(table) - set(known)) if known is not None else []
        if unknown:
            self.fail(
                f"unknown key {unknown[0]!r} {self.where}; known keys: {', '.join(known or ())}"
            )

    def fail(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.path or 'configuration'}: {message}")

    def _value(self, key: str, kind: type, what: str) -> Any:
        value = self.table[key]
        if not isinstance(value, kind):
            self.fail(f"{key} {self.where} must be {what}, got {_kind(value)}")
        return value

    def text(self, key: str) -> str | None:
        return self._value(key, str, "a string") if key in self.table else None

    def flag(self, key: str) -> bool | None:
        return self._value(key, bool, "true or false") if key in self.table else None

    def strings(self, key: str) -> list[str]:
        if key not in self.table:
            return []
        items = self._value(key, list, "a list of strings")
        if not all(isinstance(i, str) for i in items):
            self.fail(f"{key} {self.where} must be a list of strings")
        return list(items)


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"{type(value).__name__} {value!r}"
    )


def _from_table(
    table: dict[str, Any], path: Path | None, root: Path, executors: Collection[str] | None
) -> Config:
    section = "tool.volnux" if path is not None and path.name == PYPROJECT else ""
    top = _Reader(path, section, table, _TOP_KEYS)
    store = top.text("store")
    executor = top.text("executor")
    if executor is not None:
        why = _executor_problem(executor, executors)
        if why:
            top.fail(why)
    pins_table = _Reader(path, "pins", table.get("pins", {}), None)
    pins: dict[str, str] = {}
    for name, spec in pins_table.table.items():
        if not _NAME.match(name):
            pins_table.fail(f"[pins] {name!r} is not an event name")
        if not isinstance(spec, str) or not _VERSION_SPEC.match(spec):
            pins_table.fail(
                f"[pins] {name} = {spec!r} is not a version spec "
                '(write "1.2.3", "1.2", "v1" or "latest")'
            )
        pins[name] = spec
    reg = _Reader(path, "registries", table.get("registries", {}), _REGISTRY_KEYS)
    entry_points = _entry_points(reg)
    cache = reg.text("cache")
    flows = _Reader(path, "workflows", table.get("workflows", {}), _WORKFLOWS_KEYS)
    flow_pins = _Reader(path, "workflows.pins", flows.table.get("pins", {}), None)
    for name, spec in flow_pins.table.items():
        if not WORKFLOW_NAME.match(name):
            flow_pins.fail(f"[workflows.pins] {name!r} is not a workflow name")
        if not isinstance(spec, str) or not _VERSION_SPEC.match(spec):
            flow_pins.fail(
                f"[workflows.pins] {name} = {spec!r} is not a version spec "
                '(write "1.2.3", "1.2", "v1" or "latest")'
            )
    dask = _Reader(path, "dask", table.get("dask", {}), _DASK_KEYS)
    address = dask.text("address")
    if address is not None and not _CLUSTER.fullmatch(address):
        dask.fail(_cluster_problem(address, "[dask] address"))
    results = _Reader(path, "results", table.get("results", {}), _RESULTS_KEYS)
    location = results.text("location")
    threshold: int | None = None
    if "threshold" in results.table:
        try:
            threshold = parse_size(results.table["threshold"])
        except ValueError as exc:
            results.fail(f"threshold in [results]: {exc}")
    return Config(
        path=path.resolve() if path is not None else None,
        root=root,
        store=_store_url(store, root) if store is not None else None,
        strict=bool(top.flag("strict")),
        executor=executor,
        events=tuple(_source(s, root) for s in top.strings("events")),
        pins=MappingProxyType(pins),
        folders=tuple(_path(f, root) for f in reg.strings("folders")),
        entry_points=entry_points,
        git=_git(path, reg.table.get("git", {})),
        cache=_path(cache, root) if cache is not None else root / DEFAULT_CACHE,
        pools=MappingProxyType(_pools(path, table.get("executors", {}), executors)),
        cluster=address,
        results=_location(location, root) if location is not None else None,
        result_threshold=threshold,
        schedules=read_schedules(table.get("schedules", {}), path, root),
        workflow_folders=tuple(_path(f, root) for f in flows.strings("folders")),
        workflow_entry_points=_entry_points(flows),
        workflow_pins=MappingProxyType(dict(flow_pins.table)),
    )


def _entry_points(reader: _Reader) -> bool | tuple[str, ...]:
    """``entry_points`` of ``[registries]`` or ``[workflows]``: true, false or distributions."""
    if "entry_points" not in reader.table:
        return False
    raw = reader.table["entry_points"]
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, list) and all(isinstance(i, str) for i in raw):
        return tuple(raw)
    reader.fail(
        f"entry_points in [{reader.section}] must be true, false or a list of "
        f"distribution names, got {_kind(raw)}"
    )


def _location(text: str, root: Path) -> str:
    """A result store's location: a URL as it is, a folder relative to ``root``."""
    return text if "://" in text else str(_path(text, root))


def parse_size(text: Any) -> int:
    """``262144``, ``"256KiB"``, ``"1MB"``, ``"2 GiB"`` -> bytes; ValueError otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a size cannot be negative, got {text}")
        return text
    found = re.fullmatch(
        r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text if isinstance(text, str) else ""
    )
    unit = found.group(2).lower() if found else None
    if found is None or unit not in _SIZE_UNITS:
        raise ValueError(f'{text!r} is not a size (write 262144, "256KiB", "1MB" or "2GiB")')
    return int(float(found.group(1)) * _SIZE_UNITS[unit])


def _pools(
    path: Path | None, table: Any, executors: Collection[str] | None
) -> dict[str, Mapping[str, float]]:
    """``[executors.NAME]`` tables: each executor's pool sizes, checked."""
    outer = _Reader(path, "executors", table, None)
    found: dict[str, Mapping[str, float]] = {}
    for name, body in outer.table.items():
        why = _executor_problem(name, executors)
        if why:
            outer.fail(f"[executors.{name}]: {why}")
        reader = _Reader(path, f"executors.{name}", body, POOL_KEYS)
        sizes: dict[str, float] = {}
        for key in POOL_KEYS:
            if key in reader.table:
                problem = _pool_problem(key, reader.table[key])
                if problem:
                    reader.fail(f"[executors.{name}] {problem}")
                sizes[key] = reader.table[key]
        found[name] = MappingProxyType(sizes)
    return found


def _pool_problem(key: str, value: Any) -> str | None:
    """What is wrong with one pool size (None: nothing)."""
    if key == "idle_s":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            return f"idle_s must be a positive number of seconds, got {_kind(value)}"
        return None
    least = 0 if key == "min_workers" else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        return f"{key} must be a whole number of at least {least}, got {_kind(value)}"
    return None


def _git(path: Path | None, table: Any) -> tuple[GitRegistry, ...]:
    outer = _Reader(path, "registries.git", table, None)
    found = []
    for name, body in outer.table.items():
        if not _REGISTRY_NAME.match(name):
            outer.fail(f"[registries.git] {name!r} is not a usable name (letters, digits, _ . -)")
        section = f"registries.git.{name}"
        reader = _Reader(path, section, body, _GIT_KEYS)
        url, ref = reader.text("url"), reader.text("ref")
        if not url or not ref:
            reader.fail(f"[{section}] needs both url and ref (a branch, tag or commit)")
        sub = reader.text("path") or ""
        flows = reader.text("workflows")
        for key, folder in (("path", sub), ("workflows", flows or "")):
            if Path(folder).is_absolute() or ".." in Path(folder).parts:
                reader.fail(
                    f"[{section}] {key} must be a folder inside the repository, got {folder!r}"
                )
        found.append(GitRegistry(name, url, ref, sub, flows))
    return tuple(found)


def _path(text: str, root: Path) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else root / path


def _source(text: str, root: Path) -> str:
    """An events source: paths are made absolute, module names kept as written."""
    looks_like_path = text.endswith(".py") or "/" in text or "\\" in text
    return str(_path(text, root)) if looks_like_path else text


def _store_url(url: str, root: Path) -> str:
    """A store URL with a relative SQLite path made relative to the project root."""
    lowered = url.strip().lower()
    if lowered.startswith("sqlite:") and not lowered.startswith("sqlite://"):
        rest = url.strip()[len("sqlite:") :]
        file, sep, query = rest.partition("?")
        if file and not Path(file).expanduser().is_absolute():
            return f"sqlite://{_path(file, root)}{sep}{query}"
        return url
    if lowered.endswith((".db", ".sqlite", ".sqlite3")) and "?" not in url and ":" not in url:
        return str(_path(url.strip(), root))
    return url


def _apply_env(config: Config, env: Mapping[str, str], executors: Collection[str] | None) -> Config:
    changes: dict[str, Any] = {}
    if env.get(ENV_STORE):
        # Kept literal: open_store reads a relative path from the working directory.
        changes["store"] = env[ENV_STORE]
    if ENV_STRICT in env:
        changes["strict"] = _env_bool(ENV_STRICT, env[ENV_STRICT])
    if env.get(ENV_EXECUTOR):
        changes["executor"] = _executor(env[ENV_EXECUTOR], f"${ENV_EXECUTOR}", executors)
    if env.get(ENV_EVENTS):
        extra = [s for s in env[ENV_EVENTS].split(os.pathsep) if s]
        changes["events"] = config.events + tuple(_source(s, Path.cwd()) for s in extra)
    if env.get(ENV_CACHE):
        changes["cache"] = _path(env[ENV_CACHE], Path.cwd())
    if env.get(ENV_RESULTS):
        changes["results"] = _location(env[ENV_RESULTS], Path.cwd())
    if env.get(ENV_RESULT_THRESHOLD):
        try:
            changes["result_threshold"] = parse_size(env[ENV_RESULT_THRESHOLD])
        except ValueError as exc:
            raise ConfigError(f"${ENV_RESULT_THRESHOLD}: {exc}") from None
    pools = _env_pools(config.pools, env)
    if pools is not None:
        changes["pools"] = pools
    for name in ENV_CLUSTER:
        if env.get(name):
            changes["cluster"] = _cluster(env[name], f"${name}")
            break
    return dataclasses.replace(config, **changes) if changes else config


def _cluster(value: str, where: str) -> str:
    """``value`` if it names a Dask cluster; ConfigError saying what to write if not."""
    if not _CLUSTER.fullmatch(value):
        raise ConfigError(_cluster_problem(value, where))
    return value


def _cluster_problem(value: str, where: str) -> str:
    return (
        f"{where} = {value!r} is not a Dask cluster: write a scheduler's address "
        "(tcp://HOST:PORT) or local (a cluster of worker processes started for the run)"
    )


def _env_pools(
    pools: Mapping[str, Mapping[str, float]], env: Mapping[str, str]
) -> Mapping[str, Mapping[str, float]] | None:
    """``VOLNUX_<EXECUTOR>_<MIN_WORKERS|MAX_WORKERS|IDLE_S>`` over the file's pool sizes."""
    merged = {name: dict(sizes) for name, sizes in pools.items()}
    changed = False
    for variable, text in env.items():
        if not variable.startswith("VOLNUX_") or not text:
            continue
        for key in POOL_KEYS:
            suffix = "_" + key.upper()
            if variable.endswith(suffix) and len(variable) > len("VOLNUX_") + len(suffix):
                name = variable[len("VOLNUX_") : -len(suffix)].lower()
                try:
                    value: float = float(text) if key == "idle_s" else int(text)
                except ValueError:
                    value = text  # type: ignore[assignment]  # said just below
                problem = _pool_problem(key, value)
                if problem:
                    raise ConfigError(f"${variable}={text!r}: {problem}")
                merged.setdefault(name, {})[key] = value
                changed = True
    if not changed:
        return None
    return MappingProxyType({name: MappingProxyType(sizes) for name, sizes in merged.items()})


def _env_bool(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"${name}={value!r} is not a boolean; use 1/0, true/false, yes/no or on/off")


def _executor(value: str, where: str, executors: Collection[str] | None) -> str:
    why = _executor_problem(value, executors)
    if why:
        raise ConfigError(f"{where} {why.removeprefix('executor ')}")
    return value


def _executor_problem(value: str, executors: Collection[str] | None) -> str | None:
    if executors is not None and value not in executors:
        return f"executor {value!r} is not one of {', '.join(executors)}"
    if executors is None and not _EXECUTOR_NAME.match(value):
        return f"executor {value!r} is not an executor name"
    return None
