"""The run loop: forward in topological order, then backprop in reverse.

This is the whole of backpropagation. Forward, each gate computes its output
from the values in its input slots. Backward, each gate takes the gradient
arriving at its output (``upstream``), asks for its local gradients, and adds
``local * upstream`` into each input's gradient: the chain rule, with ``+=``
so that a wire that fans out collects the gradient from every gate it feeds.
"""

from __future__ import annotations

from typing import Any

from gatekit.compiler import BINARY, UNARY, VJP, Plan
from gatekit.errors import RunError

__all__ = ["backward", "forward"]


def forward(plan: Plan, values: list[Any]) -> None:
    """Fill every gate's slot in ``values``, in topological order."""
    out = -1
    try:
        for fn, inputs_of, out in plan.forward:
            values[out] = fn(inputs_of(values))
    except Exception as exc:
        raise _failure(plan, out, "forward", exc) from exc


def backward(plan: Plan, values: list[Any]) -> list[Any]:
    """Return the gradient of the root with respect to every slot.

    Slots that no leaf reaches keep 0.0; constants' gradients all land in
    slot ``SINK``.
    """
    grads: list[Any] = [0.0] * len(plan.initial)
    grads[plan.root] = 1.0
    out = -1
    try:
        for kind, fn, inputs_of, out, a, b, targets in plan.backward:
            upstream = grads[out]
            if kind == BINARY:
                local_a, local_b = fn(inputs_of(values), values[out])
                grads[a] += local_a * upstream
                grads[b] += local_b * upstream
            elif kind == UNARY:
                (local_a,) = fn(inputs_of(values), values[out])
                grads[a] += local_a * upstream
            elif kind == VJP:
                for slot, grad in zip(targets, fn(inputs_of(values), values[out], upstream), strict=True):
                    grads[slot] += grad
            else:
                for slot, local in zip(targets, fn(inputs_of(values), values[out]), strict=True):
                    grads[slot] += local * upstream
    except Exception as exc:
        raise _failure(plan, out, "backward", exc) from exc
    return grads


def _failure(plan: Plan, out: int, phase: str, exc: Exception) -> RunError:
    use = plan.gates.get(out)
    if use is None or use.resolved is None:  # pragma: no cover - a bug in gatekit itself
        return RunError(f"{phase} pass failed: {type(exc).__name__}: {exc}")
    hook = "gate_forward" if phase == "forward" else "its gradient hook"
    return RunError(
        f"gate {use.name!r} ({use.gate}, plugin {use.resolved.plugin!r}) failed in {hook}: "
        f"{type(exc).__name__}: {exc}",
        use.location,
        node=use.name,
    )
