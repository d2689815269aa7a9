"""What is wrong with a workflow's text, as LSP diagnostics.

The checks are the ones ``volnux validate`` makes, with the same messages: a
syntax error (the parser stops at the first), then, when the project has
events, every reference the plan cannot resolve (unknown event or version,
with "did you mean", an unknown or ill-typed attribute, ...) and each use of a
deprecated event version (a warning; an error under ``strict = true``).  A
configuration or events file that cannot be loaded is one error on the
first line, and the text is still checked for syntax.

The parser and the plan give a position (line and column); the editor
underlines the token there: the name of an unknown event, the version that
matches nothing, or the attribute a message names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from lsprotocol import types

from ..dsl.parser import parse
from ..engine.plan import find_plan_errors
from ..errors import EventNotFound, PointyError
from ..events.deprecation import deprecations
from ..graph import Group, Task, iter_blocks
from .describe import attributes_for
from .text import Lines, Token, token_from

if TYPE_CHECKING:
    from ..events import EventRegistry
    from ..graph import Graph
    from .project import Project

__all__ = ["SOURCE", "diagnose"]

#: The ``source`` of every diagnostic this server publishes.
SOURCE: Final = "volnux"

_CLOSERS: Final = {"(": ")", "{": "}"}


def diagnose(text: str, filename: str, project: Project, lines: Lines) -> list[types.Diagnostic]:
    """Every problem of ``text`` (a workflow whose events are ``project``'s)."""
    found: list[types.Diagnostic] = []
    if project.problem is not None:
        found.append(_diagnostic(lines, 0, 0, project.problem, "events"))
    try:
        graph = parse(text, filename)
    except PointyError as exc:
        found.append(_syntax(text, lines, exc))
        return found
    registry = project.registry
    if registry is None:
        return found
    executor = project.config.executor if project.config is not None else None
    nodes, errors = find_plan_errors(graph, registry, executor)
    if errors:
        blocks = _blocks_by_position(graph)
        found.extend(_reference(text, lines, registry, blocks, error) for error in errors)
    uses = {node: plan.spec for node, plan in nodes.items()}
    # Strict mode refuses to run them: an error, as `volnux validate --strict` says.
    severity = (
        types.DiagnosticSeverity.Error if project.strict else types.DiagnosticSeverity.Warning
    )
    for notice in deprecations(uses):
        for node in notice.nodes:
            task = nodes[node].task
            start = _offset(text, lines, task.pos.line, task.pos.column)
            end = start + len(str(task.ref))
            found.append(
                _diagnostic(
                    lines,
                    start,
                    end,
                    notice.message,
                    "deprecated",
                    severity,
                    tags=[types.DiagnosticTag.Deprecated],
                )
            )
    return found


def _diagnostic(
    lines: Lines,
    start: int,
    end: int,
    message: str,
    code: str,
    severity: types.DiagnosticSeverity = types.DiagnosticSeverity.Error,
    *,
    tags: list[types.DiagnosticTag] | None = None,
    data: Any = None,
) -> types.Diagnostic:
    return types.Diagnostic(
        range=lsp_range(lines, start, end),
        message=message,
        severity=severity,
        code=code,
        source=SOURCE,
        tags=tags,
        data=data,
    )


def lsp_range(lines: Lines, start: int, end: int) -> types.Range:
    """The LSP range of the offsets ``start`` to ``end``."""
    (l1, c1), (l2, c2) = lines.position(start), lines.position(end)
    return types.Range(types.Position(l1, c1), types.Position(l2, c2))


def _offset(text: str, lines: Lines, line: int, column: int) -> int:
    """The offset of a parser position (1-based), in the editor's text."""
    # The parser drops a byte-order mark before counting columns; the editor may not.
    shift = 1 if line == 1 and text.startswith("\ufeff") else 0
    return lines.offset_of(line, column + shift)


def _token_end(text: str, start: int) -> int:
    """Where the token at ``start`` ends, on its own line (one character if none)."""
    token = token_from(text, start)
    if token is None or token.kind == "newline":
        return start
    end = token.end if not token.quiet or token.kind == "comment" else start + 1
    line_end = text.find("\n", start)
    return min(end, line_end) if line_end != -1 else end


def _syntax(text: str, lines: Lines, error: PointyError) -> types.Diagnostic:
    start = _offset(text, lines, error.line, error.column)
    return _diagnostic(lines, start, _token_end(text, start), error.message, "syntax")


def _blocks_by_position(graph: Graph) -> dict[tuple[int, int], Task | Group]:
    return {
        (b.pos.line, b.pos.column): b
        for b in iter_blocks(graph.root)
        if isinstance(b, Task | Group)
    }


def _reference(
    text: str,
    lines: Lines,
    registry: EventRegistry,
    blocks: dict[tuple[int, int], Task | Group],
    error: PointyError,
) -> types.Diagnostic:
    """A plan error, underlined where it applies."""
    start = _offset(text, lines, error.line, error.column)
    block = blocks.get((error.line, error.column))
    if isinstance(block, Task):
        return _task_error(text, lines, registry, block, start, error.message)
    end = start + 1  # a group: its opening bracket, unless an attribute is named
    span = _named_attribute(text, start, error.message, group=True)
    if span is not None:
        start, end = span
    return _diagnostic(lines, start, end, error.message, "attribute")


def _task_error(
    text: str, lines: Lines, registry: EventRegistry, task: Task, start: int, message: str
) -> types.Diagnostic:
    ref = task.ref
    try:
        registry.resolve(ref.name, ref.version)
    except EventNotFound as exc:
        # The name is known, so the version is what matches nothing.
        if ref.version is not None and registry.versions(ref.name):
            at = start + len(ref.name) + 1
            return _diagnostic(lines, at, at + len(ref.version), message, "unknown-version")
        end = start + len(ref.name)
        data = {"suggestions": exc.suggestions} if exc.suggestions else None
        return _diagnostic(lines, start, end, message, "unknown-event", data=data)
    span = _named_attribute(text, start, message, group=False)
    if span is not None:
        return _diagnostic(lines, span[0], span[1], message, "attribute")
    return _diagnostic(lines, start, start + len(str(ref)), message, "event")


def _named_attribute(text: str, start: int, message: str, *, group: bool) -> tuple[int, int] | None:
    """The ``key=value`` span of the attribute of the block at ``start`` that
    ``message`` names, or None (the plan's messages name the attribute they are about).

    An attribute the engine does not read is preferred: "unknown attribute
    'timout'; did you mean 'timeout'?" names both.
    """
    known = attributes_for(group)
    named = [
        (key in known, key_start, value_end)
        for key, key_start, value_end in _attributes(text, start, group=group)
        if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", message)
    ]
    if not named:
        return None
    _, key_start, value_end = min(named, key=lambda found: found[0])
    return key_start, value_end


def _attributes(text: str, start: int, *, group: bool) -> Iterator[tuple[str, int, int]]:
    """(key, where the key starts, where its value ends) for the attributes of the
    event reference (or the group whose opening bracket is) at ``start``."""
    tokens = _tokens_from(text, start)
    first = next(tokens, None)
    if first is None:
        return
    if group and first.text in _CLOSERS:
        depth = 1
        for token in tokens:
            if token.text in _CLOSERS:
                depth += 1
            elif token.text in _CLOSERS.values():
                depth -= 1
                if depth == 0:
                    break
    opener = next(tokens, None)
    if opener is None or opener.text != "[":
        return
    key: Token | None = None
    last: Token | None = None
    for token in tokens:
        if token.text in (",", "]"):
            if key is not None and last is not None:
                yield key.text, key.start, last.end
            key = None
            if token.text == "]":
                return
        elif key is None and token.kind == "name":
            key = token
        last = token


def _tokens_from(text: str, start: int) -> Iterator[Token]:
    """The tokens from ``start`` on, without spaces and comments."""
    offset = start
    while True:
        token = token_from(text, offset)
        if token is None:
            return
        offset = token.end
        if not token.quiet:
            yield token
