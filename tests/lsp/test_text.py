"""The editor's view of a text: tolerant tokens, and LSP positions in each encoding."""

from __future__ import annotations

import pytest

from volnux.lsp.text import Lines, token_at, tokenize


def test_names_get_their_role_from_where_they_stand() -> None:
    tokens = [t for t in tokenize('A@1.2[k=true, n="x"] -> pay.B') if t.kind == "name"]
    assert [(t.text, t.role) for t in tokens] == [
        ("A@1.2", "event"),
        ("k", "key"),
        ("true", "value"),
        ("n", "key"),
        ("pay.B", "event"),
    ]
    assert (tokens[0].name, tokens[0].version) == ("A", "1.2")
    assert tokens[-1].version is None


def test_half_written_text_still_tokenizes() -> None:
    kinds = [t.kind for t in tokenize('pay. -> Charge@ -> "open')]
    assert kinds == ["name", "space", "op", "space", "name", "space", "op", "space", "string"]
    assert [t.kind for t in tokenize("A $ B")] == ["name", "space", "other", "space", "name"]


def test_the_token_under_the_cursor_includes_the_word_just_typed() -> None:
    tokens = tokenize("Charge -> No")

    def text_at(offset: int) -> str | None:
        token = token_at(tokens, offset)
        return token.text if token is not None else None

    assert [text_at(0), text_at(6), text_at(8), text_at(12)] == ["Charge", "Charge", "->", "No"]
    assert text_at(13) is None


@pytest.mark.parametrize(
    ("encoding", "column"),
    [("utf-16", 11), ("utf-8", 14), ("utf-32", 10)],
)
def test_columns_are_counted_in_the_agreed_encoding(encoding: str, column: int) -> None:
    text = 'A[n="😀é"]\nA[n="😀é", b=1]'
    lines = Lines(text, encoding)
    b = text.index("b=")
    assert lines.position(b) == (1, column)
    assert lines.offset(1, column) == b
    assert lines.position(len(text)) == (1, lines.units(lines.line(1)))


def test_parser_positions_are_lines_and_characters_from_one() -> None:
    lines = Lines("A ->\n  B\r\n-> C")
    assert lines.offset_of(2, 3) == 7
    assert lines.offset_of(9, 1) == len(lines.text)
    assert lines.line(1) == "  B\r"
