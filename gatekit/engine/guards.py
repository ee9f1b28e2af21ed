"""Checking what plugins return, without slowing the run loop.

:func:`checked` wraps a gate's bound hooks: each wrapper checks that a
forward hook returned a float64 number or array, that a gradient hook
returned one gradient per input, each float64, with a shape that fits, and,
when asked, that nothing is NaN or infinite. :func:`guarded` is a copy of a
plan with every gate's hooks wrapped so. A circuit runs its first run (and
its first run with arrays) on the guarded plan, and every run that asks for
it (``check_finite``, an observer, ``guard=True``: ``gatekit explain``,
``draw`` and ``check`` do); all other runs take the bare plan, whose loop
checks nothing; :func:`checked_tangent` does the same for a gate's hook in
forward mode. A fault is a :class:`~gatekit.RunError` naming the gate, its
gate type, its plugin and its place in the file.

What counts as float64: a Python float (or int), a NumPy ``float64``
scalar, or an array of dtype ``float64``, NumPy's or, in a run on another
library's arrays (:mod:`gatekit.arrays`), that library's. Other NumPy
scalars and dtypes (``float32``, ``int64``, strings, objects) are refused
rather than converted, so that no number changes on its way through a
circuit. A gate given another library's arrays that returns NumPy's, or that
fails there yet works on NumPy copies of its inputs, was written with
``np.`` rather than :mod:`gatekit.math`: the fault says it works only on
NumPy arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gatekit.arrays import dtype_name, is_foreign, namespace_of, to_numpy, type_name
from gatekit.engine.batching import BackGroup, BatchedPlan, Group, LoneStep
from gatekit.engine.broadcast import shape_of
from gatekit.engine.compiler import VJP, BackwardTuple, ForwardStep, ForwardTuple, Plan
from gatekit.engine.scheduler import TangentHook
from gatekit.engine.validate import BoundGate
from gatekit.errors import PLUGIN_FAULTS, RunError, describe_exception
from gatekit.plugin.registry import Hooks

__all__ = [
    "Fault",
    "NotScalar",
    "checked",
    "checked_tangent",
    "fault_of",
    "guarded",
    "guarded_batched",
    "refusal",
]

#: Makes the error for a finding about one gate: ``fault("returned ...")``.
Fault = Callable[[str], RunError]


def fault_of(bound: BoundGate) -> Fault:
    """The :data:`Fault` of a gate of a circuit: the message names it, its plugin and its place."""

    def fault(message: str) -> RunError:
        return RunError(f"{bound.describe()} {message}", bound.location, node=bound.name)

    return fault


def refusal(value: Any) -> str | None:
    """What ``value`` is, if it is not a float64 number or array; ``None`` if it is.

    >>> refusal(1.5), refusal(np.ones(2)), refusal(np.float32(1.0)), refusal(np.array(["a"]))
    (None, None, 'a NumPy float32 scalar', 'an array of dtype <U1')
    """
    kind = type(value)
    if kind is float or kind is int or kind is np.float64:
        return None
    if kind is np.ndarray:
        return None if value.dtype == np.float64 else f"an array of dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a NumPy {value.dtype} scalar"
    if is_foreign(value):
        if value.dtype == namespace_of(value).float64:
            return None
        return f"an array of dtype {dtype_name(value)} ({type_name(value)})"
    return "None" if value is None else f"a {kind.__name__}"


def _short(value: Any) -> str:
    value = to_numpy(value)
    if isinstance(value, np.ndarray):
        return f"array{value.shape}" if value.size > 4 else repr(value.tolist())
    return repr(value)


def _not_finite(value: Any) -> str | None:
    """``"nan"``, ``"inf"`` or ``None``, for what ``value`` holds."""
    if is_foreign(value):
        xp = namespace_of(value)
        if bool(xp.all(xp.isfinite(value))):
            return None
        return "nan" if bool(xp.any(xp.isnan(value))) else "inf"
    array = np.asarray(value, dtype=np.float64)
    if np.all(np.isfinite(array)):
        return None
    return "nan" if np.any(np.isnan(array)) else "inf"


def _check_value(fault: Fault, what: str, value: Any) -> None:
    problem = refusal(value)
    if problem is not None:
        raise fault(f"returned {problem} from {what}; a gate returns float64: a number or a float64 array")


def _forward(fn: Callable[..., Any], fault: Fault, is_vjp: bool, finite: bool) -> Callable[..., Any]:
    def forward(inputs: Sequence[Any], *out: Any) -> Any:  # out: the array to compute into, for `into`
        try:
            output = fn(inputs, *out)
        except PLUGIN_FAULTS as exc:
            _numpy_only(fault, exc, fn, inputs)
            raise fault(f"failed in gate_forward: {describe_exception(exc)}") from exc
        _check_library(fault, inputs, output)
        _check_value(fault, "gate_forward", output)
        if not is_vjp:  # an elementwise gate's output has its inputs' broadcast shape
            _check_broadcast(fault, inputs, output)
        if finite:
            bad = _not_finite(output)
            if bad is not None:
                shown = ", ".join(_short(x) for x in inputs)
                raise fault(f"produced {bad} in the forward pass, from inputs ({shown})")
        return output

    return forward


def _foreign_input(inputs: Sequence[Any]) -> Any:
    """The first of ``inputs`` that is another library's array than NumPy's, or ``None``."""
    for value in inputs:
        if type(value) is not float and type(value) is not np.ndarray and is_foreign(value):
            return value
    return None


def _numpy_only_fault(fault: Fault, given: Any, failure: BaseException | None = None) -> RunError:
    """The fault of a gate that works on NumPy's arrays only; ``failure``: what it raised on ``given``'s."""
    raised = "" if failure is None else f" (there it raised {describe_exception(failure)})"
    return fault(f"works only on NumPy arrays; given {type_name(given)}{raised}")


def _numpy_only(
    fault: Fault, exc: BaseException, fn: Callable[..., Any], inputs: Sequence[Any], *rest: Any
) -> None:
    """The NumPy-only fault, if ``fn`` raised ``exc`` on another library's ``inputs`` yet works on NumPy's.

    ``rest`` are the hook's further arguments (the output, the upstream
    gradient), copied to NumPy too. Where the copies fail as well, the
    failure is the gate's own and is reported as such.
    """
    given = _foreign_input([*inputs, *rest])
    if given is None:
        return
    try:
        fn([to_numpy(x) for x in inputs], *(to_numpy(x) for x in rest))
    except PLUGIN_FAULTS:
        return
    raise _numpy_only_fault(fault, given, exc)


def _check_library(fault: Fault, inputs: Sequence[Any], *results: Any) -> None:
    """A gate given another library's arrays must not answer with NumPy's (``np.`` in its code)."""
    given = _foreign_input(inputs)
    if given is None:
        return
    for result in results:
        if isinstance(result, np.ndarray | np.generic):
            raise _numpy_only_fault(fault, given)


def _check_broadcast(fault: Fault, inputs: Sequence[Any], output: Any) -> None:
    try:
        wanted = np.broadcast_shapes(*(shape_of(x) for x in inputs))
    except ValueError:
        return  # the inputs do not broadcast: the gate raises, or says what it did
    if shape_of(output) != wanted:
        raise fault(
            f"returned an output of shape {shape_of(output)} from gate_forward; an elementwise gate's "
            f"output has its inputs' broadcast shape {wanted}"
        )


def _backward(fn: Callable[..., Any], fault: Fault, is_vjp: bool, finite: bool) -> Callable[..., Any]:
    hook = "gate_vjp" if is_vjp else "gate_local_grad"

    def backward(inputs: Sequence[Any], output: Any, *upstream: Any) -> Any:
        try:
            grads = fn(inputs, output, *upstream)
        except PLUGIN_FAULTS as exc:
            _numpy_only(fault, exc, fn, inputs, output, *upstream)
            raise fault(f"failed in {hook}: {describe_exception(exc)}") from exc
        if isinstance(grads, Sequence):
            _check_library(fault, inputs, *grads)
        _check_grads(fault, hook, grads, inputs, output, finite=finite)
        return grads

    return backward


def _check_grads(
    fault: Fault, hook: str, grads: Any, inputs: Sequence[Any], output: Any, *, finite: bool
) -> None:
    """One gradient per input, each float64, of a shape that fits (``hook`` says whose rule applies)."""
    try:
        count = len(grads)
    except TypeError:
        raise fault(f"returned {type(grads).__name__} from {hook}, not one gradient per input") from None
    if count != len(inputs):
        raise fault(f"returned {count} gradient(s) from {hook} for {len(inputs)} input(s)")
    out_shape = shape_of(output)
    for position, (grad, value) in enumerate(zip(grads, inputs, strict=True)):
        _check_value(fault, hook, grad)
        shape = shape_of(grad)
        if hook == "gate_vjp":
            fits = shape == shape_of(value) or shape == ()
            wanted = f"input {position}'s shape {shape_of(value)}"
        else:
            fits = len(shape) <= len(out_shape) and np.broadcast_shapes(shape, out_shape) == out_shape
            wanted = f"a shape that broadcasts to the output's {out_shape}"
        if not fits:
            raise fault(
                f"returned a gradient of shape {shape} for input {position} from {hook}; expected {wanted}"
            )
        if finite and _not_finite(grad) is not None:
            shown = ", ".join(_short(x) for x in inputs)
            raise fault(
                f"produced {_not_finite(grad)} in the backward pass, in the gradient for input "
                f"{position}, from inputs ({shown})"
            )


def checked_tangent(hook: TangentHook, fault: Fault) -> TangentHook:
    """Forward mode's hook of a gate (:meth:`Gate.bind_tangent`), wrapped to check what it returns.

    ``gate_local_grad`` as in :func:`checked`; ``gate_jvp`` must return a
    float64 number or array of the output's shape (or a number, which
    stands for that at every element). What a hook raises is left to the
    loop, which words it (:func:`gatekit.engine.scheduler.forward_tangents`).
    """
    fn, is_jvp = hook

    def local_grad(inputs: Sequence[Any], output: Any) -> Any:
        grads = fn(inputs, output)
        _check_grads(fault, "gate_local_grad", grads, inputs, output, finite=False)
        return grads

    def jvp(inputs: Sequence[Any], output: Any, tangents: Sequence[Any]) -> Any:
        tangent = fn(inputs, output, tangents)
        _check_value(fault, "gate_jvp", tangent)
        shape = shape_of(tangent)
        if shape not in ((), shape_of(output)):
            raise fault(
                f"returned a tangent of shape {shape} from gate_jvp; expected the output's shape "
                f"{shape_of(output)}"
            )
        return tangent

    return (jvp, True) if is_jvp else (local_grad, False)


def checked(hooks: Hooks, fault: Fault, *, finite: bool = False) -> Hooks:
    """``hooks`` wrapped to check what they return (and finiteness if ``finite``)."""
    return Hooks(
        _forward(hooks.forward, fault, hooks.is_vjp, finite),
        _backward(hooks.backward, fault, hooks.is_vjp, finite),
        hooks.is_vjp,
    )


def guarded(plan: Plan, *, finite: bool) -> Plan:
    """A copy of ``plan`` whose hooks check what they return (and finiteness if ``finite``)."""
    vjp = {out for out, bound in plan.gates.items() if bound.gate.vjp is not None}

    def wrapped(fn: Callable[..., Any], out: int) -> Callable[..., Any]:
        return _forward(fn, fault_of(plan.gates[out]), out in vjp, finite)

    forward: list[ForwardTuple] = [
        (kind, wrapped(fn, out), a, b, gather, out, None if into is None else wrapped(into, out))
        for kind, fn, a, b, gather, out, into in plan.forward_loop
    ]
    backward: list[BackwardTuple] = [
        (
            kind,
            _backward(fn, fault_of(plan.gates[out]), kind == VJP, finite),
            a,
            b,
            gather,
            out,
            to_a,
            to_b,
            targets,
        )
        for kind, fn, a, b, gather, out, to_a, to_b, targets in plan.backward_loop
    ]
    local_into = {
        out: _backward(into, fault_of(plan.gates[out]), False, finite)
        for out, into in plan.local_into.items()
    }
    return dataclasses.replace(plan, forward_loop=forward, backward_loop=backward, local_into=local_into)


class NotScalar(RunError):
    """A gate of a scalar run returned an array: the circuit is not for the batched loops."""


def guarded_batched(batched: BatchedPlan, *, finite: bool) -> BatchedPlan:
    """A copy of ``batched`` whose hooks check what they return, as :func:`guarded` does.

    A group's call is checked as a whole: an exception, a value that is not
    float64, a shape other than one number per member, or (if ``finite``) a
    NaN or infinity makes the group's members run again one by one through
    the per-gate checks, whose message names the gate that did it; where
    none does alone, the group's first gate is named, with what the call on
    all of them at once returned. A lone gate is checked as on the per-gate
    plan, and must return a number: one that returns an array raises
    :class:`NotScalar`, and the circuit runs its per-gate loops instead.
    """
    plan = batched.plan
    lone = guarded(plan, finite=finite)
    steps = {step.out: step for step in lone.forward}
    senders = {step.out: step for step in lone.backward}

    def forward_item(item: Group | ForwardStep) -> Group | ForwardStep:
        if isinstance(item, Group):
            return dataclasses.replace(item, forward=_group_forward(plan, item, steps, finite))
        return item._replace(forward=_scalar(steps[item.out].forward, fault_of(plan.gates[item.out])))

    def backward_item(item: BackGroup | LoneStep) -> BackGroup | LoneStep:
        if isinstance(item, BackGroup):
            return dataclasses.replace(item, backward=_group_backward(plan, item, senders, finite))
        return item._replace(backward=senders[item.out].backward)

    return BatchedPlan(
        plan,
        [forward_item(item) for item in batched.forward],
        [backward_item(item) for item in batched.backward],
    )


def _scalar(forward: Callable[..., Any], fault: Fault) -> Callable[..., Any]:
    def scalar(inputs: Sequence[Any]) -> Any:
        output = forward(inputs)
        if shape_of(output) != ():
            found = fault(f"returned an array of shape {shape_of(output)} in a scalar run")
            raise NotScalar(found.message, found.location, node=found.node)
        return output

    return scalar


def _group_problem(output: Any, count: int, finite: bool) -> str | None:
    """What is wrong with what a group's hook returned for ``count`` members, or ``None``."""
    problem = refusal(output)
    if problem is not None:
        return f"returned {problem}"
    if shape_of(output) not in ((), (count,)):
        return f"returned an array of shape {shape_of(output)}"
    if finite and _not_finite(output) is not None:
        return f"produced {_not_finite(output)}"
    return None


