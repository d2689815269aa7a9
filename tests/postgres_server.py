"""A PostgreSQL server for the tests: the one $VOLNUX_TEST_POSTGRES names, or a throwaway one.

With ``VOLNUX_TEST_POSTGRES`` set (a URL such as
``postgresql://postgres@127.0.0.1:5432/postgres``), the tests use that
server, each in a schema of its own.  Without it, :func:`start_cluster`
makes a cluster in a temporary folder with the system's PostgreSQL programs
(``initdb``, ``pg_ctl``), on a free loopback port, and the session stops it
at the end.  initdb refuses to run as root, so as root the cluster belongs
to the ``postgres`` user and its programs run as that user (``runuser``).

Speed over safety for the throwaway cluster: fsync is off, it is for tests.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ENV = "VOLNUX_TEST_POSTGRES"

HOW_TO_FIX = (
    f"the PostgreSQL tests need a server: set {ENV} to a URL of one "
    f"(e.g. {ENV}=postgresql://postgres@127.0.0.1:5432/postgres; each test uses a schema of "
    "its own and drops it), or install PostgreSQL's server programs so that the tests start "
    "a throwaway one (Debian/Ubuntu: apt-get install postgresql; macOS: brew install "
    "postgresql). scripts/test installs them as root on Debian"
)


class NoServer(Exception):
    """No server could be had; the message says why and how to fix it."""


@dataclass
class Cluster:
    """A throwaway cluster: its URL, and how to stop it."""

    url: str
    folder: Path
    data: Path
    pg_ctl: str
    as_user: list[str]

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and remove its folder."""
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def find_programs() -> tuple[str, str] | None:
    """``(initdb, pg_ctl)`` from PATH or Debian's versioned folders (newest first)."""
    initdb = shutil.which("initdb")
    if initdb:
        pg_ctl = shutil.which("pg_ctl") or str(Path(initdb).with_name("pg_ctl"))
        return initdb, pg_ctl
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        return None
    initdb = max(found, key=lambda path: int(Path(path).parts[-3].split(".")[0]))
    return initdb, str(Path(initdb).with_name("pg_ctl"))


def start_cluster() -> Cluster:
    """Start a throwaway cluster; NoServer (saying how to fix it) when one cannot be started."""
    programs = find_programs()
    if programs is None:
        raise NoServer(
            f"{ENV} is not set and no PostgreSQL server programs were found. " + HOW_TO_FIX
        )
    initdb, pg_ctl = programs
    folder = Path(tempfile.mkdtemp(prefix="volnux-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder, ignore_errors=True)
            raise NoServer(
                "the tests run as root, initdb refuses root, and there is no 'postgres' user "
                "to run it as. " + HOW_TO_FIX
            ) from None
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    steps = [
        [initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
        [
            pg_ctl, "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60",
            "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c full_page_writes=off -c max_connections=40 -c shared_buffers=16MB",
            "start",
        ],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run([*as_user, *step], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            shutil.rmtree(folder, ignore_errors=True)
            raise NoServer(
                f"could not start a throwaway PostgreSQL server ({Path(step[0]).name} "
                f"failed: {done.stderr.strip() or done.stdout.strip()} {tail}). " + HOW_TO_FIX
            )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return Cluster(url, folder, data, pg_ctl, as_user)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
