"""More activation gates for gatekit: gelu, silu, elu, selu, softsign, hard_tanh, mish.

Each gate is a plugin object with ``gate_spec``, ``gate_forward`` and
``gate_local_grad`` hooks; :func:`gatekit_register_gates` hands them to
gatekit, which finds this module through the ``gatekit`` entry point of the
``gatekit-activations`` distribution. Like gatekit's own gates, they take a
Python float (computed with ``math``, for speed) or a NumPy array (computed
with NumPy), and follow IEEE arithmetic instead of raising: a scalar run and a
batch run agree element for element.

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
from typing import Any, ClassVar

import numpy as np

from gatekit import Attr, GateSpec, hookimpl

__all__ = ["Elu", "Gelu", "HardTanh", "Mish", "Selu", "Silu", "Softsign", "gatekit_register_gates"]

Value = Any  # a Python float or a NumPy float64 array
Values = Sequence[Any]

# -- float/array helpers: a float takes the math route, anything else NumPy's ----------------------


def _quiet() -> np.errstate:
    """Silence NumPy's floating-point warnings: inf and nan are results here."""
    return np.errstate(all="ignore")


def _exp(x: Value) -> Value:
    """``exp(x)`` for ``x <= 0`` (see :func:`_nonpositive`): it cannot overflow."""
    if type(x) is float:
        return math.exp(x)
    return np.exp(x)


def _expm1(x: Value) -> Value:
    """``exp(x) - 1`` for ``x <= 0``, accurate near 0."""
    if type(x) is float:
        return math.expm1(x)
    return np.expm1(x)


def _tanh(x: Value) -> Value:
    if type(x) is float:
        return math.tanh(x)
    return np.tanh(x)


def _sigmoid(x: Value) -> Value:
    """``1 / (1 + exp(-x))`` without overflow for any ``x``."""
    if type(x) is float:
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    with _quiet():
        e = np.exp(-np.abs(x))
        r = 1.0 / (1.0 + e)
        return np.where(x >= 0.0, r, e * r)


def _softplus(x: Value) -> Value:
    """``log(1 + exp(x))`` without overflow for any ``x``."""
    if type(x) is float:
        if not math.isfinite(x):
            return max(x, 0.0)  # inf -> inf, -inf -> 0, nan -> nan
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    with _quiet():
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _positive(x: Value) -> Value:
    """1.0 where ``x > 0``, else 0.0."""
    if type(x) is float:
        return 1.0 if x > 0.0 else 0.0
    return (np.asarray(x) > 0.0).astype(np.float64)


def _nonpositive(x: Value) -> Value:
    """``min(x, 0)``; nan stays nan. Keeps ``exp`` of an unused branch from overflowing."""
    if type(x) is float:
        return 0.0 if x > 0.0 else x
    return np.minimum(x, 0.0)


def _select(mask: Value, a: Value, b: Value) -> Value:
    """``a`` where ``mask`` is 1.0, ``b`` where it is 0.0."""
    if type(mask) is float:
        return a if mask else b
    return np.where(mask != 0.0, a, b)


def _clip(x: Value, low: float, high: float) -> Value:
    """``min(max(x, low), high)``, as ``np.clip``; nan stays nan."""
    if type(x) is float:
        y = low if x < low else x
        return high if y > high else y
    return np.minimum(np.maximum(x, low), high)


def _inside(x: Value, low: float, high: float) -> Value:
    """1.0 where ``low < x < high``, else 0.0."""
    if type(x) is float:
        return 1.0 if low < x < high else 0.0
    x = np.asarray(x)
    return ((x > low) & (x < high)).astype(np.float64)


# -- the gates -------------------------------------------------------------------------------------


class _Gate:
    """Answers ``gate_spec`` with the class attribute ``spec``."""

    spec: ClassVar[GateSpec]

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return self.spec

    def __repr__(self) -> str:
        return f"<gate {self.spec.name}>"


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
    c = _clip(a, -GELU_CLIP, GELU_CLIP)
    s = _sigmoid(2.0 * GELU_C * (c + GELU_K * c * c * c))
    return s, GELU_C * (1.0 + 3.0 * GELU_K * c * c)


class Gelu(_Gate):
    spec = GateSpec("gelu", 1, "GELU, tanh approximation: 0.5a(1 + tanh(sqrt(2/pi)(a + 0.044715a^3))).")

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


class Silu(_Gate):
    spec = GateSpec("silu", 1, "SiLU (swish): a * sigmoid(a), stable for any a.")

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return a * _sigmoid(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        s = _sigmoid(a)
        return (s * (1.0 + a * (1.0 - s)),)


class Elu(_Gate):
    spec = GateSpec(
        "elu",
        1,
        "ELU: a if a > 0 else alpha * (e ** a - 1).",
        attrs={"alpha": Attr(1.0, "the scale of the negative part")},
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return _select(_positive(a), a, attrs["alpha"] * _expm1(_nonpositive(a)))

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, attrs: Mapping[str, Any]) -> Values:
        (a,) = inputs
        return (_select(_positive(a), 1.0, attrs["alpha"] * _exp(_nonpositive(a))),)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Selu(_Gate):
    spec = GateSpec("selu", 1, "SELU: scale * elu(a, alpha), scale 1.0507..., alpha 1.6732...")

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return SELU_SCALE * _select(_positive(a), a, SELU_ALPHA * _expm1(_nonpositive(a)))

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        return (SELU_SCALE * _select(_positive(a), 1.0, SELU_ALPHA * _exp(_nonpositive(a))),)


class Softsign(_Gate):
    spec = GateSpec("softsign", 1, "Softsign: a / (1 + |a|).")

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return a / (1.0 + abs(a))

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        r = 1.0 / (1.0 + abs(a))
        return (r * r,)  # not 1 / (1 + |a|) ** 2, which overflows for a huge a


class HardTanh(_Gate):
    spec = GateSpec(
        "hard_tanh",
        1,
        "Hard tanh: a clipped to [low, high] (gradient 1 strictly inside, else 0).",
        attrs={"low": Attr(-1.0, "the lower bound"), "high": Attr(1.0, "the upper bound")},
        domain=(-2.0, 2.0),  # both the clipped and the linear parts, by default
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return _clip(a, attrs["low"], attrs["high"])

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any, attrs: Mapping[str, Any]) -> Values:
        (a,) = inputs
        return (_inside(a, attrs["low"], attrs["high"]),)


class Mish(_Gate):
    spec = GateSpec("mish", 1, "Mish: a * tanh(softplus(a)), stable for any a.")

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return a * _tanh(_softplus(a))

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        (a,) = inputs
        t = _tanh(_softplus(a))
        return (t + a * (1.0 - t * t) * _sigmoid(a),)  # softplus' = sigmoid


@hookimpl
def gatekit_register_gates() -> list[_Gate]:
    """The gates of this distribution, in the order ``gatekit gates`` lists them."""
    return [Gelu(), Silu(), Elu(), Selu(), Softsign(), HardTanh(), Mish()]
