"""Automatic batching of scalar circuits: many uses of one gate, one call on vectors.

A scalar circuit (a micrograd-style MLP written out gate by gate) spends its
time in the per-gate Python call of the run loops, some 200 ns a gate, not in
the arithmetic. Yet most of its gates can run together: the products of one
layer are all ``mul`` gates of two inputs, none of which reads another. This
module finds such groups once, when a circuit first runs on numbers (the
idea of DyNet's on-the-fly operation batching, Neubig, Goldberg and Dyer
2017), so that the run loops (:func:`gatekit.engine.scheduler.forward_batched`
and :func:`~gatekit.engine.scheduler.backward_batched`) call each group's
hooks once, on vectors gathered from one float64 vector of values.

Grouping is by *depth*: a gate's depth is one more than the deepest gate it
reads (leaves and constants are at depth 0), so no gate reads another of its
own depth, and the gates of one depth run in any order. Gates of one depth
that apply the same gate, with the same attrs and the same number of inputs,
form a group, if the gate's spec says it is elementwise
(:attr:`gatekit.GateSpec.elementwise`) and it has ``gate_local_grad`` (VJP
gates are never batched). Groups are laid out by depth, and within a depth
in the order of their first gate in the plan; backward walks them in the
reverse order, each group's upstream gradient complete by then, since every
gate that reads it is deeper.

A group smaller than :data:`MIN_GROUP` costs more as one call on vectors than
gate by gate, and its gates stay steps of their own (as do the gates that
are not elementwise). Where most gates would be such steps (a chain, a
circuit too small or too irregular), batching does not pay at all:
:func:`batch` then returns ``None`` and the circuit keeps the per-gate loops,
whose speed it has today. The choice is a cost estimate from figures
measured on the per-gate and the batched loops (:data:`COSTS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gatekit.engine.compiler import SINK, VJP, BackwardStep, ForwardStep, Plan

__all__ = [
    "COSTS",
    "MIN_GROUP",
    "WIDE",
    "BackGroup",
    "BatchedPlan",
    "Group",
    "LoneStep",
    "batch",
    "groups_of",
]

#: The smallest group that runs as one call on vectors; smaller ones run gate by gate.
MIN_GROUP = 4

#: Estimated costs in nanoseconds, forward and backward together, measured on
#: a 2-core x86-64 machine (circuits of layers of ``mul`` gates, 1 to 256 a
#: layer; benchmarks/scalar_circuit.py's random DAGs): a gate of the per-gate
#: loops; a group's fixed cost, its cost per input position and per input
#: value; a gate the batched loops run alone, and its cost per input; each
#: slot of the run's vectors.
COSTS = {
    "gate": 350.0,
    "group": 6_000.0,
    "row": 500.0,
    "element": 10.0,
    "lone": 2_100.0,
    "lone input": 150.0,
    "slot": 5.0,
}

#: Batch only where the estimate is at most this fraction of the per-gate loops' cost.
WORTH = 0.7


@dataclass(frozen=True, slots=True)
class Group:
    """Uses of one elementwise gate, same attrs and input count, run forward as one call.

    ``forward`` is the gate's bound hook, called with one vector per input
    position (the rows of ``values[ins]``): ``ins[k, i]`` is the slot of
    member ``i``'s input ``k``, ``out[i]`` its output's slot. ``members``
    are the output slots again, as ints, in plan order: the steps the group
    stands for, for messages.
    """

    forward: Callable[..., Any]
    ins: np.ndarray
    out: np.ndarray
    members: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class BackGroup:
    """A group's backward pass: its members that send gradients, and where they go.

    ``ins`` and ``out`` are as in :class:`Group`, for these members.
    ``kept`` lists the input positions whose gradient some member keeps, and
    ``targets[i * len(kept) + j]`` is where member ``i``'s gradient for
    input ``kept[j]`` goes (:data:`~gatekit.engine.compiler.SINK` where it is not
    kept), members in reverse plan order (see :func:`_back_group`). A slot
    may appear more than once (a wire that fans out to several members, or
    the sink): the loop adds contributions with ``numpy.add.at``, which adds
    every one, in order.
    """

    backward: Callable[..., Any]
    ins: np.ndarray
    out: np.ndarray
    kept: tuple[int, ...]
    targets: np.ndarray
    members: tuple[int, ...]


class LoneStep(NamedTuple):
    """A gate's backward pass in the batched loops when it runs alone: slots and targets."""

    is_vjp: bool  # the hook maps the upstream gradient itself (gate_vjp)
    backward: Callable[..., Any]  # backward(inputs, output[, upstream])
    slots: tuple[int, ...]  # every input's slot, in order
    out: int  # the output's slot
    targets: tuple[int, ...]  # where each input's gradient goes (SINK: not kept)
    #: for a gate of more than :data:`WIDE` inputs, ``slots`` and ``targets`` as index arrays:
    #: its inputs are gathered and its gradients scatter-added by one NumPy call each
    wide: tuple[np.ndarray, np.ndarray] | None = None


#: A lone gate with more inputs than this gathers and scatters them with NumPy (a sum of a layer).
WIDE = 8


