"""The run loop: forward in topological order, then backprop in reverse.

This is the whole of backpropagation. Forward, each gate computes its output
from the values in its input slots. Backward, each gate takes the gradient
arriving at its output (``upstream``), asks for its local gradients, and adds
``local * upstream`` into each input's gradient: the chain rule, with ``+=``
so that a wire that fans out collects the gradient from every gate it feeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.broadcast import shape_of, sum_to_shape
from gatekit.compiler import BINARY, MANY, SINK, UNARY, VJP, Plan
from gatekit.errors import RunError

__all__ = ["backward", "backward_arrays", "forward"]


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


def backward_arrays(plan: Plan, values: list[Any]) -> list[Any]:
    """:func:`backward` for runs with arrays: shapes kept, no work wasted.

    The same chain rule, with three differences that matter when every
    product is a pass over a batch: a contribution is summed back to its
    target's shape when broadcasting stretched it (so a VJP gate always gets
    an upstream of its output's shape); contributions to constants are never
    computed, nor products by a gradient or local gradient of exactly 1.0;
    and a gradient is assigned by its first contribution and added to by the
    next, never updated in place (it may be another node's value).
    Gradients that nothing reached stay ``None``.
    """
    grads: list[Any] = [None] * len(values)
    grads[plan.root] = 1.0
    out = -1
    try:
        for kind, fn, a, b, gather, out, to_a, to_b, targets in plan.backward:
            upstream = grads[out]
            if upstream is None:
                continue  # nothing flows back through this gate
            if kind == BINARY:
                inputs, slots = (values[a], values[b]), (to_a, to_b)
            elif kind == UNARY:
                inputs, slots = (values[a],), (to_a,)
            else:
                inputs, slots = gather(values), targets
            shape = shape_of(values[out])
            if kind == VJP:
                if shape_of(upstream) != shape:
                    upstream = np.broadcast_to(upstream, shape)
                contributions = fn(inputs, values[out], upstream)
            else:
                contributions = [
                    None if slot == SINK else _times(local, upstream, shape, shape_of(values[slot]))
                    for slot, local in zip(slots, fn(inputs, values[out]), strict=True)
                ]
            for slot, contribution in zip(slots, contributions, strict=True):
                if slot != SINK:
                    grad = sum_to_shape(contribution, shape_of(values[slot]))
                    total = grads[slot]
                    grads[slot] = grad if total is None else total + grad
    except Exception as exc:
        raise _failure(plan, out, "backward", exc) from exc
    return grads


def _times(local: Any, upstream: Any, shape: tuple[int, ...], target: tuple[int, ...]) -> Any:
    """``local * upstream`` with the gate output's ``shape``, skipping products by 1.0.

    A scalar gradient stands for the same value at every element of its own
    node; a factor smaller than the output (an input that broadcasting
    stretched) is broadcast to it, as a view, so that summing it back to the
    input's shape counts every element it reached. When the product would be
    summed to a scalar anyway (a scalar weight against a batch), it is one
    dot product instead: one pass, no array.
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
        product = local * upstream
    if shape_of(product) != shape:
        product = np.broadcast_to(product, shape)
    return product


def _failure(plan: Plan, out: int, phase: str, exc: Exception) -> RunError:
    if isinstance(exc, RunError):  # a guard's finding, already worded
        return exc
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
