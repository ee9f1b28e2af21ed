"""Export a circuit to ONNX: :func:`to_onnx`, optionally with its backward pass.

Each gate writes itself in standard ONNX operators through its ``gate_onnx``
hook (see :mod:`gatekit.plugin.hookspecs`), given a
:class:`~gatekit.onnx.builder.GraphBuilder`. The circuit's inputs become the
graph's inputs, its params initializers, its number constants ``Constant``
nodes, and every value is float64. The shapes come from a gatekit run at the
circuit's values: a dimension that follows a batch axis (``batch_axes``) is
left symbolic (``batch``), found by running at two more batch sizes and
seeing which dimensions move.

A module use becomes a call of an ONNX local function (domain
``gatekit.modules``), one function per module and shapes, a module inside a
module written into its caller's body; or its gates are written out inline
(``inline_modules``). With ``with_gradients`` the graph also holds the
backward pass, built as :mod:`gatekit.engine.scheduler` runs it: the plan's
backward steps in order, each gate's local gradients (``gate_onnx_local_grad``)
times the gradient from above, summed back to the input's shape where
broadcasting stretched it, or the gate's own vector-Jacobian product
(``gate_onnx_vjp``), and ``Add`` where a wire fans out. Modules are then
always inlined: the backward pass reads values inside a module, which a
function call does not return. The gradients are extra outputs named
``grad/LEAF``, one per input and param, of the leaf's shape.

The last node of each gate's forward pass in the graph (not in a local
function's body) carries, in its ``metadata_props``, the gate, its inputs
and its attributes (:data:`GATE_KEY`, :data:`INPUTS_KEY`, :data:`ATTRS_KEY`):
the other nodes of the gate are named after its output (``f#12``), so
:mod:`gatekit.onnx.importer` can make them that one gate again, with the
gate's own gradient.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pluggy

from gatekit.engine.circuit import Circuit
from gatekit.engine.compiler import SINK, Plan
from gatekit.engine.validate import BoundGate
from gatekit.errors import PLUGIN_FAULTS, Location, PluginError, RunError, UsageError, describe_exception
from gatekit.io.atomic import write_atomically
from gatekit.onnx.builder import GraphBuilder, Node
from gatekit.onnx.extra import require_onnx

__all__ = [
    "ATTRS_KEY",
    "BATCH",
    "GATE_KEY",
    "GRAD_PREFIX",
    "INPUTS_KEY",
    "MODULES_DOMAIN",
    "OPSET",
    "batch_axes_of",
    "save_onnx",
    "to_onnx",
]

#: the ONNX operator set the exported models use
OPSET = 18
#: the IR version of the exported models (onnx 1.16's, which runtimes of 2024 on read)
IR_VERSION = 10
#: the domain of the local functions modules become
MODULES_DOMAIN = "gatekit.modules"
#: the name of the symbolic dimension of batch axes
BATCH = "batch"
#: the gradient of ``outputs[0]`` with respect to leaf ``x`` is the output ``grad/x``
GRAD_PREFIX = "grad/"

#: the ``metadata_props`` of a gate's last node: the gate's name, its inputs (a JSON list of
#: the names of the values it reads) and its attributes (a JSON object)
GATE_KEY = "gatekit.gate"
INPUTS_KEY = "gatekit.inputs"
ATTRS_KEY = "gatekit.attrs"

Shape = tuple[int | None, ...]


def to_onnx(
    circuit: Circuit,
    values: Mapping[str, Any] | None = None,
    *,
    with_gradients: bool = False,
    of: str | None = None,
    batch_axes: Mapping[str, int] | int | None = None,
    inline_modules: bool = False,
) -> Any:
    """The circuit as an ONNX model (``onnx.ModelProto``).

    :param values: ``{leaf: value}`` replacing inputs' and params' values, as
        :meth:`Circuit.run` takes them: a param's value is its initializer,
        an input's gives its shape.
    :param with_gradients: add the backward pass: outputs ``grad/LEAF``, the
        gradient of ``outputs[0]`` (or of ``of``) for every input and param.
    :param of: the node whose gradient the ``grad/`` outputs hold (any
        output or gate; default ``outputs[0]``); only with ``with_gradients``.
    :param batch_axes: ``{input: axis}``, the axis of each input that is a
        batch (any size once exported), or one axis for every input that is
        an array.
    :param inline_modules: write the gates of module uses out, instead of
        calling ONNX local functions (always so with ``with_gradients``).
    :raises UsageError: onnx is not installed, ``of`` without
        ``with_gradients``, ``of`` or a batch axis names nothing there is, a
        made name is a node's.
    :raises PluginError: a gate has no ONNX lowering (every such gate named),
        or a lowering hook raised or returned something else than names.
    :raises RunError: the circuit fails to run at its values (its shapes
        come from a run).
    """
    onnx = require_onnx("ONNX export")
    if of is not None and not with_gradients:
        raise UsageError("to_onnx: of= names the gradient to export, so it needs with_gradients=True")
    plan = circuit.plan_for(of)
    values = dict(values or {})
    axes = batch_axes_of(circuit, values, batch_axes)
    _check_lowerings(circuit, plan, with_gradients)
    shapes, run_values = _shapes(circuit, values, axes, of)
    exporter = _Exporter(onnx, circuit, plan, shapes, run_values)
    exporter.forward(inline=inline_modules or with_gradients)
    outputs = list(circuit.outputs)
    if with_gradients:
        outputs += exporter.backward()
    return exporter.model(outputs)


def save_onnx(model: Any, path: str | os.PathLike[str]) -> None:
    """Write ``model`` (an ``onnx.ModelProto``) to ``path``, atomically (:mod:`gatekit.io.atomic`).

    :raises UsageError: the file cannot be written; an existing one is left as it was.
    """
    data = model.SerializeToString()
    write_atomically(path, lambda f: f.write(data))


def batch_axes_of(
    circuit: Circuit, values: Mapping[str, Any], batch_axes: Mapping[str, int] | int | None
) -> dict[str, int]:
    """``batch_axes`` as ``{input: axis}``, each axis counted from the front and checked.

    One number means that axis of every input whose value is an array.

    :raises UsageError: a name is no input (a param, or nothing), or the
        input's value has no such axis.
    """
    if batch_axes is None:
        return {}
    leaves = {
        name: values.get(name, circuit.plan.initial[slot]) for name, slot in circuit.plan.leaves.items()
    }
    inputs = circuit.inputs
    if isinstance(batch_axes, int):
        asked = {name: batch_axes for name in inputs if np.ndim(leaves[name]) > 0}
        if not asked:
            raise UsageError(
                "the circuit has no input that is an array", Location(f"--batch-axis {batch_axes}")
            )
    else:
        asked = dict(batch_axes)
    found = {}
    for name, axis in asked.items():
        place = Location(f"--batch-axis {name}={axis}")
        if name not in inputs:
            what = "a param (params are the model's initializers)" if name in leaves else "not an input"
            raise UsageError(f"{name!r} is {what}; a batch axis belongs to an input "
                             f"(inputs: {', '.join(inputs) or 'none'})", place)  # fmt: skip
        ndim = np.ndim(leaves[name])
        if not -ndim <= axis < ndim:
            raise UsageError(f"{name!r} has shape {np.shape(leaves[name])}, which has no axis {axis}", place)
        found[name] = axis % ndim
    return found


def _check_lowerings(circuit: Circuit, plan: Plan, with_gradients: bool) -> None:
    """Refuse a circuit with gates that cannot be written in ONNX, naming every such gate once.

    :raises PluginError: at the first use of the first such gate.
    """
    backward = {step.out for step in plan.backward} if with_gradients else set()
    missing: dict[tuple[str, str], BoundGate] = {}
    for step in plan.forward:
        bound = plan.gates[step.out]
        gate = bound.gate
        needs = [] if gate.onnx is not None else ["gate_onnx"]
        if step.out in backward:
            if gate.vjp is not None and gate.onnx_vjp is None:
                needs.append("gate_onnx_vjp")
            elif gate.vjp is None and gate.onnx_local_grad is None and gate.onnx_vjp is None:
                needs.append("gate_onnx_local_grad")
        for hook in needs:
            missing.setdefault((gate.name, hook), bound)
    if not missing:
        return
    listed = "; ".join(
        f"gate {gate} (plugin {bound.gate.plugin!r}) has no {hook}, first used by {bound.name!r} at "
        f"{bound.location}"
        for (gate, hook), bound in missing.items()
    )
    first = next(iter(missing.values()))
    count = len({gate for gate, _ in missing})
    raise PluginError(
        f"cannot export to ONNX: {count} gate{'s' if count > 1 else ''} cannot be written in ONNX: {listed}",
        first.location,
    )


def _batched(value: Any, axis: int, size: int) -> np.ndarray:
    """``value`` with ``size`` entries along ``axis``: its own, repeated from the start."""
    taken: np.ndarray = np.take(np.asarray(value), np.arange(size) % np.shape(value)[axis], axis=axis)
    return taken


def _shapes(
    circuit: Circuit, values: dict[str, Any], axes: Mapping[str, int], of: str | None
) -> tuple[dict[str, Shape], dict[str, Any]]:
    """Every node's shape, symbolic (``None``) where it follows a batch axis; and the run's values."""
    run = circuit.run(values, batching=False, of=of)
    shapes: dict[str, Shape] = {name: np.shape(value) for name, value in run.values.items()}
    if axes:
        sizes = []
        for extra in (1, 2):
            moved = dict(values)
            for name, axis in axes.items():
                value = values.get(name, run.values[name])
                moved[name] = _batched(value, axis, np.shape(value)[axis] + extra)
            try:
                result = circuit.run(moved, of=of)
            except RunError as exc:
                named = " ".join(f"--batch-axis {name}={axis}" for name, axis in axes.items())
                raise UsageError(
                    f"the circuit does not run with {extra} more along the batch axes, so they cannot be "
                    f"left symbolic: {exc}",
                    Location(named),
                ) from None
            sizes.append({name: np.shape(value) for name, value in result.values.items()})
        for name, shape in shapes.items():
            one, two = sizes[0][name], sizes[1][name]
            shapes[name] = tuple(None if a != b else n for n, a, b in zip(shape, one, two, strict=True))
    return shapes, dict(run.values)


@dataclass(frozen=True, slots=True)
class _Function:
    """A module's ONNX local function, for uses of one module at one set of shapes."""

    name: str
    formals: tuple[int, ...]  # which of the module's inputs it takes, in order


