"""The web view's pages: what they show, logins, CSRF, and escaping."""

from __future__ import annotations

import re
import time

from .conftest import TOKEN, Site


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def log_in(site: Site) -> None:
    answer = site.client.post(
        "/login", data={"token": TOKEN, "next": f"/runs/{site.failed}"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/runs/{site.failed}"
    cookie = answer.headers["set-cookie"]
    assert "volnux_session=" in cookie and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()


def test_the_runs_page_lists_runs_with_filters_and_live_updates(site: Site) -> None:
    page = site.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'id="run-{site.failed}"' in page.text and f'href="/runs/{site.ok}"' in page.text
    assert 'class="state state-failed"' in page.text and "/static/app.js" in page.text
    failed_only = site.client.get("/", params={"state": "failed"}).text
    assert site.failed in failed_only and site.ok not in failed_only
    assert site.client.get("/static/app.js").status_code == 200
    assert "EventSource" in site.client.get("/static/app.js").text


def test_a_run_page_shows_its_graph_tasks_error_and_explanation_escaped(site: Site) -> None:
    page = site.client.get(f"/runs/{site.failed}").text
    assert f'src="/api/runs/{site.failed}/graph.svg"' in page
    assert 'id="task-Gate"' in page and "What happened" in page
    assert "<script>alert" not in page  # the event's error, escaped
    assert "&lt;script&gt;alert(&#x27;gate&#x27;)&lt;/script&gt;" in page
    assert f'href="/login?next=/runs/{site.failed}"' in page  # not logged in: no buttons
    assert 'name="action"' not in page
    task = site.client.get(f"/runs/{site.failed}/tasks/Gate").text
    assert "Traceback" in task and "raise ValueError" in task


def test_a_login_gives_buttons_that_act_with_the_csrf_token(site: Site) -> None:
    wrong = site.client.post("/login", data={"token": "nope", "next": "/"})
    assert wrong.status_code == 401 and "not the access token" in wrong.text
    log_in(site)
    page = site.client.get(f"/runs/{site.failed}").text
    assert 'value="retry"' in page and "Log out" in page
    csrf = csrf_of(page)
    site.marker.touch()
    acted = site.client.post(
        f"/runs/{site.failed}/act", data={"action": "retry", "csrf": csrf}, follow_redirects=False
    )
    assert acted.status_code == 303 and acted.headers["location"].startswith(f"/runs/{site.failed}")
    deadline = time.monotonic() + 30
    while site.client.get(f"/api/runs/{site.failed}").json()["state"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (noted,) = site.notes(site.failed, "web-action")
    assert (noted["action"], noted["via"]) == ("retry", "session")
    shown = site.client.get(f"/runs/{site.failed}").text
    assert "retry asked from testclient (session) through volnux serve" in shown


def test_with_a_session_but_without_its_csrf_token_nothing_happens(site: Site) -> None:
    log_in(site)
    form = site.client.post(f"/runs/{site.failed}/act", data={"action": "retry", "csrf": "forged"})
    assert form.status_code == 403 and "CSRF token is missing or wrong" in form.text
    api = site.client.post(f"/api/runs/{site.failed}/retry")  # the cookie alone
    assert api.status_code == 403
    assert site.notes(site.failed, "web-action") == []


def test_a_cross_site_form_post_without_the_session_is_refused(site: Site) -> None:
    # What a page elsewhere could make a browser send: the cookie is SameSite=Strict,
    # so it comes without it.
    answer = site.client.post(
        f"/runs/{site.failed}/act",
        data={"action": "retry", "csrf": ""},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/x"},
    )
    assert answer.status_code == 401
    assert site.notes(site.failed, "web-action") == []


def test_logging_out_ends_the_session(site: Site) -> None:
    log_in(site)
    site.client.post("/logout", follow_redirects=False)
    page = site.client.get(f"/runs/{site.failed}").text
    assert 'name="action"' not in page


def test_a_login_never_sends_you_to_another_site(site: Site) -> None:
    answer = site.client.post(
        "/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"
