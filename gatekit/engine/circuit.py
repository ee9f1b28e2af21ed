"""The object users run: a :class:`Circuit` is loaded once and run often.

:meth:`Circuit.from_file` and :meth:`Circuit.from_text` take a circuit
through the whole pipeline (read, parse, load imports, expand modules,
validate, build the DAG, compile); :meth:`Circuit.run` runs the plan forward
and backward and returns a :class:`Result`. The engine draws nothing:
``gatekit.Circuit`` (``gatekit.api``) is this class with its notebook
pictures added from the views.

>>> circuit = Circuit.from_text("inputs: {x: 3.0}\\ngates: {y: {gate: square, in: [x]}}\\noutputs: [y]")
>>> result = circuit.run({"x": 4.0})
>>> result.outputs["y"], result.grads["x"]
(16.0, 8.0)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any, ClassVar, TypeVar

import networkx as nx
import numpy as np

from gatekit import math as gm
from gatekit.arrays import device, dtype_name, is_foreign, namespace_of, to_numpy, type_name
from gatekit.engine import scheduler
from gatekit.engine.batching import BatchedPlan, batch
from gatekit.engine.broadcast import shape_of, sum_to_shape
from gatekit.engine.buffers import BufferPool
from gatekit.engine.compiler import Plan, compile_plan
from gatekit.engine.graph import CircuitGraph, build_graph, cone_of
from gatekit.engine.guards import NotScalar, checked_tangent, fault_of, guarded, guarded_batched
from gatekit.engine.jacobian import Jacobian, Mode, compute_jacobian, plan_jacobian
from gatekit.engine.scheduler import Observer, TangentHook, TangentObserver
from gatekit.engine.validate import ValidCircuit, check_module_names, validate
from gatekit.errors import GatekitError, Location, PluginError, UsageError
from gatekit.format.document import Document, collector_paused, read_file, read_text
from gatekit.format.modules import expand, load_imports
from gatekit.format.parse import CircuitDef
from gatekit.plugin.registry import GateRegistry, default_registry

__all__ = ["Circuit", "Result", "as_value"]

C = TypeVar("C", bound="Circuit")


class Result:
    """One run's numbers: ``outputs``, ``grads`` (of ``outputs[0]``) and ``values``."""

    def __init__(
        self,
        plan: Plan,
        values: list[Any] | np.ndarray,
        grads: list[Any] | np.ndarray,
        circuit: Circuit | None = None,
        tangents: list[Any] | None = None,
    ) -> None:
        self._plan = plan
        self._tangents = tangents
        #: a value per slot: a list, or, from a batched run, a float64 vector read as floats when asked
        self._slots = values
        self._gradients = grads
        #: the circuit that made this result (``None`` when made by hand)
        self.circuit = circuit

    @cached_property
    def _values(self) -> list[Any]:
        slots = self._slots
        return slots.tolist() if isinstance(slots, np.ndarray) else slots

    @cached_property
    def _grads(self) -> list[Any]:
        grads = self._gradients
        return grads.tolist() if isinstance(grads, np.ndarray) else grads

    def _picked(self, slots: Mapping[str, int]) -> dict[str, Any]:
        """``{name: value}`` for the named slots, as floats even from a batched run's vector."""
        values = self._slots
        if type(values) is np.ndarray and "_values" not in self.__dict__:
            return dict(zip(slots, values[list(slots.values())].tolist(), strict=True))
        return {name: self._values[slot] for name, slot in slots.items()}

    @cached_property
    def outputs(self) -> Mapping[str, Any]:
        """Each output's value, in the order of ``outputs:``."""
        return self._picked(self._plan.outputs)

    @cached_property
    def grads(self) -> Mapping[str, Any]:
        """The gradient of the first output with respect to every input and param."""
        plan, vector = self._plan, self._gradients
        if type(vector) is np.ndarray:  # a batched run: numbers only, no array to copy or shape
            picked = vector[list(plan.leaves.values())].tolist()
            return {
                name: grad if slot in plan.reached else 0.0
                for (name, slot), grad in zip(plan.leaves.items(), picked, strict=True)
            }
        values, grads, reached = self._values, self._grads, plan.reached
        shared = {id(value) for value in values if type(value) is np.ndarray or is_foreign(value)}
        with np.errstate(all="ignore"):  # summing inf and -inf is nan, as in the run, not a warning
            return {
                name: _shaped_like(grads[slot] if slot in reached else None, values[slot], shared)
                for name, slot in self._plan.leaves.items()
            }

    @cached_property
    def values(self) -> Mapping[str, Any]:
        """Every node's value (leaves and gates), in file order.

        Arrays are read-only: they are what the gates were given, and a
        leaf's may be the circuit's own value, used by every run (copy one
        to change it).
        """
        return {name: self._values[slot] for name, slot in self._plan.slots.items()}

    @cached_property
    def of(self) -> str:
        """The node whose gradient :attr:`grads` holds (``outputs[0]`` unless the run said)."""
        root = self._plan.root
        return next(name for name, slot in self._plan.slots.items() if slot == root)

    @cached_property
    def tangents(self) -> Mapping[str, Any]:
        """How each output moves along the run's tangents (forward mode); empty without them.

        An output that no tangent reaches moves by 0 (zeros of its shape).
        """
        if self._tangents is None:
            return {}
        return {name: self._moved(slot) for name, slot in self._plan.outputs.items()}

    @cached_property
    def node_tangents(self) -> Mapping[str, Any]:
        """How every node moves along the run's tangents, in file order; empty without them."""
        if self._tangents is None:
            return {}
        return {name: self._moved(slot) for name, slot in self._plan.slots.items()}

    def _moved(self, slot: int) -> Any:
        tangent = self._tangents[slot] if self._tangents is not None else None
        value = self._values[slot]
        if is_foreign(value):  # another library's: its own zeros, or a copy of the tangent spread
            xp = namespace_of(value)
            spread = gm.broadcast(0.0 if tangent is None else tangent, tuple(value.shape), value)
            return xp.asarray(spread, copy=True)
        if tangent is None:
            return np.zeros(np.shape(value)) if isinstance(value, np.ndarray) else 0.0
        if isinstance(value, np.ndarray):
            return np.array(np.broadcast_to(tangent, value.shape))  # the result's own
        return float(tangent)

    def on_host(self) -> Result:
        """This result with another library's arrays as NumPy's (0-d ones as floats); itself if it has none.

        For printing and files: ``gatekit run --backend`` shows its numbers so.
        """
        values, grads = self._slots, self._gradients
        if isinstance(values, np.ndarray) or not any(map(is_foreign, [*values, *grads])):
            return self
        tangents = self._tangents
        moved = None if tangents is None else [None if t is None else _host(t) for t in tangents]
        return type(self)(
            self._plan, [_host(v) for v in values], [_host(g) for g in grads], self.circuit, moved
        )

    @property
    def leaves(self) -> dict[str, Any]:
        """The value each input and param had in this run."""
        return self._picked(self._plan.leaves)

    def __repr__(self) -> str:
        return f"<Result outputs={self.outputs!r}>"