@dataclass(frozen=True, slots=True)
class BatchedPlan:
    """A plan's gates as groups and lone steps, in the order the batched loops run them."""

    plan: Plan
    forward: list[Group | ForwardStep]
    backward: list[BackGroup | LoneStep]

    @property
    def groups(self) -> int:
        """How many groups run as one call each."""
        return sum(isinstance(item, Group) for item in self.forward)

    @property
    def batched_gates(self) -> int:
        """How many gates run inside groups."""
        return sum(len(item.members) for item in self.forward if isinstance(item, Group))


def groups_of(plan: Plan) -> list[list[ForwardStep]]:
    """The plan's forward steps grouped: by depth, then gate, attrs and input count.

    Each list is one group (of one step where the gate cannot be batched), in
    run order: by depth, and within a depth by the position of the group's
    first step in the plan; members keep their plan order.

    >>> from gatekit.engine.circuit import Circuit
    >>> text = "inputs: {a: 1, b: 2}\\ngates:\\n  x: {gate: mul, in: [a, b]}\\n"
    >>> text += "  y: {gate: mul, in: [b, a]}\\n"
    >>> plan = Circuit.from_text(text + "  z: {gate: add, in: [x, y]}\\noutputs: [z]").plan
    >>> [[plan.gates[step.out].name for step in group] for group in groups_of(plan)]
    [['x', 'y'], ['z']]
    """
    depth = [0] * len(plan.initial)
    grouped: dict[tuple[Any, ...], list[ForwardStep]] = {}
    for position, step in enumerate(plan.forward):
        level = 1 + max((depth[slot] for slot in step.slots), default=0)
        depth[step.out] = level
        bound = plan.gates[step.out]
        gate = bound.gate
        if _batchable(plan, step):
            key: tuple[Any, ...] = (level, gate.name, gate.plugin, _attrs_key(bound.attrs), len(step.slots))
        else:
            key = (level, position)  # a group of its own
        grouped.setdefault(key, []).append(step)
    # dicts keep insertion order: within a depth, groups come in the order of their first step
    return sorted(grouped.values(), key=lambda steps: depth[steps[0].out])


def batch(plan: Plan, *, min_group: int = MIN_GROUP, force: bool = False) -> BatchedPlan | None:
    """``plan`` laid out for the batched loops, or ``None`` where batching would not pay.

    ``force`` batches whatever the estimate says (for tests of the batched
    loops on small circuits); ``min_group`` is the smallest group run as one
    call.
    """
    backward_of = {step.out: step for step in plan.backward}
    forward: list[Group | ForwardStep] = []
    backward: list[BackGroup | LoneStep] = []
    cost = COSTS["slot"] * len(plan.initial)
    for steps in groups_of(plan):
        if len(steps) < min_group or not _batchable(plan, steps[0]):
            forward += steps
            backward += [_lone(step, backward_of[step.out]) for step in steps if step.out in backward_of]
            cost += sum(COSTS["lone"] + COSTS["lone input"] * len(step.slots) for step in steps)
            continue
        forward.append(_group(steps))
        sending = [step for step in steps if step.out in backward_of]
        if sending:
            backward.append(_back_group(sending, [backward_of[step.out] for step in sending]))
        arity = len(steps[0].slots)
        cost += COSTS["group"] + arity * (COSTS["row"] + COSTS["element"] * len(steps))
    backward.reverse()
    if not force and cost > WORTH * COSTS["gate"] * len(plan.forward):
        return None
    return BatchedPlan(plan, forward, backward)


def _batchable(plan: Plan, step: ForwardStep) -> bool:
    """Whether the step's gate says it is elementwise and gives local gradients (not a VJP)."""
    gate = plan.gates[step.out].gate
    return gate.spec.elementwise and gate.vjp is None


def _attrs_key(attrs: Any) -> str:
    """A key equal for equal attrs (their values may be unhashable: lists)."""
    return repr(sorted(attrs.items()))


def _slots(values: Iterable[int]) -> np.ndarray:
    return np.fromiter(values, dtype=np.intp)


def _group(steps: list[ForwardStep]) -> Group:
    members = tuple(step.out for step in steps)
    return Group(steps[0].forward, _ins(steps), _slots(members), members)


def _ins(steps: list[ForwardStep]) -> np.ndarray:
    """``ins[k, i]``: the slot of input ``k`` of ``steps[i]``."""
    return np.array([step.slots for step in steps], dtype=np.intp).T.copy()


def _lone(step: ForwardStep, back: BackwardStep) -> LoneStep:
    wide = None
    if len(step.slots) > WIDE:
        wide = (_slots(step.slots), _slots(back.targets))
    return LoneStep(back.kind == VJP, back.backward, step.slots, step.out, back.targets, wide)


def _back_group(steps: list[ForwardStep], senders: list[BackwardStep]) -> BackGroup:
    """The backward pass of the members ``steps``, whose backward steps are ``senders``.

    The members are laid out in reverse plan order, and their contributions
    member by member, so that a wire that fans out within the group adds
    them in the order the per-gate loop does: the same sum, to the last bit.
    """
    steps, senders = steps[::-1], senders[::-1]
    targets = np.array([sender.targets for sender in senders], dtype=np.intp)
    kept = tuple(k for k in range(targets.shape[1]) if np.any(targets[:, k] != SINK))
    members = tuple(step.out for step in steps)
    return BackGroup(
        senders[0].backward, _ins(steps), _slots(members), kept, targets[:, list(kept)].ravel(), members
    )
