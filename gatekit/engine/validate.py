"""Checking a circuit against the installed gates, before anything runs.

Every gate name must be installed, every gate must get an input count its
spec accepts and only the attributes it declares, every reference must name a
node of the circuit, and no module may have a gate's name. :func:`validate`
returns a :class:`ValidCircuit`, in which every gate is resolved: after it,
the run loop needs no checks.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gatekit.errors import PLUGIN_FAULTS, GraphError, Location, PluginError, describe_exception
from gatekit.format.parse import CircuitDef, GateUse, Leaf
from gatekit.plugin.registry import AUTOLOAD_ENV, Gate, GateRegistry

__all__ = ["FIRST_PARTY", "BoundGate", "ValidCircuit", "check_module_names", "install_hint", "validate"]


@dataclass(frozen=True, slots=True)
class BoundGate:
    """A gate use bound to its installed gate, with its attributes checked and complete."""

    use: GateUse  # as written (after module expansion)
    gate: Gate  # the registered gate it applies
    attrs: Mapping[str, Any]  # converted by the gate's Attr checks, defaults filled in

    @property
    def name(self) -> str:
        return self.use.name

    @property
    def location(self) -> Location:
        return self.use.location

    @property
    def inputs(self) -> tuple[str | float, ...]:
        return self.use.inputs

    def describe(self) -> str:
        """``gate 'den' (add, plugin 'gatekit.gates.arithmetic:add')``, for messages."""
        return f"gate {self.name!r} ({self.gate.name}, plugin {self.gate.plugin!r})"


@dataclass(frozen=True, slots=True)
class ValidCircuit:
    """A circuit whose every gate is installed, used correctly, and reads defined nodes."""

    definition: CircuitDef  # with module uses expanded
    gates: Mapping[str, BoundGate]  # in file order

    @property
    def file(self) -> str:
        return self.definition.file

    @property
    def leaves(self) -> Mapping[str, Leaf]:
        return self.definition.leaves

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.definition.outputs


def _close(name: str, known: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(m) for m in matches) + "?)"


def check_module_names(circuit: CircuitDef, registry: GateRegistry) -> None:
    """Refuse a module that has an installed gate's name, before its uses are expanded.

    :raises GraphError: at the module's name, naming the gate's plugin.
    """
    for name, module in circuit.modules.items():
        shadowed = registry.get(name)
        if shadowed is not None:
            raise GraphError(
                f"module {name!r} has the name of the gate {name!r} from plugin {shadowed.plugin!r} "
                f"({shadowed.distribution}); a module may not shadow a gate: rename the module",
                module.location,
            )


def validate(circuit: CircuitDef, registry: GateRegistry) -> ValidCircuit:
    """Resolve every gate of ``circuit`` (modules expanded) and check its attributes.

    :raises GraphError: an unknown gate, a wrong input count, an unknown or
        invalid attribute, a reference to no node, an unknown output.
    """
    gates = {}
    defined = circuit.defined_at
    bind = _Binder(registry, circuit.requires).bind
    for use in circuit.gates.values():
        gates[use.name] = bind(use)
        for name in use.inputs:
            if type(name) is str and name not in defined:
                raise GraphError(
                    f"gate {use.name!r} takes {name!r} as an input, but no input, param "
                    f"or gate has that name{_close(name, defined)}",
                    use.input_locations[use.inputs.index(name)],
                )
    for name, location in zip(circuit.outputs, circuit.output_locations, strict=True):
        if name not in defined:
            raise GraphError(
                f"output {name!r} is not a node of this circuit{_close(name, defined)}",
                location,
            )
    return ValidCircuit(circuit, MappingProxyType(gates))


#: A key for attributes as written that tells apart what ``==`` does not (``1.0`` and ``True``,
#: ``0.0`` and ``-0.0``); ``None`` for values that cannot be a key (arrays).
_AttrsKey = tuple[tuple[str, type, object, float], ...] | None


def _attrs_key(attrs: Mapping[str, Any]) -> _AttrsKey:
    items = []
    for key, value in attrs.items():
        kind = type(value)
        if kind is float:
            items.append((key, kind, value, math.copysign(1.0, value)))
        elif value is None or kind in (bool, int, str):
            items.append((key, kind, value, 1.0))
        else:
            return None
    return tuple(items)


class _Binder:
    """Binds gate uses to the installed gates, each gate and each set of attributes checked once.

    A million-gate circuit uses a handful of gates with a handful of settings:
    the lookup, the spec and the converted attributes are shared by every
    use that writes the same ones (read-only, so no hook can change another
    gate's). The checks, and the first use each error is reported at, are
    those of binding every use on its own.
    """

    def __init__(self, registry: GateRegistry, requires: tuple[str, ...]) -> None:
        self._registry = registry
        self._requires = requires
        # name -> (gate, its defaults, the input counts it accepts that were seen)
        self._gates: dict[str, tuple[Gate, Mapping[str, Any], set[int]]] = {}
        self._attrs: dict[tuple[str, _AttrsKey], Mapping[str, Any]] = {}

    def bind(self, use: GateUse) -> BoundGate:
        known = self._gates.get(use.gate)
        if known is None:
            known = self._gates[use.gate] = self._resolve(use)
        gate, defaults, accepted = known
        count = len(use.inputs)
        if count not in accepted and not gate.spec.accepts(count):
            spec = gate.spec
            wanted = f"{spec.arity} or more inputs" if spec.variadic else _count(spec.arity)
            raise GraphError(
                f"gate {use.name!r} ({spec.name}) takes {wanted}, got {len(use.inputs)}",
                use.in_location,
            )
        if not use.attrs:
            return _bound(use, gate, defaults)
        key = _attrs_key(use.attrs)
        if key is None:
            return _bound(use, gate, _converted(use, gate))
        attrs = self._attrs.get((use.gate, key))
        if attrs is None:
            attrs = self._attrs[use.gate, key] = MappingProxyType(_converted(use, gate))
        return _bound(use, gate, attrs)

    def _resolve(self, use: GateUse) -> tuple[Gate, Mapping[str, Any], set[int]]:
        registry = self._registry
        gate = registry.get(use.gate)
        if gate is None:
            hint = _close(use.gate, registry)
            if not hint:
                hint = f" (installed gates: {', '.join(sorted(registry))})"
            raise GraphError(
                f"unknown gate {use.gate!r}{hint}{_missing_plugins(self._requires, registry)}",
                use.gate_location,
            )
        defaults = MappingProxyType({key: declared.default for key, declared in gate.spec.attrs.items()})
        spec = gate.spec
        accepted = {count for count in range(spec.arity, spec.arity + 8) if spec.accepts(count)}
        return gate, defaults, accepted


_new = object.__new__
_SET_USE, _SET_GATE, _SET_ATTRS = (getattr(BoundGate, name).__set__ for name in ("use", "gate", "attrs"))


def _bound(use: GateUse, gate: Gate, attrs: Mapping[str, Any]) -> BoundGate:
    """``BoundGate(use, gate, attrs)``, made by setting its slots (a frozen dataclass's ``__init__``
    goes through ``object.__setattr__``, three times slower: a second for a million gates)."""
    bound: BoundGate = _new(BoundGate)
    _SET_USE(bound, use)
    _SET_GATE(bound, gate)
    _SET_ATTRS(bound, attrs)
    return bound


def _converted(use: GateUse, gate: Gate) -> dict[str, Any]:
    """The attributes of ``use``, each converted by the gate's :class:`~gatekit.Attr`, defaults filled in."""
    spec = gate.spec
    attrs = {}
    for key, declared in spec.attrs.items():
        if key in use.attrs:
            try:
                attrs[key] = declared.convert(use.attrs[key])
            except (TypeError, ValueError) as exc:  # the value is the author's to fix
                raise GraphError(
                    f"attribute {key!r} of gate {use.name!r} ({spec.name}): {exc}",
                    use.attr_locations[key],
                ) from None
            except PLUGIN_FAULTS as exc:  # anything else is the plugin's
                raise PluginError(
                    f"the check of attribute {key!r} of gate {spec.name} (plugin {gate.plugin!r}, "
                    f"{gate.distribution}) raised {describe_exception(exc)}",
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
    return attrs


#: gatekit's own plugins: the folder of gatekit's source tree each lives in. They are not on
#: the package index, so the way to install one is from the source tree.
FIRST_PARTY = {"gatekit-activations": "plugins/activations"}


def install_hint(name: str) -> str:
    """The command that installs the distribution ``name`` from where the user is.

    A first-party plugin installs from gatekit's source tree: from the
    checkout gatekit runs from when there is one (the path relative to the
    current folder, if it is inside it), else as a folder of a checkout.
    Anything else, by its name on the package index.
    """
    folder = FIRST_PARTY.get(name)
    if folder is None:
        return f"pip install {name}"
    checkout = Path(__file__).resolve().parents[2] / folder
    if (checkout / "pyproject.toml").is_file():
        try:
            shown = os.path.relpath(checkout)
        except ValueError:  # another drive (Windows)
            shown = str(checkout)
        return f"pip install -e {shown if not shown.startswith('..') else checkout}"
    return f"pip install -e {folder} (from a checkout of gatekit's source: it is not on the package index)"


def _missing_plugins(requires: tuple[str, ...], registry: GateRegistry) -> str:
    """Why a gate might be missing: a required distribution, autoload off, a broken plugin."""
    notes = []
    for name in requires:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            notes.append(f"this circuit requires {name!r}, which is not installed: {install_hint(name)}")
            continue
        if not registry.autoload:
            notes.append(f"{name!r} is installed, but plugin autoloading is off ({AUTOLOAD_ENV} is set)")
    if registry.blocked:
        blocked = ", ".join(f"-p no:{name}" for name in registry.blocked)
        notes.append(f"a plugin that may provide it is blocked ({blocked})")
    notes += [f"a plugin was not loaded: {problem}" for problem in registry.problems]
    return "".join(f"; {note}" for note in notes)


def _count(n: int) -> str:
    return "1 input" if n == 1 else f"{n} inputs"
