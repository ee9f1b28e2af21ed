"""What a name in a circuit file is: a node, a module, a gate or an attribute.

A name starts with a letter or ``_``, holds only letters, digits and
``_``, and has at most :data:`MAX_LENGTH` characters; so ``/``, which joins
the names of gates expanded from modules (``f/wx0``), can never occur in a
name written in a file, and a message that names something stays short.

>>> is_name("w0"), is_name("_tmp"), is_name("0w"), is_name("f/wx0"), is_name("w" * 201)
(True, True, False, False, False)
"""

from __future__ import annotations

import re

__all__ = ["MAX_LENGTH", "NAME_PATTERN", "is_name", "name_problem"]

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_LENGTH = 200


def is_name(text: object) -> bool:
    """Whether ``text`` is a valid name (what :data:`NAME_PATTERN` matches, in two string methods)."""
    return isinstance(text, str) and len(text) <= MAX_LENGTH and text.isascii() and text.isidentifier()


def name_problem(text: str) -> str | None:
    """Why ``text`` is not a valid name, as the end of a sentence; ``None`` if it is one.

    >>> name_problem("x-1")
    'a name starts with a letter or _ and holds only letters, digits and _'
    """
    if NAME_PATTERN.fullmatch(text) is None:
        return "a name starts with a letter or _ and holds only letters, digits and _"
    if len(text) > MAX_LENGTH:
        return f"a name has at most {MAX_LENGTH} characters, this one {len(text):,}"
    return None
