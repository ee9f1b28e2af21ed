"""The plugin manager and the gate registry built from it.

pluggy is the registry and the contract checker: every plugin, built-in or
third-party, is registered through :func:`plugin_manager`, which validates
hook names and argument names. :class:`GateRegistry` then resolves each gate's
own hook implementations once; compiled circuits call them directly.

Examples
--------
>>> registry = GateRegistry.from_manager(plugin_manager(autoload=False))
>>> registry["mul"].spec.arity_text
'2+'
>>> registry["mul"].distribution.startswith("gatekit")
True
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from gatekit import hookspecs
from gatekit.errors import PluginError
from gatekit.gates import default_plugins
from gatekit.gatespec import GateSpec

__all__ = ["Gate", "GateRegistry", "PluginManager", "plugin_manager"]

ENTRY_POINT_GROUP = "gatekit"
AUTOLOAD_ENV = "GATEKIT_DISABLE_PLUGIN_AUTOLOAD"

# The argument order the scheduler calls each hook with; ``attrs`` is bound
# at compile time.
_CALL_ORDER = {
    "gate_forward": ("inputs",),
    "gate_local_grad": ("inputs", "output"),
    "gate_vjp": ("inputs", "output", "upstream"),
}


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for the ``gatekit`` project, remembering distributions."""

    def __init__(self) -> None:
        super().__init__("gatekit")
        self.add_hookspecs(hookspecs)
        #: plugin name -> "distribution version", for plugins from entry points
        self.distributions: dict[str, str] = {name: _own_distribution() for name in default_plugins}

    def distribution_of(self, plugin_name: str) -> str:
        """The distribution a plugin (or a gate registered by it) came from."""
        root = plugin_name.split(":", 1)[0]
        return self.distributions.get(root, "not installed (-p)")


def plugin_manager(
    plugins: Sequence[str] = (),
    blocked: Sequence[str] = (),
    autoload: bool | None = None,
) -> PluginManager:
    """Create a plugin manager with the built-ins, entry points and ``plugins``.

    :param plugins: module names to import and register (``-p NAME``).
    :param blocked: plugin names not to register (``-p no:NAME``).
    :param autoload: load the ``gatekit`` entry points; by default, unless the
        environment sets ``GATEKIT_DISABLE_PLUGIN_AUTOLOAD``.
    :raises PluginError: a plugin fails to import or breaks the hook contract.
    """
    pm = PluginManager()
    for name in blocked:
        pm.set_blocked(name)
    for name in default_plugins:
        _register(pm, _import(name), name)
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    if autoload:
        _load_entry_points(pm)
    for name in plugins:
        if not pm.is_blocked(name) and pm.get_plugin(name) is None:
            _register(pm, _import(name), name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(_validation_message(pm, pm.get_name(exc.plugin) or repr(exc.plugin), exc)) from None
    return pm


def _validation_message(pm: pluggy.PluginManager, name: str, exc: pluggy.PluginValidationError) -> str:
    """pluggy's multi-line validation message as one line, with what the hook takes."""
    first, *rest = str(exc).splitlines()
    detail = "; ".join(line.strip() for line in rest if line.strip()) or first
    hook = first.partition(" for hook ")[2].strip("'")
    caller = getattr(pm.hook, hook, None)
    if caller is not None and caller.spec is not None:
        detail += f" ({hook} takes: {', '.join(caller.spec.argnames)})"
    return f"plugin {name!r}, hook {hook or '?'}: {detail}"


def _import(module_name: str) -> object:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        raise PluginError(f"cannot import plugin {module_name!r}: {type(exc).__name__}: {exc}") from None


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(_validation_message(pm, name, exc)) from None
    except ValueError as exc:  # pluggy: name or object already registered
        raise PluginError(f"plugin {name!r}: {exc}") from None


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for ep in sorted(found, key=lambda ep: (ep.dist.name if ep.dist else "", ep.name)):
        if pm.is_blocked(ep.name) or pm.get_plugin(ep.name) is not None:
            continue
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {ep.name!r} from {dist} failed to load: {type(exc).__name__}: {exc}"
            ) from None
        _register(pm, plugin, ep.name)
        pm.distributions[ep.name] = dist


@functools.cache
def _own_distribution() -> str:
    try:
        return f"gatekit {importlib.metadata.version('gatekit')}"
    except importlib.metadata.PackageNotFoundError:
        return "gatekit"


