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

import difflib
import functools
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pluggy

from gatekit.errors import PLUGIN_FAULTS, PluginError, PluginWarning, UsageError, describe_exception
from gatekit.plugin import hookspecs
from gatekit.plugin.gatespec import GateSpec

__all__ = [
    "AUTOLOAD_ENV",
    "Gate",
    "GateRegistry",
    "Hooks",
    "PluginManager",
    "default_plugins",
    "default_registry",
    "default_training_plugins",
    "gate_from_object",
    "plugin_manager",
]

ENTRY_POINT_GROUP = "gatekit"
#: gatekit's own distribution on the package index ("gatekit" there is an unrelated project)
DISTRIBUTION = "gatekit-circuits"
AUTOLOAD_ENV = "GATEKIT_DISABLE_PLUGIN_AUTOLOAD"

#: The built-in gates' modules, in registration order: ordinary plugins, each
#: implementing ``gatekit_register_gates``, registered by name like ``-p``
#: plugins; any can be blocked (``-p no:gatekit.gates.activations``).
default_plugins: tuple[str, ...] = (
    "gatekit.gates.arithmetic",
    "gatekit.gates.elementary",
    "gatekit.gates.activations",
    "gatekit.gates.reductions",
    "gatekit.gates.losses",
    "gatekit.gates.shapes",
    "gatekit.gates.logic",
)

#: The built-in optimizers' and schedules' modules, registered after the
#: gates' in the same way: they implement ``gatekit_register_optimizers`` and
#: ``gatekit_register_schedules`` (and no gate hook, so the gate registry
#: passes them by); ``-p no:gatekit.training.schedules`` blocks one.
default_training_plugins: tuple[str, ...] = (
    "gatekit.training.optimizers",
    "gatekit.training.schedules",
)

#: Every hook a plugin may implement, from the spec module.
HOOK_NAMES = tuple(name for name in vars(hookspecs) if name.startswith(("gate_", "gatekit_")))

# The argument order the scheduler calls each hook with; ``attrs`` is bound
# at compile time.
_CALL_ORDER = {
    "gate_forward": ("inputs",),
    "gate_local_grad": ("inputs", "output"),
    "gate_vjp": ("inputs", "output", "upstream"),
    "gate_jvp": ("inputs", "output", "tangents"),
}


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for the ``gatekit`` project.

    It remembers where each plugin came from (its distribution) and what went
    wrong with the plugins it skipped: a broken plugin that was loaded
    automatically (from an entry point) is set aside with a warning in
    :attr:`problems`, so that circuits that do not need it still run. Built-ins
    and plugins asked for with ``-p`` are never skipped: their faults raise.
    """

    def __init__(self) -> None:
        super().__init__("gatekit")
        self.add_hookspecs(hookspecs)
        #: plugin name -> "distribution version"
        self.distributions: dict[str, str] = {
            name: _own_distribution() for name in (*default_plugins, *default_training_plugins)
        }
        #: plugin names loaded from entry points: their faults are warnings
        self.autoloaded: set[str] = set()
        #: one message per plugin or gate that was set aside
        self.problems: list[str] = []
        #: whether entry points were loaded
        self.autoload = False
        #: what -p no:NAME blocked
        self.blocked_names: tuple[str, ...] = ()

    def distribution_of(self, plugin_name: str) -> str:
        """The distribution a plugin (or a gate registered by it) came from."""
        root = plugin_name.split(":", 1)[0]
        return self.distributions.get(root, "not installed (-p)")

    def fault(self, plugin_name: str, message: str) -> None:
        """Raise :class:`PluginError`, or set the plugin aside if it was autoloaded."""
        root = plugin_name.split(":", 1)[0]
        text = f"plugin {plugin_name!r} ({self.distribution_of(plugin_name)}): {message}"
        if root not in self.autoloaded:
            raise PluginError(text)
        self.problems.append(f"{text}; it is not loaded")
        if self.get_plugin(plugin_name) is not None:
            self.unregister(name=plugin_name)


#: The values of GATEKIT_DISABLE_PLUGIN_AUTOLOAD that turn autoloading off, and those that leave it on.
AUTOLOAD_OFF = ("1", "true", "yes", "on")
AUTOLOAD_ON = ("", "0", "false", "no", "off")


def autoload_from_environment() -> bool:
    """Whether to load entry-point plugins, as ``GATEKIT_DISABLE_PLUGIN_AUTOLOAD`` says.

    Unset, empty, ``0``, ``false``, ``no`` or ``off`` (any case): load them;
    ``1``, ``true``, ``yes`` or ``on``: do not. Anything else is refused
    rather than guessed at.

    :raises UsageError: the variable holds another value.
    """
    value = os.environ.get(AUTOLOAD_ENV, "").strip().lower()
    if value in AUTOLOAD_OFF:
        return False
    if value in AUTOLOAD_ON:
        return True
    raise UsageError(
        f"{AUTOLOAD_ENV}={os.environ[AUTOLOAD_ENV]!r}: set it to {', '.join(AUTOLOAD_OFF)} to turn "
        f"plugin autoloading off, or to {', '.join(AUTOLOAD_ON[1:])} (or leave it unset) to leave it on"
    )


def _plugin_names() -> dict[str, str]:
    """Every name ``-p no:NAME`` can block, with what it names: built-ins' modules, entry points."""
    names = dict.fromkeys(default_plugins, "a built-in gate module")
    names.update(dict.fromkeys(default_training_plugins, "a built-in training module"))
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "an installed plugin"
        names.setdefault(ep.name, f"the entry point of {dist}")
        names.setdefault(ep.value.split(":")[0], f"the module of {dist}")
    return names


