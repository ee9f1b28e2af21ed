"""More activation gates for gatekit: gelu, silu, elu, selu, softsign, hard_tanh, mish.

Each gate is a :class:`gatekit.SpecGate` with ``gate_forward`` and
``gate_local_grad`` hooks (and ``gate_onnx`` and ``gate_onnx_local_grad``,
which write the same formulas in ONNX for ``gatekit export``, with the
helpers of :mod:`gatekit.plugin.lowering`), and :func:`gatekit.collect_gates` makes the
``gatekit_register_gates`` hook that hands them to gatekit, which finds this
module through the ``gatekit`` entry point of the ``gatekit-activations``
distribution. They compute with :mod:`gatekit.math`, as gatekit's own gates
do: a Python float takes the ``math`` route (for speed), a NumPy array
NumPy's, and both follow IEEE arithmetic instead of raising, so a scalar run
and a batch run agree element for element.

>>> import numpy as np
>>> Silu().gate_forward((0.0,))
0.0
>>> Softsign().gate_forward((1.0,))
0.5
>>> HardTanh().gate_forward((np.array([-3.0, 0.5, 3.0]),), {"low": -1.0, "high": 1.0}).tolist()
[-1.0, 0.5, 1.0]
>>> [gate.spec.name for gate in gatekit_register_gates()]
['gelu', 'silu', 'elu', 'selu', 'softsign', 'hard_tanh', 'mish']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from gatekit import Attr, GateSpec, SpecGate, collect_gates, hookimpl
from gatekit import math as gm
from gatekit.plugin import lowering as lo
from gatekit.plugin.lowering import OnnxBuilder

__all__ = ["Elu", "Gelu", "HardTanh", "Mish", "Selu", "Silu", "Softsign", "gatekit_register_gates"]

Value = gm.Value
Values = Sequence[Any]
Names = Sequence[str]


GELU_C = math.sqrt(2.0 / math.pi)
GELU_K = 0.044715
# sigmoid(2u) is exactly 0 or 1 in float64 once |a| > 22, so clipping a to
# +-30 inside u changes no result and keeps a**3 from overflowing.
GELU_CLIP = 30.0


def _gelu_parts(a: Value) -> tuple[Value, Value]:
    """``sigmoid(2u)`` and ``du/da`` for ``u = sqrt(2/pi) * (a + 0.044715 * a**3)``.

    ``0.5 * (1 + tanh(u))`` equals ``sigmoid(2u)``; the sigmoid keeps its
    relative precision where ``tanh(u)`` is close to -1.
    """
    c = gm.clip(a, -GELU_CLIP, GELU_CLIP)
    s = gm.sigmoid(2.0 * GELU_C * (c + GELU_K * c * c * c))
    return s, GELU_C * (1.0 + 3.0 * GELU_K * c * c)


def _gelu_parts_onnx(b: OnnxBuilder, a: str) -> tuple[str, str]:
    """:func:`_gelu_parts` in ONNX."""
    c = lo.clip(b, a, -GELU_CLIP, GELU_CLIP)
    cube = b.node("Mul", [b.node("Mul", [b.node("Mul", [b.constant(GELU_K), c]), c]), c])
    s = lo.sigmoid(b, b.node("Mul", [b.constant(2.0 * GELU_C), b.node("Add", [c, cube])]))
    square = b.node("Mul", [b.node("Mul", [b.constant(3.0 * GELU_K), c]), c])
    return s, b.node("Mul", [b.constant(GELU_C), b.node("Add", [b.constant(1.0), square])])


def _select_positive(b: OnnxBuilder, a: str, positive: str, other: str) -> str:
    return lo.select(b, lo.positive(b, a), positive, other)


class Gelu(SpecGate):
    spec = GateSpec(
        "gelu", 1, "GELU, tanh approximation: 0.5a(1 + tanh(sqrt(2/pi)(a + 0.044715a^3))).", elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        s, _ = _gelu_parts(a)
        return a * s

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        s, du = _gelu_parts(a)
        return (s + a * s * (1.0 - s) * (2.0 * du),)  # in this order, nothing overflows

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        (a,) = inputs
        s, _ = _gelu_parts_onnx(builder, a)
        return builder.node("Mul", [a, s])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        (a,) = inputs
        b = builder
        s, du = _gelu_parts_onnx(b, a)
        slope = b.node("Mul", [b.node("Mul", [b.node("Mul", [a, s]), b.node("Sub", [b.constant(1.0), s])]),
                               b.node("Mul", [b.constant(2.0), du])])  # fmt: skip
        return [b.node("Add", [s, slope])]


class Silu(SpecGate):
    spec = GateSpec("silu", 1, "SiLU (swish): a * sigmoid(a), stable for any a.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return a * gm.sigmoid(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        s = gm.sigmoid(a)
        return (s * (1.0 + a * (1.0 - s)),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        (a,) = inputs
        return builder.node("Mul", [a, lo.sigmoid(builder, a)])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        (a,) = inputs
        b = builder
        s = lo.sigmoid(b, a)
        inner = b.node("Mul", [a, b.node("Sub", [b.constant(1.0), s])])
        return [b.node("Mul", [s, b.node("Add", [b.constant(1.0), inner])])]


class Elu(SpecGate):
    spec = GateSpec(
        "elu",
        1,
        "ELU: a if a > 0 else alpha * (e ** a - 1).",
        attrs={"alpha": Attr(1.0, "the scale of the negative part")},
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return gm.select(gm.positive(a), a, attrs["alpha"] * gm.expm1(gm.nonpositive(a)))

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, attrs: Mapping[str, Any]) -> Values:
        (a,) = inputs
        return (gm.select(gm.positive(a), 1.0, attrs["alpha"] * gm.exp(gm.nonpositive(a))),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        (a,) = inputs
        b = builder
        negative = b.node("Mul", [b.constant(attrs["alpha"]), lo.expm1(b, lo.nonpositive(b, a))])
        return _select_positive(b, a, a, negative)

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> Names:
        (a,) = inputs
        b = builder
        negative = b.node("Mul", [b.constant(attrs["alpha"]), b.node("Exp", [lo.nonpositive(b, a)])])
        return [_select_positive(b, a, b.constant(1.0), negative)]


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Selu(SpecGate):
    spec = GateSpec(
        "selu", 1, "SELU: scale * elu(a, alpha), scale 1.0507..., alpha 1.6732...", elementwise=True
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return SELU_SCALE * gm.select(gm.positive(a), a, SELU_ALPHA * gm.expm1(gm.nonpositive(a)))

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        return (SELU_SCALE * gm.select(gm.positive(a), 1.0, SELU_ALPHA * gm.exp(gm.nonpositive(a))),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        (a,) = inputs
        b = builder
        negative = b.node("Mul", [b.constant(SELU_ALPHA), lo.expm1(b, lo.nonpositive(b, a))])
        return b.node("Mul", [b.constant(SELU_SCALE), _select_positive(b, a, a, negative)])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        (a,) = inputs
        b = builder
        negative = b.node("Mul", [b.constant(SELU_ALPHA), b.node("Exp", [lo.nonpositive(b, a)])])
        return [b.node("Mul", [b.constant(SELU_SCALE), _select_positive(b, a, b.constant(1.0), negative)])]


class Softsign(SpecGate):
    spec = GateSpec("softsign", 1, "Softsign: a / (1 + |a|).", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return a / (1.0 + abs(a))

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        r = 1.0 / (1.0 + abs(a))
        return (r * r,)  # not 1 / (1 + |a|) ** 2, which overflows for a huge a

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        (a,) = inputs
        return builder.node(
            "Div", [a, builder.node("Add", [builder.constant(1.0), builder.node("Abs", [a])])]
        )

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        (a,) = inputs
        b = builder
        r = lo.reciprocal(b, b.node("Add", [b.constant(1.0), b.node("Abs", [a])]))
        return [b.node("Mul", [r, r])]


class HardTanh(SpecGate):
    spec = GateSpec(
        "hard_tanh",
        1,
        "Hard tanh: a clipped to [low, high] (gradient 1 strictly inside, else 0).",
        attrs={"low": Attr(-1.0, "the lower bound"), "high": Attr(1.0, "the upper bound")},
        domain=(-2.0, 2.0),  # both the clipped and the linear parts, by default
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return gm.clip(a, attrs["low"], attrs["high"])

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, attrs: Mapping[str, Any]) -> Values:
        (a,) = inputs
        return (gm.inside(a, attrs["low"], attrs["high"]),)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        return lo.clip(builder, inputs[0], attrs["low"], attrs["high"])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> Names:
        return [lo.as_double(builder, lo.inside(builder, inputs[0], attrs["low"], attrs["high"]))]


class Mish(SpecGate):
    spec = GateSpec("mish", 1, "Mish: a * tanh(softplus(a)), stable for any a.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return a * gm.tanh(gm.softplus(a))

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        t = gm.tanh(gm.softplus(a))
        return (t + a * (1.0 - t * t) * gm.sigmoid(a),)  # softplus' = sigmoid

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        (a,) = inputs
        return builder.node("Mul", [a, builder.node("Tanh", [lo.softplus(builder, a)])])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        (a,) = inputs
        b = builder
        t = b.node("Tanh", [lo.softplus(b, a)])
        flat = b.node("Sub", [b.constant(1.0), b.node("Mul", [t, t])])
        return [b.node("Add", [t, b.node("Mul", [b.node("Mul", [a, flat]), lo.sigmoid(b, a)])])]


#: The gates of this distribution, in the order ``gatekit gates`` lists them: every class above.
gatekit_register_gates = collect_gates(__name__)
