"""A small reader of Graphviz xdot output, strict enough to tell valid xdot from not.

``statements(text)`` gives each node, edge and graph attribute statement with
its attributes; ``parse_ops(value)`` parses one ``_draw_``-style attribute into
its drawing operations per the xdot specification (graphviz.org/docs/outputs/canon
"xdot"), raising ValueError on anything malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<arrow>->|--)|(?P<punct>[{}\[\];,=])'
    r"|(?P<id>[A-Za-z0-9_.\-\x80-\U0010ffff]+))",
    re.S,
)
_KEYWORDS = {"graph", "node", "edge", "subgraph", "digraph", "strict"}


@dataclass
class Statement:
    """One DOT statement: ``kind`` is node, edge or graph (attributes of a graph)."""

    kind: str
    ids: list[str]
    attrs: dict[str, str] = field(default_factory=dict)


def tokens(text: str) -> list[tuple[str, str]]:
    """(kind, value) tokens of DOT text; quoted strings come back unquoted."""
    text = text.replace("\\\n", "")  # line continuations inside long strings
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        start = len(text) - len(text[pos:].lstrip())
        if text.startswith("<", start):  # an HTML string: brackets nest
            end = _html_end(text, start)
            out.append(("str", text[start + 1 : end - 1]))
            pos = end
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"unexpected text at {pos}: {text[pos : pos + 30]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = value[1:-1].replace('\\"', '"')
        out.append((kind, value))
    return out


def _html_end(text: str, start: int) -> int:
    """Where the HTML string opening at ``start`` ends (just past its last ``>``)."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"<": 1, ">": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    raise ValueError(f"an HTML string at {start} is not closed")


def statements(text: str) -> list[Statement]:
    """Node, edge and graph-attribute statements of a DOT or xdot document."""
    toks = tokens(text)
    found: list[Statement] = []
    i = 0
    while i < len(toks):
        kind, value = toks[i]
        if kind == "punct" or (kind == "id" and value in _KEYWORDS and value != "graph"):
            i += 1
            continue
        if kind == "id" and value == "graph" and i + 1 < len(toks) and toks[i + 1][1] == "[":
            attrs, i = _attr_list(toks, i + 1)
            found.append(Statement("graph", [], attrs))
            continue
        # An id: a node, an edge chain, or `name=value` at graph level.
        ids = [value]
        i += 1
        if i < len(toks) and toks[i][1] == "=":
            i += 2
            continue
        while i < len(toks) and toks[i][0] == "arrow":
            ids.append(toks[i + 1][1])
            i += 2
        attrs = {}
        if i < len(toks) and toks[i][1] == "[":
            attrs, i = _attr_list(toks, i)
        found.append(Statement("edge" if len(ids) > 1 else "node", ids, attrs))
    return found


def _attr_list(toks: list[tuple[str, str]], i: int) -> tuple[dict[str, str], int]:
    assert toks[i][1] == "["
    attrs: dict[str, str] = {}
    i += 1
    while toks[i][1] != "]":
        if toks[i][1] == ",":
            i += 1
            continue
        key = toks[i][1]
        if toks[i + 1][1] != "=":
            raise ValueError(f"attribute {key!r} has no value")
        attrs[key] = toks[i + 2][1]
        i += 3
    return attrs, i + 1


# ------------------------------------------------------------------ xdot ops

_POINTS = {"P", "p", "L", "B", "b"}
_RECT = {"E", "e"}
_STRING_OPS = {"C", "c", "S"}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def skip(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos : self.pos + 1].isspace():
            self.pos += 1

    def done(self) -> bool:
        self.skip()
        return self.pos >= len(self.data)

    def word(self) -> str:
        self.skip()
        start = self.pos
        while self.pos < len(self.data) and not self.data[self.pos : self.pos + 1].isspace():
            self.pos += 1
        if start == self.pos:
            raise ValueError("unexpected end of the operations")
        return self.data[start : self.pos].decode("ascii")

    def number(self) -> float:
        text = self.word()
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None

    def integer(self) -> int:
        text = self.word()
        if not re.fullmatch(r"-?\d+", text):
            raise ValueError(f"expected an integer, got {text!r}")
        return int(text)

    def string(self) -> str:
        """``n -bytes``: a byte count, a dash, then exactly that many bytes."""
        n = self.integer()
        if n < 0:
            raise ValueError(f"negative string length {n}")
        self.skip()
        if self.data[self.pos : self.pos + 1] != b"-":
            raise ValueError("a string must start with '-'")
        self.pos += 1
        raw = self.data[self.pos : self.pos + n]
        if len(raw) != n:
            raise ValueError(f"string of {n} bytes runs past the end")
        self.pos += n
        return raw.decode("utf-8")


def parse_ops(value: str) -> list[tuple[str, tuple[object, ...]]]:
    """The drawing operations of one xdot attribute; ValueError if it is not valid xdot."""
    reader = _Reader(value.encode("utf-8"))
    ops: list[tuple[str, tuple[object, ...]]] = []
    while not reader.done():
        op = reader.word()
        args: tuple[object, ...]
        if op in _RECT:
            args = tuple(reader.number() for _ in range(4))
        elif op in _POINTS:
            n = reader.integer()
            if n < 1 or (op in "Bb" and (n - 1) % 3):
                raise ValueError(f"{op} with {n} points")
            args = tuple(reader.number() for _ in range(2 * n))
        elif op == "T":
            x, y = reader.number(), reader.number()
            align = reader.integer()
            if align not in (-1, 0, 1):
                raise ValueError(f"text alignment {align}")
            width = reader.number()
            args = (x, y, align, width, reader.string())
        elif op == "F":
            args = (reader.number(), reader.string())
        elif op in _STRING_OPS:
            args = (reader.string(),)
        elif op == "t":
            args = (reader.integer(),)
        elif op == "I":
            args = (*(reader.number() for _ in range(4)), reader.string())
        else:
            raise ValueError(f"unknown xdot operation {op!r}")
        ops.append((op, args))
    return ops
