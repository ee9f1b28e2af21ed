"""Elementary functions as gates: exp, log, sqrt, sin, cos, tanh.

The hooks write out the plain case of Python floats (see :mod:`gatekit.gates`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gatekit import math as gm
from gatekit.plugin import lowering as lo
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import POSITIVE, GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.lowering import OnnxBuilder

Values = Sequence[Any]
#: a ``gate_local_grad``'s optional arrays to compute into, one per input (see its hookspec)
Outs = Sequence[np.ndarray | None] | None
Names = Sequence[str]


class Exp(SpecGate):
    spec = GateSpec("exp", 1, "Exponential: e ** a.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        if type(a) is float:
            try:
                return math.exp(a)
            except OverflowError:
                return math.inf
        return gm.exp(a, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (output,)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Exp", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        return [output]


class Log(SpecGate):
    spec = GateSpec("log", 1, "Natural logarithm: ln a (a > 0).", domain=POSITIVE, elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        if type(a) is float and a > 0.0:
            return math.log(a)
        return gm.log(a, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        (a,) = inputs
        if type(a) is float and a:
            return (1.0 / a,)
        return (gm.divide(1.0, a, gm.first(out)),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Log", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        return [lo.reciprocal(builder, inputs[0])]


class Sqrt(SpecGate):
    spec = GateSpec("sqrt", 1, "Square root: a ** 0.5 (a >= 0).", domain=POSITIVE, elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        if type(a) is float and a >= 0.0:
            return math.sqrt(a)
        return gm.sqrt(a, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        if type(output) is float and output:
            return (0.5 / output,)
        return (gm.divide(0.5, output, gm.first(out)),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Sqrt", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        return [builder.node("Div", [builder.constant(0.5), output])]


class Sin(SpecGate):
    spec = GateSpec("sin", 1, "Sine of a (radians).", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        if type(a) is float:
            try:
                return math.sin(a)
            except ValueError:  # an infinity
                return math.nan
        return gm.sin(a, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        (a,) = inputs
        if type(a) is float:
            try:
                return (math.cos(a),)
            except ValueError:  # an infinity
                return (math.nan,)
        return (gm.cos(a, gm.first(out)),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Sin", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        return [builder.node("Cos", inputs)]


class Cos(SpecGate):
    spec = GateSpec("cos", 1, "Cosine of a (radians).", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        if type(a) is float:
            try:
                return math.cos(a)
            except ValueError:  # an infinity
                return math.nan
        return gm.cos(a, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        (a,) = inputs
        if type(a) is float:
            try:
                return (-math.sin(a),)
            except ValueError:  # an infinity
                return (math.nan,)
        target = None if out is None else gm.into(out[0], a)
        if target is None:
            return (-gm.sin(a),)
        gm.sin(a, target)
        return (np.negative(target, out=target),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Cos", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        return [builder.node("Neg", [builder.node("Sin", inputs)])]


class Tanh(SpecGate):
    spec = GateSpec("tanh", 1, "Hyperbolic tangent of a.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        if type(a) is float:
            return math.tanh(a)
        return gm.tanh(a, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        target = None if out is None else gm.into(out[0], output)
        if target is None:
            return (1.0 - output * output,)
        np.multiply(output, output, out=target)
        return (np.subtract(1.0, target, out=target),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return builder.node("Tanh", inputs)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        return [builder.node("Sub", [builder.constant(1.0), builder.node("Mul", [output, output])])]


gatekit_register_gates = collect_gates(__name__)
