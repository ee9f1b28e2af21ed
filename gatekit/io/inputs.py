"""Leaf values from data files: ``--inputs FILE``.

:func:`read_inputs` reads inputs and params by name from ``.npz`` (one
array per leaf), ``.csv`` (a header row naming the leaves, one column each)
or ``.json`` (an object mapping leaf names to numbers or nested lists), and
returns values of the kinds :meth:`Circuit.run <gatekit.Circuit.run>` takes.
Every problem is a :class:`~gatekit.UsageError` placed at the file (and, for
csv, the line; for JSON syntax, the line and column) that names the column
or key and what is wrong.

The file comes from someone else, so it is read through
:func:`gatekit.limits.read_bounded` (a regular file, at most
``GATEKIT_MAX_FILE_BYTES``: never a pipe or a device that would be read
forever), each value is held to ``GATEKIT_MAX_ARRAY_ELEMENTS``, and the numbers
of a csv or JSON file go straight into one array of float64 as they are
parsed, without a Python object for each (a ``.npz`` is read by
:mod:`gatekit.io.npz`, which trusts nothing in it).

>>> import gatekit, pathlib, tempfile
>>> circuit = gatekit.loads("inputs: {x: 1.0}\\nparams: {w: 2.0}\\ngates: {y: {gate: mul, in: [w, x]}}\\n"
...                         "outputs: [y]")
>>> with tempfile.TemporaryDirectory() as folder:
...     path = pathlib.Path(folder, "batch.csv")
...     _ = path.write_text("x\\n1\\n2.5\\n")
...     read_inputs(path, circuit)
{'x': array([1. , 2.5])}
"""

from __future__ import annotations

import array
import csv
import difflib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from gatekit.engine.circuit import Circuit
from gatekit.errors import Location, UsageError
from gatekit.io.npz import read_npz
from gatekit.io.quote import cut, shown
from gatekit.limits import MAX_DIMENSIONS, exceeded, limit, read_bounded

__all__ = ["INPUT_TYPES", "check_leaf_names", "read_array", "read_inputs"]

#: the file types :func:`read_inputs` reads, by extension
INPUT_TYPES = (".npz", ".csv", ".json")


def _suffix(file: str) -> str:
    return os.path.splitext(file)[1].lower()


def _items(n: int) -> str:
    return "1 item" if n == 1 else f"{n} items"


def _number(text: str) -> float | None:
    """``text`` as a float, or ``None``; a number too large for a float raises."""
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isinf(value) and "inf" not in text.lower():
        raise ValueError(f"the number {cut(text.strip())} is too large for a float")
    return value


# -- reading -------------------------------------------------------------------


def read_inputs(path: str | os.PathLike[str], circuit: Circuit) -> dict[str, Any]:
    """The leaf values in the data file at ``path``, by name, for ``circuit``.

    The type follows the extension: ``.npz`` (arrays by leaf name), ``.csv``
    (a header row of leaf names; each column becomes a float64 1-D array) or
    ``.json`` (an object mapping leaf names to a number or a regular nested
    list). Values are Python floats (0-d) or float64 arrays.

    :raises UsageError: the file cannot be read, is not a regular file, is
        larger than ``GATEKIT_MAX_FILE_BYTES`` or is not of a supported type;
        it is empty, or a csv file has no header row; a name is no input or
        param of ``circuit``; a value is not numeric, has more elements than
        ``GATEKIT_MAX_ARRAY_ELEMENTS``, a nested list is ragged, a csv row
        has the wrong number of cells; a ``.npz`` member is not a plain,
        intact ``.npy`` array of numbers (see :func:`gatekit.io.npz.read_npz`).
    """
    file = os.fspath(path)
    return _read(file, _Names(file, circuit), "inputs")


