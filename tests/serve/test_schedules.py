"""The schedules in the web view: the page, the API, pause and resume, and the
scheduler the app starts and stops with itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import volnux
from volnux.schedules import Schedule
from volnux.schedules.firing import Scheduler
from volnux.serve import Access, make_app
from volnux.store import SQLiteJournal

from . import serve_events
from .conftest import TOKEN
from .test_pages import csrf_of

BEARER = {"Authorization": f"Bearer {TOKEN}"}


class Served:
    def __init__(self, root: Path, *, firing: bool) -> None:
        (root / "fetch.pty").write_text("Fetch\n")
        self.journal = SQLiteJournal(root / "volnux.db")
        self.schedules = [
            Schedule("tick", root / "fetch.pty", every=1, overlap="allow"),
            Schedule("nightly", root / "fetch.pty", cron="30 2 * * *", timezone="Europe/Berlin"),
        ]
        self.scheduler = None
        if firing:
            self.scheduler = Scheduler(
                self.journal,
                lambda: self.schedules,
                lambda s: volnux.Workflow.from_file(s.workflow, [serve_events]),
            )
        app = make_app(
            self.journal,
            Access(TOKEN),
            schedules=lambda: self.schedules,
            scheduler=self.scheduler,
        )
        self.client = TestClient(app)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    made = Served(tmp_path, firing=False)
    yield made
    made.client.close()
    made.journal.close()


def test_the_api_lists_the_schedules_with_their_next_slots(served: Served) -> None:
    data = served.client.get("/api/schedules").json()
    rows = {r["name"]: r for r in data["schedules"]}
    assert set(rows) == {"tick", "nightly"} and data["firing"] is False
    assert rows["nightly"]["when"] == "cron 30 2 * * * (Europe/Berlin)"
    assert [s["local"][11:] for s in rows["nightly"]["next"]] == ["02:30:00"] * 3


def test_pausing_needs_the_token_and_is_kept_in_the_journal(served: Served) -> None:
    refused = served.client.post("/api/schedules/nightly/pause")
    assert refused.status_code == 401
    done = served.client.post("/api/schedules/nightly/pause", headers=BEARER)
    assert done.status_code == 200 and done.json() == {
        "schedule": "nightly",
        "action": "pause",
        "paused": True,
    }
    [row] = [
        r for r in served.client.get("/api/schedules").json()["schedules"] if r["name"] == "nightly"
    ]
    assert row["paused"] is True and row["next"] == []
    assert "bearer" in row["changed_by"] and "volnux serve" in row["changed_by"]
    again = served.client.post("/api/schedules/nightly/resume", headers=BEARER)
    assert again.json()["paused"] is False
    missing = served.client.post("/api/schedules/weekly/pause", headers=BEARER)
    assert missing.status_code == 404 and missing.json() == {"error": "no schedule 'weekly'"}


def test_the_page_pauses_a_schedule_after_a_login_with_its_csrf_token(served: Served) -> None:
    page = served.client.get("/schedules").text
    assert "nightly" in page and "Log in</a> to pause or resume" in page
    login = served.client.post("/login", data={"token": TOKEN, "next": "/schedules"})
    page = login.text
    assert 'value="pause"' in page
    forged = served.client.post("/schedules/nightly/act", data={"action": "pause", "csrf": "x"})
    assert forged.status_code == 403
    done = served.client.post(
        "/schedules/nightly/act",
        data={"action": "pause", "csrf": csrf_of(page)},
        follow_redirects=True,
    )
    assert "schedule nightly paused" in done.text and 'value="resume"' in done.text


def test_the_app_fires_the_schedules_while_it_runs_and_stops_with_itself(tmp_path: Path) -> None:
    served = Served(tmp_path, firing=True)
    with served.client:  # the app's lifespan: the scheduler starts
        deadline = time.monotonic() + 15
        while not served.journal.list_runs() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert served.journal.list_runs(), "no slot fired in 15 s"
        assert served.client.get("/api/schedules").json()["firing"] is True
    assert served.scheduler is not None and not served.scheduler._loop.is_alive()  # type: ignore[union-attr]
    count = len(served.journal.list_runs(limit=1000))
    time.sleep(1.5)
    assert len(served.journal.list_runs(limit=1000)) == count  # stopped: nothing more fires
    runs = served.journal.list_runs(limit=1000)
    assert all(r.id.startswith("tick-") for r in runs)
    served.journal.close()
