"""The web view's JSON API, through the ASGI test client, over a real SQLite journal."""

from __future__ import annotations

import time
from datetime import date, timedelta

from starlette.routing import Route

from .conftest import TOKEN, Site

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_runs_are_listed_newest_first_filtered_and_paged(site: Site) -> None:
    extra = [site.run("Nap") for _ in range(5)]
    page = site.client.get("/api/runs", params={"limit": 3}).json()
    assert page["total"] == 7 and page["offset"] == 0 and page["limit"] == 3
    assert [r["id"] for r in page["runs"]] == extra[::-1][:3]
    rest = site.client.get("/api/runs", params={"limit": 3, "offset": 6}).json()
    assert [r["id"] for r in rest["runs"]] == [site.ok]
    failed = site.client.get("/api/runs", params={"state": "failed"}).json()
    assert [r["id"] for r in failed["runs"]] == [site.failed]
    assert failed["runs"][0]["failed_task"] == "Gate"
    today = date.today().isoformat()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert site.client.get("/api/runs", params={"since": today}).json()["total"] == 7
    assert site.client.get("/api/runs", params={"since": tomorrow}).json()["total"] == 0
    assert site.client.get("/api/runs", params={"until": today}).json()["total"] == 7
    named = site.client.get("/api/runs", params={"workflow": "WORKFLOW"}).json()
    assert named["total"] == 7  # a part of the name, any case


def test_bad_query_parameters_are_400_saying_which(site: Site) -> None:
    for params, says in (
        ({"state": "done"}, "state is one of"),
        ({"limit": "0"}, "limit 1 to 500"),
        ({"offset": "x"}, "whole numbers"),
        ({"since": "yesterday"}, "since is a date"),
        ({"since": "0001-01-01"}, "since '0001-01-01' is out of range"),
        ({"until": ""}, "until is a date"),
        ({"state": ""}, "state is one of"),
    ):
        answer = site.client.get("/api/runs", params=params)
        assert answer.status_code == 400 and says in answer.json()["error"], params


def test_a_failed_run_is_explained_with_what_retry_would_do(site: Site) -> None:
    run = site.client.get(f"/api/runs/{site.failed}").json()
    assert run["state"] == "failed" and run["kind"] == "run"
    assert run["counts"] == {"succeeded": 1, "failed": 1}
    assert [t["node"] for t in run["tasks"]] == ["Fetch", "Gate"]
    gate = run["tasks"][1]
    assert gate["state"] == "failed" and gate["error"].startswith("ValueError: <script>")
    text = "\n".join(run["explanation"])
    assert "Gate" in text and "ValueError" in text and f"volnux runs retry {site.failed}" in text
    assert run["actions"] == ["retry"]
    assert run["resume"]["rerun"] == ["Gate"] and "Fetch" in run["resume"]["kept"]
    only = site.client.get(f"/api/runs/{site.failed}", params={"state": "failed"}).json()
    assert [t["node"] for t in only["tasks"]] == ["Gate"] and only["tasks_shown"]["total"] == 1
    # A run id may be given by its start, as on the command line.
    assert site.client.get(f"/api/runs/{site.failed[:6]}").json()["id"] == site.failed


def test_a_task_shows_its_attempts_traceback_logs_and_result(site: Site) -> None:
    gate = site.client.get(f"/api/runs/{site.failed}/tasks/Gate").json()
    assert [a["attempt"] for a in gate["attempt_list"]] == [1]
    assert gate["attempt_list"][0]["state"] == "failed"
    assert "raise ValueError" in gate["traceback"]
    fetch = site.client.get(f"/api/runs/{site.failed}/tasks/Fetch").json()
    assert fetch["result"] == {"rows": 3}
    assert [line["message"] for line in fetch["logs"]] == ["fetched 3 rows"]
    logs = site.client.get(f"/api/runs/{site.failed}/logs", params={"node": "Fetch"}).json()
    assert [line["message"] for line in logs["logs"]] == ["fetched 3 rows"]
    missing = site.client.get(f"/api/runs/{site.failed}/tasks/Nope")
    assert missing.status_code == 404 and "no task 'Nope'" in missing.json()["error"]


