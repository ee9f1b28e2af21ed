"""The ONNX operators gatekit imports, each as the gate (or the few gates) that computes it.

:data:`OPERATORS` maps an operator's name (its ``op_type``, in the default
domain) to an :class:`Operator`: the attributes it understands, the input
positions whose values must be known when the model is imported (a
``Reshape``'s shape, a reduction's axes: they become gate attributes), and
a function that writes the node's gates through a :class:`NodeContext`. A
function raises :class:`Unsupported` with a short reason when the node uses
an attribute value or a form gatekit has no gate for; the importer gathers
every such reason into one error.

Broadcasting needs no work here: gatekit's gates broadcast as NumPy does,
which is what ONNX's multidirectional broadcasting is. A boolean tensor is a
mask of 1.0 and 0.0 (:mod:`gatekit.gates.logic`); an operator reads one only
at the input positions its :attr:`Operator.booleans` names, as ONNX's types
allow (``Where``'s condition, ``And``'s inputs, ``Cast``'s...).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = ["OPERATORS", "NodeContext", "Operator", "Ref", "Unsupported"]

#: What a gate reads: a node's name, or a number constant.
Ref = str | float


class Unsupported(Exception):
    """A node gatekit cannot import as it is: the reason, as the end of a sentence."""


class NodeContext(Protocol):
    """What an operator's function sees of its node, and how it adds gates."""

    @property
    def opset(self) -> int:
        """The version of the default domain the model imports."""

    def count(self) -> int:
        """How many inputs the node is given (empty optional ones at the end not counted)."""

    def given(self, position: int) -> bool:
        """Whether input ``position`` is given (not absent, not the empty name)."""

    def data(self, position: int) -> Ref:
        """Input ``position`` as what a gate reads."""

    def static(self, position: int) -> np.ndarray:
        """The value of input ``position``, which must be known at import (an initializer, a Constant)."""

    def rank(self, position: int) -> int | None:
        """The number of axes of input ``position``, if shape inference knows it."""

    def shape(self, position: int) -> tuple[int | None, ...] | None:
        """The shape of input ``position`` (None for an unknown size), if shape inference knows it."""

    def attr(self, name: str, default: Any) -> Any:
        """The node's attribute ``name`` (ints, floats, lists of them), or ``default``."""

    def boolean(self, position: int) -> bool:
        """Whether input ``position`` is a boolean tensor (a mask of 1.0 and 0.0)."""

    def type_name(self, elem: int) -> str:
        """An ONNX element type's name, in lower case (``int64``, ``float16``)."""

    def gate(self, gate: str, inputs: Sequence[Ref], attrs: Mapping[str, Any] | None, part: str) -> str:
        """Add an intermediate gate, named after the node and ``part``; return its name."""

    def result(self, gate: str, inputs: Sequence[Ref], attrs: Mapping[str, Any] | None = None) -> None:
        """Add the gate whose output is the node's output (called last, exactly once)."""


Convert = Callable[[NodeContext], None]


@dataclass(frozen=True, slots=True)
class Operator:
    """How one ONNX operator becomes gates."""

    convert: Convert
    #: the attributes it understands; any other attribute makes the node unsupported
    attrs: frozenset[str] = frozenset()
    #: input positions whose values become gate attributes, so must be known at import
    static: tuple[int, ...] = ()
    #: input positions that may be boolean tensors (masks of 1.0 and 0.0)
    booleans: tuple[int, ...] = ()


def _unary(gate: str) -> Convert:
    def convert(node: NodeContext) -> None:
        node.result(gate, [node.data(0)])

    return convert


def _binary(gate: str) -> Convert:
    def convert(node: NodeContext) -> None:
        node.result(gate, [node.data(0), node.data(1)])

    return convert


def _swapped(gate: str) -> Convert:
    """``Less(a, b)`` as ``greater(b, a)``: a comparison with its inputs the other way round."""

    def convert(node: NodeContext) -> None:
        node.result(gate, [node.data(1), node.data(0)])

    return convert


def _chain(gate: str) -> Convert:
    """Max and Min of one or more inputs: a chain of two-input gates, left to right."""

    def convert(node: NodeContext) -> None:
        count = node.count()
        if count == 1:
            node.result("identity", [node.data(0)])
            return
        value = node.data(0)
        for position in range(1, count - 1):
            value = node.gate(gate, [value, node.data(position)], None, f"{gate}{position}")
        node.result(gate, [value, node.data(count - 1)])

    return convert


