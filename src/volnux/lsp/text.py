"""The text of an open workflow as an editor sees it: tokens, and positions.

The parser reads a whole text or refuses it; an editor's text is mostly
half-written.  This module never refuses: :func:`tokenize` names every
character's token, so hover, completion and go-to-definition work on a line
the parser would reject, and diagnostics can underline a whole token where
the parser gives one column.

Positions: the parser counts lines by ``\\n`` and columns in characters
(code points); an LSP client counts columns in UTF-16 code units unless the
two sides agreed on another encoding at start-up.  :class:`Lines` converts,
in both directions.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["Lines", "Token", "classify", "token_at", "token_from", "tokenize"]

# The same tokens as grammar.lark's terminals, made tolerant: an unterminated
# string runs to the end of the text, a name may end in '.' or '@' while it is
# typed, and any other character is a token of its own ("other").
_TOKEN: Final = re.compile(
    r"""
    (?P<newline>\n)
    | (?P<space>[ \t\r\f\v]+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\[\s\S])*"?)
    | (?P<directive>@[A-Za-z_][A-Za-z0-9_-]*[ \t]*:[^\n#]*)
    | (?P<op>\|->|->|\|\||[*=,\[\]{}()])
    | (?P<number>[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?(?![A-Za-z_@]))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\.?(?:@[A-Za-z0-9_.]*)?)
    | (?P<other>[\s\S])
    """,
    re.VERBOSE,
)

#: Tokens that carry no meaning for the parser.
_QUIET: Final = frozenset({"newline", "space", "comment"})


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text, and where it starts and ends (offsets)."""

    #: ``newline``, ``space``, ``comment``, ``string``, ``directive``, ``op``,
    #: ``number``, ``name`` or ``other``.
    kind: str
    text: str
    start: int
    end: int
    #: For a ``name``: ``event``, ``key`` (an attribute's name) or ``value``
    #: (``true``, ``false``); "" for other kinds.
    role: str = ""

    @property
    def quiet(self) -> bool:
        """True for spaces, line breaks and comments."""
        return self.kind in _QUIET

    @property
    def name(self) -> str:
        """A reference's event name (without ``@version``)."""
        return self.text.partition("@")[0]

    @property
    def version(self) -> str | None:
        """A reference's version spec as written, or None when there is no ``@``."""
        _, at, version = self.text.partition("@")
        return version if at else None


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, in order, each name with its role (see :func:`classify`)."""
    found = [
        Token(m.lastgroup or "other", m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)
    ]
    return classify(found)


def classify(tokens: Sequence[Token]) -> list[Token]:
    """The tokens with each name's role: inside ``[...]`` a name before ``=`` is
    an attribute's ``key`` and one after it a ``value``; elsewhere an ``event``."""
    out: list[Token] = []
    in_attrs = False
    before = ""  # the text of the last token that is not quiet
    for token in tokens:
        if token.kind == "name":
            role = ("key" if before in ("[", ",") else "value") if in_attrs else "event"
            token = Token(token.kind, token.text, token.start, token.end, role)
        elif token.kind == "op" and token.text in "[]":
            in_attrs = token.text == "["
        if not token.quiet:
            before = token.text
        out.append(token)
    return out


def token_at(tokens: Sequence[Token], offset: int) -> Token | None:
    """The token under ``offset``, or the one that ends there (the word just typed)."""
    starts = [t.start for t in tokens]
    i = bisect.bisect_right(starts, offset) - 1
    if i < 0:
        return None
    token = tokens[i]
    if offset < token.end:
        if token.kind in ("space", "newline") and i > 0 and tokens[i - 1].end == offset:
            return tokens[i - 1]
        return token
    return token if offset == token.end else None


class Lines:
    """Offsets into a text, and the LSP positions (line, column in code units) they are at.

    ``encoding`` is the position encoding agreed with the client: ``utf-16``
    (the LSP default), ``utf-8`` or ``utf-32`` (columns in code points).
    """

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.encoding = encoding
        self._starts = [0]
        self._starts.extend(m.end() for m in re.finditer("\n", text))

    def __len__(self) -> int:
        return len(self._starts)

    def line(self, number: int) -> str:
        """Line ``number`` (0-based), without its line end."""
        if not 0 <= number < len(self._starts):
            return ""
        start = self._starts[number]
        end = self._starts[number + 1] - 1 if number + 1 < len(self._starts) else len(self.text)
        return self.text[start:end]

    def units(self, chars: str) -> int:
        """How many of the client's code units ``chars`` takes."""
        if self.encoding == "utf-32":
            return len(chars)
        if self.encoding == "utf-8":
            return len(chars.encode("utf-8", "surrogatepass"))
        return len(chars.encode("utf-16-le", "surrogatepass")) // 2

    def position(self, offset: int) -> tuple[int, int]:
        """The (line, column in code units), both 0-based, of ``offset``."""
        offset = max(0, min(offset, len(self.text)))
        number = bisect.bisect_right(self._starts, offset) - 1
        start = self._starts[number]
        return number, self.units(self.text[start:offset])

    def offset(self, line: int, column: int) -> int:
        """The offset of a client position (0-based line, column in code units)."""
        if line < 0:
            return 0
        if line >= len(self._starts):
            return len(self.text)
        start = self._starts[line]
        text = self.line(line)
        if self.encoding == "utf-32":
            return start + min(column, len(text))
        used = 0
        for i, char in enumerate(text):
            if used >= column:
                return start + i
            used += self.units(char)
        return start + len(text)

    def offset_of(self, line: int, column: int) -> int:
        """The offset of a parser position: 1-based line, 1-based column in characters."""
        if line < 1:
            return 0
        if line > len(self._starts):
            return len(self.text)
        start = self._starts[line - 1]
        return min(start + max(column, 1) - 1, start + len(self.line(line - 1)))


def token_from(text: str, offset: int) -> Token | None:
    """The token that starts at ``offset`` (its role is not known: ""), or None at the end."""
    if offset >= len(text):
        return None
    m = _TOKEN.match(text, offset)
    return Token(m.lastgroup or "other", m.group(), m.start(), m.end()) if m else None