def _read(file: str, names: _Names, what: str) -> dict[str, Any]:
    """The entries of the data file ``file``, by the reader its extension names, ``names`` checked."""
    suffix = _suffix(file)
    reader = _READERS.get(suffix)
    if reader is None:
        problem = f"unsupported file type {suffix!r}" if suffix else "no file extension"
        raise UsageError(f"{problem}; {what} can be read from {', '.join(INPUT_TYPES)}", Location(file))
    # a regular file, at most GATEKIT_MAX_FILE_BYTES of it; the reader holds the only
    # reference to the bytes, so it can let them go once it has decoded them
    return reader(read_bounded(file, UsageError), file, names)


def read_array(path: str | os.PathLike[str], name: str) -> Any:
    """One value from a data file read as :func:`read_inputs` reads one: the entry ``name``, or the only one.

    For values that are no leaf's (``gatekit run --seed-grad FILE``).

    :raises UsageError: as :func:`read_inputs` (an empty file among them);
        or the file holds several entries and none is called ``name``.
    """
    file = os.fspath(path)
    entries = _read(file, _AnyNames(file), "a value")
    if name in entries:
        return entries[name]
    if len(entries) == 1:
        return next(iter(entries.values()))
    held = ", ".join(shown(key) for key in entries)  # never none: every reader refuses an empty file
    raise UsageError(f"expected one value, or one named {shown(name)}; the file holds {held}", Location(file))


def check_leaf_names(circuit: Circuit, names: Iterable[str], what: str, place: Location) -> None:
    """Raise for the first of ``names`` that is no input or param of ``circuit``.

    The message, placed at ``place``, calls it a ``what`` (``column``,
    ``key``, ``name``), says whether it is a gate's name, suggests close
    leaf names, and lists the leaves.

    :raises UsageError: a name is no input or param.
    """
    _Names(place.file, circuit).check(names, what, place)


class _Names:
    """Checks that the names in a data file are the circuit's inputs and params."""

    one = "input or param"  # what one entry of the file is, for messages
    keys = "input and param names"  # what its keys are

    def __init__(self, file: str, circuit: Circuit) -> None:
        self.file = file
        self.circuit = circuit

    def check(self, names: Iterable[str], what: str, where: Location | None = None) -> None:
        """Raise for the first of ``names`` (a ``what``: column, key, array) that is no leaf.

        ``where`` is the place to name (default: the file).
        """
        circuit = self.circuit
        leaves = [*circuit.inputs, *circuit.params]
        known = set(leaves)
        for name in names:
            if name in known:
                continue
            place = where or Location(self.file)
            if name in circuit.definition.gates:
                problem = f"names a gate of {circuit.file}, not an input or param"
            else:
                problem = f"names no input or param of {circuit.file}"
                matches = _close_matches(name, leaves)
                if matches:
                    problem += "; did you mean " + " or ".join(repr(m) for m in matches) + "?"
            raise UsageError(f"{what} {shown(name)} {problem} ({self._known()})", place)

    def _known(self) -> str:
        parts = []
        if self.circuit.inputs:
            parts.append("inputs: " + ", ".join(self.circuit.inputs))
        if self.circuit.params:
            parts.append("params: " + ", ".join(self.circuit.params))
        return "; ".join(parts) or "the circuit has no inputs or params"


class _AnyNames(_Names):
    """Takes every name: for a file that holds no leaves."""

    one = "value"
    keys = "names"

    def __init__(self, file: str) -> None:
        self.file = file

    def check(self, names: Iterable[str], what: str, where: Location | None = None) -> None:
        return None


def _close_matches(name: str, known: list[str]) -> list[str]:
    """Up to three of ``known`` that look like ``name``, the closest first (ties in file order).

    The cutoff is 0.5, not difflib's 0.6: leaf names are short, and 'x2' is
    only half like 'x0'.
    """
    scored = []
    for position, candidate in enumerate(known):
        matcher = difflib.SequenceMatcher(None, name, candidate)
        # the quick upper bounds first: a name of a million characters is compared in no time
        if matcher.real_quick_ratio() >= 0.5 and matcher.quick_ratio() >= 0.5:
            ratio = matcher.ratio()
            if ratio >= 0.5:
                scored.append((-ratio, position, candidate))
    return [candidate for _, _, candidate in sorted(scored)[:3]]