def _integers(values: np.ndarray, what: str) -> list[int]:
    """A static input's integers, or :class:`Unsupported` naming ``what`` it should be."""
    if values.dtype.kind not in "iu" or values.ndim > 1:
        raise Unsupported(f"its {what} must be a list of integers")
    return [int(v) for v in values.reshape(-1)]


def _leaky_relu(node: NodeContext) -> None:
    node.result("leaky_relu", [node.data(0)], {"slope": float(node.attr("alpha", 0.01))})


def _flag(node: NodeContext, name: str, default: int) -> bool:
    value = node.attr(name, default)
    if value not in (0, 1):
        raise Unsupported(f"attribute {name}={value} not supported (0 or 1)")
    return bool(value)


def _gemm(node: NodeContext) -> None:
    # Y = alpha * A' @ B' + beta * C, A' and B' transposed where transA, transB say.
    alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
    transpose_a, transpose_b = _flag(node, "transA", 0), _flag(node, "transB", 0)
    a, b = node.data(0), node.data(1)
    if transpose_a:
        a = node.gate("transpose", [a], None, "a_t")
    if transpose_b:
        b = node.gate("transpose", [b], None, "b_t")
    has_bias = node.given(2)
    if not has_bias and alpha == 1.0:
        node.result("matmul", [a, b])
        return
    product = node.gate("matmul", [a, b], None, "matmul")
    if alpha != 1.0:
        if not has_bias:
            node.result("mul", [product, alpha])
            return
        product = node.gate("mul", [product, alpha], None, "alpha")
    bias = node.data(2)
    if beta != 1.0:
        bias = node.gate("mul", [bias, beta], None, "beta")
    node.result("add", [product, bias])


def _transpose(node: NodeContext) -> None:
    perm = node.attr("perm", None)
    axes = [int(p) for p in perm] if perm else None  # no perm, or an empty one (a number): reversed
    node.result("transpose", [node.data(0)], {"axes": axes})


def _reduction(gate: str, axes_input_from: int) -> Convert:
    """ReduceSum and ReduceMean: axes as an attribute before opset ``axes_input_from``, an input since."""

    def convert(node: NodeContext) -> None:
        keepdims = _flag(node, "keepdims", 1)
        noop = _flag(node, "noop_with_empty_axes", 0)
        if node.opset >= axes_input_from:
            axes = _integers(node.static(1), "axes") if node.given(1) else []
        else:
            axes = [int(a) for a in node.attr("axes", [])]
        if not axes and noop:
            node.result("identity", [node.data(0)])
            return
        node.result(gate, [node.data(0)], {"axis": axes or None, "keepdims": keepdims})

    return convert


def _softmax(gate: str) -> Convert:
    """Softmax and LogSoftmax: along one axis since opset 13; before, over the axes from ``axis`` on."""

    def convert(node: NodeContext) -> None:
        if node.opset >= 13:
            node.result(gate, [node.data(0)], {"axis": int(node.attr("axis", -1))})
            return
        axis = int(node.attr("axis", 1))
        rank = node.rank(0)
        if rank is None:
            raise Unsupported(
                f"opset {node.opset} takes it over the axes from {axis} on: the input's rank must be known"
            )
        if axis % max(rank, 1) != rank - 1:
            raise Unsupported(
                f"axis={axis} on an input of {rank} axes: opset {node.opset} takes it over the axes from "
                f"{axis} on (gatekit's {gate} takes one axis)"
            )
        node.result(gate, [node.data(0)], {"axis": -1})

    return convert


def _reshape(node: NodeContext) -> None:
    shape = _integers(node.static(1), "shape")
    if _flag(node, "allowzero", 0) and 0 in shape:
        raise Unsupported("allowzero=1 with a size of 0 in the shape (an empty tensor) not supported")
    if any(size < -1 for size in shape) or shape.count(-1) > 1:
        raise Unsupported(f"shape {shape} not supported (sizes of -1, at most once, 0 or more)")
    if not shape:  # a tensor of one element to a number: what a file can write of it is a sum
        node.result("sum", [node.data(0)], {"axis": None, "keepdims": False})
        return
    node.result("reshape", [node.data(0)], {"shape": shape})


