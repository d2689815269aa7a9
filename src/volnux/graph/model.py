"""The immutable model that Pointy-lang compiles to.

A workflow is a tree of *blocks*::

    Block = Task | Group | Sequence | Parallel

* :class:`Task`: one occurrence of an event (``Charge@1.2[timeout=5] * 3``),
  with its own branch list.  Its ``id`` is stable: the event name for the
  first occurrence, ``Name#2``, ``Name#3`` ... for later ones, in source order.
  A task whose ``workflow`` flag is set runs workflow unit ``ref`` as a
  child run (``<orders@1.2>``, a sub-workflow); its id is ``workflow:orders``
  (``workflow:orders#2`` ...).
* :class:`Group`: ``{ ... }`` or ``( ... )`` around a block; it takes
  attributes, retries and branches like a task.  Ids are ``group:1``,
  ``group:2`` ... in source order (a colon never appears in event names).
* :class:`Sequence`: ``a -> b |-> c``; ``pipes[i]`` says whether step ``i``
  hands its result to step ``i + 1``.
* :class:`Parallel`: ``a || b || c``.

Long chains are flat: ``A -> B -> ... -> Z`` is one :class:`Sequence` with
26 steps, so no code needs to recurse on a chain's length.  Nesting only comes
from groups and branch lists the author wrote.

Source positions are kept (``pos``) but do not take part in equality, so a
graph re-parsed from its formatted text compares equal to the original.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

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

AttrValue = str | int | float | bool


class _Value:
    """Base of the model's classes: pickled as their fields, rebuilt by ``__init__``.

    A slots dataclass otherwise pickles through dataclasses' own
    ``__setstate__``, which looks its fields up again for every object:
    loading a cached 10,000-step graph (see :mod:`volnux.dsl.cache`) took
    81 ms that way and takes 30 ms this way.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        cls = type(self)
        names: tuple[str, ...] = cls.__slots__  # the fields, in order
        return cls, tuple(getattr(self, name) for name in names)


@dataclass(frozen=True, slots=True)
class Position(_Value):
    """A 1-based line and column in the source text."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


NOWHERE = Position(0, 0)


@dataclass(frozen=True, slots=True)
class EventRef(_Value):
    """A reference to an event: dotted name and optional version spec.

    ``version`` is the text after ``@`` as written (``"1.2.3"``, ``"1.2"``,
    ``"v1"``, ``"latest"``) or ``None`` for a bare name.
    """

    name: str
    version: str | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


@dataclass(frozen=True, slots=True)
class Branch(_Value):
    """``descriptor -> body`` (or ``descriptor |-> body``) in a branch list."""

    descriptor: int
    body: Block
    pipe: bool = False
    pos: Position = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Task(_Value):
    """One occurrence of an event in the graph."""

    id: str
    ref: EventRef
    attrs: tuple[tuple[str, AttrValue], ...] = ()
    attempts: int | None = None
    branches: tuple[Branch, ...] = ()
    pos: Position = field(default=NOWHERE, compare=False)
    #: True: ``ref`` names a workflow unit run as a child run (``<orders@1.2>``).
    workflow: bool = False

    @property
    def options(self) -> Mapping[str, AttrValue]:
        """The attributes as a read-only mapping."""
        return MappingProxyType(dict(self.attrs))


@dataclass(frozen=True, slots=True)
class Group(_Value):
    """A bracketed block that takes attributes, retries and branches."""

    id: str
    body: Block
    attrs: tuple[tuple[str, AttrValue], ...] = ()
    attempts: int | None = None
    branches: tuple[Branch, ...] = ()
    pos: Position = field(default=NOWHERE, compare=False)
    #: ``"{"`` or ``"("``: how the author bracketed it (kept for formatting).
    bracket: str = field(default="(", compare=False)

    @property
    def options(self) -> Mapping[str, AttrValue]:
        """The attributes as a read-only mapping."""
        return MappingProxyType(dict(self.attrs))


@dataclass(frozen=True, slots=True)
class Sequence(_Value):
    """Steps run one after another; ``pipes[i]``: step i hands its result on."""

    steps: tuple[Block, ...]
    pipes: tuple[bool, ...]

    def __post_init__(self) -> None:
        if len(self.steps) < 2 or len(self.pipes) != len(self.steps) - 1:
            raise ValueError("a Sequence needs n >= 2 steps and n - 1 pipe flags")


@dataclass(frozen=True, slots=True)
class Parallel(_Value):
    """Members run at the same time."""

    members: tuple[Block, ...]

    def __post_init__(self) -> None:
        if len(self.members) < 2:
            raise ValueError("a Parallel needs at least two members")


Block = Task | Group | Sequence | Parallel


def children(block: Block) -> tuple[Block, ...]:
    """The blocks directly inside ``block`` (branch bodies included), in order."""
    if isinstance(block, Task):
        return tuple(b.body for b in block.branches)
    if isinstance(block, Group):
        return (block.body, *(b.body for b in block.branches))
    if isinstance(block, Sequence):
        return block.steps
    return block.members


def iter_blocks(root: Block) -> Iterator[Block]:
    """Every block under ``root``, pre-order, source order, without recursion."""
    stack: list[Block] = [root]
    while stack:
        block = stack.pop()
        yield block
        stack.extend(reversed(children(block)))


@dataclass(frozen=True, slots=True)
class Graph(_Value):
    """A parsed workflow: its root block, directives and where it came from."""

    root: Block
    directives: tuple[tuple[str, str], ...] = ()
    source: str = field(default="", compare=False)
    filename: str = field(default="<text>", compare=False)

    def tasks(self) -> list[Task]:
        """Every task in source order."""
        return [b for b in iter_blocks(self.root) if isinstance(b, Task)]

    def groups(self) -> list[Group]:
        """Every group in source order."""
        return [b for b in iter_blocks(self.root) if isinstance(b, Group)]

    def task(self, node_id: str) -> Task:
        """The task with ``node_id``; KeyError if there is none."""
        for block in iter_blocks(self.root):
            if isinstance(block, Task) and block.id == node_id:
                return block
        raise KeyError(node_id)

    def refs(self) -> list[EventRef]:
        """The distinct event references, in order of first use (sub-workflows' not)."""
        return list(dict.fromkeys(t.ref for t in self.tasks() if not t.workflow))

    def workflow_refs(self) -> list[EventRef]:
        """The distinct workflow units run as sub-workflows, in order of first use."""
        return list(dict.fromkeys(t.ref for t in self.tasks() if t.workflow))

    def fingerprint(self) -> str:
        """A hash of the graph's meaning (not its layout or comments)."""
        # Positions are left out: moving text around does not change meaning.
        digest = hashlib.sha256()
        for block in iter_blocks(self.root):
            digest.update(_shape(block).encode())
            digest.update(b"\x00")
        for key, value in self.directives:
            digest.update(f"@{key}:{value}\x00".encode())
        return digest.hexdigest()[:16]


def _shape(block: Block) -> str:
    if isinstance(block, Task):
        descs = ",".join(f"{b.descriptor}{'|' if b.pipe else ''}" for b in block.branches)
        kind = "W" if block.workflow else "T"
        return f"{kind} {block.id} {block.ref} {block.attrs!r} {block.attempts} [{descs}]"
    if isinstance(block, Group):
        descs = ",".join(f"{b.descriptor}{'|' if b.pipe else ''}" for b in block.branches)
        return f"G {block.id} {block.attrs!r} {block.attempts} [{descs}]"
    if isinstance(block, Sequence):
        return f"S {len(block.steps)} {''.join('|' if p else '-' for p in block.pipes)}"
    return f"P {len(block.members)}"
