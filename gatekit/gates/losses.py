"""Losses a classifier needs: softmax, log_softmax, softmax_cross_entropy, and three elementwise gates.

``softmax``, ``log_softmax`` and ``softmax_cross_entropy`` work along a class
axis (attr ``axis``, default -1), so an output element depends on a whole row:
they implement ``gate_vjp``. ``binary_cross_entropy_with_logits``, ``hinge``
and ``step`` are elementwise and implement ``gate_local_grad``; they take
Python floats to Python floats, as every elementwise gate does.

Stability: every exponential here is of a non-positive number. Softmax and
log-softmax subtract the row's maximum before exponentiating (``exp(a -
max)`` is at most 1, and the largest term of the sum is exactly 1), the
cross-entropy is computed from log-softmax (never ``log(softmax)``, which is
``log(0) = -inf`` once a probability underflows), and the logistic loss is
written with ``exp(-|z|)``. So logits of +-1000 give finite losses and
gradients:

>>> import numpy as np
>>> z = np.array([[1000.0, 0.0, -1000.0]])
>>> Softmax().gate_forward([z], {"axis": -1}).tolist()
[[1.0, 0.0, 0.0]]
>>> LogSoftmax().gate_forward([z], {"axis": -1}).tolist()
[[0.0, -1000.0, -2000.0]]
>>> SoftmaxCrossEntropy().gate_forward([z, np.array([2.0])], {"axis": -1, "reduction": "mean"})
2000.0
>>> BinaryCrossEntropyWithLogits().gate_forward([-1000.0, 1.0])
1000.0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gatekit import math as gm
from gatekit.arrays import device, is_foreign, to_numpy
from gatekit.plugin import lowering as lo
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import REAL, Attr, GateSpec, describe
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.lowering import OnnxBuilder

Values = Sequence[Any]
Names = Sequence[str]

#: What ``softmax_cross_entropy``'s attr ``reduction`` may be.
REDUCTIONS = ("mean", "sum", "none")
#: Where targets given as probabilities are sampled by gradient checks.
PROBABILITY = (0.0, 1.0)


def axis_attr(value: object) -> int:
    """Check a class axis: one integer (YAML reads ``1`` as ``1.0``), negative counting from the end.

    Whether the input has that axis is known only when the gate runs.

    >>> axis_attr(1.0), axis_attr(-1)
    (1, -1)
    >>> axis_attr(0.5)
    Traceback (most recent call last):
    ...
    ValueError: expected an integer, got the number 0.5
    """
    if (
        isinstance(value, bool | np.bool_)
        or not isinstance(value, numbers.Real)
        or not float(value).is_integer()
    ):
        raise ValueError(f"expected an integer, got {describe(value)}")
    return int(float(value))


def reduction_attr(value: object) -> str:
    """Check a loss's ``reduction``: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> reduction_attr("sum")
    'sum'
    >>> reduction_attr("avg")
    Traceback (most recent call last):
    ...
    ValueError: expected 'mean', 'sum' or 'none', got the text 'avg'
    """
    if isinstance(value, str) and value in REDUCTIONS:
        return value
    raise ValueError(f"expected 'mean', 'sum' or 'none', got {describe(value)}")


AXIS = Attr(-1, "the class axis, an integer; negative ones count from the end", check=axis_attr)


def _scalar(value: Any) -> Any:
    """A 0-d NumPy result as a Python float, so that scalar circuits stay floats (another library's stays)."""
    return float(value) if np.ndim(value) == 0 and not is_foreign(value) else value


def _class_axis(a: Any, axis: int) -> int:
    """``axis`` of ``a`` counted from the front; numpy's ``AxisError`` if ``a`` has no such axis.

    A number has no class axis: softmax over one class is always 1, so a
    number given as logits is a mistake (numpy's reductions would take
    axis -1 of a number, and so give it).
    """
    ndim = np.ndim(a)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def _softmax(a: Any, axis: int) -> Any:
    """``exp(a - max) / sum(exp(a - max))`` along ``axis``: no exponential exceeds 1."""
    xp = gm.namespace(a)
    with gm.quiet():
        e = xp.exp(a - xp.max(a, axis=axis, keepdims=True))
        return e / xp.sum(e, axis=axis, keepdims=True)


def _log_softmax(a: Any, axis: int) -> Any:
    """``a - max - log(sum(exp(a - max)))`` along ``axis``: the sum lies in [1, n], so its log is finite."""
    xp = gm.namespace(a)
    with gm.quiet():
        shifted = a - xp.max(a, axis=axis, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _onnx_axis(builder: OnnxBuilder, a: str, axis: int) -> int:
    """The class ``axis`` of ``a`` counted from the front (numpy's ``AxisError`` if it has none)."""
    return _class_axis(np.empty([n or 1 for n in builder.shape(a)]), axis)


def _log_softmax_onnx(builder: OnnxBuilder, a: str, axis: int) -> str:
    """:func:`_log_softmax` in ONNX: ``a - max - log(sum(exp(a - max)))`` along ``axis``."""
    axes = builder.integers([axis])
    shifted = builder.node("Sub", [a, builder.node("ReduceMax", [a, axes], keepdims=1)])
    total = builder.node("ReduceSum", [builder.node("Exp", [shifted]), axes], keepdims=1)
    return builder.node("Sub", [shifted, builder.node("Log", [total])])


def _onnx_label_form(builder: OnnxBuilder, z: str, t: str, axis: int) -> bool:
    """:func:`_label_form` on the shapes the builder knows."""
    shape, given = builder.shape(z), builder.shape(t)
    if given == shape:
        return False
    if given == shape[:axis] + shape[axis + 1 :]:
        return True
    raise ValueError(f"targets of shape {given} fit neither form for logits of shape {shape}")


def _rows(builder: OnnxBuilder, z: str, axis: int) -> str:
    """How many rows the logits ``z`` have along class ``axis``, as a float64 name; ``""`` for one row."""
    shape = builder.shape(z)
    rest = shape[:axis] + shape[axis + 1 :]
    if not rest:
        return ""
    if None not in rest:
        return builder.constant(float(math.prod(n for n in rest if n is not None)))
    size = lo.as_double(builder, builder.node("Size", [z]))
    classes = builder.constant(float(shape[axis] or 1))
    return builder.node("Div", [size, classes])


def _margin(builder: OnnxBuilder, inputs: Names) -> str:
    """``1 - y * score``, the hinge's margin."""
    score, y = inputs
    return builder.node("Sub", [builder.constant(1.0), builder.node("Mul", [y, score])])


class Softmax(SpecGate):
    """Softmax along a class axis: the probabilities a classifier's logits stand for.

    The gradient is written from the output ``s``: ``d s_i / d a_j = s_i
    (delta_ij - s_j)``, so for ``u`` from above it is ``s * (u - sum(u * s))``.
    """

    spec = GateSpec(
        "softmax",
        1,
        "Softmax along attr axis (default -1): e ** (a - max) / sum(e ** (a - max)), stable for any a.",
        attrs={"axis": AXIS},
        examples=(((4,),), ((2, 3),), ((2, 3, 4),)),
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return _softmax(a, _class_axis(a, attrs["axis"]))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Values:
        # d s_i / d a_j = s_i (delta_ij - s_j): for u from above, s * (u - sum(u * s)) along the axis.
        s = output
        xp = gm.namespace(s, upstream)
        with gm.quiet():
            return (s * (upstream - xp.sum(upstream * s, axis=attrs["axis"], keepdims=True)),)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values, attrs: Mapping[str, Any]) -> Any:
        # J t = s * (t - sum(s * t)) along the axis: the same symmetric Jacobian.
        s = output
        t = gm.broadcast(tangents[0], np.shape(s), s)
        xp = gm.namespace(s, t)
        with gm.quiet():
            return s * (t - xp.sum(s * t, axis=attrs["axis"], keepdims=True))

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        (a,) = inputs
        axis = builder.integers([_onnx_axis(builder, a, attrs["axis"])])
        top = builder.node("ReduceMax", [a, axis], keepdims=1)
        e = builder.node("Exp", [builder.node("Sub", [a, top])])
        return builder.node("Div", [e, builder.node("ReduceSum", [e, axis], keepdims=1)])

    @hookimpl
    def gate_onnx_vjp(
        self, builder: OnnxBuilder, inputs: Names, output: str, upstream: str, attrs: Mapping[str, Any]
    ) -> Names:
        axis = builder.integers([_onnx_axis(builder, inputs[0], attrs["axis"])])
        total = builder.node("ReduceSum", [builder.node("Mul", [upstream, output]), axis], keepdims=1)
        return [builder.node("Mul", [output, builder.node("Sub", [upstream, total])])]


class LogSoftmax(SpecGate):
    """The log of softmax, computed without forming softmax.

    ``log(softmax(a))`` is ``-inf`` once a probability underflows (a logit
    745 below the row's largest); ``a - max - log(sum(exp(a - max)))`` stays
    finite. The gradient takes softmax from the output, as ``exp(output)``:
    again an exponential of a number at most 0.
    """

    spec = GateSpec(
        "log_softmax",
        1,
        "Log-softmax along attr axis (default -1): a - max - ln(sum(e ** (a - max))), stable for any a.",
        attrs={"axis": AXIS},
        examples=(((4,),), ((2, 3),), ((2, 3, 4),)),
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        (a,) = inputs
        return _log_softmax(a, _class_axis(a, attrs["axis"]))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Values:
        # d ls_i / d a_j = delta_ij - s_j: for u from above, u - softmax * sum(u) along the axis.
        xp = gm.namespace(output, upstream)
        with gm.quiet():
            return (upstream - xp.exp(output) * xp.sum(upstream, axis=attrs["axis"], keepdims=True),)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values, attrs: Mapping[str, Any]) -> Any:
        # J t = t - sum(softmax * t) along the axis.
        t = gm.broadcast(tangents[0], np.shape(output), output)
        xp = gm.namespace(output, t)
        with gm.quiet():
            return t - xp.sum(xp.exp(output) * t, axis=attrs["axis"], keepdims=True)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        (a,) = inputs
        return _log_softmax_onnx(builder, a, _onnx_axis(builder, a, attrs["axis"]))

    @hookimpl
    def gate_onnx_vjp(
        self, builder: OnnxBuilder, inputs: Names, output: str, upstream: str, attrs: Mapping[str, Any]
    ) -> Names:
        axis = builder.integers([_onnx_axis(builder, inputs[0], attrs["axis"])])
        total = builder.node("ReduceSum", [upstream, axis], keepdims=1)
        return [builder.node("Sub", [upstream, builder.node("Mul", [builder.node("Exp", [output]), total])])]


def _label_form(logits: Any, targets: Any, axis: int) -> bool:
    """Whether ``targets`` are class labels (True) or probabilities (False), by their shape.

    Labels have the logits' shape without the class axis (``axis``, already
    non-negative), probabilities the logits' shape; the two differ in their
    number of axes, so no shape is both.
    """
    shape, given = np.shape(logits), np.shape(targets)
    if given == shape:
        return False
    rows = shape[:axis] + shape[axis + 1 :]
    if given == rows:
        return True
    raise ValueError(
        f"targets of shape {given} fit neither form for logits of shape {shape}: class labels have "
        f"shape {rows} (the logits' shape without axis {axis}), probabilities shape {shape}"
    )


def _labels(targets: Any, classes: int) -> Any:
    """The class labels as integers, or ``ValueError`` naming the first one that is not 0..classes-1.

    Another library's labels are checked there and become its integers; the
    message about a bad one is worded from a NumPy copy.
    """
    if is_foreign(targets):
        xp = gm.namespace(targets)
        good = (targets >= 0.0) & (targets < classes) & (targets == xp.floor(targets))
        if not bool(xp.all(good)):
            _labels(to_numpy(targets), classes)  # raises, naming the first bad label
        return xp.astype(targets, xp.int64)
    labels = np.asarray(targets, dtype=np.float64)
    with gm.quiet():
        good = (labels >= 0.0) & (labels < classes) & (labels == np.floor(labels))
    if not np.all(good):
        index = np.unravel_index(int(np.argmin(good)), labels.shape)
        where = f" at index {list(map(int, index))}" if index else ""
        raise ValueError(
            f"class labels must be whole numbers from 0 to {classes - 1} (the logits have {classes} "
            f"classes), got {float(labels[index]):g}{where}"
        )
    return labels.astype(np.intp)


def _label_index(xp: Any, labels: Any, axis: int, like: Any) -> Any:
    """The integer labels with the class axis back (size 1), to index the logits along it."""
    if xp is np:
        return np.expand_dims(labels, axis)
    if not is_foreign(labels):  # NumPy's labels (a number, or the file's) for another library's logits
        labels = xp.asarray(labels.tolist(), device=device(like))
    return xp.expand_dims(labels, axis=axis)


class SoftmaxCrossEntropy(SpecGate):
    """Cross-entropy of ``softmax(logits)`` against targets, computed through log-softmax.

    The targets' shape says which of two forms they take:

    - **class labels**: the logits' shape without the class axis (for
      logits of shape (B, C), a vector of B labels; for one row of C logits,
      one number), each a whole number 0..C-1, stored as float64 like every
      value. A row's loss is ``-log_softmax(z)[label]``. Anything else (2.5,
      -1, C, nan) is a ``ValueError``, which the run reports naming the
      gate. The labels' gradient is 0: they are data, not a function's input.
    - **probabilities** (one-hot rows among them): the logits' shape. A row's
      loss is ``-sum(t * log_softmax(z))``; a target of 0 adds 0 even where
      log_softmax is ``-inf`` (a logit of ``-inf``), as ``0 log 0 = 0``, so a
      one-hot row gives what its label gives. The targets' gradient is
      ``-log_softmax(z)``.

    The logits' gradient is ``softmax(z) * sum(t) - t`` per row (``softmax(z)
    - onehot(label)`` for labels). Attr ``reduction`` is ``"mean"`` (a
    Python float, averaged over rows: the gradient carries ``1 / rows``),
    ``"sum"`` (a float) or ``"none"`` (the per-row losses, the logits' shape
    without the class axis).

    >>> z = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 0.0]])
    >>> gate = SoftmaxCrossEntropy()
    >>> per_row = {"axis": -1, "reduction": "none"}
    >>> gate.gate_forward([z, np.array([0.0, 1.0])], per_row).round(6).tolist()
    [0.407606, 0.094923]
    >>> gate.gate_forward([z, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])], per_row).round(6).tolist()
    [0.407606, 0.094923]
    """

    spec = GateSpec(
        "softmax_cross_entropy",
        2,
        "Cross-entropy of softmax(logits) against targets: class labels (the logits' shape without "
        "attr axis) or probabilities (the logits' shape); attr reduction: mean, sum or none.",
        attrs={
            "axis": AXIS,
            "reduction": Attr(
                "mean",
                "mean (a number, averaged over rows), sum (a number) or none (one loss per row)",
                check=reduction_attr,
            ),
        },
        domain=(REAL, PROBABILITY),
        examples=(((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 4), (2, 3, 4))),
    )

    @hookimpl
    def gate_forward(self, inputs: Values, attrs: Mapping[str, Any]) -> Any:
        z, t = inputs
        axis = _class_axis(z, attrs["axis"])
        ls = _log_softmax(z, axis)
        xp = gm.namespace(z, t)
        if _label_form(z, t, axis):
            index = _label_index(xp, _labels(t, np.shape(z)[axis]), axis, z)
            picked = xp.take_along_axis(ls, index, axis=axis)
            per_row = -xp.squeeze(picked, axis=axis)
        else:
            with gm.quiet():
                per_row = -xp.sum(xp.where(t == 0.0, 0.0, t * ls), axis=axis)
        reduction = attrs["reduction"]
        if reduction == "none":
            return _scalar(per_row)
        total = float(np.sum(per_row)) if xp is np else xp.sum(per_row)
        return total if reduction == "sum" else gm.divide(total, float(math.prod(np.shape(per_row))))

    @hookimpl
    def gate_vjp(self, inputs: Values, output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Values:
        z, t = inputs
        axis = _class_axis(z, attrs["axis"])
        reduction = attrs["reduction"]
        xp = gm.namespace(z, t)
        with gm.quiet():
            if reduction == "none":  # one upstream per row: spread it along the class axis
                if xp is np:
                    scale = np.expand_dims(upstream, axis)
                else:  # a number when the rows are one: a 0-d array first
                    scale = xp.expand_dims(gm.broadcast(upstream, np.shape(upstream), z), axis=axis)
            else:
                rows = math.prod(np.shape(z)) // np.shape(z)[axis]
                scale = upstream if reduction == "sum" else upstream / rows
            ls = _log_softmax(z, axis)
            s = xp.exp(ls)
            if _label_form(z, t, axis):
                classes = np.shape(z)[axis]
                index = _label_index(xp, _labels(t, classes), axis, z)
                if xp is np:
                    np.put_along_axis(s, index, np.take_along_axis(s, index, axis) - 1.0, axis)
                    no_gradient = 0.0 if type(t) is float else np.zeros(np.shape(t))
                else:  # no put_along_axis in the standard: subtract the labels' one-hot rows
                    shape = [1] * len(np.shape(z))
                    shape[axis] = classes
                    arange = xp.reshape(xp.arange(classes, dtype=index.dtype, device=device(z)), tuple(shape))
                    s = s - xp.astype(arange == index, xp.float64)
                    zeros = xp.zeros(np.shape(t), dtype=xp.float64, device=device(z))
                    no_gradient = 0.0 if type(t) is float else zeros
                return (s * scale, no_gradient)
            return ((s * xp.sum(t, axis=axis, keepdims=True) - t) * scale, -ls * scale)

    @hookimpl
    def gate_jvp(self, inputs: Values, output: Any, tangents: Values, attrs: Mapping[str, Any]) -> Any:
        # Each row's loss moves by its gradient (gate_vjp with upstream 1 per row) dotted with the
        # tangents along the class axis; then the rows are reduced as the loss is.
        z, t = inputs
        axis = _class_axis(z, attrs["axis"])
        shape = np.shape(z)
        rows = _scalar(gm.broadcast(1.0, shape[:axis] + shape[axis + 1 :], z))
        grad_z, grad_t = self.gate_vjp(inputs, None, rows, {**attrs, "reduction": "none"})
        tangent_z, tangent_t = (
            gm.broadcast(x, np.shape(v), v) for x, v in zip(tangents, inputs, strict=True)
        )
        xp = gm.namespace(z, t)
        with gm.quiet():
            moved = xp.sum(grad_z * tangent_z, axis=axis)
            if not _label_form(z, t, axis):  # labels do not move the loss: their gradient is 0
                moved = moved + xp.sum(grad_t * tangent_t, axis=axis)
        reduction = attrs["reduction"]
        if reduction == "none":
            return _scalar(moved)
        total = float(np.sum(moved)) if xp is np else xp.sum(moved)
        return total if reduction == "sum" else gm.divide(total, float(math.prod(np.shape(moved))))

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names, attrs: Mapping[str, Any]) -> str:
        z, t = inputs
        axis = _onnx_axis(builder, z, attrs["axis"])
        ls = _log_softmax_onnx(builder, z, axis)
        axes = builder.integers([axis])
        if _onnx_label_form(builder, z, t, axis):
            index = builder.node("Unsqueeze", [builder.node("Cast", [t], to=lo.INT64), axes])
            picked = builder.node("GatherElements", [ls, index], axis=axis)
            per_row = builder.node("Neg", [builder.node("Squeeze", [picked, axes])])
        else:
            zero = builder.constant(0.0)
            terms = lo.select(builder, builder.node("Equal", [t, zero]), zero, builder.node("Mul", [t, ls]))
            per_row = builder.node("Neg", [builder.node("ReduceSum", [terms, axes], keepdims=0)])
        reduction = attrs["reduction"]
        rows = _rows(builder, z, axis)
        if reduction == "none":
            return per_row
        total = per_row if rows == "" else builder.node("ReduceSum", [per_row], keepdims=0)
        return total if reduction == "sum" or rows == "" else builder.node("Div", [total, rows])

    @hookimpl
    def gate_onnx_vjp(
        self, builder: OnnxBuilder, inputs: Names, upstream: str, attrs: Mapping[str, Any]
    ) -> Names:
        z, t = inputs
        axis = _onnx_axis(builder, z, attrs["axis"])
        axes = builder.integers([axis])
        reduction = attrs["reduction"]
        if reduction == "none":  # one upstream per row: spread it along the class axis
            scale = builder.node("Unsqueeze", [upstream, axes])
        else:
            rows = _rows(builder, z, axis)
            scale = upstream if reduction == "sum" or rows == "" else builder.node("Div", [upstream, rows])
        ls = _log_softmax_onnx(builder, z, axis)
        s = builder.node("Exp", [ls])
        if _onnx_label_form(builder, z, t, axis):
            shape = builder.shape(z)
            classes = np.arange(float(shape[axis] or 0)).reshape((-1,) + (1,) * (len(shape) - axis - 1))
            hot = builder.node(
                "Equal", [builder.constant(classes.tolist()), builder.node("Unsqueeze", [t, axes])]
            )
            grad_z = builder.node("Mul", [builder.node("Sub", [s, lo.as_double(builder, hot)]), scale])
            no_gradient = builder.node("Expand", [builder.constant(0.0), builder.node("Shape", [t])])
            return [grad_z, no_gradient]
        summed = builder.node("ReduceSum", [t, axes], keepdims=1)
        grad_z = builder.node("Mul", [builder.node("Sub", [builder.node("Mul", [s, summed]), t]), scale])
        return [grad_z, builder.node("Mul", [builder.node("Neg", [ls]), scale])]


class BinaryCrossEntropyWithLogits(SpecGate):
    """The logistic loss of a logit ``z`` against a target ``t`` in [0, 1]: the cross-entropy of sigmoid(z).

    That is ``-t ln sigmoid(z) - (1 - t) ln(1 - sigmoid(z))``, which, computed
    so, meets ``ln 0 = -inf`` once sigmoid(z) rounds to 1 (z above about 37) or
    to 0 (z below about -745).

    It is written as ``max(z, 0) - z * t + log1p(exp(-|z|))``: the exponential is
    of ``-|z|`` and so never overflows, and the large terms cancel before the
    small one is added (``z = 40, t = 1`` gives ``4.2e-18``, not 0).

    >>> BinaryCrossEntropyWithLogits().gate_forward([40.0, 1.0])
    4.248354255291589e-18
    """

    spec = GateSpec(
        "binary_cross_entropy_with_logits",
        2,
        "Logistic loss of logit z against target t: max(z, 0) - z * t + ln(1 + e ** -|z|), stable for any z.",
        domain=(REAL, PROBABILITY),
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        z, t = inputs
        return (gm.maximum(z, 0.0) - z * t) + gm.log1p(gm.exp(-abs(z)))

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        z, t = inputs
        return (gm.sigmoid(z) - t, -z)

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        z, t = inputs
        linear = builder.node(
            "Sub", [lo.maximum(builder, z, builder.constant(0.0)), builder.node("Mul", [z, t])]
        )
        e = builder.node("Exp", [builder.node("Neg", [builder.node("Abs", [z])])])
        return builder.node("Add", [linear, lo.log1p(builder, e)])

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        z, t = inputs
        return [builder.node("Sub", [lo.sigmoid(builder, z), t]), builder.node("Neg", [z])]


class Hinge(SpecGate):
    """The max-margin loss of micrograd's demo, for a score and a label y of +1 or -1.

    It is 0 once ``y * score`` reaches 1, so only the samples inside the
    margin pull on the weights. At the kink (``y * score = 1``) the gradient
    is 0, as relu's is at 0. Other labels than +-1 are taken as they come.
    """

    spec = GateSpec(
        "hinge",
        2,
        "Hinge (max-margin) loss of a score s for a label y of +1 or -1: max(0, 1 - y * s).",
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        score, y = inputs
        return gm.relu(1.0 - y * score)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        # -y and -score inside the margin (1 - y * score > 0), 0 outside it.
        score, y = inputs
        inside = gm.positive(1.0 - y * score)
        return (gm.select(inside, -y, 0.0), gm.select(inside, -score, 0.0))

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.relu(builder, _margin(builder, inputs))

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder, inputs: Names) -> Names:
        score, y = inputs
        inside = lo.positive(builder, _margin(builder, inputs))
        zero = builder.constant(0.0)
        return [
            lo.select(builder, inside, builder.node("Neg", [y]), zero),
            lo.select(builder, inside, builder.node("Neg", [score]), zero),
        ]


class Step(SpecGate):
    """1.0 where ``a > 0``, else 0.0: for counting right answers.

    ``mean(step(y * score))`` is a binary classifier's accuracy. The
    derivative is 0 on either side of the jump at 0 (and undefined at it):
    the gate sends back 0, so an accuracy output never moves the weights.
    """

    spec = GateSpec(
        "step",
        1,
        "Step: 1 where a > 0, else 0, with gradient 0 (for accuracy, as mean(step(y * score))).",
        elementwise=True,
    )

    @hookimpl
    def gate_forward(self, inputs: Values) -> Any:
        (a,) = inputs
        return gm.positive(a)

    @hookimpl
    def gate_local_grad(self, inputs: Values, output: Any) -> Values:
        return (0.0,)  # flat on either side of the jump at 0

    @hookimpl
    def gate_onnx(self, builder: OnnxBuilder, inputs: Names) -> str:
        return lo.as_double(builder, lo.positive(builder, inputs[0]))

    @hookimpl
    def gate_onnx_local_grad(self, builder: OnnxBuilder) -> Names:
        return [builder.constant(0.0)]


gatekit_register_gates = collect_gates(__name__)
