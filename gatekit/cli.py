"""The ``gatekit`` command line: run, validate, gates, check, explain, draw.

Every error a user can cause prints one line, ``error: FILE:LINE:COL:
message``, and exits 2 (bad input) or 1 (a gate failed while running); never
a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import gatekit
from gatekit import testing
from gatekit.api import Circuit, load
from gatekit.engine.circuit import Result
from gatekit.errors import GatekitError, Location, PluginWarning, UsageError, printable
from gatekit.format.yamlsource import Reader
from gatekit.io.inputs import check_leaf_names, read_inputs
from gatekit.io.outputs import check_results_path, write_outputs
from gatekit.plugin.registry import GateRegistry, default_registry
from gatekit.views import draw, explain, report
from gatekit.views.text import json_text
from gatekit.views.trace import trace

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
    line and no traceback: 2 for bad input, 1 for a failure while running,
    130 for Ctrl-C, 128 + N for signal N (SIGTERM, SIGHUP).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            handlers[signum] = signal.signal(signum, _stop)
    try:
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


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-p",
        dest="plugins",
        action="append",
        default=[],
        metavar="NAME",
        help="load the plugin module NAME; -p no:NAME blocks plugin NAME",
    )
    leaf_options = argparse.ArgumentParser(add_help=False)
    leaf_options.add_argument(
        "--inputs",
        metavar="FILE",
        help="read inputs and params by name from FILE (.npz, .csv with a header row, .json)",
    )
    leaf_options.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override an input or param (a number, or a YAML list like [1, 2]); applies after --inputs",
    )
    circuit_options = argparse.ArgumentParser(add_help=False, parents=[leaf_options])
    circuit_options.add_argument("graph", metavar="GRAPH", help="a circuit file (.yaml)")

    parser = argparse.ArgumentParser(
        prog="gatekit", description="Build circuits of gates and backpropagate through them."
    )
    parser.add_argument("--version", action="version", version=f"gatekit {gatekit.__version__}")
    commands = parser.add_subparsers(metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run", parents=[common, circuit_options], help="forward and backward; outputs and gradients"
    )
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument(
        "--check-finite",
        action="store_true",
        help="stop at the first gate that produces NaN or infinity (forward or backward); exit 1",
    )
    run.add_argument(
        "--output",
        metavar="FILE.npz",
        help="also save outputs, gradients and every value to FILE.npz (keys outputs/NAME, grads/NAME, "
        "values/NAME)",
    )
    run.set_defaults(command=_run)

    check = commands.add_parser("validate", parents=[common], help="check a circuit without running it")
    check.add_argument("graph", metavar="GRAPH", help="a circuit file (.yaml)")
    check.set_defaults(command=_validate)

    gates = commands.add_parser("gates", parents=[common], help="list the installed gates")
    gates.add_argument("--json", action="store_true", help="print a JSON list")
    gates.set_defaults(command=_gates)

    check = commands.add_parser(
        "check",
        parents=[common, leaf_options],
        help="check gradients against central differences: one gate, or a circuit",
        description="Check gradients against central differences (float64). `check --gate NAME` "
        "checks one installed gate at random points in its domain; `check GRAPH` checks every "
        "gate of the circuit at the circuit's own values, then the circuit end to end. "
        "Exit 1 when a gradient disagrees.",
    )
    check.add_argument("graph", metavar="GRAPH", nargs="?", help="a circuit file (.yaml)")
    check.add_argument("--gate", metavar="NAME", help="check one installed gate instead of a circuit")
    check.add_argument("--points", type=int, default=5, metavar="N", help="random points per shape (--gate)")
    check.add_argument("--seed", type=int, default=0, help="seed of the random points (--gate)")
    check.set_defaults(command=_check)

    explain = commands.add_parser(
        "explain",
        parents=[common, circuit_options],
        help="the forward and backward passes gate by gate, for learning backprop",
        description="Run the circuit and write out every step: each gate's inputs and output, then, "
        "in reverse, the gradient arriving at each gate, each local gradient, its product with the "
        "upstream gradient, and how the products add up into each input's gradient. A module use "
        "is one gate, whose wires carry what comes back through the whole module; --expand shows "
        "the gates inside instead.",
    )
    explain.add_argument("--json", action="store_true", help="print one JSON object, at full precision")
    explain.add_argument(
        "--expand", action="store_true", help="a row for every gate inside module uses (default: one per use)"
    )
    explain.add_argument(
        "--digits", type=int, default=4, metavar="N", help="significant digits in the text (default 4)"
    )
    explain.set_defaults(command=_explain)

    drawing = commands.add_parser(
        "draw",
        parents=[common, circuit_options],
        help="draw the circuit with values and gradients on its wires (.dot, .svg, .png)",
        description="Draw the circuit left to right with each wire's forward value (green) and the "
        "gradient sent back along it (red). FILE's extension picks the format: .dot is Graphviz text; "
        ".svg and .png run Graphviz's `dot` program (the system package graphviz). Above "
        f"{draw.LABEL_LIMIT} gates the wires are left unlabelled. A module use is one node; --expand "
        "draws the gates inside, boxed per module use.",
    )
    drawing.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="FILE.dot, FILE.svg or FILE.png"
    )
    drawing.add_argument("--no-grads", action="store_true", help="values only, no gradients")
    drawing.add_argument(
        "--expand",
        action="store_true",
        help="draw every gate inside module uses, boxed per use (default: one node per use)",
    )
    drawing.add_argument("--precision", type=int, default=2, metavar="N", help="decimals shown (default 2)")
    drawing.set_defaults(command=_draw)
    return parser


def _bounded(option: str, value: int, low: int, high: int, what: str) -> None:
    """Refuse an option's number outside ``low..high`` (``what`` the number counts), before any work."""
    if not low <= value <= high:
        unit = f" {what}" if what else ""
        raise UsageError(f"{option}: give a whole number from {low:,} to {high:,}{unit}, got {value:,}")


