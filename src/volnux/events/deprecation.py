"""Deprecated event versions: how an author marks one, and how a run notices.

An author marks a version::

    class Charge(volnux.Event):
        version = "1.0.0"
        deprecated = volnux.Deprecated(
            reason="charges twice on retry",
            since="1.1.0",
            replacement="Charge@2",
            changelog={"1.1.0": "deprecated: charges twice on retry"},
        )

:func:`deprecations` is pure: given the events a workflow uses, it says which
are deprecated.  The caller decides what to do: warn once per run
(:func:`warn`), print a line (``volnux validate``), or refuse to start
(:func:`refuse`, strict mode).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..errors import DeprecatedEventRefused
from .versions import Version, parse_version

if TYPE_CHECKING:
    from .base import EventSpec

__all__ = [
    "Deprecated",
    "DeprecatedEventRefused",
    "DeprecationNotice",
    "EventDeprecationWarning",
    "deprecations",
    "refuse",
    "warn",
]


class EventDeprecationWarning(DeprecationWarning):
    """Warned (once per run) when a workflow uses a deprecated event version."""


def check_changelog(changelog: Mapping[str, str], owner: str) -> Mapping[str, str]:
    """``changelog`` as a read-only mapping, newest version first; ValueError if malformed."""
    if not isinstance(changelog, Mapping):
        raise ValueError(f"{owner}: changelog must be a mapping of version to text")
    entries: list[tuple[Version, str, str]] = []
    for version, text in changelog.items():
        if not isinstance(text, str):
            raise ValueError(f"{owner}: changelog entry {version!r} must be text")
        try:
            parsed = parse_version(version)
        except ValueError as exc:
            raise ValueError(f"{owner}: changelog key {exc}") from None
        entries.append((parsed, str(parsed), text))
    entries.sort(reverse=True)
    return MappingProxyType({key: text for _, key, text in entries})


@dataclass(frozen=True)
class Deprecated:
    """Marks an event version as deprecated; shown by ``volnux events show``."""

    #: Why it should no longer be used (one sentence).
    reason: str
    #: The version in which it was deprecated (None: not stated).
    since: str | None = None
    #: What to use instead, as a reference (``"Charge@2"``) or free text.
    replacement: str | None = None
    #: Version to what changed in it, shown newest first.
    changelog: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("Deprecated(reason=...) must say why, in words")
        if self.since is not None:
            # Stored normalised ("1.1" -> "1.1.0") so every display agrees.
            object.__setattr__(self, "since", str(parse_version(self.since)))
        object.__setattr__(self, "changelog", check_changelog(self.changelog, "Deprecated"))

    def describe(self) -> str:
        """``since 1.1.0: reason; use Charge@2 instead``."""
        since = f" since {self.since}" if self.since else ""
        instead = f"; use {self.replacement} instead" if self.replacement else ""
        return f"deprecated{since}: {self.reason}{instead}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (for ``--json`` output and run notes)."""
        return {
            "reason": self.reason,
            "since": self.since,
            "replacement": self.replacement,
            "changelog": dict(self.changelog),
        }


@dataclass(frozen=True, slots=True)
class DeprecationNotice:
    """One deprecated event version a workflow uses, and the nodes that use it."""

    #: ``Name@version``.
    event: str
    #: Node ids that run it, in the order given (empty when none were named).
    nodes: tuple[str, ...]
    #: What the author said.
    deprecated: Deprecated
    #: Where the event came from.
    origin: str

    @property
    def message(self) -> str:
        """One line: which event, which nodes, why, and what to use instead."""
        plural = "s" if len(self.nodes) > 1 else ""
        used = f" (node{plural} {', '.join(self.nodes)})" if self.nodes else ""
        return f"{self.event} is {self.deprecated.describe()}{used}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form, for a run note."""
        return {
            "event": self.event,
            "nodes": list(self.nodes),
            "origin": self.origin,
            **self.deprecated.as_dict(),
        }


def deprecations(
    uses: Mapping[str, EventSpec] | Iterable[EventSpec],
) -> list[DeprecationNotice]:
    """The deprecated event versions among ``uses`` (node id -> spec, or specs).

    One notice per event version, however many nodes use it, in order of
    first use.
    """
    pairs: Iterable[tuple[str | None, EventSpec]]
    pairs = uses.items() if isinstance(uses, Mapping) else ((None, spec) for spec in uses)
    found: dict[str, tuple[EventSpec, list[str]]] = {}
    for node, spec in pairs:
        if spec.deprecated is None:
            continue
        _, nodes = found.setdefault(spec.key, (spec, []))
        if node is not None and node not in nodes:
            nodes.append(node)
    return [
        DeprecationNotice(key, tuple(nodes), spec.deprecated, spec.origin)
        for key, (spec, nodes) in found.items()
        if spec.deprecated is not None
    ]


def warn(notices: Iterable[DeprecationNotice], *, stacklevel: int = 2) -> None:
    """Issue one :class:`EventDeprecationWarning` per notice (call once per run)."""
    for notice in notices:
        warnings.warn(notice.message, EventDeprecationWarning, stacklevel=stacklevel + 1)


def refuse(
    notices: Iterable[DeprecationNotice],
    where: str = "",
    positions: Mapping[str, str] | None = None,
) -> None:
    """Strict mode: raise DeprecatedEventRefused naming each node, event and replacement.

    ``where`` names the workflow; ``positions`` maps node ids to ``file:line:col``.
    """
    found = list(notices)
    if not found:
        return
    prefix = f"{where}: " if where else ""
    lines = [f"  {_located(n, positions)}{n.message}" for n in found]
    raise DeprecatedEventRefused(
        f"{prefix}strict mode refuses deprecated events; nothing was run:\n"
        + "\n".join(lines)
        + "\nswitch to the replacement, or turn strict mode off (--no-strict, or "
        "strict = false in volnux.toml)"
    )


def _located(notice: DeprecationNotice, positions: Mapping[str, str] | None) -> str:
    if not positions or not notice.nodes or notice.nodes[0] not in positions:
        return ""
    return f"{positions[notice.nodes[0]]}: "
