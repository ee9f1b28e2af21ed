"""Reading YAML safely, keeping every node's line and column.

The document is *composed*, never *constructed*: libyaml (when present)
parses it into nodes that carry their marks, and :class:`Reader` turns the
nodes gatekit needs into Python values. So tags never build objects, a
duplicated key is caught instead of silently overwritten, and an alias (which
could expand a small file into a huge value) is refused where it is used.

>>> reader = Reader("<doc>")
>>> root = reader.compose("inputs: {x: 1.5, y: [1, 2]}")
>>> [(key, reader.location(key_node)) for key, key_node, _ in reader.mapping(root, "the file")]
[('inputs', Location(file='<doc>', line=1, column=1))]
>>> reader.number(reader.compose("-2.5e3"), "a value")
-2500.0
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gatekit.errors import GraphError, LoadError, Location, quoted
from gatekit.limits import MAX_DIMENSIONS, exceeded, limit, read_bounded

__all__ = ["NumberProblem", "Reader", "YamlLoader", "scalar_number"]

#: libyaml's C parser when PyYAML was built with it, else the pure-Python one.
YamlLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
# A plain scalar that YAML 1.1 reads as a string but that is a number in YAML
# 1.2 and in every language: 1e5, 2E-3, 1.0e+5.
_EXPONENT_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)[eE][-+]?\d+")
_PLAIN_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map"))
# The number forms gatekit reads itself (YAML 1.1's other forms are refused, below):
_DECIMAL_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)")
_INFINITY = re.compile(r"[-+]?\.?inf(?:inity)?", re.IGNORECASE)  # .inf, or !!float inf; not 1e400
_NAN = re.compile(r"\.?nan", re.IGNORECASE)
_FLOAT_WORDS = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"}  # how others write them
# YAML 1.1 reads these as numbers where a reader (and YAML 1.2) sees something else: refused.
_SURPRISES = (
    (re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"), "a base-60 (sexagesimal) number", 60),
    (re.compile(r"[-+]?0[0-7_]+"), "an octal number", 8),
    (re.compile(r"[-+]?0x[0-9a-fA-F_]+"), "a hexadecimal number", 16),
    (re.compile(r"[-+]?0b[01_]+"), "a binary number", 2),
)


def _shorten(text: str, limit: int = 40) -> str:
    """``text``, or its start and its length when it is longer than ``limit`` (unquoted)."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 10]}... ({len(text)} characters)"


def _surprise(text: str, what: str, base: int) -> str:
    """Why a YAML 1.1 number form is refused, and how to write the number instead.

    >>> _surprise("0x1F", "a hexadecimal number", 16)
    "'0x1F' is a hexadecimal number to YAML 1.1, which reads it as 31: write 31, or quote it if it is text"
    """
    value = None
    if len(text) <= 40:  # the value of a long base-60 number is not worth its cost
        digits = text.lstrip("+-").replace("_", "")
        sign = -1 if text.startswith("-") else 1
        if base == 60:
            whole, _, fraction = digits.partition(".")
            total = 0
            for part in whole.split(":"):
                total = total * 60 + int(part)
            value = f"{sign * (total + float('0.' + (fraction or '0'))):g}"
        else:
            value = str(sign * int(digits if base == 8 else digits[2:], base))
    reads = f", which reads it as {value}: write {value}" if value else ": write the number in decimal"
    if base == 8:
        reads += f", or {text.lstrip('+-').lstrip('0_') or '0'} without the leading 0"
    return f"{quoted(text)} is {what} to YAML 1.1{reads}, or quote it if it is text"


def _items(n: int) -> str:
    return "1 item" if n == 1 else f"{n} items"