class _Exporter:
    """The state of one export: the builder, every node's name, the functions made."""

    def __init__(
        self,
        onnx: ModuleType,
        circuit: Circuit,
        plan: Plan,
        shapes: Mapping[str, Shape],
        values: Mapping[str, Any],
    ) -> None:
        self.onnx = onnx
        self.circuit = circuit
        self.plan = plan
        self.values = values
        self.builder = GraphBuilder()
        self.builder.shapes.update(shapes)
        self.shapes = shapes
        self.names: dict[int, str] = {slot: name for name, slot in plan.slots.items()}
        self.functions: dict[tuple[str, tuple[Shape, ...]], _Function] = {}
        self.function_protos: list[Any] = []
        #: the shape of every graph output
        self.output_shapes: dict[str, Shape] = {name: shapes[name] for name in circuit.outputs}

    # -- forward ------------------------------------------------------------------------

    def name_of(self, slot: int, builder: GraphBuilder) -> str:
        """The name of what is in ``slot``: a node's own name, or a constant's."""
        name = self.names.get(slot)
        if name is not None:
            return name
        value = self.plan.initial[slot]
        return builder.constant(value)

    def forward(self, inline: bool) -> None:
        """Every gate's forward pass, in the plan's order (a module use as one call unless ``inline``)."""
        uses: dict[tuple[str, str], list[BoundGate]] = {}
        for step in self.plan.forward:
            bound = self.plan.gates[step.out]
            within = bound.use.within
            if inline or not within:
                inputs = [self.name_of(slot, self.builder) for slot in step.slots]
                self.lower(self.builder, bound, inputs, bound.name)
                self.mark(bound, inputs)
            else:
                uses.setdefault(within[0], []).append(bound)
        for use, members in uses.items():  # the calls: protos() puts each after its inputs
            self.call(use, members)

    def lower(self, builder: GraphBuilder, bound: BoundGate, inputs: list[str], output: str) -> None:
        """Write one gate's forward pass into ``builder``, its result named ``output``."""
        start = len(builder.nodes)
        builder.prefix = output
        made = _call_hook(bound, "gate_onnx", bound.gate.onnx, builder=builder, inputs=inputs)
        _check_name(bound, "gate_onnx", made)
        if made != output and (made in inputs or not builder.rename(made, output, start)):
            builder.add(Node("Identity", [made], [output]))

    def mark(self, bound: BoundGate, inputs: list[str]) -> None:
        """Say on the node that makes the gate's output which gate it ends, reading what, with what attrs.

        Attributes that JSON cannot write (a plugin's own objects) leave the gate unmarked.
        """
        try:
            attrs = json.dumps(dict(bound.attrs), allow_nan=False)
        except (TypeError, ValueError):
            return
        last = next(node for node in reversed(self.builder.nodes) if bound.name in node.outputs)
        last.metadata = {GATE_KEY: bound.gate.name, INPUTS_KEY: json.dumps(inputs), ATTRS_KEY: attrs}

    def call(self, use: tuple[str, str], members: list[BoundGate]) -> None:
        """Write the module use ``use`` (``(path, module)``, outermost) as a call of its local function.

        ``members`` are its gates, expanded, in the plan's order. The function
        takes the module's inputs that some gate reads (the others have no
        value to pass), and is made once per module and shapes of those.
        """
        path, module_name = use
        module = self.circuit.definition.modules[module_name]
        sources: dict[int, str | float] = {}
        for bound in members:
            for source, argument in zip(bound.use.inputs, bound.use.arguments, strict=True):
                if argument is not None:
                    sources[argument] = source
        formals = tuple(sorted(sources))
        outer = [s if isinstance(s, str) else self.builder.constant(s) for s in (sources[k] for k in formals)]
        signature = tuple(self.shapes.get(name, ()) for name in outer)  # a constant's: ()
        function = self.functions.get((module_name, signature))
        if function is None:
            taken = sum(1 for name, _ in self.functions if name == module_name)
            function = _Function(module_name if not taken else f"{module_name}__{taken + 1}", formals)
            self.functions[module_name, signature] = function
            self.function_protos.append(self._function(function, module.inputs, module.output, path, members))
        self.builder.add(Node(function.name, outer, [path], domain=MODULES_DOMAIN))

    def _function(
        self,
        function: _Function,
        formal_names: Sequence[str],
        output: str,
        path: str,
        members: list[BoundGate],
    ) -> Any:
        """The local function of a module use's gates (``members``), with the names the module gives them.

        The use's gates are ``path/NAME`` (and ``path`` the output, which the
        module calls ``output``); its inputs are the module's formal inputs.
        """
        body = GraphBuilder()
        inputs = [formal_names[k] for k in function.formals]

        def local(name: str) -> str:
            return output if name == path else name[len(path) + 1 :]

        for bound in members:
            names = []
            for source, argument in zip(bound.use.inputs, bound.use.arguments, strict=True):
                if argument is not None:
                    name = formal_names[argument]
                elif isinstance(source, str):
                    name = local(source)
                else:
                    name = body.constant(source)
                body.shapes[name] = self.shapes[source] if isinstance(source, str) else ()
                names.append(name)
            body.shapes[local(bound.name)] = self.shapes[bound.name]
            self.lower(body, bound, names, local(bound.name))
        helper = self.onnx.helper
        return helper.make_function(
            MODULES_DOMAIN,
            function.name,
            inputs,
            [output],
            body.protos(self.onnx, inputs, [output]),
            [helper.make_opsetid("", OPSET)],
        )

    # -- backward ------------------------------------------------------------------------

    def backward(self) -> list[str]:
        """The backward pass, as the scheduler runs it; the names of the gradient outputs, leaf by leaf."""
        b = self.builder
        plan = self.plan
        slots_of = {step.out: step.slots for step in plan.forward}
        grads: dict[int, str] = {plan.root: self._filled(self.names[plan.root], 1.0)}
        for step in plan.backward:
            bound = plan.gates[step.out]
            output = bound.name
            inputs = [self.name_of(slot, b) for slot in slots_of[step.out]]
            upstream = grads[step.out]
            b.shapes[upstream] = self.shapes[output]
            b.prefix = f"{GRAD_PREFIX}{output}"
            gate = bound.gate
            if gate.vjp is not None or gate.onnx_local_grad is None:
                sent = _call_hook(bound, "gate_onnx_vjp", gate.onnx_vjp, builder=b, inputs=inputs,
                                  output=output, upstream=upstream)  # fmt: skip
                _check_names(bound, "gate_onnx_vjp", sent, len(inputs))
            else:
                local = _call_hook(bound, "gate_onnx_local_grad", gate.onnx_local_grad, builder=b,
                                   inputs=inputs, output=output)  # fmt: skip
                _check_names(bound, "gate_onnx_local_grad", local, len(inputs))
                sent = [
                    self._contribution(factor, upstream, output, name) if slot != SINK else ""
                    for factor, name, slot in zip(local, inputs, step.targets, strict=True)
                ]
            for slot, contribution in zip(step.targets, sent, strict=True):
                if slot == SINK:
                    continue
                before = grads.get(slot)
                grads[slot] = contribution if before is None else b.node("Add", [before, contribution])
        written = []
        defined = self.circuit.definition.defined_at
        for name, slot in plan.leaves.items():
            target = f"{GRAD_PREFIX}{name}"
            if target in self.shapes:
                raise UsageError(
                    f"the gradient output {target!r} would have the name of a gate of the circuit: rename "
                    f"the module use {target.split('/', maxsplit=1)[0]!r}",
                    defined.get(target, Location(self.circuit.file)),
                )
            grad = grads.get(slot) if slot in plan.reached else None
            b.add(Node("Identity", [grad if grad is not None else self._filled(name, 0.0)], [target]))
            self.output_shapes[target] = self.shapes[name]
            written.append(target)
        return written

    def _contribution(self, local: str, upstream: str, output: str, into: str) -> str:
        """``local * upstream``, summed back to the shape of ``into`` (:func:`scheduler.contribution`)."""
        b = self.builder
        factor = b.constant_value(local)
        product = upstream if factor == 1.0 else b.node("Mul", [local, upstream])
        return self._sum_to_shape(product, self.shapes[output], b.shapes[into])

    def _sum_to_shape(self, grad: str, shape: Shape, target: Shape) -> str:
        """``grad`` (of ``shape``) summed over the axes that broadcasting added or stretched (``target``)."""
        b = self.builder
        extra = len(shape) - len(target)
        if extra > 0:
            grad = b.node("ReduceSum", [grad, b.integers(range(extra))], keepdims=0)
        stretched = [i for i, n in enumerate(target) if n == 1 and shape[extra + i] != 1]
        if stretched:
            grad = b.node("ReduceSum", [grad, b.integers(stretched)], keepdims=1)
        return grad

    def _filled(self, name: str, fill: float) -> str:
        """``fill`` in the shape of node ``name``: a constant, or ``ConstantOfShape`` for a batch."""
        b = self.builder
        shape = self.shapes[name]
        if None not in shape:
            return b.constant(np.full([n for n in shape if n is not None], fill).tolist() if shape else fill)
        made = b.fresh(f"{GRAD_PREFIX}{name}")
        b.add(Node("ConstantOfShape", [b.node("Shape", [name])], [made], {"value": np.array([fill])}))
        return made

    # -- the model ------------------------------------------------------------------------

    def model(self, outputs: list[str]) -> Any:
        """The finished ``ModelProto``, whose graph outputs are ``outputs``."""
        onnx, circuit = self.onnx, self.circuit
        helper = onnx.helper
        double = onnx.TensorProto.DOUBLE
        inputs, params = circuit.inputs, circuit.params
        initializers = [
            onnx.numpy_helper.from_array(np.asarray(self.values[name], dtype=np.float64), name)
            for name in params
        ]
        graph = helper.make_graph(
            self.builder.protos(onnx, [*inputs, *params], outputs),
            circuit.name or "circuit",
            [helper.make_tensor_value_info(name, double, _dims(self.shapes[name])) for name in inputs],
            [
                helper.make_tensor_value_info(name, double, _dims(self.output_shapes[name]))
                for name in outputs
            ],
            initializer=initializers,
            doc_string=circuit.definition.doc or "",
        )
        opsets = [helper.make_opsetid("", OPSET)]
        if self.function_protos:
            opsets.append(helper.make_opsetid(MODULES_DOMAIN, 1))
        return helper.make_model(
            graph,
            opset_imports=opsets,
            functions=self.function_protos,
            producer_name="gatekit",
            ir_version=IR_VERSION,
        )


