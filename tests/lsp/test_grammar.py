"""editors/vscode's TextMate grammar: it reads every sample, marks bad text, and
follows grammar.lark's terminals (a terminal added or changed there fails here)."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lark import Lark

from volnux.dsl.parser import parse
from volnux.errors import PointyError

from .textmate import Grammar, oniguruma_only

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "editors" / "vscode"
GRAMMAR = Grammar(
    json.loads((EXTENSION / "syntaxes" / "pointy.tmLanguage.json").read_text(encoding="utf-8"))
)
SAMPLES = sorted(
    [*(ROOT / "tests").rglob("*.pty"), *(ROOT / "examples").rglob("*.pty")],
    key=lambda p: str(p.relative_to(ROOT)),
)


def invalid(text: str) -> list[str]:
    """The runs of ``text`` the grammar marks invalid, as ``line:col 'text' scope``."""
    found = []
    for run in GRAMMAR.tokenize(text):
        bad = [s for s in run.scopes if s.startswith("invalid")]
        if bad:
            line = text.count("\n", 0, run.start) + 1
            column = run.start - (text.rfind("\n", 0, run.start) + 1) + 1
            found.append(f"{line}:{column} {run.text!r} {bad[0]}")
    return found


def test_the_regexes_mean_the_same_to_python_and_oniguruma() -> None:
    patterns = list(GRAMMAR.regexes())
    assert len(patterns) > 20
    for pattern in patterns:
        re.compile(pattern)
        assert oniguruma_only(pattern) == [], pattern


def test_the_samples_are_found() -> None:
    names = {p.name for p in SAMPLES}
    assert {"orders.pty", "payments_versioned.pty", "windows_line_ends.pty"} <= names


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_sample_tokenises_without_an_invalid_token(sample: Path) -> None:
    text = sample.read_text(encoding="utf-8")
    assert invalid(text) == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("A -> $B", "'$'"),
        ("A[k=1]] -> B", "']'"),
        ('A[k="\\q"]', "'\\\\q'"),
        ("A @1.2", "'@'"),
        ("A -> B;", "';'"),
        ("A[k=1 ! 2]", "'!'"),
    ],
)
def test_bad_text_is_marked_invalid(text: str, bad: str) -> None:
    found = invalid(text)
    assert len(found) == 1 and bad in found[0], found


# -- the lark grammar's terminals ------------------------------------------------

#: grammar.lark's terminals: (where a token of it stands, with {} for it; the scope
#: the TextMate grammar must give every character of it; fixed samples for the
#: terminals that are regexes: a literal's sample is the literal itself).
TERMINALS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "REF": [
        (
            "{} -> B",
            "meta.event-reference.pointy",
            ("Charge", "payments.Charge", "Charge@1.2.3", "Charge@v1", "a_b.C9@latest"),
        ),
        ("A || {}", "meta.event-reference.pointy", ("Charge@1.4",)),
    ],
    "KEY": [("A[{}=1]", "variable.parameter.attribute.pointy", ("timeout", "_k9", "true"))],
    "COUNT": [
        ("A * {}", "constant.numeric.integer.retry.pointy", ("3", "12")),
        ("{} * A", "constant.numeric.integer.retry.pointy", ("2",)),
        ("A ({} -> B)", "constant.numeric.integer.descriptor.pointy", ("0", "7")),
        ("A (1 -> B, {} |-> C)", "constant.numeric.integer.descriptor.pointy", ("0",)),
    ],
    "NUMBER": [("A[k={}]", "constant.numeric.pointy", ("3", "-7", "2.5", ".5", "1e3", "+4.E-2"))],
    "STRING": [
        (
            "A[k={}]",
            "string.quoted.double.pointy",
            ('"EUR"', '""', '"say \\"hi\\""', '"tab\\t\\u00e9\\/"', '"two\nlines"'),
        )
    ],
    "TRUE": [("A[k={}]", "constant.language.boolean.pointy", ())],
    "FALSE": [("A[k={}]", "constant.language.boolean.pointy", ())],
    "DIRECTIVE": [
        (
            "{}\nA",
            "meta.directive.pointy",
            ("@mode: CFG", "@mode:DAG", '@mode: "DAG"', "@recursive-depth: 3000"),
        )
    ],
    "ARROW": [("A {} B", "keyword.operator.sequence.pointy", ())],
    "PIPE": [("A {} B", "keyword.operator.pipe.pointy", ())],
    "_PAR": [("A {} B", "keyword.operator.parallel.pointy", ())],
    "STAR": [
        ("A {} 3", "keyword.operator.retry.pointy", ()),
        ("3 {} A", "keyword.operator.retry.pointy", ()),
    ],
    "EQUAL": [("A[k{}1]", "keyword.operator.assignment.pointy", ())],
    "_COMMA": [
        ("A[a=1{} b=2]", "punctuation.separator.comma.pointy", ()),
        ("A (0 -> B{} 1 -> C)", "punctuation.separator.comma.pointy", ()),
    ],
    "LSQB": [("A{}k=1]", "punctuation.section.attributes.begin.pointy", ())],
    "_RSQB": [("A[k=1{}", "punctuation.section.attributes.end.pointy", ())],
    "LBRACE": [("{}A -> B}", "punctuation.section.braces.begin.pointy", ())],
    "RBRACE": [("{A -> B{}", "punctuation.section.braces.end.pointy", ())],
    "LPAR": [("{}A || B)", "punctuation.section.parens.begin.pointy", ())],
    "_BRANCH_OPEN": [("A {}0 -> B)", "punctuation.section.parens.begin.pointy", ())],
    "RPAR": [("(A || B{}", "punctuation.section.parens.end.pointy", ())],
    "LANGLE": [("A -> {}orders@1.2> -> B", "punctuation.section.workflow.begin.pointy", ())],
    "RANGLE": [("A -> <orders{} |-> B", "punctuation.section.workflow.end.pointy", ())],
    "COMMENT": [("A  {}\n-> B", "comment.line.number-sign.pointy", ("# why", "#", "#!ok ->"))],
    # Spaces take no scope of their own.
    "WS": [],
}


def _terminals() -> dict[str, str | re.Pattern[str]]:
    text = resources.files("volnux.dsl").joinpath("grammar.lark").read_text("utf-8")
    lark = Lark(text, parser="lalr", lexer="contextual")
    found: dict[str, str | re.Pattern[str]] = {}
    for terminal in lark.terminals:
        pattern = terminal.pattern
        if type(pattern).__name__ == "PatternStr":
            found[terminal.name] = pattern.value
        else:
            found[terminal.name] = re.compile(pattern.to_regexp())
    return found


LARK = _terminals()


def scoped(template: str, sample: str, scope: str) -> list[str]:
    """The characters of ``sample`` (put in ``template``) that lack ``scope``."""
    text = template.replace("{}", sample)
    at = template.index("{}")
    scopes = GRAMMAR.scopes_at(text)
    return [
        f"{sample[i]!r} at {i}: {scopes[at + i]}"
        for i in range(len(sample))
        if scope not in scopes[at + i] and not sample[i].isspace()
    ]


def test_every_terminal_of_grammar_lark_has_its_place_here() -> None:
    changed = "grammar.lark's terminals changed: update the TextMate grammar and TERMINALS"
    assert set(TERMINALS) == set(LARK), changed


@pytest.mark.parametrize("name", sorted(TERMINALS))
def test_the_textmate_grammar_scopes_each_terminal(name: str) -> None:
    pattern = LARK[name]
    for template, scope, fixed in TERMINALS[name]:
        samples = (pattern,) if isinstance(pattern, str) else fixed
        for sample in samples:
            if not isinstance(pattern, str):
                assert pattern.fullmatch(sample), f"{sample!r} is not a {name} any more"
            text = template.replace("{}", sample)
            parse(text)  # the sample stands where the language takes it
            assert scoped(template, sample, scope) == [], text
            assert invalid(text) == [], text


#: Terminals whose every token the parser takes (in these places) the TextMate grammar scopes.
GENERATED = {
    "REF": ("{} -> B", "meta.event-reference.pointy"),
    "KEY": ("A[{}=1]", "variable.parameter.attribute.pointy"),
    "NUMBER": ("A[k={}]", "constant.numeric.pointy"),
    "STRING": ("A[k={}]", "string.quoted.double.pointy"),
    "COUNT": ("A * {}", "constant.numeric.integer.retry.pointy"),
    "COMMENT": ("A  {}\n-> B", "comment.line.number-sign.pointy"),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_what_the_parser_takes_is_scoped(name: str, data: st.DataObject) -> None:
    pattern = LARK[name]
    assert isinstance(pattern, re.Pattern)
    template, scope = GENERATED[name]
    sample = data.draw(st.from_regex(pattern, fullmatch=True))
    text = template.replace("{}", sample)
    try:
        parse(text)
    except PointyError:
        assume(False)  # lexed, then refused (an unknown escape, a version like 1..2)
    assert scoped(template, sample, scope) == [], text
    assert invalid(text) == [], text


def test_the_extension_declares_the_language_and_the_grammar() -> None:
    package = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    (language,) = package["contributes"]["languages"]
    assert language["id"] == "pointy" and ".pty" in language["extensions"]
    (grammar,) = package["contributes"]["grammars"]
    assert grammar["language"] == "pointy"
    assert grammar["scopeName"] == GRAMMAR.scope == "source.pointy"
    assert (EXTENSION / grammar["path"]).is_file()
    assert (EXTENSION / package["main"]).is_file()
    configuration = json.loads((EXTENSION / language["configuration"]).read_text(encoding="utf-8"))
    assert configuration["comments"] == {"lineComment": "#"}
    assert ["[", "]"] in configuration["brackets"]
