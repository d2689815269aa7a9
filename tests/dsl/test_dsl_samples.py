"""Workflows written the Volnux 2.x way parse unchanged, and mean what they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from volnux.dsl import format_graph, parse, parse_file
from volnux.graph.model import Group, Parallel, Sequence, Task

SAMPLES = Path(__file__).parent / "samples"
FILES = sorted(SAMPLES.glob("*.pty"))


def test_there_are_samples() -> None:
    assert len(FILES) >= 6


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_sample_parses_and_round_trips(path: Path) -> None:
    graph = parse_file(path)
    assert graph.filename == str(path)
    assert graph.tasks()
    again = parse(format_graph(graph))
    assert again == graph
    assert again.fingerprint() == graph.fingerprint()


def test_nightly_ingest_directives_and_leading_factor() -> None:
    graph = parse_file(SAMPLES / "nightly_ingest.pty")
    assert graph.directives == (("recursive-depth", "2500"), ("mode", "CFG"))
    root = graph.root
    assert isinstance(root, Sequence) and isinstance(root.steps[0], Parallel)
    assert graph.task("PullVendorFeed").attempts == 8
    assert [t.id for t in graph.tasks()][-2:] == ["MergeFeeds", "PublishSnapshot"]


def test_account_opening_retry_then_branches() -> None:
    graph = parse_file(SAMPLES / "account_opening.pty")
    verify = graph.task("VerifyIdentity")
    assert verify.attempts == 3
    assert [b.descriptor for b in verify.branches] == [0, 1]
    assert verify.branches[0].body == parse("AskForDocuments |-> RemindApplicant").root
    score = graph.task("ScoreRisk")
    piped = score.branches[1].body
    assert isinstance(piped, Sequence) and piped.pipes == (True,)
    assert isinstance(piped.steps[0], Group) and piped.steps[0].bracket == "("


def test_claim_triage_custom_descriptors_and_pipe_branch() -> None:
    assess = parse_file(SAMPLES / "claim_triage.pty").task("AssessClaim")
    assert [(b.descriptor, b.pipe) for b in assess.branches] == [
        (0, True),
        (1, False),
        (3, False),
        (7, False),
    ]


def test_report_build_group_attributes() -> None:
    graph = parse_file(SAMPLES / "report_build.pty")
    curly = [g for g in graph.groups() if g.bracket == "{"]
    assert len(curly) == 1
    assert curly[0].attrs == (("retry_attempts", 2), ("timeout", 30.0))
    assert graph.task("CompressImages").options["quality"] == 0.85
    assert graph.task("Announce").options == {"channel": "#reports", "mention_team": True}


def test_order_pipeline_parallel_inside_branch() -> None:
    graph = parse_file(SAMPLES / "order_pipeline.pty")
    charge = graph.task("ChargeCard")
    body = charge.branches[1].body
    assert isinstance(body, Sequence) and isinstance(body.steps[0], Parallel)
    root = graph.root
    assert isinstance(root, Sequence)
    last = root.steps[-1]
    assert isinstance(last, Task) and last.attempts == 4


def test_versioned_payments() -> None:
    graph = parse_file(SAMPLES / "payments_versioned.pty")
    assert [str(r) for r in graph.refs()] == [
        "billing.OpenInvoice@2",
        "payments.Charge@1.4.2",
        "payments.Refund@latest",
        "ledger.Post@v1",
        "mail.Receipt@1.2",
        "billing.CloseInvoice",
    ]
    assert graph.task("payments.Charge").attempts == 3


def test_windows_line_ends() -> None:
    graph = parse_file(SAMPLES / "windows_line_ends.pty")
    assert graph.root == parse("FetchRows -> CleanRows || DedupeRows |-> LoadWarehouse").root
