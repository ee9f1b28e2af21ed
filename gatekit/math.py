"""Math for gate authors: functions that take a Python float or an array alike.

A gate is written once for every kind of value. Each function here sends a
Python float down the ``math`` route (tens of nanoseconds), a NumPy array (or
a NumPy scalar) down NumPy's, and an array of another library (PyTorch, CuPy,
JAX, Dask, ``array_api_strict``: see :mod:`gatekit.arrays`) down the Python
array API standard's, through that library's own namespace, so it stays on
its device. Every route follows IEEE arithmetic instead of raising: overflow
gives ``inf``, a pole gives ``inf``, a point outside the domain gives
``nan``. So a scalar run and a batch run of the same circuit agree element
for element, and no gate needs a ``try``. For what the elementwise helpers
do not cover (a sum over an axis, a matrix product), :func:`namespace` gives
the inputs' namespace: ``numpy`` itself for floats and NumPy arrays.

The built-in gates are written with these functions, and so is the
``gatekit-activations`` plugin; a plugin gets the same behaviour by importing
them::

    from gatekit import math as gm

    def gate_forward(self, inputs):
        (a,) = inputs
        return a * gm.sigmoid(a)

Masks (:func:`positive`, :func:`at_least`, :func:`inside`, ...) are 1.0 and
0.0, so they multiply like numbers, and :func:`select` picks by them.

>>> exp(1000.0), log(0.0), sqrt(-1.0), divide(1.0, 0.0)
(inf, -inf, nan, inf)
>>> sigmoid(-800.0), sigmoid(800.0)
(0.0, 1.0)
>>> [float(v) for v in relu(np.array([-1.0, 2.0]))]
[0.0, 2.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gatekit.arrays import device, is_foreign, namespace_of

__all__ = [
    "Value",
    "at_least",
    "broadcast",
    "clip",
    "cos",
    "divide",
    "equal",
    "exp",
    "expm1",
    "first",
    "fold",
    "greater",
    "inside",
    "into",
    "is_inf",
    "is_nan",
    "is_zero",
    "log",
    "log1p",
    "maximum",
    "minimum",
    "namespace",
    "negative_square",
    "nonpositive",
    "nonzero",
    "positive",
    "power",
    "quiet",
    "relu",
    "select",
    "sigmoid",
    "sign",
    "sin",
    "softplus",
    "sqrt",
    "takes_first",
    "tanh",
]

#: A value a gate computes with: a Python float or a float64 array (NumPy's or another library's).
Value = Any


def _foreign(*values: Value) -> Any | None:
    """The namespace of the first array among ``values`` that is not NumPy's; ``None`` if there is none."""
    for x in values:
        kind = type(x)
        if kind is not float and kind is not np.ndarray and kind is not int and is_foreign(x):
            return namespace_of(x)
    return None


def namespace(*values: Value) -> Any:
    """The array namespace to compute ``values`` with: ``numpy`` unless one is another library's array.

    For a gate that is not elementwise: ``xp = gm.namespace(a, b)``, then
    ``xp.sum(a, axis=0)``, ``xp.matmul(a, b)``. The functions of the array
    API standard that NumPy shares (``sum``, ``mean``, ``max``, ``exp``,
    ``where``, ``matmul``, ``expand_dims``, ``broadcast_to``, ...) then work
    on every backend.

    >>> namespace(1.0, np.ones(2)) is np
    True
    """
    found = _foreign(*values)
    return np if found is None else found


def broadcast(value: Value, shape: tuple[int, ...], like: Value) -> Value:
    """``value`` (a number or an array) broadcast to ``shape``, as an array of ``like``'s library.

    A read-only view for NumPy (``np.broadcast_to``); for another library, a
    number becomes a float64 array on ``like``'s device first.

    >>> broadcast(2.0, (2,), np.ones(2)).tolist()
    [2.0, 2.0]
    """
    xp = _foreign(like, value)
    if xp is None:
        return np.broadcast_to(value, shape)
    if not is_foreign(value):
        value = xp.asarray(value, dtype=xp.float64, device=device(like))
    return xp.broadcast_to(value, shape)


