"""A ``gates:`` section of one-line gates, read line by line: the common form of a large YAML file.

A generated circuit writes each gate on a line of its own, in one form::

    gates:
      g1: {gate: sin, in: [g0]}
      g2: {gate: mul, in: [g1, w, -1]}

Each such line is matched whole by one regular expression and read into a
:class:`~gatekit.format.parse.GateUse` here, without libyaml's events (some
ten events a gate, most of a large file's read). The rest of the file goes
to :func:`~gatekit.format.events.read_events` as before, with the
section's lines overwritten by spaces but for an empty mapping, ``{}``,
where the first gate was: every other line, column and offset stays where
it was (a trained file's params are written back at their offsets), and
the gates are put in the place of that empty mapping.

Only what is plainly that form is taken: a name, a gate and inputs that are
names (never one of the words YAML 1.1 reads as a boolean or null) or
decimal numbers, every line at one indentation, blank and comment lines
between them. Anything else in the section (attributes, quotes, another
layout, a name written twice) and the section is left to the event reader
whole; so every error is still found, and located, by the readers that
find it today.

>>> text = "inputs: {x: 0.5}\\ngates:\\n  y: {gate: sin, in: [x]}\\n"
>>> text += "  z: {gate: mul, in: [y, -2]}\\noutputs: [z]\\n"
>>> rest, gates, line = gate_lines(text, "g.yaml")
>>> [text.strip() for text in rest.splitlines()], len(rest) == len(text), line
(['inputs: {x: 0.5}', 'gates:', '{}', '', 'outputs: [z]'], True, 2)
>>> [(use.name, use.gate, use.inputs, str(use.location)) for use in gates.values()]
[('y', 'sin', ('x',), 'g.yaml:3:3'), ('z', 'mul', ('y', -2.0), 'g.yaml:4:3')]
"""

from __future__ import annotations

import re

from gatekit.format.parse import NO_ATTRS, GateUse
from gatekit.format.sections import NOT_TEXT, new_gate_use, new_location, simple_number
from gatekit.names import MAX_LENGTH

__all__ = ["gate_lines"]

#: ``gates:`` at the start of a line, alone (a comment may follow)
_SECTION = re.compile(r"^gates:[ ]*(?:#[^\n]*)?$", re.MULTILINE)
#: one gate on its line: indentation, name, gate, the inputs' text
#: a name, its length bounded as :func:`gatekit.names.is_name` bounds it: what matches is a valid name
_NAME = f"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_LENGTH - 1}}}"
_GATE = re.compile(rf"( +)({_NAME}): \{{gate: ({_NAME}), in: \[([^\[\]{{}}]*)\]\}}[ ]*")
#: every printable ASCII character to a space (the section's newlines and spaces stay)
_BLANK = dict.fromkeys(range(33, 127), 32)
#: a line with nothing to read: blank, or a comment
_NOTHING = re.compile(r"[ ]*(?:#.*)?")
#: an input: a name, or a decimal number (see :func:`~gatekit.format.sections.simple_number`)
_ITEM = re.compile(rf"{_NAME}|-?[0-9][0-9.eE+-]*")
#: inputs that are names only, the common case: split at once, not read one by one
_NAMES = re.compile(rf"{_NAME}(?:, {_NAME})*")


def gate_lines(text: str, file: str) -> tuple[str, dict[str, GateUse], int] | None:
    """The text with its ``gates:`` section emptied, the section's gates, and the line of the ``{}``.

    The text has the same length, lines and offsets; the line is counted
    from 0, as YAML's marks count. ``None`` if the section is not of the
    form read here.

    ``None`` also where there is no such section, or more than one, or the
    text has a carriage return or a tab (left to the readers that word them).
    """
    found = _SECTION.search(text)
    if found is None or _SECTION.search(text, found.end()) is not None or "\r" in text or "\t" in text:
        return None
    start = found.end() + 1  # the first line of the section's body
    if start > len(text):
        return None
    gates: dict[str, GateUse] = {}
    names: dict[str, str] = {}  # every name once: a gate's name and the inputs that read it share it
    types: dict[str, str] = {}
    indent = None
    first = -1  # where the first gate's line is, in the text, and its line (0-based)
    first_line = -1
    line = text.count("\n", 0, start) + 1  # 1-based, as messages count
    at = start
    size = len(text)
    while at < size:  # line by line, no list of the lines: a large file's memory is its gates'
        stop = text.find("\n", at)
        if stop < 0:
            stop = size
        body = text[at:stop]
        if body and body[0] != " " and body[0] != "#":  # the next top-level key: the section's end
            break
        match = _GATE.fullmatch(body)
        if match is None:
            if _NOTHING.fullmatch(body) is None:
                return None
        else:
            spaces, name, gate, listed = match.groups()
            if indent is None:
                indent = spaces
                first, first_line = at + len(spaces), line - 1
            if spaces != indent or name in gates or name in NOT_TEXT or gate in NOT_TEXT:
                return None
            inputs = _inputs(listed, names)
            if inputs is None:
                return None
            name = names.setdefault(name, name)
            gate = types.setdefault(gate, gate)  # each gate's text once, not once a line
            location = new_location(file, line, len(spaces) + 1)
            gates[name] = new_gate_use(name, gate, inputs, NO_ATTRS, location)
        at = stop + 1
        line += 1
    if not gates:
        return None
    end = min(at, size)
    # The section overwritten by spaces (its newlines kept), then the empty mapping where the
    # first gate's name was: one pass in C, the same length, every offset where it was.
    section = text[start:end]
    if not section.isascii():  # a comment in other letters: left to the event reader
        return None
    emptied = section.translate(_BLANK)
    rest = "".join([text[:start], emptied[: first - start], "{}", emptied[first - start + 2 :], text[end:]])
    return rest, gates, first_line


def _inputs(listed: str, names: dict[str, str]) -> tuple[str | float, ...] | None:
    """``a, b, -1`` as the inputs YAML would read, or ``None`` for anything but names and decimals."""
    if _NAMES.fullmatch(listed):
        names_only = listed.split(", ")
        if not NOT_TEXT.isdisjoint(names_only):
            return None
        return tuple(map(names.setdefault, names_only, names_only))
    items: list[str | float] = []
    for item in listed.split(", "):
        if _ITEM.fullmatch(item) is None:
            return None
        if item[0] == "-" or item[0].isdigit():
            number = simple_number(item)
            if number is None:
                return None
            items.append(number)
        elif item in NOT_TEXT:
            return None
        else:
            items.append(names.setdefault(item, item))
    return tuple(items)
