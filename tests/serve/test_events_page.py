"""The events page: what the project loads, as ``volnux events list`` finds it."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from volnux.cli.serve import _project_events
from volnux.serve import Access, make_app
from volnux.store import SQLiteJournal

EVENTS = '''
import volnux

@volnux.event(
    name="Charge", version="1.0.0", deprecated=volnux.Deprecated(reason="use 2.0: <b>faster</b>")
)
def charge_v1(amount: int = 1):
    """Charge a card."""
    return amount

@volnux.event(name="Charge", version="2.0.0", changelog={"2.0.0": "charges in cents"})
def charge_v2(amount: int = 1):
    """Charge a card, in cents."""
    return amount
'''


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "ev.py").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "volnux.toml").write_text('events = ["ev.py"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    journal = SQLiteJournal(tmp_path / "volnux.db")
    with TestClient(make_app(journal, Access("events-token-1"), events=_project_events)) as c:
        yield c
    journal.close()


def test_every_event_version_with_its_deprecation_and_changelog(client: TestClient) -> None:
    (charge,) = client.get("/api/events").json()["events"]
    assert charge["name"] == "Charge"
    by_version = {v["version"]: v for v in charge["versions"]}
    assert set(by_version) == {"1.0.0", "2.0.0"}
    assert by_version["1.0.0"]["deprecated"]["reason"] == "use 2.0: <b>faster</b>"
    assert by_version["2.0.0"]["changelog"] == {"2.0.0": "charges in cents"}
    assert by_version["2.0.0"]["doc"] == "Charge a card, in cents."
    page = client.get("/events").text
    assert "id='event-Charge'" in page and "2.0.0: charges in cents" in page
    assert "&lt;b&gt;faster&lt;/b&gt;" in page and "<b>faster</b>" not in page


def test_a_broken_events_file_is_said_on_the_page(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "ev.py").write_text("import volnux\nthis is not python\n", encoding="utf-8")
    data = client.get("/api/events").json()
    assert data["events"] == [] and "ev.py" in data["error"]
    assert "ev.py" in client.get("/events").text
