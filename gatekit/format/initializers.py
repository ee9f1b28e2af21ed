"""Params declared by shape and initializer instead of by value: ``W1: {init: normal, shape: [2, 16]}``.

A circuit that is to be trained needs starting values nobody wants to write
by hand. An initializer draws them, seeded: the file's top-level ``seed``
(default 0) and the param's name choose the stream, so every command that
reads the file (``run``, ``train``, ``explain``) starts from the very same
numbers, and adding a param does not change the others'.

=================  =============================================  ==========================
``init``           values                                         settings (defaults)
=================  =============================================  ==========================
``zeros``          0                                              -
``ones``           1                                              -
``constant``       ``value``                                      ``value`` (0)
``uniform``        uniform in [``low``, ``high``)                 ``low`` (-1), ``high`` (1)
``normal``         normal                                         ``mean`` (0), ``std`` (1)
``xavier``         uniform in +-gain * sqrt(6 / (fan_in + fan_out))  ``gain`` (1)
``glorot``         the same as ``xavier``                         ``gain`` (1)
``he``             normal, std gain * sqrt(2 / fan_in)            ``gain`` (1)
``kaiming``        the same as ``he``                             ``gain`` (1)
=================  =============================================  ==========================

For a matrix ``W`` of shape ``(n_in, n_out)``, as in ``x @ W``, ``fan_in`` is
``n_in`` and ``fan_out`` is ``n_out``; for a vector both are its length, for
a number both are 1. (PyTorch stores a linear layer's weight transposed, as
``(out, in)``; gatekit's matmul reads the natural way round.)

>>> init = Init("uniform", (2, 3), {"low": 0.0, "high": 1.0})
>>> values = init.values(seed=0, name="W")
>>> values.shape, bool((values >= 0).all() and (values < 1).all())
((2, 3), True)
>>> same = init.values(seed=0, name="W")  # the same seed and name: the same numbers
>>> bool((same == values).all()), bool((init.values(seed=1, name="W") == values).all())
(True, False)
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["INITIALIZERS", "Init"]

#: Each initializer's settings and their defaults.
INITIALIZERS: Mapping[str, Mapping[str, float]] = {
    "zeros": {},
    "ones": {},
    "constant": {"value": 0.0},
    "uniform": {"low": -1.0, "high": 1.0},
    "normal": {"mean": 0.0, "std": 1.0},
    "xavier": {"gain": 1.0},
    "glorot": {"gain": 1.0},
    "he": {"gain": 1.0},
    "kaiming": {"gain": 1.0},
}


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[1:-1])  # axes between the first and the last: counted in both fans
    return shape[0] * receptive, shape[-1] * receptive


@dataclass(frozen=True, slots=True)
class Init:
    """An initializer, the shape it fills, and its settings (defaults filled in)."""

    kind: str
    shape: tuple[int, ...]
    settings: Mapping[str, float] = field(default_factory=dict)

    def values(self, seed: int, name: str) -> Any:
        """The param's starting value: a float for shape ``()``, else a float64 array."""
        rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
        s = {**INITIALIZERS[self.kind], **self.settings}
        fan_in, fan_out = _fans(self.shape)
        kind = self.kind
        if kind == "zeros":
            array = np.zeros(self.shape)
        elif kind == "ones":
            array = np.ones(self.shape)
        elif kind == "constant":
            array = np.full(self.shape, s["value"])
        elif kind == "uniform":
            array = rng.uniform(s["low"], s["high"], self.shape)
        elif kind == "normal":
            array = rng.normal(s["mean"], s["std"], self.shape)
        elif kind in ("xavier", "glorot"):
            bound = s["gain"] * math.sqrt(6.0 / (fan_in + fan_out))
            array = rng.uniform(-bound, bound, self.shape)
        else:  # he, kaiming
            array = rng.normal(0.0, s["gain"] * math.sqrt(2.0 / fan_in), self.shape)
        return float(array) if not self.shape else np.asarray(array, dtype=np.float64)
