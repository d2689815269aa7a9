"""Export a workflow graph as Graphviz DOT text.

How the picture reads:

* a task is a rounded box labelled ``Name@version``, then a multiplication
  sign and the attempt count when it has retries (``A \u00d73``); its node id
  is underneath when that differs from the name, its attributes last;
* ``->`` is a plain arrow; ``|->`` (the result is handed on) is a bold blue
  arrow with an open head;
* a parallel group (``||``) and a bracketed group are clusters (boxes around
  their members); a group's cluster is labelled with its id and retries;
* a branch is an arrow labelled with its descriptor: ``0`` (failure) red and
  dashed, ``1`` (success) green, ``2``-``9`` purple; a piped branch is bold.

Run colouring: pass ``states`` (node id -> task state name, as in
:class:`volnux.states.TaskState`, or ``handled``) and task boxes are filled
by state; a group id in ``states`` colours its cluster's border.  A failure
that failed the run (``failed``) is red with a thick dark border; one a
``0`` branch took (``handled``) is pale orange with a dashed red border.  A
skipped task (the path not taken) is greyed out, and so are the arrows into
it.  ``notes`` adds a line under a task's label (a run's attempts and
duration).  A coloured graph's title carries a legend: a swatch for each
state its tasks are in.

Big graphs: with ``collapse=N``, N or more identical tasks in a row or side
by side are drawn as one box with a count (see :mod:`.collapse`); with
``states``, the box counts its members' states and takes the colour of the
most pressing one (failed before running before succeeded ...).

Everything is computed with explicit stacks, so a chain of any length (one
flat :class:`~volnux.graph.Sequence`) exports without recursion.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..graph import Block, Branch, Graph, Group, Parallel, Sequence, Task, children
from ..graph.model import AttrValue
from .collapse import HANDLED, STATE_WORDS, Collapsed, summarise
from .collapse import collapse as collapse_graph

__all__ = ["HANDLED", "STATE_COLOURS", "STATE_WORDS", "format_attrs", "to_dot"]

#: Fill colour per task state name (the values of :class:`volnux.states.TaskState`,
#: and :data:`HANDLED`).
STATE_COLOURS: Mapping[str, str] = {
    "pending": "#ffffff",
    "running": "#9ecae1",
    "retrying": "#fdd49e",
    "succeeded": "#a1d99b",
    "failed": "#fc9272",
    HANDLED: "#fee6ce",
    "skipped": "#d9d9d9",
}

# Borders that set the two kinds of failure apart (beyond their fill).
_FAILED_BORDER = 'color="#a50f15", penwidth=2'
_HANDLED_BORDER = 'style="rounded,filled,dashed", color="#d73a49", penwidth=1.5'

# The multiplication sign of "A \u00d73" (escaped: ruff flags the literal sign).
_TIMES = "\u00d7"
_PIPE_COLOUR = "#1f6feb"
_DESCRIPTOR_COLOURS = {0: "#d73a49", 1: "#22863a"}
_CUSTOM_DESCRIPTOR_COLOUR = "#6f42c1"
# The path not taken: grey text, border and arrows.
_SKIPPED_INK = "#9a9a9a"


def to_dot(
    graph: Graph,
    *,
    states: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    collapse: int | None = None,
) -> str:
    """The graph as DOT text; ``states`` (node id -> state name) colours a run.

    ``notes`` (node id -> text) adds a line to a task's label; ``collapse``
    draws that many or more identical tasks in a row or side by side as one box.
    """
    if states is not None:
        unknown = sorted({s for s in states.values() if s not in STATE_COLOURS})
        if unknown:
            raise ValueError(
                f"unknown state name(s) {', '.join(unknown)}; "
                f"expected one of {', '.join(STATE_COLOURS)}"
            )
    stand_ins: dict[str, Collapsed] = {}
    if collapse is not None:
        graph, stand_ins = collapse_graph(graph, collapse)
    if stand_ins:
        states, notes = summarise(stand_ins, states, notes)
    label = _legend(graph.filename, states) if states else f'"{_escape(graph.filename)}"'
    lines = [
        "digraph workflow {",
        f'  graph [rankdir=LR, compound=true, fontname="Helvetica", label={label}, labelloc=t];',
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica"];',
    ]
    clusters = _declare(graph.root, lines, states or {}, notes or {}, stand_ins)
    lines.extend(_edges(graph.root, clusters, states or {}))
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- nodes and clusters -----------------------------------------------------------------

_CLOSE = object()  # marks the end of a cluster on the declaring stack


def _declare(
    root: Block,
    lines: list[str],
    states: Mapping[str, str],
    notes: Mapping[str, str],
    stand_ins: Mapping[str, Collapsed],
) -> dict[int, str]:
    """Append node and cluster declarations; return cluster names by ``id(block)``."""
    clusters: dict[int, str] = {}
    parallels = 0
    depth = 1
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        pad = "  " * depth
        if item is _CLOSE:
            depth -= 1
            lines.append("  " * depth + "}")
            continue
        if isinstance(item, Task):
            attrs = _task_attrs(
                item, states.get(item.id), notes.get(item.id), stand_ins.get(item.id)
            )
            lines.append(f"{pad}{_quote(item.id)} [{attrs}];")
            stack.extend(reversed([b.body for b in item.branches]))
        elif isinstance(item, Group):
            name = f"cluster_{item.id}"
            clusters[id(item)] = name
            # Branch bodies sit outside the group's box: pushed first, popped last.
            stack.extend(reversed([b.body for b in item.branches]))
            stack.append(_CLOSE)
            body = item.body
            if isinstance(body, Parallel):
                # A bracketed parallel group is one box, not a box in a box.
                clusters[id(body)] = name
                stack.extend(reversed(body.members))
            else:
                stack.append(body)
            lines.append(f"{pad}subgraph {_quote(name)} {{")
            lines.append(f"{pad}  {_group_attrs(item, states.get(item.id))};")
            depth += 1
        elif isinstance(item, Parallel):
            parallels += 1
            name = f"cluster_parallel_{parallels}"
            clusters[id(item)] = name
            lines.append(f"{pad}subgraph {_quote(name)} {{")
            lines.append(f'{pad}  label="||"; style="rounded,dashed"; color="#888888";')
            depth += 1
            stack.append(_CLOSE)
            stack.extend(reversed(item.members))
        elif isinstance(item, Sequence):
            stack.extend(reversed(item.steps))
    return clusters


def _task_attrs(
    task: Task, state: str | None, note: str | None = None, stand_in: Collapsed | None = None
) -> str:
    head = str(task.ref) + (f" {_TIMES}{task.attempts}" if task.attempts else "")
    parts = [head]
    if stand_in is not None:
        # Retries are left out: "x3" would read as a count next to the member count.
        parts = [f"{task.ref} {_TIMES}{len(stand_in.members):,} {stand_in.arrangement}"]
        parts.append(f"{stand_in.members[0]} ... {stand_in.members[-1]}")
    elif task.id != task.ref.name:
        parts.append(task.id)
    if task.attrs:
        parts.append(format_attrs(task.attrs))
    if note:
        parts.append(note)
    attrs = [f'label="{_escape_lines(parts)}"']
    if stand_in is not None:
        attrs.append("shape=box3d")
    if state == "skipped":
        attrs.append(
            f'style="rounded,filled,dashed", fillcolor="{STATE_COLOURS[state]}", '
            f'color="{_SKIPPED_INK}", fontcolor="{_SKIPPED_INK}"'
        )
    elif state == HANDLED:
        attrs.append(f'{_HANDLED_BORDER}, fillcolor="{STATE_COLOURS[state]}"')
    elif state is not None:
        attrs.append(f'style="rounded,filled", fillcolor="{STATE_COLOURS[state]}"')
        if state == "failed":
            attrs.append(_FAILED_BORDER)
    if state is not None:
        attrs.append(f'tooltip="{_escape(task.id)}: {state}"')
    return ", ".join(attrs)


def _group_attrs(group: Group, state: str | None) -> str:
    parts = [group.id + (f" {_TIMES}{group.attempts}" if group.attempts else "")]
    if group.attrs:
        parts.append(format_attrs(group.attrs))
    attrs = [f'label="{_escape_lines(parts)}"', 'style="rounded"']
    if state is not None:
        attrs.extend([f'color="{STATE_COLOURS[state]}"', "penwidth=3"])
    return "; ".join(attrs)


def format_attrs(attrs: Iterable[tuple[str, AttrValue]]) -> str:
    """``[timeout=5, note="x"]``: attributes as Pointy-lang writes them."""

    def show(value: AttrValue) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return str(value)

    return "[" + ", ".join(f"{k}={show(v)}" for k, v in attrs) + "]"


# --- edges ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Ends:
    """Where a block starts and ends, as node ids, and the cluster holding each side."""

    entries: list[str]
    exits: list[str]
    entry_cluster: str | None = None
    exit_cluster: str | None = None


def _edges(root: Block, clusters: Mapping[int, str], states: Mapping[str, str]) -> list[str]:
    """Every edge of the graph, computed bottom-up with an explicit stack."""
    out: list[str] = []
    skipped = {node for node, state in states.items() if state == "skipped"}
    done: dict[int, _Ends] = {}
    stack: list[tuple[Block, bool]] = [(root, False)]
    while stack:
        block, children_done = stack.pop()
        if not children_done:
            stack.append((block, True))
            stack.extend((child, False) for child in reversed(children(block)))
            continue
        if isinstance(block, Task):
            own = _Ends([block.id], [block.id])
            done[id(block)] = _with_branches(own, block.branches, done, out, skipped)
        elif isinstance(block, Group):
            body = done.pop(id(block.body))
            name = clusters[id(block)]
            own = _Ends(body.entries, body.exits, name, name)
            done[id(block)] = _with_branches(own, block.branches, done, out, skipped)
        elif isinstance(block, Sequence):
            steps = [done.pop(id(step)) for step in block.steps]
            for i, pipe in enumerate(block.pipes):
                style = {"style": "bold", "color": _PIPE_COLOUR, "arrowhead": "vee"} if pipe else {}
                _connect(steps[i], steps[i + 1], style, out, skipped)
            done[id(block)] = _Ends(
                steps[0].entries, steps[-1].exits, steps[0].entry_cluster, steps[-1].exit_cluster
            )
        else:
            members = [done.pop(id(m)) for m in block.members]
            name = clusters[id(block)]
            done[id(block)] = _Ends(
                [n for m in members for n in m.entries],
                [n for m in members for n in m.exits],
                name,
                name,
            )
    return out


def _with_branches(
    own: _Ends,
    branches: tuple[Branch, ...],
    done: dict[int, _Ends],
    out: list[str],
    skipped: set[str],
) -> _Ends:
    """Draw ``own``'s branch edges; the block then ends where its branches end."""
    if not branches:
        return own
    exits: list[str] = []
    for branch in branches:
        body = done.pop(id(branch.body))
        colour = _DESCRIPTOR_COLOURS.get(branch.descriptor, _CUSTOM_DESCRIPTOR_COLOUR)
        lines = ["dashed"] if branch.descriptor == 0 else []
        if branch.pipe:
            lines.append("bold")
        style = {"label": str(branch.descriptor), "color": colour, "fontcolor": colour}
        if lines:
            style["style"] = ",".join(lines)
        if branch.pipe:
            style["arrowhead"] = "vee"
        _connect(own, body, style, out, skipped)
        exits.extend(body.exits)
    # Without a `1` branch, success continues straight from the block itself.
    if not any(b.descriptor == 1 for b in branches):
        exits.extend(own.exits)
    return _Ends(own.entries, list(dict.fromkeys(exits)), own.entry_cluster, None)


