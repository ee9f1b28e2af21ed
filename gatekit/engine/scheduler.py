"""The run loops: forward in topological order, then backprop in reverse.

This is the whole of backpropagation, and the only place gatekit applies the
chain rule. Forward, each gate computes its output from the values in its
input slots. Backward, each gate takes the gradient arriving at its output
(``upstream``) and sends one *contribution* down each input wire, which is
added into that input's gradient, so that a wire that fans out collects the
gradient from every gate it feeds:

* a gate with ``gate_local_grad`` gives one local gradient per input, and
  the contribution is ``local * upstream`` (:func:`contribution`);
* a gate with ``gate_vjp`` is given ``upstream`` and returns the
  contributions itself;
* either way a contribution is summed back to its input's shape where
  broadcasting stretched the input, and the first contribution to a
  gradient is the gradient, later ones are added (:func:`accumulate`);
* where each contribution goes, and which are not kept (a number
  constant's), the compiler decided: the loops follow each step's targets.

Four pairs of loops apply this rule. :func:`backward` is the general one: any values,
shapes kept, and an optional :class:`Observer` told every step
(``gatekit.views.trace`` records runs with it). :func:`forward_arrays` and
:func:`backward_arrays` are its pair for an unobserved run over NumPy
arrays: outputs read-only, products and sums computed into the buffer pool's
arrays, and each gate's gradient let go after its step and its array
reused, to the same bits. :func:`backward_floats` is
the same rule for a run of Python floats only, written out inline because
that is most of a scalar circuit's time: there every shape is ``()``, so no
sum or broadcast is needed, and starting each gradient at ``-0.0`` (which
leaves any number it is added to unchanged, ``0.0`` and ``-0.0`` included)
makes ``+=`` give exactly what assigning the first contribution gives. A
test runs both on every example graph and random circuits and requires the
same numbers, of the same types. :func:`forward_batched` and
:func:`backward_batched` run a scalar circuit whose gates
:mod:`gatekit.engine.batching` grouped: values and gradients live in two
float64 vectors, a group gathers each input position's values with one
indexing operation and calls its gate's hooks once, and its contributions
``local * upstream`` are scatter-added into its inputs' gradients (with
``numpy.add.at`` where a wire fans out within the group, which adds every
one). The same test requires their numbers to equal the per-gate loops' to
1e-12 relative: they differ at most in the order in which a fanned-out
wire's contributions are added, and in NumPy's and the ``math`` module's
last bit of ``exp`` or ``tanh``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from gatekit import math as gm
from gatekit.engine.batching import WIDE, BackGroup, BatchedPlan, Group
from gatekit.engine.broadcast import shape_of, sum_to_shape
from gatekit.engine.buffers import BufferPool, OwnedGradients, fresh, spare_locals
from gatekit.engine.compiler import (
    BINARY,
    MANY,
    SINK,
    UNARY,
    VJP,
    BackwardStep,
    ForwardStep,
    Plan,
    backward_record,
)
from gatekit.errors import PLUGIN_FAULTS, RunError, describe_exception

__all__ = [
    "Observer",
    "TangentHook",
    "TangentObserver",
    "accumulate",
    "backward",
    "backward_arrays",
    "backward_batched",
    "backward_floats",
    "contribution",
    "forward",
    "forward_arrays",
    "forward_batched",
    "forward_tangents",
    "gate_tangent",
    "tangent_part",
]


class Observer(Protocol):
    """Told every step of a :func:`backward` run, for a record of it (``gatekit explain``).

    Calls come in run order: :meth:`gate` once per backward step, then
    :meth:`wire` once per input of that gate, in input order.
    """

    def gate(self, step: BackwardStep, upstream: Any) -> None:
        """A gate's turn: ``upstream`` is the gradient at its output."""

    def wire(
        self, step: BackwardStep, position: int, *, local: Any, sent: Any, before: Any, after: Any
    ) -> None:
        """What input ``position`` received.

        ``local`` is the local gradient (``None`` for a VJP gate); ``sent``
        the contribution, summed to the input's shape; ``before`` and
        ``after`` the input's gradient around the addition (``before`` is
        ``None`` for the first contribution), both ``None`` where the
        gradient is not kept (a constant's).
        """