def _array(xp: Any, value: Value, like: Value) -> Value:
    """``value`` as an array of namespace ``xp`` on ``like``'s device, if it is a number."""
    if is_foreign(value):
        return value
    return xp.asarray(value, dtype=xp.float64, device=device(like))


def into(out: np.ndarray | None, *values: Value) -> np.ndarray | None:
    """``out``, if ``values`` broadcast to exactly its shape (a ufunc may write there); else ``None``.

    For a gate's optional ``out`` (see ``gate_forward`` in
    :mod:`gatekit.plugin.hookspecs`): ``np.exp(x, out=into(out, x))``.

    >>> buffer = np.empty(3)
    >>> into(buffer, np.ones(3), 2.0) is buffer, into(buffer, np.ones(2)), into(buffer, 1.0, 2.0)
    (True, None, None)
    """
    if out is None:
        return None
    shape = out.shape
    if all(type(x) is float or type(x) is int for x in values):
        return None  # numbers make a number, not an array
    if all(type(x) is float or type(x) is int or np.shape(x) == shape for x in values):
        return out
    return out if np.broadcast_shapes(*(np.shape(x) for x in values)) == shape else None


def quiet() -> np.errstate:
    """A context that silences NumPy's floating-point warnings: inf and nan are results here."""
    return np.errstate(all="ignore")


# -- elementary functions --------------------------------------------------------


def exp(x: Value, out: np.ndarray | None = None) -> Value:
    """``e ** x``; ``inf`` where it overflows."""
    if type(x) is float:
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.exp(x)
    with quiet():
        return np.exp(x, out=into(out, x))


def expm1(x: Value) -> Value:
    """``e ** x - 1``, accurate near 0; ``inf`` where it overflows."""
    if type(x) is float:
        try:
            return math.expm1(x)
        except OverflowError:
            return math.inf
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.expm1(x)
    with quiet():
        return np.expm1(x)


def log(x: Value, out: np.ndarray | None = None) -> Value:
    """The natural logarithm; ``-inf`` at 0, ``nan`` below it."""
    if type(x) is float:
        if x > 0.0:
            return math.log(x)
        return -math.inf if x == 0.0 else math.nan
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.log(x)
    with quiet():
        return np.log(x, out=into(out, x))


def log1p(x: Value) -> Value:
    """``log(1 + x)``, accurate near 0; ``-inf`` at -1, ``nan`` below it."""
    if type(x) is float:
        if x > -1.0:
            return math.log1p(x)
        return -math.inf if x == -1.0 else math.nan
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.log1p(x)
    with quiet():
        return np.log1p(x)


def sqrt(x: Value, out: np.ndarray | None = None) -> Value:
    """The square root; ``nan`` below 0."""
    if type(x) is float:
        return math.sqrt(x) if x >= 0.0 else math.nan
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.sqrt(x)
    with quiet():
        return np.sqrt(x, out=into(out, x))


def sin(x: Value, out: np.ndarray | None = None) -> Value:
    """The sine (radians); ``nan`` at an infinity."""
    if type(x) is float:
        try:
            return math.sin(x)
        except ValueError:  # an infinity
            return math.nan
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.sin(x)
    with quiet():
        return np.sin(x, out=into(out, x))


def cos(x: Value, out: np.ndarray | None = None) -> Value:
    """The cosine (radians); ``nan`` at an infinity."""
    if type(x) is float:
        try:
            return math.cos(x)
        except ValueError:  # an infinity
            return math.nan
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.cos(x)
    with quiet():
        return np.cos(x, out=into(out, x))


def tanh(x: Value, out: np.ndarray | None = None) -> Value:
    """The hyperbolic tangent."""
    if type(x) is float:
        return math.tanh(x)
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.tanh(x)
    return np.tanh(x, out=into(out, x))


