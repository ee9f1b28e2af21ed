"""Leaf values from data files: ``--inputs FILE``.

:func:`read_inputs` reads inputs and params by name from ``.npz`` (one
array per leaf), ``.csv`` (a header row naming the leaves, one column each)
or ``.json`` (an object mapping leaf names to numbers or nested lists), and
returns values of the kinds :meth:`Circuit.run <gatekit.Circuit.run>` takes.
Every problem is a :class:`~gatekit.UsageError` placed at the file (and, for
csv, the line; for JSON syntax, the line and column) that names the column
or key and what is wrong.

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
from gatekit.limits import MAX_DIMENSIONS, exceeded, limit, read_bounded

__all__ = ["INPUT_TYPES", "check_leaf_names", "read_inputs"]

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
        raise ValueError(f"the number {text.strip()} is too large for a float")
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
        param of ``circuit``; a value is not numeric, a nested list is
        ragged, a csv row has the wrong number of cells; a ``.npz`` member is
        not a plain, intact ``.npy`` array of numbers (see
        :func:`gatekit.io.npz.read_npz`).
    """
    file = os.fspath(path)
    suffix = _suffix(file)
    reader = _READERS.get(suffix)
    if reader is None:
        what = f"unsupported file type {suffix!r}" if suffix else "no file extension"
        raise UsageError(f"{what}; inputs can be read from {', '.join(INPUT_TYPES)}", Location(file))
    # a regular file, at most GATEKIT_MAX_FILE_BYTES of it; the reader holds the only
    # reference to the bytes, so it can let them go once it has decoded them
    return reader(read_bounded(file, UsageError), file, _Names(file, circuit))


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

    def __init__(self, file: str, circuit: Circuit) -> None:
        self.file = file
        self.circuit = circuit

    def check(self, names: Iterable[str], what: str, where: Location | None = None) -> None:
        """Raise for the first of ``names`` (a ``what``: column, key, array) that is no leaf.

        ``where`` is the place to name (default: the file).
        """
        circuit = self.circuit
        leaves = [*circuit.inputs, *circuit.params]
        for name in names:
            if name in leaves:
                continue
            place = where or Location(self.file)
            if name in circuit.definition.gates:
                problem = f"names a gate of {circuit.file}, not an input or param"
            else:
                problem = f"names no input or param of {circuit.file}"
                matches = _close_matches(name, leaves)
                if matches:
                    problem += "; did you mean " + " or ".join(repr(m) for m in matches) + "?"
            raise UsageError(f"{what} {name!r} {problem} ({self._known()})", place)

    def _known(self) -> str:
        parts = []
        if self.circuit.inputs:
            parts.append("inputs: " + ", ".join(self.circuit.inputs))
        if self.circuit.params:
            parts.append("params: " + ", ".join(self.circuit.params))
        return "; ".join(parts) or "the circuit has no inputs or params"


def _close_matches(name: str, known: list[str]) -> list[str]:
    """Up to three of ``known`` that look like ``name``, the closest first (ties in file order).

    The cutoff is 0.5, not difflib's 0.6: leaf names are short, and 'x2' is
    only half like 'x0'.
    """
    scored = []
    for position, candidate in enumerate(known):
        ratio = difflib.SequenceMatcher(None, name, candidate).ratio()
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
            raise UsageError(f"column {name!r}: {exc}", place) from None
        if value is None:
            raise UsageError(f"column {name!r}: expected a number, got {cell!r}", place)
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
            raise UsageError(f"column {name!r} appears twice (columns {first[name]} and {position})", where)
        first[name] = position
    names.check(columns, "column", where)


def _is_number(text: str) -> bool:
    try:
        return _number(text) is not None
    except ValueError:
        return True


class _TooLarge(str):
    """A JSON number that overflows a float, kept as text for the message."""

    __slots__ = ()


def _json_number(text: str) -> float | _TooLarge:
    value = float(text)
    return _TooLarge(text) if math.isinf(value) else value


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
    text = _text(data, file)
    del data  # the bytes go: only the text is parsed
    if not text.strip():
        raise UsageError("the file is empty", Location(file))
    try:
        document = json.loads(
            text, parse_float=_json_number, parse_int=_json_number, object_pairs_hook=_json_object
        )
    except json.JSONDecodeError as exc:
        raise UsageError(f"invalid JSON: {exc.msg}", Location(file, exc.lineno, exc.colno)) from None
    except _DuplicateKey as exc:
        raise UsageError(f"key {exc.args[0]!r} appears twice", Location(file)) from None
    except RecursionError:  # Python's json parser recurses into each nested list
        raise UsageError("invalid JSON: the lists are nested too deeply", Location(file)) from None
    if not isinstance(document, dict):
        raise UsageError(
            f"expected a JSON object mapping input and param names to values, got {_json_kind(document)}",
            Location(file),
        )
    if not document:
        raise UsageError("the JSON object is empty; give at least one input or param", Location(file))
    names.check(document, "key")
    return {key: _json_value(value, Location(file), f"key {key!r}") for key, value in document.items()}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, _TooLarge):
        return f"the number {value}, too large for a float"
    if isinstance(value, str):
        return f"the text {value!r}"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a number ({value!r})"


def _at(path: tuple[int, ...]) -> str:
    return "item " + "".join(f"[{i}]" for i in path)


def _json_value(value: Any, place: Location, where: str) -> Any:
    """A JSON number or regular nested list as a float or a float64 array."""
    if not isinstance(value, list):
        if isinstance(value, float):
            return value
        raise UsageError(f"{where}: expected a number or a list of numbers, got {_json_kind(value)}", place)
    shape: list[int] = []
    level: list[tuple[tuple[int, ...], Any]] = [((), value)]
    while isinstance(level[0][1], list):
        size = len(level[0][1])
        if size == 0:
            path = level[0][0]
            empty = f"{_at(path)} is an empty list" if path else "the list is empty"
            raise UsageError(f"{where}: {empty}", place)
        for path, item in level:
            if not isinstance(item, list) or len(item) != size:
                got = f"a list of {_items(len(item))}" if isinstance(item, list) else _json_kind(item)
                raise UsageError(
                    f"{where}: ragged list: {_at(path)} is {got}, expected a list of {_items(size)}", place
                )
        if len(shape) == MAX_DIMENSIONS:
            raise UsageError(
                f"{where}: nested too deeply: an array has at most {MAX_DIMENSIONS} dimensions", place
            )
        shape.append(size)
        level = [((*path, i), sub) for path, item in level for i, sub in enumerate(item)]
    numbers = []
    for path, item in level:
        if isinstance(item, list):
            raise UsageError(f"{where}: ragged list: {_at(path)} is a list, expected a number", place)
        if not isinstance(item, float):
            raise UsageError(f"{where}: {_at(path)} must be a number, got {_json_kind(item)}", place)
        numbers.append(item)
    return np.array(numbers, dtype=np.float64).reshape(shape)


_READERS: dict[str, Callable[[bytes, str, _Names], dict[str, Any]]] = {
    ".npz": _read_npz,
    ".csv": _read_csv,
    ".json": _read_json,
}
