"""The tables the command line prints: a run's numbers, the installed gates, gradient checks.

>>> import gatekit
>>> circuit = gatekit.loads("inputs: {x: 3.0}\\nparams: {w: -2.0}\\ngates: {y: {gate: mul, in: [w, x]}}\\n"
...                         "outputs: [y]")
>>> print("\\n".join(run_lines(circuit, circuit.run())))
outputs
  y  -6.0
gradients of y
  x  input  -2.0
  w  param   3.0
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gatekit.engine.circuit import Circuit, Result
from gatekit.plugin.registry import GateRegistry
from gatekit.testing import GradientCheck
from gatekit.views.text import full, table

__all__ = ["check_lines", "check_summary", "gate_entries", "gate_lines", "run_lines"]


def _aligned(value: Any) -> str:
    """A value at full precision; a number with room for a sign, so that digits line up."""
    text = full(value)
    return text if text.startswith("-") or isinstance(value, np.ndarray) else " " + text


def run_lines(circuit: Circuit, result: Result, tangents: Mapping[str, Any] | None = None) -> list[str]:
    """``gatekit run``'s table: every output, every leaf's gradient, and (forward mode) each output's tangent.

    ``tangents`` are the directions the run was given, to say along what the outputs moved.
    """
    kinds = dict.fromkeys(circuit.inputs, "input") | dict.fromkeys(circuit.params, "param")
    lines = ["outputs", *table([(name, _aligned(value)) for name, value in result.outputs.items()])]
    if result.grads:
        lines.append(f"gradients of {result.of}")
        lines += table([(name, kinds[name], _aligned(grad)) for name, grad in result.grads.items()])
    if tangents:
        along = ", ".join(f"{name}={_direction(value)}" for name, value in tangents.items())
        lines.append(f"tangents (forward mode, along {along})")
        lines += table([(name, _aligned(value)) for name, value in result.tangents.items()])
    return lines


def _direction(value: Any) -> str:
    """A tangent as given, short: ``1.0``, ``[0.5, 1.0]``, ``array of shape (200,)``."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return repr(float(array))
    return json.dumps(array.tolist()) if array.size <= 4 else f"array of shape {array.shape}"


def gate_entries(registry: GateRegistry) -> list[dict[str, Any]]:
    """``gatekit gates --json``: one object per installed gate."""
    return [
        {
            "name": gate.name,
            "arity": gate.spec.arity,
            "variadic": gate.spec.variadic,
            "attrs": {key: attr.default for key, attr in gate.spec.attrs.items()},
            "doc": gate.spec.doc,
            "plugin": gate.plugin,
            "distribution": gate.distribution,
        }
        for gate in registry.values()
    ]


def gate_lines(registry: GateRegistry) -> list[str]:
    """``gatekit gates``: a row per installed gate, attrs with their defaults as YAML writes them."""
    rows = [("name", "arity", "attrs", "plugin", "distribution", "doc")]
    for gate in registry.values():
        defaults = gate.spec.attrs.items()
        attrs = ", ".join(f"{k}={json.dumps(v.default, default=repr)}" for k, v in defaults) or "-"
        rows.append((gate.name, gate.spec.arity_text, attrs, gate.plugin, gate.distribution, gate.spec.doc))
    return table(rows, indent="")


def check_lines(rows: Sequence[GradientCheck]) -> list[str]:
    """``gatekit check``'s table: one row per comparison, then the counts."""
    cells = [("gate", "where", "input", "analytic", "numeric", "status")]
    for row in rows:
        element = f"[{','.join(map(str, row.element))}]" if row.element else ""
        status = "FAILED" if not row.ok else row.note or "ok"
        cells.append(
            (
                row.gate,
                row.where,
                f"{row.position}{element}",
                f"{row.analytic:.10g}",
                f"{row.numeric:.10g}",
                status,
            )
        )
    lines = [*table(cells, indent=""), check_summary(rows)]
    sampled = [row.sample for row in rows if row.sample is not None]
    if sampled:
        most = max(checked for checked, _ in sampled)
        largest = max(size for _, size in sampled)
        lines.append(
            f"(arrays of more than {most} elements were checked at {most} elements spread over each; "
            f"the largest has {largest:,})"
        )
    return lines


def check_summary(rows: Sequence[GradientCheck]) -> str:
    """``10 checks: 9 ok, 1 skipped, 0 failed``."""
    failed = sum(not row.ok for row in rows)
    skipped = sum(row.skipped for row in rows)
    return f"{len(rows)} checks: {len(rows) - failed - skipped} ok, {skipped} skipped, {failed} failed"