def _describe(node: Node) -> str:
    """A short phrase for what a node is, for error messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = node.tag
    if tag == _NULL:
        return "null"
    if tag == _BOOL:
        return f"a boolean ({node.value})"
    if tag in (_INT, _FLOAT):
        return f"a number ({node.value})"
    return f"the text {quoted(node.value)}"


class NumberProblem(ValueError):
    """A scalar written as a number that gatekit refuses; the message says why (the caller locates it)."""


def scalar_number(tag: str, text: str, style: str | None) -> float | None:
    """A scalar's value as a float if it is a number, else ``None``: the one reading of numbers.

    ``tag`` is the scalar's resolved tag, ``style`` its YAML style (``""``
    or ``None`` for a plain scalar). Decimal numbers (``1``, ``-2.5``,
    ``1e-3``, ``1_000``) and ``.inf`` and ``.nan`` are read here, never by
    PyYAML's converters (whose base-60 reading is quadratic in the number's
    length).

    >>> text = "tag:yaml.org,2002:str"
    >>> scalar_number(text, "1e-3", ""), scalar_number(text, "1e-3", '"')
    (0.001, None)

    :raises NumberProblem: the number overflows a float (``1e400``, or an
        integer of 400 digits; ``.inf`` written as such is accepted), is one
        of YAML 1.1's surprises (``1:30`` read as 90, ``017`` as 15,
        ``0x1F``, ``0b11``: the message says how to write it), or a scalar
        tagged ``!!int``/``!!float`` is not one.
    """
    exponent_text = tag == _STR and not style and _EXPONENT_NUMBER.fullmatch(text)
    if tag not in (_FLOAT, _INT) and not exponent_text:
        return None
    too_large = f"the number {_shorten(text)} is too large for a float"
    if tag == _INT and _DECIMAL_INT.fullmatch(text):
        try:
            return float(int(text.replace("_", "")))
        except (OverflowError, ValueError):  # past a float, or past int()'s 4300 digits
            raise NumberProblem(too_large) from None
    if _NAN.fullmatch(text):
        return math.nan
    if _INFINITY.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    for pattern, what, base in _SURPRISES:
        if pattern.fullmatch(text):
            raise NumberProblem(_surprise(text, what, base))
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        kind = "integer" if tag == _INT else "float"
        raise NumberProblem(f"{quoted(text)} is tagged as a number but is not a valid {kind}") from None
    if math.isinf(value):
        raise NumberProblem(too_large)
    return value


class Reader:
    """Reads the nodes of one YAML document, locating every error in ``file``."""

    def __init__(self, file: str, *, checked: bool = False) -> None:
        """``checked``: the nodes come from a reader that refused aliases and tags already (the fast ones)."""
        self.file = file
        self._seen: set[int] = set()
        # Only a document with an anchor (&) can hold an alias, and only one
        # with a ! can hold an explicit tag; most circuit files have neither,
        # and skip the per-node check.
        self._check_nodes = not checked

    # -- parsing ---------------------------------------------------------

    def read_file(self, path: str) -> Node:
        """Read (bounded: :func:`gatekit.limits.read_bounded`) and compose the file at ``path``.

        See :meth:`compose`.
        """
        return self.read_bytes(read_bounded(path, LoadError))

    def read_bytes(self, data: bytes) -> Node:
        """Decode (:meth:`decode`) and compose a file's bytes."""
        return self.compose(self.decode(data))

    def decode(self, data: bytes) -> str:
        """A file's bytes as text: UTF-8, a BOM allowed; a bad byte is located (:class:`LoadError`)."""
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            before = data[: exc.start]
            line = before.count(b"\n") + 1
            column = exc.start - (before.rfind(b"\n") + 1) + 1
            raise LoadError(
                f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x})",
                Location(self.file, line, column),
            ) from None

    def compose(self, text: str) -> Node:
        """Parse one YAML document into nodes, without constructing anything.

        :raises LoadError: the text is not well-formed YAML, holds more than
            one document, or is empty.
        """
        self._check_nodes = "&" in text or "!" in text
        loader = YamlLoader(text)
        try:
            node: Node | None = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.problem:
                problem = f"{exc.context}: {exc.problem}"
            index = getattr(mark, "index", -1)
            if (
                0 <= index < len(text) and text[index] == "\t"
            ):  # "found character that cannot start any token"
                problem = "a tab, where YAML wants spaces: indent with spaces, never tabs"
            raise LoadError(f"invalid YAML: {problem}", self._mark_location(mark)) from None
        except yaml.reader.ReaderError as exc:  # a character YAML does not allow: its place
            before = text[: exc.position]
            line = before.count("\n") + 1
            column = exc.position - (before.rfind("\n") + 1) + 1
            character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
            raise LoadError(
                f"invalid YAML: the character {character} is not allowed: "
                "YAML text holds no control characters but tabs and new lines",
                Location(self.file, line, column),
            ) from None
        except yaml.YAMLError as exc:
            raise LoadError(f"invalid YAML: {exc}", Location(self.file, 1, 1)) from None
        except RecursionError:  # the pure-Python parser, without libyaml's depth limit
            raise LoadError("invalid YAML: nesting too deep", Location(self.file, 1, 1)) from None
        finally:
            loader.dispose()
        if node is None:
            raise LoadError("the file is empty", Location(self.file, 1, 1))
        self._visit(node, node)
        return node

    def _mark_location(self, mark: Any) -> Location:
        if mark is None:
            return Location(self.file, 1, 1)
        return Location(self.file, mark.line + 1, mark.column + 1)

    # -- reading nodes ---------------------------------------------------

    def location(self, node: Node) -> Location:
        """Where ``node`` starts."""
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def error(self, node: Node, message: str) -> GraphError:
        """A :class:`GraphError` located at ``node``."""
        return GraphError(message, self.location(node))

    def _visit(self, node: Node, used_at: Node) -> None:
        """Refuse a node reached twice (an alias) and tags that are not plain data (:class:`LoadError`)."""
        if not self._check_nodes:
            return
        key = id(node)
        if key in self._seen:
            raise LoadError("YAML aliases (*name) are not allowed in a circuit file", self.location(used_at))
        self._seen.add(key)
        if node.tag not in _PLAIN_TAGS:
            tag = quoted(node.tag, limit=80)
            raise LoadError(f"YAML tag {tag} is not allowed in a circuit file", self.location(node))

    def mapping(self, node: Node, what: str) -> list[tuple[str, Node, Node]]:
        """The ``(key, key_node, value_node)`` pairs of a mapping, in file order.

        Keys are taken as written (``on`` stays the text ``on``).

        :raises GraphError: ``node`` is not a mapping, a key is not plain
            text, a key appears twice, or a value is an alias.
        """
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{what} must be a mapping, got {_describe(node)}")
        first: dict[str, Node] = {}
        pairs: list[tuple[str, Node, Node]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.error(key_node, f"keys of {what} must be text, got {_describe(key_node)}")
            self._visit(key_node, key_node)
            key: str = key_node.value
            if key in first:
                where = self.location(first[key])
                raise self.error(
                    key_node,
                    f"duplicate key {quoted(key)} in {what} "
                    f"(first at line {where.line}, column {where.column})",
                )
            first[key] = key_node
            self._visit(value_node, key_node)
            pairs.append((key, key_node, value_node))
        return pairs

    def sequence(self, node: Node, what: str) -> list[Node]:
        """The items of a list node.

        :raises GraphError: ``node`` is not a list, or an item is an alias.
        """
        if not isinstance(node, SequenceNode):
            raise self.error(node, f"{what} must be a list, got {_describe(node)}")
        items: list[Node] = node.value
        for item in items:
            self._visit(item, node)
        return items

    def text(self, node: Node, what: str) -> str:
        """The text of a scalar (any plain or quoted scalar that is not a collection)."""
        if not isinstance(node, ScalarNode) or node.tag in (_NULL, _BOOL):
            raise self.error(node, f"{what} must be text, got {_describe(node)}")
        text: str = node.value
        return text

    def boolean(self, node: Node, what: str) -> bool:
        """A YAML boolean: ``true``/``false`` (and YAML 1.1's ``yes``, ``no``, ``on``, ``off``).

        :raises GraphError: the node is anything else: text (``'true'``, quoted), a number, a list.
        """
        if not isinstance(node, ScalarNode) or node.tag != _BOOL:
            raise self.error(node, f"{what} must be true or false, got {_describe(node)}")
        return str(node.value).lower() in ("true", "yes", "on")

    def number(self, node: Node, what: str) -> float:
        """A scalar read as a float.

        :raises GraphError: the node is not a number (a string, a boolean,
            null, a list, a mapping) or is too large for a float.
        """
        value = self.maybe_number(node)
        if value is None:
            hint = ""
            if isinstance(node, ScalarNode) and node.value.strip().lower() in _FLOAT_WORDS:
                hint = " (YAML writes infinity .inf or -.inf, and not-a-number .nan)"
            raise self.error(node, f"{what} must be a number, got {_describe(node)}{hint}")
        return value

    def maybe_number(self, node: Node) -> float | None:
        """The node's value as a float if it is a number, else ``None``.

        See :func:`scalar_number`, whose problems are located at ``node`` here.

        :raises GraphError: the number overflows a float, is one of YAML 1.1's
            surprises, or a scalar tagged ``!!int``/``!!float`` is not one.
        """
        if not isinstance(node, ScalarNode):
            return None
        try:
            return scalar_number(node.tag, node.value, node.style)
        except NumberProblem as exc:
            raise self.error(node, str(exc)) from None

    def value(self, node: Node, what: str) -> float | np.ndarray:
        """A number, or a regular nested list of numbers as a float64 array.

        :raises GraphError: an item is not a number, a list is empty, or the
            nesting is ragged (sub-lists of different lengths, or lists mixed
            with numbers at one depth).
        """
        if not isinstance(node, SequenceNode):
            return self.number(node, what)
        shape: list[int] = []
        level: list[Node] = [node]
        while True:
            first = level[0]
            if not isinstance(first, SequenceNode):
                break
            size = len(first.value)
            if size == 0:
                raise self.error(first, f"{what} contains an empty list")
            for sub in level:
                if not isinstance(sub, SequenceNode) or len(sub.value) != size:
                    got = _items(len(sub.value)) if isinstance(sub, SequenceNode) else "a number"
                    raise self.error(
                        sub, f"{what} is a ragged list: expected a list of {_items(size)}, got {got}"
                    )
            if len(shape) == MAX_DIMENSIONS:
                raise self.error(
                    first, f"{what} is nested too deeply: an array has at most {MAX_DIMENSIONS} dimensions"
                )
            shape.append(size)
            level = [item for sub in level for item in self.sequence(sub, what)]
        if len(level) > limit("GATEKIT_MAX_ARRAY_ELEMENTS"):
            raise self.error(node, f"{what}: its {exceeded('GATEKIT_MAX_ARRAY_ELEMENTS', 'element count')}")
        numbers = []
        for item in level:
            if isinstance(item, SequenceNode):
                raise self.error(item, f"{what} is a ragged list: expected a number, got a list")
            numbers.append(self.number(item, f"each item of {what}"))
        return np.array(numbers, dtype=np.float64).reshape(shape)