def _group_fault(plan: Plan, item: Group | BackGroup, hook: str, problem: str) -> RunError:
    bound = plan.gates[min(item.members)]  # the first in plan order
    return RunError(
        f"{bound.describe()} {problem} from {hook} called on {len(item.members)} uses at once (its spec "
        "says it is elementwise), though one by one they do not",
        bound.location,
        node=bound.name,
    )


def _group_forward(
    plan: Plan, group: Group, steps: dict[int, ForwardStep], finite: bool
) -> Callable[..., Any]:
    fn, count = group.forward, len(group.members)

    def forward(inputs: Sequence[Any]) -> Any:
        try:
            output = fn(inputs)
            problem = _group_problem(output, count, finite)
        except PLUGIN_FAULTS as exc:
            problem = f"failed ({describe_exception(exc)})"
        if problem is None:
            return output
        for i, member in enumerate(group.members):  # raises the per-gate check's message, if it finds it
            steps[member].forward(tuple(float(values[i]) for values in inputs))
        raise _group_fault(plan, group, "gate_forward", problem)

    return forward


def _group_backward(
    plan: Plan, group: BackGroup, senders: dict[int, Any], finite: bool
) -> Callable[..., Any]:
    fn, count = group.backward, len(group.members)

    def backward(inputs: Sequence[Any], output: Any) -> Any:
        try:
            grads = fn(inputs, output)
            problems = [f"returned {len(grads)} gradient(s) for {len(inputs)} input(s)"]
            if len(grads) == len(inputs):
                problems = [p for p in (_group_problem(grad, count, finite) for grad in grads) if p]
        except PLUGIN_FAULTS as exc:
            problems = [f"failed ({describe_exception(exc)})"]
        if not problems:
            return grads
        for i, member in enumerate(group.members):
            senders[member].backward(tuple(float(values[i]) for values in inputs), float(output[i]))
        raise _group_fault(plan, group, "gate_local_grad", problems[0])

    return backward
