"""Gates that are not elementwise: sum, mean, dot, matmul, transpose.

An output element of these gates depends on several input elements, so the
local gradient is not one factor per element. They compute with the
namespace of their inputs (:func:`gatekit.math.namespace`): NumPy's for
floats and NumPy arrays, another library's for its arrays, whose results
(0-d ones too) stay that library's arrays. Each gate implements
``gate_vjp`` instead: given the gradient arriving at its output (with the
output's shape), it returns the gradient reaching each input (with that
input's shape).

>>> import numpy as np
>>> x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
>>> Sum().gate_forward([x], {"axis": None})
21.0
>>> Sum().gate_forward([x], {"axis": (0,)}).tolist()
[5.0, 7.0, 9.0]
>>> Mean().gate_vjp([x], np.array([2.0, 5.0]), np.array([1.0, 3.0]), {"axis": (1,)})[0].tolist()
[[0.3333333333333333, 0.3333333333333333, 0.3333333333333333], [1.0, 1.0, 1.0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gatekit import math as gm
from gatekit.arrays import is_foreign
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import Attr, GateSpec, describe
from gatekit.plugin.hookspecs import hookimpl

Values = Sequence[Any]
Axes = tuple[int, ...] | None


def _integer(value: object) -> int | None:
    """``value`` as an int if it is an integral number (YAML gives ``1.0``), else None."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return None


def _integers(value: object, expected: str) -> tuple[int, ...]:
    """A list of distinct integers as a tuple, or ``ValueError`` saying ``expected``."""
    if isinstance(value, np.ndarray) and value.ndim != 1:
        raise ValueError(f"expected {expected}, got a nested list")
    items = value.tolist() if isinstance(value, np.ndarray) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected {expected}, got {describe(value)}")
    axes = []
    for item in items:
        axis = _integer(item)
        if axis is None:
            raise ValueError(f"expected {expected}, got a list holding {describe(item)}")
        if axis in axes:
            raise ValueError(f"axis {axis} is listed twice")
        axes.append(axis)
    return tuple(axes)


def axis_attr(value: object) -> Axes:
    """Check a reduction's ``axis``: null (every axis), an integer or a list of integers.

    Negative axes count from the end. The result is None or a tuple of ints;
    whether the axes exist is known only when the gate runs.

    >>> axis_attr(1.0), axis_attr([0, -1]), axis_attr(None)
    ((1,), (0, -1), None)
    >>> axis_attr(0.5)
    Traceback (most recent call last):
    ...
    ValueError: expected null, an integer or a list of integers, got the number 0.5
    """
    if value is None:
        return None
    expected = "null, an integer or a list of integers"
    axis = _integer(value)
    if axis is not None:
        return (axis,)
    return _integers(value, expected)


def axes_attr(value: object) -> Axes:
    """Check a transpose's ``axes``: null (reverse them) or a list of integers, a permutation.

    >>> axes_attr([1, 0, 2])
    (1, 0, 2)
    >>> axes_attr(1)
    Traceback (most recent call last):
    ...
    ValueError: expected null or a list of integers (a permutation of the axes), got the number 1
    """
    if value is None:
        return None
    expected = "null or a list of integers (a permutation of the axes)"
    single = _integer(value)
    if single is not None:  # YAML reads 1 as 1.0: show it as written
        raise ValueError(f"expected {expected}, got the number {single}")
    return _integers(value, expected)


def _scalar(value: Any) -> Any:
    """A 0-d NumPy result as a Python float, so that scalar circuits stay floats.

    Another library's 0-d array stays one: it may live on a device, or not be computed yet.
    """
    return float(value) if np.ndim(value) == 0 and not is_foreign(value) else value


def _spread(upstream: Any, shape: tuple[int, ...], axis: Axes, like: Any) -> Any:
    """The gradient of a sum over ``axis``: ``upstream`` copied back over the reduced axes.

    ``like`` is the reduced input, whose library the result is of.
    """
    if shape == ():
        return upstream
    if axis is not None:
        xp = gm.namespace(upstream, like)
        if xp is np:
            upstream = np.expand_dims(upstream, axis)  # the reduced axes back, as size 1
        else:  # the standard's expand_dims takes one axis: reshape to the input's shape, reduced axes 1
            reduced = {a % len(shape) for a in axis}
            kept = tuple(1 if i in reduced else n for i, n in enumerate(shape))
            upstream = xp.reshape(gm.broadcast(upstream, np.shape(upstream), like), kept)
    return gm.broadcast(upstream, shape, like)


def _count(shape: tuple[int, ...], axis: Axes) -> int:
    """How many elements each output element of a reduction over ``axis`` gathers."""
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a % len(shape)] for a in axis)


AXIS = Attr(None, "the axis or axes to reduce; null: all of them", check=axis_attr)
REDUCTION_EXAMPLES = (((2, 3),), ((4,),), ((),))


class Sum(SpecGate):
    spec = GateSpec(
        "sum",
        1,
        "Sum of the elements of a, over attr axis (default: all, giving a number).",
        attrs={"axis": AXIS},
        examples=REDUCTION_EXAMPLES,
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return _scalar(gm.namespace(a).sum(a, axis=attrs["axis"]))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Values:
        # d sum / d a[i] = 1 for every element summed into the output element.
        (a,) = inputs
        return (_spread(upstream, np.shape(a), attrs["axis"], a),)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values, attrs: Mapping[str, Any]) -> Any:
        # Linear: the tangent of a sum is the sum of the tangents.
        (a,) = inputs
        (t,) = tangents
        return _scalar(gm.namespace(a, t).sum(gm.broadcast(t, np.shape(a), a), axis=attrs["axis"]))


