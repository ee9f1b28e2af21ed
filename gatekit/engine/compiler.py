"""Compiling a validated circuit into a flat :class:`Plan`.

Every node and every number constant gets an integer *slot* in one list of
values; each gate becomes a :class:`ForwardStep` and, if ``outputs[0]``
depends on it and some leaf reaches it, a :class:`BackwardStep`. A step holds
the gate's bound hook, its input slots, its output slot and the slots its
gradients go to. Gate lookups, attribute binding and arity dispatch all
happen here, once, so the run loops only index lists and call functions.

Where each gradient goes, and which are not kept, is decided here too: a
gradient that no leaf needs (a number constant's, or an input's that no leaf
reaches) goes to :data:`SINK`. The run loops follow these targets; none of
them decides anything of the kind.

The steps are named records for every reader. The lean run loops read the
same steps as plain tuples (:attr:`Plan.forward_loop`,
:attr:`Plan.backward_loop`), made once here, for two reasons measured on a
scalar MLP: CPython unpacks an exact tuple about four times faster than a
tuple subclass such as a NamedTuple (some 50 ns a step), and unpacking
touches every item, so a one- or two-input step carries one shared
placeholder where it has no use for its ``gather`` and ``targets`` (objects
of its own would cost a cache line each, about 10% of the run).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from gatekit.engine.graph import CircuitGraph
from gatekit.engine.validate import BoundGate, ValidCircuit
from gatekit.plugin.registry import Hooks

__all__ = [
    "BINARY",
    "MANY",
    "SINK",
    "UNARY",
    "VJP",
    "BackwardStep",
    "BackwardTuple",
    "ForwardStep",
    "ForwardTuple",
    "Plan",
    "compile_plan",
]

# Step kinds. One- and two-input gates get their own branches, reading their
# slots directly, because they are nearly every gate of a scalar circuit.
UNARY, BINARY, MANY, VJP = range(4)

SINK = 0  # slot 0 holds no node: gradients that no leaf needs land there

Gather = Callable[[list[Any]], Any]  # values -> the inputs' values, in order
#: The one ``gather`` of every UNARY and BINARY step in the lean loops, which read their slots directly.
UNUSED_GATHER: Gather = itemgetter(slice(0))


class ForwardStep(NamedTuple):
    """One gate of the forward pass: ``values[out] = forward(inputs)``."""

    kind: int  # UNARY, BINARY or MANY
    forward: Callable[..., Any]  # the gate's bound forward hook: forward(inputs)
    a: int  # the first input's slot (UNARY, BINARY)
    b: int  # the second input's slot (BINARY)
    gather: Gather  # values -> every input's value, in order (any kind)
    out: int  # the output's slot
    slots: tuple[int, ...] = ()  # every input's slot, in order (for the batching of scalar circuits)
    #: the forward hook called with an array to compute into, ``into(inputs, out)``, if the gate takes one
    into: Callable[..., Any] | None = None


class BackwardStep(NamedTuple):
    """One gate of the backward pass: its gradient hook and where its inputs' gradients go."""

    kind: int  # UNARY, BINARY, MANY, or VJP (the hook maps the upstream gradient itself)
    backward: Callable[..., Any]  # gradient hook: backward(inputs, output[, upstream])
    a: int  # the first input's slot (UNARY, BINARY)
    b: int  # the second input's slot (BINARY)
    gather: Gather  # values -> every input's value, in order (any kind)
    out: int  # the output's slot: its gradient is the upstream one
    to_a: int  # where the first input's gradient goes (UNARY, BINARY); SINK: not kept
    to_b: int  # where the second input's gradient goes (BINARY)
    targets: tuple[int, ...]  # where each input's gradient goes, in order (any kind)


