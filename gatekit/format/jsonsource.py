"""Reading a JSON circuit file with Python's JSON parser, still located on error.

JSON is YAML's subset, so a ``.json`` circuit file holds the same format and
the YAML reader reads it too, but libyaml's parser takes several times
longer over it than ``json`` does. Here the top level and the large sections
(``inputs:``, ``params:``, ``gates:``) are walked with the JSON module's C
scanner, taking the place of each name as it goes; each gate's body, each
leaf's value is one call of the scanner. The other sections are small: each
is composed by the YAML reader on its own, its marks moved to where it is in
the file, and read by the reference functions as in a YAML file. What comes
out is what :mod:`~gatekit.format.events` makes of a YAML file: the
document's root, the large sections standing in as empty mappings, and
their records (:class:`~gatekit.format.parse.Preread`).

Nothing here reports an error but one (a circuit past ``GATEKIT_MAX_NODES``
is refused, at its root, as soon as the count passes it): text that is not JSON, or is JSON that YAML
would read otherwise (a surrogate pair written as escapes, a control
character YAML refuses), raises :class:`NotJson`, and the file is read as
YAML; anything else unusual raises :class:`~gatekit.format.sections.Unusual`
(see :mod:`~gatekit.format.sections`).

>>> from gatekit.format.yamlsource import Reader
>>> text = '{"inputs": {"x": 1.5},\\n "gates": {"y": {"gate": "exp", "in": ["x"]}}}'
>>> root, preread = read_json(text, Reader("g.json"))
>>> [gates] = preread.gates.values()
>>> [(use.name, use.gate, use.inputs, str(use.location)) for use in gates.values()]
[('y', 'exp', ('x',), 'g.json:2:12')]
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekit.errors import GatekitError, Location
from gatekit.format.parse import LEAF_KINDS, NO_ATTRS, GateUse, Leaf, Preread, read_leaf, too_many_nodes
from gatekit.format.sections import AttrsPool, Unusual, new_gate_use, new_leaf, new_location
from gatekit.format.yamlsource import Reader, YamlLoader
from gatekit.limits import MAX_DIMENSIONS, limit
from gatekit.names import is_name

__all__ = ["NotJson", "read_json"]

_MAP = "tag:yaml.org,2002:map"
_STR = "tag:yaml.org,2002:str"
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# What YAML refuses or reads otherwise in a JSON text: a character outside YAML's printable set,
# and a UTF-16 surrogate written as an escape (JSON joins a pair into one character; YAML refuses it).
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class NotJson(Unusual):
    """The text is not JSON, or not JSON that YAML reads the same way: it is read as YAML."""


def _no_constant(text: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON (Python's parser takes them; YAML reads them as text)."""
    raise NotJson


_DECODER: Any = json.JSONDecoder(object_pairs_hook=tuple, parse_constant=_no_constant)
#: The JSON value at an index, and where it ends: an object is read as a tuple of its (key, value)
#: pairs, so that a key written twice is seen.
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_DECODER)
_SCAN_STRING: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


def read_json(text: str, reader: Reader) -> tuple[MappingNode, Preread]:
    """The root of the JSON circuit document ``text`` and the sections read without composing them.

    :raises NotJson: the text is not a JSON object, or YAML would read it otherwise.
    :raises Unusual: the object holds anything the reference reader must see.
    """
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        raise NotJson
    refused = "\x7f" in text if text.isascii() else _NOT_PRINTABLE.search(text) is not None
    if refused:
        raise NotJson
    try:
        return _Json(text, reader).document()
    except (ValueError, StopIteration, IndexError):  # not JSON (or a number past int()'s digits)
        raise NotJson from None


def _skip(text: str, index: int) -> int:
    """The index of the first character at or after ``index`` that is not whitespace."""
    match = _WHITESPACE.match(text, index)
    assert match is not None  # the pattern matches the empty string
    return match.end()


