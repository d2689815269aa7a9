"""``volnux lsp`` as a command: its help, and what it says without the lsp extra."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from volnux.cli.app import app


def test_the_command_is_listed_with_its_options() -> None:
    result = CliRunner().invoke(app, ["lsp", "--help"])
    assert result.exit_code == 0
    assert "Serve an editor over stdio" in result.output
    assert "--events" in result.output


def test_without_pygls_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pygls", None)  # import pygls now raises ImportError
    result = CliRunner().invoke(app, ["lsp"])
    assert result.exit_code == 2
    assert "pip install 'volnux[lsp]'" in result.output
