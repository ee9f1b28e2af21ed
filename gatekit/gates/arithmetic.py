"""Arithmetic gates: add, mul, sub, div, neg, reciprocal, square, pow, abs, max, min.

Each gate says two things, knowing nothing of the circuit around it: its
output, and the local gradient of that output with respect to each input.
Each also writes both in ONNX (``gate_onnx``, ``gate_onnx_local_grad``), with
the same formulas in the same order. Many hooks write out the plain case of
Python floats (see :mod:`gatekit.gates`).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from gatekit import math as gm
from gatekit.plugin import lowering as lo
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import POSITIVE, REAL, GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.lowering import OnnxBuilder

Values = Sequence[Any]
#: a ``gate_local_grad``'s optional arrays to compute into, one per input (see its hookspec)
Outs = Sequence[np.ndarray | None] | None
Names = Sequence[str]


def _fold(builder: OnnxBuilder, op_type: str, inputs: Names) -> str:
    """``inputs[0] (op) inputs[1] (op) ...``, left to right, as :func:`gatekit.math.fold` adds them."""
    total = inputs[0]
    for name in inputs[1:]:
        total = builder.node(op_type, [total, name])
    return total


def _times(builder: OnnxBuilder, a: str | None, b: str | None) -> str | None:
    """``a * b``, where ``None`` is 1 (multiplying by 1.0 changes no bit, so it is left out)."""
    if a is None or b is None:
        return b if a is None else a
    return builder.node("Mul", [a, b])


class Add(SpecGate):
    spec = GateSpec(
        "add", 2, "Sum of the inputs: a + b + ...", variadic=True, symbol="+", infix=True, elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        if out is None and len(inputs) == 2:
            a, b = inputs
            return a + b
        return gm.fold(inputs, operator.add, np.add, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (1.0,) * len(inputs)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return _fold(builder, "Add", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        return [builder.constant(1.0)] * len(inputs)


class Mul(SpecGate):
    spec = GateSpec(
        "mul",
        2,
        "Product of the inputs: a * b * ...",
        variadic=True,
        symbol="*",
        infix=True,
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        if out is None and len(inputs) == 2:
            a, b = inputs
            return a * b
        return gm.fold(inputs, operator.mul, np.multiply, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        if len(inputs) == 2:
            a, b = inputs
            return (b, a)
        # The product of all the other inputs, from prefix and suffix
        # products: exact when an input is zero, unlike output / input.
        n = len(inputs)
        before = [1.0] * n
        for i in range(1, n):
            before[i] = before[i - 1] * inputs[i - 1]
        grads = [1.0] * n
        after = 1.0
        for i in range(n - 1, -1, -1):
            grads[i] = before[i] * after
            after = after * inputs[i]
        return grads

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return _fold(builder, "Mul", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        if len(inputs) == 2:
            a, b = inputs
            return [b, a]
        # prefix and suffix products, as gate_local_grad (None: the product of none, 1)
        n = len(inputs)
        before: list[str | None] = [None] * n
        for i in range(1, n):
            before[i] = _times(builder, before[i - 1], inputs[i - 1])
        grads = []
        after: str | None = None
        for i in range(n - 1, -1, -1):
            grads.append(_times(builder, before[i], after) or builder.constant(1.0))
            after = _times(builder, after, inputs[i])
        return grads[::-1]


class Sub(SpecGate):
    spec = GateSpec("sub", 2, "Difference: a - b.", symbol="-", infix=True, elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        a, b = inputs
        target = None if out is None else gm.into(out, a, b)
        return a - b if target is None else np.subtract(a, b, out=target)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (1.0, -1.0)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Sub", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder) -> Names:
        return [builder.constant(1.0), builder.constant(-1.0)]


class Div(SpecGate):
    spec = GateSpec(
        "div",
        2,
        "Quotient: a / b (a zero divisor gives inf or nan).",
        domain=(REAL, POSITIVE),
        symbol="/",
        infix=True,
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        a, b = inputs
        if type(a) is float and type(b) is float and b:
            return a / b
        return gm.divide(a, b, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        _, b = inputs
        if out is None or type(output) is not np.ndarray:
            inverse = 1.0 / b if type(b) is float and b else gm.divide(1.0, b)
            return (inverse, -output * inverse)
        inverse = gm.divide(1.0, b, out[0])  # into out[0] where b has the output's shape
        second = gm.into(out[1], output, inverse)
        if second is None:
            return (inverse, -output * inverse)
        np.multiply(output, inverse, out=second)
        return (inverse, np.negative(second, out=second))

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Div", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        _, b = inputs
        inverse = lo.reciprocal(builder, b)
        return [inverse, builder.node("Mul", [builder.node("Neg", [output]), inverse])]


class Neg(SpecGate):
    spec = GateSpec("neg", 1, "Negation: -a.", symbol="-x", prefix="-", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        target = None if out is None else gm.into(out, a)
        return -a if target is None else np.negative(a, out=target)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (-1.0,)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Neg", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder) -> Names:
        return [builder.constant(-1.0)]


class Reciprocal(SpecGate):
    spec = GateSpec(
        "reciprocal", 1, "Reciprocal: 1 / a.", domain=POSITIVE, symbol="1/x", prefix="1/", elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        if type(a) is float and a:
            return 1.0 / a
        return gm.divide(1.0, a, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        if type(output) is float:
            return (-(output * output),)
        return (gm.negative_square(output, gm.first(out)),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.reciprocal(builder, inputs[0])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, output: str) -> Names:
        return [builder.node("Neg", [builder.node("Mul", [output, output])])]


class Square(SpecGate):
    spec = GateSpec("square", 1, "Square: a * a.", symbol="x²", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        target = None if out is None else gm.into(out, a)
        return a * a if target is None else np.multiply(a, a, out=target)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        (a,) = inputs
        target = None if out is None else gm.into(out[0], a)
        return (2.0 * a if target is None else np.multiply(2.0, a, out=target),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        (a,) = inputs
        return builder.node("Mul", [a, a])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        return [builder.node("Mul", [builder.constant(2.0), inputs[0]])]


class Pow(SpecGate):
    spec = GateSpec(
        "pow",
        2,
        "Power: a ** b (gradient for both a and b).",
        domain=(POSITIVE, REAL),
        symbol="^",
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        return gm.power(a, b)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        a, b = inputs
        # d/da a**b = b * a**(b - 1): 0 where b = 0 (a ** 0 is 1 for every a,
        # and 0 * 0 ** -1 would be nan)
        d_a = gm.select(gm.is_zero(b), 0.0, b * gm.power(a, b - 1.0))
        # d/db a**b = a**b * log(a): undefined (nan) for a negative base; at
        # a = 0 its limit is 0 for b >= 0 (as PyTorch has it), while for
        # b < 0 the formula's inf * -inf = -inf stands.
        d_b = gm.select(gm.is_zero(a) * gm.at_least(b, 0.0), 0.0, output * gm.log(a))
        return (d_a, d_b)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Pow", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        a, b = inputs
        zero = builder.constant(0.0)
        power = builder.node("Pow", [a, builder.node("Sub", [b, builder.constant(1.0)])])
        d_a = lo.select(builder, builder.node("Equal", [b, zero]), zero, builder.node("Mul", [b, power]))
        at_zero = builder.node(
            "And", [builder.node("Equal", [a, zero]), builder.node("GreaterOrEqual", [b, zero])]
        )
        d_b = lo.select(builder, at_zero, zero, builder.node("Mul", [output, builder.node("Log", [a])]))
        return [d_a, d_b]


class Abs(SpecGate):
    spec = GateSpec("abs", 1, "Absolute value: |a| (gradient 0 at 0).", symbol="|x|", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return abs(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        return (gm.sign(a),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Abs", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        return [builder.node("Sign", inputs)]


class Max(SpecGate):
    spec = GateSpec(
        "max",
        2,
        "Larger input (nan if either is); the gradient goes to the input chosen (a on a tie).",
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        if type(a) is float and type(b) is float and a >= b:
            return a
        return gm.maximum(a, b)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        # All of the gradient goes to the input the output came from: the
        # larger, a on a tie, and a nan input (a if both are nan).
        a, b = inputs
        if type(a) is float and type(b) is float and a >= b:
            return (1.0, 0.0)
        chosen = gm.takes_first(a, b)
        return (chosen, 1.0 - chosen)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        a, b = inputs
        return lo.maximum(builder, a, b)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        a, b = inputs
        chosen = lo.as_double(builder, lo.takes_first(builder, a, b))
        return [chosen, builder.node("Sub", [builder.constant(1.0), chosen])]


class Min(SpecGate):
    spec = GateSpec(
        "min",
        2,
        "Smaller input (nan if either is); the gradient goes to the input chosen (a on a tie).",
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        a, b = inputs
        if type(a) is float and type(b) is float and a <= b:
            return a
        return gm.minimum(a, b)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        a, b = inputs
        if type(a) is float and type(b) is float and a <= b:
            return (1.0, 0.0)
        chosen = gm.takes_first(a, b, larger=False)
        return (chosen, 1.0 - chosen)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        a, b = inputs
        return lo.minimum(builder, a, b)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        a, b = inputs
        chosen = lo.as_double(builder, lo.takes_first(builder, a, b, larger=False))
        return [chosen, builder.node("Sub", [builder.constant(1.0), chosen])]


gatekit_register_gates = collect_gates(__name__)
