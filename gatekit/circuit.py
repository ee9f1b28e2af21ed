"""The public face: :func:`load` a circuit once, :meth:`Circuit.run` it often.

>>> import gatekit
>>> circuit = gatekit.loads('''
... inputs: {x: 3.0}
... params: {w: 2.0}
... gates:
...   y: {gate: mul, in: [w, x]}
... outputs: [y]
... ''')
>>> result = circuit.run(x=4.0)
>>> result.outputs["y"], result.grads["w"], result.grads["x"]
(8.0, 4.0, 2.0)
"""

from __future__ import annotations

import functools
import gc
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np

from gatekit import scheduler
from gatekit.broadcast import sum_to_shape
from gatekit.compiler import Plan, compile_plan
from gatekit.errors import Location, PluginWarning, UsageError
from gatekit.graph import build_graph
from gatekit.guards import guarded
from gatekit.loader import CircuitDef, parse
from gatekit.modules import expand, load_imports
from gatekit.plugins import GateRegistry, plugin_manager
from gatekit.validate import validate
from gatekit.yamlsource import Reader

__all__ = ["Circuit", "Result", "default_registry", "load", "loads"]


@functools.cache
def _registry(plugins: tuple[str, ...], blocked: tuple[str, ...], autoload: bool) -> GateRegistry:
    registry = GateRegistry.from_manager(plugin_manager(plugins, blocked, autoload))
    for problem in registry.problems:
        warnings.warn(problem, PluginWarning, stacklevel=3)
    return registry


def default_registry(
    plugins: tuple[str, ...] = (), blocked: tuple[str, ...] = (), autoload: bool | None = None
) -> GateRegistry:
    """The installed gates (built once per set of options and cached).

    :param plugins: extra plugin modules to load (``-p NAME``).
    :param blocked: plugin names not to load (``-p no:NAME``).
    :param autoload: load entry-point plugins; defaults to yes unless
        ``GATEKIT_DISABLE_PLUGIN_AUTOLOAD`` is set.
    """
    if autoload is None:
        autoload = not os.environ.get("GATEKIT_DISABLE_PLUGIN_AUTOLOAD")
    return _registry(tuple(plugins), tuple(blocked), autoload)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large object graphs.

    Loading allocates hundreds of thousands of long-lived objects and no
    garbage cycles; with the collector on, it rescans them again and again
    (about 3x slower at 100k nodes).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load(path: str | os.PathLike[str], registry: GateRegistry | None = None) -> Circuit:
    """Read, validate and compile the circuit file at ``path``.

    :raises GatekitError: the file is unreadable or not a valid circuit; the
        message names the file, line and column.
    """
    file = os.fspath(path)
    reader = Reader(file)
    with _collector_paused():
        return _build(reader.read_file(file), reader, registry)


def loads(text: str, file: str = "<string>", registry: GateRegistry | None = None) -> Circuit:
    """Like :func:`load`, from YAML text; ``file`` names it in messages."""
    reader = Reader(file)
    with _collector_paused():
        return _build(reader.compose(text), reader, registry)


def _build(root: Any, reader: Reader, registry: GateRegistry | None) -> Circuit:
    definition = parse(root, reader)
    registry = registry if registry is not None else default_registry()
    load_imports(definition)
    expand(definition, registry)
    validate(definition, registry)
    dag = build_graph(definition)
    return Circuit(definition, dag.graph, compile_plan(definition, dag), dag.unused)


