"""Numbers and tables as people read them: the formatting every view shares.

``gatekit run`` prints full precision (:func:`full`); ``gatekit explain``
rounds to significant digits (:func:`significant`); ``gatekit draw`` to a
number of decimals (:func:`decimals`). Arrays of more than
:data:`SUMMARY_LIMIT` elements are summarized, and :func:`table` lines up
columns.

>>> significant(0.19661193324148185, 2), decimals(-0.001, 2), full(-0.5)
('0.20', '0.00', '-0.5')
>>> print("\\n".join(table([("x0", "input", " 1.0"), ("w", "param", "-2.0")])))
  x0  input   1.0
  w   param  -2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["SUMMARY_LIMIT", "decimals", "full", "significant", "summary", "table"]

SUMMARY_LIMIT = 6  # arrays with more elements are summarized


def significant(value: Any, digits: int) -> str:
    """``value`` to ``digits`` significant digits; trailing zeros only where it was rounded.

    A value that differs from its short form only by float noise (``-0.6 *
    -1.5`` is ``0.9000000000000001``) is written short; ``-0.0`` is ``0``.

    >>> significant(2.0, 4), significant(0.9000000000000001, 4), significant(-0.0, 4)
    ('2', '0.9', '0')
    """
    value = float(value)
    if value == 0:
        return "0"
    short = f"{value:.{digits}g}"
    if not math.isfinite(value) or math.isclose(float(short), value, rel_tol=1e-12, abs_tol=0):
        return short
    return f"{value:#.{digits}g}"


def decimals(value: float, places: int) -> str:
    """``value`` with ``places`` decimals (``-0.00`` written ``0.00``); large ones in e-notation."""
    if math.isfinite(value) and abs(value) >= 1e6:
        return f"{value:.{places}e}"
    text = f"{value:.{places}f}"
    return text.lstrip("-") if float(text) == 0 else text


def full(value: Any) -> str:
    """A number at full precision (its ``repr``); an array as a nested list or a summary."""
    if not isinstance(value, np.ndarray):
        return repr(value)
    if value.size <= SUMMARY_LIMIT:
        return repr(value.tolist())
    return summary(value, lambda x: f"{x:.6g}")


def summary(array: np.ndarray, show: Any, compact: bool = False) -> str:
    """``array(200,)  min ...  mean ...  max ...``, each number written by ``show``.

    ``compact``: ``<array(200,) mean ...>``, for a value inside a sentence.
    """
    with np.errstate(all="ignore"):  # the mean of [inf, -inf] is nan, not a warning
        mean = show(float(array.mean()))
    if compact:
        return f"<array{array.shape} mean {mean}>"
    return f"array{array.shape}  min {show(float(array.min()))}  mean {mean}  max {show(float(array.max()))}"


def table(rows: Sequence[Sequence[str]], indent: str = "  ", right: int = 0, gap: int = 2) -> list[str]:
    """Rows of cells in columns ``gap`` spaces apart; the first ``right`` columns right-aligned."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if i < right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append((indent + (" " * gap).join(cells)).rstrip())
    return lines
