"""One function per subcommand: read the arguments, call the library, print.

Each returns the exit code; every problem is a :class:`~gatekit.GatekitError`
that :func:`gatekit.cli.main` prints as one ``error:`` line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit import testing
from gatekit.api import Circuit
from gatekit.engine import backends
from gatekit.engine.jacobian import check_of, check_wrt, compute_jacobian, plan_jacobian
from gatekit.engine.library import check_library
from gatekit.errors import GatekitError, LoadError, Location, PluginWarning, UsageError, printable
from gatekit.format.document import Document, read_bytes, read_file
from gatekit.format.parse import is_library
from gatekit.format.yamlsource import Reader
from gatekit.io.inputs import INPUT_TYPES, check_leaf_names, read_array, read_inputs
from gatekit.io.outputs import check_jacobian_path, check_results_path, write_jacobian, write_outputs
from gatekit.limits import read_stream
from gatekit.plugin.registry import GateRegistry, default_registry
from gatekit.views import draw as drawing
from gatekit.views import explain as explaining
from gatekit.views import jacobian as jacobians
from gatekit.views import player, report
from gatekit.views.schema import circuit_schema
from gatekit.views.text import json_text
from gatekit.views.trace import trace

__all__ = ["check", "draw", "explain", "gates", "jacobian", "run", "schema", "validate"]

STDIN = "-"
#: Infinity and not-a-number as people type them on a command line (YAML wants .inf and .nan).
_FLOAT_WORDS = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"}


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


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


def _document(graph: str) -> Document:
    """The circuit file ``graph``, a file or ``-`` (standard input, named ``<stdin>``), read."""
    if graph == STDIN:
        return read_bytes(read_stream(sys.stdin.buffer, Location("<stdin>"), LoadError), "<stdin>")
    return read_file(graph)


def _load(args: argparse.Namespace, registry: GateRegistry | None = None) -> Circuit:
    document = _document(args.graph)
    return Circuit.from_document(document, registry if registry is not None else _registry(args))


def _overrides(items: Iterable[str], flag: str = "--set") -> dict[str, tuple[Any, Location]]:
    """Each ``--set NAME=VALUE`` (or ``flag``): its value, read as a file's value is, and its place."""
    found: dict[str, tuple[Any, Location]] = {}
    for item in items:
        place = Location(f"{flag} {item}")
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"expected NAME=VALUE, for example {flag} x0=1.5", place)
        if not text.strip():
            raise UsageError(f"the value is missing: write {flag} {name}=VALUE", place)
        if name in found:
            what = "set" if flag == "--set" else "given"
            raise UsageError(f"{name!r} is {what} twice (first by {found[name][1]})", place)
        found[name] = (_value_text(text, place, f"the value of {name!r}"), place)
    return found


def _value_text(text: str, place: Location, what: str) -> Any:
    """A value written on the command line, read as a circuit file's value is."""
    if text.strip().lower() in _FLOAT_WORDS:  # inf, -inf, nan: as float() reads them
        return float(text)
    reader = Reader(place.file)
    try:
        return reader.value(reader.compose(text), what)
    except GatekitError as exc:  # the value's problem, placed at the option rather than in it
        raise UsageError(exc.message, place) from None


def _seed_grad(text: str | None, of: str) -> Any:
    """``--seed-grad VALUE|FILE``: a data file when one has that name, else a value."""
    if text is None:
        return None
    if os.path.splitext(text)[1].lower() in INPUT_TYPES:
        return read_array(text, of)
    return _value_text(text, Location(f"--seed-grad {text}"), "the seed gradient")


