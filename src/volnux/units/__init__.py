"""Workflow units: a workflow with a name, a version, its event sources and default inputs.

``volnux run orders@1.2`` finds the unit in the project's folders, installed
packages (entry-point group ``volnux.workflows``) or git registries, with the
version rules, pins, deprecation and refresh that events have.  See
docs/workflows.md.
"""

from .catalog import WorkflowCatalog
from .manifest import WorkflowUnit, find_manifests, read_manifest
from .sources import ENTRY_POINT_GROUP, project_units

__all__ = [
    "ENTRY_POINT_GROUP",
    "WorkflowCatalog",
    "WorkflowUnit",
    "find_manifests",
    "project_units",
    "read_manifest",
]
