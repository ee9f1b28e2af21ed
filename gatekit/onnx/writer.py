"""An imported model written as a circuit file (format version 1), gate by gate with its node.

Values are written in flow style at full precision, as a trained circuit's
are (:func:`gatekit.format.emit.yaml_value`'s rules: ``repr``,
``.inf``, ``.nan``); each gate carries a comment naming the ONNX node it
comes from.

>>> from gatekit.onnx.importer import GateLine, Imported
>>> imported = Imported("tiny", "An example.", {"x": 0.0}, {"w": 2.0},
...                     [GateLine("y", "mul", ("w", "x", 0.5), {}, "node 0 (Mul)")], ["y"])
>>> print(circuit_text(imported), end="")
gatekit: 1
name: tiny
doc: "An example."
inputs:
  x: 0.0
params:
  w: 2.0
gates:
  y: {gate: mul, in: [w, x, 0.5]}  # node 0 (Mul)
outputs: [y]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from gatekit.format.emit import yaml_number, yaml_value
from gatekit.onnx.importer import Imported

__all__ = ["circuit_text"]


def _name(name: str) -> str:
    """A name as YAML reads it back as that text: plain, or quoted where YAML would read a word."""
    return name if yaml.safe_load(name) == name else json.dumps(name)


def _attr(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return yaml_number(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_attr(item) for item in value) + "]"
    return json.dumps(str(value))


def _attrs(attrs: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{key}: {_attr(value)}" for key, value in attrs.items()) + "}"


def _ref(ref: str | float) -> str:
    return yaml_number(ref) if isinstance(ref, float) else _name(ref)


def circuit_text(imported: Imported) -> str:
    """The circuit file of ``imported``: header, inputs, params, gates (with their nodes), outputs."""
    lines = ["gatekit: 1"]
    if imported.name:
        lines.append(f"name: {_name(imported.name)}")
    lines.append(f"doc: {json.dumps(imported.doc)}")
    for section, leaves in (("inputs", imported.inputs), ("params", imported.params)):
        if leaves:
            lines.append(f"{section}:")
            lines += [f"  {_name(name)}: {yaml_value(value)}" for name, value in leaves.items()]
    lines.append("gates:" if imported.gates else "gates: {}")
    for gate in imported.gates:
        attrs = f", attrs: {_attrs(gate.attrs)}" if gate.attrs else ""
        inputs = ", ".join(_ref(ref) for ref in gate.inputs)
        node = " ".join(gate.node.split())  # a comment is one line
        lines.append(f"  {_name(gate.name)}: {{gate: {gate.gate}, in: [{inputs}]{attrs}}}  # {node}")
    lines.append(f"outputs: [{', '.join(_name(name) for name in imported.outputs)}]")
    return "\n".join(lines) + "\n"
