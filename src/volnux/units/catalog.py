"""The workflow units a project can run, by name and version.

Resolving ``orders``, ``orders@1.2`` or ``orders@latest`` follows the rules
event references follow (:mod:`volnux.events.versions`): an exact version, the
newest one matching a prefix, or, for a bare name, the version
``[workflows.pins]`` names, else the newest.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from ..errors import WorkflowNotFound, WorkflowUnitError
from ..events.versions import matches, parse_spec
from .manifest import WorkflowUnit

__all__ = ["WorkflowCatalog"]

#: Names listed when an unknown name has no close match.
_LISTED = 12


class WorkflowCatalog:
    """Workflow units by name and version, with the project's pins."""

    def __init__(
        self, units: Iterable[WorkflowUnit] = (), *, pins: Mapping[str, str] | None = None
    ) -> None:
        self._by_name: dict[str, dict[str, WorkflowUnit]] = {}
        self._pins: dict[str, str] = {}
        for unit in units:
            self.add(unit)
        for name, spec in (pins or {}).items():
            self.pin(name, spec)

    def add(self, unit: WorkflowUnit) -> WorkflowUnit:
        """Add one unit; the same name and version from two manifests is an error."""
        versions = self._by_name.setdefault(unit.name, {})
        existing = versions.get(str(unit.version))
        if existing is not None and existing.manifest != unit.manifest:
            raise WorkflowUnitError(
                f"workflow {unit.key} is defined twice: in {existing.manifest} "
                f"({existing.origin}) and in {unit.manifest} ({unit.origin}); "
                "give one of them another version"
            )
        versions[str(unit.version)] = unit
        return unit

    def pin(self, name: str, version: str) -> None:
        """Make a bare ``name`` resolve as ``name@version`` (ValueError if malformed)."""
        parse_spec(version)
        self._pins[name] = version

    @property
    def pins(self) -> Mapping[str, str]:
        """Workflow name to the version spec its bare references resolve to."""
        return dict(self._pins)

    def names(self) -> list[str]:
        """Every known workflow name, sorted."""
        return sorted(self._by_name)

    def versions(self, name: str) -> list[WorkflowUnit]:
        """Every version of ``name``, oldest first."""
        return sorted(self._by_name.get(name, {}).values(), key=lambda u: u.version)

    def units(self) -> list[WorkflowUnit]:
        """Every unit, by name, oldest version first."""
        return [unit for name in self.names() for unit in self.versions(name)]

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_name.values())

    def resolve(self, reference: str) -> WorkflowUnit:
        """The unit ``NAME[@SPEC]`` means; WorkflowNotFound says why there is none."""
        name, at, version = reference.partition("@")
        if at and not version:
            raise WorkflowNotFound(
                f"workflow reference {reference!r} has nothing after '@' "
                "(write NAME, NAME@1.2.3, NAME@1.2, NAME@v1 or NAME@latest)"
            )
        found = self._by_name.get(name)
        if not found:
            raise self._unknown(name)
        pinned = not at and name in self._pins
        wanted = self._pins[name] if pinned else (version or None)
        try:
            prefix = parse_spec(wanted)
        except ValueError as exc:
            raise WorkflowNotFound(f"workflow {name}: {exc}") from None
        candidates = [u for u in found.values() if matches(u.version, prefix)]
        if not candidates:
            have = "; ".join(f"{u.version} from {u.origin}" for u in self.versions(name))
            why = (
                f"workflow {name} is pinned to @{wanted} in the configuration "
                "([workflows.pins]), and no version matches it"
                if pinned
                else f"no version of workflow {name} matches @{wanted}"
            )
            raise WorkflowNotFound(f"{why}; found versions: {have}")
        return max(candidates, key=lambda u: u.version)

    def _unknown(self, name: str) -> WorkflowNotFound:
        close = difflib.get_close_matches(name, self._by_name, n=3, cutoff=0.6)
        if close:
            return WorkflowNotFound(
                f"unknown workflow {name!r}; did you mean {', '.join(close)}?", close
            )
        if not self._by_name:
            return WorkflowNotFound(
                f"unknown workflow {name!r} (no workflow units were found: name a folder "
                "of them in [workflows] of volnux.toml; see docs/workflows.md)"
            )
        more = ", ..." if len(self._by_name) > _LISTED else ""
        known = ", ".join(self.names()[:_LISTED])
        return WorkflowNotFound(f"unknown workflow {name!r} (known workflows: {known}{more})")
