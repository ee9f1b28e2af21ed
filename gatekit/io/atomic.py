"""Writing files safely: checked before anything runs, replaced in one step.

Every file gatekit writes (``run --output``, ``draw -o``) goes through
:func:`check_output_path` before the work starts, so a bad path fails fast,
and through :func:`write_atomically`, so an existing file is either left as
it was or fully replaced, never half-written. A file that is replaced keeps
its permissions, and a symbolic link is written through (its target is
replaced; the link stays).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from typing import BinaryIO

from gatekit.errors import Location, UsageError

__all__ = ["check_output_path", "write_atomically"]

#: the temporary file beside the target: short, so any target name that fits its folder fits it too
_TEMPORARY = ".gatekit-{}.tmp"


def _name_max(folder: str) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or an odd file system
        return 255


def check_output_path(path: str | os.PathLike[str], types: tuple[str, ...], what: str) -> str:
    """Refuse, before anything runs, a path that cannot be written; return its extension.

    :param types: the extensions the writer makes (``(".npz",)``).
    :param what: what it writes, for the message (``"results"``).
    :raises UsageError: there is no file name, its type is not one of
        ``types``, it is a folder, its folder does not exist, or its name is
        longer than the folder's file system allows.
    """
    file = os.fspath(path)
    if not file:
        raise UsageError(f"no file name given; {what} can be written to {', '.join(types)}", Location("''"))
    suffix = os.path.splitext(file)[1].lower()
    if suffix not in types:
        problem = f"unsupported file type {suffix!r}" if suffix else "no file extension"
        raise UsageError(f"{problem}; {what} can be written to {', '.join(types)} only", Location(file))
    target = os.path.realpath(file)  # a symbolic link is written through to its target
    if os.path.isdir(target):
        raise UsageError("is a folder, not a file", Location(file))
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write the file: the folder {folder!r} does not exist", Location(file))
    name = os.path.basename(target)
    most = _name_max(folder)
    if len(os.fsencode(name)) > most:
        raise UsageError(
            f"cannot write the file: its name is longer than the {most} bytes allowed", Location(file)
        )
    return suffix


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Make the file at ``path`` with ``write(f)``, replacing any old one in one step.

    ``write`` fills a temporary file in the target's folder, which then
    replaces the target (:func:`os.replace`): an existing file is either left
    as it was or fully replaced, never half-written, and keeps its
    permissions; a symbolic link's target is the file replaced. The
    temporary file is removed whatever stops the writing (an error, Ctrl-C,
    or a SIGTERM that the command line turns into an exception).

    :raises UsageError: writing failed (the temporary file is removed).
    """
    file = os.fspath(path)
    target = os.path.realpath(file)
    folder = os.path.dirname(target) or "."
    temporary = os.path.join(folder, _TEMPORARY.format(secrets.token_hex(6)))
    created = False
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) if os.path.exists(target) else None
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
        )
        created = True
        with os.fdopen(descriptor, "wb") as f:
            if mode is not None:
                os.chmod(temporary, mode)  # replacing a file keeps its permissions
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        if created:
            with contextlib.suppress(OSError):
                os.remove(temporary)
        if isinstance(exc, OSError | ValueError):
            reason = getattr(exc, "strerror", None) or exc
            raise UsageError(f"cannot write the file: {reason}", Location(file)) from None
        raise
