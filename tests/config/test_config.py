"""Project configuration: found, read, checked, and overridden by environment and flags."""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from volnux.config import Config, ConfigError, GitRegistry, find_config, load_config
from volnux.executors import executor_names

FULL = """
store = "sqlite:state/volnux.db?synchronous=FULL"
strict = true
executor = "process"
events = ["myproject.events", "extra/events.py"]

[pins]
"payments.Charge" = "1.2"
Refund = "latest"

[registries]
folders = ["events", "/abs/events"]
entry_points = ["acme-events"]
cache = "cache"

[registries.git.shared]
url = "https://example.com/acme/events.git"
ref = "v2"
path = "events"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_key_is_read_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    write(tmp_path / "volnux.toml", FULL)
    config = load_config(start=tmp_path, env={})
    assert config.path == tmp_path / "volnux.toml"
    assert config.root == tmp_path
    assert config.store == f"sqlite://{tmp_path}/state/volnux.db?synchronous=FULL"
    assert config.strict is True
    assert config.executor == "process"
    assert config.events == ("myproject.events", str(tmp_path / "extra" / "events.py"))
    assert dict(config.pins) == {"payments.Charge": "1.2", "Refund": "latest"}
    assert config.folders == (tmp_path / "events", Path("/abs/events"))
    assert config.entry_points == ("acme-events",)
    assert config.cache == tmp_path / "cache"
    assert config.git == (
        GitRegistry("shared", "https://example.com/acme/events.git", "v2", "events"),
    )


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(start=tmp_path, env={})
    assert config.path is None and config.root == tmp_path
    assert (config.store, config.strict, config.executor) == (None, False, None)
    assert (config.events, dict(config.pins), config.folders, config.git) == ((), {}, (), ())
    assert config.entry_points is False
    assert config.cache == tmp_path / ".volnux" / "registries"


def test_the_search_goes_upward_and_volnux_toml_wins_over_pyproject(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    # A pyproject.toml without [tool.volnux] is not a Volnux configuration: the search goes on.
    write(tmp_path / "a" / "b" / "pyproject.toml", '[project]\nname = "x"\n')
    write(tmp_path / "pyproject.toml", '[tool.volnux]\nstore = "memory:"\n')
    assert find_config(deep) == tmp_path / "pyproject.toml"
    assert load_config(start=deep, env={}).store == "memory:"
    assert load_config(start=deep, env={}).root == tmp_path
    write(tmp_path / "a" / "volnux.toml", "strict = true\n")
    write(tmp_path / "a" / "pyproject.toml", "[tool.volnux]\nstrict = false\n")
    assert find_config(deep) == tmp_path / "a" / "volnux.toml"
    assert load_config(start=deep, env={}).strict is True


def test_an_explicit_path_or_volnux_config_skips_the_search(tmp_path: Path) -> None:
    write(tmp_path / "volnux.toml", "strict = true\n")
    other = write(tmp_path / "conf" / "ci.toml", 'store = "memory:"\n')
    assert load_config(start=tmp_path, path=other, env={}).store == "memory:"
    assert load_config(start=tmp_path, path=other, env={}).strict is False
    assert load_config(start=tmp_path, env={"VOLNUX_CONFIG": str(other)}).root == other.parent
    with pytest.raises(ConfigError, match=r"configuration file .*nope.toml does not exist"):
        load_config(path=tmp_path / "nope.toml", env={})
    bare = write(tmp_path / "p" / "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"has no \[tool.volnux\] table"):
        load_config(path=bare, env={})


def test_environment_beats_the_file_and_flags_beat_both(tmp_path: Path) -> None:
    write(tmp_path / "volnux.toml", 'store = "a.db"\nstrict = true\nexecutor = "thread"\n')
    env = {
        "VOLNUX_STORE": "memory:",
        "VOLNUX_STRICT": "no",
        "VOLNUX_EXECUTOR": "process",
        "VOLNUX_REGISTRY_CACHE": str(tmp_path / "c"),
    }
    config = load_config(start=tmp_path, env=env)
    assert (config.store, config.strict, config.executor) == ("memory:", False, "process")
    assert config.cache == tmp_path / "c"
    flagged = config.override(store="sqlite:///x.db", strict=True, executor="thread")
    assert (flagged.store, flagged.strict, flagged.executor) == ("sqlite:///x.db", True, "thread")
    assert config.override() is config  # no flags given: nothing changes
    assert load_config(start=tmp_path, env={}).store == str(tmp_path / "a.db")
    with pytest.raises(ConfigError, match=r"\$VOLNUX_STRICT='maybe' is not a boolean"):
        load_config(start=tmp_path, env={"VOLNUX_STRICT": "maybe"})
    with pytest.raises(ConfigError, match=r"\$VOLNUX_EXECUTOR 'gpu' is not one of thread"):
        load_config(start=tmp_path, env={"VOLNUX_EXECUTOR": "gpu"}, executors=executor_names())
    # Without the names there are, only the form is checked (planning checks the rest).
    assert load_config(start=tmp_path, env={"VOLNUX_EXECUTOR": "gpu"}).executor == "gpu"
    with pytest.raises(ConfigError, match=r"\$VOLNUX_EXECUTOR 'g p u' is not an executor name"):
        load_config(start=tmp_path, env={"VOLNUX_EXECUTOR": "g p u"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "stores = 'memory:'\n",
            "unknown key 'stores' at the top level; "
            "known keys: dask, events, executor, executors, pins, registries, results, schedules, "
            "store, strict, workflows",
        ),
        (
            "[executors.thread]\nworkers = 3\n",
            "unknown key 'workers' in [executors.thread]; known keys: idle_s, max_workers, "
            "min_workers",
        ),
        (
            "[executors.thread]\nmin_workers = -1\n",
            "[executors.thread] min_workers must be a whole number of at least 0, got int -1",
        ),
        (
            "[executors.process]\nmax_workers = '4'\n",
            "[executors.process] max_workers must be a whole number of at least 1, got a string",
        ),
        (
            "[executors.thread]\nidle_s = 0\n",
            "[executors.thread] idle_s must be a positive number of seconds, got int 0",
        ),
        (
            "[executors.gpu]\nmax_workers = 2\n",
            "[executors.gpu]: executor 'gpu' is not one of thread, process",
        ),
        (
            "[registries]\nfolder = ['x']\n",
            "unknown key 'folder' in [registries]; known keys: cache, entry_points, folders, git",
        ),
        (
            "[registries.git.s]\nurl = 'u'\nref = 'v1'\nbranch = 'main'\n",
            "unknown key 'branch' in [registries.git.s]; known keys: path, ref, url, workflows",
        ),
        ("[registries.git.s]\nurl = 'u'\n", "[registries.git.s] needs both url and ref"),
        ("strict = 'yes'\n", "strict at the top level must be true or false, got a string"),
        ("store = 3\n", "store at the top level must be a string, got int 3"),
        ("events = 'a.py'\n", "events at the top level must be a list of strings, got a string"),
        ("executor = 'gpu'\n", "executor 'gpu' is not one of thread, process"),
        ("[pins]\nCharge = '1.x'\n", "[pins] Charge = '1.x' is not a version spec"),
        ("[pins]\n'2bad' = '1'\n", "[pins] '2bad' is not an event name"),
        ("pins = 3\n", "[pins] must be a table, got int 3"),
        (
            "[registries]\nentry_points = 'yes'\n",
            "entry_points in [registries] must be true, false or a list of distribution names",
        ),
        (
            "[registries.git.s]\nurl = 'u'\nref = 'v'\npath = '../up'\n",
            "[registries.git.s] path must be a folder inside the repository, got '../up'",
        ),
    ],
)
def test_bad_keys_and_values_name_the_file_the_key_and_the_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "volnux.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(start=tmp_path, env={}, executors=executor_names())
    assert str(caught.value).startswith(f"{path}: {message}")


def test_unknown_keys_in_pyproject_name_the_table(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", "[tool.volnux]\nstrickt = true\n")
    with pytest.raises(ConfigError, match=r"unknown key 'strickt' in \[tool.volnux\]; known keys"):
        load_config(start=tmp_path, env={})
    assert path.is_file()


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "volnux.toml", "strict = \n")
    with pytest.raises(ConfigError, match=rf"^{path} is not valid TOML: "):
        load_config(start=tmp_path, env={})


def test_config_is_frozen_and_documents_every_field() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.strict = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.pins["Charge"] = "1"  # type: ignore[index]
    source = Path(sys.modules[Config.__module__].__file__ or "").read_text(encoding="utf-8")
    body = next(
        n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "Config"
    )
    lines = source.splitlines()
    for node in body.body:
        if isinstance(node, ast.AnnAssign):
            assert lines[node.lineno - 2].strip().startswith("#:"), node.target


def test_nothing_is_read_at_import_time(tmp_path: Path) -> None:
    # A broken file in the working directory does not matter until load_config runs.
    write(tmp_path / "volnux.toml", "this is not toml\n")
    done = subprocess.run(
        [sys.executable, "-c", "import volnux, volnux.config, volnux.cli.app; print('ok')"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


def test_pool_sizes_come_from_the_file_and_the_environment_wins(tmp_path: Path) -> None:
    write(
        tmp_path / "volnux.toml",
        "[executors.thread]\nmin_workers = 2\nmax_workers = 16\nidle_s = 5\n"
        "[executors.process]\nmax_workers = 4\n",
    )
    config = load_config(start=tmp_path, env={}, executors=executor_names())
    assert {name: dict(sizes) for name, sizes in config.pools.items()} == {
        "thread": {"min_workers": 2, "max_workers": 16, "idle_s": 5},
        "process": {"max_workers": 4},
    }
    env = {"VOLNUX_THREAD_MAX_WORKERS": "32", "VOLNUX_ASYNCIO_MAX_WORKERS": "500"}
    config = load_config(start=tmp_path, env=env, executors=executor_names())
    assert dict(config.pools["thread"]) == {"min_workers": 2, "max_workers": 32, "idle_s": 5}
    assert dict(config.pools["asyncio"]) == {"max_workers": 500}
    with pytest.raises(ConfigError, match=r"\$VOLNUX_THREAD_MIN_WORKERS='many': min_workers"):
        load_config(start=tmp_path, env={"VOLNUX_THREAD_MIN_WORKERS": "many"})


def test_the_dask_cluster_comes_from_the_file_the_environment_or_the_flag(
    tmp_path: Path,
) -> None:
    write(tmp_path / "volnux.toml", '[dask]\naddress = "tcp://10.0.0.5:8786"\n')
    assert load_config(start=tmp_path, env={}).cluster == "tcp://10.0.0.5:8786"
    env = {"DASK_SCHEDULER_ADDRESS": "tcp://sched:8786"}
    assert load_config(start=tmp_path, env=env).cluster == "tcp://sched:8786"
    env["VOLNUX_DASK_ADDRESS"] = "local"  # Volnux's own variable first
    config = load_config(start=tmp_path, env=env)
    assert config.cluster == "local"
    assert config.override(cluster="tls://secure:8786").cluster == "tls://secure:8786"
    assert Config().cluster is None  # no file, no variable: the executor's own default


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[dask]\naddress = "10.0.0.5"\n', "[dask] address = '10.0.0.5' is not a Dask cluster"),
        ("[dask]\nworkers = 4\n", "unknown key 'workers'"),
    ],
)
def test_a_bad_dask_section_is_refused(tmp_path: Path, text: str, said: str) -> None:
    write(tmp_path / "volnux.toml", text)
    with pytest.raises(ConfigError, match=re.escape(said)):
        load_config(start=tmp_path, env={})
    with pytest.raises(ConfigError, match=re.escape("--cluster = 'nowhere' is not a Dask")):
        Config().override(cluster="nowhere")
