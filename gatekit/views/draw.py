"""The circuit as a picture: Graphviz DOT text, and SVG or PNG drawn by Graphviz's ``dot``.

:func:`to_dot` lays the circuit out left to right, the seed's way: inputs and
params on the left, the output on the right, every gate a node showing its
symbol (``*``, ``+``, ``1/x``...) or its name (``exp``), every number
constant a small plain node. Each wire, the edge from a node to a gate that
reads it, carries the value that travels forward along it (green) over the
gradient of ``outputs[0]`` sent back along that same wire (red): where a node
fans out, each wire shows its own share, and the shares add up to the node's
gradient. Given tangents (forward mode, ``draw --tangent x0=1``), each wire
carries its value over the tangent of the node it comes from (blue, ``tan``)
instead: how that node moves along the tangents. :func:`write` saves the
text as ``.dot``, or runs ``dot`` to make ``.svg`` or ``.png``.

Module uses are drawn collapsed by default, as the circuit is written: each
outermost use one node (a 3-D box showing the module's name over the use's),
its wires from the nodes its gates read, each carrying the gradient that
comes back through the whole module. ``expand=True`` draws every gate
inside, each module use boxed as a Graphviz cluster labelled ``f: neuron2``
(nested uses nested).

>>> import gatekit
>>> circuit = gatekit.loads("inputs: {x: 3.0}\\ngates:\\n  y: {gate: mul, in: [x, x]}\\noutputs: [y]")
>>> for line in to_dot(circuit).splitlines():
...     if '-> "y"' in line:
...         print(line.strip())
"x" -> "y" [label=<<font color="darkgreen">3.00</font><br/><font color="red">3.00</font>>];
"x" -> "y" [label=<<font color="darkgreen">3.00</font><br/><font color="red">3.00</font>>];
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatekit.engine.circuit import Circuit
from gatekit.engine.validate import BoundGate
from gatekit.errors import GatekitError, Location, RenderError, UsageError
from gatekit.io.atomic import check_output_path, write_atomically
from gatekit.plugin.gatespec import GateSpec
from gatekit.views.explain import along_text
from gatekit.views.text import decimals
from gatekit.views.trace import Within, collapse, module_uses, trace

__all__ = [
    "FORMATS",
    "LABEL_LIMIT",
    "RENDER_TIMEOUT",
    "TANGENT_COLOR",
    "RenderError",
    "render",
    "save",
    "svg",
    "to_dot",
    "write",
]

#: the file types :func:`write` makes, by extension
FORMATS = (".dot", ".svg", ".png")
#: above this many gates the wires go unlabelled (Graphviz would need minutes, and the reader a magnifier)
LABEL_LIMIT = 150
#: seconds ``dot`` may take before it is stopped
RENDER_TIMEOUT = 60
#: notebook drawings (``_repr_svg_``) stop here and fall back to text
NOTEBOOK_LIMIT = 1000

VALUE_COLOR = "darkgreen"
GRAD_COLOR = "red"
TANGENT_COLOR = "blue"
#: significant digits of the tangents given, in the title (``tangents along x0=1``), as explain writes them
ALONG_DIGITS = 4
#: the box around an expanded module use's gates
CLUSTER_STYLE = 'labeljust=l, fontsize=10, style="rounded,dashed", color="gray50"'

_INSTALL_HINT = (
    "install the system package 'graphviz' (for example `apt-get install graphviz` or "
    "`brew install graphviz`), or write a .dot file, which needs no Graphviz"
)


# -- DOT text ------------------------------------------------------------------


def _quote(text: str) -> str:
    """A DOT identifier: always quoted, so no name can clash with a keyword (``node``, ``edge``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def _show(value: Any, precision: int) -> str:
    """A number rounded, or an array's shape and mean: ``(200,) mean 0.35``."""
    if isinstance(value, np.ndarray):
        with np.errstate(all="ignore"):  # the mean of [inf, -inf] is nan, not a warning
            mean = float(np.mean(value))
        return f"{value.shape} mean {decimals(mean, precision)}"
    return decimals(float(value), precision)


def _constant(value: float) -> str:
    """A number constant as written: ``-1``, ``0.5``, ``1e-08``."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def _wire_label(value: Any, grad: Any, precision: int, tangent: Any = None) -> str:
    """A wire's label: its value, over its gradient (red) or, in forward mode, its tangent (blue)."""
    label = f'<font color="{VALUE_COLOR}">{_html(_show(value, precision))}</font>'
    if grad is not None:
        label += f'<br/><font color="{GRAD_COLOR}">{_html(_show(grad, precision))}</font>'
    if tangent is not None:
        label += f'<br/><font color="{TANGENT_COLOR}">tan {_html(_show(tangent, precision))}</font>'
    return f"<{label}>"


def _gate_label(name: str, spec: GateSpec) -> str:
    size = 16 if spec.symbol else 12  # a symbol is drawn large, a name smaller
    drawn = f'<font point-size="{size}">{_html(spec.drawn)}</font>'
    return f'<{drawn}<br/><font point-size="9">{_html(name)}</font>>'


def _module_label(name: str, module: str) -> str:
    return f'<<font point-size="12">{_html(module)}</font><br/><font point-size="9">{_html(name)}</font>>'


@dataclass(frozen=True, slots=True)
class _Node:
    """A gate as drawn: a gate of the circuit, or a whole module use (collapsed)."""

    name: str
    gate: str  # the gate, or the module
    inputs: Sequence[str | float]
    spec: GateSpec | None = None  # None: a module use
    within: Within = ()
    arguments: Sequence[int | None] = ()  # as GateUse.arguments


@dataclass(slots=True)
class _Cluster:
    """A module use drawn expanded: the box around its gates and nested uses."""

    path: str
    module: str
    items: list[str | _Cluster] = field(default_factory=list)


def _nodes(gates: Sequence[BoundGate], expand: bool, opened: AbstractSet[str]) -> list[_Node]:
    """The gates to draw, in run order: every gate, or each outermost module use as one.

    The outermost module uses in ``opened`` are drawn expanded among the others collapsed.
    """
    if expand:
        return [
            _Node(b.name, b.use.gate, b.inputs, b.gate.spec, b.use.within, b.use.arguments) for b in gates
        ]
    found = module_uses(bound.use for bound in gates)
    modules = {path: use for path, use in found.items() if path not in opened}
    nodes = []
    for bound in gates:
        use = bound.use
        if not use.within or use.within[0][0] not in modules:  # outside any use, or in an opened one
            nodes.append(
                _Node(bound.name, use.gate, bound.inputs, bound.gate.spec, use.within, use.arguments)
            )
        elif bound.name in modules:  # the use's output: the module, seen whole
            module = modules[bound.name]
            nodes.append(_Node(module.name, module.module, module.inputs))
    return nodes


def _emit(items: Sequence[str | _Cluster], indent: str, lines: list[str], ids: str | None) -> None:
    for item in items:
        if isinstance(item, str):
            lines.append(indent + item)
            continue
        label = f"{_html(item.path)}: {_html(item.module)}"
        lines.append(f"{indent}subgraph {_quote('cluster_' + item.path)} {{")
        lines.append(f"{indent}  graph{_attrs(f'label=<{label}>', CLUSTER_STYLE, _id(ids, 'c', item.path))};")
        _emit(item.items, indent + "  ", lines, ids)
        lines.append(f"{indent}}}")


def _id(ids: str | None, kind: str, name: str) -> str | None:
    """The attribute ``id="PREFIXKIND-NAME"`` naming an element of the SVG; ``None`` without ``ids``."""
    return None if ids is None else f"id={_quote(f'{ids}{kind}-{name}')}"


def _attrs(*attrs: str | None) -> str:
    """`` [a, b]``: a node's or an edge's attribute list, of those given; nothing when none are."""
    given = [attr for attr in attrs if attr]
    return f" [{', '.join(given)}]" if given else ""


def _constant_node(tail: str, value: float) -> str:
    return f"{tail} [shape=plaintext, fontsize=10, label=<{_html(_constant(value))}>];"


def _run_labels(
    circuit: Circuit,
    values: Mapping[str, Any],
    *,
    grads: bool,
    precision: int,
    expand: bool,
    opened: AbstractSet[str],
    of: str | None,
    seed_grad: Any,
    tangents: Mapping[str, Any] | None = None,
) -> tuple[dict[tuple[str, int], str], dict[str, str], str]:
    """The labels of every wire, by (gate, input position), and of every output's own wire.

    With ``tangents`` the second text is the tangent of the wire's source (none for a constant),
    not the gradient; the third result is then the tangents as given, written (``x0=1``).
    """
    run = trace(circuit, values, of=of, seed_grad=seed_grad, tangents=tangents)
    if not expand:
        run = collapse(run, opened)
    moved = run.result.node_tangents
    grads = grads and tangents is None
    shares = {}
    if grads:
        for row in run.backward:
            for wire in row.wires:
                shares[row.node, wire.position] = wire.product  # this wire's share of the gradient
    wires = {}
    for ahead in run.forward:
        for position, (source, value) in enumerate(ahead.inputs):
            tangent = moved.get(source) if isinstance(source, str) else None
            share = shares.get((ahead.node, position))
            wires[ahead.node, position] = _wire_label(value, share, precision, tangent)
    root = run.root
    outputs = {
        output: _wire_label(
            run.result.values[output],
            run.grads[root] if grads and output == root else None,
            precision,
            moved.get(output),
        )
        for output in circuit.outputs
    }
    return wires, outputs, along_text(run, ALONG_DIGITS)


def to_dot(
    circuit: Circuit,
    values: Mapping[str, Any] | None = None,
    *,
    grads: bool = True,
    precision: int = 2,
    expand: bool = False,
    opened: AbstractSet[str] = frozenset(),
    ids: str | None = None,
    of: str | None = None,
    seed_grad: Any = None,
    tangents: Mapping[str, Any] | None = None,
) -> str:
    """The DOT text of ``circuit`` run with ``values`` (leaf overrides).

    :param grads: also show the gradients (red); ``False``: values only.
    :param tangents: leaf -> its tangent (forward mode, as in
        :meth:`Circuit.run`): each wire shows the tangent of the node it
        comes from (blue, ``tan``) instead of the gradient, and ``grads``,
        ``of`` and ``seed_grad`` change no label.
    :param of: whose gradients the wires carry: any output or gate
        (default ``outputs[0]``); ``seed_grad`` is its starting gradient, as
        in :meth:`Circuit.run`.
    :param precision: decimals shown.
    :param expand: draw every gate inside module uses, each use boxed (a
        cluster); ``False``: each outermost module use is one node.
    :param opened: outermost module uses (by path) drawn expanded, boxed,
        although ``expand`` is ``False``.
    :param ids: give the drawing's elements ``id`` attributes starting with
        this prefix, for a script to find them in the SVG: ``PREFIXn-NAME``
        a node (a leaf, a gate, a collapsed module use), ``PREFIXw-P-GATE``
        the wire into ``GATE`` at input position ``P``, ``PREFIXo-NAME`` an
        output's own wire, ``PREFIXc-PATH`` an expanded module use's box.
    :raises UsageError: ``precision`` is negative, or an override is bad.
    :raises RunError: a gate failed while the circuit ran.

    Above :data:`LABEL_LIMIT` gates drawn the wires carry no labels (the
    circuit still runs, once, without the trace); the graph's title says so.
    """
    if not 0 <= precision <= 17:
        raise UsageError(f"precision must be from 0 to 17 decimals, got {precision:,}")
    plan = circuit.plan
    uses = _nodes([plan.gates[step.out] for step in plan.forward], expand, opened)
    title = circuit.name or os.path.basename(circuit.file)
    wire_labels: dict[tuple[str, int], str] = {}
    output_labels: dict[str, str] = {}
    if len(uses) <= LABEL_LIMIT:
        wire_labels, output_labels, along = _run_labels(
            circuit,
            dict(values or {}),
            grads=grads,
            precision=precision,
            expand=expand,
            opened=opened,
            of=of,
            seed_grad=seed_grad,
            tangents=tangents,
        )
        label = f'{_html(title)}: <font color="{VALUE_COLOR}">values</font>'
        if tangents is not None:
            label += f' and <font color="{TANGENT_COLOR}">tangents along {_html(along)}</font>'
        elif grads:
            root = of or circuit.outputs[0]
            label += f' and <font color="{GRAD_COLOR}">gradients of {_html(root)}</font>'
        label += " on each wire"
    else:  # no labels, but a bad value or a failing gate still says so
        circuit.run(values or {}, of=of, seed_grad=seed_grad, tangents=tangents)
        label = f"{_html(title)}: {len(uses)} gates; wires are unlabelled above {LABEL_LIMIT} gates"

    lines = [
        f"digraph {_quote(title)} {{",
        f'  graph [rankdir=LR, ordering=in, labelloc=t, fontname="Helvetica", label=<{label}>];',
        '  node [fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    kinds = dict.fromkeys(circuit.inputs, "input") | dict.fromkeys(circuit.params, "param")
    for name, kind in kinds.items():
        fill = ', style="rounded,filled", fillcolor="#eeeeee"' if kind == "param" else ', style="rounded"'
        attrs = _attrs(
            f"shape=box{fill}", f"label=<{_html(name)}>", f"tooltip={_quote(kind)}", _id(ids, "n", name)
        )
        lines.append(f"  {_quote(name)}{attrs};")
    lines.append(f"  {{rank=min; {' '.join(_quote(name) for name in kinds)}}}")
    top: list[str | _Cluster] = []  # node lines, and the boxes of expanded module uses
    clusters: dict[str, _Cluster] = {}
    for use in uses:
        items = top
        for path, module in use.within:  # into the box of each use around it, outermost first
            if path not in clusters:
                clusters[path] = _Cluster(path, module)
                items.append(clusters[path])
            items = clusters[path].items
        if use.spec is None:
            label = _module_label(use.name, use.gate)
            tooltip = f"tooltip={_quote('module ' + use.gate)}"
            attrs = _attrs("shape=box3d", f"label={label}", tooltip, _id(ids, "n", use.name))
            items.append(f"{_quote(use.name)}{attrs};")
        else:
            shape = "circle" if use.spec.symbol else "ellipse"
            label = _gate_label(use.name, use.spec)
            items.append(
                f"{_quote(use.name)}{_attrs(f'shape={shape}', f'label={label}', _id(ids, 'n', use.name))};"
            )
        if use.within:  # the module's own constants in its box too
            items += [
                _constant_node(_quote(f"{use.name}#{position}"), source)
                for position, source in enumerate(use.inputs)
                if not isinstance(source, str) and use.arguments[position] is None
            ]
    _emit(top, "  ", lines, ids)
    for use in uses:
        for position, source in enumerate(use.inputs):
            if isinstance(source, str):
                tail = _quote(source)
            else:  # a number constant: a small node of its own, next to its gate
                tail = _quote(f"{use.name}#{position}")
                if not use.within or use.arguments[position] is not None:  # not declared in a box
                    lines.append(f"  {_constant_node(tail, source)}")
            wire = wire_labels.get((use.name, position))
            attrs = _attrs(wire and f"label={wire}", _id(ids, "w", f"{position}-{use.name}"))
            lines.append(f"  {tail} -> {_quote(use.name)}{attrs};")
    ends = []
    for output in circuit.outputs:
        end = _quote(f"{output}#output")
        ends.append(end)
        lines.append(f"  {end} [shape=plaintext, fontsize=10, label=<output>];")
        wire = output_labels.get(output)
        attrs = _attrs(wire and f"label={wire}", _id(ids, "o", output))
        lines.append(f"  {_quote(output)} -> {end}{attrs};")
    lines.append(f"  {{rank=max; {' '.join(ends)}}}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- rendering -----------------------------------------------------------------

# Graphviz is a system program, run here in a subprocess. The `graphviz`
# package on PyPI would only wrap this same call (and still need the
# program), so gatekit does not depend on it.


def _dot_program(place: Location | None = None) -> str:
    program = shutil.which("dot")
    if program is None:
        raise UsageError(f"Graphviz's `dot` program was not found on PATH; {_INSTALL_HINT}", place)
    return program


def render(text: str, fmt: str, place: Location | None = None) -> bytes:
    """DOT ``text`` drawn by Graphviz as ``fmt`` (``svg`` or ``png``).

    ``place`` (the file being drawn) goes into the messages.

    :raises UsageError: ``dot`` is not installed.
    :raises RenderError: ``dot`` failed (its message, on one line) or ran
        longer than :data:`RENDER_TIMEOUT` seconds.
    """
    program = _dot_program(place)
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=RENDER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"Graphviz's dot took more than {RENDER_TIMEOUT} s to draw the circuit; "
            "write a .dot file instead and render it yourself",
            place,
        ) from None
    except OSError as exc:
        raise RenderError(f"cannot run Graphviz's dot ({program}): {exc.strerror or exc}", place) from None
    if done.returncode != 0:
        message = " ".join(done.stderr.decode("utf-8", "replace").split()) or "no message"
        raise RenderError(f"Graphviz's dot failed (exit {done.returncode}): {message}", place)
    return done.stdout


def check_path(path: str | os.PathLike[str], types: tuple[str, ...] = FORMATS) -> str:
    """Refuse, before anything runs, a path :func:`write` cannot make; return its format.

    ``types`` are the extensions allowed (``gatekit draw`` adds the player's
    ``.html``, :mod:`gatekit.views.player`); every one but ``.dot`` needs ``dot``.

    :raises UsageError: the extension is not one of ``types``, the folder
        does not exist, or the format needs ``dot`` and it is not installed.
    """
    file = os.fspath(path)
    fmt = check_output_path(file, types, "a drawing")[1:]
    if fmt != "dot":
        _dot_program(Location(file))
    return fmt


def write(
    path: str | os.PathLike[str],
    circuit: Circuit,
    values: Mapping[str, Any] | None = None,
    *,
    grads: bool = True,
    precision: int = 2,
    expand: bool = False,
    of: str | None = None,
    seed_grad: Any = None,
    tangents: Mapping[str, Any] | None = None,
) -> None:
    """Draw ``circuit`` into ``path`` (``.dot``, ``.svg`` or ``.png``, by extension).

    ``grads``, ``precision``, ``expand``, ``of``, ``seed_grad`` and ``tangents`` are :func:`to_dot`'s.

    :raises UsageError: see :func:`check_path` and :func:`to_dot`.
    :raises RenderError: see :func:`render`.
    """
    check_path(path)
    save(
        path,
        to_dot(
            circuit,
            values,
            grads=grads,
            precision=precision,
            expand=expand,
            of=of,
            seed_grad=seed_grad,
            tangents=tangents,
        ),
    )


def save(path: str | os.PathLike[str], text: str) -> None:
    """Save DOT ``text`` at ``path``: as it is for ``.dot``, drawn by ``dot`` otherwise.

    The file is written beside ``path`` and renamed over it, so an existing
    file is replaced whole or not at all; when ``dot`` fails nothing is
    written.

    :raises UsageError: see :func:`check_path`.
    :raises RenderError: see :func:`render`.
    """
    file = os.fspath(path)
    fmt = check_path(file)
    data = text.encode("utf-8") if fmt == "dot" else render(text, fmt, Location(file))
    write_atomically(file, lambda f: f.write(data))


def svg(
    circuit: Circuit, values: Mapping[str, Any] | None = None, *, grads: bool = True, expand: bool = False
) -> str | None:
    """The drawing as SVG text for a notebook, or ``None`` when it cannot be made.

    Module uses are collapsed unless ``expand`` (see :func:`to_dot`).

    ``None`` (so Jupyter shows the plain text instead) when ``dot`` is not
    installed, the circuit has more than :data:`NOTEBOOK_LIMIT` gates, or
    running or drawing it fails.
    """
    if shutil.which("dot") is None or len(circuit.plan.forward) > NOTEBOOK_LIMIT:
        return None
    try:
        return render(to_dot(circuit, values, grads=grads, expand=expand), "svg").decode("utf-8")
    except GatekitError:
        return None  # a notebook shows the text instead
