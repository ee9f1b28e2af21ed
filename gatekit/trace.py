"""A run written out step by step: every gate's inputs and output, then the chain rule.

:func:`trace` runs a circuit, then replays its backward pass one gate at a
time, keeping what the fast loop throws away: the gradient arriving at each
gate (``upstream``), each local gradient, their product sent down each wire,
and the input's gradient before and after the product is added (where a wire
fans out, the additions show how its gradient accumulates). ``explain`` and
``draw`` read it; it is not the hot loop, and it takes its time.

>>> import gatekit
>>> circuit = gatekit.loads("inputs: {x: 3.0}\\ngates:\\n  y: {gate: mul, in: [x, x]}\\noutputs: [y]")
>>> [(w.source, w.local, w.product, w.after) for w in trace(circuit).backward[0].wires]
[('x', 3.0, 3.0, 3.0), ('x', 3.0, 3.0, 6.0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit.broadcast import shape_of, sum_to_shape
from gatekit.circuit import Circuit, Result
from gatekit.compiler import BINARY, SINK, UNARY, VJP

__all__ = ["BackwardRow", "ForwardRow", "Trace", "Wire", "trace"]


@dataclass(frozen=True, slots=True)
class ForwardRow:
    """One gate of the forward pass: what came in, what went out."""

    node: str
    gate: str
    inputs: tuple[tuple[str | float, Any], ...]  # (node name or constant, value)
    output: Any


@dataclass(frozen=True, slots=True)
class Wire:
    """What one gate sends back down one input wire.

    ``local`` is the local gradient (``None`` for a gate that computes the
    product itself, a VJP gate); ``product`` is ``local * upstream`` summed to
    the input's shape. ``before`` and ``after`` are the input's gradient
    around the addition; both are ``None`` for a constant or an input no leaf
    reaches, whose gradient is not kept.
    """

    source: str | float
    local: Any
    product: Any
    before: Any
    after: Any

    @property
    def kept(self) -> bool:
        return self.after is not None


@dataclass(frozen=True, slots=True)
class BackwardRow:
    """One gate of the backward pass: the gradient at its output, and its wires."""

    node: str
    gate: str
    upstream: Any
    wires: tuple[Wire, ...]


@dataclass(frozen=True, slots=True)
class Trace:
    """A run, step by step: ``forward`` in run order, ``backward`` in reverse."""

    result: Result
    root: str
    forward: list[ForwardRow]
    backward: list[BackwardRow]
    grads: dict[str, Any]  # every node's gradient at the end, where one was kept


def trace(circuit: Circuit, **overrides: Any) -> Trace:
    """Run ``circuit`` and record its forward and backward passes gate by gate."""
    result = circuit.run(**overrides)
    plan, values = circuit.plan, result.values

    def value_of(source: str | float) -> Any:
        return values[source] if isinstance(source, str) else source

    forward = []
    for step in plan.forward:
        use = plan.gates[step[-1]]
        inputs = tuple((source, value_of(source)) for source in use.inputs)
        forward.append(ForwardRow(use.name, use.gate, inputs, values[use.name]))

    root = circuit.outputs[0]
    root_shape = shape_of(values[root])
    grads: dict[str, Any] = {root: 1.0 if root_shape == () else np.ones(root_shape)}
    backward = []
    with np.errstate(all="ignore"):
        for kind, fn, _, _, _, out, to_a, to_b, targets in plan.backward:
            use = plan.gates[out]
            inputs = tuple(value_of(source) for source in use.inputs)
            output = values[use.name]
            upstream = grads.get(use.name, 0.0)
            shape = shape_of(output)
            if kind == BINARY:
                kept = (to_a, to_b)
            elif kind == UNARY:
                kept = (to_a,)
            else:
                kept = targets
            if kind == VJP:
                locals_ = [None] * len(inputs)
                products = list(fn(inputs, output, np.broadcast_to(upstream, shape)))
            else:
                locals_ = list(fn(inputs, output))
                products = [np.broadcast_to(local * upstream, shape) if shape else local * upstream
                            for local in locals_]  # fmt: skip
            wires = []
            for source, value, local, sent, slot in zip(
                use.inputs, inputs, locals_, products, kept, strict=True
            ):
                product = sum_to_shape(sent, shape_of(value))
                if isinstance(product, np.ndarray) and not product.flags.owndata:
                    product = product.copy()  # a broadcast view: give it its own memory
                if slot == SINK or not isinstance(source, str):
                    wires.append(Wire(source, local, product, None, None))
                    continue
                before = grads.get(source, 0.0)
                grads[source] = before + product
                wires.append(Wire(source, local, product, before, grads[source]))
            backward.append(BackwardRow(use.name, use.gate, upstream, tuple(wires)))
    return Trace(result, root, forward, backward, grads)
