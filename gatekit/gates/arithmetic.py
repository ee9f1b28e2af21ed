"""Arithmetic gates: add, mul, sub, div, neg, reciprocal, square, pow, abs, max, min.

Each gate says two things, knowing nothing of the circuit around it: its
output, and the local gradient of that output with respect to each input.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from gatekit import math as gm
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import POSITIVE, REAL, GateSpec
from gatekit.plugin.hookspecs import hookimpl

Values = Sequence[Any]


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


class Sub(SpecGate):
    spec = GateSpec("sub", 2, "Difference: a - b.", symbol="-", infix=True, elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        a, b = inputs
        target = gm.into(out, a, b)
        return a - b if target is None else np.subtract(a, b, out=target)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (1.0, -1.0)


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
        return gm.divide(a, b, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        _, b = inputs
        inverse = gm.divide(1.0, b)
        return (inverse, -output * inverse)


class Neg(SpecGate):
    spec = GateSpec("neg", 1, "Negation: -a.", symbol="-x", prefix="-", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        target = gm.into(out, a)
        return -a if target is None else np.negative(a, out=target)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (-1.0,)


class Reciprocal(SpecGate):
    spec = GateSpec(
        "reciprocal", 1, "Reciprocal: 1 / a.", domain=POSITIVE, symbol="1/x", prefix="1/", elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        return gm.divide(1.0, a, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (gm.negative_square(output),)


class Square(SpecGate):
    spec = GateSpec("square", 1, "Square: a * a.", symbol="x²", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        target = gm.into(out, a)
        return a * a if target is None else np.multiply(a, a, out=target)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        return (2.0 * a,)


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
        return gm.maximum(a, b)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        # All of the gradient goes to the input the output came from: the
        # larger, a on a tie, and a nan input (a if both are nan).
        a, b = inputs
        chosen = gm.takes_first(a, b)
        return (chosen, 1.0 - chosen)


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
        return gm.minimum(a, b)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        a, b = inputs
        chosen = gm.takes_first(a, b, larger=False)
        return (chosen, 1.0 - chosen)


gatekit_register_gates = collect_gates(__name__)