def forward(plan: Plan, values: list[Any]) -> None:
    """Fill every gate's slot in ``values``, in topological order."""
    binary, unary = BINARY, UNARY  # locals, not globals: each test is then one fast load
    out = -1
    try:
        for kind, fn, a, b, gather, out, _ in plan.forward_loop:
            if kind == binary:
                values[out] = fn((values[a], values[b]))
            elif kind == unary:
                values[out] = fn((values[a],))
            else:
                values[out] = fn(gather(values))
    except PLUGIN_FAULTS as exc:
        raise _failure(plan, out, "forward", exc) from exc


def forward_arrays(plan: Plan, values: list[Any], pool: BufferPool | None = None) -> None:
    """:func:`forward` for runs with arrays: every array a gate returns is made read-only.

    A gate's inputs are other gates' outputs and the leaves' values (read-only
    too: see :func:`gatekit.engine.circuit.as_value`), so a hook that writes
    into an input fails at once, with a message naming the gate, instead of
    silently changing the numbers of every other gate that reads it. With a
    ``pool``, a gate whose ``gate_forward`` takes ``out`` gets an array of
    the shape its output had in the last run, if the pool has one free.
    """
    out = -1
    try:
        for kind, fn, a, b, gather, out, into in plan.forward_loop:
            if kind == BINARY:
                inputs: Sequence[Any] = (values[a], values[b])
            elif kind == UNARY:
                inputs = (values[a],)
            else:
                inputs = gather(values)
            buffer = None if pool is None or into is None else pool.take(pool.shapes.get(out))
            output = fn(inputs) if into is None or buffer is None else into(inputs, buffer)
            if type(output) is np.ndarray:
                output.flags.writeable = False
            values[out] = output
    except PLUGIN_FAULTS as exc:
        raise _failure(plan, out, "forward", exc) from exc


def contribution(
    local: Any,
    upstream: Any,
    shape: tuple[int, ...],
    target: tuple[int, ...],
    pool: BufferPool | None = None,
    *,
    output: Any = None,
    into: np.ndarray | None = None,
) -> Any:
    """What a gate with local gradient ``local`` sends down a wire: ``local * upstream``.

    ``shape`` is the gate output's shape, ``target`` the input's. A scalar
    gradient stands for the same value at every element of its own node, and
    a product smaller than the output (an input that broadcasting stretched)
    is broadcast to it, as a view, so that :func:`~gatekit.engine.broadcast.sum_to_shape`
    then counts every element it reached. A product by exactly 1.0 is not
    computed. When the product would be summed to a number anyway (a scalar
    weight against a batch), it is one dot product: one pass, no array.
    ``output`` (the gate's) says whose library a product of two numbers is
    broadcast as; by default NumPy's. A product is computed into ``into`` if
    given (and it has the product's shape), else into one of the ``pool``'s
    free arrays if it has one.

    >>> contribution(2.0, 3.0, (), ())
    6.0
    >>> contribution(np.array([1.0, 2.0]), np.array([3.0, 4.0]), (2,), ())
    11.0
    """
    if (
        target == ()
        and type(local) is np.ndarray
        and type(upstream) is np.ndarray
        and local.shape == upstream.shape == shape
    ):
        return float(np.vdot(local, upstream))
    if type(local) is float and local == 1.0:
        product = upstream
    elif type(upstream) is float and upstream == 1.0:
        product = local
    else:
        buffer = into
        if buffer is None and pool is not None:
            buffer = pool.take(shape)
        product = local * upstream if buffer is None else _product(local, upstream, buffer)
    if shape_of(product) != shape:
        product = gm.broadcast(product, shape, product if output is None else output)
    return product


def _product(local: Any, upstream: Any, buffer: np.ndarray) -> Any:
    """``local * upstream`` into ``buffer``, where their product has its shape; else a new array."""
    shape = buffer.shape
    fits = (type(local) is float or shape_of(local) == shape) and (
        type(upstream) is float or shape_of(upstream) == shape
    )
    if not fits and np.broadcast_shapes(shape_of(local), shape_of(upstream)) != shape:
        return local * upstream
    return np.multiply(local, upstream, out=buffer)


