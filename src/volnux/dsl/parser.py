"""Parse Pointy-lang text into a :class:`~volnux.graph.model.Graph`.

The grammar lives in ``grammar.lark``; the LALR tables are built on the first
parse (once per thread, as each parser carries its builder's state) and
cached, never at import. Whatever the input, the only exception a
parse raises is :class:`~volnux.errors.PointyError`, worded in the language's
terms ("expected an event name after '->'") rather than lark's terminal names.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from importlib import resources

from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_interactive_parser import InteractiveParser

from volnux.errors import PointyError
from volnux.graph.model import Block, Graph

from .builder import GraphBuilder, Source

__all__ = ["parse"]


class _PerThread(threading.local):
    parser: tuple[Lark, GraphBuilder] | None = None


_local = _PerThread()


@functools.cache
def _grammar() -> str:
    return resources.files(__package__).joinpath("grammar.lark").read_text("utf-8")


@functools.cache
def _cache_file() -> str | bool:
    """Where the built LALR tables are kept between processes, or False for nowhere.

    Building them takes about 25 ms, a good part of a ``volnux runs resume``
    before its first task; lark then loads them in about 5.  The file is a
    pickle, kept in the user's cache folder (see
    :func:`volnux.dsl.cache.cache_dir`); lark rebuilds it when the grammar or
    lark changes.
    """
    import hashlib

    import lark

    from .cache import cache_dir

    base = cache_dir()
    if base is None:
        return False
    digest = hashlib.sha256(_grammar().encode()).hexdigest()[:16]
    return os.path.join(base, f"pointy-{lark.__version__}-{digest}.lark")


def _parser() -> tuple[Lark, GraphBuilder]:
    """This thread's LALR parser and the builder it calls, built on first use."""
    if _local.parser is None:
        builder = GraphBuilder()
        lark = Lark(
            _grammar(),
            parser="lalr",
            lexer="contextual",
            transformer=builder,
            lexer_callbacks={"LBRACE": builder.open_group, "LPAR": builder.open_group},
            cache=_cache_file(),
        )
        _local.parser = (lark, builder)
    return _local.parser


def parse(text: str, filename: str = "<text>") -> Graph:
    """Parse Pointy-lang ``text``; errors name ``filename``, line and column.

    This always parses; :func:`volnux.dsl.parse` first looks in the cache.
    """
    # An editor's byte-order mark is not part of the program; dropping it keeps
    # columns on line 1 as the author sees them.
    body = text[1:] if text.startswith("\ufeff") else text
    source = Source(body, filename)
    lark, builder = _parser()
    builder.reset(source)
    try:
        result: tuple[Block, tuple[tuple[str, str], ...]] = lark.parse(body)  # type: ignore[assignment]
    except UnexpectedInput as exc:
        raise _syntax_error(source, exc) from exc
    finally:
        builder.reset(Source("", filename))  # drop the text; it may be large
    root, directives = result
    return Graph(root=root, directives=directives, source=text, filename=filename)


# -- syntax errors -------------------------------------------------------------

# In the order messages list them; '*' only shows up alone (after `3` in `3 * A`).
_OPERATORS = {"ARROW": "'->'", "PIPE": "'|->'", "_PAR": "'||'"}
_CLOSERS = {
    "_COMMA": "','",
    "_RSQB": "']'",
    "RANGLE": "'>'",
    "RPAR": "')'",
    "RBRACE": "'}'",
    "$END": "the end of the workflow",
}
_DIRECTIVE_HEAD = re.compile(r"(@[A-Za-z_][A-Za-z0-9_-]*)?[ \t]*(:?)")
_VALUES = "a value (a quoted string, a number, true or false)"


def _syntax_error(source: Source, exc: UnexpectedInput) -> PointyError:
    """Reword a lark error in the language's terms, at the same position."""
    found, before, accepts = _replay(source, exc)
    expected = _expected(accepts, before)
    after = f" after {_describe(before)}" if before is not None else ""
    if isinstance(found, UnexpectedCharacters):
        line, column = found.line, found.column
        pos = found.pos_in_stream or 0
        char = source.text[pos]
        if char == '"':
            message = "unterminated string: the closing '\"' is missing"
        elif char == "@":
            message, shift = _at_sign(source.text, pos, before)
            column += shift
        else:
            message = f"unexpected character {_show(char)}"
            if expected:
                message += f"; expected {expected}{after}"
        return source.error(message, line, column)
    if not isinstance(found, UnexpectedToken):  # lark's LALR raises no other kind
        return source.error(f"expected {expected or 'something else'}{after}", *_at(found))
    token = found.token
    if token.type == "$END":
        line, column = _end_of(before)
        if before is None:
            return source.error("the workflow is empty: expected an event name", line, column)
    else:
        line, column = token.line or 1, token.column or 1
    if token.type == "DIRECTIVE" and "DIRECTIVE" not in accepts:
        message = "directives (@name: value) must come before the workflow"
    else:
        message = f"expected {expected or 'something else'}{after}"
    return source.error(message, line, column)