#: A :class:`ForwardStep` as the lean loop reads it: a plain tuple of the same fields,
#: ``gather`` the shared :data:`UNUSED_GATHER` for UNARY and BINARY steps.
ForwardTuple = tuple[int, Callable[..., Any], int, int, Gather, int]
#: A :class:`BackwardStep` as the lean loop reads it: ``gather`` :data:`UNUSED_GATHER`
#: and ``targets`` ``()`` for UNARY and BINARY steps.
BackwardTuple = tuple[int, Callable[..., Any], int, int, Gather, int, int, int, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled circuit: slots, steps, and the names that map onto them."""

    initial: list[Any]  # a value per slot: leaves and constants set, gates 0.0, SINK
    forward: list[ForwardStep]  # every gate, in topological order
    backward: list[BackwardStep]  # gates on a path from a leaf to the root, reversed
    slots: Mapping[str, int]  # node name -> slot, in file order
    leaves: Mapping[str, int]  # input and param names -> slot, in file order
    outputs: Mapping[str, int]  # output name -> slot
    root: int  # the slot backprop starts from (outputs[0])
    gates: Mapping[int, BoundGate]  # output slot -> gate, for messages and views
    #: leaf slots that some backward step sends a gradient to (the others' gradient is 0)
    reached: frozenset[int]
    #: :attr:`forward` and :attr:`backward` as plain tuples, for the lean loops (see the module's docstring)
    forward_loop: list[ForwardTuple] = field(init=False, repr=False)
    backward_loop: list[BackwardTuple] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "forward_loop", [_lean_forward(step) for step in self.forward])
        object.__setattr__(self, "backward_loop", [_lean_backward(step) for step in self.backward])


def _lean_forward(step: ForwardStep) -> ForwardTuple:
    kind, forward, a, b, gather, out, _, _ = step
    return (kind, forward, a, b, UNUSED_GATHER if kind in (UNARY, BINARY) else gather, out)


def _lean_backward(step: BackwardStep) -> BackwardTuple:
    kind, backward, a, b, gather, out, to_a, to_b, targets = step
    if kind in (UNARY, BINARY):
        return (kind, backward, a, b, UNUSED_GATHER, out, to_a, to_b, ())
    return (kind, backward, a, b, gather, out, to_a, to_b, targets)


def _kind(count: int) -> int:
    """The step kind of an elementwise gate of ``count`` inputs."""
    return UNARY if count == 1 else BINARY if count == 2 else MANY


def _gather(slots: list[int]) -> Gather:
    """A C-level function returning ``[values[s] for s in slots]`` as a sequence."""
    if len(slots) == 1:
        return itemgetter(slice(slots[0], slots[0] + 1))  # a one-item list
    return itemgetter(*slots)


@dataclass(slots=True)
class _Row:
    """What the compiler knows about one gate before it lays out the steps."""

    bound: BoundGate
    out: int
    inputs: list[int]
    targets: tuple[int, ...] | None  # where gradients go; None: no backward step
    forward: Callable[..., Any]
    backward: Callable[..., Any]
    is_vjp: bool
    into: Callable[..., Any] | None  # the forward hook given an array to compute into, if it takes one
    gather: Gather  # one for both steps

    def forward_step(self) -> ForwardStep:
        inputs = self.inputs
        kind = _kind(len(inputs))
        a = inputs[0] if kind != MANY else SINK
        b = inputs[1] if kind == BINARY else SINK
        return ForwardStep(kind, self.forward, a, b, self.gather, self.out, tuple(inputs), self.into)

    def backward_step(self, targets: tuple[int, ...]) -> BackwardStep:
        inputs = self.inputs
        kind = VJP if self.is_vjp else _kind(len(inputs))
        direct = kind in (UNARY, BINARY)
        a, to_a = (inputs[0], targets[0]) if direct else (SINK, SINK)
        b, to_b = (inputs[1], targets[1]) if kind == BINARY else (SINK, SINK)
        return BackwardStep(kind, self.backward, a, b, self.gather, self.out, to_a, to_b, targets)


def compile_plan(valid: ValidCircuit, dag: CircuitGraph, of: str | None = None) -> Plan:
    """Lay out slots and bind each gate's hooks for the run loops.

    Backprop starts from node ``of`` (default ``outputs[0]``), whose cone of
    ancestors ``dag.root_cone`` must be.
    """
    circuit = valid.definition
    slots = {name: i for i, name in enumerate(dag.order, start=SINK + 1)}
    initial: list[Any] = [0.0] * (len(slots) + 1)
    for leaf in circuit.leaves.values():
        value = leaf.value
        if isinstance(value, np.ndarray):  # shared by every run: no gate and no caller may change it
            value = value.view()
            value.flags.writeable = False
        initial[slots[leaf.name]] = value
    constants: dict[tuple[float, float], int] = {}

    def slot_of(source: str | float) -> int:
        if isinstance(source, str):
            return slots[source]
        # One slot per distinct constant: -0.0 == 0.0, but 1/-0.0 is not 1/0.0
        key = (source, math.copysign(1.0, source))
        if key not in constants:
            constants[key] = len(initial)
            initial.append(source)
        return constants[key]

    # A node's gradient can matter only if some leaf reaches it, and only
    # gates that outputs[0] depends on get a backward step.
    reached = set(circuit.leaves)
    root_cone = dag.root_cone
    rows: list[_Row] = []
    bound_hooks: dict[tuple[int, int], tuple[Hooks, Callable[..., Any] | None, Mapping[str, Any]]] = {}
    for name in dag.order:
        bound = valid.gates.get(name)
        if bound is None:
            continue
        use = bound.use
        inputs = [slot_of(source) for source in use.inputs]
        targets: tuple[int, ...] | None = tuple(
            slot if isinstance(source, str) and source in reached else SINK
            for slot, source in zip(inputs, use.inputs, strict=True)
        )
        if targets is not None and targets.count(SINK) == len(targets):
            targets = None  # no leaf reaches this gate
        else:
            reached.add(name)
            if name not in root_cone:
                targets = None
        key = (id(bound.gate), id(bound.attrs))  # uses that write the same attrs share them (validate)
        if key not in bound_hooks:  # the attrs kept with the hooks, so that their id stays theirs
            bound_hooks[key] = (bound.gate.bind(bound.attrs), bound.gate.bind_into(bound.attrs), bound.attrs)
        hooks, into, _ = bound_hooks[key]
        rows.append(_Row(bound, slots[name], inputs, targets, *hooks, into, _gather(inputs)))
    # Each list is built in one tight pass, so that its steps lie next to each
    # other in memory in the order the run loop walks them: scattered steps
    # cost a large circuit's run about a third more in cache misses.
    forward = [row.forward_step() for row in rows]
    backward = [row.backward_step(row.targets) for row in reversed(rows) if row.targets is not None]
    leaves = {name: slots[name] for name in circuit.leaves}
    root = slots[circuit.outputs[0] if of is None else of]
    targeted = {root} | {slot for step in backward for slot in step.targets}
    return Plan(
        initial=initial,
        forward=forward,
        backward=backward,
        slots={name: slots[name] for name in circuit.defined_at},
        leaves=leaves,
        outputs={name: slots[name] for name in circuit.outputs},
        root=root,
        gates={row.out: row.bound for row in rows},
        reached=frozenset(slot for slot in leaves.values() if slot in targeted),
    )
