"""The graph model Pointy-lang compiles to, and checks on it."""

from .model import (
    AttrValue,
    Block,
    Branch,
    EventRef,
    Graph,
    Group,
    Parallel,
    Position,
    Sequence,
    Task,
    children,
    iter_blocks,
)

__all__ = [
    "AttrValue",
    "Block",
    "Branch",
    "EventRef",
    "Graph",
    "Group",
    "Parallel",
    "Position",
    "Sequence",
    "Task",
    "children",
    "iter_blocks",
]