def _tangents(
    found: Mapping[str, tuple[Any, Location]], circuit: Circuit, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The ``--tangent NAME=VALUE`` items (``found``, read by :func:`_overrides`), checked.

    Each name must be a leaf's, each value a number or of the shape of the
    leaf's value in ``values`` (``--inputs``, ``--set``; the circuit's own
    for a leaf not among them).
    """
    if not found:
        return None
    plan = circuit.plan
    for name, (value, place) in found.items():
        check_leaf_names(circuit, [name], "name", place)
        leaf = np.shape(values[name] if name in values else plan.initial[plan.leaves[name]])
        if np.shape(value) not in ((), leaf):
            raise UsageError(
                f"the tangent has shape {np.shape(value)}; {name!r} has shape {leaf} (give a number, or an "
                "array of that shape)",
                place,
            )
    return {name: value for name, (value, _) in found.items()}


def _gradient_of(args: argparse.Namespace, circuit: Circuit) -> tuple[str | None, Any]:
    """``--of NAME`` (checked before anything runs) and ``--seed-grad``: what backprop starts from."""
    of = args.of
    if of is not None:
        circuit.plan_for(of)  # an unknown name fails before anything runs
    return of, _seed_grad(args.seed_grad, of or circuit.outputs[0])


def _leaf_values(
    args: argparse.Namespace, circuit: Circuit, overrides: Mapping[str, tuple[Any, Location]] | None = None
) -> dict[str, Any]:
    """The values of ``--inputs FILE``, then the ``--set`` ones on top, every name checked.

    ``overrides`` are the ``--set`` items already read by :func:`_overrides`, if they were.
    """
    if overrides is None:
        overrides = _overrides(args.overrides)
    for name, (_, place) in overrides.items():
        check_leaf_names(circuit, [name], "name", place)
    values = read_inputs(args.inputs, circuit) if args.inputs else {}
    return values | {name: value for name, (value, _) in overrides.items()}


@dataclass(frozen=True, slots=True)
class _Request:
    """What ``run``, ``explain``, ``draw`` and ``check GRAPH`` are asked to run, every flag checked."""

    circuit: Circuit
    values: dict[str, Any]  # --inputs, then --set
    of: str | None  # --of
    seed: Any  # --seed-grad (None: 1)
    tangents: dict[str, Any] | None  # --tangent (None: no forward mode)


def _request(args: argparse.Namespace, registry: GateRegistry | None = None) -> _Request:
    """The circuit and its run's flags; a malformed --set or --tangent fails before the file is read."""
    overrides = _overrides(args.overrides)
    tangent_items = _overrides(getattr(args, "tangents", []), "--tangent")
    circuit = _load(args, registry)
    values = _leaf_values(args, circuit, overrides)
    of, seed = _gradient_of(args, circuit)
    return _Request(circuit, values, of, seed, _tangents(tangent_items, circuit, values))


def _on_backend(backend: backends.Backend, circuit: Circuit, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every leaf's value (``values``, else the file's) as an array of ``backend``'s library."""
    plan = circuit.plan
    every = {name: plan.initial[slot] for name, slot in plan.leaves.items()} | dict(values)
    return {name: backend.asarray(value) for name, value in every.items()}


def run(args: argparse.Namespace) -> int:
    if args.output is not None:
        check_results_path(args.output)
    backend = backends.load(args.backend, args.device)  # not installed: said before the file is read
    asked = _request(args)
    circuit, of, tangents = asked.circuit, asked.of, asked.tangents
    values = asked.values if backend.namespace is None else _on_backend(backend, circuit, asked.values)
    result = circuit.run(
        values, check_finite=args.check_finite, of=of, seed_grad=asked.seed, tangents=tangents
    )
    result = result.on_host()  # another library's arrays print and save as NumPy's
    if args.output is not None:
        write_outputs(args.output, result)
    if args.json:
        shown: dict[str, Any] = {"outputs": result.outputs, "grads": result.grads, "values": result.values}
        if of is not None:
            shown["of"] = result.of
        if tangents is not None:
            shown["tangents"] = result.tangents
        print(json_text(shown))
    else:
        print("\n".join(report.run_lines(circuit, result, tangents)))
    return 0


def jacobian(args: argparse.Namespace) -> int:
    if args.output is not None:
        check_jacobian_path(args.output)
    _overrides(args.overrides)  # a malformed --set fails before the circuit is read
    circuit = _load(args)
    for name in args.of:
        check_of(circuit, name, Location(f"--of {name}"))
    for name in args.wrt:
        check_wrt(circuit, name, Location(f"--wrt {name}"))
    values = _leaf_values(args, circuit)
    plan = plan_jacobian(circuit, values, of=args.of or None, wrt=args.wrt or None, mode=args.mode)
    if not args.json and args.output is None:
        jacobians.check_table(plan)  # too large to print: said before the passes run
    result = compute_jacobian(circuit, plan, values)
    if args.output is not None:
        write_jacobian(args.output, result)
    if args.json:
        print(json_text(jacobians.jacobian_json(result)))
    else:
        print("\n".join(jacobians.jacobian_lines(result, written=args.output)))
    return 0


def validate(args: argparse.Namespace) -> int:
    registry = _registry(args)
    document = _document(args.graph)
    if is_library(document.root):
        library = check_library(document.root, document.reader, registry)
        brought = f"; its imports bring {', '.join(library.imported)}" if library.imported else ""
        modules = ", ".join(library.modules) or "none"
        print(f"{library.file}: ok (a module library: {_count(len(library.modules), 'module', 'modules')}, "
              f"{modules}{brought})")  # fmt: skip
        return 0
    circuit = Circuit.from_document(document, registry)
    for location, message in circuit.warnings:
        print(f"warning: {location}: {message}", file=sys.stderr)
    leaves = _count(len(circuit.inputs) + len(circuit.params), "leaf", "leaves")
    gates_ = _count(len(circuit.plan.forward), "gate", "gates")
    print(f"{circuit.file}: ok ({leaves}, {gates_}, outputs: {', '.join(circuit.outputs)})")
    return 0