def _read_npz(data: bytes, file: str, names: _Names) -> dict[str, Any]:
    return read_npz(data, Location(file), lambda arrays: names.check(arrays, "array"))


def _text(data: bytes, file: str) -> str:
    """The file's bytes as text: UTF-8, with or without a byte order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"the file is not UTF-8 text ({exc.reason})", Location(file)) from None


# -- csv -----------------------------------------------------------------------------

#: A line and its end (``\n``, ``\r\n`` or ``\r``), or a last line without one: how a
#: file opened with ``newline=""`` splits, which is what :func:`csv.reader` expects.
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time, each with its end: never a list of them all."""
    for match in _LINE.finditer(text):
        yield match.group()


def _read_csv(data: bytes, file: str, names: _Names) -> dict[str, Any]:
    """The columns of a csv file as float64 arrays, by the header's names.

    The text is read once, one row alive at a time, and the numbers go into
    one growing ``array('d')`` (8 bytes each): no Python object per cell
    outlives its row.
    """
    text = _text(data, file)
    del data  # the bytes go: only the text is parsed
    reader = csv.reader(_lines(text))
    try:
        return _csv_columns(_numbered(reader), file, names)
    except csv.Error as exc:
        raise UsageError(f"not a readable csv file ({exc})", Location(file, reader.line_num)) from None


def _csv_columns(rows: Iterator[tuple[int, list[str]]], file: str, names: _Names) -> dict[str, Any]:
    header_line, header = next(rows, (1, []))
    if not header and not any(row for _, row in rows):  # nothing but blank lines
        raise UsageError("the file is empty", Location(file))
    columns = [cell.strip() for cell in header]
    _check_header(file, header_line, columns, names)
    width = len(columns)
    most = limit("GATEKIT_MAX_ARRAY_ELEMENTS")
    numbers = array.array("d")
    count = 0
    blank: int | None = None  # the line of the first blank row since the last row of data
    for line, row in rows:
        if not row:
            if blank is None:
                blank = line
            continue
        if blank is not None:
            raise UsageError(
                "a blank line inside the data (only the end may have blank lines)", Location(file, blank)
            )
        if len(row) != width:
            raise UsageError(
                f"expected {width} cells ({', '.join(columns)}), got {len(row)}", Location(file, line)
            )
        if (count + 1) * width > most:
            what = f"element count (rows x columns, {count + 1:,} x {width} up to this row)"
            raise UsageError(
                f"the table's {exceeded('GATEKIT_MAX_ARRAY_ELEMENTS', what)}", Location(file, line)
            )
        numbers.extend(_csv_row(row, columns, Location(file, line)))
        count += 1
    if not count:
        raise UsageError("no data rows after the header", Location(file))
    table = np.frombuffer(numbers, dtype=np.float64).reshape(count, width)
    return {name: table[:, j].copy() for j, name in enumerate(columns)}


def _csv_row(row: list[str], columns: list[str], place: Location) -> list[float]:
    """The numbers of one row: :func:`float` of each cell, or the first bad cell's message."""
    try:
        values = list(map(float, row))
    except ValueError:
        values = []
    if len(values) == len(row) and not any(map(math.isinf, values)):
        return values
    for name, cell in zip(columns, row, strict=True):  # the slow way, for the message
        try:
            value = _number(cell)
        except ValueError as exc:
            raise UsageError(f"column {shown(name)}: {exc}", place) from None
        if value is None:
            raise UsageError(f"column {shown(name)}: expected a number, got {shown(cell)}", place)
    return values


