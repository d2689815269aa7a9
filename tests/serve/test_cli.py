"""``volnux serve`` as a user starts it: a real uvicorn server on a loopback port."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from ..cli.support import invoke
from .conftest import Site, serving


def post(url: str, token: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, method="POST", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_server_prints_its_address_and_a_token_that_acts(site: Site, tmp_path: Path) -> None:
    db = str(tmp_path / "volnux.db")
    site.journal.close()
    with serving(["--store", db], env={"VOLNUX_SERVE_TOKEN": ""}) as (base, lines):
        runs = json.loads(urllib.request.urlopen(base + "/api/runs", timeout=5).read())
        assert {r["id"] for r in runs["runs"]} == {site.ok, site.failed}
        page = urllib.request.urlopen(base + f"/runs/{site.failed}", timeout=5).read().decode()
        assert "Gate" in page
    printed = "\n".join(lines)
    assert f"volnux serve: {base}/ over {db}" in printed
    token = printed.split("access token (for actions): ")[1].split()[0]
    assert len(token) >= 24
    # The token printed was the one that acted (the run had already succeeded: 409).
    with serving(["--store", db, "--token", token]) as (base, _):
        status, body = post(f"{base}/api/runs/{site.ok}/cancel", token)
        assert status == 409 and "cancel does not apply" in str(body["error"])
        status, _ = post(f"{base}/api/runs/{site.ok}/cancel", "another-token-123")
        assert status == 401


def test_the_token_may_come_from_the_environment_and_is_then_not_printed(
    site: Site, tmp_path: Path
) -> None:
    db = str(tmp_path / "volnux.db")
    with serving(["--store", db], env={"VOLNUX_SERVE_TOKEN": "from-the-env-42"}) as (base, lines):
        status, _ = post(f"{base}/api/runs/{site.ok}/cancel", "from-the-env-42")
        assert status == 409
    assert "from-the-env-42" not in "\n".join(lines)


def test_binding_beyond_loopback_needs_a_token(site: Site, tmp_path: Path) -> None:
    db = str(tmp_path / "volnux.db")
    refused = invoke("serve", "--store", db, "--host", "0.0.0.0")
    assert refused.exit_code == 2
    assert "--host 0.0.0.0 is not a loopback address" in refused.stderr
    short = invoke("serve", "--store", db, "--token", "short")
    assert short.exit_code == 2 and "at least 8 characters" in short.stderr


def test_a_read_only_server_says_so(site: Site, tmp_path: Path) -> None:
    db = str(tmp_path / "volnux.db")
    with serving(["--store", db, "--read-only"]) as (base, lines):
        status, body = post(f"{base}/api/runs/{site.failed}/retry", "whatever-token")
        assert status == 403 and "read-only" in str(body["error"])
    assert "read-only: every action is refused" in "\n".join(lines)


def test_a_server_with_a_stream_open_stops_promptly_and_cleanly(site: Site, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from .conftest import free_port

    db = str(tmp_path / "volnux.db")
    site.journal.close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "volnux", "serve", "--store", db, "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VOLNUX_SERVE_TOKEN": "stream-token-0123"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # the server is up ...
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        # ... a browser follows the runs (a stream that never ends of itself) ...
        stream = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stream", timeout=30)
        assert stream.readline().startswith(b": volnux serve")
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # ... and the server is asked to stop
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - asked
    finally:
        if proc.poll() is None:
            proc.kill()
    # uvicorn ends by raising the signal it caught again, as process managers expect.
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert took < 6, f"took {took:.1f} s to stop"
    assert "Traceback" not in err and "ERROR" not in err, err
