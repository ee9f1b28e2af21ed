"""Text from a data file, quoted in a message: cut short when the file holds a very long one.

A key, a column name or a cell can be megabytes long; the message that names
it stays one short line.

>>> shown("x0"), shown("x" * 200, most=4)
("'x0'", "'xxxx'... (200 characters)")
"""

from __future__ import annotations

__all__ = ["cut", "shown"]


def shown(text: str, most: int = 100) -> str:
    """``repr(text)``, or the repr of its first ``most`` characters and its length."""
    if len(text) <= most:
        return repr(text)
    return f"{text[:most]!r}... ({len(text):,} characters)"


def cut(text: str, most: int = 100) -> str:
    """``text`` unquoted (a number's digits), cut short like :func:`shown`."""
    return text if len(text) <= most else f"{text[:most]}... ({len(text):,} characters)"
