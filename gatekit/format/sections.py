"""What the fast readers of large files share: when to give up, and the records they make.

:mod:`~gatekit.format.events` (YAML, from the parser's events) and
:mod:`~gatekit.format.jsonsource` (JSON) read a circuit file's large
sections (``inputs:``, ``params:``, ``gates:``) straight into
:class:`~gatekit.format.parse.Leaf` and :class:`~gatekit.format.parse.GateUse`
records, without a tree of YAML nodes. They report no errors themselves:
anything that is not plainly right (a bad name, a duplicated key, an alias,
a tag, a number YAML 1.1 reads in a surprising way) raises :class:`Unusual`,
and :mod:`~gatekit.format.document` reads the file again with the
reference reader, :mod:`~gatekit.format.yamlsource` and
:func:`~gatekit.format.parse.parse`, whose message and location are the
ones every path gives.

>>> simple_number("-2.5e3"), simple_number("-0"), simple_number("017"), simple_number("x")
(-2500.0, 0.0, None, None)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gatekit.errors import Location
from gatekit.format.parse import NO_ATTRS, GateUse, Leaf

__all__ = ["NOT_TEXT", "AttrsPool", "Unusual", "new_gate_use", "new_leaf", "new_location", "simple_number"]


class Unusual(Exception):
    """The file holds something a fast reader leaves to the reference reader (see the module's docstring)."""


#: Plain scalars that YAML 1.1 reads as booleans or null, not text (PyYAML's resolver): never a name.
NOT_TEXT = frozenset(
    {
        *("yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE"),
        *("on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~"),
    }
)

# A decimal number as JSON writes it: the numbers gatekit reads as ``float(text)`` whatever YAML
# 1.1 calls them (an int, a float, or text with an exponent), with no leading zero (017 is octal).
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def simple_number(text: str) -> float | None:
    """A plain scalar's value if it is a decimal number that fits a float, else ``None``.

    ``None`` does not mean the scalar is not a number (``1_000``, ``.5``,
    ``.inf`` are): only that it is not one of the common forms read here.
    An integer is read as YAML reads it, through ``int`` (``-0`` is 0.0).
    """
    match = _DECIMAL.fullmatch(text)
    if match is None:
        return None
    try:
        value = float(text) if match.lastindex else float(int(text))
    except (OverflowError, ValueError):  # past a float, or past int()'s 4300 digits
        return None
    return None if math.isinf(value) else value


class AttrsPool:
    """One shared, read-only mapping for each set of attributes written the same way.

    A million ``leaky_relu`` gates that all write ``{slope: 0.1}`` keep one
    mapping, not a million. Values are told apart as ``==`` does not
    (``1.0`` and ``True``, ``0.0`` and ``-0.0``); arrays are never shared.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[tuple[str, type, object, float], ...], Mapping[str, Any]] = {}

    def shared(self, attrs: dict[str, Any]) -> Mapping[str, Any]:
        if not attrs:
            return NO_ATTRS
        key = []
        for name, value in attrs.items():
            kind = type(value)
            if kind is float:
                key.append((name, kind, value, math.copysign(1.0, value)))
            elif value is None or kind in (bool, str):
                key.append((name, kind, value, 1.0))
            else:
                return attrs
        found = self._seen.get(tuple(key))
        if found is None:
            found = self._seen[tuple(key)] = MappingProxyType(attrs)
        return found


# -- records, made as fast as they can be ------------------------------------------------
#
# A frozen dataclass's __init__ sets each field through object.__setattr__, which costs
# about 0.2 us a field: 1.6 us for a GateUse, 0.8 us for a Location, seconds for a
# million gates. These make the same records by setting the slots directly (the slot
# descriptors' own __set__, which the frozen class's __setattr__ does not stand in front
# of), three times faster. Every field is set, in the dataclass's order.

_new = object.__new__


def _setters(cls: type, *names: str) -> tuple[Any, ...]:
    return tuple(getattr(cls, name).__set__ for name in names)


_LOCATION = _setters(Location, "file", "line", "column")
_GATE_USE = _setters(GateUse, "name", "gate", "inputs", "attrs", "location", "places", "within", "arguments")
_LEAF = _setters(Leaf, "name", "kind", "value", "location", "init", "span")


def new_location(file: str, line: int, column: int) -> Location:
    """``Location(file, line, column)``."""
    record = _new(Location)
    set_file, set_line, set_column = _LOCATION
    set_file(record, file)
    set_line(record, line)
    set_column(record, column)
    return record


def new_gate_use(
    name: str, gate: str, inputs: tuple[str | float, ...], attrs: Mapping[str, Any], location: Location
) -> GateUse:
    """``GateUse(name, gate, inputs, attrs, location)``, its other fields their defaults."""
    record = _new(GateUse)
    set_name, set_gate, set_inputs, set_attrs, set_location, set_places, set_within, set_arguments = _GATE_USE
    set_name(record, name)
    set_gate(record, gate)
    set_inputs(record, inputs)
    set_attrs(record, attrs)
    set_location(record, location)
    set_places(record, None)
    set_within(record, ())
    set_arguments(record, ())
    return record


def new_leaf(name: str, kind: str, value: Any, location: Location, span: tuple[int, int]) -> Leaf:
    """``Leaf(name, kind, value, location, span=span)``."""
    record = _new(Leaf)
    set_name, set_kind, set_value, set_location, set_init, set_span = _LEAF
    set_name(record, name)
    set_kind(record, kind)
    set_value(record, value)
    set_location(record, location)
    set_init(record, None)
    set_span(record, span)
    return record
