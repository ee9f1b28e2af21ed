"""The player's data: a recorded run as the steps a page plays, for one drawing of the circuit.

:func:`view_data` turns a :class:`~gatekit.views.trace.Trace`, collapsed as
the circuit is drawn, into the plain JSON data that ``player.js`` reads
(the format is in :mod:`gatekit.views.player`'s docstring). Every number
and every line of text is written here, by the code ``gatekit explain``
uses; the script only shows and hides what it is given.

>>> import gatekit
>>> from gatekit.views.trace import trace
>>> circuit = gatekit.loads("inputs: {x: 3.0}\\ngates:\\n  y: {gate: mul, in: [x, x]}\\noutputs: [y]")
>>> view = view_data(circuit, trace(circuit))
>>> [step["pass"] + " " + step["node"] for step in view["steps"]]
['forward y', 'backward y']
>>> line_text(view["steps"][0]["lines"][0])
'x=3 * x=3 = 9'
>>> for line in view["steps"][1]["lines"]:  # x's two wires add up
...     print(line_text(line))
upstream d y/d y = 1
d y/d x = 3   3 * 1 = 3   grad[x]: 0 + 3 = 3
d y/d x = 3   3 * 1 = 3   grad[x]: 3 + 3 = 6
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gatekit.engine.broadcast import shape_of
from gatekit.engine.circuit import Circuit
from gatekit.views.explain import (
    backward_head,
    forward_cells,
    mapped_cells,
    tangent_cells,
    tangent_head,
    value_text,
    wire_cells,
    written_attrs,
)
from gatekit.views.text import NON_FINITE, SUMMARY_LIMIT, significant
from gatekit.views.trace import Trace

__all__ = ["DIGITS", "Line", "Shown", "line_text", "main_states", "shown", "view_data"]

#: significant digits of the numbers shown, as ``gatekit explain`` writes them by default
DIGITS = 4

#: a value as the page shows it (see the format in :mod:`gatekit.views.player`)
Shown = dict[str, Any]
#: a line of text: pieces of plain text and numbers
Line = list[str | Shown]

_MARK = "\x00"  # around a number's index while a line is written; no name or number holds it


def _exact(number: float) -> str:
    """A number at full precision (its ``repr``); NaN and infinities as JSON output writes them."""
    return repr(number) if math.isfinite(number) else NON_FINITE[repr(number)]


def shown(value: Any, digits: int = DIGITS) -> Shown:
    """``value`` as the page shows it: ``text`` as explain writes it, ``full`` at full precision.

    An array adds its ``shape`` and its ``mean``, ``min`` and ``max`` (to
    ``digits`` significant digits); its ``full`` is the whole array up to
    :data:`~gatekit.views.text.SUMMARY_LIMIT` elements, else its summary.

    >>> shown(0.19661193324148185)
    {'text': '0.1966', 'full': '0.19661193324148185'}
    >>> shown(np.array([1.0, 2.0, 4.5]))["mean"]
    '2.5'
    """
    if not isinstance(value, np.ndarray):
        return {"text": value_text(value, digits), "full": _exact(float(value))}
    mean = low = high = math.nan  # an empty array has none
    if value.size:
        with np.errstate(all="ignore"):  # the mean of [inf, -inf] is nan, not a warning
            mean, low, high = float(np.mean(value)), float(np.min(value)), float(np.max(value))
    exact = [_exact(float(x)) for x in value.ravel()[: SUMMARY_LIMIT + 1]]
    if value.size <= SUMMARY_LIMIT:
        full = f"array{value.shape} [{', '.join(exact)}]"
    else:
        full = f"array{value.shape}  min {_exact(low)}  mean {_exact(mean)}  max {_exact(high)}"
    return {
        "text": value_text(value, digits),
        "full": full,
        "shape": list(value.shape),
        "mean": significant(mean, digits),
        "min": significant(low, digits),
        "max": significant(high, digits),
    }


class _Numbers:
    """A ``show`` for explain's row writers that marks each number, so a line can be cut at them."""

    def __init__(self, digits: int) -> None:
        self._digits = digits
        self._found: list[Shown] = []

    def __call__(self, value: Any) -> str:
        self._found.append(shown(value, self._digits))
        return f"{_MARK}{len(self._found) - 1}{_MARK}"

    def line(self, text: str) -> Line:
        """``text`` cut into plain pieces and the numbers written into it."""
        pieces: Line = []
        for i, piece in enumerate(text.split(_MARK)):
            if i % 2:
                pieces.append(self._found[int(piece)])
            elif piece:
                pieces.append(piece)
        return pieces