def divide(a: Value, b: Value, out: np.ndarray | None = None) -> Value:
    """``a / b`` with IEEE results for a zero divisor: ``1/0 = inf``, ``0/0 = nan``."""
    if type(a) is float and type(b) is float:
        try:
            return a / b
        except ZeroDivisionError:
            if a == 0.0 or math.isnan(a):
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
    if type(a) is not np.ndarray and type(b) is not np.ndarray and _foreign(a, b) is not None:
        return a / b  # at least one is an array: its library's IEEE division
    with quiet():
        return np.divide(a, b, out=into(out, a, b))


def power(a: Value, b: Value) -> Value:
    """``a ** b`` with IEEE results: a negative base to a fractional power is ``nan``."""
    if type(a) is float and type(b) is float:
        try:
            return math.pow(a, b)
        except OverflowError:
            return math.copysign(math.inf, a) if _odd_integer(b) else math.inf
        except ValueError:  # 0 ** negative, or negative ** fraction
            if a == 0.0:
                return math.copysign(math.inf, a) if _odd_integer(b) else math.inf
            return math.nan
    if type(a) is not np.ndarray and type(b) is not np.ndarray and _foreign(a, b) is not None:
        return a**b
    with quiet():
        return np.power(a, b)


def _odd_integer(b: float) -> bool:
    return math.isfinite(b) and b == math.floor(b) and b % 2 == 1


def negative_square(x: Value, out: np.ndarray | None = None) -> Value:
    """``-(x * x)``, making at most one array for an array ``x`` (none with an ``out`` that fits)."""
    if type(x) is float:
        return -(x * x)
    if type(x) is not np.ndarray and _foreign(x) is not None:
        return -(x * x)
    result = np.multiply(x, x, out=into(out, x))
    return np.negative(result, out=result)


def first(out: Sequence[np.ndarray | None] | None) -> np.ndarray | None:
    """The array for the first input's factor in a ``gate_local_grad``'s optional ``out``, or ``None``.

    >>> first(None), first([None]), first([np.zeros(2)]).shape
    (None, None, (2,))
    """
    return None if out is None else out[0]


def fold(
    values: Sequence[Value],
    combine: Callable[[Value, Value], Value],
    ufunc: np.ufunc,
    out: np.ndarray | None = None,
) -> Value:
    """``values[0] (op) values[1] (op) ...``, left to right, updating its own array in place.

    ``combine`` is the operator for two values (``operator.add``) and
    ``ufunc`` the same operation as a NumPy ufunc (``np.add``). The first
    step makes a new value; later steps write into it when it is an array
    the next operand broadcasts into, so a sum of n batches makes one array,
    not n - 1.

    >>> import operator
    >>> fold([1.0, 2.0, 3.0], operator.add, np.add)
    6.0
    """
    target = into(out, *values)
    total = combine(values[0], values[1]) if target is None else ufunc(values[0], values[1], out=target)
    for x in values[2:]:
        if type(total) is np.ndarray and (
            (type(x) is np.ndarray and x.shape == total.shape)
            or np.broadcast_shapes(total.shape, np.shape(x)) == total.shape
        ):
            ufunc(total, x, out=total)
        else:
            total = combine(total, x)
    return total


# -- activations -------------------------------------------------------------------


def sigmoid(x: Value) -> Value:
    """``1 / (1 + exp(-x))``, computed without overflow for any ``x``."""
    if type(x) is float:
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        e = xp.exp(-xp.abs(x))
        r = 1.0 / (1.0 + e)
        return xp.where(x >= 0.0, r, e * r)
    with quiet():
        e = np.exp(-np.abs(x))
        r = 1.0 / (1.0 + e)
        return np.where(x >= 0.0, r, e * r)


def softplus(x: Value) -> Value:
    """``log(1 + exp(x))``, computed without overflow for any ``x``."""
    if type(x) is float:
        return max(x, 0.0) + math.log1p(math.exp(-abs(x))) if math.isfinite(x) else max(x, 0.0)
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))
    with quiet():
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def relu(x: Value, out: np.ndarray | None = None) -> Value:
    """``max(x, 0)``; nan stays nan, as in ``np.maximum``."""
    if type(x) is float:
        return 0.0 if x <= 0.0 else x  # nan <= 0 is false: nan passes through
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.maximum(x, 0.0)
    return np.maximum(x, 0.0, out=into(out, x))


