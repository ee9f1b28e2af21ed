"""Checking what plugins return, without slowing the run loop.

:func:`guarded` makes a copy of a plan whose hooks are wrapped: each
wrapper checks that a forward hook returned a number or an array, that a
gradient hook returned one gradient per input with a shape that fits, and,
when asked, that nothing is NaN or infinite. A circuit runs its first run
(and its first run with arrays) on the guarded plan, and every run with
``check_finite``; all other runs take the bare plan, whose loop checks
nothing. A fault is a :class:`~gatekit.RunError` naming the gate, its gate
type, its plugin and its place in the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gatekit.engine.broadcast import shape_of
from gatekit.engine.compiler import VJP, Plan
from gatekit.engine.validate import BoundGate
from gatekit.errors import RunError

__all__ = ["guarded"]

_NUMBERS = (float, int, np.floating, np.integer, np.ndarray)


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}" if value.size > 4 else repr(value.tolist())
    return repr(value)


def _fault(use: BoundGate, message: str) -> RunError:
    return RunError(f"{use.describe()} {message}", use.location, node=use.name)


def _not_finite(value: Any) -> str | None:
    """``"nan"``, ``"inf"`` or ``None``, for what ``value`` holds."""
    array = np.asarray(value, dtype=np.float64)
    if np.all(np.isfinite(array)):
        return None
    return "nan" if np.any(np.isnan(array)) else "inf"


def _check_value(use: BoundGate, what: str, value: Any) -> None:
    if not isinstance(value, _NUMBERS) or isinstance(value, bool):
        raise _fault(use, f"returned {type(value).__name__} from {what}, not a number or an array")


def _forward(fn: Callable[..., Any], use: BoundGate, finite: bool) -> Callable[..., Any]:
    def forward(inputs: Sequence[Any]) -> Any:
        output = fn(inputs)
        _check_value(use, "gate_forward", output)
        if finite:
            bad = _not_finite(output)
            if bad is not None:
                shown = ", ".join(_short(x) for x in inputs)
                raise _fault(use, f"produced {bad} in the forward pass, from inputs ({shown})")
        return output

    return forward


def _backward(fn: Callable[..., Any], use: BoundGate, is_vjp: bool, finite: bool) -> Callable[..., Any]:
    hook = "gate_vjp" if is_vjp else "gate_local_grad"

    def backward(inputs: Sequence[Any], output: Any, *upstream: Any) -> Any:
        grads = fn(inputs, output, *upstream)
        try:
            count = len(grads)
        except TypeError:
            raise _fault(
                use, f"returned {type(grads).__name__} from {hook}, not one gradient per input"
            ) from None
        if count != len(inputs):
            raise _fault(use, f"returned {count} gradient(s) from {hook} for {len(inputs)} input(s)")
        out_shape = shape_of(output)
        for position, (grad, value) in enumerate(zip(grads, inputs, strict=True)):
            _check_value(use, hook, grad)
            shape = shape_of(grad)
            if is_vjp:
                fits = shape == shape_of(value) or shape == ()
                wanted = f"input {position}'s shape {shape_of(value)}"
            else:
                fits = len(shape) <= len(out_shape) and np.broadcast_shapes(shape, out_shape) == out_shape
                wanted = f"a shape that broadcasts to the output's {out_shape}"
            if not fits:
                raise _fault(use, f"returned a gradient of shape {shape} for input {position} from {hook}; "
                                  f"expected {wanted}")  # fmt: skip
            if finite and _not_finite(grad) is not None:
                shown = ", ".join(_short(x) for x in inputs)
                raise _fault(
                    use, f"produced {_not_finite(grad)} in the backward pass, in the gradient for input "
                    f"{position}, from inputs ({shown})"
                )  # fmt: skip
        return grads

    return backward


def guarded(plan: Plan, *, finite: bool) -> Plan:
    """A copy of ``plan`` whose hooks check what they return (and finiteness if ``finite``)."""
    forward = [
        step._replace(forward=_forward(step.forward, plan.gates[step.out], finite)) for step in plan.forward
    ]
    backward = [
        step._replace(backward=_backward(step.backward, plan.gates[step.out], step.kind == VJP, finite))
        for step in plan.backward
    ]
    return dataclasses.replace(plan, forward=forward, backward=backward)
