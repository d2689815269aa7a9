"""Every error names file:line:col, shows the line with a caret, and says what was expected."""

from __future__ import annotations

import pytest

from volnux.dsl import parse
from volnux.errors import PointyError

OPS = "'->', '|->', '||'"
END = f"{OPS} or the end of the workflow"
VALUE = "a value (a quoted string, a number, true or false)"
DESCRIPTOR = "a descriptor (a digit from 0 to 9)"
FACTOR = "a retry factor (a whole number, 2 or more)"
AT_LEAST_2 = "a retry factor must be 2 or more (it counts all attempts)"
VERSION = "expected a version (1.2.3, 1.2, v1 or latest) after 'A@'"

SYNTAX = [
    # operators missing their right-hand side
    ("A ->", 1, 5, "expected an event name after '->'"),
    ("A |->", 1, 6, "expected an event name after '|->'"),
    ("A ||", 1, 5, "expected an event name after '||'"),
    ("A -> -> B", 1, 6, "expected an event name after '->'"),
    ("A || -> B", 1, 6, "expected an event name after '||'"),
    ("-> A", 1, 1, "expected an event name"),
    ("A -> B\n  -> C ->\n", 2, 10, "expected an event name after '->'"),
    ("3 *", 1, 4, "expected an event name after '*'"),
    ("()", 1, 2, "expected an event name after '('"),
    ("A (0 -> )", 1, 9, "expected an event name after '->'"),
    # nothing at all
    ("", 1, 1, "the workflow is empty: expected an event name"),
    ("# only a comment\n\n", 1, 1, "the workflow is empty: expected an event name"),
    ("@mode: CFG", 1, 11, "expected an event name after '@mode: CFG'"),
    # an operand where an operator belongs
    ("A B", 1, 3, f"expected {END} after 'A'"),
    ("A => B", 1, 3, f"expected {END} after 'A'"),
    ("A, B", 1, 2, f"expected {END} after 'A'"),
    ("A -> B)", 1, 7, f"expected {END} after 'B'"),
    ("A -> B}", 1, 7, f"expected {END} after 'B'"),
    ("A * 2 * 3", 1, 7, f"expected {END} after '2'"),
    ("A[x=1][y=2]", 1, 7, f"expected {END} after ']'"),
    ("A (0 -> B) (1 -> C)", 1, 12, f"expected {END} after ')'"),
    # brackets
    ("A -> (B", 1, 8, f"expected {OPS} or ')' after 'B'"),
    ("{A", 1, 3, f"expected {OPS} or '}}' after 'A'"),
    ("{A)", 1, 3, f"expected {OPS} or '}}' after 'A'"),
    # branch lists
    ("A (B)", 1, 4, f"expected {DESCRIPTOR} after '('"),
    ("A ()", 1, 4, f"expected {DESCRIPTOR} after '('"),
    ("A (-1 -> B)", 1, 4, f"expected {DESCRIPTOR} after '('"),
    ("A (0 -> B,)", 1, 11, f"expected {DESCRIPTOR} after ','"),
    ("A (0 B)", 1, 6, "expected '->' or '|->' after '0'"),
    ("A (0 -> B", 1, 10, f"expected {OPS}, ',' or ')' after 'B'"),
    # retries
    ("A * x", 1, 5, f"expected {FACTOR} after '*'"),
    ("A * ", 1, 4, f"expected {FACTOR} after '*'"),
    ("3 -> A", 1, 3, "expected '*' after '3'"),
    ("3 $", 1, 3, "unexpected character '$'; expected '*' after '3'"),
    # attributes
    ("A[]", 1, 3, "expected an attribute name after '['"),
    ("A[=1]", 1, 3, "expected an attribute name after '['"),
    ("A[x=1,]", 1, 7, "expected an attribute name after ','"),
    ("A[x 1]", 1, 5, "expected '=' after 'x'"),
    ("A[x=]", 1, 5, f"expected {VALUE} after '='"),
    ("A[x=y]", 1, 5, f"expected {VALUE} after '='"),
    ("A[x=1 y=2]", 1, 7, "expected ',' or ']' after '1'"),
    ('A -> "unterminated', 1, 6, "unterminated string: the closing '\"' is missing"),
    # illegal characters are errors, never skipped
    ("A $ B", 1, 3, f"unexpected character '$'; expected {END} after 'A'"),
    ("A;B", 1, 2, f"unexpected character ';'; expected {END} after 'A'"),
    ("A - > B", 1, 3, f"unexpected character '-'; expected {END} after 'A'"),
    ("A -> B |", 1, 8, f"unexpected character '|'; expected {END} after 'B'"),
    ("A.", 1, 2, f"unexpected character '.'; expected {END} after 'A'"),
    ("A -> é", 1, 6, "unexpected character 'é'; expected an event name after '->'"),
    ("A -> 'b'", 1, 6, "unexpected character \"'\"; expected an event name after '->'"),
    ("A -> B # ok\n!", 2, 1, f"unexpected character '!'; expected {END} after 'B'"),
    (
        "A -> B\n\n  \x0c C",
        3,
        3,
        f"unexpected character U+000C; expected {END} after 'B'",
    ),
    # versions and directives
    ("A @1.2", 1, 3, "a version goes right after the name, with no space: 'Name@1.2'"),
    ("A @latest", 1, 3, "a version goes right after the name, with no space: 'Name@1.2'"),
    ("A\n@mode: CFG", 2, 1, "directives (@name: value) must come before the workflow"),
    ("@mode CFG\nA", 1, 6, "expected ':' after '@mode'"),
    ("@mode:\nA", 1, 7, "expected a value after '@mode:' on the same line"),
]

