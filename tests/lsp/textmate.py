"""A small TextMate tokenizer, enough to test editors/vscode's grammar without node.

It follows what editors do with a TextMate grammar: lines are scanned one at
a time (with their ``\\n``); at each spot the rule whose regex matches
earliest wins, the first listed on a tie, and inside a ``begin``/``end``
region its ``end`` comes first on a tie; ``match`` rules scope what they
match (and their ``captures``), ``begin`` rules open a region that lasts,
across lines, until ``end`` matches.  ``include`` of ``#name`` and ``$self``
is followed.  The regexes are compiled by Python's ``re``: the grammar keeps
to what both ``re`` and Oniguruma (the editors' engine) read the same way,
and :func:`oniguruma_only` lists what would break that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Grammar", "Scoped", "oniguruma_only"]

# Read differently (or not at all) by one of the two engines.
_UNSHARED = {
    r"(?<": "named group or lookbehind with a name: Python spells groups (?P<name>...)",
    r"(?>": "atomic group",
    r"\h": "Oniguruma's hex digit class",
    r"\G": "Oniguruma's end-of-previous-match anchor",
    r"\A": "start of string: a line in an editor",
    r"\z": "end of string",
    r"\Z": "end of string",
    r"\K": "keep",
    r"\p{": "Unicode property",
    r"*+": "possessive quantifier",
    r"++": "possessive quantifier",
    r"?+": "possessive quantifier",
}


def oniguruma_only(pattern: str) -> list[str]:
    """What in ``pattern`` Python's re and Oniguruma would not read alike."""
    # `(?<=` and `(?<!` are lookbehinds both engines read alike.
    plain = pattern.replace("(?<=", "").replace("(?<!", "")
    return [f"{token}: {why}" for token, why in _UNSHARED.items() if token in plain]


@dataclass(frozen=True)
class Scoped:
    """A run of text with the same scopes: ``text`` from ``start`` (offset in the whole text)."""

    start: int
    text: str
    scopes: tuple[str, ...]


@dataclass
class _Frame:
    scopes: tuple[str, ...]
    rules: list[dict[str, Any]]
    end: re.Pattern[str] | None = None
    end_captures: dict[str, Any] | None = None


class Grammar:
    """A TextMate grammar (the JSON object) that tokenizes text."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.scope = str(data["scopeName"])
        self._compiled: dict[str, re.Pattern[str]] = {}

    def regexes(self) -> Iterator[str]:
        """Every regex of the grammar (``match``, ``begin``, ``end``)."""
        stack: list[Any] = [self.data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for key, value in item.items():
                    if key in ("match", "begin", "end") and isinstance(value, str):
                        yield value
                    else:
                        stack.append(value)
            elif isinstance(item, list):
                stack.extend(item)

    def _regex(self, pattern: str) -> re.Pattern[str]:
        if pattern not in self._compiled:
            self._compiled[pattern] = re.compile(pattern)
        return self._compiled[pattern]

    def _rules(self, patterns: list[dict[str, Any]], seen: frozenset[str] = frozenset()) -> list:
        """``patterns`` with every include replaced by the rules it names."""
        out: list[dict[str, Any]] = []
        for pattern in patterns:
            ref = pattern.get("include")
            if ref is None:
                out.append(pattern)
                continue
            if ref in seen:
                continue
            if ref == "$self":
                target = self.data["patterns"]
            elif ref.startswith("#"):
                entry = self.data["repository"][ref[1:]]
                has_own = "match" in entry or "begin" in entry
                target = [entry] if has_own else entry.get("patterns", [])
            else:
                raise ValueError(f"include {ref!r}: only #name and $self are supported")
            out.extend(self._rules(target, seen | {ref}))
        return out

    def tokenize(self, text: str) -> list[Scoped]:
        """The runs of ``text`` and their scopes (line ends included)."""
        stack = [_Frame((self.scope,), self._rules(self.data["patterns"]))]
        scopes: list[tuple[str, ...]] = []
        for line in text.split("\n"):
            scopes.extend(self._line(line + "\n", stack))
        scopes = scopes[: len(text)]
        runs: list[Scoped] = []
        for i, (char, scope) in enumerate(zip(text, scopes, strict=True)):
            if runs and runs[-1].scopes == scope and runs[-1].start + len(runs[-1].text) == i:
                last = runs[-1]
                runs[-1] = Scoped(last.start, last.text + char, scope)
            else:
                runs.append(Scoped(i, char, scope))
        return runs

    def scopes_at(self, text: str) -> list[tuple[str, ...]]:
        """The scopes of each character of ``text``."""
        out: list[tuple[str, ...]] = []
        for run in self.tokenize(text):
            out.extend([run.scopes] * len(run.text))
        return out

    def _line(self, line: str, stack: list[_Frame]) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        pos = 0
        while pos < len(line):
            frame = stack[-1]
            best: tuple[int, int, dict[str, Any] | None, re.Match[str]] | None = None
            if frame.end is not None:
                m = frame.end.search(line, pos)
                if m is not None:
                    best = (m.start(), -1, None, m)
            for order, rule in enumerate(frame.rules):
                m = self._regex(rule.get("match") or rule["begin"]).search(line, pos)
                if m is not None and (best is None or (m.start(), order) < best[:2]):
                    best = (m.start(), order, rule, m)
            if best is None:
                out.extend([frame.scopes] * (len(line) - pos))
                break
            start, _, rule, m = best
            out.extend([frame.scopes] * (start - pos))
            if rule is None:  # the region's end
                out.extend(_captured(m, frame.scopes, frame.end_captures))
                stack.pop()
            elif "match" in rule:
                own = _add(frame.scopes, rule.get("name"))
                out.extend(_captured(m, own, rule.get("captures")))
            else:
                own = _add(frame.scopes, rule.get("name"))
                out.extend(_captured(m, own, rule.get("beginCaptures") or rule.get("captures")))
                inner = _add(own, rule.get("contentName"))
                stack.append(
                    _Frame(
                        inner,
                        self._rules(rule.get("patterns", [])),
                        self._regex(rule["end"]),
                        rule.get("endCaptures") or rule.get("captures"),
                    )
                )
            if m.end() == start:  # an empty match: step over one character
                out.append(stack[-1].scopes)
                pos = start + 1
            else:
                pos = m.end()
        return out


def _add(scopes: tuple[str, ...], name: str | None) -> tuple[str, ...]:
    return (*scopes, *name.split()) if name else scopes


def _captured(
    m: re.Match[str], scopes: tuple[str, ...], captures: dict[str, Any] | None
) -> list[tuple[str, ...]]:
    """The scopes of each character of the match, its captures' names added."""
    out = [scopes] * (m.end() - m.start())
    for group, spec in sorted((captures or {}).items(), key=lambda item: int(item[0])):
        index = int(group)
        if index > (m.re.groups or 0) or m.start(index) < 0 or "name" not in spec:
            continue
        for i in range(m.start(index) - m.start(), m.end(index) - m.start()):
            out[i] = _add(out[i], spec["name"])
    return out
