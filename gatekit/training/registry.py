"""The installed optimizers and schedules, by name: :func:`optimizer_registry`, :func:`schedule_registry`.

Every plugin may answer ``gatekit_register_optimizers`` and
``gatekit_register_schedules`` with classes; the built-ins
(:mod:`gatekit.training.optimizers`, :mod:`gatekit.training.schedules`) are
plugins registered by :func:`gatekit.plugin.registry.plugin_manager` and
answer them the same way. Each class is checked against its contract when
it is collected, and whatever is wrong is said once, naming the plugin, as
for gates: a built-in or ``-p`` plugin raises :class:`~gatekit.PluginError`,
an installed (autoloaded) one is set aside with a message in ``problems``.

Examples
--------
>>> from gatekit.plugin.registry import plugin_manager
>>> optimizers = optimizer_registry(plugin_manager(autoload=False))
>>> list(optimizers)
['sgd', 'momentum', 'nesterov', 'adam', 'adamw', 'rmsprop', 'adagrad']
>>> optimizers.plugins["adam"]
'gatekit.training.optimizers'
>>> optimizers.find("adma")
Traceback (most recent call last):
...
ValueError: unknown optimizer 'adma' (did you mean 'adam'?)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar, Generic, Protocol, TypeVar

from gatekit.errors import PLUGIN_FAULTS, PluginError, describe_exception, quoted
from gatekit.names import is_name
from gatekit.plugin.registry import PluginManager
from gatekit.training.optimizers import Optimizer
from gatekit.training.schedules import Schedule
from gatekit.training.settings import Setting

__all__ = ["Registry", "class_problems", "optimizer_registry", "schedule_registry"]


class _Named(Protocol):
    name: ClassVar[str]


#: An optimizer or a schedule class
K = TypeVar("K", bound=_Named)


class Registry(Mapping[str, type[K]], Generic[K]):
    """Classes by name, in registration order, with the plugin each came from.

    ``problems`` lists what was set aside while collecting them (broken
    autoloaded plugins, names claimed twice): worth a warning, not a stop.
    """

    def __init__(
        self, kind: str, classes: Mapping[str, type[K]], plugins: Mapping[str, str], problems: Sequence[str]
    ) -> None:
        #: "optimizer" or "schedule", for messages
        self.kind = kind
        self._classes = dict(classes)
        #: name -> the plugin that registered it
        self.plugins = dict(plugins)
        self.problems = list(problems)

    def find(self, name: str) -> type[K]:
        """The class registered as ``name``.

        :raises ValueError: no class is: the message suggests the likely one,
            or lists them all.
        """
        found = self._classes.get(name)
        if found is not None:
            return found
        close = difflib.get_close_matches(name, list(self._classes), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"the {self.kind}s: {', '.join(self._classes)}"
        raise ValueError(f"unknown {self.kind} {quoted(name)} ({hint})")

    def __getitem__(self, name: str) -> type[K]:
        return self._classes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)


def optimizer_registry(pm: PluginManager) -> Registry[Optimizer]:
    """Every optimizer class the plugins of ``pm`` register, by name.

    :raises PluginError: a built-in or ``-p`` plugin's hook raises, returns
        no list, or returns a class that breaks the :class:`Optimizer`
        contract, or two such plugins claim one name.
    """
    return _collect(pm, "gatekit_register_optimizers", Optimizer, "optimizer", ("step",))


def schedule_registry(pm: PluginManager) -> Registry[Schedule]:
    """Every schedule class the plugins of ``pm`` register, by name.

    :raises PluginError: as :func:`optimizer_registry`, for the :class:`Schedule` contract.
    """
    return _collect(pm, "gatekit_register_schedules", Schedule, "schedule", ("lr",))


def _collect(pm: PluginManager, hook: str, base: type[K], kind: str, methods: Sequence[str]) -> Registry[K]:
    impls = {impl.plugin_name: impl for impl in getattr(pm.hook, hook).get_hookimpls()}
    before = len(pm.problems)
    classes: dict[str, type[K]] = {}
    plugins: dict[str, str] = {}
    duplicates: list[str] = []
    for plugin_name, plugin in list(pm.list_name_plugin()):
        impl = impls.get(plugin_name)
        if plugin is None or impl is None:
            continue
        try:
            provided = impl.function()
        except PLUGIN_FAULTS as exc:
            pm.fault(plugin_name, f"{hook} raised {describe_exception(exc)}")
            continue
        if not isinstance(provided, list | tuple):
            pm.fault(plugin_name, f"{hook} returned {type(provided).__name__}, not a list of {kind} classes")
            continue
        faults = []
        for cls in provided:
            try:
                problems = class_problems(cls, base, methods)
            except PLUGIN_FAULTS as exc:  # an attribute that raises when read
                problems = [f"checking it raised {describe_exception(exc)}"]
            if problems:
                faults.append(f"{_shown(cls)}: {'; '.join(problems)}")
        if faults:
            pm.fault(plugin_name, f"{hook} returned {', and '.join(faults)}")
            continue
        for cls in provided:
            name = cls.name
            other = plugins.get(name)
            if other is None:
                classes[name], plugins[name] = cls, plugin_name
                continue
            message = (
                f"{kind} name {name!r} is claimed twice: by plugin {other!r} ({pm.distribution_of(other)}) "
                f"and by plugin {plugin_name!r} ({pm.distribution_of(plugin_name)})"
            )
            if _autoloaded(pm, plugin_name):
                duplicates.append(f"{message}; the first one is used")
            elif _autoloaded(pm, other):  # asked for with -p: it wins over an installed one
                duplicates.append(f"{message}; the one asked for with -p is used")
                classes[name], plugins[name] = cls, plugin_name
            else:
                raise PluginError(message)
    return Registry(kind, classes, plugins, [*pm.problems[before:], *duplicates])


def _autoloaded(pm: PluginManager, plugin_name: str) -> bool:
    return plugin_name.split(":", 1)[0] in pm.autoloaded


def _shown(value: object) -> str:
    """How a message names what a registration hook returned: ``class Adam``, or the value."""
    if isinstance(value, type):
        return f"class {value.__qualname__}"
    try:
        return quoted(repr(value))
    except PLUGIN_FAULTS as exc:
        return f"a {type(value).__name__} (whose repr raised {describe_exception(exc)})"


def class_problems(cls: object, base: type, methods: Sequence[str] = ()) -> list[str]:
    """What keeps ``cls`` from being a ``base`` (an :class:`Optimizer` or :class:`Schedule`) plugins may add.

    :param methods: the methods ``cls`` must implement itself (not inherit
        from ``base``).
    :return: readable phrases, empty if ``cls`` fulfils the contract.
    """
    if not isinstance(cls, type):
        return [f"not a class ({type(cls).__name__})"]
    if not issubclass(cls, base):
        return [f"not a subclass of {base.__module__}.{base.__qualname__}"]
    found = []
    name = getattr(cls, "name", None)
    if name is None:
        found.append("it has no name (set the class attribute name)")
    elif not is_name(name):
        found.append(f"its name {name!r} is not a valid name (letters, digits and _)")
    doc = getattr(cls, "doc", None)
    if not isinstance(doc, str) or not doc.strip():
        found.append("its doc must be a non-empty one-line string")
    for method in methods:
        if getattr(cls, method, None) is getattr(base, method):
            found.append(f"it does not implement {method}")
    settings = getattr(cls, "settings", None)
    if not isinstance(settings, Mapping):
        found.append(f"its settings must be a mapping of names to Settings, not {type(settings).__name__}")
        return found
    for key, setting in settings.items():
        if not is_name(key):
            found.append(f"setting name {key!r} is not a valid name")
        elif key == "lr" and issubclass(cls, Optimizer):
            found.append(
                "setting 'lr' cannot be an optimizer's: the schedule gives each step's learning rate"
            )
        if not isinstance(setting, Setting):
            kind = type(setting).__name__
            found.append(f"setting {key!r} must be a gatekit.training.settings.Setting, not {kind}")
            continue
        found += [f"setting {key!r}: {problem}" for problem in setting.problems()]
    return found