class _Json:
    """One JSON document, walked into a root node and pre-read sections."""

    def __init__(self, text: str, reader: Reader) -> None:
        self.text = text
        self.reader = reader
        self.file = reader.file
        self.preread = Preread()
        self.names: dict[str, str] = {}  # every name once: a gate's name and its readers share one string
        self.types: dict[str, str] = {}  # the gate types seen
        self.attrs_pool = AttrsPool()
        self.nodes = 0
        self.most_nodes = limit("GATEKIT_MAX_NODES")
        self.root_location = Location(self.file)
        # the line and column of the last place asked for (places are asked for in file order)
        self._at = self._line = self._line_start = 0

    def place(self, index: int) -> tuple[int, int]:
        """The line and column (from 0) of ``index``, at or after the last place asked for."""
        text = self.text
        lines = text.count("\n", self._at, index)
        if lines:
            self._line += lines
            self._line_start = text.rfind("\n", self._at, index) + 1
        self._at = index
        return self._line, index - self._line_start

    def mark(self, index: int) -> Mark:
        line, column = self.place(index)
        return Mark(self.file, index, line, column, None, 0)

    def document(self) -> tuple[MappingNode, Preread]:
        text = self.text
        index = _skip(text, 0)
        if text[index] != "{":
            raise NotJson
        root = MappingNode(_MAP, [], self.mark(index), None, flow_style=True)
        self.root_location = Location(self.file, root.start_mark.line + 1, root.start_mark.column + 1)
        index = _skip(text, index + 1)
        if text[index] != "}":
            while True:
                if text[index] != '"':
                    raise NotJson
                start = self.mark(index)
                key, index = _SCAN_STRING(text, index + 1)
                end = Mark(self.file, index, start.line, start.column + index - start.index, None, 0)
                key_node = ScalarNode(_STR, key, start, end, style='"')
                index = self._colon(index)
                if key in LEAF_KINDS and text[index] == "{":
                    value, index = self.leaves(key, index)
                elif key == "gates" and text[index] == "{":
                    value, index = self.gates(index)
                else:
                    value, index = self.fragment(index)
                root.value.append((key_node, value))
                index = _skip(text, index)
                if text[index] == "}":
                    break
                if text[index] != ",":
                    raise NotJson
                index = _skip(text, index + 1)
        root.end_mark = self.mark(index + 1)
        if _skip(text, index + 1) != len(text):
            raise NotJson
        return root, self.preread

    def _colon(self, index: int) -> int:
        """Past the ``:`` after a key, and the whitespace around it."""
        text = self.text
        if text[index] != ":":
            index = _skip(text, index)
            if text[index] != ":":
                raise NotJson
        index += 1
        return _skip(text, index) if text[index] in " \t\n\r" else index

    def fragment(self, index: int) -> tuple[Node, int]:
        """The JSON value at ``index``, composed by the YAML reader, marks where it is in the file."""
        _, end = _SCAN(self.text, index)
        loader = YamlLoader(self.text[index:end])
        try:
            node = loader.get_single_node()
        except yaml.YAMLError:
            raise Unusual from None
        finally:
            loader.dispose()
        if node is None:
            raise Unusual
        base = self.mark(index)
        stack: list[Node] = [node]
        while stack:
            item = stack.pop()
            item.start_mark = self._moved(item.start_mark, base)
            item.end_mark = self._moved(item.end_mark, base)
            if isinstance(item, SequenceNode):
                stack.extend(item.value)
            elif isinstance(item, MappingNode):
                stack.extend(part for pair in item.value for part in pair)
        return node, end

    def _moved(self, mark: Any, base: Mark) -> Mark:
        column = mark.column + (base.column if mark.line == 0 else 0)
        return Mark(self.file, mark.index + base.index, mark.line + base.line, column, None, 0)

    # -- the large sections ------------------------------------------------------------

    def _entries(self, index: int, read: Callable[[str, Location, int], int]) -> int:
        """Walk the object opened at ``index``: ``read(name, place, value_start)`` gives its value's end.

        Each key must be a name written once; where each is (line and
        column) is counted as the walk goes. Returns the index past the
        object. The loop every entry of a large file goes through: kept
        short, with whitespace looked for before it is skipped.
        """
        text = self.text
        names = self.names
        file = self.file
        skip: Callable[[str, int], Any] = _WHITESPACE.match  # always a match: the pattern takes ""
        seen: set[str] = set()
        index = skip(text, index + 1).end()
        if text[index] == "}":
            return index + 1
        at, line, line_start = self._at, self._line, self._line_start
        room = self.most_nodes - self.nodes
        while True:
            if text[index] != '"':
                raise NotJson
            key_at = index
            key, index = _SCAN_STRING(text, index + 1)
            if text[index] != ":":
                index = skip(text, index).end()
                if text[index] != ":":
                    raise NotJson
            index += 1
            if text[index] in " \t\n\r":
                index = skip(text, index).end()
            name = names.get(key)
            if name is None:
                if not is_name(key):
                    raise Unusual
                name = names[key] = key
            if name in seen:
                raise Unusual
            if len(seen) == room:  # past GATEKIT_MAX_NODES: refused at once, the rest unread
                raise too_many_nodes(self.root_location)
            seen.add(name)
            lines = text.count("\n", at, key_at)
            if lines:
                line += lines
                line_start = text.rfind("\n", at, key_at) + 1
            at = key_at
            index = read(name, new_location(file, line + 1, key_at - line_start + 1), index)
            if text[index] in " \t\n\r":
                index = skip(text, index).end()
            if text[index] == ",":
                index += 1
                if text[index] in " \t\n\r":
                    index = skip(text, index).end()
            elif text[index] == "}":
                self._at, self._line, self._line_start = at, line, line_start
                self.nodes += len(seen)
                return index + 1
            else:
                raise NotJson

    def leaves(self, section: str, index: int) -> tuple[Node, int]:
        """An ``inputs:`` or ``params:`` object, read into :class:`Leaf` records."""
        text = self.text
        kind = LEAF_KINDS[section]
        stand_in = MappingNode(_MAP, [], self.mark(index), None, flow_style=True)
        leaves: dict[str, Leaf] = {}

        def read(name: str, location: Location, start: int) -> int:
            if text[start] == "{":  # an initializer: read as the reference reader reads it
                node, end = self.fragment(start)
                try:
                    leaves[name] = read_leaf(self.reader, name, kind, node, location)
                except GatekitError:
                    raise Unusual from None
                return end
            value, end = _SCAN(text, start)
            leaves[name] = new_leaf(name, kind, _value(value), location, (start, end))
            return end

        index = self._entries(index, read)
        stand_in.end_mark = self.mark(index)
        self.preread.leaves[stand_in] = leaves
        return stand_in, index

    def gates(self, index: int) -> tuple[Node, int]:
        """A ``gates:`` object, read into :class:`GateUse` records."""
        text = self.text
        names = self.names
        types = self.types
        stand_in = MappingNode(_MAP, [], self.mark(index), None, flow_style=True)
        gates: dict[str, GateUse] = {}

        def read(name: str, location: Location, start: int) -> int:
            body, end = _SCAN(text, start)
            if type(body) is not tuple:
                raise Unusual
            gate = inputs = None
            attrs: Mapping[str, Any] = NO_ATTRS
            has_attrs = False
            for key, value in body:
                if key == "gate" and gate is None:
                    gate = types.get(value) if type(value) is str else None
                    if gate is None:
                        if not is_name(value):
                            raise Unusual
                        gate = types[value] = value
                elif key == "in" and inputs is None:
                    if type(value) is not list:
                        raise Unusual
                    items: list[str | float] = []
                    for item in value:
                        known = names.get(item) if type(item) is str else None
                        items.append(known if known is not None else self._input(item))
                    inputs = tuple(items)
                elif key == "attrs" and not has_attrs:
                    attrs = self._attrs(value)
                    has_attrs = True
                else:  # an unknown key, or one written twice
                    raise Unusual
            if gate is None or inputs is None:
                raise Unusual
            gates[name] = new_gate_use(name, gate, inputs, attrs, location)
            return end

        index = self._entries(index, read)
        stand_in.end_mark = self.mark(index)
        self.preread.gates[stand_in] = gates
        return stand_in, index

    def _input(self, item: Any) -> str | float:
        if type(item) is str:
            if not is_name(item):
                raise Unusual
            return self.names.setdefault(item, item)
        return _number(item)

    def _attrs(self, value: Any) -> Mapping[str, Any]:
        if type(value) is not tuple:
            raise Unusual
        attrs: dict[str, Any] = {}
        for key, item in value:
            if not is_name(key) or key in attrs:
                raise Unusual
            kind = type(item)
            attrs[key] = item if item is None or kind is bool or kind is str else _value(item)
        return self.attrs_pool.shared(attrs)


def _number(item: Any) -> float:
    """A JSON number as gatekit reads it (an integer through ``int``, as YAML does)."""
    kind = type(item)
    if kind is float:
        if math.isinf(item):  # 1e400: too large for a float
            raise Unusual
        return float(item)
    if kind is int:
        try:
            return float(item)
        except OverflowError:
            raise Unusual from None
    raise Unusual  # a boolean, null, text, a list, an object


def _value(item: Any) -> float | np.ndarray:
    """A number, or a regular nested list of numbers as a float64 array (as ``Reader.value`` reads one)."""
    if type(item) is not list:
        return _number(item)
    shape: list[int] = []
    level: list[Any] = [item]
    while type(level[0]) is list:
        size = len(level[0])
        if size == 0 or len(shape) == MAX_DIMENSIONS:
            raise Unusual
        for sub in level:
            if type(sub) is not list or len(sub) != size:
                raise Unusual
        shape.append(size)
        level = [element for sub in level for element in sub]
    if len(level) > limit("GATEKIT_MAX_ARRAY_ELEMENTS"):
        raise Unusual
    return np.array([_number(element) for element in level], dtype=np.float64).reshape(shape)
