"""What a gate's ONNX lowering is given: a :class:`OnnxBuilder`, and helpers written with it.

A gate lowers itself to standard ONNX operators through the optional hooks
``gate_onnx``, ``gate_onnx_local_grad`` and ``gate_onnx_vjp`` (see
:mod:`gatekit.plugin.hookspecs`). Each receives a builder and the *names* of
its input values (and of its output, and of the gradient from above), adds
nodes with :meth:`OnnxBuilder.node` and returns the names of what it made. A
plugin never imports ``onnx``: attributes are plain Python values, and
constants are numbers or nested lists of numbers.

Every value is float64 (``tensor(double)``); a Python float in gatekit is a
tensor of rank 0 in the exported graph. Comparisons (``Greater``...) give
booleans, which ``Where`` takes and :func:`as_double` turns into 1.0 and 0.0,
as gatekit's masks are.

The functions below are :mod:`gatekit.math` written in ONNX: each makes the
same numbers as its namesake there (the same formula, in the same order), so
a lowered gate agrees with the gate itself to the last bit or two.

>>> class Recorder:  # a builder that writes the graph as text, for this example
...     def __init__(self): self.lines, self.count = [], 0
...     def node(self, op_type, inputs, **attrs):
...         self.count += 1
...         self.lines.append(f"t{self.count} = {op_type}({', '.join(inputs)})")
...         return f"t{self.count}"
...     def constant(self, value): return repr(value)
...     def integers(self, values): return repr(list(values))
...     def shape(self, name): return ()
>>> b = Recorder()
>>> sigmoid(b, "x")
't8'
>>> b.lines[:3]
['t1 = Abs(x)', 't2 = Neg(t1)', 't3 = Exp(t2)']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = [
    "BOOL",
    "DOUBLE",
    "INT64",
    "OnnxBuilder",
    "as_double",
    "clip",
    "expm1",
    "inside",
    "log1p",
    "maximum",
    "minimum",
    "nonpositive",
    "nonzero",
    "positive",
    "reciprocal",
    "relu",
    "select",
    "sigmoid",
    "softplus",
    "takes_first",
]

#: ONNX's element types, for ``Cast``'s ``to`` (the numbers of ``onnx.TensorProto``).
DOUBLE = 11
INT64 = 7
BOOL = 9

Attribute = float | int | str | Sequence[float] | Sequence[int]


class OnnxBuilder(Protocol):
    """The graph a lowering hook adds to: nodes, constants, and the shapes gatekit knows.

    Names are strings; every name a method returns is new and unique in the
    graph. The builder gatekit passes is :class:`gatekit.onnx.builder.GraphBuilder`.
    """

    def node(self, op_type: str, inputs: Sequence[str], **attrs: Attribute) -> str:
        """Add one node of the standard ONNX operator ``op_type`` reading ``inputs``; return its output.

        ``attrs`` are the operator's attributes as Python values: a float,
        an int, a string or a list of ints or of floats (``perm=[1, 0]``,
        ``keepdims=0``, ``to=DOUBLE``). An empty name in ``inputs`` leaves an
        optional input out.
        """
        ...

    def constant(self, value: float | Sequence[object]) -> str:
        """A float64 constant: a number (rank 0) or a nested list of numbers."""
        ...

    def integers(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant: the ``axes`` of ``ReduceSum``, the ``shape`` of ``Reshape``..."""
        ...

    def shape(self, name: str) -> tuple[int | None, ...]:
        """The shape of a gate's input, output or upstream gradient, as the circuit's values give it.

        ``()`` for a number; ``None`` for a dimension left symbolic (a batch
        axis). Known only for the names a hook is given, not for the nodes it
        adds (``KeyError``).
        """
        ...


def as_double(b: OnnxBuilder, mask: str) -> str:
    """A boolean tensor as 1.0 and 0.0, as gatekit's masks are."""
    return b.node("Cast", [mask], to=DOUBLE)


def reciprocal(b: OnnxBuilder, x: str) -> str:
    """``1 / x``, correctly rounded as a division is, written ``Reciprocal``.

    Not ``Div(1, x)``: onnxruntime's graph optimizer (its ``DivMulFusion``,
    on by default) fuses ``Div(1, x)`` into the ``Mul`` that reads it, and
    where that ``Mul``'s other input comes from a node it eliminates (a
    ``Mul`` by 1, an ``Identity``) it leaves a model that reads a value no
    node makes (onnxruntime issues 32413 and 32416), and refuses to run it.
    """
    return b.node("Reciprocal", [x])


def positive(b: OnnxBuilder, x: str) -> str:
    """``x > 0`` as a boolean (:func:`gatekit.math.positive` is it as 1.0 and 0.0)."""
    return b.node("Greater", [x, b.constant(0.0)])


def nonzero(b: OnnxBuilder, x: str) -> str:
    """``x != 0`` as a boolean, nan true (:func:`gatekit.math.nonzero` is it as 1.0 and 0.0)."""
    return b.node("Not", [b.node("Equal", [x, b.constant(0.0)])])


