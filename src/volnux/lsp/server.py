"""The language server: pygls over stdio, wired to this package's checks.

What it offers an editor: diagnostics on open and on every change
(:mod:`.diagnostics`), hover on an event, an attribute or an operator,
completion (:mod:`.complete`), go-to-definition of an event (its class or
function), formatting as ``volnux fmt`` does it (comments kept), and quick
fixes for a misspelt event name.

Changes can come faster than a 1,000-line workflow is checked, so checks
run on a thread of their own, one at a time: a file changed five times
while one check ran is checked once more, on its newest text, and hover or
completion need not wait for a check to end.  The events of each project
are loaded once (:class:`~.project.Projects`, which is safe to share
between the two threads).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from ..errors import EventNotFound, PointyError
from .complete import complete
from .describe import ATTRIBUTES, OPERATORS, describe_event, where_defined
from .diagnostics import SOURCE, diagnose, lsp_range
from .project import Project, Projects
from .text import Lines, Token, token_at, tokenize

__all__ = ["make_server", "serve"]

log = logging.getLogger(__name__)

#: Typed characters after which the editor asks for completions.
TRIGGERS = [">", "|", "@", "[", ",", "=", "(", "{"]


class PointyServer(LanguageServer):
    """A pygls server that knows Pointy-lang and the projects' events."""

    def __init__(self, events: Sequence[str] = ()) -> None:
        super().__init__("volnux", _version())
        #: Every project seen, by configuration file.
        self.projects = Projects(events)
        # Checks run one at a time on a thread of their own, so that the loop
        # goes on reading the editor's messages while a long text is checked:
        # edits that arrive meanwhile are checked once, on the newest text.
        self._checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="volnux-lsp-check")
        self._running: set[str] = set()
        self._again: set[str] = set()

    def encoding(self) -> str:
        """The position encoding agreed with the client (``utf-16`` unless it chose another)."""
        chosen = self.server_capabilities.position_encoding or types.PositionEncodingKind.Utf16
        return chosen.value if isinstance(chosen, types.PositionEncodingKind) else chosen

    def lines(self, document: TextDocument) -> Lines:
        """The document's text, positioned in the encoding agreed with the client."""
        return Lines(document.source, self.encoding())

    def project(self, document: TextDocument) -> Project:
        """The project the document belongs to (its events loaded, or why not)."""
        return self.projects.for_file(Path(document.path) if document.path else None)

    def queue(self, uri: str) -> None:
        """Check the open document at ``uri``, now or, if a check of it runs, right after."""
        if uri in self._running:
            self._again.add(uri)
            return
        document = self.workspace.text_documents.get(uri)
        if document is None:  # closed meanwhile
            return
        self._running.add(uri)
        # The text is read here, on the loop's thread, where edits are applied.
        job = self._checker.submit(
            self._check,
            document.source,
            document.path,
            uri,
            document.version,
            self.encoding(),
        )
        loop = asyncio.get_running_loop()
        job.add_done_callback(lambda done: loop.call_soon_threadsafe(self._checked, uri, done))

    def forget(self, uri: str) -> None:
        """The document was closed: its diagnostics go, and no check of it is published."""
        self._again.discard(uri)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    def _check(
        self, text: str, path: str | None, uri: str, version: int | None, encoding: str
    ) -> types.PublishDiagnosticsParams:
        # A check of a long text builds many objects that live until it ends,
        # and they set off collections of the oldest generation: on bench/lsp.py's
        # dense text (2,000 tasks, a check of about 110 ms), one check in six
        # met one, some 45 ms long.  They wait until the diagnostics are out
        # (``_checked``), in the pause before the next keystroke.
        gc.disable()
        project = self.projects.for_file(Path(path) if path else None)
        found = diagnose(text, path or uri, project, Lines(text, encoding))
        return types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=version)

    def _checked(self, uri: str, done: Future[types.PublishDiagnosticsParams]) -> None:
        self._running.discard(uri)
        try:
            result = done.result()
        except Exception:  # a bug here must not stop the server: say so, and go on
            log.exception("checking %s failed", uri)
        else:
            if uri in self.workspace.text_documents:
                self.text_document_publish_diagnostics(result)
        finally:
            gc.enable()
        if uri in self._again:
            self._again.discard(uri)
            self.queue(uri)


