"""Compiling a validated circuit into a flat :class:`Plan`.

Every node and every number constant gets an integer *slot* in one list of
values; each gate becomes a forward step (its bound forward function, a getter
that gathers its inputs' slots, its output slot) and, if the first output
depends on it through some leaf, a backward step. Gate lookups, attribute
binding and arity dispatch all happen here, once, so the run loop only
indexes lists and calls functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import networkx as nx

from gatekit.graph import CircuitGraph
from gatekit.loader import CircuitDef, GateUse

__all__ = ["BINARY", "MANY", "UNARY", "VJP", "Plan", "compile_plan"]

# Backward step kinds. Unary and binary local-gradient gates get their own
# branches because they are nearly every gate of a scalar circuit.
BINARY, UNARY, MANY, VJP = range(4)

ForwardStep = tuple[Callable[..., Any], Callable[[list[Any]], Any], int]
# (kind, backward function, getter, output slot, first target, second target, all targets)
BackwardStep = tuple[int, Callable[..., Any], Callable[[list[Any]], Any], int, int, int, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled circuit: slots, steps, and the names that map onto them."""

    initial: list[Any]  # a value per slot: leaves and constants set, gates 0.0
    forward: list[ForwardStep]  # every gate, in topological order
    backward: list[BackwardStep]  # gates on a path from a leaf to the root, reversed
    slots: dict[str, int]  # node name -> slot, in file order
    leaves: dict[str, int]  # input and param names -> slot, in file order
    outputs: dict[str, int]  # output name -> slot
    root: int  # the slot backprop starts from (outputs[0])
    sink: int  # a gradient slot that takes what no leaf needs (constants)
    gates: dict[int, GateUse]  # output slot -> gate, for error messages


def _getter(slots: list[int]) -> Callable[[list[Any]], Any]:
    """A C-level function that gathers ``values[s] for s in slots`` as a sequence."""
    if len(slots) == 1:
        return itemgetter(slice(slots[0], slots[0] + 1))  # a one-item list
    return itemgetter(*slots)


def compile_plan(circuit: CircuitDef, dag: CircuitGraph) -> Plan:
    """Lay out slots and bind each gate's hooks for the run loop."""
    slots = {name: i for i, name in enumerate(dag.order)}
    initial: list[Any] = [0.0] * len(slots)
    for leaf in circuit.leaves.values():
        initial[slots[leaf.name]] = leaf.value
    constants: dict[tuple[type, float], int] = {}

    def slot_of(source: str | float) -> int:
        if isinstance(source, str):
            return slots[source]
        key = (type(source), source)
        if key not in constants:
            constants[key] = len(initial)
            initial.append(source)
        return constants[key]

    # A node "needs a gradient" when some leaf reaches it: only then can its
    # gradient matter to a leaf.
    reached = set(circuit.leaves)
    for name in dag.order:
        use = circuit.gates.get(name)
        if use is not None and any(s in reached for s in use.inputs if isinstance(s, str)):
            reached.add(name)
    root_name = circuit.outputs[0]
    on_path = nx.ancestors(dag.graph, root_name)
    on_path.add(root_name)

    forward: list[ForwardStep] = []
    backward: list[BackwardStep] = []
    gates: dict[int, GateUse] = {}
    pending: list[tuple[GateUse, Callable[..., Any], bool, list[int], list[bool]]] = []
    for name in dag.order:
        use = circuit.gates.get(name)
        if use is None or use.resolved is None:
            continue
        out = slots[name]
        gates[out] = use
        inputs = [slot_of(s) for s in use.inputs]
        fn_forward, fn_backward, is_vjp = use.resolved.bind(use.attrs)
        forward.append((fn_forward, _getter(inputs), out))
        if name in reached and name in on_path:
            wanted = [isinstance(s, str) and s in reached for s in use.inputs]
            pending.append((use, fn_backward, is_vjp, inputs, wanted))
    sink = len(initial)  # after every constant has its slot
    for use, fn_backward, is_vjp, inputs, wanted in reversed(pending):
        targets = tuple(s if w else sink for s, w in zip(inputs, wanted, strict=True))
        out = slots[use.name]
        getter = _getter(inputs)
        if is_vjp:
            backward.append((VJP, fn_backward, getter, out, -1, -1, targets))
        elif len(targets) == 1:
            backward.append((UNARY, fn_backward, getter, out, targets[0], -1, targets))
        elif len(targets) == 2:
            backward.append((BINARY, fn_backward, getter, out, targets[0], targets[1], targets))
        else:
            backward.append((MANY, fn_backward, getter, out, -1, -1, targets))
    return Plan(
        initial=initial,
        forward=forward,
        backward=backward,
        slots={name: slots[name] for name in circuit.defined_at},
        leaves={name: slots[name] for name in circuit.leaves},
        outputs={name: slots[name] for name in circuit.outputs},
        root=slots[root_name],
        sink=sink,
        gates=gates,
    )
