"""Build the immutable graph model while Pointy-lang text is parsed.

The builder's methods are named after the grammar rules in ``grammar.lark``.
The LALR parser calls them as it reduces each rule (lark's inline
transformer), so no parse tree is built and nothing recurses: the parser's
own loop drives the build, and a 100,000-event chain costs one pass. Checks
the grammar cannot express (descriptor range, retry factor, versions,
duplicates, literals) live here, and each reports ``file:line:col`` through
:class:`Source`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator
from typing import Any, NoReturn

from lark import Token, Transformer

from volnux.errors import PointyError
from volnux.graph.model import (
    AttrValue,
    Block,
    Branch,
    EventRef,
    Group,
    Parallel,
    Position,
    Sequence,
    Task,
)

__all__ = ["DIRECTIVES", "GraphBuilder", "Source"]

# The directives Volnux 2.x files carry. They are kept on the Graph and change
# nothing (nesting depth is unlimited here); anything else is refused so that
# a typo never silently drops an instruction.
DIRECTIVES = ("mode", "recursive-depth")
_MODES = ("CFG", "DAG")

# Same forms as volnux.events.versions; repeated here because dsl must not
# import events (they sit side by side in the layering).
_VERSION = re.compile(r"latest|v?[0-9]+(?:\.[0-9]+){0,2}")
_INT = re.compile(r"[+-]?[0-9]+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "/": "/"}


class Source:
    """The text being parsed and its file name: makes positioned errors."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename

    def line(self, number: int) -> str:
        """Line ``number`` (1-based) of the text, or "" if there is none."""
        # Split on "\n" only, as lark counts lines; str.splitlines() would also
        # break on \r, \f, \x1c..., and the caret would land on the wrong line.
        lines = self.text.split("\n")
        return lines[number - 1] if 1 <= number <= len(lines) else ""

    def error(self, message: str, line: int, column: int) -> PointyError:
        """A PointyError at ``line``:``column`` showing that line."""
        return PointyError(
            message,
            line=line,
            column=column,
            filename=self.filename,
            source_line=self.line(line),
        )

    def fail(self, message: str, token: Token, offset: int = 0) -> NoReturn:
        """Raise a PointyError at ``offset`` characters into ``token``."""
        line, column = _offset_position(token, offset)
        raise self.error(message, line, column)


def _offset_position(token: Token, offset: int) -> tuple[int, int]:
    """The line and column of the character ``offset`` into ``token``."""
    text = str(token)[:offset]
    newlines = text.count("\n")
    line = token.line or 1
    if newlines:
        return line + newlines, offset - text.rindex("\n")
    return line, (token.column or 1) + offset


def _pos(token: Token) -> Position:
    return Position(token.line or 0, token.column or 0)


@dataclasses.dataclass(frozen=True, slots=True)
class _Attr:
    key: Token
    value: AttrValue


