"""The run loop: forward in topological order, then backprop in reverse.

This is the whole of backpropagation. Forward, each gate computes its output
from the values in its input slots. Backward, each gate takes the gradient
arriving at its output (``upstream``), asks for its local gradients, and adds
``local * upstream`` into each input's gradient: the chain rule, with ``+=``
so that a wire that fans out collects the gradient from every gate it feeds.
"""

from __future__ import annotations

from typing import Any

from gatekit.compiler import BINARY, MANY, UNARY, Plan
from gatekit.errors import RunError

__all__ = ["backward", "forward"]


def forward(plan: Plan, values: list[Any]) -> None:
    """Fill every gate's slot in ``values``, in topological order."""
    out = -1
    try:
        for kind, fn, a, b, gather, out in plan.forward:
            if kind == BINARY:
                values[out] = fn((values[a], values[b]))
            elif kind == UNARY:
                values[out] = fn((values[a],))
            else:
                values[out] = fn(gather(values))
    except Exception as exc:
        raise _failure(plan, out, "forward", exc) from exc


def backward(plan: Plan, values: list[Any]) -> list[Any]:
    """Return the gradient of the root with respect to every slot.

    Each gate takes the gradient at its output (``upstream``) and adds
    ``local * upstream`` into each input's gradient. Slots that no leaf
    reaches keep 0.0; gradients no leaf needs (constants') land in ``SINK``.
    """
    grads: list[Any] = [0.0] * len(values)
    grads[plan.root] = 1.0
    out = -1
    try:
        for kind, fn, a, b, gather, out, to_a, to_b, targets in plan.backward:
            upstream = grads[out]
            if kind == BINARY:
                local_a, local_b = fn((values[a], values[b]), values[out])
                grads[to_a] += local_a * upstream
                grads[to_b] += local_b * upstream
            elif kind == UNARY:
                (local_a,) = fn((values[a],), values[out])
                grads[to_a] += local_a * upstream
            elif kind == MANY:
                for slot, local in zip(targets, fn(gather(values), values[out]), strict=True):
                    grads[slot] += local * upstream
            else:  # VJP: the gate multiplies by upstream itself
                for slot, grad in zip(targets, fn(gather(values), values[out], upstream), strict=True):
                    grads[slot] += grad
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
