"""The ``gatekit`` command line: run, validate, gates, check, explain, draw.

Every error a user can cause prints one line, ``error: FILE:LINE:COL:
message``, and exits 2 (bad input) or 1 (a failure while running); never a
traceback. A bad command line prints the usage of the subcommand given, then
its one ``error:`` line. :mod:`~gatekit.cli.parser` holds the words,
:mod:`~gatekit.cli.commands` what each subcommand does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from gatekit.cli.parser import CommandLineError, build
from gatekit.errors import GatekitError, printable

__all__ = ["main"]


class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: unwind (removing any half-written file), then exit 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    raise Stopped(signum)


def _error(text: str) -> None:
    """``error: TEXT`` on stderr, on one line, with no control character of the text's own."""
    lines = [line.strip() for line in printable(text).splitlines() if line.strip()]
    print("error: " + "; ".join(lines), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Every way a command can end that is not success prints one ``error:``
    line and no traceback: 2 for bad input (a bad command line also shows
    its subcommand's usage), 1 for a failure while running, 130 for Ctrl-C,
    128 + N for signal N (SIGTERM, SIGHUP). ``gatekit`` alone lists the
    commands.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build()
    if not arguments:
        print(parser.format_help(), end="")
        return 0
    handlers = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            handlers[signum] = signal.signal(signum, _stop)
    try:
        try:
            args, unknown = parser.parse_known_args(arguments)
            if "command" not in args:
                parser.error("give a command (gatekit --help lists them)")
            if unknown:
                args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        except CommandLineError as bad:
            sys.stderr.write(bad.parser.format_usage())
            _error(f"{bad.parser.prog}: {bad.message}")
            return 2
        return int(args.command(args))
    except BrokenPipeError:  # `gatekit ... | head`: the reader has gone, so be quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except GatekitError as exc:
        # One line, always: a plugin's exception or pluggy's validation
        # message may span several.
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Stopped as stop:
        _error(f"stopped by {signal.Signals(stop.signum).name}")
        return 128 + stop.signum
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