SEMANTIC = [
    ("A (10 -> B)", 1, 4, "descriptor 10 is outside 0-9"),
    ("A (1.5 -> B)", 1, 4, "descriptor 1.5 is outside 0-9"),
    ("A (0 -> B, 1 -> C, 0 -> D)", 1, 20, "descriptor 0 appears twice in this branch list"),
    ("A * 1", 1, 5, f"{AT_LEAST_2}, not 1"),
    ("1 * A", 1, 1, f"{AT_LEAST_2}, not 1"),
    ("{A} * 0", 1, 7, f"{AT_LEAST_2}, not 0"),
    ("A * 2.5", 1, 5, "a retry factor must be a whole number, not 2.5"),
    ("A * " + "9" * 5000, 1, 5, "this number is too long"),
    ("A@x", 1, 3, f"{VERSION}, found 'x'"),
    ("A@", 1, 3, f"{VERSION}, found nothing"),
    ("A@1.2.3.4", 1, 3, f"{VERSION}, found '1.2.3.4'"),
    ("A[x=1, x=2]", 1, 8, "attribute 'x' is given twice"),
    (
        'A[x="ok\\q"]',
        1,
        8,
        "unknown escape '\\q' in string (use \\n, \\t, \\r, \\\", \\', \\\\ or \\uXXXX)",
    ),
    ("A[x=1e999]", 1, 5, "the number 1e999 is too large"),
    ("A[x=" + "1" * 5000 + "]", 1, 5, "this number is too long"),
    ("@foo: 1\nA", 1, 1, "unknown directive '@foo' (known: '@mode' and '@recursive-depth')"),
    ("@mode: XYZ\nA", 1, 8, "'@mode' must be CFG or DAG, not XYZ"),
    ("@recursive-depth: 0\nA", 1, 19, "'@recursive-depth' must be a positive whole number, not 0"),
    ("@recursive-depth:-5\nA", 1, 18, "'@recursive-depth' must be a positive whole number, not -5"),
    # semantic errors deep inside still point at the spot
    ("A -> B (\n  1 -> C (0 -> D * 1)\n)", 2, 20, f"{AT_LEAST_2}, not 1"),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), SYNTAX + SEMANTIC)
def test_error(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(PointyError) as info:
        parse(text, "orders.pty")
    error = info.value
    assert (error.line, error.column, error.message) == (line, column, message)
    assert str(error).startswith(f"orders.pty:{line}:{column}: {message}")


def test_report_shows_the_line_and_a_caret() -> None:
    text = "@mode: CFG\n# orders\nReceive -> Check ->\n"
    with pytest.raises(PointyError) as info:
        parse(text, "orders.pty")
    assert str(info.value) == (
        "orders.pty:3:20: expected an event name after '->'\n"
        "    Receive -> Check ->\n"
        "                       ^"
    )


def test_caret_under_a_tab_indented_spot() -> None:
    with pytest.raises(PointyError) as info:
        parse("A ->\n\t\tB $")
    assert str(info.value).splitlines()[1:] == ["    \t\tB $", "    \t\t  ^"]


def test_crlf_error_line_has_no_carriage_return() -> None:
    with pytest.raises(PointyError) as info:
        parse("A ->\r\nB ->\r\n")
    assert (info.value.line, info.value.column) == (2, 5)
    assert info.value.source_line == "B ->"


def test_caret_line_uses_newlines_only() -> None:
    # \x1c is a line break to str.splitlines() but not to the language.
    with pytest.raises(PointyError) as info:
        parse("A -> B\x1c")
    assert (info.value.line, info.value.column) == (1, 7)
    assert info.value.source_line == "A -> B\x1c"


def test_default_filename() -> None:
    with pytest.raises(PointyError, match=r"^<text>:1:5: "):
        parse("A ->")


def test_failed_parse_leaves_no_state_behind() -> None:
    for bad in ["A -> A -> {A} (10 -> B)", "A -> A -> {A} ->"]:
        with pytest.raises(PointyError):
            parse(bad)
        graph = parse("A -> {A}")
        assert [t.id for t in graph.tasks()] == ["A", "A#2"]
        assert [g.id for g in graph.groups()] == ["group:1"]
