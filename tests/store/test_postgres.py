"""The PostgreSQL journal: what the contract suite does not cover.

URLs and options, schemas and migrations, passwords never shown, hostile
text, several connections (processes) on one journal, fencing, and a lost
session.  The contract suite (test_contract.py) runs against it too.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volnux.errors import (
    CorruptStoreError,
    Fenced,
    JournalNotFound,
    RunClaimed,
    RunNotFound,
    StoreError,
)
from volnux.states import RunState, TaskState
from volnux.store.base import ErrorInfo, EventPin, LogEntry, RunNote
from volnux.store.open import open_store
from volnux.store.postgres import PostgresJournal
from volnux.store.postgres.migrations import LATEST_VERSION, MIGRATIONS, prepare_schema
from volnux.store.postgres.url import parse_url
from volnux.store.sqlite.migrations import Migration

from .factories import make_run, make_task

Admin = Any  # a psycopg connection (autocommit)
NewURL = Callable[[], str]


def schema_of(url: str) -> str:
    return url.rpartition("schema=")[2]


def schema_exists(admin: Admin, schema: str) -> bool:
    found = admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return found is not None


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------- URLs


def test_a_url_names_the_server_the_schema_and_the_commit_mode() -> None:
    target = parse_url("postgresql://alice@db.example:5433/prod")
    assert (target.schema, target.synchronous_commit) == ("volnux", "on")
    assert target.conninfo == "postgresql://alice@db.example:5433/prod"
    assert target.location == "postgresql://alice@db.example:5433/prod?schema=volnux"
    target = parse_url(
        "postgres://db/prod?schema=runs_2&synchronous_commit=OFF&sslmode=require"
        "&application_name=volnux-test"
    )
    assert (target.schema, target.synchronous_commit) == ("runs_2", "off")
    # libpq's options go to libpq as written; ours do not.
    assert target.conninfo == "postgres://db/prod?sslmode=require&application_name=volnux-test"
    assert target.location == "postgres://db/prod?schema=runs_2"
    # libpq's options that say where the journal is are shown with it.
    target = parse_url("postgresql:///?service=prod&sslmode=require&host=/run/pg")
    assert target.location == "postgresql:///?service=prod&host=/run/pg&schema=volnux"
    for value in ("on", "off", "local", "remote_write", "remote_apply"):
        assert parse_url(f"postgresql:///db?synchronous_commit={value}").synchronous_commit == value
    # Keywords win over the URL (PostgresJournal(url, schema=...)).
    assert parse_url("postgresql://h/db?schema=a", schema="b").schema == "b"


@pytest.mark.parametrize(
    "name",
    ["", "Volnux", "1runs", "a-b", "a b", 'x"; DROP SCHEMA public CASCADE; --', "a" * 64,
     "pg_volnux", "ünï", "runs$"],
)  # fmt: skip
def test_schema_names_are_checked(name: str) -> None:
    with pytest.raises(StoreError, match="schema name"):
        parse_url(f"postgresql://h/db?schema={quote(name)}")


@pytest.mark.parametrize("option", ["schemas", "synchronous", "mode", "sslmod"])
def test_unknown_options_are_refused_by_name(option: str) -> None:
    with pytest.raises(StoreError, match=f"unknown option '{option}'"):
        parse_url(f"postgresql://u@h/db?{option}=x")


def test_bad_values_and_urls_are_refused() -> None:
    with pytest.raises(StoreError, match="synchronous_commit must be one of on, off"):
        parse_url("postgresql://h/db?synchronous_commit=maybe")
    for url in ("postgresql:h/db", "postgresql:", "mysql://h/db"):
        with pytest.raises(StoreError, match="write postgresql://user@host:port/dbname"):
            parse_url(url)


def test_open_store_reads_both_schemes_before_connecting() -> None:
    port = closed_port()
    for scheme in ("postgresql", "postgres", "POSTGRESQL"):
        with pytest.raises(StoreError, match="cannot connect to the journal at ") as info:
            open_store(f"{scheme}://alice@127.0.0.1:{port}/db")
        assert f"://alice@127.0.0.1:{port}/db?schema=volnux: " in str(info.value)


def test_without_psycopg_opening_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    monkeypatch.delitem(sys.modules, "volnux.store.postgres.journal")
    with pytest.raises(StoreError, match=r"pip install 'volnux\[postgres\]'") as info:
        open_store("postgresql://alice:pw-never-shown@127.0.0.1:5432/db")
    assert "postgresql://alice@127.0.0.1:5432/db?schema=volnux" in str(info.value)
    assert "pw-never-shown" not in str(info.value)


# -------------------------------------------------------------- passwords


SECRET = "Sup3r-S3cret-pw"


def everything_shown(exc: BaseException) -> str:
    """An error as every tool may show it: message, repr, traceback with causes."""
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice:{pw}@127.0.0.1:{port}/db?schema=x",
        "postgres://alice:{pw}@127.0.0.1:{port}/db",
        # libpq quotes a malformed percent-escape it meets, password and all.
        "postgresql://alice:{pw}%zz@127.0.0.1:{port}/db",
        # An unencoded "/" or "@" makes libpq read the password as a host or port.
        "postgresql://alice:{pw}/x@127.0.0.1:{port}/db",
        "postgresql://alice:{pw}@x@127.0.0.1:{port}/db",
        "postgresql://alice:{pw}@127.0.0.1:{port}/db?password={pw}",
        "postgresql://alice:{pw}@127.0.0.1:{port}/db?bogus={pw}",
        "postgresql://alice:{pw}@127.0.0.1:{port}/db?schema=NOT-OK",
        "postgresql://alice:{pw}@127.0.0.1:{port}/db?synchronous_commit=maybe",
        "postgresql:alice:{pw}@127.0.0.1:{port}/db",
        "postgresql+psycopg://alice:{pw}@127.0.0.1:{port}/db",
    ],
)
def test_a_password_is_never_shown_when_opening_fails(url: str) -> None:
    url = url.format(pw=SECRET, port=closed_port())
    with pytest.raises(StoreError) as info:
        open_store(url)
    shown = everything_shown(info.value)
    assert SECRET not in shown
    assert "S3cret" not in shown


def test_a_password_is_never_shown_by_an_open_journal(
    postgres_server: str, postgres_schemas: NewURL
) -> None:
    # The test servers trust their clients, so any password lets this one in.
    schema = schema_of(postgres_schemas())
    user_part, _, host_part = postgres_server.partition("://")[2].partition("@")
    url = f"postgresql://{user_part}:{SECRET}@{host_part}?schema={schema}"
    with PostgresJournal(url) as journal:
        assert journal.location == f"postgresql://{user_part}@{host_part}?schema={schema}"
        with pytest.raises(RunNotFound) as info:
            journal.load("nope")
        shown = [journal.location, repr(journal), everything_shown(info.value)]
    with pytest.raises(StoreError) as closed:
        journal.load("nope")
    shown.append(everything_shown(closed.value))
    assert SECRET not in "\n".join(shown)


# ---------------------------------------------------- schemas and migrations


def test_a_journal_lives_in_its_own_schema(postgres_schemas: NewURL, postgres_admin: Admin) -> None:
    one_url, two_url = postgres_schemas(), postgres_schemas()
    with PostgresJournal(one_url) as one, PostgresJournal(two_url) as two:
        one.create_run(make_run("only-in-one"))
        assert two.list_runs() == []
        assert [r.id for r in one.list_runs()] == ["only-in-one"]
        assert one.schema == schema_of(one_url)
    tables = {
        name
        for (name,) in postgres_admin.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema_of(one_url),),
        )
    }
    assert tables == {
        "schema_version", "runs", "leases", "task_records", "run_notes", "task_logs",
        "event_durations", "schedules", "task_index", "task_index_upto",
    }  # fmt: skip
    versions = postgres_admin.execute(
        f"SELECT version, summary FROM {schema_of(one_url)}.schema_version ORDER BY version"
    ).fetchall()
    assert versions == [(m.version, m.summary) for m in MIGRATIONS]


def test_reading_a_missing_schema_is_journal_not_found_and_creates_nothing(
    postgres_url: str, postgres_admin: Admin
) -> None:
    for open_it in (
        lambda: PostgresJournal(postgres_url, create=False),
        lambda: open_store(postgres_url, create=False),
    ):
        with pytest.raises(JournalNotFound, match="no journal at postgresql://"):
            open_it()
    assert not schema_exists(postgres_admin, schema_of(postgres_url))
    postgres_admin.execute(f"CREATE SCHEMA {schema_of(postgres_url)}")  # empty: still no journal
    with pytest.raises(JournalNotFound):
        PostgresJournal(postgres_url, create=False)
    PostgresJournal(postgres_url).close()  # creating is fine
    with PostgresJournal(postgres_url, create=False) as journal:
        assert journal.list_runs() == []


def test_a_newer_schema_is_refused(postgres_url: str, postgres_admin: Admin) -> None:
    PostgresJournal(postgres_url).close()
    postgres_admin.execute(
        f"INSERT INTO {schema_of(postgres_url)}.schema_version (version, summary)"
        " VALUES (%s, 'from the future')",
        (LATEST_VERSION + 1,),
    )
    with pytest.raises(CorruptStoreError, match=f"schema version {LATEST_VERSION + 1}, newer"):
        PostgresJournal(postgres_url)


def test_a_schema_of_another_program_is_refused_and_left_alone(
    postgres_url: str, postgres_admin: Admin
) -> None:
    schema = schema_of(postgres_url)
    postgres_admin.execute(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.runs (x int)")
    for create in (True, False):
        with pytest.raises(CorruptStoreError, match=r"holds tables of another program \(runs\)"):
            PostgresJournal(postgres_url, create=create)
    tables = postgres_admin.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
    ).fetchone()
    assert tables == (1,)


def test_a_damaged_journal_is_refused(postgres_url: str, postgres_admin: Admin) -> None:
    PostgresJournal(postgres_url).close()
    postgres_admin.execute(f"DROP TABLE {schema_of(postgres_url)}.leases")
    with pytest.raises(CorruptStoreError, match="lacks the tables leases; it is damaged"):
        PostgresJournal(postgres_url)


def test_a_failing_migration_leaves_nothing(
    postgres_server: str, postgres_url: str, postgres_admin: Admin
) -> None:
    import psycopg

    broken = (*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", ("CREATE TABLE {s}.x (",)))
    schema = schema_of(postgres_url)
    with (
        psycopg.connect(postgres_server, autocommit=True) as conn,
        pytest.raises(psycopg.errors.SyntaxError),
    ):
        prepare_schema(conn, schema, "here", create=True, steps=broken)
    assert not schema_exists(postgres_admin, schema)  # CREATE SCHEMA was rolled back too


def test_concurrent_opens_of_a_new_schema_migrate_once(
    postgres_url: str, postgres_admin: Admin
) -> None:
    opened: list[PostgresJournal] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        start.wait()
        try:
            opened.append(PostgresJournal(postgres_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(opened) == 4
    versions = postgres_admin.execute(
        f"SELECT version FROM {schema_of(postgres_url)}.schema_version"
    ).fetchall()
    assert versions == [(m.version,) for m in MIGRATIONS]
    opened[0].create_run(make_run())
    assert all(j.load_run("run-1").id == "run-1" for j in opened)
    for journal in opened:
        journal.close()


# ---------------------------------------------------------- what is stored


HOSTILE = [
    "it's",
    'say "hi"',
    "a; DROP TABLE runs; --",
    "'); DELETE FROM task_records; --",
    "$$ dollar $$",
    "$1 %s %(x)s {s} {}",
    "back\\slash",
    "ünïcødé ✓ 𝄞 漢字",
    "line\nbreak\ttab",
    "",
]


def test_hostile_text_round_trips(postgres_url: str) -> None:
    with PostgresJournal(postgres_url) as journal:
        for i, text in enumerate(HOSTILE):
            run_id = f"run {i} {text}"
            pins = {text or "n": EventPin(text, text, text, text)}
            run = make_run(run_id, workflow=text, text=text, filename=text, fingerprint=text,
                           events=pins, inputs={text: text}, error=text, owner=text)  # fmt: skip
            journal.create_run(run)
            epoch = journal.claim(run_id, text, 1.0, 0)
            tasks = [
                make_task(text, TaskState.RETRYING, run_id=run_id, note=text, result=text,
                          error=ErrorInfo(text, text, text)),
                make_task(text + "2", run_id=run_id, result={text: [text]}),
            ]  # fmt: skip
            journal.record(tasks, epoch=epoch)
            journal.add_note(RunNote(run_id, text or "k", 2.0, {text: text}), epoch=epoch)
            journal.add_logs([LogEntry(run_id, text, 1, 3.0, 20, text)], epoch=epoch)
            journal.record_durations({text: 1.5}, 4.0)
            snap = journal.load(run_id)
            assert snap.run.workflow == snap.run.text == snap.run.error == text
            assert (snap.run.events, snap.run.inputs, snap.run.owner) == (pins, {text: text}, text)
            assert list(snap.tasks) == tasks
            assert list(snap.notes) == [RunNote(run_id, text or "k", 2.0, {text: text})]
            assert journal.logs(run_id, text) == [LogEntry(run_id, text, 1, 3.0, 20, text)]
            assert journal.durations([text]) == {text: 1.5}
            assert journal.run_ids(run_id) == [run_id]
        assert len(journal.list_runs()) == len(HOSTILE)
        assert journal.check() == []


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(run_id=_TEXT.filter(bool), node_id=_TEXT, message=_TEXT, kind=_TEXT)
def test_any_text_round_trips(
    postgres_url: str, run_id: str, node_id: str, message: str, kind: str
) -> None:
    with PostgresJournal(postgres_url) as journal:
        if run_id in journal.run_ids(run_id):
            return  # (an example drawn again)
        journal.create_run(make_run(run_id))
        journal.record([make_task(node_id, run_id=run_id, result=message, note=message)])
        journal.add_note(RunNote(run_id, kind, 1.0, {message: kind}))
        journal.add_logs([LogEntry(run_id, node_id, 1, 2.0, 30, message)])
        snap = journal.load(run_id)
        assert list(snap.tasks) == [make_task(node_id, run_id=run_id, result=message, note=message)]
        assert list(snap.notes) == [RunNote(run_id, kind, 1.0, {message: kind})]
        assert journal.logs(run_id) == [LogEntry(run_id, node_id, 1, 2.0, 30, message)]


def test_text_postgresql_cannot_hold_is_a_store_error_and_writes_nothing(postgres_url: str) -> None:
    with PostgresJournal(postgres_url) as journal:
        journal.create_run(make_run())
        with pytest.raises(StoreError, match=r"NUL \(0x00\)"):
            journal.add_logs([LogEntry("run-1", "a", 1, 1.0, 20, "nul \x00 here")])
        with pytest.raises(StoreError, match="creating run nul"):
            journal.create_run(make_run("nul\x00"))
        # In a record, a NUL is JSON's "\u0000": stored like any other character.
        journal.record([make_task("a\x00b", result="c\x00d", note="e\x00")])
        assert journal.load("run-1").tasks[0].node_id == "a\x00b"
        assert journal.logs("run-1") == []
        assert [r.id for r in journal.list_runs()] == ["run-1"]


def test_run_ids_are_a_prefix_range_in_code_point_order(postgres_url: str) -> None:
    # (U+D7FF is the last character before the surrogates, which no text holds.)
    ids = ["a", "a-b", "ab", "ab\U0010ffff", "ab\U0010ffffz", "a\ud7ffx", "a\ue000", "ac", "b",
           "é", "A"]  # fmt: skip
    with PostgresJournal(postgres_url) as journal:
        for run_id in ids:
            journal.create_run(make_run(run_id))
        for prefix in ("", "a", "ab", "ab\U0010ffff", "a\ud7ff", "é", "z"):
            expected = sorted(i for i in ids if i.startswith(prefix))[:10]
            assert journal.run_ids(prefix) == expected, prefix
        assert journal.run_ids("a", limit=2) == ["a", "a-b"]


def test_pickled_inputs_and_results_are_bytes_in_the_journal(postgres_url: str) -> None:
    with PostgresJournal(postgres_url, allow_pickle=True) as journal:
        journal.create_run(make_run(inputs={"when": {1, 2}}))
        journal.record([make_task("t", result=frozenset({3}))])
        snap = journal.load("run-1")
    assert (snap.run.inputs, snap.tasks[0].result) == ({"when": {1, 2}}, frozenset({3}))
    with PostgresJournal(postgres_url) as journal, pytest.raises(StoreError, match="pickle"):
        journal.load("run-1")


def test_check_names_a_damaged_batch(postgres_url: str, postgres_admin: Admin) -> None:
    with PostgresJournal(postgres_url) as journal:
        journal.create_run(make_run())
        journal.record([make_task("a")])
        journal.record([make_task("b")])
        postgres_admin.execute(
            f"UPDATE {schema_of(postgres_url)}.task_records SET records = 'not json' WHERE seq = 2"
        )
        with pytest.raises(CorruptStoreError, match=r"records \(batch 2\) of run run-1 in "):
            journal.load("run-1")
        (problem,) = journal.check()
        assert "run run-1" in problem and "(batch 2)" in problem


# ------------------------------------------------------ several connections


def test_a_run_written_by_one_journal_is_read_by_another(postgres_url: str) -> None:
    with PostgresJournal(postgres_url) as writer, PostgresJournal(postgres_url) as reader:
        writer.create_run(make_run())
        writer.record([make_task("a", TaskState.RUNNING)])
        writer.record([make_task("a", result={"x": 1}), make_task("b", TaskState.RUNNING)])
        writer.add_note(RunNote("run-1", "warned", 2.0, {"why": "x"}))
        writer.add_logs([LogEntry("run-1", "a", 1, 1.0, 20, "hello")])
        writer.request_pause("run-1")
        snap = reader.load("run-1")
        assert [(t.node_id, t.state) for t in snap.tasks] == [
            ("a", TaskState.RUNNING), ("a", TaskState.SUCCEEDED), ("b", TaskState.RUNNING)
        ]  # fmt: skip
        assert snap.tasks[1].result == {"x": 1}
        assert [n.kind for n in snap.notes] == ["warned"]
        assert reader.logs("run-1")[0].message == "hello"
        assert reader.stop_requested("run-1") is RunState.PAUSED
        reader.request_cancel("run-1")
        assert writer.cancel_requested("run-1")


def test_a_stale_epoch_is_fenced_and_writes_nothing(postgres_url: str) -> None:
    with PostgresJournal(postgres_url) as old, PostgresJournal(postgres_url) as new:
        old.create_run(make_run(owner="old", epoch=1, heartbeat_at=1.0))
        assert new.claim("run-1", "new", 2.0, None) == 2  # --force
        writes = [
            lambda: old.record([make_task("A", TaskState.RUNNING)], epoch=1),
            lambda: old.add_note(RunNote("run-1", "x", 1.0), epoch=1),
            lambda: old.add_logs([LogEntry("run-1", "A", 1, 1.0, 20, "hi")], epoch=1),
            lambda: old.set_run_state("run-1", RunState.FAILED, 1.0, epoch=1),
            lambda: old.heartbeat("run-1", 1, 3.0),
        ]
        for write in writes:
            with pytest.raises(Fenced, match="run run-1 is now driven by another process") as info:
                write()
            assert (info.value.epoch, info.value.current) == (1, 2)
        old.release("run-1", 1)  # an old epoch releases nothing
        snap = new.load("run-1")
        assert (list(snap.tasks), list(snap.notes), new.logs("run-1")) == ([], [], [])
        assert (snap.run.state, snap.run.owner, snap.run.epoch) == (RunState.RUNNING, "new", 2)
        assert snap.run.heartbeat_at == 2.0
        new.record([make_task("A", TaskState.RUNNING)], epoch=2)
        new.heartbeat("run-1", 2, 4.0)
        assert len(old.load("run-1").tasks) == 1
        for write in (
            lambda: new.record([make_task("A", run_id="nope")], epoch=2),
            lambda: new.add_note(RunNote("nope", "x", 1.0), epoch=2),
            lambda: new.add_logs([LogEntry("nope", "A", 1, 1.0, 20, "hi")], epoch=2),
            lambda: new.set_run_state("nope", RunState.FAILED, 1.0, epoch=2),
            lambda: new.heartbeat("nope", 2, 1.0),
            lambda: new.claim("nope", "x", 1.0, None),
        ):
            with pytest.raises(RunNotFound):
                write()


def test_a_write_that_meets_a_claim_in_progress_waits_then_is_fenced(
    postgres_server: str, postgres_url: str
) -> None:
    """The claim (its statement, in a transaction still open) has taken the run's
    next batch number when the write runs: the write waits for it, then finds the
    epoch moved and writes nothing."""
    import psycopg

    with PostgresJournal(postgres_url) as journal:
        journal.create_run(make_run(owner="old", epoch=1))
        outcome: list[BaseException | None] = []

        def write() -> None:
            try:
                journal.record([make_task("late")], epoch=1)
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        with psycopg.connect(postgres_server) as claimer:  # a transaction, not committed yet
            claimer.execute(journal._sql.claim, ("new", 2.0, "run-1"))
            writer = threading.Thread(target=write)
            writer.start()
            writer.join(0.3)
            assert writer.is_alive()  # waiting for the claim's batch number
        writer.join(10)  # the claim committed as the block ended
        assert len(outcome) == 1 and isinstance(outcome[0], Fenced)
        assert list(journal.load("run-1").tasks) == []


def test_a_claim_that_meets_a_write_in_progress_waits_and_the_write_is_kept(
    postgres_server: str, postgres_url: str
) -> None:
    """The old owner's write (in a transaction still open) has the run's next batch
    number when the claim runs: the claim waits, then takes the number after it, and
    the new owner reads the write."""
    import psycopg

    with PostgresJournal(postgres_url) as journal:
        journal.create_run(make_run(owner="old", epoch=1))
        claimed: list[int] = []
        with psycopg.connect(postgres_server) as writer:  # not committed yet
            batch = "[" + journal._encode_record(make_task("late"), None, None) + "]"
            writer.execute(journal._sql.record_fenced, (batch, "run-1", 1))
            claimer = threading.Thread(
                target=lambda: claimed.append(journal.claim("run-1", "new", 2.0, 1))
            )
            claimer.start()
            claimer.join(0.3)
            assert claimer.is_alive()  # waiting for the write's batch number
        claimer.join(10)
        assert claimed == [2]
        assert [t.node_id for t in journal.load("run-1").tasks] == ["late"]
        with pytest.raises(Fenced):
            journal.record([make_task("later")], epoch=1)


def test_of_claims_expecting_one_epoch_one_wins(postgres_url: str) -> None:
    journals = [PostgresJournal(postgres_url) for _ in range(4)]
    try:
        journals[0].create_run(make_run(epoch=3))
        won: list[int] = []
        lost: list[RunClaimed] = []
        start = threading.Barrier(len(journals))

        def claim(journal: PostgresJournal, owner: str) -> None:
            start.wait()
            try:
                won.append(journal.claim("run-1", owner, 1.0, 3))
            except RunClaimed as exc:
                lost.append(exc)

        threads = [
            threading.Thread(target=claim, args=(journal, f"o{i}"))
            for i, journal in enumerate(journals)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert (won, len(lost)) == ([4], 3)
        assert "taken over by another process just now (epoch 4, not 3)" in str(lost[0])
        assert journals[1].load_run("run-1").epoch == 4
    finally:
        for journal in journals:
            journal.close()


def test_a_terminated_session_is_connected_again_and_the_call_goes_through(
    postgres_url: str, postgres_admin: Admin
) -> None:
    with PostgresJournal(postgres_url) as journal:
        journal.create_run(make_run())
        journal.add_note(RunNote("run-1", "started", 1.0, {"pid": 1}))
        journal.add_logs([LogEntry("run-1", "a", 1, 1.0, 20, "one")])
        for write in (
            lambda: journal.record([make_task("a")]),
            lambda: journal.add_note(RunNote("run-1", "resumed", 2.0, {"pid": 2})),
            lambda: journal.add_logs([LogEntry("run-1", "a", 1, 2.0, 20, "two")]),
            lambda: journal.set_run_state("run-1", RunState.PAUSED, 3.0),
        ):
            pid = journal._conn.info.backend_pid
            postgres_admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            write()  # a new session, and the write made once
            assert journal._conn.info.backend_pid != pid
        snapshot = journal.load("run-1")
        assert [t.node_id for t in snapshot.tasks] == ["a"]
        assert [n.kind for n in snapshot.notes] == ["started", "resumed"]
        assert [e.message for e in journal.logs("run-1")] == ["one", "two"]
        assert snapshot.run.state is RunState.PAUSED


def test_a_write_that_met_the_loss_but_was_kept_is_not_made_twice(postgres_url: str) -> None:
    """The connection dies after the server committed the write, before the client
    heard: connecting again, the journal finds its write there and goes on."""
    import psycopg

    with PostgresJournal(postgres_url) as journal:
        journal.create_run(make_run())
        real = journal._cursor

        class LosesTheAnswer:
            rowcount = 1

            def execute(self, statement: str, params: Any) -> None:
                real.execute(statement, params)  # committed (autocommit) ...
                journal._conn.close()  # ... and the answer never arrives
                raise psycopg.OperationalError("server closed the connection unexpectedly")

        journal._cursor = LosesTheAnswer()  # type: ignore[assignment]
        journal.record([make_task("a")])
        assert [t.node_id for t in journal.load("run-1").tasks] == ["a"]
        journal.record([make_task("b")])
        assert [t.node_id for t in journal.load("run-1").tasks] == ["a", "b"]


def test_a_server_gone_past_reconnect_s_is_a_store_error_that_says_so(
    postgres_url: str, postgres_admin: Admin
) -> None:
    with PostgresJournal(postgres_url + "&reconnect_s=0") as journal:
        journal.create_run(make_run())
        pid = journal._conn.info.backend_pid
        postgres_admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StoreError, match="lost the connection to the journal at") as info:
            journal.record([make_task("a")])
        assert type(info.value) is StoreError
        assert "could not be had again within 0s" in str(info.value)
        assert "the run can be resumed once the journal is reachable" in str(info.value)
        journal.record([make_task("b")])  # the next call connects again
        assert [t.node_id for t in journal.load("run-1").tasks] == ["b"]


def test_reconnect_s_must_be_seconds(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="reconnect_s must be a number of seconds"):
        PostgresJournal(postgres_url + "&reconnect_s=soon")


def test_a_closed_journal_says_so(postgres_url: str) -> None:
    journal = PostgresJournal(postgres_url)
    journal.close()
    with pytest.raises(StoreError, match=r"the journal at postgresql://.* is closed"):
        journal.load_run("x")


def test_usable_from_many_threads_at_once(postgres_url: str) -> None:
    with PostgresJournal(postgres_url) as journal:
        for i in range(4):
            journal.create_run(make_run(f"r{i}"))

        def write(run_id: str) -> None:
            for n in range(25):
                journal.record([make_task(f"n{n}", run_id=run_id, result=n)], epoch=0)
                journal.load_run(run_id)

        threads = [threading.Thread(target=write, args=(f"r{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for i in range(4):
            assert [t.result for t in journal.load(f"r{i}").tasks] == list(range(25))


def test_synchronous_commit_is_set_on_the_session(postgres_url: str) -> None:
    for value in ("off", "local", "on"):
        with open_store(f"{postgres_url}&synchronous_commit={value}") as journal:
            assert isinstance(journal, PostgresJournal)
            assert journal.synchronous_commit == value
            assert repr(journal).endswith(f"synchronous_commit={value!r})")
            shown = journal._conn.execute("SHOW synchronous_commit").fetchone()
            assert shown == (value,)


def test_records_are_stored_one_row_per_write(postgres_url: str, postgres_admin: Admin) -> None:
    with PostgresJournal(postgres_url) as journal:
        journal.create_run(make_run())
        journal.record([make_task("a"), make_task("b"), make_task("c")])
        journal.record([make_task("d")])
    rows = postgres_admin.execute(
        f"SELECT seq, records FROM {schema_of(postgres_url)}.task_records ORDER BY seq"
    ).fetchall()
    # Each row is the SQLite journal's JSON array of the write's records.
    assert [(seq, len(json.loads(text))) for seq, text in rows] == [(1, 3), (2, 1)]


# ------------------------------------------------------------ stop requests


def test_a_stop_request_is_heard_at_once_by_a_watcher_in_another_process(
    postgres_url: str,
) -> None:
    with PostgresJournal(postgres_url) as engine_side, PostgresJournal(postgres_url) as other:
        engine_side.create_run(make_run("watched"))
        engine_side.create_run(make_run("unwatched"))
        heard: list[str] = []
        told = threading.Event()
        unwatch = engine_side.watch_stop("watched", lambda: (heard.append("x"), told.set()))
        other.request_cancel("unwatched")
        other.request_pause("watched")
        assert told.wait(2.0)
        assert heard == ["x"]  # once, and not for the other run
        assert engine_side.stop_requested("watched") is RunState.PAUSED
        unwatch()
        other.request_cancel("watched")
        import time

        time.sleep(0.3)
        assert heard == ["x"]  # no longer watched
        with pytest.raises(RunNotFound):
            other.request_cancel("nobody")


def test_a_cancel_reaches_a_running_engine_without_waiting_for_its_poll(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import volnux
    from volnux.engine import runner

    # Only the notification can make the engine see the request this soon.
    monkeypatch.setattr(runner, "CANCEL_POLL_S", 60.0)
    started = threading.Event()

    @volnux.event
    def Step() -> None:
        started.set()
        time.sleep(0.05)

    flow = volnux.Workflow.from_text(" -> ".join(["Step"] * 200), [Step])
    ended: list[volnux.Run] = []
    with PostgresJournal(postgres_url) as journal, PostgresJournal(postgres_url) as other:
        driver = threading.Thread(
            target=lambda: ended.append(flow.run(store=journal, run_id="long"))
        )
        driver.start()
        assert started.wait(10)
        asked = time.monotonic()
        other.request_cancel("long")
        driver.join(30)
        took = time.monotonic() - asked
        assert ended and ended[0].state is RunState.CANCELLED
        assert took < 2.0, f"the engine saw the cancel after {took:.2f} s"
        flow.close()


# ------------------------------------------------------------------ the change feed


class Heard:
    """What a journal's change feed told, as it came (run ids; "" for any run)."""

    def __init__(self) -> None:
        import queue

        self.queue: queue.Queue[str] = queue.Queue()

    def __call__(self, run_id: str) -> None:
        self.queue.put(run_id)

    def next(self, seconds: float = 5.0) -> str:
        return self.queue.get(timeout=seconds)

    def so_far(self, settle: float = 0.3) -> list[str]:
        """Everything told until nothing more came for ``settle`` seconds."""
        import queue

        told = []
        while True:
            try:
                told.append(self.queue.get(timeout=settle))
            except queue.Empty:
                return told