class Circuit:
    """A validated, compiled circuit, ready to run many times."""

    #: what :meth:`run` returns (a subclass may return a subclass)
    result_type: ClassVar[type[Result]] = Result

    def __init__(self, valid: ValidCircuit, dag: CircuitGraph, plan: Plan, unused: list[str]) -> None:
        self.valid = valid
        self._dag = dag
        self.plan = plan
        # the kinds of run whose plugin results were checked: scalars (False), arrays (True),
        # arrays computed into the pool's buffers ("pooled")
        self._checked: set[bool | str] = set()
        #: arrays of past runs, computed into again once nobody holds them (:mod:`gatekit.engine.buffers`)
        self.pool = BufferPool()
        self._batched_plan: BatchedPlan | None = None
        self._plans: dict[str, Plan] = {}  # plan_for: the plans of other roots than outputs[0]
        self._tangent_hooks: list[TangentHook | None] | None = None  # forward mode's, per forward step
        self._batching_decided = False
        self._initial_vector = np.empty(0)  # plan.initial as a float64 vector, for the batched loops
        # whether the file's own leaf values hold an array (overrides may add one)
        self._array_leaves = any(type(plan.initial[slot]) is np.ndarray for slot in plan.leaves.values())
        #: ``(location, message)`` pairs worth telling the author (unused gates)
        self.warnings: list[tuple[Location, str]] = [
            (valid.gates[name].location, f"gate {name!r} is not used by any output") for name in unused
        ]

    # -- loading -------------------------------------------------------------

    @classmethod
    def from_file(cls: type[C], path: str | os.PathLike[str], registry: GateRegistry | None = None) -> C:
        """Read, validate and compile the circuit file at ``path``.

        :raises GatekitError: the file is unreadable or not a valid circuit;
            the message names the file, line and column.
        """
        with collector_paused():
            return cls.from_document(read_file(os.fspath(path)), registry)

    @classmethod
    def from_text(cls: type[C], text: str, file: str = "<string>", registry: GateRegistry | None = None) -> C:
        """Like :meth:`from_file`, from YAML (or JSON) text; ``file`` names it in messages."""
        with collector_paused():
            return cls.from_document(read_text(text, file), registry)

    @classmethod
    def from_document(cls: type[C], document: Document, registry: GateRegistry | None = None) -> C:
        """Like :meth:`from_file`, from a file already read (:mod:`gatekit.format.document`).

        An error about a part of a gate that a fast reader took without its
        place (an input that names nothing, an unknown gate) is made again
        from the file composed by the reference reader, which locates it.
        """
        with collector_paused():
            return cls._from_document(document, registry)

    @classmethod
    def _from_document(cls: type[C], document: Document, registry: GateRegistry | None) -> C:
        registry = registry if registry is not None else default_registry()
        definition = document.parse()
        document.preread = None  # parsed: its records are the definition's now, not held twice
        definition = load_imports(definition)
        check_module_names(definition, registry)
        try:
            valid = validate(expand(definition), registry)
            dag = build_graph(valid)
        except GatekitError:
            if not document.fast:
                raise
            del definition
            return cls._from_document(document.reference(), registry)
        document.text = None  # no error left to locate: a large file's text is not kept while compiling
        return cls(valid, dag, compile_plan(valid, dag), dag.unused)

    # -- what it is ----------------------------------------------------------

    @property
    def graph(self) -> nx.DiGraph[str]:
        """The circuit as a networkx ``DiGraph`` (built the first time it is asked for)."""
        return self._dag.graph

    @property
    def definition(self) -> CircuitDef:
        """The circuit as its file defines it, module uses expanded."""
        return self.valid.definition

    @property
    def file(self) -> str:
        return self.valid.file

    @property
    def name(self) -> str | None:
        return self.valid.definition.name

    @property
    def inputs(self) -> list[str]:
        return [leaf.name for leaf in self.valid.leaves.values() if leaf.kind == "input"]

    @property
    def params(self) -> list[str]:
        return [leaf.name for leaf in self.valid.leaves.values() if leaf.kind == "param"]

    @property
    def outputs(self) -> list[str]:
        return list(self.valid.outputs)

    # -- running -------------------------------------------------------------

    def run(
        self,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        check_finite: bool = False,
        observer: Observer | None = None,
        guard: bool = False,
        batching: bool = True,
        of: str | None = None,
        seed_grad: Any = None,
        tangents: Mapping[str, Any] | None = None,
        tangent_observer: TangentObserver | None = None,
        **overrides: Any,
    ) -> Result:
        """Run forward and backward; ``values`` and ``overrides`` replace leaves' values.

        :param values: ``{name: value}`` for inputs and params (any name,
            ``check_finite`` included); ``overrides`` (``name=value``) are
            applied after it. A value is a number or anything
            ``numpy.asarray`` takes.
        :param check_finite: stop at the first gate that produces NaN or
            infinity, forward or backward, naming it and its inputs.
        :param observer: told every backward step (see
            :class:`gatekit.engine.scheduler.Observer`); ``gatekit explain``
            records a run with one. Such a run is always guarded.
        :param guard: check what every hook returns on this run, as the
            first run (and the first run with arrays) always does; tools that
            call a circuit again and again to check it (``gatekit.testing``)
            ask for it, so a hook that misbehaves on a later call is named.
        :param batching: a run of numbers only may run groups of gates as
            one call on vectors (see :mod:`gatekit.engine.batching`), which
            gives the same numbers to the last bit or two; ``False`` runs
            every gate on its own, as an observed run does.
        :param of: the node whose gradient ``grads`` holds: any output or
            gate (default ``outputs[0]``).
        :param seed_grad: the gradient backprop starts from at ``of``: a
            number, or an array of its shape (a cotangent: ``grads`` are then
            a vector-Jacobian product); default 1 (ones for an array).
        :param tangents: ``{leaf: direction}`` for forward mode: a number or
            an array of the leaf's shape, zero for leaves not named;
            :attr:`Result.tangents` then holds how each output moves along
            that direction (the directional derivative), from one forward
            pass with the same local gradients backprop uses.
        :param tangent_observer: told every gate that a tangent reaches (see
            :class:`gatekit.engine.scheduler.TangentObserver`); ``gatekit
            explain --tangent`` records the forward-mode pass with one. Such a
            run is guarded, as one with an ``observer`` is.
        :raises UsageError: an override, a tangent or ``of`` names nothing
            the circuit has, or a value is not numeric or of the wrong shape.
        :raises PluginError: forward mode reaches a ``gate_vjp`` gate that
            has no ``gate_jvp`` (the message lists every such gate).
        :raises RunError: a gate raised, returned something that is not a
            float64 number or array or the wrong number or shape of gradients
            (checked on guarded runs), or, with ``check_finite``, produced NaN
            or infinity; the message names the gate, its plugin and its
            location.
        """
        plan = self.plan_for(of)
        slots = plan.initial.copy()
        arrays = self._array_leaves
        given = []
        foreign = None  # the first array of another library than NumPy's: the run's library
        for name, value in {**(values or {}), **overrides}.items():
            slot = self._leaf_slot(name, "input or param")
            slots[slot] = as_value(value, name)
            given.append(slot)
            kind_of = type(slots[slot])
            arrays = arrays or kind_of is np.ndarray
            if kind_of is not float and kind_of is not np.ndarray and is_foreign(slots[slot]):
                foreign = _same_library(foreign, slots[slot], name)
                arrays = True
        seed = 1.0 if seed_grad is None else as_value(seed_grad, "the seed gradient")
        arrays = arrays or type(seed) is np.ndarray
        if foreign is not None:  # the circuit's own arrays (and NumPy ones given) move to that library
            _move_arrays(slots, plan.leaves.values(), foreign)
            if type(seed) is np.ndarray:
                seed = _moved_to(seed, foreign)
        elif is_foreign(seed):
            raise UsageError(
                f"the seed gradient is a {type_name(seed)}, the leaves NumPy's: give it as a NumPy array, or "
                "the leaves as arrays of its library"
            )
        seeds = None if tangents is None else self._tangent_seeds(tangents, slots)
        if seeds is not None and foreign is not None:
            seeds = {slot: _moved_to(t, foreign) if type(t) is np.ndarray else t for slot, t in seeds.items()}
        plain = of is None and seed_grad is None and seeds is None
        library: bool | str = arrays if foreign is None else type_name(foreign)  # checked per library
        kind: bool | str = (
            library if plain else f"{library} {of}"
        )  # a plan of its own: checked on its first run
        observed = observer is not None or tangent_observer is not None  # the run is recorded
        must_guard = check_finite or guard or observed or kind not in self._checked
        if not arrays and not observed and batching and plain:
            batched = self.batched
            if batched is not None:
                try:
                    return self._run_batched(batched, slots, given, must_guard, check_finite)
                except NotScalar:  # a gate makes arrays of numbers: this circuit runs gate by gate
                    self.batched = None
        pool = None
        pooled = False  # whether gates may be given buffers: the pool knows their shapes
        if arrays and not observed and foreign is None:  # a record keeps the arrays; the pool is NumPy's
            leaf_shapes = tuple(shape_of(slots[slot]) for slot in plan.leaves.values())
            pool = self.pool if BufferPool.worth(leaf_shapes) else None
        if pool is not None:
            pool.start(leaf_shapes)
            pooled = bool(pool.shapes)
            # the first run computing into buffers checks what plugins return there
            must_guard = must_guard or (pooled and "pooled" not in self._checked)
        run_plan = guarded(plan, finite=check_finite) if must_guard else plan  # the first run of each kind
        tangent_values = None
        if arrays:
            with np.errstate(all="ignore"):  # inf and nan are results, not warnings
                scheduler.forward_arrays(run_plan, slots, pool)
                _check_seed(seed, slots[plan.root], of or self.outputs[0])
                if seeds is not None:
                    tangent_values = self._tangents(plan, slots, seeds, must_guard, tangent_observer)
                if pool is None:
                    grads = scheduler.backward(run_plan, slots, observer, seed=seed)
                else:  # unobserved, NumPy's: the gates' gradients are let go and their arrays reused
                    grads = scheduler.backward_arrays(run_plan, slots, pool, seed)
            if pool is not None:
                outs = [step[5] for step in plan.forward_loop]  # each gate's output slot
                made = [slots[out] for out in outs]
                shapes = {out: shape_of(value) for out, value in zip(outs, made, strict=True)}
                pool.finish([*made, *grads], shapes)
                if pooled:
                    self._checked.add("pooled")
        else:
            scheduler.forward(run_plan, slots)
            if seeds is not None:
                tangent_values = self._tangents(plan, slots, seeds, must_guard, tangent_observer)
            if observer is None:
                grads = scheduler.backward_floats(run_plan, slots, seed)
            else:
                grads = scheduler.backward(run_plan, slots, observer, seed=seed)
        self._checked.add(kind)
        return self.result_type(plan, slots, grads, self, tangent_values)

    def jacobian(
        self,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        of: str | Iterable[str] | None = None,
        wrt: str | Iterable[str] | None = None,
        mode: Mode = "auto",
        check_finite: bool = False,
    ) -> Jacobian:
        """The whole Jacobian of ``of`` (default: every output) with respect to ``wrt`` (every leaf).

        A reverse pass per output element, or a forward pass per leaf
        element: ``mode="auto"`` takes whichever needs fewer (reverse on a
        tie, and where a tangent would reach a gate without ``gate_jvp``);
        ``"forward"`` and ``"reverse"`` choose. Each pass is a whole run, in
        a plain loop (see :mod:`gatekit.engine.jacobian` for why the passes
        are not stacked into one run). ``values`` replace leaves' values, as
        for :meth:`run`.

        >>> circuit = Circuit.from_text("inputs: {x: 3.0, y: 2.0}\\ngates: {p: {gate: mul, in: [x, y]}}\\n"
        ...                             "outputs: [p, x]")
        >>> jacobian = circuit.jacobian()
        >>> float(jacobian["p", "x"]), float(jacobian["p", "y"]), float(jacobian["x", "y"]), jacobian.mode
        (2.0, 3.0, 0.0, 'reverse')

        :return: a :class:`~gatekit.engine.jacobian.Jacobian`: ``jacobian[out, leaf]``
            is a float64 array of ``out``'s shape followed by ``leaf``'s.
        :raises UsageError: ``of`` names no node or ``wrt`` no leaf (or
            either names nothing), an unknown ``mode``, or a bad value.
        :raises PluginError: ``mode="forward"`` reaches a gate without ``gate_jvp``.
        :raises RunError: a gate failed in a pass.
        """
        plan = plan_jacobian(self, values, of=of, wrt=wrt, mode=mode, check_finite=check_finite)
        return compute_jacobian(self, plan, values, check_finite=check_finite)

    # -- other roots, forward mode ------------------------------------------

    def plan_for(self, of: str | None) -> Plan:
        """The plan whose backward pass starts from node ``of`` (``None``: ``outputs[0]``), compiled once.

        :raises UsageError: the circuit has no node ``of``.
        """
        if of is None or of == self.outputs[0]:
            return self.plan
        plan = self._plans.get(of)
        if plan is None:
            if of not in self.plan.slots:
                outputs = ", ".join(self.outputs)
                raise UsageError(
                    f"no node named {of!r} to take the gradient of (outputs: {outputs}; any gate or leaf "
                    "may be named)",
                    Location(self.file),
                )
            order = self._dag.order  # the order the main plan's slots were laid out in
            cone = cone_of(self.valid, order, of)
            plan = compile_plan(self.valid, CircuitGraph(self.valid, order, [], cone), of)
            self._plans[of] = plan
        return plan

    def _leaf_slot(self, name: str, what: str) -> int:
        slot = self.plan.leaves.get(name)
        if slot is None:
            known = ", ".join(self.plan.leaves) or "none"
            raise UsageError(f"no {what} named {name!r} (known: {known})", Location(self.file))
        return slot

    def _tangent_seeds(self, tangents: Mapping[str, Any], slots: list[Any]) -> dict[int, Any]:
        """Forward mode's starting tangents, by slot, checked against the leaves' values."""
        seeds = {}
        for name, value in tangents.items():
            slot = self._leaf_slot(name, "input or param to give a tangent")
            tangent = as_value(value, f"the tangent of {name}")
            leaf = shape_of(slots[slot])
            if shape_of(tangent) not in ((), leaf):
                raise UsageError(
                    f"the tangent of {name!r} has shape {shape_of(tangent)}; {name!r} has shape {leaf} "
                    "(give a number, or an array of that shape)"
                )
            if shape_of(tangent) != leaf:
                like = slots[slot]
                tangent = gm.broadcast(tangent, leaf, like) if is_foreign(like) else np.full(leaf, tangent)
            seeds[slot] = tangent
        return seeds

    def _tangents(
        self,
        plan: Plan,
        slots: list[Any],
        seeds: dict[int, Any],
        guard: bool,
        observer: TangentObserver | None = None,
    ) -> list[Any]:
        """Every slot's tangent, after refusing gates that cannot give one (all of them named).

        ``guard``: check what every hook returns, as a guarded run does.
        """
        if self._tangent_hooks is None:
            self._tangent_hooks = [
                plan.gates[step.out].gate.bind_tangent(plan.gates[step.out].attrs) for step in plan.forward
            ]
        hooks = self._tangent_hooks
        moving = set(seeds)
        lacking = []
        for step, hook in zip(plan.forward, hooks, strict=True):
            if moving.intersection(step.slots):
                moving.add(step.out)
                if hook is None:
                    lacking.append(plan.gates[step.out])
        if lacking:
            listed = ", ".join(bound.describe() for bound in lacking)
            raise PluginError(
                f"forward mode needs gate_jvp, which {listed} {'does' if len(lacking) == 1 else 'do'} not "
                "implement (a gate with gate_vjp gives its tangent only through it)",
                lacking[0].location,
            )
        if guard:
            hooks = [
                None if hook is None else checked_tangent(hook, fault_of(plan.gates[step.out]))
                for step, hook in zip(plan.forward, hooks, strict=True)
            ]
        return scheduler.forward_tangents(plan, slots, hooks, seeds, observer)

    @property
    def batched(self) -> BatchedPlan | None:
        """How runs of numbers only are batched (:mod:`gatekit.engine.batching`); ``None``: gate by gate.

        :func:`~gatekit.engine.batching.batch` decides it on first use; it may
        be set (to ``batch(circuit.plan, force=True)``, say, or ``None``).
        """
        if not self._batching_decided:
            self.batched = batch(self.plan)
        return self._batched_plan

    @batched.setter
    def batched(self, batched: BatchedPlan | None) -> None:
        self._batched_plan = batched
        self._batching_decided = True

    def _run_batched(
        self, batched: BatchedPlan, slots: list[Any], given: Iterable[int], must_guard: bool, finite: bool
    ) -> Result:
        if must_guard:
            batched = guarded_batched(batched, finite=finite)
        if not self._initial_vector.size:
            self._initial_vector = np.array(self.plan.initial, dtype=np.float64)
        values = self._initial_vector.copy()
        for slot in given:
            values[slot] = slots[slot]
        with np.errstate(all="ignore"):  # inf and nan are results, not warnings
            scheduler.forward_batched(batched, values)
            grads = scheduler.backward_batched(batched, values)
        self._checked.add(False)
        return self.result_type(self.plan, values, grads, self)

    def __repr__(self) -> str:
        return f"<Circuit {self.name or self.file!r}: {len(self.plan.forward)} gates>"


