"""A run written out step by step: every gate's inputs and output, then the chain rule.

:func:`trace` runs a circuit with a :class:`Recorder` watching the backward
loop (:class:`gatekit.engine.scheduler.Observer`): it keeps what the plain run
throws away, the gradient arriving at each gate (``upstream``), each local
gradient, the contribution sent down each wire, and the input's gradient
before and after the contribution is added (where a wire fans out, the
additions show how its gradient accumulates). These are the run's own
numbers: nothing here applies the chain rule again. ``explain`` and ``draw``
read nothing else. A run with tangents (forward mode) is recorded too, by a
:class:`TangentRecorder` (:class:`gatekit.engine.scheduler.TangentObserver`):
for each gate a tangent reaches, in run order, each input's tangent, the
local gradient, their product and the sum into the gate's tangent.

A circuit's module uses are expanded before it runs, so the trace shows
every gate inside them (each row says which module uses it sits in,
``within``). :func:`collapse` turns it into the trace of the circuit as
written: each outermost module use one gate, whose wires carry the sum of
what came back through the whole module.

>>> import gatekit
>>> circuit = gatekit.loads("inputs: {x: 3.0}\\ngates:\\n  y: {gate: mul, in: [x, x]}\\noutputs: [y]")
>>> [(w.source, w.local, w.product, w.after) for w in trace(circuit).backward[0].wires]
[('x', 3.0, 3.0, 3.0), ('x', 3.0, 3.0, 6.0)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gatekit.engine.broadcast import shape_of
from gatekit.engine.circuit import Circuit, Result, as_value
from gatekit.engine.compiler import BackwardStep, ForwardStep, Plan
from gatekit.engine.scheduler import accumulate
from gatekit.format.parse import GateUse
from gatekit.plugin.gatespec import GateSpec

__all__ = [
    "BackwardRow",
    "ForwardRow",
    "ModuleUse",
    "Recorder",
    "TangentRecorder",
    "TangentRow",
    "TangentWire",
    "Trace",
    "Wire",
    "Within",
    "collapse",
    "module_uses",
    "trace",
]

Within = tuple[tuple[str, str], ...]
_Key = str | int  # an input of a module use: a node by name, a constant by its position in the use


@dataclass(frozen=True, slots=True)
class ForwardRow:
    """One gate of the forward pass: what came in, what went out."""

    node: str
    gate: str
    inputs: tuple[tuple[str | float, Any], ...]  # (node name or constant, value)
    output: Any
    #: the module uses around the gate, outermost first, as ``(path, module)``
    within: Within = ()
    #: the row stands for a whole module use (collapsed): ``gate`` is the module
    module: bool = False
    #: the gate's spec (how to write it); ``None`` for a module use
    spec: GateSpec | None = None


@dataclass(frozen=True, slots=True)
class Wire:
    """What one gate sent back down one input wire.

    ``local`` is the local gradient (``None`` for a gate that computes the
    contribution itself, a VJP gate, and for a collapsed module);
    ``product`` is the contribution, ``local * upstream`` summed to the
    input's shape (for a module, the sum of the contributions on its gates'
    wires from that input). ``before`` and ``after`` are the input's
    gradient around the addition (``before`` is 0 for the first one); both
    are ``None`` for a constant or an input no leaf reaches, whose gradient
    is not kept. ``position`` is the wire's place among the gate's inputs
    (for a collapsed module, among :attr:`ModuleUse.inputs`).
    """

    source: str | float
    local: Any
    product: Any
    before: Any
    after: Any
    position: int

    @property
    def kept(self) -> bool:
        return self.after is not None


@dataclass(frozen=True, slots=True)
class BackwardRow:
    """One gate of the backward pass: the gradient at its output, and its wires."""

    node: str
    gate: str
    upstream: Any
    wires: tuple[Wire, ...]
    within: Within = ()  # as in :class:`ForwardRow`
    module: bool = False


@dataclass(frozen=True, slots=True)
class TangentWire:
    """How one input moved one gate's output, in forward mode.

    ``tangent`` is the input's tangent (``None``: it does not move, a
    constant or a node no tangent reaches); ``local`` the local gradient
    (``None`` for a ``gate_jvp`` gate and a collapsed module, which map
    their inputs' tangents together); ``product`` is ``local * tangent``,
    broadcast to the output's shape; ``before`` and ``after`` are the gate's
    tangent around its addition (``before`` is 0 for the first). The last
    three are ``None`` where nothing was added.
    """

    source: str | float
    tangent: Any
    local: Any
    product: Any
    before: Any
    after: Any
    position: int

    @property
    def moves(self) -> bool:
        return self.tangent is not None


@dataclass(frozen=True, slots=True)
class TangentRow:
    """One gate of the forward-mode pass: its inputs' tangents, its wires, its own tangent."""

    node: str
    gate: str
    wires: tuple[TangentWire, ...]
    tangent: Any  # the output's: the sum of the products (a gate_jvp gate's own result)
    within: Within = ()  # as in :class:`ForwardRow`
    module: bool = False
    jvp: bool = False  # the gate gave its tangent through gate_jvp


@dataclass(frozen=True, slots=True)
class Trace:
    """A run, step by step: ``forward`` in run order, ``backward`` in reverse.

    A run with tangents has ``tangent``, the forward-mode pass in run order
    (the gates a tangent reaches), and ``along``, the tangents it was given.
    """

    result: Result
    root: str
    forward: list[ForwardRow]
    backward: list[BackwardRow]
    grads: dict[str, Any]  # every node's gradient at the end, where one was kept
    tangent: list[TangentRow] = field(default_factory=list)
    along: dict[str, Any] = field(default_factory=dict)  # leaf -> its tangent, as the run was given


class Recorder:
    """An observer of the backward loop that keeps every step, for :attr:`rows`."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._steps: list[tuple[GateUse, Any, list[Wire]]] = []

    def gate(self, step: BackwardStep, upstream: Any) -> None:
        self._steps.append((self._plan.gates[step.out].use, upstream, []))

    def wire(
        self, step: BackwardStep, position: int, *, local: Any, sent: Any, before: Any, after: Any
    ) -> None:
        use, _, wires = self._steps[-1]
        if isinstance(sent, np.ndarray) and not sent.flags.owndata:
            sent = sent.copy()  # a broadcast view: give it memory of its own, for the reader
        if after is not None and before is None:
            before = 0.0  # the first contribution: the gradient was 0 before it
        wires.append(Wire(use.inputs[position], local, sent, before, after, position))

    @property
    def rows(self) -> list[BackwardRow]:
        """The backward pass so far, one row per gate, in run order."""
        return [
            BackwardRow(use.name, use.gate, upstream, tuple(wires), use.within)
            for use, upstream, wires in self._steps
        ]


def _own(value: Any) -> Any:
    """An array with memory of its own (a broadcast view copied), for the reader; others as they are."""
    if isinstance(value, np.ndarray) and not value.flags.owndata:
        return value.copy()
    return value


class TangentRecorder:
    """An observer of the forward-mode loop that keeps every gate's step, for :attr:`rows`."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self.rows: list[TangentRow] = []  # the forward-mode pass so far, in run order

    def gate(
        self,
        step: ForwardStep,
        given: Sequence[Any],
        local: Sequence[Any] | None,
        sent: Sequence[Any],
        tangent: Any,
    ) -> None:
        bound = self._plan.gates[step.out]
        use = bound.use
        wires = []
        total = None  # the gate's tangent so far, added up as the loop adds it
        for position, source in enumerate(use.inputs):
            part = sent[position]
            before = after = None
            if part is not None:
                before = 0.0 if total is None else total
                total = after = accumulate(total, part)
            wires.append(
                TangentWire(
                    source,
                    _own(given[position]),
                    None if local is None else local[position],
                    _own(part),
                    _own(before),
                    _own(after),
                    position,
                )
            )
        jvp = local is None
        self.rows.append(TangentRow(use.name, use.gate, tuple(wires), _own(tangent), use.within, jvp=jvp))


def trace(
    circuit: Circuit,
    values: Mapping[str, Any] | None = None,
    *,
    of: str | None = None,
    seed_grad: Any = None,
    tangents: Mapping[str, Any] | None = None,
) -> Trace:
    """Run ``circuit`` (leaf values from ``values``) and record its passes gate by gate.

    ``of``, ``seed_grad`` and ``tangents`` are :meth:`Circuit.run`'s: the
    node backprop starts from, its starting gradient, and the leaves'
    tangents for a forward-mode pass, recorded too.
    """
    plan = circuit.plan_for(of)
    recorder = Recorder(plan)
    moving = None if tangents is None else TangentRecorder(plan)
    result = circuit.run(
        values or {},
        observer=recorder,
        of=of,
        seed_grad=seed_grad,
        tangents=tangents,
        tangent_observer=moving,
    )
    by_name = result.values

    def value_of(source: str | float) -> Any:
        return by_name[source] if isinstance(source, str) else source

    forward = []
    for step in plan.forward:
        bound = plan.gates[step.out]
        use = bound.use
        inputs = tuple((source, value_of(source)) for source in use.inputs)
        forward.append(
            ForwardRow(use.name, use.gate, inputs, by_name[use.name], use.within, spec=bound.gate.spec)
        )
    root = result.of
    grads: dict[str, Any] = {root: _seed(by_name[root], 1.0 if seed_grad is None else seed_grad)}
    backward = recorder.rows
    if backward and backward[0].node == root:  # the engine's seed 1.0 stands for ones of the root's shape
        backward[0] = replace(backward[0], upstream=grads[root])
    for row in backward:
        for wire in row.wires:
            if wire.kept and isinstance(wire.source, str):
                grads[wire.source] = wire.after
    rows = [] if moving is None else moving.rows
    return Trace(result, root, forward, backward, grads, rows, _along(result, tangents))


def _seed(value: Any, seed: Any = 1.0) -> Any:
    """The gradient backprop starts from at the root, of the root's shape: 1 (ones), or ``seed``."""
    shape = shape_of(value)
    seed = as_value(seed, "the seed gradient")
    return seed if shape == () or shape_of(seed) == shape else np.full(shape, seed)


def _along(result: Result, tangents: Mapping[str, Any] | None) -> dict[str, Any]:
    """The tangents a run was given, each of its leaf's shape (a number stands for one at every element)."""
    if tangents is None:
        return {}
    moved = result.node_tangents
    return {name: moved[name] for name in tangents}


# -- modules, collapsed ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModuleUse:
    """One outermost module use of a circuit, seen from outside as one gate.

    ``name`` is the use's name, which is also its path and the name of the
    module's output node. ``inputs`` are the distinct sources its gates read
    from outside the module (nodes, or number constants given at the use), in
    the use's order, a node given twice once; ``positions`` maps each wire
    from outside, ``(inner gate, input position)``, to its position in
    ``inputs``.
    """

    name: str
    module: str
    gates: tuple[str, ...]  # the expanded gates inside, in run order
    inputs: tuple[str | float, ...]
    positions: Mapping[tuple[str, int], int]


def module_uses(uses: Iterable[GateUse]) -> dict[str, ModuleUse]:
    """The outermost module uses among the expanded gates ``uses`` (in run order), by name."""
    # path -> (module, its gates, key -> (first position in the use, source), wire -> key)
    found: dict[str, tuple[str, list[str], dict[_Key, tuple[int, str | float]], dict[tuple[str, int], _Key]]]
    found = {}
    for use in uses:
        if not use.within:
            continue
        path, module = use.within[0]
        _, gates, sources, keys = found.setdefault(path, (module, [], {}, {}))
        gates.append(use.name)
        for position, (source, argument) in enumerate(zip(use.inputs, use.arguments, strict=True)):
            if argument is None:  # the module's own gate or constant
                continue
            key = source if isinstance(source, str) else argument  # a node once; each constant given
            if key not in sources or argument < sources[key][0]:
                sources[key] = (argument, source)
            keys[use.name, position] = key
    modules = {}
    for path, (module, gates, sources, keys) in found.items():
        order = sorted(sources, key=lambda key: sources[key][0])
        index = {key: i for i, key in enumerate(order)}
        modules[path] = ModuleUse(
            path,
            module,
            tuple(gates),
            tuple(sources[key][1] for key in order),
            {wire: index[key] for wire, key in keys.items()},
        )
    return modules


def collapse(trace: Trace, opened: AbstractSet[str] = frozenset()) -> Trace:
    """``trace`` with each outermost module use as one gate, as the circuit is written.

    A module use's forward row reads its :attr:`ModuleUse.inputs` and
    outputs its output node's value; its backward row comes where its output
    gate's does, with the same upstream gradient, and one wire per input
    that a gradient came back along: the sum of the products of the wires
    from that input inside the module (added in the order the trace has
    them), with no local gradient (``None``). The accumulations are replayed
    over the collapsed rows, so each wire's ``before`` is the input's
    gradient so far in this view and ``after`` is ``before + product``. A
    trace without module uses is returned as it is.

    The outermost uses named in ``opened`` (by path) stay expanded: their
    gates keep their rows, marked ``within``, amid the others collapsed.

    >>> import gatekit
    >>> circuit = gatekit.loads(
    ...     "inputs: {x: 3.0}\\nmodules:\\n"
    ...     "  sq: {inputs: [a], gates: {out: {gate: mul, in: [a, a]}}, outputs: [out]}\\n"
    ...     "gates:\\n  y: {gate: sq, in: [x]}\\noutputs: [y]"
    ... )
    >>> (row,) = collapse(trace(circuit)).backward
    >>> row.node, row.gate, row.module
    ('y', 'sq', True)
    >>> [(w.source, w.local, w.product) for w in row.wires]  # x's two wires inside, summed
    [('x', None, 6.0)]
    """
    circuit = trace.result.circuit
    if circuit is None:  # pragma: no cover - trace() always runs a circuit
        raise ValueError("collapse needs the trace of a circuit's run")
    gates = circuit.definition.gates
    found = module_uses(gates[row.node] for row in trace.forward)
    modules = {path: use for path, use in found.items() if path not in opened}
    if not modules:
        return trace
    values = trace.result.values

    forward = []
    for ahead in trace.forward:
        if not ahead.within or ahead.within[0][0] not in modules:  # outside any use, or in an opened one
            forward.append(ahead)
        elif ahead.node in modules:  # the output of an outermost use: the module, seen whole
            use = modules[ahead.node]
            inputs = tuple((s, values[s] if isinstance(s, str) else s) for s in use.inputs)
            forward.append(ForwardRow(use.name, use.module, inputs, ahead.output, module=True))

    sums: dict[str, dict[int, Any]] = {}  # module use -> input position -> its wires' products, summed
    kept: set[tuple[str, int]] = set()
    for row in trace.backward:
        if not row.within or row.within[0][0] not in modules:
            continue
        use = modules[row.within[0][0]]
        sent = sums.setdefault(use.name, {})
        for wire in row.wires:
            at = use.positions.get((row.node, wire.position))
            if at is None:
                continue
            sent[at] = accumulate(sent.get(at), wire.product)
            if wire.kept:
                kept.add((use.name, at))

    grads: dict[str, Any] = {trace.root: trace.grads[trace.root]}

    def added(source: str | float, local: Any, product: Any, keep: bool, position: int) -> Wire:
        if not keep or not isinstance(source, str):
            return Wire(source, local, product, None, None, position)
        before = grads.get(source)
        grads[source] = accumulate(before, product)
        return Wire(source, local, product, 0.0 if before is None else before, grads[source], position)

    backward: list[BackwardRow] = []
    for row in trace.backward:
        if not row.within or row.within[0][0] not in modules:
            wires = tuple(added(w.source, w.local, w.product, w.kept, w.position) for w in row.wires)
            backward.append(replace(row, wires=wires))
        elif row.node in modules:
            use = modules[row.node]
            sent = sums.get(use.name, {})
            wires = tuple(
                added(use.inputs[at], None, sent[at], (use.name, at) in kept, at) for at in sorted(sent)
            )
            backward.append(BackwardRow(use.name, use.module, row.upstream, wires, module=True))
    return Trace(
        trace.result, trace.root, forward, backward, grads, _collapsed_tangents(trace, modules), trace.along
    )


def _collapsed_tangents(trace: Trace, modules: Mapping[str, ModuleUse]) -> list[TangentRow]:
    """The forward-mode rows of ``trace`` with each of ``modules`` one row, where its output gate's was.

    A module use's row has a wire per input, with that input's tangent and
    no local gradient or product: its gates map their inputs' tangents
    together, as a ``gate_jvp`` gate does.
    """
    moved: dict[str, Any] = dict(trace.along)  # each node's tangent, once its row is done
    rows = []
    for row in trace.tangent:
        moved[row.node] = row.tangent
        if not row.within or row.within[0][0] not in modules:
            rows.append(row)
        elif row.node in modules:
            use = modules[row.node]
            wires = tuple(
                TangentWire(
                    source, moved.get(source) if isinstance(source, str) else None, None, None, None, None, at
                )
                for at, source in enumerate(use.inputs)
            )
            rows.append(TangentRow(use.name, use.module, wires, row.tangent, module=True))
    return rows