def test_changes_tell_a_run_s_creation_its_state_and_its_writes_now_and_then(
    postgres_url: str,
) -> None:
    import time

    from volnux.store.postgres.feed import NOTIFY_EVERY_S

    heard = Heard()
    with PostgresJournal(postgres_url) as serving, PostgresJournal(postgres_url) as engine:
        unsubscribe = serving.changes(heard)
        engine.create_run(make_run(owner="me", epoch=1))
        assert heard.next() == "run-1"
        began = time.monotonic()
        for k in range(20):  # a burst: told at most once per NOTIFY_EVERY_S
            engine.record([make_task(f"t{k}", TaskState.RUNNING)], epoch=1)
        engine.add_note(RunNote("run-1", "retry", 2.0, {}), epoch=1)
        burst = time.monotonic() - began
        assert len(heard.so_far()) <= burst // NOTIFY_EVERY_S
        time.sleep(NOTIFY_EVERY_S)
        engine.record([make_task("late")], epoch=1)  # the first write for a while: told
        assert heard.next() == "run-1"
        # Each kind of write tells, once due: a state other than running always
        # tells, and makes the run's next write due.
        writes = [
            lambda: engine.record([make_task("fenced")], epoch=1),
            lambda: engine.record([make_task("free")]),
            lambda: engine.add_note(RunNote("run-1", "fenced", 3.0, {}), epoch=1),
            lambda: engine.add_note(RunNote("run-1", "free", 3.0, {})),
        ]
        for write in writes:
            engine.set_run_state("run-1", RunState.PAUSED, 3.0)
            assert heard.next() == "run-1"
            write()
            assert heard.next() == "run-1"
            write()  # not due: untold
        with pytest.raises(RunNotFound):  # nothing written, nothing told
            engine.set_run_state("nobody", RunState.FAILED, 3.0)
        assert heard.so_far() == []
        snapshot = engine.load("run-1")
        assert [t.node_id for t in snapshot.tasks][-4:] == ["fenced", "fenced", "free", "free"]
        assert [n.kind for n in snapshot.notes] == ["retry", "fenced", "fenced", "free", "free"]
        engine.create_run(make_run("run-2"))
        assert heard.next() == "run-2"
        time.sleep(NOTIFY_EVERY_S)
        engine.record([make_task("a", run_id="run-1"), make_task("a", run_id="run-2")])
        assert sorted(heard.so_far()) == ["run-1", "run-2"]  # a write of several runs
        long_id = "x" * 9000  # too long for a notification: "any run" instead
        engine.create_run(make_run(long_id))
        assert heard.next() == ""
        unsubscribe()
        engine.set_run_state("run-2", RunState.SUCCEEDED, 4.0)
        assert heard.so_far() == []
        deadline = time.monotonic() + 5
        while serving._changes._thread is not None:  # nobody to tell: the thread ends
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_the_change_feed_listens_again_after_its_session_is_terminated(
    postgres_url: str, postgres_admin: Admin
) -> None:
    heard = Heard()
    with PostgresJournal(postgres_url) as serving, PostgresJournal(postgres_url) as engine:
        unsubscribe = serving.changes(heard)
        listen = f'LISTEN "{serving._changes.channel}"'
        find = "SELECT pid FROM pg_stat_activity WHERE query = %s"
        (pid,) = postgres_admin.execute(find, (listen,)).fetchone()
        postgres_admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert heard.next() == ""  # back: anything may have changed meanwhile
        (again,) = postgres_admin.execute(find, (listen,)).fetchone()
        assert again != pid
        engine.create_run(make_run())
        assert heard.next() == "run-1"
        unsubscribe()
