"""The graph file format as a JSON Schema, for editors: ``gatekit schema``.

The schema describes every key of format version 1, and every installed gate
with its number of inputs and its attributes, so an editor that reads it
(VS Code's YAML extension, any editor with ``yaml-language-server``)
completes gate names and attribute names and flags what the loader would
refuse in form. The loader checks more than a schema can say (references,
cycles, module bodies); the schema is for typing, the loader is the judge.

:func:`circuit_schema` builds it from a registry; the package ships the one
for the built-in gates as ``gatekit/views/circuit.schema.json`` (a test keeps
it current).

>>> import gatekit
>>> schema = circuit_schema(gatekit.default_registry(autoload=False))
>>> rules = schema["$defs"]["gate"]["allOf"]  # one per gate: its input count, its attributes
>>> schema["properties"]["gatekit"]["const"], len(rules) == len(gatekit.default_registry(autoload=False))
(1, True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.format.initializers import INITIALIZERS
from gatekit.names import MAX_LENGTH, NAME_PATTERN
from gatekit.plugin.registry import Gate, GateRegistry

__all__ = ["SHIPPED", "circuit_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: The schema of the built-in gates, as shipped in the package.
SHIPPED = Path(__file__).with_name("circuit.schema.json")

_NAME = {
    "type": "string",
    "pattern": f"^{NAME_PATTERN.pattern}$",
    "maxLength": MAX_LENGTH,
    "description": "a name: a letter or _, then letters, digits and _",
}
_VALUE = {
    "description": "a number, or a regular nested list of numbers (an array)",
    "anyOf": [
        {"type": "number"},
        {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/value"}},
    ],
}


def _attr_schema(default: object, doc: str) -> dict[str, Any]:
    described: dict[str, Any] = {
        "description": f"{doc} (default {default!r})" if doc else f"default {default!r}"
    }
    if isinstance(default, float) and not isinstance(default, bool):
        described["type"] = "number"
    return described


def _gate_rule(gate: Gate) -> dict[str, Any]:
    """If a use names this gate: its input count, and only its attributes."""
    spec = gate.spec
    inputs: dict[str, Any] = {"minItems": spec.arity}
    if not spec.variadic:
        inputs["maxItems"] = spec.arity
    attrs: dict[str, Any] = {
        "type": "object",
        "properties": {key: _attr_schema(attr.default, attr.doc) for key, attr in spec.attrs.items()},
        "additionalProperties": False,
    }
    return {
        "if": {"properties": {"gate": {"const": spec.name}}, "required": ["gate"]},
        "then": {"properties": {"in": inputs, "attrs": attrs}},
    }


def circuit_schema(registry: GateRegistry) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a circuit file or a module library, with ``registry``'s gates."""
    gate_names = [
        {"const": gate.name, "description": f"{gate.spec.doc} ({gate.spec.arity_text} inputs; {gate.plugin})"}
        for gate in registry.values()
    ]
    gate_use = {
        "type": "object",
        "description": "one application of a gate (or of a module) to inputs",
        "properties": {
            "gate": {
                "description": "the gate to apply: an installed gate, or a module",
                "anyOf": [
                    *gate_names,
                    {"$ref": "#/$defs/name", "description": "a module of this file or its imports"},
                ],
            },
            "in": {
                "type": "array",
                "description": "the inputs, in order: node names or number constants",
                "items": {"anyOf": [{"$ref": "#/$defs/name"}, {"type": "number"}]},
            },
            "attrs": {"type": "object", "description": "the gate's settings"},
        },
        "required": ["gate", "in"],
        "additionalProperties": False,
        "allOf": [_gate_rule(gate) for gate in registry.values()],
    }
    named_values = {
        "type": "object",
        "propertyNames": {"$ref": "#/$defs/name"},
        "additionalProperties": {"$ref": "#/$defs/value"},
    }
    init = {
        "type": "object",
        "description": "a param's starting values drawn by an initializer (seeded by the file's seed)",
        "properties": {
            "init": {"enum": list(INITIALIZERS)},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            **{
                setting: {"type": "number", "description": f"default {default!r}"}
                for settings in INITIALIZERS.values()
                for setting, default in settings.items()
            },
        },
        "required": ["init"],
        "additionalProperties": False,
    }
    named_params = {
        **named_values,
        "additionalProperties": {"anyOf": [{"$ref": "#/$defs/value"}, {"$ref": "#/$defs/init"}]},
    }
    gates = {
        "type": "object",
        "propertyNames": {"$ref": "#/$defs/name"},
        "additionalProperties": {"$ref": "#/$defs/gate"},
    }
    module = {
        "type": "object",
        "description": "a sub-circuit used like a gate",
        "properties": {
            "doc": {"type": "string"},
            "inputs": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/name"}},
            "gates": {"$ref": "#/$defs/gates"},
            "outputs": {"type": "array", "minItems": 1, "maxItems": 1, "items": {"$ref": "#/$defs/name"}},
        },
        "required": ["inputs", "outputs"],
        "additionalProperties": False,
    }
    return {
        "$schema": DIALECT,
        "$id": "https://gatekit.invalid/schema/circuit-v1.json",
        "title": "gatekit circuit file, format version 1",
        "description": "a circuit (inputs, params, gates, outputs) or a module library (modules, imports)",
        "type": "object",
        "properties": {
            "gatekit": {"const": 1, "description": "the format version; optional, defaults to 1"},
            "name": {"type": "string", "description": "the circuit's name (one line)"},
            "doc": {"type": "string", "description": "free text"},
            "requires": {
                "type": "array",
                "description": "distributions whose plugins provide the circuit's gates (imports nothing)",
                "items": {"type": "string", "pattern": "^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$"},
            },
            "imports": {
                "type": "array",
                "description": "module libraries to read modules from, relative to this file",
                "items": {"type": "string"},
            },
            "modules": {
                "type": "object",
                "propertyNames": {"$ref": "#/$defs/name"},
                "additionalProperties": {"$ref": "#/$defs/module"},
            },
            "inputs": {**named_values, "description": "leaves: data, by name"},
            "params": {
                **named_params,
                "description": "leaves: trainable parameters, by name (or initializer)",
            },
            "seed": {"type": "integer", "minimum": 0, "description": "the seed of the params' initializers"},
            "train": {
                "type": "object",
                "description": "the solver of gatekit train: optimizer, lr, schedule, steps, batch_size, ...",
            },
            "gates": {"$ref": "#/$defs/gates"},
            "outputs": {
                "type": "array",
                "minItems": 1,
                "description": "the nodes to compute; gradients are those of the first",
                "items": {"$ref": "#/$defs/name"},
            },
        },
        "additionalProperties": False,
        "anyOf": [
            {"required": ["outputs"], "description": "a circuit"},
            {
                "anyOf": [{"required": ["modules"]}, {"required": ["imports"]}],
                "not": {
                    "anyOf": [{"required": key} for key in (["inputs"], ["params"], ["gates"], ["outputs"])]
                },
                "description": "a module library",
            },
        ],
        "$defs": {
            "name": _NAME,
            "value": _VALUE,
            "init": init,
            "gate": gate_use,
            "gates": gates,
            "module": module,
        },
    }