def _dims(shape: Shape) -> list[int | str]:
    return [BATCH if n is None else n for n in shape]


def _call_hook(bound: BoundGate, hook: str, impl: pluggy.HookImpl | None, **given: Any) -> Any:
    """Call a lowering hook with the arguments it declares; its faults are the plugin's."""
    assert impl is not None, f"{hook} of {bound.gate.name} was checked first"
    arguments = {**given, "attrs": bound.attrs}
    try:
        return impl.function(**{name: arguments[name] for name in impl.argnames})
    except PLUGIN_FAULTS as exc:
        raise PluginError(f"{bound.describe()} failed in {hook}: {describe_exception(exc)}",
                          bound.location) from None  # fmt: skip


def _items(count: int, what: str) -> str:
    return f"{count} {what}" if count == 1 else f"{count} {what}s"


def _check_name(bound: BoundGate, hook: str, made: object) -> None:
    if not isinstance(made, str) or not made:
        raise PluginError(f"{bound.describe()}: {hook} returned {type(made).__name__}, not the name of a "
                          "value (a str)", bound.location)  # fmt: skip


def _check_names(bound: BoundGate, hook: str, made: object, count: int) -> None:
    if not isinstance(made, list | tuple) or len(made) != count:
        got = _items(len(made), "name") if isinstance(made, list | tuple) else type(made).__name__
        raise PluginError(f"{bound.describe()}: {hook} returned {got}; expected a list of "
                          f"{_items(count, 'name')}, one per input", bound.location)  # fmt: skip
    for item in made:
        _check_name(bound, hook, item)