def plugin_manager(
    plugins: Sequence[str] = (),
    blocked: Sequence[str] = (),
    autoload: bool | None = None,
) -> PluginManager:
    """Create a plugin manager with the built-ins, entry points and ``plugins``.

    Order: the built-ins, then entry points sorted by distribution and name,
    then ``plugins`` in the order given.

    :param plugins: modules to register (``-p NAME``): an import name, or the
        path of a ``.py`` file.
    :param blocked: plugin names not to register (``-p no:NAME``): an entry
        point's name, a module's import name, or a built-in's module.
    :param autoload: load the ``gatekit`` entry points; by default, unless the
        environment sets ``GATEKIT_DISABLE_PLUGIN_AUTOLOAD``.
    :raises PluginError: a built-in or ``-p`` plugin fails to import or breaks
        the hook contract (an entry point's faults go to ``pm.problems``).
    """
    pm = PluginManager()
    known = _plugin_names() if blocked else {}
    for name in blocked:
        pm.set_blocked(name)
        if name not in known and name not in plugins:
            pm.problems.append(
                f"-p no:{name} blocks nothing: no plugin is named {name!r} "
                f"(plugins: {', '.join(sorted(known))})"
            )
    pm.blocked_names = tuple(blocked)
    for name in (*default_plugins, *default_training_plugins):
        _register(pm, _import(name), name)
    if autoload is None:
        autoload = autoload_from_environment()
    pm.autoload = autoload
    if autoload:
        _load_entry_points(pm)
    for name in plugins:
        if pm.is_blocked(name) or pm.get_plugin(name) is not None:
            continue
        plugin = _import(name)
        if not pm.is_registered(plugin):  # an installed entry point loaded this module already: done
            _register(pm, plugin, name)
    _check_pending(pm)
    return pm


def _check_pending(pm: PluginManager) -> None:
    """Fault every plugin that pluggy finds a marked hook of no spec in (``unknown hook``)."""
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or repr(exc.plugin)
            pm.fault(name, _validation_message(pm, exc))