def make_server(events: Sequence[str] = ()) -> PointyServer:
    """A server with every feature registered; ``events`` are extra sources for all files."""
    server = PointyServer(events)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        server.queue(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        server.queue(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        server.queue(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.forget(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def files_changed(params: types.DidChangeWatchedFilesParams) -> None:
        # An events file or volnux.toml was saved: every open workflow may read otherwise.
        for uri in list(server.workspace.text_documents):
            server.queue(uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams) -> types.Hover | None:
        document = server.workspace.get_text_document(params.text_document.uri)
        lines = server.lines(document)
        token = _token_under(lines, params.position)
        if token is None:
            return None
        if token.role == "event":
            registry = server.project(document).registry
            if registry is None:
                return None
            try:
                spec = registry.resolve(token.name, token.version)
            except EventNotFound as exc:
                text = exc.message
            else:
                text = describe_event(registry, spec)
        elif token.role == "key" and token.text in ATTRIBUTES:
            text = f"**{token.text}**\n\n{ATTRIBUTES[token.text]}"
        elif token.kind == "op" and token.text in OPERATORS:
            text = OPERATORS[token.text]
        else:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
            range=lsp_range(lines, token.start, token.end),
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(params: types.DefinitionParams) -> types.Location | None:
        document = server.workspace.get_text_document(params.text_document.uri)
        token = _token_under(server.lines(document), params.position)
        registry = server.project(document).registry
        if token is None or token.role != "event" or registry is None:
            return None
        try:
            spec = registry.resolve(token.name, token.version)
        except EventNotFound:
            return None
        found = where_defined(spec)
        if found is None:
            return None
        path, line = found
        start = types.Position(line=line, character=0)
        return types.Location(uri=Path(path).as_uri(), range=types.Range(start, start))

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=TRIGGERS)
    )
    def completion(params: types.CompletionParams) -> types.CompletionList:
        document = server.workspace.get_text_document(params.text_document.uri)
        lines = server.lines(document)
        offset = lines.offset(params.position.line, params.position.character)
        registry = server.project(document).registry
        items = complete(document.source, offset, lines, registry)
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
        from ..dsl import format_text

        document = server.workspace.get_text_document(params.text_document.uri)
        text = document.source
        try:
            formatted = format_text(text, document.path or params.text_document.uri)
        except PointyError:
            return None  # a text that does not parse is left as it is; its diagnostic says why
        if formatted == text:
            return []
        lines = server.lines(document)
        return [types.TextEdit(range=lsp_range(lines, 0, len(text)), new_text=formatted)]

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        actions = []
        for diagnostic in params.context.diagnostics:
            data = diagnostic.data
            if diagnostic.source != SOURCE or not isinstance(data, dict):
                continue
            for i, name in enumerate(data.get("suggestions", [])):
                edit = types.TextEdit(range=diagnostic.range, new_text=name)
                actions.append(
                    types.CodeAction(
                        title=f"Change to {name}",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=i == 0,
                        edit=types.WorkspaceEdit(changes={params.text_document.uri: [edit]}),
                    )
                )
        return actions

    return server


def _token_under(lines: Lines, position: types.Position) -> Token | None:
    offset = lines.offset(position.line, position.character)
    end = lines.text.find("\n", offset)
    # The text up to the end of the line is enough to tell a name's role.
    tokens = tokenize(lines.text[: end if end != -1 else len(lines.text)])
    return token_at(tokens, offset)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("volnux")
    except PackageNotFoundError:
        return "0"


def serve(events: Sequence[str] = ()) -> None:
    """Serve the editor on stdin and stdout until it says exit."""
    handler = logging.StreamHandler()  # stderr: stdout carries the protocol
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    package = logging.getLogger(__package__)
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    make_server(events).start_io()
