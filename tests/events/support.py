"""Helpers for registry tests: real git repositories and real wheels, in temporary folders."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

#: Keeps git from reading the machine's or the user's configuration.
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Volnux Tests",
    "GIT_AUTHOR_EMAIL": "tests@volnux.invalid",
    "GIT_COMMITTER_NAME": "Volnux Tests",
    "GIT_COMMITTER_EMAIL": "tests@volnux.invalid",
}


def charge_event(version: str, result: str, extra: str = "") -> str:
    """An events file defining ``Charge`` at ``version`` that returns ``result``."""
    return textwrap.dedent(
        f'''
        import volnux


        class Charge(volnux.Event):
            """Charge a card ({result})."""

            version = "{version}"
            {extra}

            def process(self, order_id: str = "o-1") -> str:
                return "{result}"
        '''
    )


def git(*args: str, cwd: Path) -> str:
    """Run git in ``cwd`` with the test identity; fail the test on error."""
    done = subprocess.run(
        [
            "git",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "user.email=tests@volnux.invalid",
            "-c",
            "user.name=Volnux Tests",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=False,
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


class Repo:
    """A bare repository (the registry) and a working clone to commit from."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "registry.git"
        self.work = root / "work"
        self.bare.mkdir(parents=True)
        git("init", "-q", "--bare", str(self.bare), cwd=root)
        git("init", "-q", str(self.work), cwd=root)
        git("remote", "add", "origin", self.url, cwd=self.work)

    @property
    def url(self) -> str:
        """The registry's ``file://`` URL."""
        return self.bare.as_uri()

    def commit(self, files: dict[str, str], message: str, tag: str | None = None) -> str:
        """Write ``files``, commit, push main (and ``tag``); return the commit id."""
        for rel, text in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=self.work)
        if tag:
            git("tag", "-a", tag, "-m", tag, cwd=self.work)
            git("push", "-q", "origin", f"refs/tags/{tag}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(
    out: Path, dist: str, version: str, files: dict[str, str], entry_points: dict[str, str]
) -> Path:
    """Write a pure-Python wheel by hand (a zip with a .dist-info folder); return its path.

    Built with zipfile rather than a build backend so that no network and no
    setuptools of a particular version is needed; pip installs it as any wheel.
    """
    tag = dist.replace("-", "_")
    info = f"{tag}-{version}.dist-info"
    contents: dict[str, bytes] = {rel: text.encode() for rel, text in files.items()}
    contents[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\nSummary: volnux test events\n"
    ).encode()
    contents[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: volnux-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    eps = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    contents[f"{info}/entry_points.txt"] = f"[volnux.events]\n{eps}".encode()
    record = [_record_line(name, data) for name, data in contents.items()]
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{tag}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in contents.items():
            z.writestr(name, data)
    return wheel


def pip_install(wheel: Path, target: Path) -> None:
    """Install ``wheel`` into ``target`` with pip, offline."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