def nonpositive(x: Value) -> Value:
    """``min(x, 0)``; nan stays nan.

    Feeding ``exp`` the non-positive part keeps the unused branch of a
    :func:`select` from overflowing (ELU's ``exp(a) - 1`` for a large ``a``).
    """
    if type(x) is float:
        return 0.0 if x > 0.0 else x
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.minimum(x, 0.0)
    return np.minimum(x, 0.0)


def clip(x: Value, low: float, high: float) -> Value:
    """``min(max(x, low), high)``, as ``np.clip``; nan stays nan."""
    if type(x) is float:
        y = low if x < low else x
        return high if y > high else y
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.minimum(xp.maximum(x, low), high)
    return np.minimum(np.maximum(x, low), high)


# -- masks and selection --------------------------------------------------------------


def positive(x: Value) -> Value:
    """1.0 where ``x > 0``, else 0.0: the step function."""
    if type(x) is float:
        return 1.0 if x > 0.0 else 0.0
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.astype(x > 0.0, xp.float64)
    return (np.asarray(x) > 0.0).astype(np.float64)


def sign(x: Value) -> Value:
    """-1.0, 0.0 or 1.0 as ``x`` is negative, zero or positive; nan for nan."""
    if type(x) is float:
        if math.isnan(x):
            return x  # as np.sign: the gradient of abs at nan is nan, not 0
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.sign(x)
    return np.sign(x)


def at_least(a: Value, b: Value) -> Value:
    """1.0 where ``a >= b``, else 0.0 (ties go to ``a``; nan compares false)."""
    if type(a) is float and type(b) is float:
        return 1.0 if a >= b else 0.0
    if type(a) is not np.ndarray and (xp := _foreign(a, b)) is not None:
        return xp.astype(_array(xp, a, b) >= b, xp.float64)
    return (np.asarray(a) >= b).astype(np.float64)


def greater(a: Value, b: Value) -> Value:
    """1.0 where ``a > b``, else 0.0 (nan compares false).

    >>> greater(2.0, 1.0), greater(1.0, 1.0), greater(math.nan, 1.0)
    (1.0, 0.0, 0.0)
    """
    if type(a) is float and type(b) is float:
        return 1.0 if a > b else 0.0
    if type(a) is not np.ndarray and (xp := _foreign(a, b)) is not None:
        return xp.astype(_array(xp, a, b) > b, xp.float64)
    return (np.asarray(a) > b).astype(np.float64)


def equal(a: Value, b: Value) -> Value:
    """1.0 where ``a == b``, else 0.0 (nan equals nothing, itself included; -0.0 equals 0.0).

    >>> equal(1.0, 1.0), equal(-0.0, 0.0), equal(math.nan, math.nan)
    (1.0, 1.0, 0.0)
    """
    if type(a) is float and type(b) is float:
        return 1.0 if a == b else 0.0
    if type(a) is not np.ndarray and (xp := _foreign(a, b)) is not None:
        return xp.astype(_array(xp, a, b) == b, xp.float64)
    return (np.asarray(a) == b).astype(np.float64)


def nonzero(x: Value) -> Value:
    """1.0 where ``x`` is not 0 (nan included: it is not 0), else 0.0: ``x`` read as a truth value.

    NumPy's ``np.where`` and ``np.logical_and`` read a number so, and so does
    ONNX's ``Cast`` to bool.

    >>> nonzero(2.5), nonzero(-0.0), nonzero(math.nan)
    (1.0, 0.0, 1.0)
    """
    if type(x) is float:
        return 0.0 if x == 0.0 else 1.0
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.astype(x != 0.0, xp.float64)
    return (np.asarray(x) != 0.0).astype(np.float64)