def _replay(source: Source, exc: UnexpectedInput) -> tuple[UnexpectedInput, Token | None, set[str]]:
    """Parse again, token by token, to learn what came before the error.

    Lark's errors do not say which token came before, and the terminals they
    list come from LALR states merged across contexts (so a top-level error
    could claim ')' would do). The replay asks the parser, in the state just
    before the offending token, which terminals it would really accept. It
    only runs on the error path.
    """
    failing = exc.token if isinstance(exc, UnexpectedToken) else None
    lark, builder = _parser()
    builder.reset(source)
    interactive = lark.parse_interactive(source.text)
    previous: Token | None = None
    current: Token | None = None
    accepts: set[str] | None = None
    try:
        for token in interactive.iter_parse():
            # Not yet fed: feeding it may reduce rules (on a merged lookahead)
            # before the parser notices the error, which would narrow the set.
            if failing is not None and token.start_pos == failing.start_pos:
                accepts = _accepts(interactive)
            previous, current = current, token
        accepts = _accepts(interactive)
        interactive.feed_eof(current)  # type: ignore[no-untyped-call]
    except UnexpectedInput as again:
        failed_on_current = isinstance(again, UnexpectedToken) and again.token is current
        before = previous if failed_on_current else current
        return again, before, _accepts(interactive) if accepts is None else accepts
    finally:
        builder.reset(Source("", source.filename))
    return exc, None, set()  # the first parse failed, so the replay always does


def _accepts(interactive: InteractiveParser) -> set[str]:
    return set(interactive.accepts())  # type: ignore[no-untyped-call]


def _at_sign(text: str, pos: int, before: Token | None) -> tuple[str, int]:
    """Why an '@' could not be read, and how far past it to put the caret."""
    if before is not None and before.type == "REF":
        return "a version goes right after the name, with no space: 'Name@1.2'", 0
    match = _DIRECTIVE_HEAD.match(text, pos)
    if match is None or not match[1]:
        return "unexpected character '@'", 0
    if not match[2]:
        return f"expected ':' after '{match[1]}'", match.end(1) - pos
    return f"expected a value after '{match[1]}:' on the same line", match.end() - pos


def _expected(accepts: set[str], before: Token | None) -> str:
    """What the parser would have accepted, in plain words."""
    if "REF" in accepts:
        return (
            "a workflow name" if before is not None and before.type == "LANGLE" else "an event name"
        )
    if "KEY" in accepts:
        return "an attribute name"
    if "STRING" in accepts:
        return _VALUES
    if "EQUAL" in accepts:
        return "'='"
    if "COUNT" in accepts:
        if before is not None and before.type == "STAR":
            return "a retry factor (a whole number, 2 or more)"
        return "a descriptor (a digit from 0 to 9)"
    words = [word for name, word in {**_OPERATORS, **_CLOSERS}.items() if name in accepts]
    if not words:
        return "'*'" if "STAR" in accepts else ""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _describe(token: Token) -> str:
    text = str(token)
    if token.type == "STRING" and len(text) > 24:
        return "the string"
    return f"'{text if len(text) <= 24 else text[:21] + '...'}'"


def _show(char: str) -> str:
    if not char.isprintable():
        return f"U+{ord(char):04X}"
    return f'"{char}"' if char == "'" else f"'{char}'"


def _at(exc: UnexpectedInput) -> tuple[int, int]:
    return max(exc.line, 1), max(exc.column, 1)


def _end_of(token: Token | None) -> tuple[int, int]:
    """Where the text ends after ``token``: the caret for 'expected ... after'."""
    if token is None or token.end_line is None or token.end_column is None:
        return 1, 1
    return token.end_line, token.end_column
