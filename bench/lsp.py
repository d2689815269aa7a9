"""How soon ``volnux lsp`` answers an edit of a 1,000-line workflow with diagnostics.

    python bench/lsp.py [--lines 1000] [--edits 20] [--pause 0.1] [--json]

Makes a project (volnux.toml, an events.py of 40 events, some with several
versions, one deprecated) and two generated workflows of ``--lines`` lines:
*typical* (one event per line, comments, attributes, branch lists and groups
now and then) and *dense* (every line a step with attributes, a retry and a
branch list: two tasks a line).  For each:

* in this process, the cost of one check after an edit (best and median of
  ``--edits``): the parse alone (the baseline: what any check must do), the
  plan (events resolved, attributes checked), and all of ``diagnose``;
* over stdio, against a real ``volnux lsp`` started as an editor starts it:
  the time from sending an edit (one character typed into an event name, or
  taken out again) to receiving the diagnostics of that version (median,
  90th percentile, worst), the edits ``--pause`` seconds apart as when
  typing; and for a burst of 10 edits sent at once, until the diagnostics of
  the last (checks are coalesced, not queued up).

The goal is the diagnostics of an edit within 200 ms.  Needs the ``lsp``
extra (pygls).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

EVENT_COUNT = 40
GOAL_MS = 200.0


def events_source() -> str:
    """An events file of EVENT_COUNT events; every fifth has a second version."""
    out = ["import volnux", ""]
    for i in range(EVENT_COUNT):
        out += [
            "",
            f'@volnux.event(name="Step{i}", version="1.0.0")',
            f"def step{i}_v1(piped=None):",
            f'    """Step {i} of the generated workflow."""',
            "    return piped",
        ]
        if i % 5 == 0:
            deprecated = ', deprecated=volnux.Deprecated(reason="old")' if i == 35 else ""
            out += [
                "",
                f'@volnux.event(name="Step{i}", version="2.1.0"{deprecated})',
                f"def step{i}_v2(piped=None):",
                f'    """Step {i}, the second version."""',
                "    return piped",
            ]
    return "\n".join(out) + "\n"


def typical(lines: int) -> str:
    """One event per line, with the comments, groups and branches people write."""
    out = ["# A generated workflow, written the way people write them.", "Step0"]
    i = 1
    while len(out) < lines - 1:
        k = i % EVENT_COUNT
        if i % 10 == 0:
            out.append("")
            out.append(f"    # Section {i // 10}: what happens next, and why.")
        elif i % 7 == 0:
            out.append(f"    -> (Step{k} || Step{(k + 1) % EVENT_COUNT})")
        elif i % 11 == 0:
            out.append(f"    |-> Step{k} * 3 (0 -> Step{(k + 3) % EVENT_COUNT})")
        elif i % 3 == 0:
            out.append(f"    -> Step{k}@1[timeout=30]  # one version, one limit")
        else:
            out.append(f"    -> Step{k}")
        i += 1
    return "\n".join(out[:lines]) + "\n"


def dense(lines: int) -> str:
    """Two tasks a line: a step with attributes and a retry, and its failure branch."""
    out = ["Step0"]
    for i in range(1, lines):
        k = i % EVENT_COUNT
        out.append(
            f'    -> Step{k}@1.0[timeout=5, executor="thread"] * 2 '
            f"(0 -> Step{(k + 7) % EVENT_COUNT})  # {i}"
        )
    return "\n".join(out) + "\n"


def edit_line(text: str) -> int:
    """A line in the middle of ``text`` that names an event after '-> ' (0-based)."""
    lines = text.split("\n")
    middle = len(lines) // 2
    return next(n for n in range(middle, len(lines)) if lines[n].startswith("    -> Step"))


def in_process(folder: Path, text: str, edits: int) -> dict[str, float]:
    """Milliseconds of one check after an edit: parse, plan and the whole diagnose."""
    from volnux.dsl.parser import parse
    from volnux.engine.plan import find_plan_errors
    from volnux.lsp.diagnostics import diagnose
    from volnux.lsp.project import Projects
    from volnux.lsp.text import Lines

    path = folder / "flow.pty"
    projects = Projects(env={})
    project = projects.for_file(path)
    assert project.registry is not None, project.problem
    line = edit_line(text)
    texts = []
    for n in range(edits):
        lines = text.split("\n")
        if n % 2 == 0:
            lines[line] = lines[line].replace("-> Step", "-> Stepx", 1)
        texts.append("\n".join(lines))
    parse_ms, plan_ms, total_ms = [], [], []
    for edited in texts:
        started = time.perf_counter()
        graph = parse(edited, str(path))
        parsed = time.perf_counter()
        find_plan_errors(graph, project.registry)
        planned = time.perf_counter()
        parse_ms.append((parsed - started) * 1000)
        plan_ms.append((planned - parsed) * 1000)
        started = time.perf_counter()
        found = diagnose(edited, str(path), projects.for_file(path), Lines(edited))
        total_ms.append((time.perf_counter() - started) * 1000)
        assert all(d.code in ("unknown-event", "deprecated") for d in found), found
    return {
        "parse_best_ms": min(parse_ms),
        "parse_median_ms": statistics.median(parse_ms),
        "plan_median_ms": statistics.median(plan_ms),
        "diagnose_best_ms": min(total_ms),
        "diagnose_median_ms": statistics.median(total_ms),
        "ratio_to_parse": statistics.median(total_ms) / statistics.median(parse_ms),
    }


async def over_stdio(folder: Path, text: str, edits: int, pause: float) -> dict[str, float]:
    """Milliseconds from an edit sent to its diagnostics received, from a real server."""
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("bench", "1")
    waiting: dict[int, asyncio.Future[float]] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        future = waiting.pop(params.version or 0, None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())

    await client.start_io(sys.executable, "-m", "volnux", "lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = (folder / "flow.pty").as_uri()
    loop = asyncio.get_running_loop()

    async def sent(version: int, send: Any) -> float:
        waiting[version] = loop.create_future()
        started = time.perf_counter()
        send()
        return (await asyncio.wait_for(waiting[version], 60) - started) * 1000

    opened_ms = await sent(
        1,
        lambda: client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "pointy", 1, text))
        ),
    )
    line = edit_line(text)
    column = len("    -> Step")

    def change(version: int) -> types.DidChangeTextDocumentParams:
        # Odd versions type an 'x' into an event name; even ones take it out again.
        at = types.Position(line, column)
        if version % 2 == 0:
            edit = types.TextDocumentContentChangePartial(types.Range(at, at), "x")
        else:
            after = types.Position(line, column + 1)
            edit = types.TextDocumentContentChangePartial(types.Range(at, after), "")
        return types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version), [edit]
        )

    each = []
    version = 1
    for _ in range(edits):
        await asyncio.sleep(pause)
        version += 1
        params = change(version)
        each.append(await sent(version, lambda p=params: client.text_document_did_change(p)))
    # A burst: ten edits at once; the time until the last one's diagnostics.
    await asyncio.sleep(pause)
    first = version + 1
    version += 10
    waiting[version] = loop.create_future()
    started = time.perf_counter()
    for v in range(first, version + 1):
        client.text_document_did_change(change(v))
    burst_ms = (await asyncio.wait_for(waiting[version], 60) - started) * 1000
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    each.sort()
    return {
        "open_ms": opened_ms,
        "edit_median_ms": statistics.median(each),
        "edit_p90_ms": each[min(len(each) - 1, int(len(each) * 0.9))],
        "edit_worst_ms": each[-1],
        "burst_of_10_ms": burst_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Diagnostics of volnux lsp after an edit.")
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument(
        "--pause", type=float, default=0.1, help="seconds between edits over stdio (typing)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "lines": args.lines,
        "goal_ms": GOAL_MS,
        "pause_s": args.pause,
        "shapes": {},
    }
    with tempfile.TemporaryDirectory(prefix="volnux-bench-lsp-") as tmp:
        folder = Path(tmp)
        (folder / "volnux.toml").write_text('events = ["events.py"]\n', encoding="utf-8")
        (folder / "events.py").write_text(events_source(), encoding="utf-8")
        for shape, make in (("typical", typical), ("dense", dense)):
            text = make(args.lines)
            (folder / "flow.pty").write_text(text, encoding="utf-8")
            row: dict[str, Any] = {"tasks": text.count("Step")}
            row.update(in_process(folder, text, args.edits))
            row.update(asyncio.run(over_stdio(folder, text, args.edits, args.pause)))
            results["shapes"][shape] = row
    if args.json:
        print(json.dumps(results, indent=2))
        return
    lines, goal = args.lines, GOAL_MS
    print(f"volnux lsp: diagnostics after an edit of a {lines}-line workflow (goal {goal:.0f} ms)")
    for shape, row in results["shapes"].items():
        print(f"\n{shape} ({row['tasks']} tasks)")
        print(
            f"  in process: parse {row['parse_median_ms']:.1f} ms (the baseline), plan "
            f"{row['plan_median_ms']:.1f} ms, diagnose {row['diagnose_median_ms']:.1f} ms "
            f"(best {row['diagnose_best_ms']:.1f}; {row['ratio_to_parse']:.2f} x the parse)"
        )
        print(
            f"  over stdio: edit -> diagnostics median {row['edit_median_ms']:.1f} ms, "
            f"p90 {row['edit_p90_ms']:.1f} ms, worst {row['edit_worst_ms']:.1f} ms; "
            f"10 edits at once {row['burst_of_10_ms']:.1f} ms; first open {row['open_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
