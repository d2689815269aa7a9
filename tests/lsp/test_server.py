"""``volnux lsp`` driven over stdio by a real LSP client (pytest-lsp), as an editor drives it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from volnux.dsl import format_text

from .support import EVENTS, definition_line, make_project, write_events

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "volnux", "lsp"])

# One server for the module (it starts in about a second); each test has a project of its own.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
    )
    yield
    await lsp_client.shutdown_session()


async def opened(client: LanguageClient, path: Path, text: str) -> list[types.Diagnostic]:
    """Open ``path`` holding ``text``; the diagnostics the server publishes for it."""
    path.write_text(text, encoding="utf-8")
    client.diagnostics.pop(path.as_uri(), None)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=path.as_uri(), language_id="pointy", version=1, text=text)
        )
    )
    return await published(client, path)


async def published(client: LanguageClient, path: Path) -> list[types.Diagnostic]:
    """The next diagnostics published for ``path`` (others' may come first: the
    server is shared by the module's tests, and their documents stay open)."""
    uri = path.as_uri()
    while uri not in client.diagnostics:
        await asyncio.wait_for(
            client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 30
        )
    return list(client.diagnostics[uri])


async def changed(
    client: LanguageClient, path: Path, text: str, version: int = 2
) -> list[types.Diagnostic]:
    """Replace the whole text of the open ``path``; the diagnostics published for it."""
    client.diagnostics.pop(path.as_uri(), None)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return await published(client, path)


def span(d: types.Diagnostic) -> tuple[int, int, int, int]:
    r = d.range
    return (r.start.line, r.start.character, r.end.line, r.end.character)


Place = tuple[types.TextDocumentIdentifier, types.Position]


def at(path: Path, line: int, character: int) -> Place:
    """A place in ``path``: the first two fields of a hover, completion or definition request."""
    return types.TextDocumentIdentifier(uri=path.as_uri()), types.Position(line, character)


async def test_unknown_events_versions_attributes_and_syntax_are_underlined(
    client: LanguageClient, tmp_path: Path
) -> None:
    flow = make_project(tmp_path) / "flow.pty"
    text = (
        "# charge, then tell\n"
        "Charge@1.2 -> Chrage -> Charge@9\n"
        "    -> OldCharge -> Notify[timout=5]\n"
    )
    found = {d.code: d for d in await opened(client, flow, text)}
    assert set(found) == {"unknown-event", "unknown-version", "attribute", "deprecated"}

    unknown = found["unknown-event"]
    assert unknown.message.startswith("unknown event 'Chrage'; did you mean Charge")
    assert span(unknown) == (1, 14, 1, 20)
    assert unknown.severity == types.DiagnosticSeverity.Error
    assert unknown.source == "volnux"

    version = found["unknown-version"]
    assert "no version of Charge matches @9" in version.message
    assert span(version) == (1, 31, 1, 32)  # the version, not the name

    attribute = found["attribute"]
    assert attribute.message == "Notify: unknown attribute 'timout'; did you mean 'timeout'?"
    assert span(attribute) == (2, 27, 2, 35)  # timout=5

    deprecated = found["deprecated"]
    assert deprecated.severity == types.DiagnosticSeverity.Warning
    assert deprecated.message.startswith("OldCharge@1.0.0 is deprecated: charges twice")
    assert list(deprecated.tags or ()) == [types.DiagnosticTag.Deprecated]
    assert span(deprecated) == (2, 7, 2, 16)

    # A syntax error: the parser's message, at its position, over the token there.
    broken = "Charge ->\n  -> Notify\n"
    (syntax,) = await changed(client, flow, broken)
    assert syntax.code == "syntax"
    assert syntax.message == "expected an event name after '->'"
    assert span(syntax) == (1, 2, 1, 4)

    assert await changed(client, flow, "Charge -> Notify\n", version=3) == []


async def test_completion_offers_events_versions_and_attributes(
    client: LanguageClient, tmp_path: Path
) -> None:
    flow = make_project(tmp_path) / "flow.pty"
    text = "Charge -> \nCharge@\nNotify[timeout=3, \n"
    await opened(client, flow, text)

    after_arrow = await client.text_document_completion_async(
        types.CompletionParams(*at(flow, 0, 10))
    )
    assert after_arrow is not None
    items = after_arrow.items if isinstance(after_arrow, types.CompletionList) else after_arrow
    assert [i.label for i in items] == ["Charge", "Notify", "OldCharge"]
    old = next(i for i in items if i.label == "OldCharge")
    assert list(old.tags or ()) == [types.CompletionItemTag.Deprecated]

    versions = await client.text_document_completion_async(types.CompletionParams(*at(flow, 1, 7)))
    assert isinstance(versions, types.CompletionList)
    assert [i.label for i in versions.items] == ["1.2.0", "1.0.0", "latest"]

    attributes = await client.text_document_completion_async(
        types.CompletionParams(*at(flow, 2, 18))
    )
    assert isinstance(attributes, types.CompletionList)
    labels = [i.label for i in attributes.items]
    assert "retry_attempts" in labels and "executor" in labels
    assert "timeout" not in labels  # already given


async def test_hover_shows_what_events_show_knows(client: LanguageClient, tmp_path: Path) -> None:
    flow = make_project(tmp_path) / "flow.pty"
    await opened(client, flow, "Charge -> Notify[timeout=5]\n")

    hover = await client.text_document_hover_async(types.HoverParams(*at(flow, 0, 2)))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert text.startswith("**Charge@1.2.0**")
    assert "Charge(amount: float = 0.0) -> dict" in text
    assert "Charge the customer's card." in text
    assert "A declined card fails the attempt." in text
    assert "(loaded: 1.0.0, 1.2.0)" in text
    assert "max_attempts=3, delay_s=2.0" in text
    assert "1.2.0: rounds to whole cents" in text
    assert f"file {tmp_path / 'events.py'}" in text
    assert hover.range == types.Range(types.Position(0, 0), types.Position(0, 6))

    on_attribute = await client.text_document_hover_async(types.HoverParams(*at(flow, 0, 19)))
    assert on_attribute is not None and isinstance(on_attribute.contents, types.MarkupContent)
    assert on_attribute.contents.value.startswith("**timeout**")


async def test_definition_goes_to_the_event_source(client: LanguageClient, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    flow = project / "flow.pty"
    await opened(client, flow, "Charge@1.2 -> Notify\n")
    found = await client.text_document_definition_async(types.DefinitionParams(*at(flow, 0, 3)))
    assert isinstance(found, types.Location)
    assert found.uri == (project / "events.py").resolve().as_uri()
    assert found.range.start.line == definition_line(EVENTS, "charge_v12")


async def test_formatting_is_volnux_fmt_and_keeps_comments(
    client: LanguageClient, tmp_path: Path
) -> None:
    flow = make_project(tmp_path) / "flow.pty"
    text = "# Orders\nCharge|->Notify   # hand the charge on\n    ->OldCharge||Charge@1.0\n"
    await opened(client, flow, text)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=flow.as_uri()),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert edits is not None and len(edits) == 1
    expected = "# Orders\nCharge |-> Notify  # hand the charge on\n    -> OldCharge || Charge@1.0\n"
    assert edits[0].new_text == expected == format_text(text)
    assert edits[0].range == types.Range(types.Position(0, 0), types.Position(3, 0))


async def test_a_broken_events_file_is_one_diagnostic_until_it_is_fixed(
    client: LanguageClient, tmp_path: Path
) -> None:
    project = make_project(tmp_path, events="import volnux\n\nraise RuntimeError('half-written')\n")
    flow = project / "flow.pty"
    (problem,) = await opened(client, flow, "Chrage -> Notify\n")
    assert problem.code == "events"
    assert span(problem) == (0, 0, 0, 0)
    assert "failed to import: RuntimeError: half-written" in problem.message
    assert str(project / "volnux.toml") in problem.message

    # Saved fixed: the editor says a watched file changed; the server loads the
    # events again and checks the open workflow, which has a typo.
    write_events(project, EVENTS)
    client.diagnostics.pop(flow.as_uri(), None)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            [types.FileEvent((project / "events.py").as_uri(), types.FileChangeType.Changed)]
        )
    )
    (unknown,) = await published(client, flow)
    assert unknown.code == "unknown-event"


async def test_quick_fix_replaces_a_misspelt_event(client: LanguageClient, tmp_path: Path) -> None:
    flow = make_project(tmp_path) / "flow.pty"
    (unknown,) = await opened(client, flow, "Notfy\n")
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=flow.as_uri()),
            range=unknown.range,
            context=types.CodeActionContext(diagnostics=[unknown]),
        )
    )
    assert actions is not None
    first = actions[0]
    assert isinstance(first, types.CodeAction) and first.title == "Change to Notify"
    assert first.edit is not None and first.edit.changes is not None
    assert first.edit.changes[flow.as_uri()][0].new_text == "Notify"


async def test_without_a_project_only_syntax_is_checked(
    client: LanguageClient, tmp_path: Path
) -> None:
    flow = tmp_path / "flow.pty"
    assert await opened(client, flow, "Anything -> AtAll\n") == []
    (syntax,) = await changed(client, flow, "A -> -> B\n")
    assert syntax.code == "syntax"
