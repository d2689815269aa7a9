"""The web view in a real browser: headless Chromium, driven by Playwright, against a
real ``volnux serve``.

The other tests of the web view read its HTML; these check what only a browser
shows: that the pages' forms log in and act, that ``app.js`` follows the live
stream and recolours the run without a reload, and that the graph's SVG loads.

Chromium is not optional here: without it the test fails and says how to install
it (``scripts/test`` installs it as root on Debian).  ``$VOLNUX_CHROMIUM`` names
another browser binary.  The screenshot of the run's page is kept in
``$VOLNUX_TEST_ARTIFACTS``, else in ``.artifacts/`` at the repository's root.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .conftest import TOKEN, Site, serving

REPO = Path(__file__).resolve().parents[2]
#: How long any one thing may take to show (two slow cores, a cold browser).
WAIT_MS = 15_000
#: How long the retried run naps after its gate opens: long enough that the page
#: the retry's redirect lands on still shows it running, so that only the live
#: stream can turn it green.
NAP_S = 3


def chromium_path() -> str:
    """The Chromium binary to drive: ``$VOLNUX_CHROMIUM``, else ``chromium`` on PATH."""
    given = os.environ.get("VOLNUX_CHROMIUM")
    if given:
        if not Path(given).is_file():
            pytest.fail(f"$VOLNUX_CHROMIUM names {given}, which is not a file", pytrace=False)
        return given
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "the browser tests need Chromium: install it (sudo apt-get install chromium, "
            "or run scripts/test as root, which does) or name its binary in $VOLNUX_CHROMIUM",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium (Playwright's own browser download is not used)."""
    executable = chromium_path()
    expect.set_options(timeout=WAIT_MS)  # assertions wait as long as actions do
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


def events_env() -> dict[str, str]:
    """The server's environment: it imports the runs' events by module name
    (tests.serve.serve_events) when it retries one, so the repository's root
    goes on its PYTHONPATH."""
    paths = [str(REPO), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}


@contextmanager
def new_page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (its own cookies), closed on leaving: its open
    event stream must end before the server is stopped."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(WAIT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def artifacts() -> Path:
    """Where the screenshots go (kept after the test, for a person or CI to look at)."""
    folder = Path(os.environ.get("VOLNUX_TEST_ARTIFACTS") or REPO / ".artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_failed_run_is_retried_from_its_page_and_turns_green_live(
    site: Site, browser: Browser
) -> None:
    # Gate fails until its marker file exists; Nap then keeps the retried run
    # running for a while.
    run_id = site.run("Fetch -> Gate -> Nap", marker=str(site.marker), seconds=NAP_S)
    db = str(site.root / "volnux.db")
    with (
        serving(["--store", db, "--token", TOKEN], env=events_env()) as (base, _),
        new_page(browser) as page,
    ):
        # The runs page lists the failed run; its link opens the run's page.
        page.goto(base + "/")
        row = page.locator(f'[id="run-{run_id}"]')
        expect(row.locator(".state")).to_have_text("failed")
        row.get_by_role("link", name=run_id).click()
        page.wait_for_url(f"{base}/runs/{run_id}")

        # The run's page: failed, the event's error (escaped, shown as text), and
        # the graph, an SVG the browser drew.
        expect(page.locator("#run-state")).to_have_text("failed")
        expect(page.locator("div.error")).to_contain_text("<script>alert('gate')</script>")
        expect(page.locator("div.error")).to_contain_text("open is closed")
        graph = page.locator("img#graph")
        expect(graph).to_be_visible()
        page.wait_for_function("() => document.getElementById('graph').naturalWidth > 0")
        drawn = page.request.get(base + str(graph.get_attribute("src")))
        assert drawn.ok and drawn.headers["content-type"].startswith("image/svg+xml")

        # Not logged in: no buttons; the page's own link leads to the login form,
        # which brings us back here.
        expect(page.get_by_role("button", name="Retry failed tasks")).to_have_count(0)
        page.get_by_role("link", name="Log in", exact=True).click()
        page.locator('input[name="token"]').fill(TOKEN)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/runs/{run_id}")

        # Open the gate, then retry: the form posts and lands on the run's page,
        # which shows the run still running (Nap naps).
        site.marker.touch()
        page.get_by_role("button", name="Retry failed tasks").click()
        page.wait_for_url(f"{base}/runs/{run_id}?notice=*")
        expect(page.locator(".notice")).to_contain_text("retry: the run is running")
        state = page.locator("#run-state")
        expect(state).to_have_text("running")

        # From here on only app.js may change the page: mark this document, and
        # see the mark survive the run's end (a reload would drop it).
        page.evaluate(
            """() => {
                window.volnuxSamePage = true;
                const cell = document.getElementById('run-state');
                new MutationObserver(() => {
                    if (cell.textContent === 'succeeded' && !window.volnuxEndedAt) {
                        window.volnuxEndedAt = Date.now();
                    }
                }).observe(cell, {childList: true, characterData: true, subtree: true});
            }"""
        )
        expect(state).to_have_text("succeeded", timeout=WAIT_MS + NAP_S * 1000)
        expect(state).to_have_class("state state-succeeded")
        assert page.evaluate("() => window.volnuxSamePage === true"), "the page was reloaded"
        green = page.evaluate("() => getComputedStyle(document.getElementById('run-state')).color")
        assert green == "rgb(46, 125, 50)"  # --ok in style.css
        expect(page.locator("#task-Nap .state")).to_have_text("succeeded")
        expect(page.locator("#live")).to_have_text("run succeeded (reload for the details)")
        expect(page.locator("#run-counts")).to_have_text("3 succeeded")
        # app.js asked for the graph again (a fresh URL) once the run had ended,
        # however it paces its drawings; it says succeeded.
        # (The draw asked by the event that ended it comes a moment before the
        # observer hears of the state it set: 50 ms; the events are a second apart.)
        page.wait_for_function(
            "() => Number(document.getElementById('graph').src.split('?t=')[1])"
            " >= window.volnuxEndedAt - 50",
            timeout=WAIT_MS,
        )
        redrawn = str(graph.get_attribute("src"))
        page.wait_for_function("() => document.getElementById('graph').naturalWidth > 0")
        assert "succeeded" in page.request.get(base + redrawn).text()

        shot = artifacts() / "run-page-retried.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000, "the screenshot is (nearly) empty"

    assert site.journal.load_run(run_id).state.value == "succeeded"
    (noted,) = site.notes(run_id, "web-action")
    assert (noted["action"], noted["via"]) == ("retry", "session")


def test_the_runs_page_shows_a_retried_run_turn_green_live(site: Site, browser: Browser) -> None:
    db = str(site.root / "volnux.db")
    with (
        serving(["--store", db, "--token", TOKEN], env=events_env()) as (base, _),
        new_page(browser) as page,
    ):
        page.goto(base + "/")
        state = page.locator(f'[id="run-{site.failed}"] .state')
        expect(state).to_have_text("failed")
        page.evaluate("() => { window.volnuxSamePage = true; }")
        # A script retries the run (the token as a bearer); the page was open before.
        site.marker.touch()
        retry = urllib.request.Request(
            f"{base}/api/runs/{site.failed}/retry",
            method="POST",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(retry, timeout=30) as answer:
            assert json.loads(answer.read())["action"] == "retry"
        expect(state).to_have_text("succeeded")
        expect(state).to_have_class("state state-succeeded")
        assert page.evaluate("() => window.volnuxSamePage === true"), "the page was reloaded"
        expect(page.locator(f'[id="run-{site.ok}"] .state')).to_have_text("succeeded")
