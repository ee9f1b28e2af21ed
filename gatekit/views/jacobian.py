"""A Jacobian as people read it: ``gatekit jacobian``'s table, and its JSON object.

The table has a row per output element and a column per leaf element, each
named as the check table names elements (``x``, ``phi[1]``, ``W[0,2]``), and
numbers at full precision; above :data:`TABLE_ROWS` rows or
:data:`TABLE_COLUMNS` columns it would be unreadable, and
:func:`check_table` refuses it before anything is computed.

>>> from gatekit.engine.circuit import Circuit
>>> circuit = Circuit.from_text(
...     "inputs: {x: 3.0}\\nparams: {w: [2.0, -1.0]}\\ngates:\\n  y: {gate: mul, in: [w, x]}\\n"
...     "  s: {gate: sum, in: [y]}\\noutputs: [y, s]"
... )
>>> print("\\n".join(jacobian_lines(circuit.jacobian())))
jacobian of y, s with respect to x, w
reverse mode: 3 passes, one per output element (forward mode would take 3, one per leaf element)
         x     w[0]   w[1]
  y[0]   2.0   3.0    0.0
  y[1]  -1.0   0.0    3.0
  s      1.0   3.0    3.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.engine.jacobian import Jacobian, JacobianPlan
from gatekit.errors import UsageError
from gatekit.views.text import table

__all__ = ["TABLE_COLUMNS", "TABLE_ROWS", "check_table", "element_names", "jacobian_json", "jacobian_lines"]

#: the largest table printed: rows (output elements) and columns (leaf elements)
TABLE_ROWS = 40
TABLE_COLUMNS = 8


def element_names(name: str, shape: tuple[int, ...]) -> list[str]:
    """A name for each element of node ``name`` of ``shape``, in C order.

    >>> element_names("f", ()), element_names("W", (2, 2))
    (['f'], ['W[0,0]', 'W[0,1]', 'W[1,0]', 'W[1,1]'])
    """
    if not shape:
        return [name]
    return [f"{name}[{','.join(map(str, index))}]" for index in np.ndindex(shape)]


def check_table(plan: JacobianPlan) -> None:
    """Refuse, before the passes run, a Jacobian too large to print as a table.

    :raises UsageError: more than :data:`TABLE_ROWS` rows or
        :data:`TABLE_COLUMNS` columns; the message says what to do instead.
    """
    rows, columns = plan.reverse_passes, plan.forward_passes
    if rows > TABLE_ROWS or columns > TABLE_COLUMNS:
        raise UsageError(
            f"jacobian: {rows:,} rows (output elements) by {columns:,} columns (leaf elements) is too large "
            f"for a table (at most {TABLE_ROWS} by {TABLE_COLUMNS}): write it with --json or -o FILE.npz, or "
            "choose fewer with --of and --wrt"
        )


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _number(value: float) -> str:
    """A number at full precision, with room for a sign so that digits line up."""
    text = repr(float(value))
    return text if text.startswith("-") else " " + text


def jacobian_lines(jacobian: Jacobian, written: str | None = None) -> list[str]:
    """``gatekit jacobian``'s text: what was differentiated, how, and the table.

    ``written`` names the file the blocks were also written to; a Jacobian
    too large for a table (see :func:`check_table`) is then only announced.
    """
    plan = jacobian.plan
    other = "forward" if plan.mode == "reverse" else "reverse"
    each = {"reverse": "output element", "forward": "leaf element"}
    other_passes = plan.forward_passes if plan.mode == "reverse" else plan.reverse_passes
    unable = f"; {plan.no_jvp} has no gate_jvp" if other == "forward" and plan.no_jvp is not None else ""
    lines = [
        f"jacobian of {', '.join(jacobian.of)} with respect to {', '.join(jacobian.wrt)}",
        f"{plan.mode} mode: {_count(plan.passes, 'pass', 'passes')}, one per {each[plan.mode]} "
        f"({other} mode would take {other_passes:,}, one per {each[other]}{unable})",
    ]
    if written is not None:
        lines.append(f"written to {written} (keys 'd OUT / d LEAF')")
    rows, columns = plan.reverse_passes, plan.forward_passes
    if rows > TABLE_ROWS or columns > TABLE_COLUMNS:
        lines.append(f"({rows:,} rows by {columns:,} columns: too large for a table)")
        return lines
    header = [""]
    for leaf, shape in plan.wrt.items():
        header += [" " + name for name in element_names(leaf, shape)]
    cells = [header]
    matrix = jacobian.matrix()
    names = [name for out, shape in plan.of.items() for name in element_names(out, shape)]
    for name, numbers in zip(names, matrix.tolist(), strict=True):
        cells.append([name, *map(_number, numbers)])
    return lines + table(cells)


def jacobian_json(jacobian: Jacobian) -> dict[str, Any]:
    """``gatekit jacobian --json``: what was differentiated, how, and each block by its key."""
    plan = jacobian.plan
    return {
        "of": jacobian.of,
        "wrt": jacobian.wrt,
        "mode": plan.mode,
        "passes": {"reverse": plan.reverse_passes, "forward": plan.forward_passes},
        "shapes": {name: list(shape) for name, shape in {**plan.of, **plan.wrt}.items()},
        "jacobian": jacobian.named(),
    }
