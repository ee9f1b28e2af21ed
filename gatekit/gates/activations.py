"""Activation functions as gates: sigmoid, relu, leaky_relu, softplus.

The hooks of sigmoid and relu write out the plain case of Python floats (see :mod:`gatekit.gates`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gatekit import math as gm
from gatekit.plugin import lowering as lo
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import Attr, GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.lowering import OnnxBuilder

Values = Sequence[Any]
#: a ``gate_local_grad``'s optional arrays to compute into, one per input (see its hookspec)
Outs = Sequence[np.ndarray | None] | None
Names = Sequence[str]


class Sigmoid(SpecGate):
    spec = GateSpec("sigmoid", 1, "Logistic sigmoid: 1 / (1 + e ** -a), stable for any a.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        if type(a) is float and a >= 0.0:
            return 1.0 / (1.0 + math.exp(-a))
        return gm.sigmoid(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        target = None if out is None else gm.into(out[0], output)
        if target is None:
            return (output * (1.0 - output),)
        np.subtract(1.0, output, out=target)
        return (np.multiply(output, target, out=target),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.sigmoid(builder, inputs[0])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        return [builder.node("Mul", [output, builder.node("Sub", [builder.constant(1.0), output])])]


class Relu(SpecGate):
    spec = GateSpec("relu", 1, "Rectifier: max(a, 0) (gradient 0 at 0).", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values, out: np.ndarray | None = None) -> Any:
        (a,) = inputs
        if type(a) is float:
            return 0.0 if a <= 0.0 else a  # nan <= 0 is false: nan passes through
        return gm.relu(a, out)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, out: Outs = None) -> Values:
        (a,) = inputs
        if type(a) is float:
            return (1.0 if a > 0.0 else 0.0,)
        target = None if out is None else gm.into(out[0], a)
        if target is None:
            return (gm.positive(a),)
        return (np.greater(a, 0.0, out=target),)  # True and False written as 1.0 and 0.0

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.relu(builder, inputs[0])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        return [lo.as_double(builder, lo.positive(builder, inputs[0]))]


class LeakyRelu(SpecGate):
    spec = GateSpec(
        "leaky_relu",
        1,
        "Leaky rectifier: a if a > 0 else slope * a.",
        attrs={"slope": Attr(0.01, "the slope for negative a")},
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return gm.select(gm.positive(a), a, attrs["slope"] * a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, attrs: Mapping[str, Any]) -> Values:
        (a,) = inputs
        return (gm.select(gm.positive(a), 1.0, attrs["slope"]),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        (a,) = inputs
        scaled = builder.node("Mul", [builder.constant(attrs["slope"]), a])
        return lo.select(builder, lo.positive(builder, a), a, scaled)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> Names:
        (a,) = inputs
        one, slope = builder.constant(1.0), builder.constant(attrs["slope"])
        return [lo.select(builder, lo.positive(builder, a), one, slope)]


class Softplus(SpecGate):
    spec = GateSpec("softplus", 1, "Softplus: ln(1 + e ** a), stable for any a.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return gm.softplus(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        return (gm.sigmoid(a),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.softplus(builder, inputs[0])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, output: str) -> Names:
        return [lo.sigmoid(builder, inputs[0])]


gatekit_register_gates = collect_gates(__name__)
