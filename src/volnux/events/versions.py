"""Semantic versions and the version specs Pointy-lang references carry.

``Name@1.2.3`` exact, ``Name@1.2`` and ``Name@v1`` the newest match,
``Name@latest`` and bare ``Name`` the newest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Version", "matches", "parse_spec", "parse_version"]

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


@dataclass(frozen=True, order=True, slots=True)
class Version:
    """A ``major.minor.patch`` version, ordered numerically."""

    major: int
    minor: int = 0
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_version(text: str) -> Version:
    """``"1.2.3"`` (or ``"1.2"``, ``"1"``, with an optional ``v``) as a Version."""
    m = _VERSION.match(str(text).strip())
    if not m:
        raise ValueError(f"version {text!r} is not of the form MAJOR.MINOR.PATCH")
    return Version(int(m[1]), int(m[2] or 0), int(m[3] or 0))


def parse_spec(text: str | None) -> tuple[int, ...] | None:
    """A reference's version spec as the numeric prefix it must match.

    None (bare name) and ``"latest"`` match everything and give ``None``.
    """
    if text is None or text == "latest":
        return None
    m = _VERSION.match(text)
    if not m:
        raise ValueError(f"version {text!r} is not one of 1.2.3, 1.2, v1 or latest")
    return tuple(int(g) for g in m.groups() if g is not None)


def matches(version: Version, prefix: tuple[int, ...] | None) -> bool:
    """True if ``version`` starts with the numeric ``prefix`` (None matches all)."""
    if prefix is None:
        return True
    return (version.major, version.minor, version.patch)[: len(prefix)] == prefix
