"""Git registries: event files fetched from a repository, pinned to a commit.

A registry is named in the configuration (``[registries.git.NAME]``, with a
``url`` and a ``ref``).  Its checkouts live in the cache folder::

    CACHE/NAME-<hash of url>/
        <commit>/             one checkout per commit, never changed once made
        refs/<ref>.commit     the commit the ref resolved to when last fetched

Without a refresh, the commit recorded for the ref is used as it is, so a
project's events do not change under it when someone pushes; only an explicit
refresh (``volnux events refresh``, or ``refresh=True``) fetches the ref
again.  A ref never fetched before is fetched on first use.  Old checkouts
are kept, so a run recorded against an older commit can still be resumed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ..errors import EventLoadError
from .sources import Source, load_folder

if TYPE_CHECKING:
    from ..config import GitRegistry
    from .base import EventSpec
    from .registry import EventRegistry

__all__ = ["Checkout", "checkout", "load_git"]

#: Seconds one git command may take (a first fetch of a big repository is slow).
GIT_TIMEOUT_S: Final = 600
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True, slots=True)
class Checkout:
    """One registry's files at one commit."""

    #: The configured registry.
    registry: GitRegistry
    #: The full commit id the ref resolved to.
    commit: str
    #: The checkout's root folder.
    root: Path
    #: The commit used before this call (None: never fetched before).
    previous: str | None
    #: True when this call fetched from the repository.
    fetched: bool

    @property
    def folder(self) -> Path:
        """The folder holding the event files (the configured ``path`` inside the root)."""
        return self.root / self.registry.path if self.registry.path else self.root

    @property
    def origin(self) -> str:
        """``git+URL@COMMIT``: what a run records as where its events came from."""
        return f"git+{self.registry.url}@{self.commit}"


def _home(registry: GitRegistry, cache: Path) -> Path:
    # The URL's hash is part of the name: pointing a name at another
    # repository must not reuse the old repository's checkouts.
    digest = hashlib.sha256(registry.url.encode()).hexdigest()[:10]
    return cache / f"{_UNSAFE.sub('_', registry.name)}-{digest}"


def _ref_file(home: Path, ref: str) -> Path:
    digest = hashlib.sha256(ref.encode()).hexdigest()[:8]
    return home / "refs" / f"{_UNSAFE.sub('_', ref)}-{digest}.commit"


def _git(registry: GitRegistry, *args: str, cwd: Path | None = None) -> str:
    """Run git; EventLoadError names the registry, the URL and git's own complaint."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}  # fail, never wait for a password
    command = ["git", "-c", "advice.detachedHead=false", "-c", "init.defaultBranch=main", *args]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise EventLoadError(
            f"git registry {registry.name!r} needs the git program, which is not on PATH; "
            "install git"
        ) from None
    except subprocess.TimeoutExpired:
        raise EventLoadError(
            f"git registry {registry.name!r}: 'git {args[0]}' of {registry.url} took longer "
            f"than {GIT_TIMEOUT_S} s"
        ) from None
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise EventLoadError(
            f"git registry {registry.name!r}: cannot fetch {registry.ref!r} from "
            f"{registry.url}: {said} (check url and ref in [registries.git.{registry.name}])"
        )
    return done.stdout.strip()


def _fetch(registry: GitRegistry, home: Path) -> str:
    """Fetch the ref into a new checkout; return its commit."""
    home.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=home))
    try:
        _git(registry, "init", "-q", str(work))
        try:
            # "--": a URL or ref that starts with "-" is data, never an option.
            _git(
                registry, "fetch", "-q", "--depth", "1", "--", registry.url, registry.ref, cwd=work
            )
            target = "FETCH_HEAD"
        except EventLoadError:
            # Some servers refuse a shallow fetch of a bare commit id: fetch
            # every branch and tag, then look the ref up locally.
            if not _COMMIT.match(registry.ref):
                raise
            _git(
                registry,
                "fetch",
                "-q",
                "--tags",
                "--",
                registry.url,
                # Not into refs/heads: git refuses to fetch into the checked-out branch.
                "+refs/heads/*:refs/remotes/origin/*",
                cwd=work,
            )
            target = registry.ref
        _git(registry, "checkout", "-q", "--detach", target, cwd=work)
        commit = _git(registry, "rev-parse", "HEAD", cwd=work)
        final = home / commit
        if final.is_dir():
            shutil.rmtree(work)  # another fetch made it first; checkouts never change
        else:
            try:
                os.rename(work, final)
            except OSError:
                if not final.is_dir():
                    raise
                shutil.rmtree(work)
        return commit
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(tmp, path)  # readers see the old commit or the new one, never half


def checkout(registry: GitRegistry, cache: Path, *, refresh: bool = False) -> Checkout:
    """The registry's checkout: the cached commit for its ref, or a fresh fetch.

    Fetches when ``refresh`` is True or when the ref was never fetched (or
    its checkout was deleted).
    """
    home = _home(registry, cache)
    pointer = _ref_file(home, registry.ref)
    previous: str | None = None
    if pointer.is_file():
        previous = pointer.read_text(encoding="utf-8").strip() or None
    if previous is not None and not refresh and (home / previous).is_dir():
        return Checkout(registry, previous, home / previous, previous, fetched=False)
    commit = _fetch(registry, home)
    _write_atomically(pointer, commit)
    return Checkout(registry, commit, home / commit, previous, fetched=True)


def load_git(
    registry: EventRegistry, git: GitRegistry, cache: Path, *, refresh: bool = False
) -> list[str]:
    """Add every event file of a git registry; return the files (for the run record).

    Each event's ``origin`` becomes ``git+URL@COMMIT (file)`` and its
    ``source`` names the registry, the ref and the commit.
    """
    found = checkout(git, cache, refresh=refresh)
    folder = found.folder
    if not folder.is_dir():
        raise EventLoadError(
            f"git registry {git.name!r}: {git.url}@{git.ref} (commit {found.commit[:12]}) has "
            f"no folder {git.path!r}; fix path in [registries.git.{git.name}]"
        )

    def source_for(path: Path) -> Source:
        return Source(
            kind="git",
            loadable=str(path),
            registry=git.name,
            ref=git.ref,
            commit=found.commit,
            url=git.url,
        )

    added: list[EventSpec] = load_folder(registry, folder, source_for)
    for spec in added:
        where = Path(spec.source.loadable).relative_to(found.root) if spec.source else "?"
        spec.origin = f"{found.origin} ({where})"
    return [str(p) for p in sorted({Path(s.source.loadable) for s in added if s.source})]
