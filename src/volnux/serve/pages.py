"""The web view's pages: HTML rendered on the server from the API's data.

Every value from the journal (workflow names, node ids, errors, log lines) is
escaped; the pages hold no script of their own beyond ``/static/app.js``,
which follows ``/api/stream``.  Forms that act carry the session's CSRF token.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

__all__ = [
    "events_page",
    "login_page",
    "message_page",
    "run_page",
    "runs_page",
    "schedules_page",
    "task_page",
]

_ACTION_LABELS = {
    "cancel": "Cancel",
    "pause": "Pause",
    "resume": "Resume",
    "retry": "Retry failed tasks",
    "retry-failed-batches": "Retry failed batches",
}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else ""


def _took(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def _state(state: str, element_id: str = "") -> str:
    ident = f' id="{_e(element_id)}"' if element_id else ""
    return f'<span{ident} class="state state-{_e(state)}">{_e(state)}</span>'


def _layout(title: str, body: str, *, logged_in: bool, read_only: bool, data: str = "") -> str:
    if read_only:
        who = "read-only"
    elif logged_in:
        who = '<form class="inline" method="post" action="/logout"><button>Log out</button></form>'
    else:
        who = '<a href="/login">Log in to act</a>'
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} - volnux</title>"
        '<link rel="stylesheet" href="/static/style.css"></head>'
        f"<body{data}><header><a href='/'>volnux</a><a href='/'>Runs</a>"
        "<a href='/schedules'>Schedules</a><a href='/events'>Events</a>"
        "<a href='/api/openapi.json'>API</a>"
        f"<span class='who'>{who}</span></header>"
        f"<main>{body}</main><script src='/static/app.js'></script></body></html>"
    )


def runs_page(
    page: Mapping[str, Any],
    query: Mapping[str, str],
    *,
    logged_in: bool,
    read_only: bool,
) -> str:
    """The runs, newest first, with the filters and links to the next pages."""
    states = ["", "running", "succeeded", "failed", "cancelled", "paused", "pending"]
    chosen = query.get("state", "")
    options = "".join(
        f'<option value="{s}"{" selected" if s == chosen else ""}>{s or "any state"}</option>'
        for s in states
    )
    filters = (
        '<form class="filters" method="get" action="/">'
        f'<select name="state">{options}</select>'
        f'<input name="workflow" placeholder="workflow" value="{_e(query.get("workflow"))}">'
        f'since <input type="date" name="since" value="{_e(query.get("since"))}">'
        f'until <input type="date" name="until" value="{_e(query.get("until"))}">'
        "<button>Filter</button></form>"
    )
    rows = "".join(
        f'<tr id="run-{_e(r["id"])}"><td><a href="/runs/{quote(r["id"])}">{_e(r["id"])}</a></td>'
        f"<td>{_e(r['workflow'])}</td><td>{_state(r['state'])}</td>"
        f"<td>{_when(r['created_at'])}</td><td>{_took(r['duration'])}</td>"
        f"<td class='batches'>{_e(r['batches'] or '')}</td>"
        f"<td>{_e(r['failed_task'] or '')}</td></tr>"
        for r in page["runs"]
    )
    first, count, total = page["offset"], page["limit"], page["total"]
    links = []
    base = {k: v for k, v in query.items() if k not in ("offset", "limit") and v}
    if first > 0:
        links.append(
            f'<a href="/?{urlencode({**base, "offset": max(0, first - count)})}">newer</a>'
        )
    if first + count < total:
        links.append(f'<a href="/?{urlencode({**base, "offset": first + count})}">older</a>')
    shown = f"{first + 1}-{min(first + count, total)} of {total}" if total else "no runs"
    table = (
        f'<table id="runs" data-first-page="{1 if first == 0 else 0}"><thead><tr><th>run</th>'
        "<th>workflow</th><th>state</th><th>started</th><th>took</th><th>batches</th>"
        f"<th>failed task</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    body = f'<h1>Runs</h1>{filters}<p>{shown}</p>{table}<nav class="pages">{"".join(links)}</nav>'
    return _layout("Runs", body, logged_in=logged_in, read_only=read_only)


def _buttons(run_id: str, actions: Sequence[str], csrf: str, read_only: bool) -> str:
    if read_only or not actions:
        return ""
    if not csrf:
        return f'<p><a href="/login?next=/runs/{quote(run_id)}">Log in</a> to act on this run.</p>'
    forms = "".join(
        f'<form class="inline" method="post" action="/runs/{quote(run_id)}/act">'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<button name="action" value="{_e(action)}">{_e(_ACTION_LABELS[action])}</button></form> '
        for action in actions
    )
    return f"<p>{forms}</p>"


def run_page(
    run: Mapping[str, Any],
    *,
    csrf: str,
    logged_in: bool,
    read_only: bool,
    notice: str = "",
) -> str:
    """A run: its graph coloured by state, its tasks (a page of them), the failure
    explained, what resume or retry would do, and the buttons for them."""
    run_id = run["id"]
    ended = run["state"] not in ("running", "pending")
    head = (
        f"<h1>Run {_e(run_id)}</h1><p>{_e(run['workflow'])} {_state(run['state'], 'run-state')}"
        f" started {_when(run['created_at'])}"
        + (f", ended {_when(run['ended_at'])}" if run["ended_at"] else "")
        + "</p>"
        + (f'<p id="live">{"" if ended else "live: updates as it runs"}</p>')
    )
    if run.get("parent"):
        parent = run["parent"]
        head += f'<p>part of batch run <a href="/runs/{quote(parent)}">{_e(parent)}</a></p>'
    if notice:
        head += f'<div class="notice">{_e(notice)}</div>'
    if run["error"]:
        head += f'<div class="error">{_e(run["error"])}</div>'
    head += _buttons(run_id, run["actions"], csrf, read_only)
    done = "".join(f"<li>{_e(a['text'])}</li>" for a in run.get("web_actions", []))
    actions = f"<h2>Asked through the web view</h2><ul>{done}</ul>" if done else ""
    if run["kind"] == "batch":
        body = head + _batch_section(run) + actions
    else:
        body = head + _task_section(run) + actions
    data = f' data-run="{_e(run_id)}" data-ended="{1 if ended else 0}"'
    return _layout(f"Run {run_id}", body, logged_in=logged_in, read_only=read_only, data=data)


def _task_section(run: Mapping[str, Any]) -> str:
    run_id = quote(run["id"])
    counts = ", ".join(f"{n} {s}" for s, n in run["counts"].items())
    graph = (
        f'<h2>Graph</h2><div class="graph"><img id="graph" alt="the run\'s graph" '
        f'src="/api/runs/{run_id}/graph.svg"></div>'
    )
    shown = run["tasks_shown"]
    state_links = " ".join(
        f'<a href="/runs/{run_id}?state={_e(s)}">{_e(s)} ({n})</a>'
        for s, n in run["counts"].items()
    )
    rows = "".join(
        f'<tr id="task-{_e(t["node"])}"><td><a href="/runs/{run_id}/tasks/{quote(t["node"])}">'
        f"{_e(t['node'])}</a></td><td>{_e(t['event'])}</td><td>{_state(t['state'])}</td>"
        f"<td class='attempts'>{t['attempts'] or ''}</td><td>{_took(t['duration'])}</td>"
        f"<td>{_e(t['placement'] or '')}</td><td class='wrap'>{_e(t['error'] or '')}</td></tr>"
        for t in run["tasks"]
    )
    more = ""
    first, count, total = shown["offset"], shown["limit"], shown["total"]
    state_q = f"state={quote(shown['state'])}&" if shown["state"] else ""
    if first + count < total:
        more += f'<a href="/runs/{run_id}?{state_q}offset={first + count}">next {count}</a> '
    if first > 0:
        more += f'<a href="/runs/{run_id}?{state_q}offset={max(0, first - count)}">previous</a>'
    tasks = (
        f'<h2>Tasks</h2><p id="run-counts">{_e(counts)}</p><p>{state_links}</p>'
        "<table><thead><tr><th>node</th><th>event</th><th>state</th><th>attempts</th>"
        f"<th>time</th><th>ran on</th><th>error</th></tr></thead><tbody>{rows}</tbody></table>"
        f'<nav class="pages">{more}</nav>'
    )
    explanation = ""
    if run["explanation"]:
        explanation = f"<h2>What happened</h2><pre>{_e(chr(10).join(run['explanation']))}</pre>"
    resume = run["resume"]
    plan = "<h2>What resume or retry would do</h2><pre>" + _e(_plan_text(resume)) + "</pre>"
    return explanation + graph + tasks + plan


def _plan_text(plan: Mapping[str, Any]) -> str:
    lines = []
    for key, value in plan.items():
        if isinstance(value, list):
            value = ", ".join(map(str, value[:50])) + (" ..." if len(value) > 50 else "")
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _batch_section(run: Mapping[str, Any]) -> str:
    batch = run["batch"]
    counts = ", ".join(f"{n} {s}" for s, n in batch["counts"].items())
    histogram = run["histogram"]
    tallest = max(histogram["bars"], default=0) or 1
    bars = "".join(
        f'<div title="{n} batches from {histogram["low"] + i * histogram["width"]:.2f} s" '
        f'style="height:{max(2, 80 * n // tallest)}px"></div>'
        for i, n in enumerate(histogram["bars"])
    )
    failed = "".join(
        f'<tr><td>{f["batch"]}</td><td><a href="/runs/{quote(f["run"])}">{_e(f["run"])}</a></td>'
        f"<td>{f['size']}</td><td class='wrap'>{_e(f['error'])}</td></tr>"
        for f in run["failed"][:200]
    )
    return (
        f"<h2>Batches</h2><p id='run-counts'>{_e(run['progress'])}: {_e(counts)}</p>"
        f"<p>source {_e(batch['source'])} ({_e(batch['kind'])}), "
        f"{batch['batch_size']} items a batch, {batch['parallel']} at once</p>"
        f"<h3>How long batches took</h3><div class='bars'>{bars}</div>"
        + (
            f"<h3>Failed batches</h3><table><thead><tr><th>batch</th><th>run</th><th>items</th>"
            f"<th>first error</th></tr></thead><tbody>{failed}</tbody></table>"
            if failed
            else ""
        )
    )


def task_page(task: Mapping[str, Any], *, logged_in: bool, read_only: bool) -> str:
    """One task: its attempts, error and traceback, where it ran, logs and result."""
    run_id = task["run"]
    attempts = "".join(
        f"<tr><td>{a['attempt']}</td><td>{a['round']}</td><td>{_state(a.get('state', ''))}</td>"
        f"<td>{_when(a['started_at'])}</td><td>{_when(a['ended_at'])}</td>"
        f"<td class='wrap'>{_e((a.get('error') or {}).get('message', ''))}</td></tr>"
        for a in task["attempt_list"]
    )
    logs = "\n".join(f"{_when(e['at'])} [{e['attempt']}] {e['message']}" for e in task["logs"])
    ref = task["result_ref"]
    if ref:
        result = (
            f"kept in the result store: {ref['size']} bytes, {_e(ref['codec'])}, "
            f"sha256 {_e(ref['sha256'][:12])} at {_e(ref['location'])}"
        )
    else:
        result = _e(repr(task["result"])) if task["result"] is not None else "none"
    body = (
        f"<h1>Task {_e(task['node'])}</h1>"
        f'<p>of run <a href="/runs/{quote(run_id)}">{_e(run_id)}</a>:'
        f" {_e(task['event'])} {_state(task['state'])}, {task['attempts']} attempt(s)"
        + (f", ran on {_e(task['placement'])}" if task["placement"] else "")
        + "</p>"
        + (f'<div class="error">{_e(task["error"])}</div>' if task["error"] else "")
        + "<h2>Attempts</h2><table><thead><tr><th>attempt</th><th>round</th><th>state</th>"
        f"<th>started</th><th>ended</th><th>error</th></tr></thead><tbody>{attempts}</tbody></table>"
        + (f"<h2>Traceback</h2><pre>{_e(task['traceback'])}</pre>" if task["traceback"] else "")
        + f"<h2>Logs</h2><pre>{_e(logs) or 'none'}</pre>"
        + f"<h2>Result</h2><pre>{result}</pre>"
    )
    return _layout(f"Task {task['node']}", body, logged_in=logged_in, read_only=read_only)


def login_page(next_path: str, error: str = "") -> str:
    """The form that trades the access token for a session."""
    problem = f'<div class="error">{_e(error)}</div>' if error else ""
    body = (
        f"<h1>Log in</h1>{problem}<p>Give the access token <code>volnux serve</code> printed "
        "when it started (or <code>$VOLNUX_SERVE_TOKEN</code>).</p>"
        '<form method="post" action="/login">'
        f'<input type="hidden" name="next" value="{_e(next_path)}">'
        '<input type="password" name="token" autocomplete="current-password" autofocus> '
        "<button>Log in</button></form>"
    )
    return _layout("Log in", body, logged_in=False, read_only=False)


def message_page(title: str, lines: Iterable[str], *, logged_in: bool, read_only: bool) -> str:
    """A page that only says something (not found, refused)."""
    body = f"<h1>{_e(title)}</h1>" + "".join(f"<p>{_e(line)}</p>" for line in lines)
    return _layout(title, body, logged_in=logged_in, read_only=read_only)


def events_page(data: Mapping[str, Any], *, logged_in: bool, read_only: bool) -> str:
    """Every event the project loads: each version, its source, deprecation and changelog."""
    parts = ["<h1>Events</h1>"]
    if data.get("error"):
        parts.append(f'<div class="error">{_e(data["error"])}</div>')
    if not data["events"]:
        parts.append(
            "<p>No events are loaded: name their sources in volnux.toml "
            "(or start the server where the project's volnux.toml is).</p>"
        )
    for event in data["events"]:
        pin = f" (pinned @{_e(event['pin'])})" if event.get("pin") else ""
        parts.append(f"<h2 id='event-{_e(event['name'])}'>{_e(event['name'])}{pin}</h2>")
        rows = []
        for version in event["versions"]:
            gone = version.get("deprecated") or {}
            why = f"deprecated: {gone.get('reason', '')}" if gone else ""
            changes = "; ".join(
                f"{v}: {text}" for v, text in (version.get("changelog") or {}).items()
            )
            rows.append(
                f"<tr><td>{_e(version['version'])}</td><td>{_e(version['source'])}</td>"
                f"<td class='wrap'>{_e(why)}</td><td class='wrap'>{_e(changes)}</td>"
                f"<td class='wrap'>{_e(version.get('doc', ''))}</td></tr>"
            )
        parts.append(
            "<table><thead><tr><th>version</th><th>source</th><th>deprecation</th>"
            f"<th>changelog</th><th>doc</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return _layout("Events", "".join(parts), logged_in=logged_in, read_only=read_only)


def schedules_page(
    data: Mapping[str, Any], *, csrf: str, notice: str = "", logged_in: bool, read_only: bool
) -> str:
    """Every schedule: its timing, next fire times, its last run, pause and resume."""
    parts = ["<h1>Schedules</h1>"]
    if notice:
        parts.append(f'<p class="notice">{_e(notice)}</p>')
    if data.get("error"):
        parts.append(f'<div class="error">{_e(data["error"])}</div>')
    if not data["schedules"]:
        parts.append(
            "<p>No schedules: add <code>[schedules.NAME]</code> to volnux.toml "
            "(or start the server where the project's volnux.toml is).</p>"
        )
        return _layout("Schedules", "".join(parts), logged_in=logged_in, read_only=read_only)
    rows = []
    for row in data["schedules"]:
        name = row["name"]
        upcoming = "<br>".join(_e(s["local"]) for s in row["next"]) or "paused"
        last = ""
        if row["last_run"]:
            last = f'<a href="/runs/{quote(row["last_run"])}">{_e(row["last_run"])}</a> '
            last += _state(row["last_run_state"] or "gone")
        if row["last_error"]:
            last += f'<div class="error">could not start: {_e(row["last_error"])}</div>'
        act = "resume" if row["paused"] else "pause"
        button = ""
        if not read_only and csrf:
            button = (
                f'<form class="inline" method="post" action="/schedules/{quote(name)}/act">'
                f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
                f'<button name="action" value="{act}">{act.capitalize()}</button></form>'
            )
        status = _state("paused" if row["paused"] else "active", f"schedule-{name}")
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{_e(row['when'])}</td><td>{_e(row['workflow'])}</td>"
            f"<td>{status} {button}</td><td>{upcoming}</td><td>{last}</td>"
            f"<td>{row['skipped']} skipped, {row['missed']} missed</td></tr>"
        )
    if not read_only and not csrf:
        parts.append('<p><a href="/login?next=/schedules">Log in</a> to pause or resume.</p>')
    parts.append(
        "<table><thead><tr><th>schedule</th><th>when</th><th>workflow</th><th>state</th>"
        "<th>next</th><th>last run</th><th>passed over</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return _layout("Schedules", "".join(parts), logged_in=logged_in, read_only=read_only)