def accumulate(total: Any, sent: Any, pool: BufferPool | None = None) -> Any:
    """A gradient after one more contribution: the first one as it is, later ones added.

    Never in place: a gradient may be the very array that is another node's
    value, or another gradient; with a ``pool``, the sum goes into one of its
    free arrays, which nothing else reads.
    """
    if total is None:
        return sent
    if pool is not None:
        buffer = pool.take(np.broadcast_shapes(shape_of(total), shape_of(sent)))
        if buffer is not None:
            return np.add(total, sent, out=buffer)
    return total + sent


def backward(
    plan: Plan,
    values: list[Any],
    observer: Observer | None = None,
    pool: BufferPool | None = None,
    seed: Any = 1.0,
) -> list[Any]:
    """The gradient of the root with respect to every slot, for values of any shape.

    Gradients that nothing reached stay ``None``; the root's starts from
    ``seed``: ``1.0`` (for an array root, ones of its shape) or a cotangent
    of the root's shape (a vector-Jacobian product). Contributions
    to constants are computed only for an ``observer``.
    """
    grads: list[Any] = [None] * len(values)
    grads[plan.root] = seed
    out = -1
    try:
        for step in plan.backward_loop:
            kind, fn, a, b, gather, out, to_a, to_b, targets = step
            upstream = grads[out]
            if kind == BINARY:
                inputs: Sequence[Any] = (values[a], values[b])
                targets = (to_a, to_b)
            elif kind == UNARY:
                inputs = (values[a],)
                targets = (to_a,)
            else:
                inputs = gather(values)
            output = values[out]
            shape = shape_of(output)
            if observer is not None:
                record = backward_record(step)
                observer.gate(record, upstream)
            if kind == VJP:
                if shape_of(upstream) != shape:
                    upstream = gm.broadcast(upstream, shape, output)  # a read-only view, for NumPy
                elif type(upstream) is np.ndarray:
                    upstream.flags.writeable = False  # it may be another node's gradient too
                sent_back = fn(inputs, output, upstream)
                local_grads: Sequence[Any] = (None,) * len(targets)
            else:
                local_grads = fn(inputs, output)
            for position, slot in enumerate(targets):
                if slot == SINK and observer is None:
                    continue
                value_shape = shape_of(inputs[position])
                local = local_grads[position]
                sent = (
                    sent_back[position]
                    if kind == VJP
                    else contribution(local, upstream, shape, value_shape, pool, output=output)
                )
                sent = sum_to_shape(sent, value_shape)
                if slot == SINK:
                    if observer is not None:
                        observer.wire(record, position, local=local, sent=sent, before=None, after=None)
                    continue
                before = grads[slot]
                grads[slot] = after = accumulate(before, sent, pool)
                if observer is not None:
                    observer.wire(record, position, local=local, sent=sent, before=before, after=after)
    except PLUGIN_FAULTS as exc:
        raise _failure(plan, out, "backward", exc) from exc
    return grads


