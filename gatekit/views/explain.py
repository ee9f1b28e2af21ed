"""A :class:`~gatekit.views.trace.Trace` written out for people learning backprop.

:func:`explain_lines` renders the forward pass (one row per gate: its inputs
with their values, its output) and the backward pass (per gate, the gradient
arriving at its output; per input wire, the local gradient, its product with
the upstream gradient and the addition into the input's gradient), then the
final gradients. A run with tangents (forward mode, ``explain --tangent``)
is written the same way, forwards: the forward pass, then, for each gate a
tangent reaches in run order, each input's tangent, the local gradient,
their product and the sum into the gate's tangent, then the outputs'
tangents. Numbers are rounded to ``precision`` significant digits;
arrays are summarized. :func:`explain_json` gives the same rows at full
precision, as plain JSON values. ``gatekit explain`` prints one or the other.

Module uses are collapsed by default, as the circuit is written: one row
per use, its wires carrying what comes back through the whole module (see
:func:`gatekit.views.trace.collapse`). With ``expand=True`` every gate inside has
its row, marked with the module uses around it (``[f: neuron2]``).

>>> import gatekit
>>> from gatekit.views.trace import trace
>>> circuit = gatekit.loads("inputs: {x: 3.0}\\ngates:\\n  y: {gate: mul, in: [x, x]}\\noutputs: [y]")
>>> lines = explain_lines(circuit, trace(circuit))
>>> print("\\n".join(line for line in lines if "grad[x]:" in line))  # x feeds both wires of y
       d y/d x = 3   3 * 1 = 3   grad[x]: 0 + 3 = 3
       d y/d x = 3   3 * 1 = 3   grad[x]: 3 + 3 = 6
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gatekit.engine.broadcast import shape_of
from gatekit.engine.circuit import Circuit
from gatekit.views.text import SUMMARY_LIMIT, json_value, significant, summary, table
from gatekit.views.trace import (
    BackwardRow,
    ForwardRow,
    TangentRow,
    TangentWire,
    Trace,
    Wire,
    Within,
    collapse,
)

__all__ = [
    "Show",
    "along_text",
    "backward_head",
    "explain_json",
    "explain_lines",
    "forward_cells",
    "mapped_cells",
    "tangent_cells",
    "tangent_head",
    "value_text",
    "wire_cells",
    "written_attrs",
]

#: How a value is written inside a row (by default :func:`value_text` at the row's digits); the
#: player (:mod:`gatekit.views.player`) passes its own, to find the numbers in the text.
Show = Callable[[Any], str]

WIDTH = 100  # wire rows longer than this (arrays) are written a line per cell
WIRE_INDENT = " " * 7


def value_text(value: Any, precision: int, compact: bool = True) -> str:
    """A number, a small array as a nested list, a large one summarized.

    ``compact`` summaries (inside a row) give the shape and the mean; the
    others (the final table) add the minimum and the maximum.
    """
    if not isinstance(value, np.ndarray):
        return significant(value, precision)
    if value.size <= SUMMARY_LIMIT:
        return _nested(value.tolist(), precision)
    return summary(value, lambda x: significant(x, precision), compact)


def _nested(items: Any, precision: int) -> str:
    if isinstance(items, list):
        return "[" + ", ".join(_nested(item, precision) for item in items) + "]"
    return significant(items, precision)


def _d(name: str) -> str:
    """``name`` after a ``d`` of a derivative: in parentheses where it has a ``/`` (a module's gate)."""
    return f"({name})" if "/" in name else name


def _source(source: str | float, precision: int) -> str:
    """A wire's source as a name, or a constant as a number (negative ones in parentheses)."""
    if isinstance(source, str):
        return _d(source)
    text = significant(source, precision)
    return f"({text})" if text.startswith("-") else text


def _within(within: Within) -> str:
    """The module uses around a gate, outermost first: ``[f: neuron2 > f/out: logistic]``."""
    return "[" + " > ".join(f"{path}: {module}" for path, module in within) + "]" if within else ""


def _forward_expression(row: ForwardRow, inputs: list[str], attrs: Mapping[str, Any]) -> str:
    """``w0=2 * x0=-1``, ``exp(neg=-1)``, ``1/(den=1.368)``, ``sum(X=[1, 2], axis=0)``; ``neuron2(...)``.

    A gate is written as its spec says; a module use as a function.
    """
    settings = [f"{key}={json.dumps(value, default=repr)}" for key, value in attrs.items()]  # as in YAML
    if row.spec is None:
        return f"{row.gate}({', '.join([*inputs, *settings])})"
    return row.spec.written(inputs, settings)


def _shower(p: int, show: Show | None) -> Show:
    return show if show is not None else (lambda value: value_text(value, p))


def written_attrs(circuit: Circuit) -> dict[str, dict[str, Any]]:
    """Each gate's attrs as written in the file (the others are the gate's defaults), by gate name."""
    return {
        bound.name: {key: bound.attrs[key] for key in bound.use.attrs}
        for bound in circuit.plan.gates.values()
    }


def forward_cells(
    row: ForwardRow, attrs: Mapping[str, Any], p: int, show: Show | None = None
) -> tuple[str, str]:
    """A forward row's expression and output: ``w0=2 * x0=-1`` and ``= -2``.

    ``attrs`` are the gate's as written (:func:`written_attrs`); ``p`` the
    significant digits; ``show`` writes each value (default: to ``p`` digits).
    """
    shown = _shower(p, show)
    inputs = [
        f"{source}={shown(value)}" if isinstance(source, str) else _source(source, p)
        for source, value in row.inputs
    ]
    return _forward_expression(row, inputs, {} if row.module else attrs), f"= {shown(row.output)}"


def backward_head(row: BackwardRow, root: str, p: int, show: Show | None = None) -> str:
    """The gradient arriving at a backward row's gate: ``upstream d f/d dot = 0.1966``."""
    return f"upstream d {_d(root)}/d {_d(row.node)} = {_shower(p, show)(row.upstream)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, float | int) and math.isfinite(value)


def wire_cells(
    row: BackwardRow, wire: Wire, output_shape: tuple[int, ...], p: int, show: Show | None = None
) -> tuple[str, str, str]:
    """The three cells of one wire: local gradient, product, where the product goes.

    ``output_shape`` is the shape of the gate's output (a product of another
    shape was summed back to its input's); ``p`` and ``show`` as in :func:`forward_cells`.
    """
    shown = _shower(p, show)
    source = _source(wire.source, p)
    upstream = shown(row.upstream)
    product = shown(wire.product)
    local_value = wire.local
    if row.module and _is_number(row.upstream) and row.upstream != 0 and _is_number(wire.product):
        local_value = wire.product / row.upstream  # the module's own derivative, as one gate's
    if row.module and local_value is None:  # no one number: what came back through its gates
        local_cell = f"d {_d(row.node)}/d {source}: through {row.gate}"
        product_cell = f"through {row.gate} = {product}"
    elif local_value is None:  # a VJP gate: it maps the upstream gradient itself
        local_cell = f"d {_d(row.node)}/d {source}: vjp"
        product_cell = f"vjp({upstream}) = {product}"
    else:
        local = shown(local_value)
        local_cell = f"d {_d(row.node)}/d {source} = {local}"
        summed = shape_of(wire.product) != output_shape  # broadcast: summed back to the input's shape
        times = f"{local} * {upstream}"
        product_cell = f"sum({times}) = {product}" if summed else f"{times} = {product}"
    if wire.kept:
        added = f"grad[{wire.source}]: {shown(wire.before)} + {product} = {shown(wire.after)}"
    elif isinstance(wire.source, str):
        added = "(no input or param behind it, not kept)"
    else:
        added = "(constant, not kept)"
    return local_cell, product_cell, added


def along_text(trace: Trace, p: int) -> str:
    """The tangents a forward-mode run was given: ``x0=1, w=[1, 0]``."""
    return ", ".join(f"{name}={value_text(value, p)}" for name, value in trace.along.items())


def tangent_head(row: TangentRow, p: int, show: Show | None = None) -> str:
    """The tangents arriving at a forward-mode row's gate: ``tan[x0] = 1``, those of its moving inputs.

    A node on several of its wires is named once.
    """
    shown = _shower(p, show)
    seen: dict[str | float, TangentWire] = {}
    for wire in row.wires:
        if wire.moves and wire.source not in seen:
            seen[wire.source] = wire
    return ", ".join(f"tan[{wire.source}] = {shown(wire.tangent)}" for wire in seen.values())


def tangent_cells(
    row: TangentRow, wire: TangentWire, p: int, show: Show | None = None
) -> tuple[str, str, str]:
    """One wire of a forward-mode row: local gradient, ``local * tangent``, the addition into the gate's.

    A wire whose input does not move adds nothing and says so.
    """
    shown = _shower(p, show)
    source = _source(wire.source, p)
    local_cell = f"d {_d(row.node)}/d {source} = {shown(wire.local)}"
    if not wire.moves:
        what = "constant" if not isinstance(wire.source, str) else f"{wire.source} does not move"
        return local_cell, f"({what}, adds nothing)", ""
    product = shown(wire.product)
    added = f"tan[{row.node}]: {shown(wire.before)} + {product} = {shown(wire.after)}"
    return local_cell, f"{shown(wire.local)} * {shown(wire.tangent)} = {product}", added


def mapped_cells(row: TangentRow, p: int, show: Show | None = None) -> tuple[str, str, str]:
    """The one line of a gate_jvp gate or a collapsed module use: it maps its inputs' tangents itself."""
    shown = _shower(p, show)
    moving = [f"tan[{wire.source}]" for wire in row.wires if wire.moves]
    names = ", ".join(dict.fromkeys(moving))
    how = f"through {row.gate}" if row.module else "jvp"
    tangent = shown(row.tangent)
    return f"d {_d(row.node)}: {how}", f"{how}({names}) = {tangent}", f"tan[{row.node}] = {tangent}"


def explain_lines(circuit: Circuit, trace: Trace, precision: int = 4, *, expand: bool = False) -> list[str]:
    """The forward pass, the backward pass and the final gradients, as lines of text.

    A trace with tangents (forward mode) gives the forward pass, the
    forward-mode pass and the outputs' tangents instead of the backward pass
    and the gradients.

    :param expand: a row for every gate inside the module uses, marked with
        the uses around it; ``False``: one row per outermost module use.
    """
    if not expand:
        trace = collapse(trace)
    steps = {row.node: i for i, row in enumerate(trace.forward, start=1)}  # numbered in run order
    if trace.along:
        return [
            *_forward_lines(circuit, trace, steps, precision),
            "",
            *_tangent_lines(trace, steps, precision),
            *_output_tangent_lines(trace, precision),
        ]
    return [
        *_forward_lines(circuit, trace, steps, precision),
        "",
        *_backward_lines(trace, steps, precision),
        *_gradient_lines(circuit, trace, precision),
    ]


def _forward_lines(circuit: Circuit, trace: Trace, steps: dict[str, int], p: int) -> list[str]:
    attrs = written_attrs(circuit)
    nested = any(row.within for row in trace.forward)  # expanded module uses: say where each gate is
    rows = []
    for row in trace.forward:
        expression, output = forward_cells(row, attrs.get(row.node, {}), p)
        cells = (str(steps[row.node]), row.node, row.gate, expression, output)
        rows.append((*cells, _within(row.within)) if nested else cells)
    lines = ["forward pass: each gate in run order, its inputs (name=value) and its output"]
    if any(row.module for row in trace.forward):
        lines.append(
            "  (a module use is one gate, reading what its gates read from outside; --expand shows them)"
        )
    if nested:
        lines.append("  (a gate from a module use says which: [use: module], outermost first)")
    return lines + (table(rows, "  ", right=1) if rows else ["  (no gates)"])


def _backward_lines(trace: Trace, steps: dict[str, int], p: int) -> list[str]:
    root = trace.root
    lines = [
        f"backward pass (gradient of {root}): the gates in reverse; under each gate, one line per input:",
        f"  the local gradient d gate/d input, times the upstream gradient d {_d(root)}/d gate, gives the",
        "  product, which is added into grad[input] (an input on several wires adds up their products)",
    ]
    if any(wire.local is None and not row.module for row in trace.backward for wire in row.wires):
        lines.append(
            "  (vjp: a gate that is not elementwise maps the upstream gradient to each input itself)"
        )
    if any(row.module for row in trace.backward):
        lines += [
            "  (a module use: the product for an input is what the module's gates send back to it, summed;",
            "  product / upstream is the module's local gradient, where both are numbers)",
        ]
    if not trace.backward:
        return [*lines, f"  (no gate between {root} and an input or param)"]
    outputs = {row.node: shape_of(row.output) for row in trace.forward}
    nested = any(row.within for row in trace.backward)
    heads: list[tuple[str, ...]] = []
    for row in trace.backward:
        title = (str(steps[row.node]), row.node, row.gate, backward_head(row, root, p))
        heads.append((*title, _within(row.within)) if nested else title)
    wires = [[wire_cells(row, wire, outputs[row.node], p) for wire in row.wires] for row in trace.backward]
    wire_lines = table([cells for group in wires for cells in group], WIRE_INDENT, gap=3)
    stacked = max(map(len, wire_lines), default=0) > WIDTH  # long values: a line per cell
    rest = iter(wire_lines)
    for head, group in zip(table(heads, "  ", right=1), wires, strict=True):
        lines.append(head)
        for cells in group:
            if stacked:
                lines.append(WIRE_INDENT + cells[0])
                lines += [WIRE_INDENT + "  " + cell for cell in cells[1:]]
            else:
                lines.append(next(rest))
    return lines


def _tangent_lines(trace: Trace, steps: dict[str, int], p: int) -> list[str]:
    lines = [
        f"forward mode (tangents along {along_text(trace, p)}): the gates a tangent reaches, in run order;",
        "  under each gate the tangents arriving from its inputs, then one line per input: the local",
        "  gradient d gate/d input, times the input's tangent tan[input], gives the product, which is added",
        "  into tan[gate] (an input that does not move adds nothing)",
    ]
    if any(row.jvp for row in trace.tangent):
        lines.append("  (jvp: a gate that is not elementwise maps its inputs' tangents to its own itself)")
    if any(row.module for row in trace.tangent):
        lines.append("  (a module use: its gates map its inputs' tangents to its own; --expand shows them)")
    if not trace.tangent:
        return [*lines, "  (no gate reads a leaf that moves)"]
    nested = any(row.within for row in trace.tangent)
    heads: list[tuple[str, ...]] = []
    for row in trace.tangent:
        title = (str(steps[row.node]), row.node, row.gate, tangent_head(row, p))
        heads.append((*title, _within(row.within)) if nested else title)
    wires = [
        [mapped_cells(row, p)] if row.jvp or row.module else [tangent_cells(row, w, p) for w in row.wires]
        for row in trace.tangent
    ]
    wire_lines = table([cells for group in wires for cells in group], WIRE_INDENT, gap=3)
    stacked = max(map(len, wire_lines), default=0) > WIDTH  # long values: a line per cell
    rest = iter(wire_lines)
    for head, group in zip(table(heads, "  ", right=1), wires, strict=True):
        lines.append(head)
        for cells in group:
            if stacked:
                lines.append(WIRE_INDENT + cells[0])
                lines += [WIRE_INDENT + "  " + cell for cell in cells[1:] if cell]
            else:
                lines.append(next(rest))
    return lines


def _output_tangent_lines(trace: Trace, p: int) -> list[str]:
    """Every output's tangent, as ``gatekit run --tangent`` has it (rounded)."""
    rows = []
    for name, tangent in trace.result.tangents.items():
        text = value_text(tangent, p, compact=False)
        rows.append((name, text if text.startswith("-") else " " + text))
    return [
        "",
        f"tangents of the outputs along {along_text(trace, p)} (gatekit run --tangent prints them at full "
        "precision)",
        *table(rows, "  "),
    ]


def _gradient_lines(circuit: Circuit, trace: Trace, p: int) -> list[str]:
    """Every input's and param's gradient, as ``gatekit run`` has it (rounded)."""
    grads = trace.result.grads
    if not grads:
        return []
    kinds = dict.fromkeys(circuit.inputs, "input") | dict.fromkeys(circuit.params, "param")
    rows = []
    for name, grad in grads.items():
        text = value_text(grad, p, compact=False)
        rows.append((name, kinds[name], text if text.startswith("-") else " " + text))  # digits aligned
    return [
        "",
        f"gradients of {trace.root} (gatekit run prints them at full precision)",
        *table(rows, "  "),
    ]


def _where(row: ForwardRow | BackwardRow | TangentRow) -> dict[str, Any]:
    """A row's module keys: ``module`` for a collapsed use, ``within`` for a gate inside one."""
    if row.module:
        return {"module": row.gate}
    if row.within:
        return {"within": [[path, module] for path, module in row.within]}
    return {}


def explain_json(trace: Trace, *, expand: bool = False) -> dict[str, Any]:
    """The trace as one strict-JSON-ready object: ``root``, ``forward``, ``backward``, ``grads``.

    A trace with tangents gives ``along`` (the tangents given), ``forward``,
    ``tangent`` (the forward-mode rows: per wire the input's ``tangent``,
    ``null`` where it does not move, ``local``, ``product``, ``before`` and
    ``after``; per row the gate's ``tangent``, and ``"jvp": true`` for a
    gate that maps the tangents itself) and ``tangents`` (the outputs').

    Collapsed (the default), a module use's rows say ``"module": NAME`` and
    its wires have ``"local": null``; with ``expand=True`` the rows of the
    gates inside module uses say ``"within": [[path, module], ...]``. Arrays
    are nested lists; NaN and infinities the strings ``"NaN"``,
    ``"Infinity"``, ``"-Infinity"`` (:func:`gatekit.views.text.json_value`).
    """
    if not expand:
        trace = collapse(trace)
    if trace.along:
        return _tangent_json(trace)
    backward = [
        {
            "node": row.node,
            "gate": row.gate,
            **_where(row),
            "upstream": row.upstream,
            "wires": [
                {
                    "source": wire.source,
                    "local": wire.local,
                    "product": wire.product,
                    "before": wire.before,
                    "after": wire.after,
                }
                for wire in row.wires
            ],
        }
        for row in trace.backward
    ]
    grads = dict(trace.result.grads)
    data: dict[str, Any] = json_value(
        {"root": trace.root, "forward": _forward_json(trace), "backward": backward, "grads": grads}
    )
    return data


def _forward_json(trace: Trace) -> list[dict[str, Any]]:
    return [
        {
            "node": row.node,
            "gate": row.gate,
            **_where(row),
            "inputs": [{"source": source, "value": value} for source, value in row.inputs],
            "output": row.output,
        }
        for row in trace.forward
    ]


def _tangent_json(trace: Trace) -> dict[str, Any]:
    """A forward-mode trace: ``along``, ``forward``, ``tangent`` (its rows), ``tangents`` (the outputs')."""
    rows = [
        {
            "node": row.node,
            "gate": row.gate,
            **_where(row),
            **({"jvp": True} if row.jvp else {}),
            "wires": [
                {
                    "source": wire.source,
                    "tangent": wire.tangent,
                    "local": wire.local,
                    "product": wire.product,
                    "before": wire.before,
                    "after": wire.after,
                }
                for wire in row.wires
            ],
            "tangent": row.tangent,
        }
        for row in trace.tangent
    ]
    data: dict[str, Any] = json_value(
        {
            "along": trace.along,
            "forward": _forward_json(trace),
            "tangent": rows,
            "tangents": dict(trace.result.tangents),
        }
    )
    return data
