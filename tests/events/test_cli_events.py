"""`volnux events list | show`, project folders of event files, and config in the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..cli.support import invoke

BILLING = '''
import volnux
from volnux.events import Deprecated


class Charge(volnux.Event):
    """Charge a card.

    Idempotent per order id.
    """

    version = "2.1.0"
    executor = "process"
    retry = volnux.RetryPolicy(max_attempts=3, delay_s=0.5, retry_on=(ConnectionError,))
    changelog = {"2.0.0": "idempotent", "2.1.0": "adds currency"}

    def process(self, order_id: str, ctx: volnux.Context, currency: str = "EUR") -> str:
        return f"charged {order_id}"


@volnux.event(
    name="Charge",
    version="1.4.0",
    deprecated=Deprecated(reason="charges twice", since="2.0.0", replacement="Charge@2"),
)
def charge_v1(order_id: str, piped=None) -> str:
    return "old"
'''


@pytest.fixture
def billing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose volnux.toml names an events folder and pins Charge to v1."""
    root = tmp_path / "billing"
    (root / "events").mkdir(parents=True)
    (root / "events" / "charge.py").write_text(BILLING, encoding="utf-8")
    # Helpers and package markers in the folder are not event files.
    (root / "events" / "_helpers.py").write_text("raise RuntimeError('not an events file')\n")
    (root / "events" / "notes.txt").write_text("not Python\n")
    (root / "volnux.toml").write_text(
        'store = "state/runs.db"\n[pins]\nCharge = "v1"\n[registries]\nfolders = ["events"]\n'
    )
    (root / "sub").mkdir()
    # Run from a subfolder: the configuration is found upward, its paths stay put.
    monkeypatch.chdir(root / "sub")
    for key in ("VOLNUX_CONFIG", "VOLNUX_STORE", "VOLNUX_STRICT", "VOLNUX_EVENTS"):
        monkeypatch.delenv(key, raising=False)
    return root


def test_list_shows_names_versions_sources_and_deprecations(billing: Path) -> None:
    result = invoke("events", "list")
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split() == ["name", "versions", "source", "deprecated"]
    assert row.split() == [
        "Charge", "1.4.0,", "2.1.0", "(pinned", "@v1)", "folder", str(billing / "events"), "1.4.0",
    ]  # fmt: skip

    (entry,) = json.loads(invoke("events", "list", "--json").stdout)
    assert entry["name"] == "Charge" and entry["pin"] == "v1"
    old, new = entry["versions"]
    assert (old["version"], new["version"]) == ("1.4.0", "2.1.0")
    assert old["deprecated"]["replacement"] == "Charge@2" and new["deprecated"] is None
    assert new["origin"].endswith(str(billing / "events" / "charge.py"))