def backward_arrays(plan: Plan, values: list[Any], pool: BufferPool, seed: Any = 1.0) -> list[Any]:
    """:func:`backward` for an unobserved run over NumPy arrays: the same numbers, in less memory.

    A gate's gradient is read by that gate's own step alone, so the loop lets
    it go there (a result keeps the leaves' gradients, not the gates'). An
    array this loop computed itself (a product or a sum; never what a hook
    returned, a value, or the seed) that no slot of the gradients holds any
    more is then the loop's to reuse: the step's last product is computed
    into it, in place; a later contribution to a fanned-out gradient is added
    into one of the two; and what is left over goes back to ``pool``
    (:meth:`~gatekit.engine.buffers.BufferPool.give`) for the next product or
    sum, so the pass works in memory it has just touched, and fewer arrays.
    Every number is the one :func:`backward` computes, bit for bit: the same
    operations on the same operands (IEEE addition and multiplication
    commute), only into other memory. A gradient that a ``gate_vjp`` hook was
    given is never reused, since the hook may return a view of it; nor is one
    that is the upstream of a step still sending (only its last product may
    overwrite it).
    """
    grads: list[Any] = [None] * len(values)
    grads[plan.root] = seed
    owned = OwnedGradients(grads, pool)
    local_into = plan.local_into
    out = -1
    try:
        for kind, fn, a, b, gather, out, to_a, to_b, many in plan.backward_loop:
            upstream = grads[out]
            grads[out] = None  # nothing reads a gate's gradient after its own step
            owned.upstream(upstream)
            if kind == BINARY:
                inputs: Sequence[Any] = (values[a], values[b])
                targets: Sequence[int] = (to_a, to_b)
            elif kind == UNARY:
                inputs = (values[a],)
                targets = (to_a,)
            else:
                inputs = gather(values)
                targets = many
            output = values[out]
            shape = shape_of(output)
            if kind == VJP:
                owned.seen(upstream)  # the hook may keep a view of it
                if shape_of(upstream) != shape:
                    upstream = gm.broadcast(upstream, shape, output)
                elif type(upstream) is np.ndarray:
                    upstream.flags.writeable = False
                sent_back = fn(inputs, output, upstream)
                for position, slot in enumerate(targets):
                    if slot != SINK:
                        owned.add(slot, sum_to_shape(sent_back[position], shape_of(inputs[position])), False)
                continue
            into_fn = local_into.get(out)
            buffers = (
                [] if into_fn is None else [None if slot == SINK else pool.take(shape) for slot in targets]
            )
            if into_fn is not None and any(buffer is not None for buffer in buffers):
                # its hook computes its factors into the pool's arrays: the loop's own then
                local_grads = into_fn(inputs, output, buffers)
                spare: Sequence[bool] = pool.settle(buffers, local_grads)
            else:
                local_grads = fn(inputs, output)
                spare = spare_locals([local_grads], shape)
            last = max((position for position, slot in enumerate(targets) if slot != SINK), default=-1)
            for position, slot in enumerate(targets):
                if slot == SINK:
                    continue
                value_shape = shape_of(inputs[position])
                local = local_grads[position]
                into = None
                if value_shape == shape:
                    into = owned.spare(upstream, shape) if position == last else None
                    if into is None and spare[position]:
                        into = local
                sent = contribution(local, upstream, shape, value_shape, pool, output=output, into=into)
                made = sent is not upstream and (sent is not local or spare[position]) and fresh(sent)
                summed = sum_to_shape(sent, value_shape)
                if summed is not sent:
                    if made:
                        pool.give(sent)  # summed into a new array: not needed any more
                    made = fresh(summed)
                owned.add(slot, summed, made)
            owned.done(upstream)
    except PLUGIN_FAULTS as exc:
        raise _failure(plan, out, "backward", exc) from exc
    return grads


def backward_floats(plan: Plan, values: list[Any], seed: float = 1.0) -> list[Any]:
    """:func:`backward` for a run whose values are all Python floats, inline.

    Gradients start at ``-0.0`` (see the module's docstring); those no leaf
    needs land in ``SINK``.
    """
    grads: list[Any] = [-0.0] * len(values)
    grads[plan.root] = seed
    binary, unary, many = BINARY, UNARY, MANY  # locals, not globals: each test is then one fast load
    out = -1
    try:
        for kind, fn, a, b, gather, out, to_a, to_b, targets in plan.backward_loop:
            upstream = grads[out]
            if kind == binary:
                local_a, local_b = fn((values[a], values[b]), values[out])
                grads[to_a] += local_a * upstream
                grads[to_b] += local_b * upstream
            elif kind == unary:
                (local_a,) = fn((values[a],), values[out])
                grads[to_a] += local_a * upstream
            elif kind == many:
                for slot, local in zip(targets, fn(gather(values), values[out]), strict=True):
                    grads[slot] += local * upstream
            else:  # VJP: the gate multiplies by upstream itself
                for slot, sent in zip(targets, fn(gather(values), values[out], upstream), strict=True):
                    grads[slot] += sent
    except PLUGIN_FAULTS as exc:
        raise _failure(plan, out, "backward", exc) from exc
    return grads


#: How forward mode gets one gate's tangent: its bound ``gate_local_grad`` (False) or ``gate_jvp`` (True).
TangentHook = tuple[Callable[..., Any], bool]


class TangentObserver(Protocol):
    """Told every gate of a :func:`forward_tangents` run that a tangent reaches, in run order."""

    def gate(
        self,
        step: ForwardStep,
        given: Sequence[Any],
        local: Sequence[Any] | None,
        sent: Sequence[Any],
        tangent: Any,
    ) -> None:
        """A gate's tangent: ``given`` its inputs' (``None``: zero), ``local`` its local gradients
        (``None`` for a ``gate_jvp`` gate), ``sent`` each product ``local * given`` (``None`` where
        the input does not move), ``tangent`` their sum, the output's.
        """