def gates(args: argparse.Namespace) -> int:
    registry = _registry(args)
    if args.json:
        print(json_text(report.gate_entries(registry)))
    else:
        print("\n".join(report.gate_lines(registry)))
    return 0


def check(args: argparse.Namespace) -> int:
    if (args.gate is None) == (args.graph is None):
        raise UsageError("check: give either GRAPH or --gate NAME")
    if args.gate is not None and (args.overrides or args.inputs):
        raise UsageError("check --gate: --set and --inputs apply to a circuit (check GRAPH)")
    if args.gate is not None and (args.of is not None or args.seed_grad is not None):
        raise UsageError("check --gate: --of and --seed-grad apply to a circuit (check GRAPH)")
    if args.gate is None and (args.points is not None or args.seed is not None):
        given = "--points" if args.points is not None else "--seed"
        raise UsageError(
            f"check GRAPH: {given} applies to check --gate (a circuit is checked at its own values)"
        )
    if args.gate is None and (args.backend != "numpy" or args.device is not None):
        given = "--backend" if args.backend != "numpy" else "--device"
        raise UsageError(
            f"check GRAPH: {given} applies to check --gate (run GRAPH --backend runs a circuit there)"
        )
    backend = backends.load(args.backend, args.device)
    registry = _registry(args)
    if args.gate is not None:
        gate = registry.get(args.gate)
        if gate is None:
            raise UsageError(
                f"check --gate: no installed gate is named {args.gate!r} "
                f"(installed: {', '.join(sorted(registry))})"
            )
        points = 5 if args.points is None else args.points
        seed = 0 if args.seed is None else args.seed
        _bounded("check --points", points, 1, 10_000, "points")
        _bounded("check --seed", seed, 0, 2**63 - 1, "")
        arities = [gate.spec.arity, gate.spec.arity + 1] if gate.spec.variadic else [gate.spec.arity]
        rows = []
        for arity in arities:
            rows += testing.check_gate(
                gate,
                arity=arity,
                count=points,
                seed=seed,
                raise_on_failure=False,
                backend=None if backend.namespace is None else backend,
            )
    else:
        asked = _request(args, registry)
        rows = testing.check_circuit(
            asked.circuit, asked.values, of=asked.of, seed_grad=asked.seed, raise_on_failure=False
        )
    print("\n".join(report.check_lines(rows)))
    for row in rows:
        if not row.ok:
            print(f"error: {printable(row.describe())}", file=sys.stderr)
    return 0 if all(row.ok for row in rows) else 1


def schema(args: argparse.Namespace) -> int:
    print(json.dumps(circuit_schema(_registry(args)), indent=2))
    return 0


def _tangents_alone(args: argparse.Namespace, command: str, instead: str) -> None:
    """Refuse ``--tangent`` with ``--of``, ``--seed-grad`` or ``--no-grads``: forward mode replaces them."""
    if not args.tangents:
        return
    if args.of is not None or args.seed_grad is not None:
        given = "--of" if args.of is not None else "--seed-grad"
        raise UsageError(
            f"{command}: {given} chooses the gradient of the backward pass, and {command} --tangent "
            f"{instead}: give one or the other"
        )
    if getattr(args, "no_grads", False):
        raise UsageError(
            f"{command}: --no-grads leaves the gradients out, and {command} --tangent {instead}: "
            "give one or the other"
        )


def explain(args: argparse.Namespace) -> int:
    _bounded("explain --digits", args.digits, 1, 17, "significant digits (a float64 holds 17)")
    _tangents_alone(args, "explain", "writes the forward-mode pass instead")
    asked = _request(args)
    circuit, of = asked.circuit, asked.of
    steps = trace(circuit, asked.values, of=of, seed_grad=asked.seed, tangents=asked.tangents)
    if args.json:
        data = explaining.explain_json(steps, expand=args.expand)
        print(json_text({"of": of, **data} if of is not None else data))
    else:
        print("\n".join(explaining.explain_lines(circuit, steps, args.digits, expand=args.expand)))
    return 0


def draw(args: argparse.Namespace) -> int:
    # the file type, its folder, Graphviz: before anything runs
    fmt = drawing.check_path(args.output, drawing.FORMATS + player.FORMATS)
    _bounded("draw --precision", args.precision, 0, 17, "decimals")
    _tangents_alone(args, "draw", "shows the tangents instead")
    asked = _request(args)
    circuit, values = asked.circuit, asked.values
    options = {
        "grads": not args.no_grads,
        "precision": args.precision,
        "expand": args.expand,
        "of": asked.of,
        "seed_grad": asked.seed,
        "tangents": asked.tangents,
    }
    if fmt == "html":  # the page that plays the run
        player.write(args.output, circuit, values, **options)
    else:
        drawing.save(args.output, drawing.to_dot(circuit, values, **options))
    return 0
