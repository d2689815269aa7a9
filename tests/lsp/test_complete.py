"""Completion in each place of a workflow, without a server."""

from __future__ import annotations

from lsprotocol import types

import volnux
from volnux.engine.plan import GROUP_ATTRIBUTES, TASK_ATTRIBUTES
from volnux.events import EventRegistry
from volnux.lsp.complete import complete
from volnux.lsp.describe import ATTRIBUTES
from volnux.lsp.text import Lines


@volnux.event(version="1.0.0")
def Fetch() -> None:
    """Fetch the rows."""


@volnux.event(version="2.1.0")
def Store() -> None:
    """Store them."""


REGISTRY = EventRegistry([Fetch, Store])


def labels(text: str, cursor: str = "§") -> list[str]:
    offset = text.index(cursor)
    text = text.replace(cursor, "", 1)
    return [item.label for item in complete(text, offset, Lines(text), REGISTRY)]


def test_event_names_where_an_event_is_expected() -> None:
    events = ["Fetch", "Store"]
    assert labels("§") == events
    assert labels("Fetch -> §") == events
    assert labels("Fetch |-> St§") == events
    assert labels("Fetch || §") == events
    assert labels("Fetch -> (§") == events
    assert labels("Fetch -> {§") == events
    assert labels("Fetch {§") == events  # a brace always opens a group
    assert labels("3 * §") == events
    assert labels("Fetch\n    §") == events  # the start of a line
    assert labels("Fetch (0 -> §)") == events


def test_nothing_where_an_event_cannot_stand() -> None:
    assert labels("Fetch (§") == []  # a branch list: a descriptor comes next
    assert labels("Fetch * §") == []  # a retry count
    assert labels("Fetch # a comment §") == []
    assert labels('Fetch[k="§') == []
    assert labels("Fetch §") == []


def test_versions_after_the_at_sign_newest_first() -> None:
    assert labels("Fetch -> Store@§") == ["2.1.0", "latest"]
    assert labels("Fetch -> Unknown@§") == []


def test_attributes_not_yet_given_and_values() -> None:
    assert labels("Fetch[§") == list(TASK_ATTRIBUTES)
    assert "timeout" not in labels("Fetch[timeout=3, §")
    assert labels("(Fetch || Store)[§") == list(GROUP_ATTRIBUTES)
    assert labels("Fetch[executor=§")[:4] == ['"thread"', '"process"', '"asyncio"', '"dask"']
    assert labels("Fetch[result_evaluation_strategy=§]")[0] == '"all"'


def test_a_key_that_has_its_equals_sign_is_renamed_alone() -> None:
    text = "Fetch[ti=3]"
    items = complete(text, len("Fetch[ti"), Lines(text), REGISTRY)
    edits = {item.text_edit.new_text for item in items if item.text_edit is not None}
    assert edits >= {"timeout", "executor"}


def test_the_word_under_the_cursor_is_replaced_whole() -> None:
    text = "Fetch -> pay.Sto"
    (item, _) = complete(text, len(text), Lines(text), REGISTRY)
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.range.start.character == len("Fetch -> ")


def test_every_attribute_the_engine_reads_is_explained() -> None:
    assert set(ATTRIBUTES) == set(TASK_ATTRIBUTES) | set(GROUP_ATTRIBUTES)
