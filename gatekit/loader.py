"""Graph file format, version 1: YAML text to a :class:`CircuitDef`.

This module checks the *form* of a circuit file: its keys, its names, its
values. Whether the gates exist and get the right inputs is
:mod:`gatekit.validate`'s concern; cycles are :mod:`gatekit.graph`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yaml.nodes import Node

from gatekit.errors import Location
from gatekit.gatespec import NAME_PATTERN
from gatekit.limits import exceeded, limit
from gatekit.plugins import Gate
from gatekit.yamlsource import Reader

__all__ = ["CircuitDef", "GateUse", "Leaf", "ModuleDef", "parse", "parse_library"]

FORMAT_VERSION = 1
TOP_LEVEL_KEYS = (
    "gatekit", "name", "doc", "requires", "imports", "modules", "inputs", "params", "gates", "outputs"
)  # fmt: skip
LIBRARY_KEYS = ("gatekit", "name", "doc", "requires", "imports", "modules")
MODULE_KEYS = ("doc", "inputs", "gates", "outputs")
GATE_KEYS = ("gate", "in", "attrs")
LEAF_KINDS = {"inputs": "input", "params": "param"}


@dataclass(slots=True)
class Leaf:
    """An input (data) or a param (trainable): a named value given in the file."""

    name: str
    kind: str  # "input" or "param"
    value: Any  # float or float64 array
    location: Location


@dataclass(slots=True)
class GateUse:
    """One application of a gate, as written: ``name: {gate: G, in: [...], attrs: {...}}``."""

    name: str
    gate: str
    inputs: list[str | float]  # node names and number constants, in order
    input_locations: list[Location]
    attrs: dict[str, Any]
    attr_locations: dict[str, Location]
    location: Location  # the gate's name
    gate_location: Location  # the gate: value
    in_location: Location  # the in: list
    #: the registered gate, set by :func:`gatekit.validate.validate`
    resolved: Gate | None = None
    #: for a gate that came from expanding modules: the module uses around it,
    #: outermost first, as ``(path, module name)`` (``("f", "neuron2")``,
    #: ``("f/out", "logistic")``); empty for a gate written in the circuit
    within: tuple[tuple[str, str], ...] = ()
    #: for an expanded gate, one item per input: the position, among the
    #: inputs of the outermost module use (``within[0]``), of the input it
    #: reads, or ``None`` where it reads the module's own gate or constant
    #: (``f: {gate: neuron2, in: [x0, x1, w0, w1, w2]}`` gives ``f/wx0``,
    #: reading ``[w0, x0]``, ``(2, 0)``); empty for a gate written in the circuit
    arguments: tuple[int | None, ...] = ()
    #: where each attribute's name is written (``attr_locations``: its value)
    attr_key_locations: dict[str, Location] = field(default_factory=dict)


@dataclass(slots=True)
class CircuitDef:
    """A circuit file, read and checked for form, nothing resolved yet."""

    file: str
    name: str | None = None
    doc: str | None = None
    #: distributions whose plugins the circuit's gates come from (a hint, not an import)
    requires: list[str] = field(default_factory=list)
    leaves: dict[str, Leaf] = field(default_factory=dict)
    gates: dict[str, GateUse] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    output_locations: list[Location] = field(default_factory=list)
    #: where each name was defined, for "defined twice" and reference errors
    defined_at: dict[str, Location] = field(default_factory=dict)
    #: sub-circuits usable as gates: this file's and its imports'
    modules: dict[str, ModuleDef] = field(default_factory=dict)
    #: the files named in ``imports:``, with where each is named
    imports: list[tuple[str, Location]] = field(default_factory=list)


@dataclass(slots=True)
class ModuleDef:
    """A sub-circuit used as a gate: formal inputs, gates, one output."""

    name: str
    location: Location  # its name under modules:
    inputs: list[str]
    gates: dict[str, GateUse]
    output: str
    output_location: Location
    defined_at: dict[str, Location]  # its inputs' and gates' names (local to it)


def parse(root: Node, reader: Reader) -> CircuitDef:
    """Read a composed circuit document; every error is a located :class:`GraphError`."""
    circuit = CircuitDef(file=reader.file)
    outputs_node = None
    for key, key_node, value in reader.mapping(root, "a circuit file"):
        if key == "gatekit":
            version = reader.number(value, "the format version (gatekit:)")
            if version != FORMAT_VERSION:
                raise reader.error(
                    value, f"unsupported format version {value.value}; this gatekit reads version 1"
                )
        elif key == "name":
            circuit.name = reader.text(value, "name")
        elif key == "doc":
            circuit.doc = reader.text(value, "doc")
        elif key == "requires":
            what = "an item of 'requires:' (a distribution name)"
            circuit.requires = [reader.text(item, what) for item in reader.sequence(value, "'requires:'")]
        elif key in LEAF_KINDS:
            _parse_leaves(circuit, reader, value, key)
        elif key == "gates":
            _parse_gates(circuit.gates, circuit.defined_at, reader, value)
        elif key == "outputs":
            outputs_node = value
            _parse_outputs(circuit, reader, value)
        elif key == "modules":
            _parse_modules(circuit.modules, reader, value)
        elif key == "imports":
            circuit.imports = _parse_imports(reader, value)
        else:
            raise reader.error(key_node, _unknown_key(key, "top-level key", TOP_LEVEL_KEYS))
    if outputs_node is None:
        raise reader.error(root, "the circuit has no 'outputs:' list; name the node(s) to compute")
    if len(circuit.leaves) + len(circuit.gates) > limit("GATEKIT_MAX_NODES"):
        raise reader.error(root, f"the circuit's {exceeded('GATEKIT_MAX_NODES', 'node count')}")
    return circuit


def _unknown_key(key: str, what: str, known: tuple[str, ...], where: str = "") -> str:
    return f"unknown {what} {key!r}{where} (expected one of: {', '.join(known)})"


def _define(scope: dict[str, Location], reader: Reader, name: str, key_node: Node, section: str) -> Location:
    if not NAME_PATTERN.fullmatch(name):
        raise reader.error(
            key_node,
            f"invalid name {name!r} in {section}: a name starts with a letter or _ "
            "and holds only letters, digits and _",
        )
    location = reader.location(key_node)
    first = scope.get(name)
    if first is not None:
        raise reader.error(
            key_node, f"{name!r} is defined twice (first at line {first.line}, column {first.column})"
        )
    scope[name] = location
    return location


def _parse_leaves(circuit: CircuitDef, reader: Reader, node: Node, section: str) -> None:
    kind = LEAF_KINDS[section]
    for name, key_node, value in reader.mapping(node, f"'{section}:'"):
        location = _define(circuit.defined_at, reader, name, key_node, section)
        circuit.leaves[name] = Leaf(name, kind, reader.value(value, f"{kind} {name!r}"), location)


def _parse_gates(
    gates: dict[str, GateUse], scope: dict[str, Location], reader: Reader, node: Node, section: str = "gates"
) -> None:
    for name, key_node, value in reader.mapping(node, f"'{section}:'"):
        location = _define(scope, reader, name, key_node, section)
        what = f"gate {name!r}"
        gate_node = in_node = attrs_node = None
        for key, sub_key, sub_value in reader.mapping(value, what):
            if key == "gate":
                gate_node = sub_value
            elif key == "in":
                in_node = sub_value
            elif key == "attrs":
                attrs_node = sub_value
            else:
                raise reader.error(sub_key, _unknown_key(key, "key", GATE_KEYS, f" in {what}"))
        if gate_node is None:
            raise reader.error(key_node, f"{what} has no 'gate:' (which gate to apply)")
        if in_node is None:
            raise reader.error(key_node, f"{what} has no 'in:' (the list of its inputs)")
        inputs: list[str | float] = []
        input_locations = []
        for item in reader.sequence(in_node, f"'in:' of {what}"):
            number = reader.maybe_number(item)
            inputs.append(number if number is not None else reader.text(item, f"an input of {what}"))
            input_locations.append(reader.location(item))
        attrs: dict[str, Any] = {}
        attr_locations = {}
        attr_key_locations = {}
        if attrs_node is not None:
            for key, attr_key, sub_value in reader.mapping(attrs_node, f"'attrs:' of {what}"):
                attrs[key] = _plain(reader, sub_value, f"attribute {key!r} of {what}")
                attr_locations[key] = reader.location(sub_value)
                attr_key_locations[key] = reader.location(attr_key)
        gates[name] = GateUse(
            name=name,
            gate=reader.text(gate_node, f"'gate:' of {what}"),
            inputs=inputs,
            input_locations=input_locations,
            attrs=attrs,
            attr_locations=attr_locations,
            location=location,
            gate_location=reader.location(gate_node),
            in_location=reader.location(in_node),
            attr_key_locations=attr_key_locations,
        )


def _plain(reader: Reader, node: Node, what: str) -> Any:
    """An attribute value as plain data, for the gate's :class:`~gatekit.Attr` to check.

    A number, a regular list of numbers (an array), a boolean, null or text.
    """
    number = reader.maybe_number(node)
    if number is not None:
        return number
    if node.id == "sequence":
        return reader.value(node, what)
    if node.id == "scalar" and node.tag.endswith(":bool"):
        return node.value.lower() in ("true", "yes", "on", "y")
    if node.id == "scalar" and node.tag.endswith(":null"):
        return None
    return reader.text(node, what)


def _parse_outputs(circuit: CircuitDef, reader: Reader, node: Node) -> None:
    items = reader.sequence(node, "'outputs:'")
    if not items:
        raise reader.error(node, "'outputs:' is empty; name at least one node")
    for item in items:
        circuit.outputs.append(reader.text(item, "an output"))
        circuit.output_locations.append(reader.location(item))


def _parse_modules(modules: dict[str, ModuleDef], reader: Reader, node: Node) -> None:
    for name, key_node, value in reader.mapping(node, "'modules:'"):
        location = _define({m: d.location for m, d in modules.items()}, reader, name, key_node, "modules")
        what = f"module {name!r}"
        scope: dict[str, Location] = {}
        inputs: list[str] = []
        gates: dict[str, GateUse] = {}
        output = None
        for key, sub_key, sub_value in reader.mapping(value, what):
            if key == "inputs":
                for item in reader.sequence(sub_value, f"'inputs:' of {what}"):
                    formal = reader.text(item, f"an input of {what}")
                    _define(scope, reader, formal, item, f"the inputs of {what}")
                    inputs.append(formal)
            elif key == "gates":
                _parse_gates(gates, scope, reader, sub_value, f"gates of {what}")
            elif key == "outputs":
                items = reader.sequence(sub_value, f"'outputs:' of {what}")
                if len(items) != 1:
                    raise reader.error(sub_value, f"{what} must have exactly one output, got {len(items)}")
                output = (reader.text(items[0], f"the output of {what}"), reader.location(items[0]))
            elif key != "doc":
                raise reader.error(sub_key, _unknown_key(key, "key", MODULE_KEYS, f" in {what}"))
        if not inputs:
            raise reader.error(key_node, f"{what} has no 'inputs:' (its formal inputs, in order)")
        if output is None:
            raise reader.error(key_node, f"{what} has no 'outputs:' (exactly one node)")
        modules[name] = ModuleDef(name, location, inputs, gates, output[0], output[1], scope)


def _parse_imports(reader: Reader, node: Node) -> list[tuple[str, Location]]:
    return [
        (reader.text(item, "an item of 'imports:' (a file path)"), reader.location(item))
        for item in reader.sequence(node, "'imports:'")
    ]


def parse_library(root: Node, reader: Reader) -> CircuitDef:
    """Read a module library: a file of ``modules:`` (and ``imports:``), nothing to run."""
    library = CircuitDef(file=reader.file)
    for key, key_node, value in reader.mapping(root, "a module library"):
        if key == "modules":
            _parse_modules(library.modules, reader, value)
        elif key == "imports":
            library.imports = _parse_imports(reader, value)
        elif key in ("gatekit", "name", "doc", "requires"):
            continue
        elif key in TOP_LEVEL_KEYS:
            raise reader.error(
                key_node, f"an imported file must be a module library, but it has {key!r}; "
                "only modules: and imports: are read from an import"
            )  # fmt: skip
        else:
            raise reader.error(key_node, _unknown_key(key, "top-level key", LIBRARY_KEYS))
    return library
