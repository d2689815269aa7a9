"""The public surface of volnux.dsl, file reading, and laziness."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import volnux
import volnux.dsl
from volnux.dsl import parse_file
from volnux.errors import PointyError, VolnuxError


def test_exported_names() -> None:
    assert volnux.dsl.__all__ == ["format_graph", "format_text", "parse", "parse_file"]
    for name in volnux.dsl.__all__:
        assert getattr(volnux.dsl, name).__doc__


def test_import_builds_no_parser() -> None:
    code = textwrap.dedent(
        """
        import volnux.dsl
        from volnux.dsl import parser
        assert parser._local.parser is None, "parser tables built at import"
        volnux.dsl.parse("A")
        assert parser._local.parser is not None
        """
    )
    # Without the cache: with it, a text parsed before never builds a parser.
    env = {**os.environ, "VOLNUX_CACHE_DIR": "off"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_parse_file(tmp_path: Path) -> None:
    path = tmp_path / "flow.pty"
    path.write_text("@mode: CFG\nA -> B\n", encoding="utf-8")
    graph = parse_file(path)
    assert graph.filename == str(path)
    assert graph.directives == (("mode", "CFG"),)
    assert parse_file(str(path)) == graph


def test_parse_file_reports_errors_against_the_file(tmp_path: Path) -> None:
    path = tmp_path / "orders.pty"
    path.write_text("A ->\n", encoding="utf-8")
    with pytest.raises(PointyError) as info:
        parse_file(path)
    assert str(info.value).startswith(f"{path}:1:5: expected an event name after '->'")


def test_parse_file_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.pty"
    path.write_bytes(b"\xef\xbb\xbfA -> B\r\n")
    assert [t.id for t in parse_file(path).tasks()] == ["A", "B"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.pty"
    with pytest.raises(VolnuxError) as info:
        parse_file(path)
    assert not isinstance(info.value, PointyError)
    message = str(info.value)
    assert message.startswith(f"cannot read workflow file {path}: ")
    assert "\n" not in message


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(VolnuxError, match=r"^cannot read workflow file "):
        parse_file(tmp_path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.pty"
    path.write_bytes(b"A -> B\xe9")
    with pytest.raises(VolnuxError, match=r"not UTF-8 text \(byte 6\)$"):
        parse_file(path)
