"""Pieces of the CLI's output: input parsing, traceback trimming, durations."""

from __future__ import annotations

import pytest

from volnux.cli.inputs import parse_inputs
from volnux.cli.report import format_seconds, trimmed_traceback
from volnux.errors import InputError


def test_parse_inputs_reads_json_values_and_keeps_other_text() -> None:
    assert parse_inputs(["n=3", "f=1.5", "ok=true", "s=hello", "l=[1]", "e=", "eq=a=b"]) == {
        "n": 3,
        "f": 1.5,
        "ok": True,
        "s": "hello",
        "l": [1],
        "e": "",
        "eq": "a=b",
    }


def test_parse_inputs_pairs_override_the_json_object() -> None:
    assert parse_inputs(["a=2"], '{"a": 1, "b": 1}') == {"a": 2, "b": 1}


@pytest.mark.parametrize(
    ("pairs", "json_text", "message"),
    [
        (["novalue"], None, "--input 'novalue' is not key=value"),
        (["=1"], None, "write --input name=VALUE"),
        ([], "3", "--input-json must be a JSON object, got a number"),
        ([], '"x"', "got a string"),
        ([], "null", "got null"),
        ([], "{", "--input-json is not valid JSON"),
    ],
)
def test_parse_inputs_rejects_malformed_arguments(
    pairs: list[str], json_text: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        parse_inputs(pairs, json_text)


def test_trimmed_traceback_keeps_the_events_frames_of_the_last_exception() -> None:
    from volnux.query import explain as report

    pkg = report._PACKAGE_DIR
    text = (
        "Traceback (most recent call last):\n"
        '  File "/app/events.py", line 3, in helper\n'
        "    return {}[x]\n"
        "KeyError: 'k'\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        f'  File "{pkg}/engine/attempt.py", line 51, in run_attempt\n'
        "    value = spec.call(ctx)\n"
        "            ^^^^^^^^^^^^^^\n"
        '  File "/app/events.py", line 9, in Charge\n'
        "    check(card)\n"
        '  File "/app/events.py", line 20, in check\n'
        '    raise RuntimeError("declined")\n'
        "RuntimeError: declined\n"
    )
    assert trimmed_traceback(text) == [
        'File "/app/events.py", line 9, in Charge',
        "  check(card)",
        'File "/app/events.py", line 20, in check',
        '  raise RuntimeError("declined")',
    ]
    assert trimmed_traceback(text, frames=1) == [
        'File "/app/events.py", line 20, in check',
        '  raise RuntimeError("declined")',
    ]
    assert trimmed_traceback("") == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (0.123, "0.12s"), (12.34, "12.3s"), (59.9, "59.9s"), (185, "3m05s")],
)
def test_format_seconds(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text
