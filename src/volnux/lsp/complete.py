"""Completion: what may be written at the cursor, from the project's events.

* an event name where one is expected: at the start of a line, after ``->``,
  ``|->``, ``||``, a group's opening bracket, and ``3 *``;
* a version after ``Name@``: each loaded version of that event, and ``latest``;
* an attribute name after ``[`` or ``,`` inside ``[...]`` (those the engine
  reads, less those already given), and a value after ``=`` where the
  attribute takes one of a few (``executor``, ``result_evaluation_strategy``).

The text before the cursor is read with the editor's tolerant tokenizer, so
completion works on a line the parser would refuse (it usually is one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from lsprotocol import types

from .describe import ATTRIBUTES, attributes_for, describe_event, first_line
from .text import Lines, Token, tokenize

if TYPE_CHECKING:
    from ..events import EventRegistry

__all__ = ["complete"]

#: After these an event name is expected (``(`` only where it opens a group).
_BEFORE_EVENT: Final = frozenset({"->", "|->", "||", "(", "{"})
#: What an operand ends with: a ``(`` after one opens a branch list, not a group.
_OPERAND_END: Final = frozenset({")", "}", "]"})
#: Values offered after ``key=``.
_STRATEGIES: Final = ("all", "any", "majority", "at_least:")
#: Attributes kept for files written for Volnux 2.x.
_COMPAT: Final = frozenset({"stop_condition", "bypass_event_checks"})
#: Tokens the cursor can be inside of (the rest are whole when the cursor is after them).
_WORDS: Final = frozenset({"name", "number", "comment", "string", "directive"})


def complete(
    text: str, offset: int, lines: Lines, registry: EventRegistry | None
) -> list[types.CompletionItem]:
    """The completions at ``offset`` of ``text`` (events come from ``registry``)."""
    line_end = text.find("\n", offset)
    tokens = tokenize(text[: line_end if line_end != -1 else len(text)])
    typed, before, in_attrs, line_start = _context(tokens, offset)
    if typed is not None and typed.kind in ("comment", "string", "directive"):
        return []
    start = typed.start if typed is not None and typed.kind in ("name", "number") else offset
    word = text[start:offset]
    if "@" in word and not in_attrs:
        name = word.partition("@")[0]
        at = start + len(name) + 1
        return _versions(registry, name, lines, at, _end(typed, offset)) if registry else []
    if in_attrs:
        if before is not None and before.text in ("[", ","):
            return _attribute_names(tokens, offset, lines, start, _end(typed, offset))
        if before is not None and before.text == "=":
            return _values(tokens, offset, lines, start, _end(typed, offset))
        return []
    if registry is None or not _expects_event(tokens, before, line_start):
        return []
    return _events(registry, lines, start, _end(typed, offset))


def _end(typed: Token | None, offset: int) -> int:
    """Where the word being completed ends: the whole word under the cursor is replaced."""
    if typed is not None and typed.kind in ("name", "number"):
        return max(typed.end, offset)
    return offset


def _context(tokens: Sequence[Token], offset: int) -> tuple[Token | None, Token | None, bool, bool]:
    """The word being typed at ``offset`` (or None), the last meaningful token before
    it, whether the cursor is inside ``[...]``, and whether the word starts its line."""
    before: Token | None = None
    in_attrs = False
    line_start = True
    for token in tokens:
        if token.start >= offset:
            break
        under = token.start < offset <= token.end
        if under and token.kind in _WORDS:
            return token, before, in_attrs, line_start
        if token.kind == "newline":
            line_start = True
        elif token.kind != "space":
            line_start = False
            if token.kind != "comment":
                before = token
        if token.kind == "op" and token.text in "[]":
            in_attrs = token.text == "["
    return None, before, in_attrs, line_start


def _expects_event(tokens: Sequence[Token], before: Token | None, line_start: bool) -> bool:
    if before is None or line_start:
        return True
    if before.text == "(":
        # `(` after an operand opens a branch list, where a descriptor comes next.
        previous = _meaningful_before(tokens, before)
        return previous is None or not (
            previous.kind in ("name", "number") or previous.text in _OPERAND_END
        )
    if before.text == "*":
        previous = _meaningful_before(tokens, before)
        return previous is not None and previous.kind == "number"  # `3 * A`
    return before.text in _BEFORE_EVENT


def _meaningful_before(tokens: Sequence[Token], token: Token) -> Token | None:
    previous: Token | None = None
    for t in tokens:
        if t is token:
            return previous
        if not t.quiet:
            previous = t
    return previous


def _edit(lines: Lines, start: int, end: int, text: str) -> types.TextEdit:
    (l1, c1), (l2, c2) = lines.position(start), lines.position(end)
    return types.TextEdit(types.Range(types.Position(l1, c1), types.Position(l2, c2)), text)


def _events(
    registry: EventRegistry, lines: Lines, start: int, end: int
) -> list[types.CompletionItem]:
    items = []
    for name in registry.names():
        versions = registry.versions(name)
        newest = versions[-1]
        items.append(
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.Event,
                detail=f"{newest.key}  {first_line(newest.doc)}".rstrip(),
                documentation=types.MarkupContent(
                    types.MarkupKind.Markdown, describe_event(registry, newest)
                ),
                tags=[types.CompletionItemTag.Deprecated] if newest.deprecated else None,
                text_edit=_edit(lines, start, end, name),
            )
        )
    return items


def _versions(
    registry: EventRegistry, name: str, lines: Lines, start: int, end: int
) -> list[types.CompletionItem]:
    versions = registry.versions(name)
    items = []
    # Newest first: sort_text orders them; the labels stay the versions.
    for rank, spec in enumerate(reversed(versions)):
        version = str(spec.version)
        items.append(
            types.CompletionItem(
                label=version,
                kind=types.CompletionItemKind.Constant,
                detail=spec.deprecated.describe() if spec.deprecated else first_line(spec.doc),
                documentation=types.MarkupContent(
                    types.MarkupKind.Markdown, describe_event(registry, spec)
                ),
                tags=[types.CompletionItemTag.Deprecated] if spec.deprecated else None,
                sort_text=f"{rank:04d}",
                text_edit=_edit(lines, start, end, version),
            )
        )
    if versions:
        items.append(
            types.CompletionItem(
                label="latest",
                kind=types.CompletionItemKind.Keyword,
                detail=f"the newest version ({versions[-1].version})",
                sort_text=f"{len(versions):04d}",
                text_edit=_edit(lines, start, end, "latest"),
            )
        )
    return items


def _attribute_block(tokens: Sequence[Token], offset: int) -> tuple[bool, set[str]]:
    """Whether the ``[...]`` at ``offset`` qualifies a group, and the keys it already has."""
    opener = None
    for i, token in enumerate(tokens):
        if token.start >= offset:
            break
        if token.text == "[":
            opener = i
    if opener is None:
        return False, set()
    previous = next((t for t in reversed(tokens[:opener]) if not t.quiet), None)
    group = previous is not None and previous.text in (")", "}")
    given = {t.text for t in tokens[opener:] if t.role == "key" and t.end < offset}
    return group, given


def _attribute_names(
    tokens: Sequence[Token], offset: int, lines: Lines, start: int, end: int
) -> list[types.CompletionItem]:
    group, given = _attribute_block(tokens, offset)
    # Renaming a key that has its '=' already: the name alone.
    equals = "" if lines.text[end : end + 1] == "=" else "="
    return [
        types.CompletionItem(
            label=key,
            kind=types.CompletionItemKind.Property,
            detail="Volnux 2.x attribute" if key in _COMPAT else "attribute",
            documentation=types.MarkupContent(types.MarkupKind.Markdown, ATTRIBUTES.get(key, "")),
            text_edit=_edit(lines, start, end, f"{key}{equals}"),
        )
        for key in attributes_for(group)
        if key not in given
    ]


def _values(
    tokens: Sequence[Token], offset: int, lines: Lines, start: int, end: int
) -> list[types.CompletionItem]:
    key = None
    for token in tokens:
        if token.start >= offset:
            break
        if token.role == "key":
            key = token.text
    if key == "executor":
        from ..executors import executor_names

        values = [f'"{name}"' for name in executor_names()]
    elif key == "result_evaluation_strategy":
        values = [f'"{name}"' for name in _STRATEGIES]
    elif key == "bypass_event_checks":
        values = ["false"]
    else:
        return []
    return [
        types.CompletionItem(
            label=value,
            kind=types.CompletionItemKind.Value,
            text_edit=_edit(lines, start, end, value),
        )
        for value in values
    ]