def tangent_part(local: Any, tangent: Any, shape: tuple[int, ...], output: Any = None) -> Any:
    """What an input moving by ``tangent`` moves an elementwise gate's output by: ``local * tangent``.

    The forward twin of :func:`contribution`: the product goes up the wire,
    broadcast to the output's ``shape`` where the input was smaller (a
    scalar weight moves every element of a batch), as an array of
    ``output``'s library (by default NumPy's). A product by exactly 1.0 is
    not computed.

    >>> tangent_part(2.0, 3.0, ())
    6.0
    >>> tangent_part(np.array([1.0, 2.0]), 0.5, (2,)).tolist()
    [0.5, 1.0]
    """
    product = tangent if type(local) is float and local == 1.0 else local * tangent
    if shape_of(product) != shape:
        product = gm.broadcast(product, shape, product if output is None else output)
    return product


def forward_tangents(
    plan: Plan,
    values: list[Any],
    hooks: Sequence[TangentHook | None],
    seeds: Mapping[int, Any],
    observer: TangentObserver | None = None,
) -> list[Any]:
    """Forward mode: how every slot moves when the leaves move by ``seeds`` (slot -> tangent).

    ``values`` are a finished forward pass; ``hooks[i]`` is how
    ``plan.forward[i]``'s gate gives its tangent. An elementwise gate's
    tangent is the sum over its inputs of local gradient times the input's
    tangent (the same local gradients backprop multiplies by the upstream
    gradient); a ``gate_jvp`` gate maps its inputs' tangents itself. A slot
    that no seed reaches keeps ``None`` (zero). Sums are never in place.
    """
    tangents: list[Any] = [None] * len(values)
    for slot, tangent in seeds.items():
        tangents[slot] = tangent
    out = -1
    try:
        for step, hook in zip(plan.forward, hooks, strict=True):
            given = [tangents[slot] for slot in step.slots]
            if all(tangent is None for tangent in given):
                continue
            out = step.out
            assert hook is not None, "a tangent reached a gate without one"  # the circuit refuses it first
            local, sent, tangent = gate_tangent(hook, step.gather(values), values[out], given)
            tangents[out] = tangent
            if observer is not None:
                observer.gate(step, given, local, sent, tangent)
    except PLUGIN_FAULTS as exc:
        raise _tangent_failure(plan, out, exc) from exc
    return tangents


def gate_tangent(
    hook: TangentHook, inputs: Sequence[Any], output: Any, given: Sequence[Any]
) -> tuple[Sequence[Any] | None, list[Any], Any]:
    """One gate's step of forward mode: its output's tangent from its inputs' (``None``: zero).

    Returns ``(local, sent, tangent)`` as :meth:`TangentObserver.gate` is
    told them. An elementwise gate's tangent is the sum of ``local * given``
    over the inputs that move (:func:`tangent_part`); a ``gate_jvp`` gate is
    given every input's tangent, ``0.0`` for one that does not move.
    ``gatekit.testing`` checks gates through this same function.

    >>> mul = (lambda inputs, output: (inputs[1], inputs[0]), False)
    >>> gate_tangent(mul, (2.0, 5.0), 10.0, [1.0, None])
    ((5.0, 2.0), [5.0, None], 5.0)
    """
    fn, is_jvp = hook
    if is_jvp:
        return None, [None] * len(given), fn(inputs, output, [0.0 if t is None else t for t in given])
    local = fn(inputs, output)
    shape = shape_of(output)
    sent = [
        None if t is None else tangent_part(g, t, shape, output) for g, t in zip(local, given, strict=True)
    ]
    tangent = None
    for part in sent:
        tangent = accumulate(tangent, part) if part is not None else tangent
    return local, sent, tangent


def _tangent_failure(plan: Plan, out: int, exc: BaseException) -> RunError:
    if isinstance(exc, RunError) or plan.gates.get(out) is None:
        return _failure(plan, out, "backward", exc)
    bound = plan.gates[out]
    hook = "gate_jvp" if bound.gate.vjp is not None else "gate_local_grad"
    return RunError(
        f"{bound.describe()} failed in {hook} (forward mode): {describe_exception(exc)}",
        bound.location,
        node=bound.name,
    )


