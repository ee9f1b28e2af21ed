"""Gates that move elements without changing them: reshape, identity.

``reshape`` lays the elements of its input out in a new shape, in the same
(row-major) order; its gradient is the upstream gradient laid back out in
the input's shape. ``identity`` passes its input on; it keeps a name for a
value (an ONNX ``Identity``, or a graph output that is another node).

>>> import numpy as np
>>> x = np.arange(6.0).reshape(2, 3)
>>> Reshape().gate_forward([x], {"shape": (3, -1)}).tolist()
[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
>>> Reshape().gate_forward([x], {"shape": (0, 3, 1)}).shape  # 0 keeps the input's size
(2, 3, 1)
>>> Reshape().gate_vjp([x], None, np.arange(6.0).reshape(3, 2), {"shape": (3, -1)})[0].tolist()
[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gatekit import math as gm
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import Attr, GateSpec, describe, integral
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.lowering import OnnxBuilder

Values = Sequence[Any]
Names = Sequence[str]
Shape = tuple[int, ...]


def shape_attr(value: object) -> Shape | None:
    """Check a reshape's ``shape``: null (a vector of every element) or a list of integers.

    A size of -1 (at most one) is whatever the other sizes leave; a size of
    0 keeps the input's size on that axis (as ONNX's ``Reshape`` has it).

    >>> shape_attr([2, -1.0]), shape_attr(None), shape_attr([])
    ((2, -1), None, ())
    >>> shape_attr([-1, -1])
    Traceback (most recent call last):
    ...
    ValueError: at most one size may be -1, got [-1, -1]
    >>> shape_attr(3.0)  # YAML reads 3 as 3.0: shown as written
    Traceback (most recent call last):
    ...
    ValueError: expected null or a list of integers (-1, 0 or more), got the number 3
    >>> shape_attr([2, "a"])
    Traceback (most recent call last):
    ...
    ValueError: expected null or a list of integers (-1, 0 or more), got a list holding the text 'a'
    """
    if value is None:
        return None
    expected = "null or a list of integers (-1, 0 or more)"
    if isinstance(value, float) and value.is_integer():
        raise ValueError(f"expected {expected}, got the number {int(value)}")
    items = value.tolist() if isinstance(value, np.ndarray) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected {expected}, got {describe(value)}")
    sizes = []
    for item in items:
        size = integral(item)
        if size is None:
            raise ValueError(f"expected {expected}, got a list holding {describe(item)}")
        if size < -1:
            raise ValueError(f"expected {expected}, got a list holding {size}")
        sizes.append(size)
    if sizes.count(-1) > 1:
        raise ValueError(f"at most one size may be -1, got {sizes}")
    return tuple(sizes)


def new_shape(old: Shape, shape: Shape | None) -> Shape:
    """The output shape of reshaping ``old`` to ``shape``: 0 and -1 resolved, or ``ValueError``.

    >>> new_shape((2, 3, 4), (0, -1))
    (2, 12)
    >>> new_shape((2, 3), (4, -1))
    Traceback (most recent call last):
    ...
    ValueError: reshape: cannot lay 6 elements of shape (2, 3) out as [4, -1]
    """
    count = math.prod(old)
    if shape is None:
        return (count,)
    sizes = []
    for axis, size in enumerate(shape):
        if size == 0 and axis >= len(old):
            raise ValueError(f"reshape: size 0 at axis {axis} keeps an axis that a of shape {old} lacks")
        sizes.append(old[axis] if size == 0 else size)
    known = math.prod(size for size in sizes if size != -1)
    if -1 in sizes and known > 0 and count % known == 0:
        sizes[sizes.index(-1)] = count // known
    if math.prod(sizes) != count or -1 in sizes:
        raise ValueError(f"reshape: cannot lay {count} elements of shape {old} out as {list(shape)}")
    return tuple(sizes)


def _scalar(value: Any) -> Any:
    """A 0-d result as a Python float, so that scalar circuits stay floats."""
    return float(value) if np.ndim(value) == 0 else value


class Reshape(SpecGate):
    spec = GateSpec(
        "reshape",
        1,
        "The elements of a in row-major order, laid out in attr shape (-1: the rest; 0: a's size there).",
        attrs={
            "shape": Attr(None, "the new shape: a list of sizes; null: one axis of every element", shape_attr)
        },
        examples=(((2, 3),), ((4,),), ((),)),
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return _scalar(gm.namespace(a).reshape(a, new_shape(np.shape(a), attrs["shape"])))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Values:
        # Each output element is one input element: its gradient goes back to that element.
        (a,) = inputs
        shape = np.shape(a)
        spread = gm.broadcast(upstream, new_shape(shape, attrs["shape"]), a)  # a number stands for each
        return (_scalar(gm.namespace(spread).reshape(spread, shape)),)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values, attrs: Mapping[str, Any]) -> Any:
        # Linear: the tangent is laid out as the value is.
        (a,) = inputs
        (t,) = tangents
        spread = gm.broadcast(t, np.shape(a), a)
        return _scalar(gm.namespace(spread).reshape(spread, np.shape(output)))

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        # ONNX's Reshape reads 0 and -1 as gatekit's reshape does (allowzero left 0)
        shape = attrs["shape"]
        return builder.node("Reshape", [inputs[0], builder.integers([-1] if shape is None else list(shape))])

    @hookimpl
    def gate_onnx_vjp(self, builder: OnnxBuilder, inputs: Names, output: str, upstream: str) -> Names:
        (a,) = inputs
        if builder.shape(upstream) != builder.shape(output):  # a number stands for each element
            upstream = builder.node("Expand", [upstream, builder.node("Shape", [output])])
        return [builder.node("Reshape", [upstream, builder.node("Shape", [a])])]


class Identity(SpecGate):
    spec = GateSpec("identity", 1, "The input, unchanged: a (a new name for a value).", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        # A copy of an array: the output is a value of its own, which the engine may reuse.
        return np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) else a

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (1.0,)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Identity", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder) -> Names:
        return [builder.constant(1.0)]


gatekit_register_gates = collect_gates(__name__)