class Circuit:
    """A validated, compiled circuit, ready to run many times."""

    def __init__(self, definition: CircuitDef, graph: nx.DiGraph, plan: Plan, unused: list[str]) -> None:
        self.definition = definition
        self.graph = graph
        self.plan = plan
        # the kinds of run (scalars: False, arrays: True) whose plugin results were checked
        self._checked: set[bool] = set()
        # whether the file's own leaf values hold an array (overrides may add one)
        self._array_leaves = any(type(plan.initial[slot]) is np.ndarray for slot in plan.leaves.values())
        #: ``(location, message)`` pairs worth telling the author (unused gates)
        self.warnings: list[tuple[Location, str]] = [
            (definition.gates[name].location, f"gate {name!r} is not used by any output") for name in unused
        ]

    @property
    def file(self) -> str:
        return self.definition.file

    @property
    def name(self) -> str | None:
        return self.definition.name

    @property
    def inputs(self) -> list[str]:
        return [leaf.name for leaf in self.definition.leaves.values() if leaf.kind == "input"]

    @property
    def params(self) -> list[str]:
        return [leaf.name for leaf in self.definition.leaves.values() if leaf.kind == "param"]

    @property
    def outputs(self) -> list[str]:
        return list(self.definition.outputs)

    def run(
        self, values: Mapping[str, Any] | None = None, /, *, check_finite: bool = False, **overrides: Any
    ) -> Result:
        """Run forward and backward; ``values`` and ``overrides`` replace leaves' values.

        :param values: ``{name: value}`` for inputs and params (any name,
            ``check_finite`` included); ``overrides`` (``name=value``) are
            applied after it. A value is a number or anything
            ``numpy.asarray`` takes.
        :param check_finite: stop at the first gate that produces NaN or
            infinity, forward or backward, naming it and its inputs.
        :raises UsageError: an override names no input or param, or its value
            is not numeric.
        :raises RunError: a gate raised, returned something that is not a
            number or an array or the wrong number or shape of gradients
            (checked on the first run, and the first run with arrays), or,
            with ``check_finite``, produced NaN or infinity; the message names
            the gate, its plugin and its location.
        """
        plan = self.plan
        slots = plan.initial.copy()
        arrays = self._array_leaves
        for name, value in {**(values or {}), **overrides}.items():
            slot = plan.leaves.get(name)
            if slot is None:
                known = ", ".join(plan.leaves) or "none"
                raise UsageError(f"{self.file}: no input or param named {name!r} (known: {known})")
            slots[slot] = as_value(value, name)
            arrays = arrays or type(slots[slot]) is np.ndarray
        if check_finite:
            plan = guarded(plan, finite=True)
        elif arrays not in self._checked:  # the first run of each kind checks what plugins return
            plan = guarded(plan, finite=False)
        if arrays:
            with np.errstate(all="ignore"):  # inf and nan are results, not warnings
                scheduler.forward(plan, slots)
                grads = scheduler.backward_arrays(plan, slots)
        else:
            scheduler.forward(plan, slots)
            grads = scheduler.backward(plan, slots)
        self._checked.add(arrays)
        return Result(self.plan, slots, grads, self)

    def __repr__(self) -> str:
        return f"<Circuit {self.name or self.file!r}: {len(self.plan.forward)} gates>"

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of the circuit: its file's values on the wires (no gradients).

        ``None`` (Jupyter then shows the text) without Graphviz; see :func:`gatekit.draw.svg`.
        """
        from gatekit import draw  # noqa: PLC0415 - draw imports this module

        return draw.svg(self, grads=False)


def as_value(value: Any, name: str) -> Any:
    """A leaf value as gatekit runs it: a float, or a float64 array."""
    if isinstance(value, bool):
        raise UsageError(f"the value for {name!r} must be a number, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the value for {name!r} must be a number or an array of numbers ({exc})") from None
    return float(array) if array.ndim == 0 else array


def _shaped_like(grad: Any, value: Any, shared: set[int]) -> Any:
    """A leaf's gradient with the leaf's shape: summed over broadcast axes, scalars spread.

    An array that is also a node's value or another leaf's gradient, or a
    view (the array pass shares and broadcasts arrays rather than copying
    them), is copied, once, here.
    """
    if grad is None:
        grad = 0.0
    if not isinstance(value, np.ndarray):
        return float(np.sum(grad)) if isinstance(grad, np.ndarray) else grad
    grad = sum_to_shape(grad, value.shape)
    if np.ndim(grad) == 0:
        return np.full(value.shape, grad)
    if id(grad) in shared or not grad.flags.owndata:  # shared, or a (read-only) broadcast view
        grad = grad.copy()
    shared.add(id(grad))
    return grad


class Result:
    """One run's numbers: ``outputs``, ``grads`` (of ``outputs[0]``) and ``values``."""

    def __init__(
        self, plan: Plan, values: list[Any], grads: list[Any], circuit: Circuit | None = None
    ) -> None:
        self._plan = plan
        self._values = values
        self._grads = grads
        #: the circuit that made this result (``None`` when made by hand)
        self.circuit = circuit

    @cached_property
    def outputs(self) -> Mapping[str, Any]:
        """Each output's value, in the order of ``outputs:``."""
        return {name: self._values[slot] for name, slot in self._plan.outputs.items()}

    @cached_property
    def grads(self) -> Mapping[str, Any]:
        """The gradient of the first output with respect to every input and param."""
        values, grads = self._values, self._grads
        shared = {id(value) for value in values if type(value) is np.ndarray}
        return {
            name: _shaped_like(grads[slot], values[slot], shared) for name, slot in self._plan.leaves.items()
        }

    @cached_property
    def values(self) -> Mapping[str, Any]:
        """Every node's value (leaves and gates), in file order."""
        return {name: self._values[slot] for name, slot in self._plan.slots.items()}

    def __repr__(self) -> str:
        return f"<Result outputs={self.outputs!r}>"

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of this run: values and gradients on the wires.

        The circuit runs again from this run's leaf values. ``None`` (Jupyter
        then shows the text) without Graphviz; see :func:`gatekit.draw.svg`.
        """
        if self.circuit is None:
            return None
        from gatekit import draw  # noqa: PLC0415 - draw imports this module

        leaves = {name: self._values[slot] for name, slot in self._plan.leaves.items()}
        return draw.svg(self.circuit, leaves)