class Mean(SpecGate):
    spec = GateSpec(
        "mean",
        1,
        "Mean of the elements of a, over attr axis (default: all, giving a number).",
        attrs={"axis": AXIS},
        examples=REDUCTION_EXAMPLES,
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return _scalar(gm.namespace(a).mean(a, axis=attrs["axis"]))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Values:
        # d mean / d a[i] = 1 / n for each of the n elements averaged.
        (a,) = inputs
        shape, axis = np.shape(a), attrs["axis"]
        return (_spread(upstream / _count(shape, axis), shape, axis, a),)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        (t,) = tangents
        return _scalar(gm.namespace(a, t).mean(gm.broadcast(t, np.shape(a), a), axis=attrs["axis"]))


class Dot(SpecGate):
    spec = GateSpec(
        "dot",
        2,
        "Dot product of two vectors of the same length (or of two numbers): a number.",
        examples=(((3,), (3,)), ((), ())),
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        if np.ndim(a) != np.ndim(b) or np.ndim(a) > 1:
            hint = "; use matmul for matrices" if max(np.ndim(a), np.ndim(b)) > 1 else ""
            raise ValueError(
                f"dot takes two vectors (or two numbers), got shapes {np.shape(a)} and {np.shape(b)}{hint}"
            )
        xp = gm.namespace(a, b)
        if xp is np:
            return float(np.dot(a, b))
        return a * b if np.ndim(a) == 0 else xp.vecdot(a, b)

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any) -> Values:
        a, b = inputs
        return (upstream * b, upstream * a)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values) -> Any:
        # Bilinear: d(a . b) = da . b + a . db.
        a, b = inputs
        ta, tb = (gm.broadcast(t, np.shape(x), x) for t, x in zip(tangents, inputs, strict=True))
        xp = gm.namespace(a, b)
        if xp is np:
            return float(np.dot(ta, b) + np.dot(a, tb))
        if np.ndim(a) == 0:
            return ta * b + a * tb
        return xp.vecdot(ta, b) + xp.vecdot(a, tb)


class Matmul(SpecGate):
    spec = GateSpec(
        "matmul",
        2,
        "Matrix product a @ b of matrices and vectors (vector @ vector is their dot product).",
        examples=(((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 2)), ((3,), (3,))),
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        if np.ndim(a) not in (1, 2) or np.ndim(b) not in (1, 2):
            raise ValueError(
                f"matmul takes vectors and matrices (1 or 2 dimensions), "
                f"got shapes {np.shape(a)} and {np.shape(b)}"
            )
        if a.shape[-1] != b.shape[0]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not line up "
                f"(the last axis of a has {a.shape[-1]} elements, the first axis of b {b.shape[0]})"
            )
        return _scalar(gm.namespace(a, b).matmul(a, b))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any) -> Values:
        a, b = inputs
        if a.ndim == 2 and b.ndim == 2:  # (m, n) @ (n, p) -> (m, p)
            return (upstream @ b.T, a.T @ upstream)
        if a.ndim == 2:  # (m, n) @ (n,) -> (m,)
            return (_outer(upstream, b), upstream @ a)
        if b.ndim == 2:  # (n,) @ (n, p) -> (p,)
            return (b @ upstream, _outer(a, upstream))
        return (upstream * b, upstream * a)  # (n,) @ (n,) -> a number

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values) -> Any:
        # Bilinear: d(a @ b) = da @ b + a @ db.
        a, b = inputs
        ta, tb = (gm.broadcast(t, np.shape(x), x) for t, x in zip(tangents, inputs, strict=True))
        xp = gm.namespace(a, b)
        return _scalar(xp.matmul(ta, b) + xp.matmul(a, tb))


class Transpose(SpecGate):
    spec = GateSpec(
        "transpose",
        1,
        "The axes of a reversed, or permuted as attr axes says (a list, one entry per axis).",
        attrs={"axes": Attr(None, "the new order of the axes; null: reversed", check=axes_attr)},
        examples=(((2, 3),), ((2, 3, 4),), ((4,),), ((),)),
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        axes = attrs["axes"]
        if axes is not None and len(axes) != np.ndim(a):
            raise ValueError(f"transpose: axes {list(axes)} name {len(axes)} axes; a has {np.ndim(a)}")
        return _scalar(_transpose(a, axes))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Values:
        (a,) = inputs
        axes = attrs["axes"]
        if axes is None:  # reversing is its own inverse
            return (_scalar(_transpose(upstream, None)),)
        # Output axis i is input axis axes[i]: the inverse permutation puts it back.
        inverse = np.argsort([axis % np.ndim(a) for axis in axes])
        return (_scalar(_transpose(upstream, tuple(inverse.tolist()))),)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values, attrs: Mapping[str, Any]) -> Any:
        # Linear: the tangent moves with the axes.
        (a,) = inputs
        (t,) = tangents
        return _scalar(_transpose(gm.broadcast(t, np.shape(a), a), attrs["axes"]))


def _outer(a: Any, b: Any) -> Any:
    """The outer product of two vectors: ``np.outer``, or its standard spelling for another library."""
    xp = gm.namespace(a, b)
    if xp is np:
        return np.outer(a, b)
    return xp.reshape(a, (-1, 1)) * xp.reshape(b, (1, -1))


def _transpose(a: Any, axes: Axes) -> Any:
    """``a`` with its axes permuted (``None``: reversed): ``np.transpose``, or ``permute_dims``.

    The permutation is made non-negative for the standard, which need not take negative axes.
    """
    xp = gm.namespace(a)
    if xp is np:
        return np.transpose(a, axes)
    ndim = a.ndim
    order = tuple(reversed(range(ndim))) if axes is None else tuple(axis % ndim for axis in axes)
    return xp.permute_dims(a, order)


gatekit_register_gates = collect_gates(__name__)
