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

The run loops read each step as a plain tuple (:attr:`Plan.forward_loop`,
:attr:`Plan.backward_loop`), the one form the plan keeps, for reasons
measured on a scalar MLP and on million-gate files: CPython unpacks an exact
tuple about four times faster than a tuple subclass such as a NamedTuple
(some 50 ns a step); unpacking touches every item, so a one- or two-input
step carries one shared placeholder where it has no use for its ``gather``
and ``targets`` (objects of its own would cost a cache line each, about 10%
of the run, and some 150 bytes a gate); and a second form of every step
would cost a large circuit a few hundred bytes a gate more. Every other
reader (views, guards, batching) gets named records, :class:`ForwardStep`
and :class:`BackwardStep`, made from the tuples as it reads them
(:attr:`Plan.forward`, :attr:`Plan.backward`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import index, itemgetter
from typing import Any, NamedTuple, TypeVar, overload

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
    "GatesBySlot",
    "Plan",
    "Steps",
    "backward_record",
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


#: A :class:`ForwardStep` as the lean loops read it, the form the plan keeps: a plain tuple
#: ``(kind, forward, a, b, gather, out, into)``, ``gather`` the shared :data:`UNUSED_GATHER`
#: for UNARY and BINARY steps.
ForwardTuple = tuple[int, Callable[..., Any], int, int, Gather, int, Callable[..., Any] | None]
#: A :class:`BackwardStep` as the lean loops read it, the form the plan keeps: ``gather``
#: :data:`UNUSED_GATHER` and ``targets`` ``()`` for UNARY and BINARY steps.
BackwardTuple = tuple[int, Callable[..., Any], int, int, Gather, int, int, int, tuple[int, ...]]

_S = TypeVar("_S")
_T = TypeVar("_T")


class Steps(Sequence[_S]):
    """A read-only sequence of named step records, made from the plan's tuples as they are read.

    Nothing is kept: each item read is a new record, with the same fields
    as the last one read at the same place but a ``gather`` of its own.
    """

    __slots__ = ("_make", "_tuples")

    def __init__(self, tuples: list[_T], make: Callable[[_T], _S]) -> None:
        self._tuples: list[Any] = tuples
        self._make: Callable[[Any], _S] = make

    def __len__(self) -> int:
        return len(self._tuples)

    @overload
    def __getitem__(self, index: int) -> _S: ...

    @overload
    def __getitem__(self, index: slice) -> list[_S]: ...

    def __getitem__(self, index: int | slice) -> _S | list[_S]:
        if isinstance(index, slice):
            return [self._make(item) for item in self._tuples[index]]
        return self._make(self._tuples[index])

    def __iter__(self) -> Iterator[_S]:
        return map(self._make, self._tuples)

    def __reversed__(self) -> Iterator[_S]:
        return map(self._make, reversed(self._tuples))

    def __repr__(self) -> str:
        return f"<{len(self)} steps>"


class GatesBySlot(Mapping[int, BoundGate]):
    """Output slot -> gate, in topological order, read off the order the slots were numbered in.

    Slot ``SINK + 1 + i`` holds node ``order[i]`` (see :func:`_slots`), so the
    mapping needs nothing per gate beyond the order and the validated gates
    by name, which the circuit keeps anyway (a dict of its own would cost a
    million-gate circuit some 35 MB).
    """

    __slots__ = ("_count", "_gates", "_order")

    def __init__(self, order: Sequence[str], gates: Mapping[str, BoundGate], count: int) -> None:
        self._order = order
        self._gates = gates
        self._count = count  # how many of the order's nodes are gates

    def __getitem__(self, slot: int) -> BoundGate:
        try:
            position = index(slot) - SINK - 1
        except TypeError:
            raise KeyError(slot) from None
        bound = self._gates.get(self._order[position]) if 0 <= position < len(self._order) else None
        if bound is None:
            raise KeyError(slot)
        return bound

    def __iter__(self) -> Iterator[int]:
        gates = self._gates
        return (slot for slot, name in enumerate(self._order, start=SINK + 1) if name in gates)

    def __len__(self) -> int:
        return self._count


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled circuit: slots, steps, and the names that map onto them."""

    initial: list[Any]  # a value per slot: leaves and constants set, gates 0.0, SINK
    #: every gate, in topological order (see the module's docstring)
    forward_loop: list[ForwardTuple]
    #: gates on a path from a leaf to the root, reversed
    backward_loop: list[BackwardTuple]
    slots: Mapping[str, int]  # node name -> slot, in file order
    leaves: Mapping[str, int]  # input and param names -> slot, in file order
    outputs: Mapping[str, int]  # output name -> slot
    root: int  # the slot backprop starts from (outputs[0])
    gates: Mapping[int, BoundGate]  # output slot -> gate, for messages and views
    #: leaf slots that some backward step sends a gradient to (the others' gradient is 0)
    reached: frozenset[int]
    #: the input slots of each forward step of more than two inputs (MANY), by output slot
    many: Mapping[int, tuple[int, ...]]
    #: ``gate_local_grad`` as ``into(inputs, output, out)``, by output slot, for the gates whose hook
    #: takes ``out`` (the array loops give it the pool's arrays; see :meth:`Gate.bind_local_into`)
    local_into: Mapping[int, Callable[..., Any]] = field(default_factory=dict)

    @property
    def forward(self) -> Steps[ForwardStep]:
        """Every gate's forward step, in topological order, as named records."""
        return Steps(self.forward_loop, self._forward_step)

    @property
    def backward(self) -> Steps[BackwardStep]:
        """The backward steps, in the order they run, as named records."""
        return Steps(self.backward_loop, backward_record)

    def _forward_step(self, step: ForwardTuple) -> ForwardStep:
        kind, forward, a, b, gather, out, into = step
        if kind == MANY:
            slots = self.many[out]
        else:
            slots = (a,) if kind == UNARY else (a, b)
            gather = _gather(slots)
        return ForwardStep(kind, forward, a, b, gather, out, slots, into)


def backward_record(step: BackwardTuple) -> BackwardStep:
    """The named record of a backward step as the plan keeps it (:attr:`Plan.backward_loop`)."""
    kind, backward, a, b, _, out, to_a, to_b, _ = step
    if kind == UNARY:
        return BackwardStep(kind, backward, a, b, _gather((a,)), out, to_a, to_b, (to_a,))
    if kind == BINARY:
        return BackwardStep(kind, backward, a, b, _gather((a, b)), out, to_a, to_b, (to_a, to_b))
    return BackwardStep(*step)


def _kind(count: int) -> int:
    """The step kind of an elementwise gate of ``count`` inputs."""
    return UNARY if count == 1 else BINARY if count == 2 else MANY


def _gather(slots: Sequence[int]) -> Gather:
    """A C-level function returning ``[values[s] for s in slots]`` as a sequence."""
    if len(slots) == 1:
        return itemgetter(slice(slots[0], slots[0] + 1))  # a one-item list
    return itemgetter(*slots)


def _slots(defined_at: Mapping[str, Any], order: list[str]) -> dict[str, int]:
    """Each node's slot, numbered in ``order`` (topological), the dict in file order.

    Slot ``SINK + 1 + i`` is ``order[i]``'s (:class:`GatesBySlot` reads it back so).

    One dict for both: the file's names set first, then numbered (a key
    set again keeps its place). Names the file does not define (a module's
    inner gates) come after them.
    """
    slots = dict.fromkeys(defined_at, SINK)
    for slot, name in enumerate(order, start=SINK + 1):
        slots[name] = slot
    assert len(slots) == len(order), "a name the file defines is not in the circuit's order"
    return slots


def compile_plan(valid: ValidCircuit, dag: CircuitGraph, of: str | None = None) -> Plan:
    """Lay out slots and bind each gate's hooks for the run loops.

    Backprop starts from node ``of`` (default ``outputs[0]``), whose cone of
    ancestors ``dag.root_cone`` must be.
    """
    circuit = valid.definition
    slots = _slots(circuit.defined_at, dag.order)
    initial: list[Any] = [0.0] * (len(dag.order) + 1)
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
    # gates that outputs[0] depends on get a backward step. Each list is
    # built in one tight pass, so that its steps lie next to each other in
    # memory in the order the run loop walks them: scattered steps cost a
    # large circuit's run about a third more in cache misses. The forward
    # pass notes, gate by gate, whether it has a backward step and its bound
    # hooks (shared by every use of the same gate and attrs), nothing more:
    # a large circuit's compile holds no record per gate beyond its steps.
    reached = set(circuit.leaves)
    root_cone = dag.root_cone
    forward: list[ForwardTuple] = []
    sending: list[bool] = []
    hooks_of: list[Hooks] = []
    many: dict[int, tuple[int, ...]] = {}
    local_into: dict[int, Callable[..., Any]] = {}
    Bound = tuple[Hooks, Callable[..., Any] | None, Callable[..., Any] | None, Mapping[str, Any]]
    bound_hooks: dict[tuple[int, int], Bound] = {}
    gate_of = valid.gates.get
    for name in dag.order:
        bound = gate_of(name)
        if bound is None:
            continue
        sources = bound.use.inputs
        # some leaf reaches the gate if it reaches one of its inputs (a constant: never)
        sends = not reached.isdisjoint(sources)
        if sends:
            reached.add(name)
            sends = name in root_cone
        key = (id(bound.gate), id(bound.attrs))  # uses that write the same attrs share them (validate)
        found = bound_hooks.get(key)
        if found is None:  # the attrs kept with the hooks, so that their id stays theirs
            gate = bound.gate
            found = (
                gate.bind(bound.attrs),
                gate.bind_into(bound.attrs),
                gate.bind_local_into(bound.attrs),
                bound.attrs,
            )
            bound_hooks[key] = found
        hooks, into, local, _ = found
        out = slots[name]
        if local is not None and sends:
            local_into[out] = local
        count = len(sources)
        if count == 1:
            forward.append((UNARY, hooks.forward, slot_of(sources[0]), SINK, UNUSED_GATHER, out, into))
        elif count == 2:
            a, b = sources
            forward.append((BINARY, hooks.forward, slot_of(a), slot_of(b), UNUSED_GATHER, out, into))
        else:
            inputs = many[out] = tuple([slot_of(source) for source in sources])
            forward.append((MANY, hooks.forward, SINK, SINK, _gather(inputs), out, into))
        sending.append(sends)
        hooks_of.append(hooks)
    # An input's gradient is kept if some leaf reaches it: ``reached`` is
    # complete now, and said the same of each input when its gate was read.
    gates = GatesBySlot(dag.order, valid.gates, len(forward))
    backward: list[BackwardTuple] = []
    targeted = {slots[circuit.outputs[0] if of is None else of]}
    for position in range(len(forward) - 1, -1, -1):
        if not sending[position]:
            continue
        kind, _, a, b, gather, out, _ = forward[position]
        _, gradient, is_vjp = hooks_of[position]
        sources = gates[out].use.inputs  # the gate the forward pass read at this position
        if kind == UNARY:
            to_a = a if sources[0] in reached else SINK
            targets: tuple[int, ...] = (to_a,)
            if not is_vjp:
                backward.append((UNARY, gradient, a, SINK, UNUSED_GATHER, out, to_a, SINK, ()))
        elif kind == BINARY:
            to_a = a if sources[0] in reached else SINK
            to_b = b if sources[1] in reached else SINK
            targets = (to_a, to_b)
            if not is_vjp:
                backward.append((BINARY, gradient, a, b, UNUSED_GATHER, out, to_a, to_b, ()))
        else:
            targets = tuple(
                [slot if source in reached else SINK for slot, source in zip(many[out], sources, strict=True)]
            )
            if not is_vjp:
                backward.append((MANY, gradient, SINK, SINK, gather, out, SINK, SINK, targets))
        if is_vjp:
            if kind != MANY:
                gather = _gather((a,) if kind == UNARY else (a, b))
            backward.append((VJP, gradient, SINK, SINK, gather, out, SINK, SINK, targets))
        targeted.update(targets)
    del sending, hooks_of
    leaves = {name: slots[name] for name in circuit.leaves}
    return Plan(
        initial=initial,
        forward_loop=forward,
        backward_loop=backward,
        slots=slots if len(slots) == len(circuit.defined_at) else {n: slots[n] for n in circuit.defined_at},
        leaves=leaves,
        outputs={name: slots[name] for name in circuit.outputs},
        root=slots[circuit.outputs[0] if of is None else of],
        gates=gates,
        reached=frozenset(slot for slot in leaves.values() if slot in targeted),
        many=many,
        local_into=local_into,
    )
