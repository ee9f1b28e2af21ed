"""Graph file format, version 1: composed YAML to a :class:`CircuitDef`.

This module checks the *form* of a circuit file: its keys, its names, its
values. Whether the gates exist and get the right inputs is
:mod:`gatekit.engine.validate`'s concern; cycles are
:mod:`gatekit.engine.graph`'s. What it returns is immutable: later stages
make new records (:func:`gatekit.format.modules.expand`,
:func:`gatekit.engine.validate.validate`) rather than rewriting these.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from operator import attrgetter
from types import MappingProxyType
from typing import Any, TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekit.errors import GraphError, Location, quoted
from gatekit.format.initializers import INITIALIZERS, Init
from gatekit.format.yamlsource import Reader
from gatekit.limits import MAX_DIMENSIONS, exceeded, limit
from gatekit.names import name_problem

__all__ = [
    "NO_ATTRS",
    "CircuitDef",
    "GatePlaces",
    "GateUse",
    "Leaf",
    "ModuleDef",
    "Preread",
    "Solver",
    "is_library",
    "parse",
    "parse_library",
    "plain_value",
    "read_leaf",
    "too_many_nodes",
]

FORMAT_VERSION = 1
TOP_LEVEL_KEYS = (
    "gatekit", "name", "doc", "requires", "seed", "imports", "modules",
    "inputs", "params", "gates", "outputs", "train",
)  # fmt: skip
HEADER_KEYS = ("gatekit", "name", "doc", "requires")
LIBRARY_KEYS = (*HEADER_KEYS, "imports", "modules")
MODULE_KEYS = ("doc", "inputs", "gates", "outputs")
GATE_KEYS = ("gate", "in", "attrs")
LEAF_KINDS = {"inputs": "input", "params": "param"}


@dataclass(frozen=True, slots=True)
class Leaf:
    """An input (data) or a param (trainable): a named value given in the file."""

    name: str
    kind: str  # "input" or "param"
    value: Any  # float or float64 array
    location: Location
    #: for a param declared by initializer, how its value was drawn
    init: Init | None = None
    #: where the value is written, as (start, end) offsets into the file's text, so that a trained
    #: file can replace the value and nothing else
    span: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Solver:
    """A ``train:`` section (or a ``--solver`` file), read for its form only, with the reader that locates it.

    Which keys and values it may hold depends on the optimizers and
    schedules installed: :mod:`gatekit.training.solver` reads it.
    """

    node: MappingNode
    reader: Reader


#: The attributes of a gate use that writes none (shared: a read-only mapping).
NO_ATTRS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class GatePlaces:
    """Where the parts of a gate use are written, for the messages that point at one of them."""

    gate: Location  # the gate: value
    in_list: Location  # the in: list
    inputs: tuple[Location, ...]  # each input, in order
    attrs: Mapping[str, Location]  # each attribute's value
    attr_keys: Mapping[str, Location]  # each attribute's name


@dataclass(frozen=True, slots=True)
class GateUse:
    """One application of a gate, as written: ``name: {gate: G, in: [...], attrs: {...}}``."""

    name: str
    gate: str
    inputs: tuple[str | float, ...]  # node names and number constants, in order
    attrs: Mapping[str, Any]  # as written: plain data, not yet checked by the gate's Attr
    location: Location  # the gate's name
    #: where its parts are written; ``None`` for a gate taken from a large file by a fast reader
    #: (:mod:`gatekit.format.document`), which keeps only the gate's own place: an error about a
    #: part of such a gate is made again from the file by the reference reader, which locates it
    places: GatePlaces | None = None
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

    @property
    def gate_location(self) -> Location:
        """Where the ``gate:`` value is written (the gate's own place if unknown)."""
        return self.location if self.places is None else self.places.gate

    @property
    def in_location(self) -> Location:
        """Where the ``in:`` list is written (the gate's own place if unknown)."""
        return self.location if self.places is None else self.places.in_list

    @property
    def input_locations(self) -> tuple[Location, ...]:
        """Where each input is written (the gate's own place if unknown)."""
        return (self.location,) * len(self.inputs) if self.places is None else self.places.inputs

    @property
    def attr_locations(self) -> Mapping[str, Location]:
        """Where each attribute's value is written (the gate's own place if unknown)."""
        return dict.fromkeys(self.attrs, self.location) if self.places is None else self.places.attrs

    @property
    def attr_key_locations(self) -> Mapping[str, Location]:
        """Where each attribute's name is written (the gate's own place if unknown)."""
        return dict.fromkeys(self.attrs, self.location) if self.places is None else self.places.attr_keys


@dataclass(frozen=True, slots=True)
class ModuleDef:
    """A sub-circuit used as a gate: formal inputs, gates, one output."""

    name: str
    location: Location  # its name under modules:
    inputs: tuple[str, ...]
    gates: Mapping[str, GateUse]
    output: str
    output_location: Location
    defined_at: Mapping[str, Location]  # its inputs' and gates' names (local to it)


@dataclass(frozen=True, slots=True)
class CircuitDef:
    """A circuit file, read and checked for form, nothing resolved yet."""

    file: str
    name: str | None = None
    doc: str | None = None
    #: distributions whose plugins the circuit's gates come from (a hint, not an import)
    requires: tuple[str, ...] = ()
    leaves: Mapping[str, Leaf] = field(default_factory=dict)
    gates: Mapping[str, GateUse] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    output_locations: tuple[Location, ...] = ()
    #: where each name was defined, for "defined twice" and reference errors
    defined_at: Mapping[str, Location] = field(default_factory=dict)
    #: sub-circuits usable as gates: this file's (and, after loading imports, theirs)
    modules: Mapping[str, ModuleDef] = field(default_factory=dict)
    #: the files named in ``imports:``, with where each is named
    imports: tuple[tuple[str, Location], ...] = ()
    #: where each path of ``imports:`` is written, as (start, end) offsets (a trained file written to
    #: another folder rewrites them)
    import_spans: tuple[tuple[int, int], ...] = ()
    #: the seed of the params' initializers (``seed:``)
    seed: int = 0
    #: the ``train:`` section, if the file has one
    train: Solver | None = None


@dataclass(slots=True)
class _Header:
    """The keys a circuit and a module library share, as read."""

    name: str | None = None
    doc: str | None = None
    requires: tuple[str, ...] = ()
    modules: dict[str, ModuleDef] = field(default_factory=dict)
    imports: tuple[tuple[str, Location], ...] = ()
    import_spans: tuple[tuple[int, int], ...] = ()

    def read(self, reader: Reader, key: str, value: Node) -> None:
        """Read one of :data:`LIBRARY_KEYS`."""
        if key == "gatekit":
            version = reader.number(value, "the format version (gatekit:)")
            if version != FORMAT_VERSION:
                raise reader.error(
                    value, f"unsupported format version {value.value}; this gatekit reads version 1"
                )
        elif key == "name":
            self.name = reader.text(value, "name")
            if not self.name.isprintable():
                raise reader.error(value, "name must be one line of printable text")
        elif key == "doc":
            self.doc = reader.text(value, "doc")
            if not self.doc.replace("\n", "").replace("\t", "").isprintable():
                raise reader.error(value, "doc may not hold control characters (new lines and tabs are fine)")
        elif key == "requires":
            what = "an item of 'requires:' (a distribution name)"
            self.requires = tuple(
                _distribution(reader, item, what) for item in reader.sequence(value, "'requires:'")
            )
        elif key == "modules":
            _parse_modules(self.modules, reader, value)
        else:  # imports
            items = reader.sequence(value, "'imports:'")
            self.imports = tuple(
                (reader.text(item, "an item of 'imports:' (a file path)"), reader.location(item))
                for item in items
            )
            self.import_spans = tuple(_span(item) for item in items)


#: A distribution's name, as PEP 508 (and pip) has it.
_DISTRIBUTION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def _distribution(reader: Reader, node: Node, what: str) -> str:
    """An item of ``requires:``: a distribution name, nothing else (it goes into a pip command)."""
    text = reader.text(node, what)
    if not _DISTRIBUTION.fullmatch(text):
        raise reader.error(
            node,
            f"{quoted(text)} is not a distribution name: letters, digits, and '.', '_' or '-' "
            "between them (for example gatekit-activations)",
        )
    return text


def _name(reader: Reader, node: Node, what: str) -> str:
    """A node's or a gate's name given as a value (an input, an output, a gate type)."""
    text = reader.text(node, what)
    problem = name_problem(text)
    if problem is not None:
        raise reader.error(node, f"{what} must be a name, got {quoted(text)}: {problem}")
    return text


@dataclass(slots=True)
class Preread:
    """Sections a fast reader took from the file itself, each by the node that stands in for it.

    A large file's ``inputs:``, ``params:`` and ``gates:`` are read straight
    from the parser's events (or from JSON) into :class:`Leaf` and
    :class:`GateUse` records, names checked, in file order; the document
    holds an empty mapping in their place, and :func:`parse` takes them from
    here as it meets those nodes, so that the order of the sections, the
    names defined twice and everything else is read as it always is.
    """

    leaves: dict[Node, dict[str, Leaf]] = field(default_factory=dict)
    gates: dict[Node, dict[str, GateUse]] = field(default_factory=dict)


def parse(root: Node, reader: Reader, preread: Preread | None = None) -> CircuitDef:
    """Read a composed circuit document; every error is a located :class:`~gatekit.GraphError`.

    :param preread: the sections a fast reader took, by the nodes standing in for them.
    """
    taken = preread if preread is not None else Preread()
    header = _Header()
    leaves: dict[str, Leaf] = {}
    gates: dict[str, GateUse] = {}
    defined_at: dict[str, Location] = {}
    outputs: list[tuple[str, Location]] | None = None
    seed = 0
    train = None
    for key, key_node, value in reader.mapping(root, "a circuit file"):
        if key in LIBRARY_KEYS:
            header.read(reader, key, value)
        elif key == "seed":
            seed = _seed(reader, value)
        elif key == "train":
            if not isinstance(value, MappingNode):
                raise reader.error(value, "'train:' must be a mapping of the solver's settings")
            train = Solver(value, reader)
        elif key in LEAF_KINDS:
            if value in taken.leaves:
                _take(leaves, defined_at, taken.leaves[value])
            else:
                _parse_leaves(leaves, defined_at, reader, value, key)
        elif key == "gates":
            if value in taken.gates:
                _take(gates, defined_at, taken.gates[value])
            else:
                _parse_gates(gates, defined_at, reader, value)
        elif key == "outputs":
            outputs = _parse_outputs(reader, value)
        else:
            raise reader.error(key_node, _unknown_key(key, "top-level key", TOP_LEVEL_KEYS))
    if outputs is None:
        raise reader.error(root, "the circuit has no 'outputs:' list; name the node(s) to compute")
    if len(leaves) + len(gates) > limit("GATEKIT_MAX_NODES"):
        raise too_many_nodes(reader.location(root))
    for name, leaf in leaves.items():
        if leaf.init is not None:  # drawn once the seed is known, wherever it is written
            leaves[name] = replace(leaf, value=leaf.init.values(seed, name))
    return CircuitDef(
        file=reader.file,
        name=header.name,
        doc=header.doc,
        requires=header.requires,
        leaves=leaves,
        gates=gates,
        outputs=tuple(name for name, _ in outputs),
        output_locations=tuple(location for _, location in outputs),
        defined_at=defined_at,
        modules=header.modules,
        imports=header.imports,
        import_spans=header.import_spans,
        seed=seed,
        train=train,
    )


def too_many_nodes(root: Location) -> GraphError:
    """The error for a circuit past ``GATEKIT_MAX_NODES``, located at its root mapping."""
    return GraphError(f"the circuit's {exceeded('GATEKIT_MAX_NODES', 'node count')}", root)


def is_library(root: Node) -> bool:
    """Whether a composed document is a module library: ``modules:`` or ``imports:``, and nothing to run."""
    if not isinstance(root, MappingNode):
        return False
    keys = {key.value for key, _ in root.value if isinstance(key, ScalarNode)}
    return keys <= set(LIBRARY_KEYS) and bool(keys & {"modules", "imports"})


def parse_library(root: Node, reader: Reader) -> CircuitDef:
    """Read a module library: a file of ``modules:`` (and ``imports:``), nothing to run.

    Its header keys (``gatekit``, ``name``, ``doc``, ``requires``) are
    checked as a circuit's are.
    """
    header = _Header()
    for key, key_node, value in reader.mapping(root, "a module library"):
        if key in LIBRARY_KEYS:
            header.read(reader, key, value)
        elif key in TOP_LEVEL_KEYS:
            raise reader.error(
                key_node, f"an imported file must be a module library, but it has {key!r}; "
                "only modules: and imports: are read from an import"
            )  # fmt: skip
        else:
            raise reader.error(key_node, _unknown_key(key, "top-level key", LIBRARY_KEYS))
    return CircuitDef(
        file=reader.file,
        name=header.name,
        doc=header.doc,
        requires=header.requires,
        modules=header.modules,
        imports=header.imports,
    )


def _unknown_key(key: str, what: str, known: tuple[str, ...], where: str = "") -> str:
    return f"unknown {what} {quoted(key)}{where} (expected one of: {', '.join(known)})"


def _define(scope: dict[str, Location], reader: Reader, name: str, key_node: Node, section: str) -> Location:
    problem = name_problem(name)
    if problem is not None:
        raise reader.error(key_node, f"invalid name {quoted(name)} in {section}: {problem}")
    location = reader.location(key_node)
    first = scope.get(name)
    if first is not None:
        raise reader.error(key_node, _defined_twice(name, first))
    scope[name] = location
    return location


def _defined_twice(name: str, first: Location) -> str:
    return f"{name!r} is defined twice (first at line {first.line}, column {first.column})"


_Entry = TypeVar("_Entry", Leaf, GateUse)


def _take(target: dict[str, _Entry], scope: dict[str, Location], entries: Mapping[str, _Entry]) -> None:
    """Add a section a fast reader took (its names checked), refusing a name defined before it."""
    if scope.keys().isdisjoint(entries):  # as a rule: added whole, in C
        scope.update(zip(entries, map(attrgetter("location"), entries.values()), strict=True))
        target.update(entries)
        return
    for name, entry in entries.items():
        first = scope.get(name)
        if first is not None:
            raise GraphError(_defined_twice(name, first), entry.location)
        scope[name] = entry.location
        target[name] = entry


def _span(node: Node) -> tuple[int, int]:
    """Where ``node``'s text starts and ends in the document, as offsets.

    A block collection's end mark is where the next token starts (past the
    new line, and any comment, after its last item), so its end is taken
    from its last item instead, all the way down.
    """
    last = node
    while isinstance(last, SequenceNode | MappingNode) and not last.flow_style and last.value:
        item = last.value[-1]
        last = item[1] if isinstance(last, MappingNode) else item
    return node.start_mark.index, last.end_mark.index


def _seed(reader: Reader, node: Node) -> int:
    number = reader.number(node, "the seed (seed:)")
    if not number.is_integer() or not 0 <= number < 2**63:
        raise reader.error(node, f"the seed must be a whole number from 0 to 2**63 - 1, got {node.value}")
    return int(number)


def _parse_leaves(
    leaves: dict[str, Leaf], defined_at: dict[str, Location], reader: Reader, node: Node, section: str
) -> None:
    kind = LEAF_KINDS[section]
    for name, key_node, value in reader.mapping(node, f"'{section}:'"):
        location = _define(defined_at, reader, name, key_node, section)
        leaves[name] = read_leaf(reader, name, kind, value, location)


def read_leaf(reader: Reader, name: str, kind: str, value: Node, location: Location) -> Leaf:
    """The leaf ``name: VALUE`` of kind ``input`` or ``param``, its value read from its node."""
    span = _span(value)
    if isinstance(value, MappingNode):
        if kind != "param":
            raise reader.error(
                value,
                f"input {name!r} must be a number or a list (an initializer is for a param)",
            )
        return Leaf(name, kind, None, location, init=_init(reader, value, name), span=span)
    return Leaf(name, kind, reader.value(value, f"{kind} {name!r}"), location, span=span)


def _init(reader: Reader, node: MappingNode, name: str) -> Init:
    """``{init: KIND, shape: [...], SETTING: NUMBER ...}``, checked for form."""
    what = f"the initializer of param {name!r}"
    entries = {key: (key_node, value) for key, key_node, value in reader.mapping(node, what)}
    if "init" not in entries:
        raise reader.error(node, f"{what} has no 'init:' (one of {', '.join(INITIALIZERS)})")
    kind_node = entries.pop("init")[1]
    kind = reader.text(kind_node, f"'init:' of param {name!r}")
    if kind not in INITIALIZERS:
        raise reader.error(
            kind_node, _unknown_key(kind, "initializer", tuple(INITIALIZERS), f" for param {name!r}")
        )
    shape: tuple[int, ...] = ()
    if "shape" in entries:
        shape_node = entries.pop("shape")[1]
        sizes = [
            reader.number(item, f"each size in the shape of param {name!r}")
            for item in reader.sequence(shape_node, f"'shape:' of param {name!r}")
        ]
        if not all(size.is_integer() and size >= 1 for size in sizes) or len(sizes) > MAX_DIMENSIONS:
            raise reader.error(
                shape_node,
                f"the shape of param {name!r} must list whole numbers of at least 1 "
                f"(at most {MAX_DIMENSIONS} of them)",
            )
        shape = tuple(int(size) for size in sizes)
        if math.prod(shape) > limit("GATEKIT_MAX_ARRAY_ELEMENTS"):
            raise reader.error(
                shape_node, f"param {name!r}: its {exceeded('GATEKIT_MAX_ARRAY_ELEMENTS', 'element count')}"
            )
    known = INITIALIZERS[kind]
    settings = {}
    for key, (key_node, value) in entries.items():
        if key not in known:
            accepted = ("init", "shape", *known)
            raise reader.error(key_node, _unknown_key(key, "setting", accepted, f" of initializer {kind!r}"))
        settings[key] = reader.number(value, f"{key!r} of the initializer of param {name!r}")
        if not math.isfinite(settings[key]):
            raise reader.error(value, f"{key!r} of the initializer of param {name!r} must be finite")
    return Init(kind, shape, settings)


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
            inputs.append(number if number is not None else _name(reader, item, f"an input of {what}"))
            input_locations.append(reader.location(item))
        attrs: dict[str, Any] = {}
        attr_locations = {}
        attr_key_locations = {}
        if attrs_node is not None:
            for key, attr_key, sub_value in reader.mapping(attrs_node, f"'attrs:' of {what}"):
                problem = name_problem(key)
                if problem is not None:
                    raise reader.error(attr_key, f"invalid attribute name {quoted(key)} in {what}: {problem}")
                attrs[key] = plain_value(reader, sub_value, f"attribute {key!r} of {what}")
                attr_locations[key] = reader.location(sub_value)
                attr_key_locations[key] = reader.location(attr_key)
        places = GatePlaces(
            reader.location(gate_node),
            reader.location(in_node),
            tuple(input_locations),
            attr_locations,
            attr_key_locations,
        )
        gates[name] = GateUse(
            name=name,
            gate=_name(reader, gate_node, f"'gate:' of {what}"),
            inputs=tuple(inputs),
            attrs=attrs or NO_ATTRS,
            location=location,
            places=places,
        )


def plain_value(reader: Reader, node: Node, what: str) -> Any:
    """An attribute value as plain data, for the gate's :class:`~gatekit.Attr` to check.

    A number, a regular list of numbers (an array), a boolean, null or text.
    """
    number = reader.maybe_number(node)
    if number is not None:
        return number
    if isinstance(node, SequenceNode):
        return reader.value(node, what)
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
        return node.value.lower() in ("true", "yes", "on", "y")
    if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
        return None
    return reader.text(node, what)


def _parse_outputs(reader: Reader, node: Node) -> list[tuple[str, Location]]:
    items = reader.sequence(node, "'outputs:'")
    if not items:
        raise reader.error(node, "'outputs:' is empty; name at least one node")
    return [(_name(reader, item, "an output"), reader.location(item)) for item in items]


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
                output = (_name(reader, items[0], f"the output of {what}"), reader.location(items[0]))
            elif key == "doc":
                reader.text(sub_value, f"'doc:' of {what}")
            else:
                raise reader.error(sub_key, _unknown_key(key, "key", MODULE_KEYS, f" in {what}"))
        if not inputs:
            raise reader.error(key_node, f"{what} has no 'inputs:' (its formal inputs, in order)")
        if output is None:
            raise reader.error(key_node, f"{what} has no 'outputs:' (exactly one node)")
        modules[name] = ModuleDef(name, location, tuple(inputs), gates, output[0], output[1], scope)