def select(b: OnnxBuilder, mask: str, a: str, other: str) -> str:
    """``a`` where the boolean ``mask`` holds, else ``other`` (:func:`gatekit.math.select`)."""
    return b.node("Where", [mask, a, other])


def takes_first(b: OnnxBuilder, a: str, other: str, larger: bool = True) -> str:
    """Where :func:`maximum` (or :func:`minimum`) of ``a`` and ``other`` is ``a``: a boolean.

    That is ``a >= other`` (``a <= other``), or ``a`` is nan: :func:`gatekit.math.takes_first`.
    """
    compare = b.node("GreaterOrEqual" if larger else "LessOrEqual", [a, other])
    return b.node("Or", [compare, b.node("IsNaN", [a])])


def maximum(b: OnnxBuilder, a: str, other: str) -> str:
    """The larger of the two, nan if either is (as ``np.maximum``), ``a`` on a tie."""
    return select(b, takes_first(b, a, other), a, other)


def minimum(b: OnnxBuilder, a: str, other: str) -> str:
    """The smaller of the two, nan if either is (as ``np.minimum``), ``a`` on a tie."""
    return select(b, takes_first(b, a, other, larger=False), a, other)


def relu(b: OnnxBuilder, x: str) -> str:
    """``max(x, 0)``, nan passing through, as :func:`gatekit.math.relu` computes it for a number.

    That is ``0 if x <= 0 else x``: at 0 the output is the constant, not
    ``x``, so a circuit imported from the model sends 0 back there, as the
    ``relu`` gate does (its gradient is 0 at 0).
    """
    zero = b.constant(0.0)
    return select(b, b.node("LessOrEqual", [x, zero]), zero, x)


def nonpositive(b: OnnxBuilder, x: str) -> str:
    """``min(x, 0)``, nan passing through (:func:`gatekit.math.nonpositive`)."""
    return minimum(b, x, b.constant(0.0))


def clip(b: OnnxBuilder, x: str, low: float, high: float) -> str:
    """``min(max(x, low), high)``, nan passing through (:func:`gatekit.math.clip`)."""
    return minimum(b, maximum(b, x, b.constant(low)), b.constant(high))


def inside(b: OnnxBuilder, x: str, low: float, high: float) -> str:
    """``low < x < high`` as a boolean (:func:`gatekit.math.inside` is it as 1.0 and 0.0)."""
    above = b.node("Greater", [x, b.constant(low)])
    return b.node("And", [above, b.node("Less", [x, b.constant(high)])])


def sigmoid(b: OnnxBuilder, x: str) -> str:
    """``1 / (1 + e ** -x)`` without overflow, as :func:`gatekit.math.sigmoid` computes it for arrays."""
    e = b.node("Exp", [b.node("Neg", [b.node("Abs", [x])])])
    r = reciprocal(b, b.node("Add", [b.constant(1.0), e]))
    return select(b, b.node("GreaterOrEqual", [x, b.constant(0.0)]), r, b.node("Mul", [e, r]))


def log1p(b: OnnxBuilder, x: str) -> str:
    """``ln(1 + x)``, accurate near 0 although ONNX has no ``Log1p``.

    With ``u = 1 + x`` rounded, ``ln(u) * x / (u - 1)`` is ``ln(1 + x)`` to
    a few ulps (Goldberg, *What every computer scientist should know about
    floating-point arithmetic*, theorem 4); where ``u`` is 1 the answer is
    ``x`` itself.
    """
    u = b.node("Add", [b.constant(1.0), x])
    shifted = b.node("Sub", [u, b.constant(1.0)])
    ratio = b.node("Div", [b.node("Mul", [b.node("Log", [u]), x]), shifted])
    return select(b, b.node("Equal", [shifted, b.constant(0.0)]), x, ratio)


def expm1(b: OnnxBuilder, x: str) -> str:
    """``e ** x - 1``, accurate near 0 although ONNX has no ``Expm1``.

    With ``u = e ** x`` rounded, ``(u - 1) * x / ln(u)`` is ``e ** x - 1``
    to a few ulps (Kahan's trick); where ``u`` is 1 the answer is ``x``, and
    where ``u - 1`` is -1 (``x`` below about -37) it is -1.
    """
    u = b.node("Exp", [x])
    shifted = b.node("Sub", [u, b.constant(1.0)])
    ratio = b.node("Div", [b.node("Mul", [shifted, x]), b.node("Log", [u])])
    tiny = b.node("Equal", [shifted, b.constant(0.0)])
    floor = b.node("Equal", [shifted, b.constant(-1.0)])
    return select(b, tiny, x, select(b, floor, shifted, ratio))


def softplus(b: OnnxBuilder, x: str) -> str:
    """``ln(1 + e ** x)`` without overflow, as :func:`gatekit.math.softplus` computes it.

    That is ``max(x, 0) + log1p(e ** -|x|)``.
    """
    e = b.node("Exp", [b.node("Neg", [b.node("Abs", [x])])])
    return b.node("Add", [relu(b, x), log1p(b, e)])
