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
>>> Sum().gate_forward([x], {"axis": None, "keepdims": False})
21.0
>>> Sum().gate_forward([x], {"axis": (0,), "keepdims": False}).tolist()
[5.0, 7.0, 9.0]
>>> Sum().gate_forward([x], {"axis": (1,), "keepdims": True}).tolist()
[[6.0], [15.0]]
>>> attrs = {"axis": (1,), "keepdims": False}
>>> Mean().gate_vjp([x], np.array([2.0, 5.0]), np.array([1.0, 3.0]), attrs)[0].tolist()
[[0.3333333333333333, 0.3333333333333333, 0.3333333333333333], [1.0, 1.0, 1.0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gatekit import math as gm
from gatekit.arrays import is_foreign
from gatekit.plugin import lowering as lo
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import Attr, GateSpec, describe, integral
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.lowering import OnnxBuilder

Values = Sequence[Any]
Names = Sequence[str]
Axes = tuple[int, ...] | None


def _integers(value: object, expected: str) -> tuple[int, ...]:
    """A list of distinct integers as a tuple, or ``ValueError`` saying ``expected``."""
    if isinstance(value, np.ndarray) and value.ndim != 1:
        raise ValueError(f"expected {expected}, got a nested list")
    items = value.tolist() if isinstance(value, np.ndarray) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected {expected}, got {describe(value)}")
    axes = []
    for item in items:
        axis = integral(item)
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
    axis = integral(value)
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
    single = integral(value)
    if single is not None:  # YAML reads 1 as 1.0: show it as written
        raise ValueError(f"expected {expected}, got the number {single}")
    return _integers(value, expected)


def _scalar(value: Any) -> Any:
    """A 0-d NumPy result as a Python float, so that scalar circuits stay floats.

    Another library's 0-d array stays one: it may live on a device, or not be computed yet.
    """
    return float(value) if np.ndim(value) == 0 and not is_foreign(value) else value


def flag_attr(value: object) -> bool:
    """Check a yes-or-no attribute: true or false.

    >>> flag_attr(True)
    True
    >>> flag_attr(1)
    Traceback (most recent call last):
    ...
    ValueError: expected true or false, got the number 1
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"expected true or false, got {describe(value)}")


def _spread(upstream: Any, shape: tuple[int, ...], axis: Axes, like: Any, keepdims: bool = False) -> Any:
    """The gradient of a sum over ``axis``: ``upstream`` copied back over the reduced axes.

    ``like`` is the reduced input, whose library the result is of; with
    ``keepdims`` the reduced axes are there already, as size 1.
    """
    if shape == ():
        return upstream
    if axis is not None and not keepdims:
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


def _reduce(builder: OnnxBuilder, op_type: str, a: str, axis: Axes, keepdims: bool) -> str:
    """``op_type`` (``ReduceSum``, ``ReduceMean``) of ``a`` over ``axis`` (None: all), kept or dropped."""
    if builder.shape(a) == ():  # a number is its own sum and mean
        return a
    if axis is None:
        return builder.node(op_type, [a], keepdims=int(keepdims))
    return builder.node(op_type, [a, builder.integers(axis)], keepdims=int(keepdims))


def _spread_onnx(builder: OnnxBuilder, upstream: str, a: str, axis: Axes, keepdims: bool) -> str:
    """:func:`_spread` in ONNX: ``upstream`` copied back over the axes of ``a`` that were reduced."""
    if builder.shape(a) == ():
        return upstream
    if axis is not None and not keepdims:
        upstream = builder.node("Unsqueeze", [upstream, builder.integers(axis)])
    return builder.node("Expand", [upstream, builder.node("Shape", [a])])


def _t(builder: OnnxBuilder, matrix: str) -> str:
    return builder.node("Transpose", [matrix], perm=[1, 0])


def _outer_onnx(builder: OnnxBuilder, a: str, b: str) -> str:
    """The outer product of two vectors, as ``np.outer``: each element one product."""
    column = builder.node("Unsqueeze", [a, builder.integers([1])])
    return builder.node("Mul", [column, builder.node("Unsqueeze", [b, builder.integers([0])])])


AXIS = Attr(None, "the axis or axes to reduce; null: all of them", check=axis_attr)
KEEPDIMS = Attr(False, "keep each reduced axis, as size 1 (the result has a's number of axes)", flag_attr)
REDUCTION_EXAMPLES = (((2, 3),), ((4,),), ((),))


class Sum(SpecGate):
    spec = GateSpec(
        "sum",
        1,
        "Sum of the elements of a, over attr axis (default: all, giving a number); attr keepdims.",
        attrs={"axis": AXIS, "keepdims": KEEPDIMS},
        examples=REDUCTION_EXAMPLES,
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return _scalar(gm.namespace(a).sum(a, axis=attrs["axis"], keepdims=attrs["keepdims"]))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Values:
        # d sum / d a[i] = 1 for every element summed into the output element.
        (a,) = inputs
        return (_spread(upstream, np.shape(a), attrs["axis"], a, attrs["keepdims"]),)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values, attrs: Mapping[str, Any]) -> Any:
        # Linear: the tangent of a sum is the sum of the tangents.
        (a,) = inputs
        (t,) = tangents
        xp = gm.namespace(a, t)
        return _scalar(
            xp.sum(gm.broadcast(t, np.shape(a), a), axis=attrs["axis"], keepdims=attrs["keepdims"])
        )

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        (a,) = inputs
        return _reduce(builder, "ReduceSum", a, attrs["axis"], attrs["keepdims"])

    @hookimpl
    def gate_onnx_vjp(
        self, builder: OnnxBuilder, inputs: Names, upstream: str, attrs: Mapping[str, Any]
    ) -> Names:
        (a,) = inputs
        return [_spread_onnx(builder, upstream, a, attrs["axis"], attrs["keepdims"])]


class Mean(SpecGate):
    spec = GateSpec(
        "mean",
        1,
        "Mean of the elements of a, over attr axis (default: all, giving a number); attr keepdims.",
        attrs={"axis": AXIS, "keepdims": KEEPDIMS},
        examples=REDUCTION_EXAMPLES,
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return _scalar(gm.namespace(a).mean(a, axis=attrs["axis"], keepdims=attrs["keepdims"]))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Values:
        # d mean / d a[i] = 1 / n for each of the n elements averaged.
        (a,) = inputs
        shape, axis = np.shape(a), attrs["axis"]
        return (_spread(upstream / _count(shape, axis), shape, axis, a, attrs["keepdims"]),)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        (t,) = tangents
        xp = gm.namespace(a, t)
        return _scalar(
            xp.mean(gm.broadcast(t, np.shape(a), a), axis=attrs["axis"], keepdims=attrs["keepdims"])
        )

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        (a,) = inputs
        return _reduce(builder, "ReduceMean", a, attrs["axis"], attrs["keepdims"])

    @hookimpl
    def gate_onnx_vjp(
        self, builder: OnnxBuilder, inputs: Names, output: str, upstream: str, attrs: Mapping[str, Any]
    ) -> Names:
        (a,) = inputs
        shape, axis = builder.shape(a), attrs["axis"]
        if None in shape:  # a batch: count the elements when the model runs
            sizes = [lo.as_double(builder, builder.node("Size", [name])) for name in (a, output)]
            count = builder.node("Div", sizes)
        else:
            count = builder.constant(float(_count(tuple(n for n in shape if n is not None), axis)))
        return [_spread_onnx(builder, builder.node("Div", [upstream, count]), a, axis, attrs["keepdims"])]


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

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        a, b = inputs
        return builder.node("Mul" if builder.shape(a) == () else "MatMul", [a, b])

    @hookimpl
    def gate_onnx_vjp(self, builder: OnnxBuilder, inputs: Names, upstream: str) -> Names:
        a, b = inputs
        return [builder.node("Mul", [upstream, b]), builder.node("Mul", [upstream, a])]


def _summed_to(xp: Any, grad: Any, shape: tuple[int, ...]) -> Any:
    """``grad`` summed over the stack axes that broadcasting added or stretched to reach ``shape``."""
    extra = grad.ndim - len(shape)
    if extra:
        grad = xp.sum(grad, axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return xp.sum(grad, axis=stretched, keepdims=True) if stretched else grad


def _summed_to_onnx(builder: OnnxBuilder, grad: str, rank: int, shape: tuple[int | None, ...]) -> str:
    """:func:`_summed_to` in ONNX: ``grad`` (of ``rank`` axes) summed over the stack axes of ``shape``
    that broadcasting added or stretched."""
    extra = rank - len(shape)
    if extra:
        grad = builder.node("ReduceSum", [grad, builder.integers(list(range(extra)))], keepdims=0)
    stretched = [i for i, n in enumerate(shape[:-2]) if n == 1]
    if stretched:  # a size 1 the other stack may have stretched (summing one element changes nothing)
        grad = builder.node("ReduceSum", [grad, builder.integers(stretched)], keepdims=1)
    return grad


def _stacked_vjp_onnx(builder: OnnxBuilder, a: str, b: str, upstream: str, output: str) -> Names:
    """:meth:`Matmul._stacked_vjp` in ONNX: each matrix of the stack as ``(m, n) @ (n, p)``."""
    shape_a, shape_b, shape_out = builder.shape(a), builder.shape(b), builder.shape(output)
    u = upstream
    if builder.shape(upstream) != shape_out:  # a number stands for every element
        u = builder.node("Expand", [u, builder.node("Shape", [output])])
    a2 = builder.node("Unsqueeze", [a, builder.integers([0])]) if len(shape_a) == 1 else a
    b2 = builder.node("Unsqueeze", [b, builder.integers([1])]) if len(shape_b) == 1 else b
    shape_a2 = (1, *shape_a) if len(shape_a) == 1 else shape_a
    shape_b2 = (*shape_b, 1) if len(shape_b) == 1 else shape_b
    rank_u = len(shape_out) + (len(shape_a) == 1) + (len(shape_b) == 1)
    if len(shape_a) == 1:
        u = builder.node("Unsqueeze", [u, builder.integers([-2])])
    if len(shape_b) == 1:
        u = builder.node("Unsqueeze", [u, builder.integers([-1])])

    def swapped(x: str, rank: int) -> str:
        return builder.node("Transpose", [x], perm=[*range(rank - 2), rank - 1, rank - 2])

    grad_a = builder.node("MatMul", [u, swapped(b2, len(shape_b2))])
    grad_b = builder.node("MatMul", [swapped(a2, len(shape_a2)), u])
    grad_a = _summed_to_onnx(builder, grad_a, max(rank_u, len(shape_a2)), shape_a2)
    grad_b = _summed_to_onnx(builder, grad_b, max(rank_u, len(shape_b2)), shape_b2)
    if len(shape_a) == 1:
        grad_a = builder.node("Reshape", [grad_a, builder.node("Shape", [a])])
    if len(shape_b) == 1:
        grad_b = builder.node("Reshape", [grad_b, builder.node("Shape", [b])])
    return [grad_a, grad_b]


class Matmul(SpecGate):
    spec = GateSpec(
        "matmul",
        2,
        "Matrix product a @ b of matrices and vectors (vector @ vector is their dot product), and of "
        "stacks of matrices (the leading axes broadcast), as NumPy's matmul.",
        examples=(((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 2)), ((3,), (3,))),
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError(
                f"matmul takes vectors, matrices and stacks of matrices (1 or more dimensions), "
                f"got shapes {np.shape(a)} and {np.shape(b)}"
            )
        inner = 0 if b.ndim == 1 else -2
        if a.shape[-1] != b.shape[inner]:
            which = "first" if b.ndim <= 2 else "second-to-last"
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not line up "
                f"(the last axis of a has {a.shape[-1]} elements, the {which} axis of b {b.shape[inner]})"
            )
        if a.ndim > 2 or b.ndim > 2:
            try:
                np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            except ValueError:
                raise ValueError(
                    f"matmul: the stacks of shapes {a.shape} and {b.shape} do not broadcast "
                    f"({a.shape[:-2]} against {b.shape[:-2]})"
                ) from None
        return _scalar(gm.namespace(a, b).matmul(a, b))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any) -> Values:
        a, b = inputs
        if a.ndim > 2 or b.ndim > 2:
            return self._stacked_vjp(a, b, gm.broadcast(upstream, np.shape(output), output))
        if a.ndim == 2 and b.ndim == 2:  # (m, n) @ (n, p) -> (m, p)
            return (upstream @ b.T, a.T @ upstream)
        if a.ndim == 2:  # (m, n) @ (n,) -> (m,)
            return (_outer(upstream, b), upstream @ a)
        if b.ndim == 2:  # (n,) @ (n, p) -> (p,)
            return (b @ upstream, _outer(a, upstream))
        return (upstream * b, upstream * a)  # (n,) @ (n,) -> a number

    @staticmethod
    def _stacked_vjp(a: Any, b: Any, upstream: Any) -> Values:
        # Each matrix of the stack as (m, n) @ (n, p): u @ b^T and a^T @ u, matrix by matrix; a
        # vector is a matrix of one row (a) or one column (b), and a stack broadcast over is summed.
        xp = gm.namespace(a, b, upstream)
        a2 = xp.expand_dims(a, axis=0) if a.ndim == 1 else a
        b2 = xp.expand_dims(b, axis=1) if b.ndim == 1 else b
        u = upstream
        if a.ndim == 1:
            u = xp.expand_dims(u, axis=-2)
        if b.ndim == 1:
            u = xp.expand_dims(u, axis=-1)
        grad_a = _summed_to(xp, xp.matmul(u, xp.matrix_transpose(b2)), a2.shape)
        grad_b = _summed_to(xp, xp.matmul(xp.matrix_transpose(a2), u), b2.shape)
        return (xp.reshape(grad_a, a.shape), xp.reshape(grad_b, b.shape))

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values) -> Any:
        # Bilinear: d(a @ b) = da @ b + a @ db.
        a, b = inputs
        ta, tb = (gm.broadcast(t, np.shape(x), x) for t, x in zip(tangents, inputs, strict=True))
        xp = gm.namespace(a, b)
        return _scalar(xp.matmul(ta, b) + xp.matmul(a, tb))

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("MatMul", inputs)

    @hookimpl
    def gate_onnx_vjp(self, builder: OnnxBuilder, inputs: Names, output: str, upstream: str) -> Names:
        a, b = inputs
        u = upstream
        ranks = (len(builder.shape(a)), len(builder.shape(b)))
        if max(ranks) > 2:
            return _stacked_vjp_onnx(builder, a, b, upstream, output)
        if ranks == (2, 2):  # (m, n) @ (n, p) -> (m, p)
            return [builder.node("MatMul", [u, _t(builder, b)]), builder.node("MatMul", [_t(builder, a), u])]
        if ranks == (2, 1):  # (m, n) @ (n,) -> (m,)
            return [_outer_onnx(builder, u, b), builder.node("MatMul", [u, a])]
        if ranks == (1, 2):  # (n,) @ (n, p) -> (p,)
            return [builder.node("MatMul", [b, u]), _outer_onnx(builder, a, u)]
        return [builder.node("Mul", [u, b]), builder.node("Mul", [u, a])]  # (n,) @ (n,) -> a number


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

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        (a,) = inputs
        rank = len(builder.shape(a))
        if rank < 2:  # a number or a vector is its own transpose
            return a
        axes = attrs["axes"]
        perm = list(range(rank))[::-1] if axes is None else [axis % rank for axis in axes]
        return builder.node("Transpose", [a], perm=perm)

    @hookimpl
    def gate_onnx_vjp(
        self, builder: OnnxBuilder, inputs: Names, upstream: str, attrs: Mapping[str, Any]
    ) -> Names:
        (a,) = inputs
        rank = len(builder.shape(a))
        if rank < 2:
            return [upstream]
        axes = attrs["axes"]
        if axes is None:  # reversing is its own inverse
            return [builder.node("Transpose", [upstream], perm=list(range(rank))[::-1])]
        inverse = [int(i) for i in np.argsort([axis % rank for axis in axes])]
        return [builder.node("Transpose", [upstream], perm=inverse)]


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