def line_text(line: Line) -> str:
    """A line as read on the page: its pieces' text joined."""
    return "".join(piece if isinstance(piece, str) else piece["text"] for piece in line)


def _where(module: bool, gate: str, within: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A step's module keys, as in ``explain --json``: ``module`` for a collapsed use, else ``within``."""
    if module:
        return {"module": gate}
    return {"within": [list(pair) for pair in within]} if within else {}


def _wire(position: int, gate: str) -> str:
    """The id of the wire into ``gate`` at input ``position`` (without the prefix; see :func:`to_dot`)."""
    return f"w-{position}-{gate}"


def view_data(circuit: Circuit, run: Trace, *, grads: bool = True, digits: int = DIGITS) -> dict[str, Any]:
    """The steps, nodes and wires of one drawing of ``circuit``, from ``run`` collapsed as drawn.

    ``grads=False``: the forward pass only. A state ``s`` of the page is
    "the first ``s`` steps done"; every ``*_at`` below is the first state
    that shows the thing.
    """
    values = run.result.values
    attrs = written_attrs(circuit)
    kinds = dict.fromkeys(circuit.inputs, "input") | dict.fromkeys(circuit.params, "param")
    nodes: dict[str, dict[str, Any]] = {
        name: {
            "kind": kind,
            "value": shown(values[name], digits),
            "value_at": 0,
            "grads": [],
            "back_at": None,
        }
        for name, kind in kinds.items()
    }
    start: Line = ["inputs and params: "]
    for i, name in enumerate(kinds):
        start += [", " if i else "", f"{name}=", nodes[name]["value"]]
    steps: list[dict[str, Any]] = []
    wires: dict[str, dict[str, Any]] = {}  # by id, in the drawing's order

    for at, ahead in enumerate(run.forward, start=1):
        numbers = _Numbers(digits)
        expression, output = forward_cells(ahead, attrs.get(ahead.node, {}), digits, numbers)
        lit = [_wire(position, ahead.node) for position in range(len(ahead.inputs))]
        steps.append(
            {
                "pass": "forward",
                "node": ahead.node,
                "gate": ahead.gate,
                **_where(ahead.module, ahead.gate, ahead.within),
                "lines": [numbers.line(f"{expression} {output}")],
                "lit": lit,
            }
        )
        nodes[ahead.node] = {
            "kind": "module" if ahead.module else "gate",
            "gate": ahead.gate,
            "value": shown(ahead.output, digits),
            "value_at": at,
            "grads": [],
            "back_at": None,
            "locals": [],
        }
        for wire_id, (source, _) in zip(lit, ahead.inputs, strict=True):
            known = nodes[source]["value_at"] if isinstance(source, str) else 0
            wires[wire_id] = {"id": wire_id, "value_at": known, "grad_at": None}
    for output in circuit.outputs:
        wires[f"o-{output}"] = {"id": f"o-{output}", "value_at": nodes[output]["value_at"], "grad_at": None}

    backward = run.backward if grads else []
    first = len(steps) + 1  # the state of the first backward step
    if backward:
        root = run.root
        nodes[root]["grads"].append([first, shown(run.grads[root], digits)])  # the seed: 1, or ones
        if f"o-{root}" in wires:
            wires[f"o-{root}"]["grad_at"] = first
    shapes = {ahead.node: shape_of(ahead.output) for ahead in run.forward}
    for at, row in enumerate(backward, start=first):
        numbers = _Numbers(digits)
        lines = [numbers.line(backward_head(row, run.root, digits, numbers))]
        locals_: list[Line] = []
        for wire in row.wires:
            local, product, added = wire_cells(row, wire, shapes[row.node], digits, numbers)
            lines.append(numbers.line(f"{local}   {product}   {added}"))
            locals_.append(numbers.line(local))
            wires[_wire(wire.position, row.node)]["grad_at"] = at
            if wire.kept and isinstance(wire.source, str):
                nodes[wire.source]["grads"].append([at, shown(wire.after, digits)])
        nodes[row.node]["back_at"] = at
        nodes[row.node]["locals"] = locals_
        steps.append(
            {
                "pass": "backward",
                "node": row.node,
                "gate": row.gate,
                **_where(row.module, row.gate, row.within),
                "lines": lines,
                "lit": [_wire(wire.position, row.node) for wire in row.wires],
            }
        )
    if run.along:
        _tangent_steps(run, steps, nodes, wires, digits)
    return {"steps": steps, "start": start, "nodes": nodes, "wires": list(wires.values())}


def _tangent_steps(
    run: Trace,
    steps: list[dict[str, Any]],
    nodes: dict[str, dict[str, Any]],
    wires: dict[str, dict[str, Any]],
    digits: int,
) -> None:
    """Append the forward-mode pass to ``steps``, a step per gate a tangent reaches, as explain writes it.

    Each node's ``tangents`` is its tangent by state: the leaves' from the
    first tangent step, a gate's from its own step. A wire's tangent (its
    second text) shows from the step of the gate it goes into, or from the
    first tangent step where no tangent reaches that gate (it carries 0); without a
    tangent step at all, every tangent shows at the end of the forward pass.
    """
    first = len(steps) + 1  # the state of the first forward-mode step
    if not run.tangent:  # no gate reads a leaf that moves: every tangent shows at the end
        first -= 1
    moved = run.result.node_tangents
    for node in nodes.values():
        node["tangents"] = []
    for name, tangent in run.along.items():
        nodes[name]["tangents"].append([first, shown(tangent, digits)])
    for drawn in wires.values():
        drawn["grad_at"] = first
    for at, row in enumerate(run.tangent, start=first):
        numbers = _Numbers(digits)
        lines = [numbers.line(tangent_head(row, digits, numbers))]
        locals_: list[Line] = []
        if row.jvp or row.module:  # the gate maps its inputs' tangents itself: one line
            cells = [mapped_cells(row, digits, numbers)]
        else:
            cells = [tangent_cells(row, wire, digits, numbers) for wire in row.wires]
        for local, product, added in cells:
            lines.append(numbers.line("   ".join(cell for cell in (local, product, added) if cell)))
            locals_.append(numbers.line(local))
        for wire in row.wires:
            wires[_wire(wire.position, row.node)]["grad_at"] = at
        nodes[row.node]["tangents"].append([at, shown(row.tangent, digits)])
        nodes[row.node]["back_at"] = at
        nodes[row.node]["locals"] = locals_
        if f"o-{row.node}" in wires:
            wires[f"o-{row.node}"]["grad_at"] = at
        steps.append(
            {
                "pass": "tangent",
                "node": row.node,
                "gate": row.gate,
                **_where(row.module, row.gate, row.within),
                "lines": lines,
                "lit": [_wire(wire.position, row.node) for wire in row.wires],
            }
        )
    for name, node in nodes.items():  # a gate no tangent reaches stays at 0, shown from the start
        if not node["tangents"]:
            node["tangents"].append([first, shown(moved[name], digits)])


def main_states(main: Sequence[dict[str, Any]], view: Sequence[dict[str, Any]]) -> list[int]:
    """For each state of a view's steps, the state of the main view's that it stands for.

    A view with a module use opened has the main view's steps (the use's
    output gate in the use's place) and the use's gates among them: a state
    stands for the main view's last step done, by pass and node.

    >>> main = [{"pass": "forward", "node": n} for n in ("a", "f", "g")]
    >>> view = [{"pass": "forward", "node": n} for n in ("a", "f/n", "f", "g")]
    >>> main_states(main, view)
    [0, 1, 1, 2, 3]
    """
    index = {(step["pass"], step["node"]): at for at, step in enumerate(main, start=1)}
    states = [0]
    for step in view:
        states.append(index.get((step["pass"], step["node"]), states[-1]))
    return states
