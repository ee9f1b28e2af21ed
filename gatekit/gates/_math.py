"""Elementary functions that take a Python float or a NumPy array alike.

Gates are written once for both kinds of value. A float takes the ``math``
route (tens of nanoseconds); anything else (an array, a NumPy scalar) takes
NumPy's. Both follow IEEE semantics instead of raising: overflow gives
``inf``, a pole gives ``inf``, a point outside the domain gives ``nan``, so a
scalar run and a batch run agree element for element.

>>> exp(1000.0), log(0.0), sqrt(-1.0)
(inf, -inf, nan)
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

Value = Any  # a float or a NumPy array


def _quiet() -> np.errstate:
    """Silence NumPy's floating-point warnings: inf and nan are results here."""
    return np.errstate(all="ignore")


def exp(x: Value) -> Value:
    if type(x) is float:
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    with _quiet():
        return np.exp(x)


def log(x: Value) -> Value:
    if type(x) is float:
        if x > 0.0:
            return math.log(x)
        return -math.inf if x == 0.0 else math.nan
    with _quiet():
        return np.log(x)


def log1p(x: Value) -> Value:
    if type(x) is float:
        if x > -1.0:
            return math.log1p(x)
        return -math.inf if x == -1.0 else math.nan
    with _quiet():
        return np.log1p(x)


def sqrt(x: Value) -> Value:
    if type(x) is float:
        return math.sqrt(x) if x >= 0.0 else math.nan
    with _quiet():
        return np.sqrt(x)


def sin(x: Value) -> Value:
    if type(x) is float:
        return math.sin(x) if math.isfinite(x) else math.nan
    with _quiet():
        return np.sin(x)


def cos(x: Value) -> Value:
    if type(x) is float:
        return math.cos(x) if math.isfinite(x) else math.nan
    with _quiet():
        return np.cos(x)


def tanh(x: Value) -> Value:
    if type(x) is float:
        return math.tanh(x)
    return np.tanh(x)


def divide(a: Value, b: Value) -> Value:
    """``a / b`` with IEEE results for a zero divisor: ``1/0 = inf``, ``0/0 = nan``."""
    if type(a) is float and type(b) is float:
        try:
            return a / b
        except ZeroDivisionError:
            if a == 0.0 or math.isnan(a):
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
    with _quiet():
        return np.divide(a, b)


def power(a: Value, b: Value) -> Value:
    """``a ** b`` with IEEE results: a negative base to a fractional power is nan."""
    if type(a) is float and type(b) is float:
        try:
            return math.pow(a, b)
        except OverflowError:
            return math.copysign(math.inf, a) if _odd_integer(b) else math.inf
        except ValueError:  # 0 ** negative, or negative ** fraction
            if a == 0.0:
                return math.copysign(math.inf, a) if _odd_integer(b) else math.inf
            return math.nan
    with _quiet():
        return np.power(a, b)


def _odd_integer(b: float) -> bool:
    return math.isfinite(b) and b == math.floor(b) and b % 2 == 1


def fold(values: Sequence[Value], combine: Callable[[Value, Value], Value], ufunc: np.ufunc) -> Value:
    """``values[0] (op) values[1] (op) ...``, left to right, updating its own array in place.

    The first step makes a new value; later steps write into it when it is
    an array the next operand broadcasts into, so a sum of n batches makes
    one array, not n - 1.
    """
    total = combine(values[0], values[1])
    for x in values[2:]:
        if type(total) is np.ndarray and np.broadcast_shapes(total.shape, np.shape(x)) == total.shape:
            ufunc(total, x, out=total)
        else:
            total = combine(total, x)
    return total


def negative_square(x: Value) -> Value:
    """``-(x * x)``, making one array for an array ``x``."""
    if type(x) is float:
        return -(x * x)
    result = np.multiply(x, x)
    return np.negative(result, out=result)


def sigmoid(x: Value) -> Value:
    """``1 / (1 + exp(-x))``, computed without overflow for any ``x``."""
    if type(x) is float:
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    with _quiet():
        e = np.exp(-np.abs(x))
        r = 1.0 / (1.0 + e)
        return np.where(x >= 0.0, r, e * r)


def softplus(x: Value) -> Value:
    """``log(1 + exp(x))``, computed without overflow for any ``x``."""
    if type(x) is float:
        return max(x, 0.0) + math.log1p(math.exp(-abs(x))) if math.isfinite(x) else max(x, 0.0)
    with _quiet():
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def relu(x: Value) -> Value:
    """``max(x, 0)``; nan stays nan, as in ``np.maximum``."""
    if type(x) is float:
        return 0.0 if x <= 0.0 else x  # nan <= 0 is false: nan passes through
    return np.maximum(x, 0.0)


def positive(x: Value) -> Value:
    """1.0 where ``x > 0``, else 0.0: the step function."""
    if type(x) is float:
        return 1.0 if x > 0.0 else 0.0
    return (np.asarray(x) > 0.0).astype(np.float64)


def sign(x: Value) -> Value:
    """-1.0, 0.0 or 1.0 as ``x`` is negative, zero or positive."""
    if type(x) is float:
        if math.isnan(x):
            return x  # as np.sign: the gradient of abs at nan is nan, not 0
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0
    return np.sign(x)


def at_least(a: Value, b: Value) -> Value:
    """1.0 where ``a >= b``, else 0.0 (ties go to ``a``)."""
    if type(a) is float and type(b) is float:
        return 1.0 if a >= b else 0.0
    return (np.asarray(a) >= b).astype(np.float64)


def is_zero(x: Value) -> Value:
    """1.0 where ``x == 0``, else 0.0."""
    if type(x) is float:
        return 1.0 if x == 0.0 else 0.0
    return (np.asarray(x) == 0.0).astype(np.float64)


def select(mask: Value, a: Value, b: Value) -> Value:
    """``a`` where ``mask`` is 1.0, ``b`` where it is 0.0."""
    if type(mask) is float:
        return a if mask else b
    return np.where(mask != 0.0, a, b)
