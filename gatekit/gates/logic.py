"""Comparisons, truth values and selection as gates: greater, greater_equal, equal, is_nan, is_inf,
logical_not, logical_and, logical_or, logical_xor, where.

gatekit computes in float64 only, so a truth value is a mask of 1.0 and 0.0
(as :mod:`gatekit.math`'s masks are); a gate that reads one takes any number
not 0 (nan included) as true, as NumPy's ``np.where`` and ``np.logical_and``
do and ONNX's ``Cast`` to bool does. These gates are what ONNX's comparison,
logic and ``Where`` operators import as (:mod:`gatekit.onnx.operators`).

A mask is flat on either side of its jumps, so every gate here sends back 0
to what it compares or reads as a truth value (as ``step`` does); ``where``
sends the gradient from above to the input it took, element by element.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gatekit import math as gm
from gatekit.arrays import device, is_foreign
from gatekit.plugin import lowering as lo
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.lowering import OnnxBuilder

Values = Sequence[Any]
Names = Sequence[str]


class _Mask(SpecGate):
    """What every gate here but ``where`` shares: a mask is flat on either side of its jumps.

    So the gradient it sends back to each input is 0, in a run and in ONNX.
    """

    @hookimpl
    def gate_local_grad(self, inputs: Values) -> Values:
        return (0.0,) * len(inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        return [builder.constant(0.0)] * len(inputs)


class Greater(_Mask):
    spec = GateSpec(
        "greater", 2, "1 where a > b, else 0 (nan compares false), with gradient 0.", elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        return gm.greater(a, b)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.as_double(builder, builder.node("Greater", inputs))


class GreaterEqual(_Mask):
    spec = GateSpec(
        "greater_equal", 2, "1 where a >= b, else 0 (nan compares false), with gradient 0.", elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        return gm.at_least(a, b)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.as_double(builder, builder.node("GreaterOrEqual", inputs))


class Equal(_Mask):
    spec = GateSpec(
        "equal", 2, "1 where a == b, else 0 (nan equals nothing), with gradient 0.", elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        return gm.equal(a, b)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.as_double(builder, builder.node("Equal", inputs))


class IsNan(_Mask):
    spec = GateSpec("is_nan", 1, "1 where a is nan, else 0, with gradient 0.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return gm.is_nan(a)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.as_double(builder, builder.node("IsNaN", inputs))


class IsInf(_Mask):
    spec = GateSpec("is_inf", 1, "1 where a is inf or -inf, else 0, with gradient 0.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return gm.is_inf(a)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.as_double(builder, builder.node("IsInf", inputs))


class LogicalNot(_Mask):
    spec = GateSpec("logical_not", 1, "1 where a is 0, else 0 (not a), with gradient 0.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return gm.is_zero(a)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.as_double(builder, builder.node("Equal", [inputs[0], builder.constant(0.0)]))


class LogicalAnd(_Mask):
    spec = GateSpec(
        "logical_and", 2, "1 where a and b are both not 0, else 0, with gradient 0.", elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        return gm.nonzero(a) * gm.nonzero(b)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        a, b = inputs
        return lo.as_double(builder, builder.node("And", [lo.nonzero(builder, a), lo.nonzero(builder, b)]))


class LogicalOr(_Mask):
    spec = GateSpec(
        "logical_or", 2, "1 where a or b (or both) is not 0, else 0, with gradient 0.", elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        return gm.maximum(gm.nonzero(a), gm.nonzero(b))

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        a, b = inputs
        return lo.as_double(builder, builder.node("Or", [lo.nonzero(builder, a), lo.nonzero(builder, b)]))


class LogicalXor(_Mask):
    spec = GateSpec(
        "logical_xor",
        2,
        "1 where exactly one of a and b is not 0, else 0, with gradient 0.",
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        return 1.0 - gm.equal(gm.nonzero(a), gm.nonzero(b))

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        a, b = inputs
        return lo.as_double(builder, builder.node("Xor", [lo.nonzero(builder, a), lo.nonzero(builder, b)]))


class Where(SpecGate):
    """``a`` where the condition is not 0, else ``b``: NumPy's ``np.where``, element by element.

    Never ``c * a + (1 - c) * b``, which is nan where the input not taken is
    inf or nan. The gradient from above goes to the input taken: the mask
    to ``a``, one minus it to ``b``, 0 to the condition.
    """

    spec = GateSpec(
        "where",
        3,
        "a where condition is not 0 (nan included), else b (NumPy's where); the gradient to the one taken.",
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        condition, a, b = inputs
        if type(condition) is float and type(a) is float and type(b) is float:
            return a if condition != 0.0 else b  # nan != 0: a, as np.where has it
        xp = gm.namespace(condition, a, b)
        if xp is np:
            return np.where(np.asarray(condition) != 0.0, a, b)
        like = next(value for value in (condition, a, b) if is_foreign(value))
        condition, a, b = (
            value if is_foreign(value) else xp.asarray(value, dtype=xp.float64, device=device(like))
            for value in (condition, a, b)
        )
        return xp.where(condition != 0.0, a, b)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        condition, _, _ = inputs
        taken = gm.nonzero(condition)
        return (0.0, taken, 1.0 - taken)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        condition, a, b = inputs
        return lo.select(builder, lo.nonzero(builder, condition), a, b)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        taken = lo.as_double(builder, lo.nonzero(builder, inputs[0]))
        return [builder.constant(0.0), taken, builder.node("Sub", [builder.constant(1.0), taken])]


gatekit_register_gates = collect_gates(__name__)
