"""What a name in a circuit file is: a node, a module, a gate or an attribute.

A name starts with a letter or ``_`` and holds only letters, digits and
``_``; so ``/``, which joins the names of gates expanded from modules
(``f/wx0``), can never occur in a name written in a file.

>>> is_name("w0"), is_name("_tmp"), is_name("0w"), is_name("f/wx0")
(True, True, False, False)
"""

from __future__ import annotations

import re

__all__ = ["NAME_PATTERN", "is_name"]

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_name(text: object) -> bool:
    """Whether ``text`` is a valid name."""
    return isinstance(text, str) and NAME_PATTERN.fullmatch(text) is not None