def _flatten(node: NodeContext) -> None:
    # A matrix: the axes before attr axis (default 1) make its rows, the others its columns.
    shape = node.shape(0)
    if shape is None:
        raise Unsupported("the input's shape must be known")
    axis = int(node.attr("axis", 1))
    if axis < 0:
        axis += len(shape)
    rows, columns = shape[:axis], shape[axis:]
    if None not in columns:
        target = [-1, math.prod(size for size in columns if size is not None)]
    elif None not in rows:
        target = [math.prod(size for size in rows if size is not None), -1]
    else:
        raise Unsupported("the input's shape must be known on one side of the axis at least")
    node.result("reshape", [node.data(0)], {"shape": target})


def _shape_to(node: NodeContext, target: Sequence[int | None], kept: int) -> None:
    """A reshape of input 0 to ``target`` (None: a size not known at import).

    The first ``kept`` axes of the target are the input's first axes, so a
    size unknown there may be written 0 (ONNX's and gatekit's "as the input
    has it"); one more unknown size may be -1 (the rest).
    """
    if not target:  # a tensor of one element to a number: what a file can write of it is a sum
        node.result("sum", [node.data(0)], {"axis": None, "keepdims": False})
        return
    shape = [size if size is not None else 0 if axis < kept else -1 for axis, size in enumerate(target)]
    if shape.count(-1) > 1:
        raise Unsupported("the input's shape must be known (more than one size is not)")
    node.result("reshape", [node.data(0)], {"shape": shape})


def _axes(node: NodeContext, rank: int, since: int, what: str) -> list[int] | None:
    """Squeeze's and Unsqueeze's axes (an input since opset ``since``, before an attribute), normalized."""
    if node.opset >= since:
        axes = _integers(node.static(1), "axes") if node.given(1) else None
    else:
        axes = [int(a) for a in node.attr("axes", [])] or None
    if axes is None:
        return None
    if any(not -rank <= axis < rank for axis in axes):
        raise Unsupported(f"axes {axes} out of range for {what} of {rank} axes")
    normalized = sorted(axis % rank for axis in axes)
    if len(set(normalized)) != len(normalized):
        raise Unsupported(f"axes {axes} name an axis twice")
    return normalized


def _squeeze(node: NodeContext) -> None:
    shape = node.shape(0)
    if shape is None:
        raise Unsupported("the input's shape must be known")
    axes = _axes(node, len(shape), 13, "an input")
    if axes is None:  # every axis of size 1
        if None in shape:
            raise Unsupported("without axes, every size of the input must be known")
        axes = [axis for axis, size in enumerate(shape) if size == 1]
    if any(shape[axis] not in (1, None) for axis in axes):
        raise Unsupported(f"axes {axes} include an axis whose size is not 1 (shape {list(shape)})")
    target = [size for axis, size in enumerate(shape) if axis not in axes]
    _shape_to(node, target, kept=axes[0] if axes else len(target))


def _unsqueeze(node: NodeContext) -> None:
    shape = node.shape(0)
    if shape is None:
        raise Unsupported("the input's shape must be known")
    rank = len(shape) + (node.static(1).size if node.opset >= 13 else len(node.attr("axes", [])))
    axes = _axes(node, rank, 13, "an output")
    if axes is None:
        raise Unsupported("its axes must be given")
    sizes = iter(shape)
    target = [1 if axis in axes else next(sizes) for axis in range(rank)]
    _shape_to(node, target, kept=axes[0])


def _is_inf(node: NodeContext) -> None:
    negative, positive = _flag(node, "detect_negative", 1), _flag(node, "detect_positive", 1)
    x = node.data(0)
    if negative and positive:
        node.result("is_inf", [x])
    elif not negative and not positive:
        node.result("greater", [x, math.inf])  # nothing is above inf: 0 everywhere, in x's shape
    else:
        infinite = node.gate("is_inf", [x], None, "inf")
        sign = node.gate("greater", [x, 0.0] if positive else [0.0, x], None, "sign")
        node.result("logical_and", [infinite, sign])


#: ONNX's element types a Cast may go to: FLOAT, FLOAT16, DOUBLE, and BOOL
_CAST_FLOATS = (1, 10, 11)
_CAST_BOOL = 9