def _validation_message(pm: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> str:
    """pluggy's multi-line validation message as one line, with what the hook takes.

    pluggy words its findings in two ways: ``unknown hook 'NAME' in plugin
    ...`` (a marked function whose name is no hook), and ``Plugin 'P' for
    hook 'NAME'`` followed by lines of detail (arguments the spec lacks).
    """
    first, *rest = str(exc).splitlines()
    if first.startswith("unknown hook "):
        return _unknown_hook(first.split("'")[1])
    detail = "; ".join(line.strip() for line in rest if line.strip()) or first
    hook = first.partition(" for hook ")[2].strip("'")
    caller = getattr(pm.hook, hook, None)
    if caller is not None and caller.spec is not None:
        detail += f" ({hook} takes: {', '.join(caller.spec.argnames)})"
    return f"hook {hook}: {detail}" if hook else detail


def _unknown_hook(name: str) -> str:
    close = difflib.get_close_matches(name, HOOK_NAMES, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"the hooks are: {', '.join(HOOK_NAMES)}"
    return f"{name!r} is not a gatekit hook ({hint})"


def _misspelled_hook(plugin: object) -> str | None:
    """A message if ``plugin`` has an attribute that looks like a hook but is none (``gate_vpj``).

    pluggy never sees an unmarked method, and sees a marked one only as an
    unknown hook; either way a misspelled gradient hook would leave the gate
    without the gradient its author wrote. Names far from every hook
    (``gate_helper``) are the author's own and are left alone.
    """
    for name in dir(plugin):
        if not name.startswith("gate") or name in HOOK_NAMES:
            continue
        if difflib.get_close_matches(name, HOOK_NAMES, n=1, cutoff=0.8):
            return _unknown_hook(name)
    return None


def _import(name: str) -> object:
    """Import a plugin module by import name, or from a ``.py`` file's path.

    A file's module goes into ``sys.modules`` (as Python's own recipe for
    importing a source file does, so that :func:`gatekit.collect_gates` and
    anything else that looks a module up by name finds it), under the file's
    stem, or under a name of its own when the stem is taken.
    """
    try:
        if name.endswith(".py"):
            path = Path(name)
            module_name = path.stem if path.stem not in sys.modules else f"{path.stem}@{path.resolve()}"
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None or not path.is_file():
                raise FileNotFoundError(f"no such file: {name}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
            return module
        return importlib.import_module(name)
    except PLUGIN_FAULTS as exc:
        raise PluginError(f"cannot import plugin {name!r}: {describe_exception(exc)}") from None


def _register(pm: PluginManager, plugin: object, name: str) -> bool:
    """Register ``plugin``; False if it was blocked or set aside as broken."""
    try:
        misspelled = _misspelled_hook(plugin)
    except PLUGIN_FAULTS as exc:  # an object whose __dir__ raises
        misspelled = f"listing its attributes raised {describe_exception(exc)}"
    if misspelled is not None:
        pm.fault(name, misspelled)
        return False
    try:
        return pm.register(plugin, name=name) is not None
    except pluggy.PluginValidationError as exc:
        pm.fault(name, _validation_message(pm, exc))
    except ValueError as exc:  # pluggy: name or object already registered
        pm.fault(name, str(exc))
    except PLUGIN_FAULTS as exc:  # pluggy reads every attribute: a property may raise
        pm.fault(name, f"registering it raised {describe_exception(exc)}")
    return False


def _load_entry_points(pm: PluginManager) -> None:
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for ep in sorted(found, key=lambda ep: (ep.dist.name if ep.dist else "", ep.name)):
        if pm.is_blocked(ep.name) or pm.get_plugin(ep.name) is not None:
            continue
        pm.distributions[ep.name] = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
        pm.autoloaded.add(ep.name)
        try:
            plugin = ep.load()
        except PLUGIN_FAULTS as exc:
            pm.fault(ep.name, f"failed to import {ep.value!r}: {describe_exception(exc)}")
            continue
        _register(pm, plugin, ep.name)


@functools.cache
def _cached_registry(plugins: tuple[str, ...], blocked: tuple[str, ...], autoload: bool) -> GateRegistry:
    registry = GateRegistry.from_manager(plugin_manager(plugins, blocked, autoload))
    for problem in registry.problems:
        warnings.warn(problem, PluginWarning, stacklevel=4)
    return registry


def default_registry(
    plugins: Sequence[str] = (), blocked: Sequence[str] = (), autoload: bool | None = None
) -> GateRegistry:
    """The installed gates (built once per set of options and cached).

    Plugins that were set aside are reported once, as :class:`~gatekit.PluginWarning`.

    :param plugins: extra plugin modules to load (``-p NAME``).
    :param blocked: plugin names not to load (``-p no:NAME``).
    :param autoload: load entry-point plugins; defaults to yes unless
        ``GATEKIT_DISABLE_PLUGIN_AUTOLOAD`` is set.
    """
    if autoload is None:
        autoload = autoload_from_environment()
    return _cached_registry(tuple(plugins), tuple(blocked), autoload)


@functools.cache
def _own_distribution() -> str:
    try:
        return f"{DISTRIBUTION} {importlib.metadata.version(DISTRIBUTION)}"
    except importlib.metadata.PackageNotFoundError:
        return DISTRIBUTION


class Hooks(NamedTuple):
    """A gate's hooks as the scheduler calls them, attrs bound (see :meth:`Gate.bind`)."""

    forward: Callable[..., Any]
    backward: Callable[..., Any]
    is_vjp: bool


@dataclass(frozen=True, slots=True)
class Gate:
    """A registered gate: its spec, where it came from, and its hooks."""

    spec: GateSpec
    plugin: str
    distribution: str
    forward: pluggy.HookImpl
    local_grad: pluggy.HookImpl | None
    vjp: pluggy.HookImpl | None
    autoloaded: bool = False  # from an entry point
    jvp: pluggy.HookImpl | None = None  # forward mode for a VJP gate (optional)
    #: the ONNX lowering (optional): the forward pass, the local gradients, the VJP
    onnx: pluggy.HookImpl | None = None
    onnx_local_grad: pluggy.HookImpl | None = None
    onnx_vjp: pluggy.HookImpl | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def bind(self, attrs: Mapping[str, Any]) -> Hooks:
        """The gate's hooks as the scheduler calls them, with ``attrs`` bound.

        ``forward(inputs)``; ``backward(inputs, output)`` for local-gradient
        gates and ``backward(inputs, output, upstream)`` for VJP gates.
        """
        forward = _bind(self.forward, "gate_forward", attrs)
        if self.vjp is not None:
            return Hooks(forward, _bind(self.vjp, "gate_vjp", attrs), True)
        if self.local_grad is None:  # GateRegistry refuses such gates
            raise PluginError(f"gate {self.name!r} has no gradient hook")
        return Hooks(forward, _bind(self.local_grad, "gate_local_grad", attrs), False)

    def bind_tangent(self, attrs: Mapping[str, Any]) -> tuple[Callable[..., Any], bool] | None:
        """How forward mode gets the gate's tangent, ``attrs`` bound: ``(hook, is_jvp)``.

        An elementwise gate's ``gate_local_grad`` (``is_jvp`` false: the
        scheduler multiplies each local gradient by its input's tangent); a
        VJP gate's ``gate_jvp``; ``None`` for a VJP gate without one.
        """
        if self.vjp is None and self.local_grad is not None:
            return _bind(self.local_grad, "gate_local_grad", attrs), False
        if self.jvp is not None:
            return _bind(self.jvp, "gate_jvp", attrs), True
        return None

    def bind_into(self, attrs: Mapping[str, Any]) -> Callable[..., Any] | None:
        """``gate_forward`` as ``into(inputs, out)``, ``attrs`` bound, if it takes ``out``; else ``None``.

        ``out`` may be declared with a default (``out=None``), which pluggy
        counts among the keyword arguments.
        """
        return _bind_out(self.forward, "gate_forward", attrs)

    def bind_local_into(self, attrs: Mapping[str, Any]) -> Callable[..., Any] | None:
        """``gate_local_grad`` as ``into(inputs, output, out)``, ``attrs`` bound, if it takes ``out``.

        ``None`` for a gate whose ``gate_local_grad`` does not take ``out``,
        or that has none (a VJP gate).
        """
        if self.local_grad is None or self.vjp is not None:
            return None
        return _bind_out(self.local_grad, "gate_local_grad", attrs)


def _bind_out(impl: pluggy.HookImpl, hook: str, attrs: Mapping[str, Any]) -> Callable[..., Any] | None:
    """``impl`` as the positional call of ``hook`` with ``out`` last, if it takes ``out``; else ``None``."""
    names = tuple(impl.argnames)
    if "out" not in names and "out" not in impl.kwargnames:
        return None
    function = impl.function
    order = _CALL_ORDER[hook]
    if "attrs" not in names and names[: len(order)] == order:
        return lambda *args: function(*args[:-1], out=args[-1])

    def into(*args: Any) -> Any:
        given = dict(zip(order, args[:-1], strict=True), attrs=attrs)
        return function(**{name: given[name] for name in names if name != "out"}, out=args[-1])

    return into


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
    """The installed gates by name, in registration order.

    ``problems`` lists the plugins and gates that were set aside (broken
    autoloaded plugins, gate names claimed twice): worth a warning, not a stop.
    """

    def __init__(
        self,
        gates: Iterable[Gate],
        problems: Sequence[str] = (),
        autoload: bool = True,
        blocked: Sequence[str] = (),
    ) -> None:
        self._gates: dict[str, Gate] = {}
        self.problems = list(problems)
        #: whether entry-point plugins were loaded
        self.autoload = autoload
        #: the plugins blocked with -p no:NAME (one of them may have had a gate a circuit wants)
        self.blocked = tuple(blocked)
        #: the plugin manager the gates came from, whose plugins may also register optimizers and
        #: schedules (:mod:`gatekit.training.registry`); None for a registry made by hand
        self.manager: PluginManager | None = None
        for gate in gates:
            other = self._gates.get(gate.name)
            if other is None:
                self._gates[gate.name] = gate
                continue
            message = (
                f"gate name {gate.name!r} is claimed twice: by plugin {other.plugin!r} "
                f"({other.distribution}) and by plugin {gate.plugin!r} ({gate.distribution})"
            )
            if gate.autoloaded:
                self.problems.append(f"{message}; the first one is used")
            elif other.autoloaded:  # asked for with -p: it wins over an installed one
                self.problems.append(f"{message}; the one asked for with -p is used")
                self._gates[gate.name] = gate
            else:
                raise PluginError(message)

    @classmethod
    def from_manager(cls, pm: PluginManager) -> GateRegistry:
        """Register the gates each plugin provides and resolve their hooks."""
        for name, plugin in list(pm.list_name_plugin()):
            impl = _impls(pm, "gatekit_register_gates").get(name)
            if plugin is None or impl is None:
                continue
            try:
                provided = impl.function()
            except PLUGIN_FAULTS as exc:
                pm.fault(name, f"gatekit_register_gates raised {describe_exception(exc)}")
                continue
            if not isinstance(provided, list | tuple):
                returned = type(provided).__name__
                pm.fault(name, f"gatekit_register_gates returned {returned}, not a list of gates")
                continue
            for gate in provided:
                spec = _spec_of(pm, gate, name)
                if spec is not None:
                    _register(pm, gate, f"{name}:{spec.name}")
        _check_pending(pm)
        registry = cls(_collect(pm), pm.problems, pm.autoload, pm.blocked_names)
        registry.manager = pm
        return registry

    def __getitem__(self, name: str) -> Gate:
        return self._gates[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._gates)

    def __len__(self) -> int:
        return len(self._gates)


def gate_from_object(gate: object, name: str | None = None) -> Gate:
    """Check a gate object as registration would, and return its registry entry.

    For testing a gate before it is installed: pluggy validates its hooks
    and gatekit its spec, in a manager of its own.

    :raises PluginError: the object is not a valid gate.
    """
    pm = PluginManager()
    name = name or getattr(gate, "__name__", None) or type(gate).__qualname__
    _register(pm, gate, name)
    _check_pending(pm)
    found = list(_collect(pm))
    if not found:
        raise PluginError(f"{name!r} is not a gate: it implements no gate_spec hook")
    return found[0]


def _impls(pm: pluggy.PluginManager, hook: str) -> dict[str, pluggy.HookImpl]:
    return {impl.plugin_name: impl for impl in getattr(pm.hook, hook).get_hookimpls()}


def _spec_of(pm: PluginManager, gate: object, owner: str) -> GateSpec | None:
    """The spec of a gate that ``gatekit_register_gates`` returned, or None (faulted)."""
    try:
        method = getattr(gate, "gate_spec", None)
    except PLUGIN_FAULTS as exc:  # a property that raises
        pm.fault(owner, f"reading gate_spec of {type(gate).__name__} raised {describe_exception(exc)}")
        return None
    if not callable(method):
        pm.fault(owner, f"gatekit_register_gates returned {type(gate).__name__}, which has no gate_spec hook")
        return None
    return _checked_spec(pm, method, owner)


def _checked_spec(pm: PluginManager, method: Callable[[], object], owner: str) -> GateSpec | None:
    """Call a ``gate_spec`` hook and check what it returns; None (faulted) if anything is wrong."""
    try:
        spec = method()
    except PLUGIN_FAULTS as exc:
        pm.fault(owner, f"gate_spec raised {describe_exception(exc)}")
        return None
    if not isinstance(spec, GateSpec):
        pm.fault(owner, f"gate_spec returned {type(spec).__name__}, not gatekit.GateSpec")
        return None
    try:
        problems = spec.problems()
    except PLUGIN_FAULTS as exc:  # a spec built from odd parts
        problems = [f"checking it raised {describe_exception(exc)}"]
    if problems:
        pm.fault(owner, f"bad gate spec: {'; '.join(problems)}")
        return None
    return spec


def _collect(pm: PluginManager) -> Iterator[Gate]:
    specs = _impls(pm, "gate_spec")
    forwards = _impls(pm, "gate_forward")
    grads = _impls(pm, "gate_local_grad")
    vjps = _impls(pm, "gate_vjp")
    jvps = _impls(pm, "gate_jvp")
    lowerings = {hook: _impls(pm, hook) for hook in ("gate_onnx", "gate_onnx_local_grad", "gate_onnx_vjp")}
    for name, plugin in list(pm.list_name_plugin()):
        if plugin is None:
            continue
        if name not in specs:
            if name in forwards or name in grads or name in vjps:
                pm.fault(name, "implements gate hooks but not gate_spec")
            continue
        spec = _checked_spec(pm, specs[name].function, name)
        if spec is None:
            continue
        if name not in forwards:
            pm.fault(name, f"gate {spec.name!r} does not implement gate_forward")
            continue
        if name not in grads and name not in vjps:
            pm.fault(name, f"gate {spec.name!r} implements neither gate_local_grad nor gate_vjp")
            continue
        yield Gate(
            spec=spec,
            plugin=name,
            distribution=pm.distribution_of(name),
            forward=forwards[name],
            local_grad=grads.get(name),
            vjp=vjps.get(name),
            autoloaded=name.split(":", 1)[0] in pm.autoloaded,
            jvp=jvps.get(name),
            onnx=lowerings["gate_onnx"].get(name),
            onnx_local_grad=lowerings["gate_onnx_local_grad"].get(name),
            onnx_vjp=lowerings["gate_onnx_vjp"].get(name),
        )
