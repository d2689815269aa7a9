"""Canonical spacing for a workflow file that keeps its lines and its comments.

``volnux fmt`` rewrites a ``.pty`` file, and a file is documentation as much
as program: its author's line breaks, indentation and ``#`` comments stay
where they were.  What changes is the spacing inside each line:

* one space around ``->``, ``|->``, ``||`` and ``*`` (``A * 3``);
* attributes glued to what they qualify, ``A[k=v, k2=v2]``;
* a branch list one space after its task, ``A (0 -> X, 1 |-> Y)``;
* nothing inside group brackets, ``(A || B)``, ``{A -> B}``;
* directives as ``@name: value``;
* an end-of-line comment two spaces after the code; no trailing spaces;
  at most one blank line in a row, none at the start or the end; ``\n``
  line ends, and no byte-order mark.

The text must parse (:func:`format_text` parses it first); the result
parses to the same workflow, which is checked before it is returned.
"""

from __future__ import annotations

import re

from ..errors import PointyError
from ..graph import Graph
from .formatter import format_graph

__all__ = ["format_text"]

_TOKEN = re.compile(
    r"""
    (?P<newline>\n)
    | (?P<space>[ \t\r\f\v]+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\[\s\S])*")
    | (?P<directive>@[A-Za-z_][A-Za-z0-9_-]*[ \t]*:[ \t]*(?:"(?:[^"\\\n]|\\.)*"|[^\s#"]+))
    | (?P<op>\|->|->|\|\||[*=,\[\]{}()])
    | (?P<word>[+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?(?![A-Za-z0-9_.@])|[+-]?[A-Za-z0-9_.@]+)
    """,
    re.VERBOSE,
)
_DIRECTIVE = re.compile(r"@([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:[ \t]*(.*)", re.S)

#: Operators written with one space on each side.
_SPACED = frozenset({"->", "|->", "||", "*"})
#: After these, nothing: the next token is glued on.
_GLUE_AFTER = frozenset({"[", "=", "(", "{"})
#: Before these, nothing.
_GLUE_BEFORE = frozenset({"[", "]", "=", ",", ")", "}"})
#: What an operand ends with: a ``(`` after one opens a branch list.
_OPERAND_END = frozenset({")", "}", "]"})


def format_text(text: str, filename: str = "<text>", graph: Graph | None = None) -> str:
    """``text`` with canonical spacing, its lines and comments kept (see the module).

    ``graph`` is the text already parsed, if the caller has it; otherwise it
    is parsed here (a :class:`~volnux.errors.PointyError` if it does not).
    """
    from . import parse

    if graph is None:
        graph = parse(text, filename)
    lines = _lines(_tokens(text.removeprefix("\ufeff"), filename))
    out = "\n".join(lines).strip("\n") + "\n"
    if format_graph(parse(out, filename)) != format_graph(graph):
        # A rule above is wrong for this text: say so rather than change its meaning.
        raise PointyError(
            "cannot be formatted without changing its meaning (a bug: please report it)",
            line=1,
            column=1,
            filename=filename,
        )
    return out


def _tokens(text: str, filename: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: ``newline``, ``comment``, ``string``, ``directive``, ``op``, ``word``.

    Spaces are left out but kept in front of a line's first token, as ``indent``.
    """
    found: list[tuple[str, str]] = []
    pos, line_start = 0, True
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # the text parsed, so this is a gap in the pattern above
            line = text.count("\n", 0, pos) + 1
            column = pos - (text.rfind("\n", 0, pos) + 1) + 1
            raise PointyError(
                "cannot format the text here (a bug: please report it)",
                line=line,
                column=column,
                filename=filename,
                source=text,
            )
        kind = m.lastgroup or ""
        value = m.group()
        pos = m.end()
        if kind == "space":
            if line_start and pos < len(text) and text[pos] != "\n":
                found.append(("indent", value))
            continue
        found.append((kind, value))
        # A string may hold a line break: the line it ends on is not a new one.
        line_start = kind == "newline"
    return found


def _lines(tokens: list[tuple[str, str]]) -> list[str]:
    """The formatted lines, at most one blank line in a row."""
    lines: list[str] = []
    current = ""
    before: tuple[str, str] | None = None  # the previous token on this line
    for kind, value in tokens:
        if kind == "newline":
            if current or (lines and lines[-1]):
                lines.append(current.rstrip())
            current, before = "", None
            continue
        if kind == "indent":
            current = value
            continue
        if kind == "comment":
            current += ("  " if before is not None else "") + value.rstrip()
            before = (kind, value)
            continue
        if kind == "directive":
            m = _DIRECTIVE.match(value)
            value = f"@{m.group(1)}: {m.group(2)}" if m else value
        if before is not None:
            current += _space(before, (kind, value))
        current += value
        before = (kind, value)
    lines.append(current.rstrip())
    return lines


def _space(before: tuple[str, str], token: tuple[str, str]) -> str:
    """The space between two tokens on one line."""
    kind, value = token
    if (kind == "op" and value in _SPACED) or (before[0] == "op" and before[1] in _SPACED):
        return " "
    if before[0] == "op" and before[1] in _GLUE_AFTER:
        return ""
    if kind == "op" and value in _GLUE_BEFORE:
        return ""
    if kind == "op" and value == "(":
        # After an operand it opens a branch list: one space. Elsewhere a group.
        return " " if _ends_operand(before) else ""
    return " "


def _ends_operand(token: tuple[str, str]) -> bool:
    kind, value = token
    return kind == "word" or (kind == "op" and value in _OPERAND_END)
