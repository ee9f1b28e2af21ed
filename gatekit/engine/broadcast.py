"""Gradients of broadcast values: summing a gradient back to its value's shape.

When NumPy broadcasts an input (a scalar against a batch, a ``(3, 1)``
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
    at every element. For ``shape == ()`` the result is a Python float.
    """
    if type(grad) is not np.ndarray:
        if type(grad) is float or np.ndim(grad) == 0:
            return grad
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