def forward_batched(batched: BatchedPlan, values: np.ndarray) -> None:
    """Fill every gate's slot of the float64 vector ``values``: groups as one call, lone gates alone."""
    item: Group | Any = None
    try:
        for item in batched.forward:
            if isinstance(item, Group):
                values[item.out] = item.forward(tuple(values[item.ins]))
            elif len(item.slots) > WIDE:
                values[item.out] = item.forward(values[list(item.slots)].tolist())
            else:
                values[item.out] = item.forward(tuple(map(values.item, item.slots)))
    except PLUGIN_FAULTS as exc:
        raise _batched_failure(batched, item, values, None, exc) from exc


def backward_batched(batched: BatchedPlan, values: np.ndarray) -> np.ndarray:
    """The gradient of the root with respect to every slot, as a float64 vector.

    Gradients start at 0.0; those no leaf needs are added into ``SINK``.
    """
    plan = batched.plan
    grads = np.zeros(len(values))
    grads[plan.root] = 1.0
    item: BackGroup | Any = None
    try:
        for item in batched.backward:
            if isinstance(item, BackGroup):
                upstream = grads[item.out]
                local_grads = item.backward(tuple(values[item.ins]), values[item.out])
                sent = np.empty((len(upstream), len(item.kept)))  # member by member, as the targets
                for column, position in enumerate(item.kept):
                    sent[:, column] = local_grads[position]  # a number or a vector
                sent *= upstream[:, np.newaxis]
                np.add.at(grads, item.targets, sent.ravel())  # every contribution, where a slot repeats too
                continue
            is_vjp, fn, slots, out, to, wide = item
            upstream = grads.item(out)
            inputs = tuple(map(values.item, slots)) if wide is None else values[wide[0]].tolist()
            if is_vjp:
                sent_back = fn(inputs, values.item(out), upstream)
            else:
                sent_back = [local * upstream for local in fn(inputs, values.item(out))]
            if wide is None:
                for slot, sent in zip(to, sent_back, strict=True):
                    grads[slot] += sent
            else:  # one call for all, where a slot repeats too
                np.add.at(grads, wide[1], np.broadcast_to(np.array(sent_back, dtype=np.float64), (len(to),)))
    except PLUGIN_FAULTS as exc:
        raise _batched_failure(batched, item, values, grads, exc) from exc
    return grads


def _batched_failure(
    batched: BatchedPlan, item: Any, values: np.ndarray, grads: np.ndarray | None, exc: BaseException
) -> RunError:
    """The error for a hook that raised in a batched run, naming the gate that failed.

    A group's members are called again one by one, on their own numbers, to
    find the one that fails; if none does, the group's first gate is named,
    with the number of uses that were called at once.
    """
    plan = batched.plan
    phase = "forward" if grads is None else "backward"
    if isinstance(exc, RunError) or item is None:
        return _failure(plan, -1, phase, exc)
    if not isinstance(item, Group) and not isinstance(item, BackGroup):
        return _failure(plan, item.out, phase, exc)
    hook = item.forward if isinstance(item, Group) else item.backward
    for i, member in enumerate(item.members):
        inputs = tuple(values[item.ins[:, i]].tolist())
        try:
            if grads is None:
                hook(inputs)
            else:
                hook(inputs, values.item(member))
        except PLUGIN_FAULTS as alone:
            return _failure(plan, member, phase, alone)
    first = _failure(plan, min(item.members), phase, exc)  # the first in plan order
    count = len(item.members)
    return RunError(
        f"{first.message} (on {count} uses at once; its spec says it is elementwise, "
        "yet one by one they do not fail)",
        first.location,
        node=first.node,
    )


def _failure(plan: Plan, out: int, phase: str, exc: BaseException) -> RunError:
    if isinstance(exc, RunError):  # a guard's finding, already worded
        return exc
    bound = plan.gates.get(out)
    if bound is None:  # pragma: no cover - a bug in gatekit itself
        return RunError(f"{phase} pass failed: {describe_exception(exc)}")
    if phase == "forward":
        hook = "gate_forward"
    else:
        hook = "gate_vjp" if bound.gate.vjp is not None else "gate_local_grad"
    return RunError(
        f"{bound.describe()} failed in {hook}: {describe_exception(exc)}", bound.location, node=bound.name
    )
