"""Numbers and arrays written as YAML flow values that read back exactly (YAML 1.1 and 1.2 alike).

What every writer of circuit files uses: ``gatekit train -o`` (the trained
values in place of the old) and ``gatekit import`` (an ONNX model's
initializers as params).

>>> import numpy as np
>>> yaml_number(1e-05), yaml_number(float("-inf")), yaml_value(np.arange(4.0).reshape(2, 2))
('1.0e-05', '-.inf', '[[0.0, 1.0], [2.0, 3.0]]')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["yaml_number", "yaml_value"]


def yaml_number(value: float) -> str:
    """A float as YAML (1.1 and 1.2) reads it back, exactly: ``repr``, with ``.0e`` and ``.inf``."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(float(value))
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:  # YAML 1.1 reads 1e-05 as text: 1.0e-05 is a number to both
        text = f"{mantissa}.0e{exponent}"
    return text


def yaml_value(value: Any) -> str:
    """A number or an array as a YAML flow value: ``0.5``, ``[[1.0, 2.0], [3.0, 4.0]]``.

    Row by row, then the rows grouped axis by axis (no recursion: one pass per axis).
    """
    if not isinstance(value, np.ndarray) or value.ndim == 0:
        return yaml_number(float(value))
    if value.ndim == 1:
        return "[" + ", ".join(yaml_number(v) for v in value.tolist()) + "]"
    rows = value.reshape(-1, value.shape[-1])
    written = ["[" + ", ".join(yaml_number(v) for v in row) + "]" for row in rows.tolist()]
    for size in reversed(value.shape[:-1]):  # group the rows, innermost axis first
        written = ["[" + ", ".join(written[i : i + size]) + "]" for i in range(0, len(written), size)]
    return written[0]
