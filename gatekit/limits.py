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

from gatekit.errors import UsageError

__all__ = ["DEFAULTS", "MAX_DIMENSIONS", "exceeded", "limit"]

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