def test_show_prints_signature_docs_policy_and_changelog(billing: Path) -> None:
    result = invoke("events", "show", "Charge@2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Charge@2.1.0"
    assert (
        "  signature:   Charge(order_id: str, ctx: volnux.Context, currency: str = 'EUR') -> str"
        in lines
    )
    assert "  executor:    process" in lines
    retry = next(line for line in lines if line.startswith("  retry:"))
    assert "max_attempts=3" in retry and "delay_s=0.5" in retry
    assert "retry_on=['ConnectionError']" in retry
    assert "  versions:    1.4.0, 2.1.0 (bare Charge is pinned @v1)" in lines
    assert lines[lines.index("  parameters:") + 1 :][:3] == [
        "    order_id  (input, required)",
        "    ctx  (context)",
        "    currency  (input)",
    ]
    assert lines[lines.index("  changelog:") + 1 :][:2] == [
        "    2.1.0  adds currency",
        "    2.0.0  idempotent",
    ]
    assert lines[-3:] == ["  Charge a card.", "", "  Idempotent per order id."]


def test_show_a_bare_name_follows_the_pin_and_shows_the_deprecation(billing: Path) -> None:
    detail = json.loads(invoke("events", "show", "Charge", "--json").stdout)
    assert detail["event"] == "Charge@1.4.0"
    assert detail["deprecated"]["reason"] == "charges twice"
    assert detail["source"]["kind"] == "folder"
    assert detail["parameters"][1] == {"name": "piped", "from": "piped", "required": False}
    text = invoke("events", "show", "Charge").stdout
    assert "  deprecated:  yes since 2.0.0: charges twice\n  replacement: Charge@2\n" in text


def test_show_an_unknown_version_lists_what_exists(billing: Path) -> None:
    result = invoke("events", "show", "Charge@3")
    assert result.exit_code == 2
    folder = billing / "events"
    assert result.stderr == (
        f"error: no version of Charge matches @3; loaded versions: 1.4.0 from folder {folder}; "
        f"2.1.0 from folder {folder}\n"
    )
    result = invoke("events", "show", "Chrage")
    assert result.exit_code == 2
    assert result.stderr == "error: unknown event 'Chrage'; did you mean Charge?\n"


def test_run_uses_the_configured_store_pins_and_folder(billing: Path) -> None:
    (billing / "sub" / "wf.pty").write_text("Charge -> Charge@2\n")
    result = invoke("run", "wf.pty", "-i", "order_id=o-7")
    assert result.exit_code == 0, result.output
    assert "Charge    Charge@1.4.0" in result.stdout
    assert "Charge#2  Charge@2.1.0" in result.stdout
    assert result.stderr.startswith("warning: wf.pty:1:1: Charge@1.4.0 is deprecated since 2.0.0")
    # The store path in volnux.toml is relative to volnux.toml, not to where we ran.
    assert (billing / "state" / "runs.db").is_file()
    assert not (billing / "sub" / "state").exists()


def test_validate_checks_events_from_the_configuration_without_events(billing: Path) -> None:
    (billing / "sub" / "wf.pty").write_text("Charge@2 -> Charge@9\n")
    result = invoke("validate", "wf.pty")
    assert result.exit_code == 2
    assert "error: wf.pty:1:13: no version of Charge matches @9; loaded versions: " in result.stderr


def test_a_missing_folder_names_the_setting_to_fix(billing: Path) -> None:
    (billing / "volnux.toml").write_text('[registries]\nfolders = ["evnts"]\n')
    result = invoke("events", "list")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: events folder {billing / 'evnts'} does not exist "
        "(fix [registries] folders in volnux.toml)\n"
    )


def test_list_with_no_events_says_where_they_come_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("events", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no events are loaded: pass --events, or name sources in volnux.toml" in result.stderr
    assert invoke("events", "list", "--json").stdout == "[]\n"


def test_a_bad_configuration_is_exit_2_naming_file_and_key(billing: Path) -> None:
    (billing / "volnux.toml").write_text("stirct = true\n")
    for args in (["events", "list"], ["validate", "x.pty"], ["run", "x.pty"]):
        result = invoke(*args)
        assert result.exit_code == 2, args
        assert result.stderr == (
            f"error: {billing / 'volnux.toml'}: unknown key 'stirct' at the top level; "
            "known keys: dask, events, executor, executors, pins, registries, results, "
            "schedules, store, strict, workflows\n"
        )


def test_show_says_which_executor_a_run_would_use(billing: Path) -> None:
    config = billing / "volnux.toml"
    config.write_text('executor = "process"\n' + config.read_text())
    chose = invoke("events", "show", "Charge@2")
    assert chose.exit_code == 0, chose.output
    assert "executor:    process" in chose.output and "(default)" not in chose.output
    config.write_text(config.read_text().replace('executor = "process"', 'executor = "thread"'))
    default = invoke("events", "show", "Charge@1")
    assert "executor:    thread (default)" in default.output


RESOURCEFUL = """
import volnux


@volnux.event(resources=volnux.Resources(gpu="prefer", memory_mb=512), executor="process")
def Embed(texts: list) -> list:
    return texts


@volnux.event
async def Fetch(url: str) -> str:
    return url


@volnux.event
def Plain() -> None:
    return None
"""


def test_show_lists_what_an_event_needs_and_an_async_event_s_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "volnux.toml").write_text('executor = "process"\n', encoding="utf-8")
    (tmp_path / "res.py").write_text(RESOURCEFUL, encoding="utf-8")
    embed = invoke("events", "show", "Embed", "-e", "res.py")
    assert embed.exit_code == 0, embed.output
    assert "  resources:   memory_mb=512, gpus=1, gpu=prefer, gpu_wait_s=2.0\n" in embed.output
    as_json = json.loads(invoke("events", "show", "Embed", "-e", "res.py", "--json").output)
    assert as_json["resources"] == {"memory_mb": 512, "gpus": 1, "gpu": "prefer", "gpu_wait_s": 2.0}
    plain = invoke("events", "show", "Plain", "-e", "res.py").output
    assert "resources" not in plain and "executor:    process (default)" in plain
    fetch = invoke("events", "show", "Fetch", "-e", "res.py").output
    assert "executor:    asyncio (async def)" in fetch  # not the project's default