def _connect(
    src: _Ends, dst: _Ends, style: Mapping[str, str], out: list[str], skipped: set[str]
) -> None:
    """Edges from every exit of ``src`` to every entry of ``dst``.

    Between clusters one edge clipped at the cluster borders (``ltail`` /
    ``lhead``) stands for all of them, so two wide parallel groups in a row
    do not draw a full bipartite mesh.
    """
    m, n = len(src.exits), len(dst.entries)
    if m > 1 and n > 1 and src.exit_cluster and dst.entry_cluster:
        clipped = {**style, "ltail": src.exit_cluster, "lhead": dst.entry_cluster}
        out.append(_edge(src.exits[0], dst.entries[0], _ink(clipped, dst.entries[0], skipped)))
        return
    for a in src.exits:
        for b in dst.entries:
            out.append(_edge(a, b, _ink(style, b, skipped)))


def _ink(style: Mapping[str, str], target: str, skipped: set[str]) -> Mapping[str, str]:
    """An arrow into a skipped task is grey and dashed: that path was not taken."""
    if target not in skipped:
        return style
    return {**style, "color": _SKIPPED_INK, "fontcolor": _SKIPPED_INK, "style": "dashed"}


def _edge(a: str, b: str, attrs: Mapping[str, str]) -> str:
    listed = ", ".join(f"{k}={_quote(v)}" for k, v in attrs.items())
    suffix = f" [{listed}]" if listed else ""
    return f"  {_quote(a)} -> {_quote(b)}{suffix};"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _legend(title: str, states: Mapping[str, str]) -> str:
    """An HTML-like graph label: the title, then a swatch per state the tasks are in."""
    present = set(states.values())
    cells = "".join(
        f'<td bgcolor="{colour}" border="1">{html.escape(STATE_WORDS.get(state, state))}</td>'
        for state, colour in STATE_COLOURS.items()
        if state in present
    )
    head = f'<tr><td colspan="{max(len(present), 1)}">{html.escape(title)}</td></tr>'
    return f'<<table border="0" cellspacing="4">{head}<tr>{cells}</tr></table>>'


def _escape_lines(parts: list[str]) -> str:
    return "\\n".join(_escape(p) for p in parts)


def _quote(identifier: str) -> str:
    return f'"{_escape(identifier)}"'