@dataclass(frozen=True, slots=True)
class Gate:
    """A registered gate: its spec, where it came from, and its hooks."""

    spec: GateSpec
    plugin: str
    distribution: str
    forward: pluggy.HookImpl
    local_grad: pluggy.HookImpl | None
    vjp: pluggy.HookImpl | None

    @property
    def name(self) -> str:
        return self.spec.name

    def bind(self, attrs: Mapping[str, Any]) -> tuple[Callable[..., Any], Callable[..., Any], bool]:
        """Return ``(forward, backward, is_vjp)`` as the scheduler calls them.

        ``forward(inputs)``; ``backward(inputs, output)`` for local-gradient
        gates and ``backward(inputs, output, upstream)`` for VJP gates.
        """
        forward = _bind(self.forward, "gate_forward", attrs)
        if self.vjp is not None:
            return forward, _bind(self.vjp, "gate_vjp", attrs), True
        if self.local_grad is None:  # GateRegistry refuses such gates
            raise PluginError(f"gate {self.name!r} has no gradient hook")
        return forward, _bind(self.local_grad, "gate_local_grad", attrs), False


def _bind(impl: pluggy.HookImpl, hook: str, attrs: Mapping[str, Any]) -> Callable[..., Any]:
    """Adapt ``impl`` to the positional call the scheduler makes.

    Implementations that declare the hook's arguments in spec order are
    returned as they are (with ``attrs`` bound when they take it); any other
    subset or order goes through a keyword adapter.
    """
    order = _CALL_ORDER[hook]
    function = impl.function
    names = tuple(impl.argnames)
    if names == order:
        return function
    if names == (*order, "attrs"):
        return functools.partial(function, attrs=attrs)

    def adapter(*args: Any) -> Any:
        given = dict(zip(order, args, strict=True), attrs=attrs)
        return function(**{name: given[name] for name in names})

    return adapter


class GateRegistry(Mapping[str, Gate]):
    """The installed gates by name, in registration order."""

    def __init__(self, gates: Iterable[Gate]) -> None:
        self._gates: dict[str, Gate] = {}
        for gate in gates:
            other = self._gates.get(gate.name)
            if other is not None:
                raise PluginError(
                    f"gate name {gate.name!r} is claimed twice: by plugin {other.plugin!r} "
                    f"({other.distribution}) and by plugin {gate.plugin!r} ({gate.distribution})"
                )
            self._gates[gate.name] = gate

    @classmethod
    def from_manager(cls, pm: PluginManager) -> GateRegistry:
        """Register the gates each plugin provides and resolve their hooks."""
        for name, plugin in list(pm.list_name_plugin()):
            impl = _impls(pm, "gatekit_register_gates").get(name)
            if plugin is None or impl is None:
                continue
            try:
                provided = list(impl.function())
            except Exception as exc:
                raise PluginError(
                    f"plugin {name!r}: gatekit_register_gates raised {type(exc).__name__}: {exc}"
                ) from None
            for gate in provided:
                _register(pm, gate, f"{name}:{_spec_of(gate, name).name}")
        return cls(_collect(pm))

    def __getitem__(self, name: str) -> Gate:
        return self._gates[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._gates)

    def __len__(self) -> int:
        return len(self._gates)


def _impls(pm: pluggy.PluginManager, hook: str) -> dict[str, pluggy.HookImpl]:
    return {impl.plugin_name: impl for impl in getattr(pm.hook, hook).get_hookimpls()}


def _spec_of(gate: object, owner: str) -> GateSpec:
    method = getattr(gate, "gate_spec", None)
    if not callable(method):
        raise PluginError(f"plugin {owner!r} registered {gate!r}, which has no gate_spec hook")
    return _checked_spec(method(), owner)


def _checked_spec(spec: object, owner: str) -> GateSpec:
    if not isinstance(spec, GateSpec):
        raise PluginError(f"plugin {owner!r}: gate_spec returned {type(spec).__name__}, not gatekit.GateSpec")
    problems = spec.problems()
    if problems:
        raise PluginError(f"plugin {owner!r}: bad gate spec: {'; '.join(problems)}")
    return spec


def _collect(pm: PluginManager) -> Iterator[Gate]:
    specs = _impls(pm, "gate_spec")
    forwards = _impls(pm, "gate_forward")
    grads = _impls(pm, "gate_local_grad")
    vjps = _impls(pm, "gate_vjp")
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        if name not in specs:
            if name in forwards or name in grads or name in vjps:
                raise PluginError(f"plugin {name!r} implements gate hooks but not gate_spec")
            continue
        spec = _checked_spec(specs[name].function(), name)
        if name not in forwards:
            raise PluginError(f"plugin {name!r} (gate {spec.name!r}) does not implement gate_forward")
        if name not in grads and name not in vjps:
            raise PluginError(
                f"plugin {name!r} (gate {spec.name!r}) implements neither gate_local_grad nor gate_vjp"
            )
        yield Gate(
            spec=spec,
            plugin=name,
            distribution=pm.distribution_of(name),
            forward=forwards[name],
            local_grad=grads.get(name),
            vjp=vjps.get(name),
        )