def test_the_graph_comes_as_svg_and_dot(site: Site) -> None:
    svg = site.client.get(f"/api/runs/{site.failed}/graph.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert "<svg" in svg.text and "Gate" in svg.text
    dot = site.client.get(f"/api/runs/{site.failed}/graph.dot")
    assert dot.text.startswith("digraph") and "Fetch" in dot.text


def test_an_unknown_run_is_404(site: Site) -> None:
    answer = site.client.get("/api/runs/nosuchrun")
    assert answer.status_code == 404 and "no run 'nosuchrun'" in answer.json()["error"]
    page = site.client.get("/runs/nosuchrun")
    assert page.status_code == 404 and "Not found" in page.text


def test_acting_needs_the_token_and_nothing_is_noted_without_it(site: Site) -> None:
    url = f"/api/runs/{site.failed}/retry"
    bare = site.client.post(url)
    assert bare.status_code == 401 and "Authorization: Bearer TOKEN" in bare.json()["error"]
    wrong = site.client.post(url, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert site.notes(site.failed, "web-action") == []
    assert site.client.get(f"/api/runs/{site.failed}").json()["state"] == "failed"


def test_a_read_only_server_refuses_every_action(read_only_site: Site) -> None:
    site = read_only_site
    answer = site.client.post(f"/api/runs/{site.failed}/retry", headers=BEARER)
    assert answer.status_code == 403 and "read-only" in answer.json()["error"]
    assert site.notes(site.failed, "web-action") == []


def test_an_action_that_does_not_apply_is_409(site: Site) -> None:
    answer = site.client.post(f"/api/runs/{site.ok}/cancel", headers=BEARER)
    assert answer.status_code == 409
    assert "is succeeded: cancel does not apply" in answer.json()["error"]
    unknown = site.client.post(f"/api/runs/{site.ok}/explode", headers=BEARER)
    assert unknown.status_code == 404  # no such action: no such route
    assert site.notes(site.ok, "web-action") == []


def test_retry_with_the_token_runs_the_failed_task_again_and_notes_who(site: Site) -> None:
    site.marker.touch()
    answer = site.client.post(f"/api/runs/{site.failed}/retry", headers=BEARER)
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 30
    while site.client.get(f"/api/runs/{site.failed}").json()["state"] != "succeeded":
        assert time.monotonic() < deadline, "the retried run did not succeed"
        time.sleep(0.05)
    (noted,) = site.notes(site.failed, "web-action")
    assert noted["action"] == "retry" and noted["via"] == "bearer"
    assert noted["client"] == "testclient"
    run = site.client.get(f"/api/runs/{site.failed}").json()
    assert run["web_actions"][0]["text"].startswith("retry asked from testclient (bearer)")


def test_the_openapi_document_describes_every_api_route(site: Site) -> None:
    document = site.client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    described = set(document["paths"])
    served = {
        r.path.replace("graph.{fmt:str}", "graph.svg").replace("{node:path}", "{node}")
        for r in site.client.app.routes  # type: ignore[attr-defined]
        if isinstance(r, Route) and r.path.startswith("/api/") and r.path != "/api/openapi.json"
    }
    assert served <= described | {"/api/runs/{run_id}/graph.svg"}, served - described


def test_the_stream_sends_the_runs_then_what_changes(site: Site) -> None:
    text = site.client.get("/api/stream", params={"for": "0.5"}).text
    assert text.startswith(": volnux serve")
    assert "event: runs" in text and site.failed in text and site.ok in text
    one = site.client.get("/api/stream", params={"run": site.failed, "for": "0.5"}).text
    assert "event: run" in one and '"state": "failed"' in one and '"ended": true' in one


def test_runs_show_lists_what_was_asked_through_the_web_view(site: Site) -> None:
    from ..cli.support import invoke

    site.marker.touch()
    assert site.client.post(f"/api/runs/{site.failed}/retry", headers=BEARER).status_code == 200
    deadline = time.monotonic() + 30
    while site.client.get(f"/api/runs/{site.failed}").json()["state"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    shown = invoke("runs", "show", site.failed, "--store", str(site.root / "volnux.db"))
    assert "web: retry asked from testclient (bearer) through volnux serve" in shown.stdout


def test_the_start_of_several_runs_ids_is_409_listing_them(site: Site) -> None:
    ids = [site.ok, site.failed] + [site.run("Nap") for _ in range(30)]
    shared = next(c for c in "0123456789abcdef" if sum(1 for i in ids if i.startswith(c)) >= 2)
    answer = site.client.get(f"/api/runs/{shared}")
    assert answer.status_code == 409 and "give more of it" in answer.json()["error"]


def test_a_wide_group_is_drawn_collapsed_unless_asked_to_expand(site: Site) -> None:
    wide = site.run(" || ".join(["Nap"] * 30))
    collapsed = site.client.get(f"/api/runs/{wide}/graph.dot").text
    expanded = site.client.get(f"/api/runs/{wide}/graph.dot", params={"collapse": 0}).text
    one = site.client.get(f"/api/runs/{wide}/graph.dot", params={"collapse": 1}).text
    assert one == expanded
    assert "30 succeeded" in collapsed or collapsed.count("Nap") < 30
    assert expanded.count("Nap") >= 30 > collapsed.count("Nap")
    bad = site.client.get(f"/api/runs/{wide}/graph.dot", params={"collapse": "-1"})
    assert bad.status_code == 400 and "collapse is 0 or more" in bad.json()["error"]


def test_a_task_never_reached_is_shown_pending(site: Site) -> None:
    failed_early = site.run("Gate -> Fetch", marker=str(site.root / "never"))
    fetch = site.client.get(f"/api/runs/{failed_early}/tasks/Fetch").json()
    assert fetch["state"] == "pending" and fetch["attempt_list"] == []
    assert fetch["event"] == "Fetch@1.0.0"
