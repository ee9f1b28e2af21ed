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

from gatekit.graph import CircuitGraph
from gatekit.loader import CircuitDef, GateUse

__all__ = ["BINARY", "MANY", "SINK", "UNARY", "VJP", "Plan", "compile_plan"]

# Backward step kinds. Unary and binary local-gradient gates get their own
# branches because they are nearly every gate of a scalar circuit.
BINARY, UNARY, MANY, VJP = range(4)

ForwardStep = tuple[Callable[..., Any], Callable[[list[Any]], Any], int]
# (kind, backward function, getter, output slot, first target, second target, all targets)
BackwardStep = tuple[int, Callable[..., Any], Callable[[list[Any]], Any], int, int, int, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled circuit: slots, steps, and the names that map onto them."""

    initial: list[Any]  # a value per slot: leaves and constants set, gates 0.0, SINK
    forward: list[ForwardStep]  # every gate, in topological order
    backward: list[BackwardStep]  # gates on a path from a leaf to the root, reversed
    slots: dict[str, int]  # node name -> slot, in file order
    leaves: dict[str, int]  # input and param names -> slot, in file order
    outputs: dict[str, int]  # output name -> slot
    root: int  # the slot backprop starts from (outputs[0])
    gates: dict[int, GateUse]  # output slot -> gate, for error messages


def _getter(slots: list[int]) -> Callable[[list[Any]], Any]:
    """A C-level function that gathers ``values[s] for s in slots`` as a sequence."""
    if len(slots) == 1:
        return itemgetter(slice(slots[0], slots[0] + 1))  # a one-item list
    return itemgetter(*slots)


SINK = 0  # slot 0 holds no node: gradients that no leaf needs land there


def compile_plan(circuit: CircuitDef, dag: CircuitGraph) -> Plan:
    """Lay out slots and bind each gate's hooks for the run loop."""
    slots = {name: i for i, name in enumerate(dag.order, start=SINK + 1)}
    initial: list[Any] = [0.0] * (len(slots) + 1)
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

    # A node's gradient can matter only if some leaf reaches it, and only
    # gates that outputs[0] depends on get a backward step.
    reached = set(circuit.leaves)
    root_cone = dag.root_cone
    forward: list[ForwardStep] = []
    backward: list[BackwardStep] = []
    gates: dict[int, GateUse] = {}
    for name in dag.order:
        use = circuit.gates.get(name)
        if use is None or use.resolved is None:
            continue
        out = slots[name]
        gates[out] = use
        inputs = [slot_of(source) for source in use.inputs]
        inputs_of = _getter(inputs)
        fn_forward, fn_backward, is_vjp = use.resolved.bind(use.attrs)
        forward.append((fn_forward, inputs_of, out))
        targets = tuple(
            slot if isinstance(source, str) and source in reached else SINK
            for slot, source in zip(inputs, use.inputs, strict=True)
        )
        if targets.count(SINK) == len(targets):
            continue  # no leaf reaches this gate
        reached.add(name)
        if name not in root_cone:
            continue
        if is_vjp:
            backward.append((VJP, fn_backward, inputs_of, out, SINK, SINK, targets))
        elif len(targets) == 1:
            backward.append((UNARY, fn_backward, inputs_of, out, targets[0], SINK, targets))
        elif len(targets) == 2:
            backward.append((BINARY, fn_backward, inputs_of, out, targets[0], targets[1], targets))
        else:
            backward.append((MANY, fn_backward, inputs_of, out, SINK, SINK, targets))
    backward.reverse()
    return Plan(
        initial=initial,
        forward=forward,
        backward=backward,
        slots={name: slots[name] for name in circuit.defined_at},
        leaves={name: slots[name] for name in circuit.leaves},
        outputs={name: slots[name] for name in circuit.outputs},
        root=slots[circuit.outputs[0]],
        gates=gates,
    )
