"""``volnux fmt``'s formatting: canonical spacing, the author's lines and comments kept."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from volnux.dsl import format_graph, format_text, parse
from volnux.errors import PointyError
from volnux.graph import Graph

from .test_dsl_properties import SAMPLES, SETTINGS, graphs, mutated_samples, texts

_STRING = re.compile(r'"(?:[^"\\]|\\[\s\S])*"')
_COMMENT = re.compile(r"#[^\n]*")


def comments(text: str) -> list[str]:
    """The comments of a text, in order, trailing spaces cut (strings left out)."""
    return [c.rstrip() for c in _COMMENT.findall(_STRING.sub('""', text))]


def test_full_line_and_end_of_line_comments_stay_where_they_were() -> None:
    text = (
        "# Orders: from the CSV to the ledger.\n"
        "@mode:DAG\n"
        "\n\n\n"
        "Fetch|->Validate   # rows without an id are dropped   \n"
        "    # pricing runs beside enrichment\n"
        "    ->Price||Enrich\n"
        '    -> Charge[retries=3,note="a # not a comment"]*2 (0->Refund,1|->Ship)  #money\n'
        "\n"
        "# the end\n"
    )
    assert format_text(text) == (
        "# Orders: from the CSV to the ledger.\n"
        "@mode: DAG\n"
        "\n"
        "Fetch |-> Validate  # rows without an id are dropped\n"
        "    # pricing runs beside enrichment\n"
        "    -> Price || Enrich\n"
        '    -> Charge[retries=3, note="a # not a comment"] * 2 (0 -> Refund, 1 |-> Ship)  #money\n'
        "\n"
        "# the end\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A->B", "A -> B\n"),
        ("3*A", "3 * A\n"),
        (
            '( A||B )[result_evaluation_strategy="any"]->C',
            '(A || B)[result_evaluation_strategy="any"] -> C\n',
        ),
        ("{ A -> B }*2(0->C)", "{A -> B} * 2 (0 -> C)\n"),
        ("A(0->(B||C),1->{D})", "A (0 -> (B || C), 1 -> {D})\n"),
        ("((A||B)->C)", "((A || B) -> C)\n"),
        ("A[x=-1.5e-3, y=true]", "A[x=-1.5e-3, y=true]\n"),
        ("Charge@1.2 -> pay.Refund@v2", "Charge@1.2 -> pay.Refund@v2\n"),
        ("\n\n  A -> B  \n\n", "  A -> B\n"),
        ("A\r\n-> B\r\n", "A\n-> B\n"),
    ],
)
def test_spacing_inside_a_line_is_canonical(text: str, expected: str) -> None:
    assert format_text(text) == expected
    assert format_text(expected) == expected


def test_a_one_line_file_without_comments_is_what_format_graph_writes() -> None:
    for text in ("A->B||C", "@mode:DAG\n\nA |->B"):
        assert format_text(text) == format_graph(parse(text))


def test_text_that_does_not_parse_is_a_pointy_error() -> None:
    with pytest.raises(PointyError, match=r"bad\.pty:1:"):
        format_text("A -> ", "bad.pty")


def _keeps_meaning_and_comments(text: str) -> None:
    formatted = format_text(text, "t.pty")
    assert parse(formatted) == parse(text)
    assert format_text(formatted, "t.pty") == formatted  # a second pass changes nothing
    assert comments(formatted) == comments(text)
    assert not re.search(r"[ \t]\n", formatted) and "\n\n\n" not in formatted


def test_every_sample_keeps_its_meaning_and_its_comments() -> None:
    for text in SAMPLES:
        _keeps_meaning_and_comments(text)


@SETTINGS
@given(graphs(), st.data())
def test_generated_workflows_broken_over_lines_with_comments(
    graph: Graph, data: st.DataObject
) -> None:
    text = format_graph(graph)
    outside = _STRING.sub('""', text)
    assume(outside.count(" -> ") == text.count(" -> ") and "#" not in text)
    pieces = text.split(" -> ")
    out = pieces[0]
    for piece in pieces[1:]:
        out += data.draw(
            st.sampled_from([" -> ", "->", "\n  -> ", " ->  # why\n    ", "\n# note\n->"])
        )
        out += piece
    _keeps_meaning_and_comments(out)


@SETTINGS
@given(st.one_of(mutated_samples(), texts))
def test_whatever_parses_formats_to_the_same_workflow(text: str) -> None:
    try:
        parse(text)
    except PointyError:
        return
    _keeps_meaning_and_comments(text)