def is_nan(x: Value) -> Value:
    """1.0 where ``x`` is nan, else 0.0."""
    if type(x) is float:
        return 1.0 if math.isnan(x) else 0.0
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.astype(xp.isnan(x), xp.float64)
    return np.isnan(x).astype(np.float64)


def is_inf(x: Value) -> Value:
    """1.0 where ``x`` is ``inf`` or ``-inf``, else 0.0.

    >>> is_inf(-math.inf), is_inf(math.nan), is_inf(1e308)
    (1.0, 0.0, 0.0)
    """
    if type(x) is float:
        return 1.0 if math.isinf(x) else 0.0
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.astype(xp.isinf(x), xp.float64)
    return np.isinf(x).astype(np.float64)


def maximum(a: Value, b: Value) -> Value:
    """The larger of ``a`` and ``b``; nan if either is nan, as ``np.maximum``; ``a`` on a tie.

    >>> maximum(math.nan, 1.0), maximum(1.0, math.nan), maximum(-0.0, 0.0)
    (nan, nan, -0.0)
    """
    if type(a) is float and type(b) is float:
        return a if a >= b or math.isnan(a) else b
    if type(a) is not np.ndarray and (xp := _foreign(a, b)) is not None:
        return xp.maximum(_array(xp, a, b), b)
    return np.maximum(a, b)


def minimum(a: Value, b: Value) -> Value:
    """The smaller of ``a`` and ``b``; nan if either is nan, as ``np.minimum``; ``a`` on a tie."""
    if type(a) is float and type(b) is float:
        return a if a <= b or math.isnan(a) else b
    if type(a) is not np.ndarray and (xp := _foreign(a, b)) is not None:
        return xp.minimum(_array(xp, a, b), b)
    return np.minimum(a, b)


def takes_first(a: Value, b: Value, larger: bool = True) -> Value:
    """1.0 where :func:`maximum` (``larger``) or :func:`minimum` of ``a`` and ``b`` is ``a``, else 0.0.

    That is where ``a`` is the larger (the smaller), or equal, or nan: the
    output came from ``a``, so the gradient goes to it.

    >>> takes_first(math.nan, 1.0), takes_first(1.0, math.nan), takes_first(2.0, 2.0)
    (1.0, 0.0, 1.0)
    """
    if type(a) is float and type(b) is float:
        return 1.0 if (a >= b if larger else a <= b) or math.isnan(a) else 0.0
    if type(a) is not np.ndarray and (xp := _foreign(a, b)) is not None:
        a = _array(xp, a, b)
        chosen = (a >= b) if larger else (a <= b)
        return xp.astype(chosen | xp.isnan(a), xp.float64)
    a = np.asarray(a)
    chosen = (a >= b) if larger else (a <= b)
    return (chosen | np.isnan(a)).astype(np.float64)


def is_zero(x: Value) -> Value:
    """1.0 where ``x == 0``, else 0.0."""
    if type(x) is float:
        return 1.0 if x == 0.0 else 0.0
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.astype(x == 0.0, xp.float64)
    return (np.asarray(x) == 0.0).astype(np.float64)


def inside(x: Value, low: float, high: float) -> Value:
    """1.0 where ``low < x < high``, else 0.0."""
    if type(x) is float:
        return 1.0 if low < x < high else 0.0
    if type(x) is not np.ndarray and (xp := _foreign(x)) is not None:
        return xp.astype((x > low) & (x < high), xp.float64)
    x = np.asarray(x)
    return ((x > low) & (x < high)).astype(np.float64)


def select(mask: Value, a: Value, b: Value) -> Value:
    """``a`` where ``mask`` is 1.0, ``b`` where it is 0.0.

    >>> select(positive(-2.0), 1.0, 0.01)
    0.01
    """
    if type(mask) is float:
        return a if mask else b
    if type(mask) is not np.ndarray and (xp := _foreign(mask, a, b)) is not None:
        if not is_foreign(a) and not is_foreign(b):  # the standard's where takes one number at most
            a = _array(xp, a, mask)
        return xp.where(mask != 0.0, a, b)
    return np.where(mask != 0.0, a, b)
