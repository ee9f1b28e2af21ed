"""Writing files safely: checked before anything runs, replaced in one step.

Every file gatekit writes (``run --output``, ``draw -o``) goes through
:func:`check_output_path` before the work starts, so a bad path fails fast,
and through :func:`write_atomically`, so an existing file is either left as
it was or fully replaced, never half-written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from typing import BinaryIO

from gatekit.errors import Location, UsageError

__all__ = ["check_output_path", "write_atomically"]


def check_output_path(path: str | os.PathLike[str], types: tuple[str, ...], what: str) -> str:
    """Refuse, before anything runs, a path that cannot be written; return its extension.

    :param types: the extensions the writer makes (``(".npz",)``).
    :param what: what it writes, for the message (``"results"``).
    :raises UsageError: the type is not one of ``types``, the path is a
        folder, or its folder does not exist.
    """
    file = os.fspath(path)
    suffix = os.path.splitext(file)[1].lower()
    if suffix not in types:
        problem = f"unsupported file type {suffix!r}" if suffix else "no file extension"
        raise UsageError(f"{problem}; {what} can be written to {', '.join(types)} only", Location(file))
    if os.path.isdir(file):
        raise UsageError("is a folder, not a file", Location(file))
    folder = os.path.dirname(file) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write the file: the folder {folder!r} does not exist", Location(file))
    return suffix


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Make the file at ``path`` with ``write(f)``, replacing any old one in one step.

    ``write`` fills a temporary file in the same folder, which then replaces
    ``path`` (:func:`os.replace`): an existing file is either left as it was
    or fully replaced, never half-written.

    :raises UsageError: writing failed (the temporary file is removed).
    """
    file = os.fspath(path)
    folder = os.path.dirname(file) or "."
    temporary = os.path.join(folder, f".{os.path.basename(file)}.{secrets.token_hex(4)}.tmp")
    created = False
    try:
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
        )
        created = True
        with os.fdopen(descriptor, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, file)
    except BaseException as exc:
        if created:
            with contextlib.suppress(OSError):
                os.remove(temporary)
        if isinstance(exc, OSError | ValueError):
            reason = getattr(exc, "strerror", None) or exc
            raise UsageError(f"cannot write the file: {reason}", Location(file)) from None
        raise
