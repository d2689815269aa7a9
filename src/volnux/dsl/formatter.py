"""Write a Graph back as canonical Pointy-lang text.

Canonical form: directives first, one per line, then the workflow on one line
with one space around ``->``, ``|->`` and ``||``; retries as ``A * 3``;
attributes as ``[k=v, ...]`` in their given order; a sub-workflow as
``<orders@1.2>``; branch lists as
``A (0 -> X, 1 |-> Y)``; groups with the bracket the author used.

``parse(format_graph(g)) == g`` for every graph the parser can produce (and
for any graph of that shape whose ids are the ones the parser would assign).
The walk uses an explicit stack, so a chain of any length formats without
recursion.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from volnux.graph.model import AttrValue, Block, Branch, Graph, Group, Parallel, Sequence, Task

__all__ = ["format_graph"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VERSION = re.compile(r"latest|v?[0-9]+(?:\.[0-9]+){0,2}")
_BARE_VALUE = re.compile(r'[^\s#"]+')

# Where a block sits decides what may appear there without brackets: a chain
# cannot be a step of another chain, nor a member of a parallel group.
_Place = Literal["top", "step", "member"]
_Item = str | tuple[Block, _Place]


def format_graph(graph: Graph) -> str:
    """The canonical Pointy-lang text of ``graph``, ending in a newline."""
    lines = [f"@{name}: {_directive_value(value)}" for name, value in graph.directives]
    if lines:
        lines.append("")
    lines.append(_format_block(graph.root))
    return "\n".join(lines) + "\n"


def _format_block(root: Block) -> str:
    out: list[str] = []
    stack: list[_Item] = [(root, "top")]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        else:
            stack.extend(reversed(_expand(*item)))
    return "".join(out)


def _expand(block: Block, place: _Place) -> list[_Item]:
    """The text pieces and sub-blocks of ``block``, in writing order."""
    if isinstance(block, Sequence):
        if place != "top":
            raise ValueError("a Sequence inside a Sequence or Parallel needs a Group around it")
        items: list[_Item] = [(block.steps[0], "step")]
        for pipe, step in zip(block.pipes, block.steps[1:], strict=True):
            items += [" |-> " if pipe else " -> ", (step, "step")]
        return items
    if isinstance(block, Parallel):
        if place == "member":
            raise ValueError("a Parallel inside a Parallel needs a Group around it")
        items = [(block.members[0], "member")]
        for member in block.members[1:]:
            items += [" || ", (member, "member")]
        return items
    if isinstance(block, Task):
        items = [_reference(block)]
    elif isinstance(block, Group):
        opener, closer = ("{", "}") if block.bracket == "{" else ("(", ")")
        items = [opener, (block.body, "top"), closer]
    else:
        raise TypeError(f"not a graph block: {block!r}")
    items.append(_suffix(block.attrs, block.attempts))
    items += _branches(block.branches)
    return items


def _reference(task: Task) -> str:
    ref = task.ref
    if not _NAME.fullmatch(ref.name):
        raise ValueError(f"event name {ref.name!r} cannot be written in Pointy-lang")
    text = ref.name
    if ref.version is not None:
        if not _VERSION.fullmatch(ref.version):
            raise ValueError(
                f"version {ref.version!r} of {ref.name} is not 1.2.3, 1.2, v1 or latest"
            )
        text = f"{ref.name}@{ref.version}"
    return f"<{text}>" if task.workflow else text


def _suffix(attrs: tuple[tuple[str, AttrValue], ...], attempts: int | None) -> str:
    text = ""
    if attrs:
        text = "[" + ", ".join(f"{_key(k)}={_literal(v)}" for k, v in attrs) + "]"
    if attempts is not None:
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 2:
            raise ValueError(f"attempts must be a whole number of 2 or more, not {attempts!r}")
        text += f" * {attempts}"
    return text


def _branches(branches: tuple[Branch, ...]) -> list[_Item]:
    if not branches:
        return []
    items: list[_Item] = [" ("]
    seen: set[int] = set()
    for index, branch in enumerate(branches):
        descriptor = branch.descriptor
        if descriptor in seen or descriptor not in range(10) or isinstance(descriptor, bool):
            raise ValueError(f"descriptor {descriptor!r} is repeated or outside 0-9")
        seen.add(descriptor)
        arrow = "|->" if branch.pipe else "->"
        items += [", " if index else "", f"{descriptor} {arrow} ", (branch.body, "top")]
    items.append(")")
    return items


def _key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"attribute name {key!r} cannot be written in Pointy-lang")
    return key


def _literal(value: AttrValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"attribute value {value!r} cannot be written in Pointy-lang")
        return repr(value)
    if isinstance(value, str):
        return _quote(value)
    raise ValueError(f"attribute value {value!r} is not a string, number or boolean")


def _quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _directive_value(value: str) -> str:
    return value if _BARE_VALUE.fullmatch(value) else _quote(value)
