"""A :class:`~gatekit.trace.Trace` written out for people learning backprop.

:func:`explain_lines` renders the forward pass (one row per gate: its inputs
with their values, its output) and the backward pass (per gate, the gradient
arriving at its output; per input wire, the local gradient, its product with
the upstream gradient and the addition into the input's gradient), then the
final gradients. Numbers are rounded to ``precision`` significant digits;
arrays are summarized. :func:`explain_json` gives the same rows at full
precision, as plain JSON values. ``gatekit explain`` prints one or the other.

>>> import gatekit
>>> from gatekit.trace import trace
>>> circuit = gatekit.loads("inputs: {x: 3.0}\\ngates:\\n  y: {gate: mul, in: [x, x]}\\noutputs: [y]")
>>> lines = explain_lines(circuit, trace(circuit))
>>> print("\\n".join(line for line in lines if "grad[x]:" in line))  # x feeds both wires of y
       d y/d x = 3   3 * 1 = 3   grad[x]: 0 + 3 = 3
       d y/d x = 3   3 * 1 = 3   grad[x]: 3 + 3 = 6
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gatekit.broadcast import shape_of
from gatekit.circuit import Circuit
from gatekit.trace import BackwardRow, Trace, Wire

__all__ = ["SUMMARY_LIMIT", "explain_json", "explain_lines", "number"]

SUMMARY_LIMIT = 6  # arrays with more elements are summarized (as ``gatekit run`` does)

# Gates written with an operator between their inputs; the rest read as functions.
OPERATORS = {"add": "+", "mul": "*", "sub": "-", "div": "/"}
PREFIXES = {"reciprocal": "1/", "neg": "-"}  # written 1/(a), -(a)
WIDTH = 100  # wire rows longer than this (arrays) are written a line per cell
WIRE_INDENT = " " * 7


def number(value: Any, precision: int) -> str:
    """``value`` to ``precision`` significant digits; trailing zeros only where it was rounded.

    A value that differs from its short form only by float noise (``-0.6 *
    -1.5`` is ``0.9000000000000001``) is written short; ``-0.0`` is ``0``.

    >>> number(0.19661193324148185, 2), number(2.0, 4), number(0.9000000000000001, 4), number(-0.0, 4)
    ('0.20', '2', '0.9', '0')
    """
    value = float(value)
    if value == 0:
        return "0"
    short = f"{value:.{precision}g}"
    if math.isclose(float(short), value, rel_tol=1e-12, abs_tol=0) or not math.isfinite(value):
        return short
    return f"{value:#.{precision}g}"


def _value(value: Any, precision: int, compact: bool = True) -> str:
    """A number, a small array as a nested list, a large one summarized.

    ``compact`` summaries (inside a row) give the shape and the mean; the
    others (the final table) add the minimum and the maximum.
    """
    if not isinstance(value, np.ndarray):
        return number(value, precision)
    if value.size <= SUMMARY_LIMIT:
        return _nested(value.tolist(), precision)
    mean = number(value.mean(), precision)
    if compact:
        return f"<array{value.shape} mean {mean}>"
    low, high = number(value.min(), precision), number(value.max(), precision)
    return f"array{value.shape}  min {low}  mean {mean}  max {high}"


def _nested(items: Any, precision: int) -> str:
    if isinstance(items, list):
        return "[" + ", ".join(_nested(item, precision) for item in items) + "]"
    return number(items, precision)


def _d(name: str) -> str:
    """``name`` after a ``d`` of a derivative: in parentheses where it has a ``/`` (a module's gate)."""
    return f"({name})" if "/" in name else name


def _source(source: str | float, precision: int) -> str:
    """A wire's source as a name, or a constant as a number (negative ones in parentheses)."""
    if isinstance(source, str):
        return _d(source)
    text = number(source, precision)
    return f"({text})" if text.startswith("-") else text


def _align(rows: Sequence[Sequence[str]], indent: str, right: int = 0, gap: int = 2) -> list[str]:
    """Rows of cells in columns ``gap`` spaces apart; the first ``right`` columns are right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if i < right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append((indent + (" " * gap).join(cells)).rstrip())
    return lines


def _forward_expression(gate: str, inputs: Sequence[str], attrs: Mapping[str, Any]) -> str:
    """``w0=2 * x0=-1``, ``exp(neg=-1)``, ``1/(den=1.368)``, ``sum(X=[1, 2], axis=0)``."""
    if gate in OPERATORS and not attrs:
        return f" {OPERATORS[gate]} ".join(inputs)
    if gate in PREFIXES and len(inputs) == 1 and not attrs:
        return f"{PREFIXES[gate]}({inputs[0]})"
    settings = [f"{key}={json.dumps(value, default=repr)}" for key, value in attrs.items()]  # as in YAML
    return f"{gate}({', '.join([*inputs, *settings])})"


def _wire_cells(row: BackwardRow, wire: Wire, output_shape: tuple[int, ...], p: int) -> tuple[str, ...]:
    """The three cells of one wire: local gradient, product, where the product goes."""
    source = _source(wire.source, p)
    upstream = _value(row.upstream, p)
    product = _value(wire.product, p)
    if wire.local is None:  # a VJP gate: it maps the upstream gradient itself
        local_cell = f"d {_d(row.node)}/d {source}: vjp"
        product_cell = f"vjp({upstream}) = {product}"
    else:
        local = _value(wire.local, p)
        local_cell = f"d {_d(row.node)}/d {source} = {local}"
        summed = shape_of(wire.product) != output_shape  # broadcast: summed back to the input's shape
        times = f"{local} * {upstream}"
        product_cell = f"sum({times}) = {product}" if summed else f"{times} = {product}"
    if wire.kept:
        added = f"grad[{wire.source}]: {_value(wire.before, p)} + {product} = {_value(wire.after, p)}"
    elif isinstance(wire.source, str):
        added = "(no input or param behind it, not kept)"
    else:
        added = "(constant, not kept)"
    return local_cell, product_cell, added


def explain_lines(circuit: Circuit, trace: Trace, precision: int = 4) -> list[str]:
    """The forward pass, the backward pass and the final gradients, as lines of text."""
    steps = {row.node: i for i, row in enumerate(trace.forward, start=1)}  # numbered in run order
    return [
        *_forward_lines(circuit, trace, steps, precision),
        "",
        *_backward_lines(trace, steps, precision),
        *_gradient_lines(circuit, trace, precision),
    ]


def _forward_lines(circuit: Circuit, trace: Trace, steps: dict[str, int], p: int) -> list[str]:
    # the attrs written in the file (the others are the gate's defaults)
    attrs = {
        use.name: {key: use.attrs[key] for key in use.attr_locations} for use in circuit.plan.gates.values()
    }
    rows = []
    for row in trace.forward:
        inputs = [
            f"{source}={_value(value, p)}" if isinstance(source, str) else _source(source, p)
            for source, value in row.inputs
        ]
        expression = _forward_expression(row.gate, inputs, attrs.get(row.node, {}))
        rows.append((str(steps[row.node]), row.node, row.gate, expression, f"= {_value(row.output, p)}"))
    lines = ["forward pass: each gate in run order, its inputs (name=value) and its output"]
    return lines + (_align(rows, "  ", right=1) if rows else ["  (no gates)"])


def _backward_lines(trace: Trace, steps: dict[str, int], p: int) -> list[str]:
    root = trace.root
    lines = [
        f"backward pass (gradient of {root}): the gates in reverse; under each gate, one line per input:",
        f"  the local gradient d gate/d input, times the upstream gradient d {_d(root)}/d gate, gives the",
        "  product, which is added into grad[input] (an input on several wires adds up their products)",
    ]
    if any(wire.local is None for row in trace.backward for wire in row.wires):
        lines.append(
            "  (vjp: a gate that is not elementwise maps the upstream gradient to each input itself)"
        )
    if not trace.backward:
        return [*lines, f"  (no gate between {root} and an input or param)"]
    outputs = {row.node: shape_of(row.output) for row in trace.forward}
    heads = [
        (
            str(steps[row.node]),
            row.node,
            row.gate,
            f"upstream d {_d(root)}/d {_d(row.node)} = {_value(row.upstream, p)}",
        )
        for row in trace.backward
    ]
    wires = [[_wire_cells(row, wire, outputs[row.node], p) for wire in row.wires] for row in trace.backward]
    wire_lines = _align([cells for group in wires for cells in group], WIRE_INDENT, gap=3)
    stacked = max(map(len, wire_lines), default=0) > WIDTH  # long values: a line per cell
    rest = iter(wire_lines)
    for head, group in zip(_align(heads, "  ", right=1), wires, strict=True):
        lines.append(head)
        for cells in group:
            if stacked:
                lines.append(WIRE_INDENT + cells[0])
                lines += [WIRE_INDENT + "  " + cell for cell in cells[1:]]
            else:
                lines.append(next(rest))
    return lines


def _gradient_lines(circuit: Circuit, trace: Trace, p: int) -> list[str]:
    """Every input's and param's gradient, as ``gatekit run`` has it (rounded)."""
    grads = trace.result.grads
    if not grads:
        return []
    kinds = dict.fromkeys(circuit.inputs, "input") | dict.fromkeys(circuit.params, "param")
    table = []
    for name, grad in grads.items():
        text = _value(grad, p, compact=False)
        table.append((name, kinds[name], text if text.startswith("-") else " " + text))  # digits aligned
    return [
        "",
        f"gradients of {trace.root} (gatekit run prints them at full precision)",
        *_align(table, "  "),
    ]


def _plain(value: Any) -> Any:
    """A value as JSON: arrays as nested lists, NumPy scalars as Python numbers."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


def explain_json(trace: Trace) -> dict[str, Any]:
    """The trace as one JSON-ready object: ``root``, ``forward``, ``backward``, ``grads``."""
    forward = [
        {
            "node": row.node,
            "gate": row.gate,
            "inputs": [{"source": source, "value": _plain(value)} for source, value in row.inputs],
            "output": _plain(row.output),
        }
        for row in trace.forward
    ]
    backward = [
        {
            "node": row.node,
            "gate": row.gate,
            "upstream": _plain(row.upstream),
            "wires": [
                {
                    "source": wire.source,
                    "local": _plain(wire.local),
                    "product": _plain(wire.product),
                    "before": _plain(wire.before),
                    "after": _plain(wire.after),
                }
                for wire in row.wires
            ],
        }
        for row in trace.backward
    ]
    grads = {name: _plain(grad) for name, grad in trace.result.grads.items()}
    return {"root": trace.root, "forward": forward, "backward": backward, "grads": grads}
