"""The exception tree: every error a user can cause is a :class:`GatekitError`.

Each error carries an optional :class:`Location` so that the CLI can print one
``FILE:LINE:COL: message`` line, and an ``exit_code`` (2 for bad input, 1 for
a failure while running).

Examples
--------
>>> err = GraphError("unknown gate 'mull'", Location("g.yaml", 3, 9))
>>> str(err)
"g.yaml:3:9: unknown gate 'mull'"
>>> err.exit_code
2
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "PLUGIN_FAULTS",
    "CycleError",
    "GatekitError",
    "GraphError",
    "LoadError",
    "Location",
    "PluginError",
    "PluginWarning",
    "RenderError",
    "RunError",
    "UsageError",
    "describe_exception",
    "printable",
    "quoted",
]

#: What a call into a plugin may raise and gatekit turns into a message naming the plugin:
#: any exception, and SystemExit (a hook that calls sys.exit must not end gatekit silently).
#: KeyboardInterrupt is the user's, and passes.
PLUGIN_FAULTS = (Exception, SystemExit)


def printable(text: str) -> str:
    """``text`` with every control or format character escaped (``\\x1b``, ``\\u202e``); newlines kept.

    Messages quote what files and plugins hold; a terminal must see no
    escape sequence, carriage return or bidirectional override of theirs.

    >>> printable("red \\x1b[31m, gone\\r, and on\\nthe next line")
    'red \\\\x1b[31m, gone\\\\r, and on\\nthe next line'
    """
    if text.isprintable():
        return text
    return "".join(
        ch if ch == "\n" or ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def quoted(text: str, limit: int = 60) -> str:
    """``text`` quoted for a message: escaped, and only its start when it is longer than ``limit``.

    Messages quote what a file holds, and a file may hold anything: a
    megabyte on one line, or a whole other file (``imports: [/etc/passwd]``).

    >>> quoted("mull"), quoted("x" * 100, limit=20)
    ("'mull'", "'xxxxxxxxxx... (100 characters)'")
    """
    if len(text) <= limit:
        return repr(text)
    return repr(f"{text[: limit - 10]}... ({len(text)} characters)")


def describe_exception(exc: BaseException) -> str:
    """``"ValueError: bad input"``, for a message; safe for an exception whose ``__str__`` raises.

    >>> class Odd(Exception):
    ...     def __str__(self):
    ...         raise RuntimeError("no")
    >>> describe_exception(ValueError("bad input")), describe_exception(Odd())
    ('ValueError: bad input', 'Odd (its message could not be shown: RuntimeError)')
    """
    name = type(exc).__name__
    try:
        text = str(exc)
    except Exception as inner:
        return f"{name} (its message could not be shown: {type(inner).__name__})"
    return f"{name}: {text}" if text else name


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a source file; ``line`` and ``column`` count from 1.

    An error about a whole file has no line; one about a line of a data file
    (a csv row) has no column. The place reads ``FILE``, ``FILE:LINE`` or
    ``FILE:LINE:COL``; ``FILE`` may also name a command-line option
    (``--set x0``) where that is where the bad value came from.

    >>> str(Location("g.yaml", 3, 9)), str(Location("data.csv", 4)), str(Location("g.yaml"))
    ('g.yaml:3:9', 'data.csv:4', 'g.yaml')
    """

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


class GatekitError(Exception):
    """Root of gatekit's errors: a message, and where in a file it happened.

    ``exit_code`` is what the CLI exits with: 2 for invalid input (the default),
    1 for a failure while running.
    """

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        if self.location is None:
            return printable(self.message)
        return printable(f"{self.location}: {self.message}")


class LoadError(GatekitError):
    """The file cannot be read, is not well-formed YAML, or uses YAML that circuits refuse.

    Tags that are not plain data (``!!python/object``) and aliases (``*name``)
    are load errors: the YAML itself is refused, before any of it is read as
    a circuit.
    """


class GraphError(GatekitError):
    """The circuit is well-formed YAML but not a valid circuit."""


class CycleError(GraphError):
    """The circuit's wires form a cycle; ``cycle`` lists its nodes in order."""

    def __init__(self, message: str, location: Location | None, cycle: list[str]) -> None:
        super().__init__(message, location)
        self.cycle = cycle


class PluginError(GatekitError):
    """A plugin is broken: bad hooks, a bad gate spec, a gate name claimed twice."""


class UsageError(GatekitError):
    """A bad argument: an unknown leaf in an override, a malformed ``--set``."""


class PluginWarning(UserWarning):
    """A plugin was set aside (it failed to load, or claims a taken gate name)."""


class RenderError(GatekitError):
    """Graphviz's ``dot`` failed or took too long while drawing; nothing was written.

    Exit code 1, as for a gate that fails: the circuit and the command line
    were valid (the file type and ``dot`` itself are checked before anything
    runs), and what failed is a program while it worked.
    """

    exit_code = 1


class RunError(GatekitError):
    """A gate failed while the circuit ran (its plugin raised); ``node`` names it."""

    exit_code = 1

    def __init__(self, message: str, location: Location | None = None, node: str | None = None) -> None:
        super().__init__(message, location)
        self.node = node
