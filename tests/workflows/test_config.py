"""``[workflows]`` and a git registry's ``workflows`` in volnux.toml: read, and refused
with the file and the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from volnux.config import ConfigError, GitRegistry, load_config

from .support import write


def test_every_workflows_key_is_read(tmp_path: Path) -> None:
    write(
        tmp_path / "volnux.toml",
        """
        [workflows]
        folders = ["workflows", "/abs/flows"]
        entry_points = ["acme-flows"]

        [workflows.pins]
        orders = "1.2"
        "acme.refunds" = "latest"

        [registries.git.shared]
        url = "https://example.com/acme/flows.git"
        ref = "v2"
        workflows = "flows"
        """,
    )
    config = load_config(start=tmp_path, env={})
    assert config.workflow_folders == (tmp_path / "workflows", Path("/abs/flows"))
    assert config.workflow_entry_points == ("acme-flows",)
    assert dict(config.workflow_pins) == {"orders": "1.2", "acme.refunds": "latest"}
    assert config.git == (
        GitRegistry("shared", "https://example.com/acme/flows.git", "v2", "", "flows"),
    )


def test_defaults(tmp_path: Path) -> None:
    write(tmp_path / "volnux.toml", "[workflows]\nentry_points = true\n")
    config = load_config(start=tmp_path, env={})
    assert (config.workflow_folders, dict(config.workflow_pins)) == ((), {})
    assert config.workflow_entry_points is True
    assert load_config(start=tmp_path / "x", env={}).workflow_entry_points is True
    assert GitRegistry("g", "u", "r").workflows is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[workflows]\nfolder = ['x']\n",
            "unknown key 'folder' in [workflows]; known keys: entry_points, folders, pins",
        ),
        ("workflows = 3\n", "[workflows] must be a table, got int 3"),
        (
            "[workflows]\nfolders = 'workflows'\n",
            "folders in [workflows] must be a list of strings, got a string",
        ),
        (
            "[workflows]\nentry_points = 'yes'\n",
            "entry_points in [workflows] must be true, false or a list of distribution names",
        ),
        ("[workflows.pins]\norders = '1.x'\n", "[workflows.pins] orders = '1.x' is not a version"),
        ("[workflows.pins]\n'2bad' = '1'\n", "[workflows.pins] '2bad' is not a workflow name"),
        ("[workflows]\npins = 3\n", "[workflows.pins] must be a table, got int 3"),
        (
            "[registries.git.s]\nurl = 'u'\nref = 'v'\nworkflows = '../up'\n",
            "[registries.git.s] workflows must be a folder inside the repository, got '../up'",
        ),
        (
            "[registries.git.s]\nurl = 'u'\nref = 'v'\nworkflows = 3\n",
            "workflows in [registries.git.s] must be a string, got int 3",
        ),
    ],
)
def test_bad_keys_and_values_name_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "volnux.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(start=tmp_path, env={})
    assert str(caught.value).startswith(f"{path}: {message}")