def _numbered(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Each row with the line it starts on (a quoted cell may span lines)."""
    line = 1
    for row in reader:
        yield line, row
        line = reader.line_num + 1


def _check_header(file: str, line: int, columns: list[str], names: _Names) -> None:
    where = Location(file, line)
    if not columns:
        raise UsageError("missing header: the first line is blank, expected the column names", where)
    if all(_is_number(cell) for cell in columns):
        raise UsageError(
            "missing header: the first row must name the columns "
            f"(inputs and params, for example {','.join(names.circuit.inputs[:2]) or 'x0,x1'}), "
            "got numbers",
            where,
        )
    first: dict[str, int] = {}
    for position, name in enumerate(columns, start=1):
        if not name:
            raise UsageError(f"column {position} has no name", where)
        if name in first:
            raise UsageError(
                f"column {shown(name)} appears twice (columns {first[name]} and {position})", where
            )
        first[name] = position
    names.check(columns, "column", where)


def _is_number(text: str) -> bool:
    try:
        return _number(text) is not None
    except ValueError:
        return True


# -- json ----------------------------------------------------------------------------


class _Number:
    """Stands in the parsed document for each number, which is kept in :class:`_Numbers`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<number>"


_NUMBER = _Number()


class _TooLarge(str):
    """A JSON number that overflows a float, kept as text for the message."""

    __slots__ = ()


class _Numbers:
    """The JSON parser's number hooks: each number appended to one ``array('d')``, in document order.

    The parser gets back the one shared :data:`_NUMBER` (``null`` stays
    ``None``, so it is still refused), so a list of a million numbers is a
    list of a million references to one object, and the numbers themselves
    take 8 bytes each. In document order the numbers of each key's value
    come together, item after item: one slice of :attr:`values`.
    """

    def __init__(self) -> None:
        self.values = array.array("d")

    def number(self, text: str) -> _Number | _TooLarge:
        value = float(text)
        if math.isinf(value):  # "Infinity" comes to constant()
            return _TooLarge(text)
        self.values.append(value)
        return _NUMBER

    def constant(self, name: str) -> _Number:
        self.values.append(float(name))  # NaN, Infinity, -Infinity
        return _NUMBER


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


class _DuplicateKey(Exception):
    pass


def _read_json(data: bytes, file: str, names: _Names) -> dict[str, Any]:
    """The values of a JSON object of numbers and regular nested lists, by key.

    Every value's shape is checked on the parsed document (numbers stand
    there as :data:`_NUMBER`), then each value is its slice of the numbers.
    """
    place = Location(file)
    text = _text(data, file)
    del data  # the bytes go: only the text is parsed
    if not text or text.isspace():
        raise UsageError("the file is empty", place)
    numbers = _Numbers()
    try:
        document = json.loads(
            text,
            parse_float=numbers.number,
            parse_int=numbers.number,
            parse_constant=numbers.constant,
            object_pairs_hook=_json_object,
        )
    except json.JSONDecodeError as exc:
        raise UsageError(f"invalid JSON: {exc.msg}", Location(file, exc.lineno, exc.colno)) from None
    except _DuplicateKey as exc:
        raise UsageError(f"key {shown(exc.args[0])} appears twice", place) from None
    except RecursionError:  # Python's json parser recurses into each nested list
        raise UsageError("invalid JSON: the lists are nested too deeply", place) from None
    del text  # parsed: the document and the numbers are all that is needed
    if not isinstance(document, dict):
        kind = _json_kind(document, numbers.values[0] if document is _NUMBER else None)
        raise UsageError(f"expected a JSON object mapping {names.keys} to values, got {kind}", place)
    if not document:
        raise UsageError(f"the JSON object is empty; give at least one {names.one}", place)
    names.check(document, "key")
    shapes: dict[str, tuple[int, ...]] = {}
    start = 0
    for key, value in document.items():
        shapes[key] = _json_shape(value, numbers.values, start, f"key {shown(key)}", place)
        start += math.prod(shapes[key])
    del document  # the lists go before the arrays are made
    flat = np.frombuffer(numbers.values, dtype=np.float64)
    values: dict[str, Any] = {}
    start = 0
    for key, shape in shapes.items():
        size = math.prod(shape)
        values[key] = float(flat[start]) if not shape else flat[start : start + size].reshape(shape).copy()
        start += size
    return values


def _json_kind(value: Any, number: float | None = None) -> str:
    """What a JSON value is, for a message; ``number`` is the value of a :data:`_NUMBER`."""
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, _TooLarge):
        return f"the number {cut(value)}, too large for a float"
    if isinstance(value, str):
        return f"the text {shown(value)}"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a number ({number!r})"