class GraphBuilder(Transformer[Token, Any]):
    """Builds a (root block, directives) pair while one text is parsed.

    One builder serves one parser and one parse at a time; :meth:`reset`
    starts the next text. Ids follow source order (``A``, ``A#2``;
    ``group:1``, ``group:2``): events are reduced in the order their names
    appear, but a group is reduced after the groups inside it, so group
    numbers are handed out by :meth:`open_group` as each bracket is lexed.
    """

    def __init__(self) -> None:
        # No token callbacks: skipping the per-token visit matters on 100k chains.
        super().__init__(visit_tokens=False)
        self.reset(Source("", "<text>"))

    def reset(self, source: Source) -> None:
        """Forget the previous text; errors will name ``source``."""
        self._source = source
        self._seen: dict[str, int] = {}
        self._group_ids: dict[int, str] = {}

    def open_group(self, token: Token) -> Token:
        """Lexer callback for a group's opening bracket: number the group."""
        self._group_ids[token.start_pos or 0] = f"group:{len(self._group_ids) + 1}"
        return token

    # -- program -----------------------------------------------------------

    def start(self, items: list[Any]) -> tuple[Block, tuple[tuple[str, str], ...]]:
        *directives, root = items
        return root, tuple(directives)

    def directive(self, items: list[Token]) -> tuple[str, str]:
        (token,) = items
        head, _colon, tail = str(token).partition(":")
        name = head[1:].rstrip()
        if name not in DIRECTIVES:
            known = " and ".join(f"'@{d}'" for d in DIRECTIVES)
            self._source.fail(f"unknown directive '@{name}' (known: {known})", token)
        text = tail.strip()
        at = len(token) - len(text)
        value = self._string(token, at) if text.startswith('"') else text
        if name == "mode" and value.upper() not in _MODES:
            self._source.fail(f"'@mode' must be CFG or DAG, not {text}", token, at)
        positive = value.isascii() and value.isdigit() and value.strip("0") != ""
        if name == "recursive-depth" and not positive:
            self._source.fail(
                f"'@recursive-depth' must be a positive whole number, not {text}", token, at
            )
        return name, value

    # -- operators ---------------------------------------------------------

    def chain(self, items: list[Any]) -> Block:
        if len(items) == 1:
            return items[0]  # type: ignore[no-any-return]
        steps = tuple(items[0::2])
        pipes = tuple(tok.type == "PIPE" for tok in items[1::2])
        return Sequence(steps=steps, pipes=pipes)

    def par(self, items: list[Block]) -> Parallel:
        return Parallel(members=tuple(items))

    def branched(self, items: list[Any]) -> Task | Group:
        operand: Task | Group = items[0]
        return dataclasses.replace(operand, branches=items[1])

    def retried_branches(self, items: list[Any]) -> Task | Group:
        operand: Task | Group = items[0]
        if operand.attempts is not None:
            star: Token = items[2]
            self._source.fail(
                f"{operand.id} has a retry count already; give it once, before or after "
                "its branch list",
                star,
            )
        return dataclasses.replace(operand, branches=items[1], attempts=self._attempts(items[3]))

    def retry_after(self, items: list[Any]) -> Task | Group:
        operand: Task | Group = items[0]
        return dataclasses.replace(operand, attempts=self._attempts(items[2]))

    def retry_before(self, items: list[Any]) -> Task | Group:
        operand: Task | Group = items[2]
        return dataclasses.replace(operand, attempts=self._attempts(items[0]))

    # -- operands ----------------------------------------------------------

    def event(self, items: list[Any]) -> Task:
        token: Token = items[0]
        attrs: tuple[tuple[str, AttrValue], ...] = items[1] if len(items) > 1 else ()
        name, at, version = str(token).partition("@")
        if at and not _VERSION.fullmatch(version):
            shown = f"'{version}'" if version else "nothing"
            self._source.fail(
                f"expected a version (1.2.3, 1.2, v1 or latest) after '{name}@', found {shown}",
                token,
                len(name) + 1,
            )
        count = self._seen.get(name, 0) + 1
        self._seen[name] = count
        return Task(
            id=name if count == 1 else f"{name}#{count}",
            ref=EventRef(name, version if at else None),
            attrs=attrs,
            pos=_pos(token),
        )

    def workflow(self, items: list[Any]) -> Task:
        """``<orders@1.2>``: a node that runs a workflow unit (ids ``workflow:orders``)."""
        token: Token = items[1]
        attrs: tuple[tuple[str, AttrValue], ...] = items[3] if len(items) > 3 else ()
        name, at, version = str(token).partition("@")
        if at and not _VERSION.fullmatch(version):
            shown = f"'{version}'" if version else "nothing"
            self._source.fail(
                f"expected a version (1.2.3, 1.2, v1 or latest) after workflow '{name}@', "
                f"found {shown}",
                token,
                len(name) + 1,
            )
        key = f"workflow:{name}"
        count = self._seen.get(key, 0) + 1
        self._seen[key] = count
        return Task(
            id=key if count == 1 else f"{key}#{count}",
            ref=EventRef(name, version if at else None),
            attrs=attrs,
            pos=_pos(items[0]),
            workflow=True,
        )

    def group(self, items: list[Any]) -> Group:
        opener: Token = items[0]
        attrs: tuple[tuple[str, AttrValue], ...] = items[3] if len(items) > 3 else ()
        return Group(
            id=self._group_ids[opener.start_pos or 0],
            body=items[1],
            attrs=attrs,
            pos=_pos(opener),
            bracket=str(opener),
        )

    # -- attributes --------------------------------------------------------

    def attrs(self, items: list[Any]) -> tuple[tuple[str, AttrValue], ...]:
        seen: set[str] = set()
        pairs: list[tuple[str, AttrValue]] = []
        for attr in items[1:]:
            key = str(attr.key)
            if key in seen:
                self._source.fail(f"attribute '{key}' is given twice", attr.key)
            seen.add(key)
            pairs.append((key, attr.value))
        return tuple(pairs)

    def attr(self, items: list[Any]) -> _Attr:
        key, _eq, value = items
        return _Attr(key, value)

    def value(self, items: list[Token]) -> AttrValue:
        (token,) = items
        if token.type == "TRUE":
            return True
        if token.type == "FALSE":
            return False
        if token.type == "STRING":
            return self._string(token)
        return self._number(token)

    # -- branches ----------------------------------------------------------

    def branch_list(self, items: list[Any]) -> tuple[Branch, ...]:
        branches: tuple[Branch, ...] = tuple(items[:-1])  # drop the closing ')'
        seen: set[int] = set()
        for branch in branches:
            if branch.descriptor in seen:
                raise self._source.error(
                    f"descriptor {branch.descriptor} appears twice in this branch list",
                    branch.pos.line,
                    branch.pos.column,
                )
            seen.add(branch.descriptor)
        return branches

    def branch(self, items: list[Any]) -> Branch:
        count, arrow, body = items
        text = str(count)
        if not text.isdigit() or len(text) > 1:
            self._source.fail(f"descriptor {text} is outside 0-9", count)
        return Branch(descriptor=int(text), body=body, pipe=arrow.type == "PIPE", pos=_pos(count))

    # -- literals ----------------------------------------------------------

    def _attempts(self, token: Token) -> int:
        text = str(token)
        if not text.isdigit():
            self._source.fail(f"a retry factor must be a whole number, not {text}", token)
        value = self._int(token)
        if value < 2:
            self._source.fail(
                f"a retry factor must be 2 or more (it counts all attempts), not {text}", token
            )
        return value

    def _int(self, token: Token) -> int:
        try:
            return int(str(token))
        except ValueError:  # longer than Python's int-from-text limit
            self._source.fail("this number is too long", token)

    def _number(self, token: Token) -> int | float:
        text = str(token)
        if _INT.fullmatch(text):
            return self._int(token)
        value = float(text)
        if not math.isfinite(value):
            self._source.fail(f"the number {text} is too large", token)
        return value

    def _string(self, token: Token, start: int = 0) -> str:
        """The value of the quoted string starting ``start`` characters into ``token``."""
        return "".join(self._unescape(token, start))

    def _unescape(self, token: Token, start: int) -> Iterator[str]:
        text = str(token)
        i, end = start + 1, len(text) - 1  # inside the quotes
        while i < end:
            ch = text[i]
            if ch != "\\":
                yield ch
                i += 1
                continue
            code = text[i + 1]
            if code in _ESCAPES:
                yield _ESCAPES[code]
                i += 2
            elif code == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2 : i + 6]):
                yield chr(int(text[i + 2 : i + 6], 16))
                i += 6
            else:
                self._source.fail(
                    f"unknown escape '\\{code}' in string"
                    " (use \\n, \\t, \\r, \\\", \\', \\\\ or \\uXXXX)",
                    token,
                    i,
                )
