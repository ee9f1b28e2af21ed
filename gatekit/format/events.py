"""Reading a YAML circuit file from the parser's events, its large sections never composed.

Composing a document builds a node, with two marks, for every scalar: some
2.5 KB a gate, and most of the time of a large file's load. Here the events
of libyaml's parser (the same parser, the same marks) are read one by one:
``inputs:``, ``params:`` and ``gates:`` go straight into
:class:`~gatekit.format.parse.Leaf` and :class:`~gatekit.format.parse.GateUse`
records (a gate keeps the place of its name; a leaf that is not a plain
number, its attributes and its initializer are composed on their own and
read by the reference functions); every other section is composed into the
nodes PyYAML's composer would make. The result is the document's root,
those sections standing in as empty mappings, and the records
(:class:`~gatekit.format.parse.Preread`) for :func:`~gatekit.format.parse.parse`.

Nothing here reports an error but one: anything unusual raises
:class:`~gatekit.format.sections.Unusual` (see :mod:`~gatekit.format.sections`);
a circuit past ``GATEKIT_MAX_NODES`` is refused as soon as the count passes
it (as the reference reader refuses it, at the root), the rest unread.

>>> from gatekit.format.yamlsource import Reader
>>> root, preread = read_events("inputs: {x: 1.5}\\ngates:\\n  y: {gate: exp, in: [x]}\\n", Reader("g.yaml"))
>>> [key.value for key, _ in root.value]
['inputs', 'gates']
>>> [gates] = preread.gates.values()
>>> [(use.name, use.gate, use.inputs, str(use.location)) for use in gates.values()]
[('y', 'exp', ('x',), 'g.yaml:3:3')]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekit.errors import GatekitError, Location
from gatekit.format.parse import (
    LEAF_KINDS,
    NO_ATTRS,
    GateUse,
    Leaf,
    Preread,
    plain_value,
    read_leaf,
    too_many_nodes,
)
from gatekit.format.sections import (
    NOT_TEXT,
    AttrsPool,
    Unusual,
    new_gate_use,
    new_leaf,
    new_location,
    simple_number,
)
from gatekit.format.yamlsource import NumberProblem, Reader, YamlLoader, scalar_number
from gatekit.limits import limit
from gatekit.names import is_name

__all__ = ["read_events"]

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


def read_events(text: str, reader: Reader) -> tuple[MappingNode, Preread]:
    """The root of the circuit document ``text`` and the sections read without composing them.

    :raises Unusual: the text is not one well-formed YAML mapping, or holds
        anything the reference reader must see (see the module's docstring).
    """
    loader = YamlLoader(text)
    try:
        return _Stream(loader, reader, text).document()
    except yaml.YAMLError:  # not well-formed: the reference reader locates and words it
        raise Unusual from None
    finally:
        loader.dispose()


def _plain_event(event: Any) -> bool:
    """Whether a node event carries neither an anchor nor an explicit tag."""
    return event.anchor is None and event.tag is None


class _Stream:
    """The events of one document, read into a root node and pre-read sections."""

    def __init__(self, loader: Any, reader: Reader, text: str) -> None:
        self.get: Callable[[], Any] = loader.get_event  # events, typed loosely by PyYAML's stubs
        self.resolve: Callable[..., str] = loader.resolve
        self.reader = reader
        self.file = reader.file
        self.preread = Preread()
        # every name, once: a gate's name and the inputs that read it share one string
        self.names: dict[str, str] = {}
        self.attrs_pool = AttrsPool()
        self.nodes = 0
        self.most_nodes = limit("GATEKIT_MAX_NODES")
        # Only a text with a & can hold an anchor (and so an alias), only one with a ! a tag:
        # without either, the events are not checked for them.
        self.marked = "&" in text or "!" in text
        self.root_location = Location(self.file)

    def document(self) -> tuple[MappingNode, Preread]:
        get = self.get
        get()  # the stream's start
        if type(get()) is not DocumentStartEvent:  # an empty file
            raise Unusual
        event = get()
        if type(event) is not MappingStartEvent or not _plain_event(event):
            raise Unusual
        root = self._start(event)
        mark: Any = event.start_mark
        self.root_location = Location(self.file, mark.line + 1, mark.column + 1)
        while True:
            event = get()
            if type(event) is MappingEndEvent:
                root.end_mark = event.end_mark
                break
            key = self.compose(event)
            if type(key) is not ScalarNode:
                raise Unusual
            event = get()
            section = key.value
            if section in LEAF_KINDS and type(event) is MappingStartEvent and _plain_event(event):
                value: Node = self.leaves(section, event)
            elif section == "gates" and type(event) is MappingStartEvent and _plain_event(event):
                value = self.gates(event)
            else:
                value = self.compose(event)
            root.value.append((key, value))
        if type(get()) is not DocumentEndEvent or type(get()) is not StreamEndEvent:
            raise Unusual  # another document follows
        return root, self.preread

    # -- composing what is small ---------------------------------------------------

    def compose(self, event: Any) -> Node:
        """The node that starts with ``event`` and all it holds, as PyYAML's composer builds it."""
        get = self.get
        stack: list[tuple[Node, list[Node]]] = []  # open collections, and a mapping's key awaiting its value
        while True:
            kind = type(event)
            if kind is ScalarEvent:
                if not _plain_event(event):
                    raise Unusual
                value = event.value
                tag = self.resolve(ScalarNode, value, event.implicit)
                node: Node = ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
            elif kind is SequenceStartEvent or kind is MappingStartEvent:
                if not _plain_event(event):
                    raise Unusual
                flow = event.flow_style
                opened = (
                    SequenceNode(_SEQ, [], event.start_mark, None, flow_style=flow)
                    if kind is SequenceStartEvent
                    else MappingNode(_MAP, [], event.start_mark, None, flow_style=flow)
                )
                stack.append((opened, []))
                event = get()
                continue
            elif kind is SequenceEndEvent or kind is MappingEndEvent:
                node = stack.pop()[0]
                node.end_mark = event.end_mark
            else:  # an alias
                raise Unusual
            if not stack:
                return node
            parent, key = stack[-1]
            if type(parent) is SequenceNode:
                parent.value.append(node)
            elif key:
                parent.value.append((key.pop(), node))
            else:
                key.append(node)
            event = get()

    def _room(self) -> int:
        """How many more nodes the circuit may have (``GATEKIT_MAX_NODES``)."""
        return self.most_nodes - self.nodes

    def _full(self) -> GatekitError:
        """The circuit is past ``GATEKIT_MAX_NODES``: refused at once, before the rest is read."""
        return too_many_nodes(self.root_location)

    def _name(self, event: Any) -> tuple[str, Location]:
        """A key that names a node, with its place."""
        if type(event) is not ScalarEvent or (self.marked and not _plain_event(event)):
            raise Unusual
        name: str = event.value
        if not is_name(name):
            raise Unusual
        if name not in NOT_TEXT:
            name = self.names.setdefault(name, name)
        mark: Any = event.start_mark
        return name, new_location(self.file, mark.line + 1, mark.column + 1)

    def _start(self, event: Any) -> MappingNode:
        """The node standing in for the mapping that ``event`` opens (its items are read elsewhere)."""
        mark: Any = event.start_mark
        return MappingNode(_MAP, [], mark, None, flow_style=event.flow_style)

    # -- inputs: and params: ---------------------------------------------------------

    def leaves(self, section: str, start: Any) -> MappingNode:
        """An ``inputs:`` or ``params:`` mapping, read into :class:`Leaf` records."""
        get = self.get
        kind = LEAF_KINDS[section]
        stand_in = self._start(start)
        leaves: dict[str, Leaf] = {}
        room = self._room()
        while True:
            event = get()
            if type(event) is MappingEndEvent:
                stand_in.end_mark = event.end_mark
                break
            name, location = self._name(event)
            if name in leaves:
                raise Unusual
            if len(leaves) == room:
                raise self._full()
            event = get()
            number = None
            if type(event) is ScalarEvent and not event.style and _plain_event(event):
                number = self._number(event.value)
            if number is not None:
                span = (event.start_mark.index, event.end_mark.index)
                leaves[name] = new_leaf(name, kind, number, location, span)
                continue
            try:  # a list, an initializer, or an error: read as the reference reader reads it
                leaves[name] = read_leaf(self.reader, name, kind, self.compose(event), location)
            except GatekitError:
                raise Unusual from None
        self.nodes += len(leaves)
        self.preread.leaves[stand_in] = leaves
        return stand_in

    def _number(self, text: str) -> float | None:
        """A plain scalar read as a number, or ``None`` if it is not one."""
        value = simple_number(text)
        if value is not None:
            return value
        try:
            return scalar_number(self.resolve(ScalarNode, text, (True, False)), text, "")
        except NumberProblem:
            raise Unusual from None

    # -- gates: ----------------------------------------------------------------------

    def gates(self, start: Any) -> MappingNode:
        """A ``gates:`` mapping, read into :class:`GateUse` records.

        The loop a million-gate file spends its time in: checks are inlined,
        and a name seen before (checked then) is not checked again.
        """
        get = self.get
        names = self.names
        marked = self.marked
        file = self.file
        stand_in = self._start(start)
        gates: dict[str, GateUse] = {}
        types: dict[str, str] = {}  # the gate types seen, each text once
        room = self._room()
        while True:
            event = get()
            if type(event) is not ScalarEvent:
                if type(event) is MappingEndEvent:
                    stand_in.end_mark = event.end_mark
                    break
                raise Unusual
            name = event.value
            known = names.get(name)
            if known is None:
                if not is_name(name) or (marked and not _plain_event(event)):
                    raise Unusual
                if name not in NOT_TEXT:  # never taken for a name where YAML reads a boolean
                    names[name] = name
            else:
                name = known
            if name in gates:
                raise Unusual
            if len(gates) == room:
                raise self._full()
            mark: Any = event.start_mark
            location = new_location(file, mark.line + 1, mark.column + 1)
            event = get()
            if type(event) is not MappingStartEvent or (marked and not _plain_event(event)):
                raise Unusual
            gate = inputs = None
            attrs: Mapping[str, Any] = NO_ATTRS
            has_attrs = False
            while True:
                event = get()
                if type(event) is not ScalarEvent:
                    if type(event) is MappingEndEvent:
                        break
                    raise Unusual
                if marked and not _plain_event(event):
                    raise Unusual
                key = event.value
                if key == "gate" and gate is None:
                    event = get()
                    if type(event) is not ScalarEvent or (marked and not _plain_event(event)):
                        raise Unusual
                    text = event.value
                    gate = types.get(text)
                    if gate is None:
                        if not is_name(text):
                            raise Unusual
                        if text not in NOT_TEXT:
                            gate = types[text] = text
                        elif event.style:  # quoted: text, not a boolean
                            gate = text
                        else:
                            raise Unusual
                elif key == "in" and inputs is None:
                    inputs = self._inputs()
                elif key == "attrs" and not has_attrs:
                    attrs = self._attrs(name)
                    has_attrs = True
                else:  # an unknown key, or one written twice
                    raise Unusual
            if gate is None or inputs is None:
                raise Unusual
            gates[name] = new_gate_use(name, gate, inputs, attrs, location)
        self.nodes += len(gates)
        self.preread.gates[stand_in] = gates
        return stand_in

    def _inputs(self) -> tuple[str | float, ...]:
        get = self.get
        names = self.names
        marked = self.marked
        event = get()
        if type(event) is not SequenceStartEvent or (marked and not _plain_event(event)):
            raise Unusual
        items: list[str | float] = []
        while True:
            event = get()
            if type(event) is not ScalarEvent:
                if type(event) is SequenceEndEvent:
                    return tuple(items)
                raise Unusual
            if marked and not _plain_event(event):
                raise Unusual
            text = event.value
            known = names.get(text)  # a name seen before, and not one of YAML's booleans
            if known is not None:
                items.append(known)
            elif event.style:  # quoted: text, so a name
                if not is_name(text):
                    raise Unusual
                items.append(text if text in NOT_TEXT else names.setdefault(text, text))
            elif is_name(text):
                if text in NOT_TEXT:
                    raise Unusual
                items.append(names.setdefault(text, text))
            else:
                number = self._number(text)
                if number is None:
                    raise Unusual
                items.append(number)

    def _attrs(self, name: str) -> Mapping[str, Any]:
        get = self.get
        event = get()
        if type(event) is not MappingStartEvent or not _plain_event(event):
            raise Unusual
        attrs: dict[str, Any] = {}
        while True:
            event = get()
            if type(event) is not ScalarEvent:
                if type(event) is MappingEndEvent:
                    return self.attrs_pool.shared(attrs)
                raise Unusual
            key = event.value
            if not _plain_event(event) or not is_name(key) or key in attrs:
                raise Unusual
            try:
                attrs[key] = plain_value(
                    self.reader, self.compose(get()), f"attribute {key!r} of gate {name!r}"
                )
            except GatekitError:
                raise Unusual from None