def _registry(args: argparse.Namespace) -> GateRegistry:
    """The gates for this command; plugins that were set aside are warned about once."""
    plugins = [p for p in args.plugins if not p.startswith("no:")]
    blocked = [p[3:] for p in args.plugins if p.startswith("no:")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)  # printed below, as one line each
        registry = default_registry(tuple(plugins), tuple(blocked))
    if not getattr(args, "warned", False):
        for problem in registry.problems:
            print(f"warning: {printable(problem)}", file=sys.stderr)
        args.warned = True
    return registry


def _overrides(items: Iterable[str]) -> dict[str, tuple[Any, Location]]:
    """Each ``--set NAME=VALUE``: its value, read as a circuit file's value is, and its place."""
    found: dict[str, tuple[Any, Location]] = {}
    for item in items:
        place = Location(f"--set {item}")
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError("expected NAME=VALUE, for example --set x0=1.5", place)
        reader = Reader(place.file)
        try:
            value = reader.value(reader.compose(text), f"the value of {name!r}")
        except GatekitError as exc:  # the value's problem, placed at the option rather than in it
            raise UsageError(exc.message, place) from None
        found[name] = (value, place)
    return found


def _leaf_values(args: argparse.Namespace, circuit: Circuit) -> dict[str, Any]:
    """The values of ``--inputs FILE``, then the ``--set`` ones on top, every name checked."""
    overrides = _overrides(args.overrides)
    for name, (_, place) in overrides.items():
        check_leaf_names(circuit, [name], "name", place)
    values = read_inputs(args.inputs, circuit) if args.inputs else {}
    return values | {name: value for name, (value, _) in overrides.items()}


def _load(args: argparse.Namespace) -> Circuit:
    return load(args.graph, registry=_registry(args))


def _run(args: argparse.Namespace) -> int:
    if args.output is not None:
        check_results_path(args.output)
    _overrides(args.overrides)  # a malformed --set fails before the circuit is read
    circuit = _load(args)
    result = circuit.run(_leaf_values(args, circuit), check_finite=args.check_finite)
    if args.output is not None:
        write_outputs(args.output, result)
    if args.json:
        print(json_text(_as_json(result)))
    else:
        print("\n".join(report.run_lines(circuit, result)))
    return 0


def _as_json(result: Result) -> dict[str, Any]:
    return {"outputs": result.outputs, "grads": result.grads, "values": result.values}


def _validate(args: argparse.Namespace) -> int:
    circuit = _load(args)
    for location, message in circuit.warnings:
        print(f"warning: {location}: {message}", file=sys.stderr)
    leaves = len(circuit.inputs) + len(circuit.params)
    print(
        f"{circuit.file}: ok ({leaves} leaves, {len(circuit.plan.forward)} gates, "
        f"outputs: {', '.join(circuit.outputs)})"
    )
    return 0


def _gates(args: argparse.Namespace) -> int:
    registry = _registry(args)
    if args.json:
        print(json_text(report.gate_entries(registry)))
    else:
        print("\n".join(report.gate_lines(registry)))
    return 0


def _check(args: argparse.Namespace) -> int:
    if (args.gate is None) == (args.graph is None):
        raise UsageError("check: give either GRAPH or --gate NAME")
    if args.gate is not None and (args.overrides or args.inputs):
        raise UsageError("check --gate: --set and --inputs apply to a circuit (check GRAPH)")
    registry = _registry(args)
    if args.gate is not None:
        gate = registry.get(args.gate)
        if gate is None:
            raise UsageError(
                f"check --gate: no installed gate is named {args.gate!r} "
                f"(installed: {', '.join(sorted(registry))})"
            )
        _bounded("check --points", args.points, 1, 10_000, "points")
        _bounded("check --seed", args.seed, 0, 2**63 - 1, "")
        arities = [gate.spec.arity, gate.spec.arity + 1] if gate.spec.variadic else [gate.spec.arity]
        rows = []
        for arity in arities:
            rows += testing.check_gate(
                gate, arity=arity, count=args.points, seed=args.seed, raise_on_failure=False
            )
    else:
        _overrides(args.overrides)
        circuit = load(args.graph, registry=registry)
        rows = testing.check_circuit(circuit, _leaf_values(args, circuit), raise_on_failure=False)
    print("\n".join(report.check_lines(rows)))
    for row in rows:
        if not row.ok:
            print(f"error: {row.describe()}", file=sys.stderr)
    return 0 if all(row.ok for row in rows) else 1


def _explain(args: argparse.Namespace) -> int:
    _bounded("explain --digits", args.digits, 1, 17, "significant digits (a float64 holds 17)")
    _overrides(args.overrides)
    circuit = _load(args)
    steps = trace(circuit, _leaf_values(args, circuit))
    if args.json:
        print(json_text(explain.explain_json(steps, expand=args.expand)))
    else:
        print("\n".join(explain.explain_lines(circuit, steps, args.digits, expand=args.expand)))
    return 0


def _draw(args: argparse.Namespace) -> int:
    draw.check_path(args.output)  # the file type, its folder, Graphviz: before anything runs
    _bounded("draw --precision", args.precision, 0, 17, "decimals")
    _overrides(args.overrides)
    circuit = _load(args)
    values = _leaf_values(args, circuit)
    text = draw.to_dot(circuit, values, grads=not args.no_grads, precision=args.precision, expand=args.expand)
    draw.save(args.output, text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