def _cast(node: NodeContext) -> None:
    # gatekit holds every number in float64: a cast to a float type changes nothing it can see
    to = int(node.attr("to", 0))
    x = node.data(0)
    if to in _CAST_FLOATS or (to == _CAST_BOOL and node.boolean(0)):
        node.result("identity", [x])
    elif to == _CAST_BOOL:  # not 0 (nan included) is true
        zero = node.gate("equal", [x, 0.0], None, "zero")
        node.result("logical_not", [zero])
    else:
        raise Unsupported(
            f"attribute to={node.type_name(to)} not supported (a cast to float, double, float16 or bool)"
        )


def _convert_where(node: NodeContext) -> None:
    node.result("where", [node.data(0), node.data(1), node.data(2)])


def _constant(node: NodeContext) -> None:  # pragma: no cover - the importer reads Constant itself
    raise AssertionError("Constant nodes are read by the importer, not converted")


_UNARY = {
    "Neg": "neg", "Reciprocal": "reciprocal", "Sqrt": "sqrt", "Abs": "abs", "Exp": "exp", "Log": "log",
    "Sin": "sin", "Cos": "cos", "Tanh": "tanh", "Sigmoid": "sigmoid", "Relu": "relu",
    "Softplus": "softplus", "Identity": "identity",
}  # fmt: skip
_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow"}
_CONSTANT_ATTRS = frozenset(
    {"value", "value_float", "value_floats", "value_int", "value_ints", "sparse_value", "value_string"}
)

_SHAPES = (0,)  # operators that move elements around take booleans as they take numbers
_LOGIC = {"And": "logical_and", "Or": "logical_or", "Xor": "logical_xor"}

OPERATORS: Mapping[str, Operator] = {
    **{op: Operator(_unary(gate)) for op, gate in _UNARY.items() if op != "Identity"},
    "Identity": Operator(_unary("identity"), booleans=_SHAPES),
    **{op: Operator(_binary(gate)) for op, gate in _BINARY.items()},
    "Max": Operator(_chain("max")),
    "Min": Operator(_chain("min")),
    "LeakyRelu": Operator(_leaky_relu, frozenset({"alpha"})),
    "MatMul": Operator(_binary("matmul")),
    "Gemm": Operator(_gemm, frozenset({"alpha", "beta", "transA", "transB"})),
    "Transpose": Operator(_transpose, frozenset({"perm"}), booleans=_SHAPES),
    "ReduceSum": Operator(
        _reduction("sum", 13), frozenset({"axes", "keepdims", "noop_with_empty_axes"}), (1,)
    ),
    "ReduceMean": Operator(
        _reduction("mean", 18), frozenset({"axes", "keepdims", "noop_with_empty_axes"}), (1,)
    ),
    "Softmax": Operator(_softmax("softmax"), frozenset({"axis"})),
    "LogSoftmax": Operator(_softmax("log_softmax"), frozenset({"axis"})),
    "Reshape": Operator(_reshape, frozenset({"allowzero"}), (1,), _SHAPES),
    "Flatten": Operator(_flatten, frozenset({"axis"}), booleans=_SHAPES),
    "Squeeze": Operator(_squeeze, frozenset({"axes"}), (1,), _SHAPES),
    "Unsqueeze": Operator(_unsqueeze, frozenset({"axes"}), (1,), _SHAPES),
    "Greater": Operator(_binary("greater")),
    "Less": Operator(_swapped("greater")),
    "GreaterOrEqual": Operator(_binary("greater_equal")),
    "LessOrEqual": Operator(_swapped("greater_equal")),
    "Equal": Operator(_binary("equal"), booleans=(0, 1)),
    "IsNaN": Operator(_unary("is_nan")),
    "IsInf": Operator(_is_inf, frozenset({"detect_negative", "detect_positive"})),
    "Not": Operator(_unary("logical_not"), booleans=(0,)),
    **{op: Operator(_binary(gate), booleans=(0, 1)) for op, gate in _LOGIC.items()},
    "Where": Operator(_convert_where, booleans=(0, 1, 2)),
    "Cast": Operator(_cast, frozenset({"to", "saturate", "round_mode"}), booleans=(0,)),
    "Constant": Operator(_constant, _CONSTANT_ATTRS),
}
