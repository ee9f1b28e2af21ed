"""Bounds on what a circuit or data file may make gatekit allocate.

Circuit and data files come from other people. These limits stop a small
file from turning into a huge amount of work (a module used ten times inside
a module used ten times, ..., expands exponentially; a compressed ``.npz`` can
hold gigabytes of zeros) with a clear, located error instead of a machine
that swaps or hangs. Each limit has a generous default and an environment
variable that raises it, read at the time of the check:

==============================  ============================  ===========
environment variable            what                          default
==============================  ============================  ===========
``GATEKIT_MAX_FILE_BYTES``      a circuit or data file's size  256 MiB
``GATEKIT_MAX_NODES``           inputs + params + gates,       5,000,000
                                after modules are expanded
``GATEKIT_MAX_ARRAY_ELEMENTS``  elements of one value read     100,000,000
                                from a file
==============================  ============================  ===========

YAML aliases are refused outright (see :mod:`gatekit.format.yamlsource`),
and arrays have at most :data:`MAX_DIMENSIONS` dimensions.

>>> limit("GATEKIT_MAX_NODES")
5000000
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from gatekit.errors import GatekitError, Location, UsageError

__all__ = ["DEFAULTS", "MAX_DIMENSIONS", "exceeded", "limit", "read_bounded", "read_stream"]

#: The most dimensions a value may have (NumPy 1 allows 32, NumPy 2 allows 64).
MAX_DIMENSIONS = 32

DEFAULTS = {
    "GATEKIT_MAX_FILE_BYTES": 256 * 1024 * 1024,
    "GATEKIT_MAX_NODES": 5_000_000,
    "GATEKIT_MAX_ARRAY_ELEMENTS": 100_000_000,
}


def limit(name: str) -> int:
    """The limit ``name``: the environment's value if set, else the default.

    :raises UsageError: the environment holds something that is not a
        positive integer.
    """
    text = os.environ.get(name)
    if text is None or not text.strip():
        return DEFAULTS[name]
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"{name}={text!r}: expected a positive whole number")
    return value


def exceeded(name: str, what: str) -> str:
    """The end of an error message: which limit, its value, how to raise it."""
    return f"{what} exceeds the limit of {limit(name):,} (set {name} to raise it)"


CHUNK = 1 << 20  # read a megabyte at a time: the limit is never allocated up front


def read_bounded(path: str, error: type[GatekitError] = UsageError) -> bytes:
    """The bytes of the file at ``path``, at most ``GATEKIT_MAX_FILE_BYTES`` of them.

    Every circuit and data file is read here. Only a regular file is read:
    a pipe or a device (``/dev/zero``, a FIFO, a symlink to either) would be
    read forever or wait forever, and is refused before it is opened. The
    file is read in chunks, so a limit of many gigabytes allocates nothing
    until the data is there.

    :raises GatekitError: of class ``error``, placed at the file: it cannot
        be read, is not a regular file, or is larger than the limit.
    """
    place = Location(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise error("cannot read the file: not a regular file (a pipe, a device or a folder)", place)
        with open(path, "rb") as f:
            return read_stream(f, place, error)
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror or exc}", place) from None
    except ValueError as exc:  # a path holding a NUL character
        raise error(f"cannot read the file: {exc}", Location(repr(path))) from None


def read_stream(stream: BinaryIO, place: Location, error: type[GatekitError] = UsageError) -> bytes:
    """The bytes of an open ``stream`` (standard input), at most ``GATEKIT_MAX_FILE_BYTES``.

    :raises GatekitError: of class ``error``, at ``place``: the stream holds more.
    """
    most = limit("GATEKIT_MAX_FILE_BYTES")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(CHUNK, most + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > most:
            raise error(f"the file's size {exceeded('GATEKIT_MAX_FILE_BYTES', 'in bytes')}", place)