def _at(path: Iterable[int]) -> str:
    return "item " + "".join(f"[{i}]" for i in path)


def _json_shape(
    value: Any, numbers: array.array[float], start: int, where: str, place: Location
) -> tuple[int, ...]:
    """The shape of a JSON number (``()``) or regular nested list of numbers, checked.

    The shape is read down the first items; then every list is walked in
    document order (a stack, not recursion) and must have its depth's
    length, and the deepest lists must hold numbers only. ``start`` is the
    index in ``numbers`` of the value's first number, for a message that
    shows one.
    """
    if value is _NUMBER:
        return ()
    if not isinstance(value, list):
        raise UsageError(f"{where}: expected a number or a list of numbers, got {_json_kind(value)}", place)
    shape: list[int] = []
    first: Any = value
    while isinstance(first, list):
        if not first:
            empty = f"{_at([0] * len(shape))} is an empty list" if shape else "the list is empty"
            raise UsageError(f"{where}: {empty}", place)
        if len(shape) == MAX_DIMENSIONS:
            raise UsageError(
                f"{where}: nested too deeply: an array has at most {MAX_DIMENSIONS} dimensions", place
            )
        shape.append(len(first))
        first = first[0]
    if math.prod(shape) > limit("GATEKIT_MAX_ARRAY_ELEMENTS"):
        raise UsageError(f"{where}: its {exceeded('GATEKIT_MAX_ARRAY_ELEMENTS', 'element count')}", place)
    deepest = len(shape) - 1
    seen = 0  # numbers in the lists walked so far: the next one is numbers[start + seen]
    lists: list[list[Any]] = [value]  # the lists from the value down to the one being walked
    path: list[int] = [0]  # the index of the next item in each of them
    while lists:
        items, index = lists[-1], path[-1]
        depth = len(lists) - 1
        if depth == deepest:  # a list of numbers: checked at C speed, walked only for the message
            if items.count(_NUMBER) != len(items):
                bad = next(i for i, item in enumerate(items) if item is not _NUMBER)
                item = items[bad]
                at = _at([*(i - 1 for i in path[:-1]), bad])
                if isinstance(item, list):
                    raise UsageError(f"{where}: ragged list: {at} is a list, expected a number", place)
                raise UsageError(f"{where}: {at} must be a number, got {_json_kind(item)}", place)
            seen += len(items)
        elif index < len(items):
            item = items[index]
            path[-1] += 1
            size = shape[depth + 1]
            if not isinstance(item, list) or len(item) != size:
                at = _at([*(i - 1 for i in path)])
                number = numbers[start + seen] if item is _NUMBER else None
                got = f"a list of {_items(len(item))}" if isinstance(item, list) else _json_kind(item, number)
                raise UsageError(
                    f"{where}: ragged list: {at} is {got}, expected a list of {_items(size)}", place
                )
            lists.append(item)
            path.append(0)
            continue
        lists.pop()
        path.pop()
    return tuple(shape)


_READERS: dict[str, Callable[[bytes, str, _Names], dict[str, Any]]] = {
    ".npz": _read_npz,
    ".csv": _read_csv,
    ".json": _read_json,
}
