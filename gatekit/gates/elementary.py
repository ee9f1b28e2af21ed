"""Elementary functions as gates: exp, log, sqrt, sin, cos, tanh."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatekit.gates import _math
from gatekit.gates._base import SpecGate
from gatekit.gatespec import POSITIVE, GateSpec
from gatekit.hookspecs import hookimpl

Values = Sequence[Any]


class Exp(SpecGate):
    spec = GateSpec("exp", 1, "Exponential: e ** a.")

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return _math.exp(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (output,)


class Log(SpecGate):
    spec = GateSpec("log", 1, "Natural logarithm: ln a (a > 0).", domain=POSITIVE)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return _math.log(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        return (_math.divide(1.0, a),)


class Sqrt(SpecGate):
    spec = GateSpec("sqrt", 1, "Square root: a ** 0.5 (a >= 0).", domain=POSITIVE)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return _math.sqrt(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (_math.divide(0.5, output),)


class Sin(SpecGate):
    spec = GateSpec("sin", 1, "Sine of a (radians).")

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return _math.sin(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        return (_math.cos(a),)


class Cos(SpecGate):
    spec = GateSpec("cos", 1, "Cosine of a (radians).")

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return _math.cos(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        return (-_math.sin(a),)


class Tanh(SpecGate):
    spec = GateSpec("tanh", 1, "Hyperbolic tangent of a.")

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return _math.tanh(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (1.0 - output * output,)


@hookimpl
def gatekit_register_gates() -> list[SpecGate]:
    return [Exp(), Log(), Sqrt(), Sin(), Cos(), Tanh()]
