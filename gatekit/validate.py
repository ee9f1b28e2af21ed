"""Checking a circuit against the installed gates, before anything runs.

Every gate name must be installed, every gate must get an input count its
spec accepts and only the attributes it declares, every reference must name a
node of the circuit. After :func:`validate`, the run loop needs no checks.
"""

from __future__ import annotations

import difflib
import importlib.metadata
from collections.abc import Iterable

from gatekit.errors import GraphError
from gatekit.loader import CircuitDef, GateUse
from gatekit.plugins import AUTOLOAD_ENV, GateRegistry

__all__ = ["validate"]


def _close(name: str, known: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(m) for m in matches) + "?)"


def validate(circuit: CircuitDef, registry: GateRegistry) -> None:
    """Resolve every gate of ``circuit`` and fill in its attributes' defaults.

    :raises GraphError: an unknown gate, a wrong input count, an unknown or
        invalid attribute, a reference to no node, an unknown output.
    """
    for use in circuit.gates.values():
        _resolve(use, registry, circuit.requires)
        for name, location in zip(use.inputs, use.input_locations, strict=True):
            if isinstance(name, str) and name not in circuit.defined_at:
                raise GraphError(
                    f"gate {use.name!r} takes {name!r} as an input, but no input, param "
                    f"or gate has that name{_close(name, circuit.defined_at)}",
                    location,
                )
    for name, location in zip(circuit.outputs, circuit.output_locations, strict=True):
        if name not in circuit.defined_at:
            raise GraphError(
                f"output {name!r} is not a node of this circuit{_close(name, circuit.defined_at)}",
                location,
            )


def _resolve(use: GateUse, registry: GateRegistry, requires: list[str]) -> None:
    gate = registry.get(use.gate)
    if gate is None:
        hint = _close(use.gate, registry)
        if not hint:
            hint = f" (installed gates: {', '.join(sorted(registry))})"
        raise GraphError(
            f"unknown gate {use.gate!r}{hint}{_missing_plugins(requires, registry)}", use.gate_location
        )
    spec = gate.spec
    if not spec.accepts(len(use.inputs)):
        wanted = f"{spec.arity} or more inputs" if spec.variadic else _count(spec.arity)
        raise GraphError(
            f"gate {use.name!r} ({spec.name}) takes {wanted}, got {len(use.inputs)}",
            use.in_location,
        )
    attrs = {}
    for key, declared in spec.attrs.items():
        if key in use.attrs:
            try:
                attrs[key] = declared.convert(use.attrs[key])
            except (TypeError, ValueError) as exc:
                raise GraphError(
                    f"attribute {key!r} of gate {use.name!r} ({spec.name}): {exc}",
                    use.attr_locations[key],
                ) from None
        else:
            attrs[key] = declared.default
    for key in use.attrs:
        if key not in spec.attrs:
            accepted = ", ".join(spec.attrs) if spec.attrs else "none"
            raise GraphError(
                f"gate {spec.name} has no attribute {key!r} (accepted: {accepted})",
                use.attr_key_locations.get(key, use.attr_locations[key]),
            )
    use.attrs = attrs
    use.resolved = gate


def _missing_plugins(requires: list[str], registry: GateRegistry) -> str:
    """Why a gate might be missing: a required distribution, autoload off, a broken plugin."""
    notes = []
    for name in requires:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            notes.append(f"this circuit requires {name!r}, which is not installed: pip install {name}")
            continue
        if not registry.autoload:
            notes.append(f"{name!r} is installed, but plugin autoloading is off ({AUTOLOAD_ENV} is set)")
    notes += [f"a plugin was not loaded: {problem}" for problem in registry.problems]
    return "".join(f"; {note}" for note in notes)


def _count(n: int) -> str:
    return "1 input" if n == 1 else f"{n} inputs"
