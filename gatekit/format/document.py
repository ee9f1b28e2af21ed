"""A circuit file read for parsing: by the fastest reader that can, by the reference reader otherwise.

Three readers give the same :class:`Document`, a root node that
:func:`~gatekit.format.parse.parse` reads:

* :func:`~gatekit.format.jsonsource.read_json`, for a text that starts with
  ``{``: Python's JSON parser, several times faster than YAML's;
* :func:`~gatekit.format.events.read_events`: libyaml's parser events, the
  large sections read without composing them;
* the reference reader, :meth:`~gatekit.format.yamlsource.Reader.compose`:
  the whole document composed into nodes, every node's place kept.

The fast readers keep the place of every name (a gate's, a leaf's) and of
the small sections, but not of each part of a gate (its ``gate:`` value,
each input, each attribute), and they report no error: a file they find
anything unusual in (an error, an alias, a tag) is read by the reference
reader instead. An error found later, when the gates are resolved and
wired, is made again from the reference reader's document
(:meth:`Document.reference`), whose places are exact: every path gives the
same message at the same ``FILE:LINE:COL``.

>>> document = read_text('{"inputs": {"x": 2.0}, "outputs": ["x"]}', "g.json")
>>> [key.value for key, _ in document.root.value], document.preread is not None, document.fast
(['inputs', 'outputs'], True, False)
>>> read_text("inputs: {x: !!float 2}\\noutputs: [x]\\n", "g.yaml").preread is None  # a tag: the reference
True
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from yaml.nodes import Node

from gatekit.errors import LoadError
from gatekit.format.events import read_events
from gatekit.format.jsonsource import NotJson, read_json
from gatekit.format.lines import gate_lines
from gatekit.format.parse import CircuitDef, Preread, parse
from gatekit.format.sections import Unusual
from gatekit.format.yamlsource import Reader
from gatekit.limits import limit, read_bounded

__all__ = ["Document", "collector_paused", "read_bytes", "read_file", "read_text"]

_JSON_START = re.compile(r"[ \t\r\n]*\{")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large object graphs.

    Loading allocates hundreds of thousands of long-lived objects and no
    garbage cycles; with the collector on, it rescans them again and again
    (about 3x slower at 100k nodes).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(slots=True)
class Document:
    """A circuit file's root node, the reader that locates it, and what a fast reader took from it.

    It is read to be loaded once: :meth:`gatekit.engine.circuit.Circuit.from_document` lets go of
    the records and the text as soon as it no longer needs them, so that a large file's memory
    is not held twice.
    """

    root: Node
    reader: Reader
    #: the sections a fast reader took (:class:`~gatekit.format.parse.Preread`)
    preread: Preread | None = None
    #: the file's text, kept while it is loaded so that an error can be located
    #: (:meth:`reference`); ``None`` for a document the reference reader composed
    text: str | None = None
    #: whether a fast reader took its gates (whose parts then have no place of their own)
    fast: bool = False

    def parse(self) -> CircuitDef:
        """The circuit definition (:func:`~gatekit.format.parse.parse`); errors located."""
        return parse(self.root, self.reader, self.preread)

    def reference(self) -> Document:
        """The same file composed whole by the reference reader, every node's place kept."""
        if self.text is None:
            return self
        reader = Reader(self.reader.file)
        return Document(reader.compose(self.text), reader)


def read_text(text: str, file: str) -> Document:
    """Read a circuit file's text (``file`` names it in messages).

    :raises LoadError: the text is not well-formed YAML (or JSON), holds more
        than one document, or is empty (the reference reader's errors).
    """
    with collector_paused():
        if _JSON_START.match(text):
            try:
                return _fast(text, file, json=True)
            except NotJson:  # YAML written in flow style, or not well-formed: read as YAML
                pass
            except Unusual:
                return _reference(text, file)
        try:
            return _fast(text, file, json=False)
        except Unusual:
            return _reference(text, file)


def read_bytes(data: bytes, file: str) -> Document:
    """Decode (UTF-8, a BOM allowed; a bad byte located) and read a circuit file's bytes."""
    return read_text(Reader(file).decode(data), file)


def read_file(path: str) -> Document:
    """Read (bounded: :func:`gatekit.limits.read_bounded`) the circuit file at ``path``."""
    text = Reader(path).decode(read_bounded(path, LoadError))  # the bytes freed before it is parsed
    return read_text(text, path)


def _fast(text: str, file: str, *, json: bool) -> Document:
    reader = Reader(file, checked=True)
    read = None if json else _by_lines(text, reader)
    if read is None:
        read = read_json(text, reader) if json else read_events(text, reader)
    root, preread = read
    return Document(root, reader, preread, text, fast=any(preread.gates.values()))


def _by_lines(text: str, reader: Reader) -> tuple[Node, Preread] | None:
    """The file read with its one-line gates taken line by line (:mod:`gatekit.format.lines`).

    ``None`` where the ``gates:`` section is not of that form, or the rest
    of the file does not read back with ``gates: {}`` where the section was
    (the events then read the whole file, as for any other).
    """
    found = gate_lines(text, reader.file)
    if found is None:
        return None
    rest, gates, line = found
    root, preread = read_events(rest, reader)
    stand_ins = [  # the root's gates: {}, where the first gate was (not some other mapping)
        value
        for key, value in root.value
        if key.value == "gates" and value in preread.gates and not preread.gates[value]
    ]
    taken = sum(map(len, preread.leaves.values())) + sum(map(len, preread.gates.values()))
    if (
        len(stand_ins) != 1
        or stand_ins[0].start_mark.line != line
        or taken + len(gates) > limit("GATEKIT_MAX_NODES")
    ):
        return None
    preread.gates[stand_ins[0]] = gates
    return root, preread


def _reference(text: str, file: str) -> Document:
    reader = Reader(file)
    return Document(reader.compose(text), reader)