def as_value(value: Any, name: str) -> Any:
    """A leaf value as gatekit runs it: a float, or a read-only float64 array.

    An array is handed to gates as a read-only view: the caller's own array
    (which ``np.asarray`` returns when it is float64 already) is never
    changed, not even its flags.
    """
    if isinstance(value, bool):
        raise UsageError(f"the value for {name!r} must be a number, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    wanted = f"the value for {name!r} must be a number or an array of numbers"
    if is_foreign(value):
        return _foreign_value(value, wanted)
    if value is None or isinstance(value, str | bytes):  # NumPy would make None nan, and read '1.5'
        raise UsageError(f"{wanted}, got {'None' if value is None else f'the text {value!r}'}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # a ragged list
        raise UsageError(f"{wanted} ({exc})") from None
    if raw.dtype.kind not in "iuf":  # not None, text, booleans or objects turned into numbers
        raise UsageError(f"{wanted}, got an array of dtype {raw.dtype}")
    array = raw.astype(np.float64, copy=False)
    if array.ndim == 0:
        return float(array)
    view = array.view()
    view.flags.writeable = False
    return view


def _foreign_value(value: Any, wanted: str) -> Any:
    """Another library's array as gatekit runs it: float64 (integers and other floats converted), as given.

    Its 0-d arrays stay arrays, and nothing makes it read-only: the library
    may have no such flag.
    """
    xp = namespace_of(value)
    dtype = value.dtype
    if dtype == xp.float64:
        return value
    if xp.isdtype(dtype, ("integral", "real floating")):
        return xp.astype(value, xp.float64)
    raise UsageError(f"{wanted}, got an array of dtype {dtype_name(value)} ({type_name(value)})")


def _same_library(first: Any, value: Any, name: str) -> Any:
    """The run's first foreign array: ``first``, or ``value`` if it is the first; one library per run."""
    if first is None:
        return value
    if namespace_of(value) is not namespace_of(first):
        raise UsageError(
            f"the value for {name!r} is a {type_name(value)}, another leaf's a {type_name(first)}: the "
            "arrays of one run are of one library"
        )
    return first


def _moved_to(array: np.ndarray, like: Any) -> Any:
    """A NumPy array as a float64 array of ``like``'s library, on its device (a copy)."""
    xp = namespace_of(like)
    own = np.array(array, dtype=np.float64)  # writable: a library may share it, and PyTorch warns if not
    return xp.asarray(own, dtype=xp.float64, device=device(like))


def _move_arrays(slots: list[Any], leaves: Iterable[int], like: Any) -> None:
    """The leaves' NumPy arrays (the file's own, or given) as arrays of ``like``'s library; numbers stay."""
    for slot in leaves:
        if type(slots[slot]) is np.ndarray:
            slots[slot] = _moved_to(slots[slot], like)


def _host(value: Any) -> Any:
    """Another library's array as a read-only NumPy array, or a float if it is 0-d; anything else as it is."""
    if not is_foreign(value):
        return value
    array = to_numpy(value)
    if array.ndim == 0:
        return float(array)
    array.flags.writeable = False
    return array


def _check_seed(seed: Any, root: Any, name: str) -> None:
    """A seed gradient must be a number or have its root's shape."""
    if shape_of(seed) not in ((), shape_of(root)):
        raise UsageError(
            f"the seed gradient has shape {shape_of(seed)}; {name!r} has shape {shape_of(root)} "
            "(give a number, or an array of that shape)"
        )


def _shaped_like(grad: Any, value: Any, shared: set[int]) -> Any:
    """A leaf's gradient with the leaf's shape: summed over broadcast axes, scalars spread.

    ``None`` (no gradient reached the leaf) is 0. An array that is also a
    node's value or another leaf's gradient, or a view (the array pass
    shares and broadcasts arrays rather than copying them), is copied, once,
    here.
    """
    if grad is None:
        grad = 0.0
    if is_foreign(value) or is_foreign(grad):
        return _foreign_shaped_like(grad, value, shared)
    if not isinstance(value, np.ndarray):
        return float(np.sum(grad)) if isinstance(grad, np.ndarray) else grad
    grad = sum_to_shape(grad, value.shape)
    if np.ndim(grad) == 0:
        return np.full(value.shape, grad)
    if id(grad) in shared or not grad.flags.owndata or not grad.flags.writeable:
        grad = grad.copy()  # shared, a (broadcast) view, or made read-only for a gate: the result's own
    shared.add(id(grad))
    return grad


def _foreign_shaped_like(grad: Any, value: Any, shared: set[int]) -> Any:
    """:func:`_shaped_like` for a run on another library's arrays: a gradient of that library.

    A number leaf's gradient is a 0-d array of it (or a float, if only
    numbers reached it); an array leaf's is summed or spread to its shape
    and copied where it is shared or was spread.
    """
    shape = shape_of(value)
    if shape == ():
        if is_foreign(grad) and grad.ndim:
            return namespace_of(grad).sum(grad)
        return grad
    grad = sum_to_shape(grad, shape)
    if not is_foreign(grad) or shape_of(grad) != shape:
        grad = gm.broadcast(grad, shape, value)  # a number (or a smaller array) spread
        shared.add(id(grad))  # a view: copied below
    if id(grad) in shared:
        grad = namespace_of(grad).asarray(grad, copy=True)
    shared.add(id(grad))
    return grad
