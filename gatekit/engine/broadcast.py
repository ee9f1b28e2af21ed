"""Gradients of broadcast values: summing a gradient back to its value's shape.

When an array library broadcasts an input (a scalar against a batch, a ``(3, 1)``
column against a ``(1, 4)`` row), the input's gradient is the sum of the
output's gradient over the axes broadcasting added or stretched.

>>> import numpy as np
>>> sum_to_shape(np.ones((2, 3, 4)), (3, 1)).tolist()
[[8.0], [8.0], [8.0]]
>>> sum_to_shape(np.array([1.0, 2.0]), ())
3.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.arrays import is_foreign, namespace_of

__all__ = ["shape_of", "sum_to_shape"]


def shape_of(value: Any) -> tuple[int, ...]:
    """A value's shape: ``()`` for a float, quickly."""
    kind = type(value)
    if kind is np.ndarray:
        shape: tuple[int, ...] = value.shape
        return shape
    return () if kind is float else np.shape(value)


def sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
    """``grad`` summed over the axes that broadcasting added or stretched to reach ``shape``.

    A scalar ``grad`` is returned as it is: it stands for the same gradient
    at every element. For ``shape == ()`` the result is a Python float, or,
    for another library's array, a 0-d array of it (which the sum keeps on
    its device).
    """
    if type(grad) is not np.ndarray:
        if type(grad) is float or np.ndim(grad) == 0:
            return grad
        if is_foreign(grad):
            return _foreign_sum(grad, shape)
        grad = np.asarray(grad)
    if grad.shape == shape:
        return grad
    if grad.ndim == 0:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return float(grad) if shape == () else grad


def _foreign_sum(grad: Any, shape: tuple[int, ...]) -> Any:
    """:func:`sum_to_shape` for another library's array, with its namespace's ``sum``."""
    if tuple(grad.shape) == shape:
        return grad
    xp = namespace_of(grad)
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = xp.sum(grad, axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = xp.sum(grad, axis=stretched, keepdims=True)
    return grad
