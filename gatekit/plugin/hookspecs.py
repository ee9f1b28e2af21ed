"""The plugin contract: every hook a plugin may implement.

A *gate* is a plugin object (an instance, a class or a module) that implements
``gate_spec``, ``gate_forward`` and one of ``gate_local_grad`` or ``gate_vjp``.
A plugin module that provides several gates implements
``gatekit_register_gates`` and returns the gate objects; gatekit registers each
of them as a plugin of its own. Built-in gates come in through exactly this
path.

pluggy checks every implementation against these specs when it is registered:
an implementation may accept any subset of a hook's arguments, in any order,
but no argument that is not listed here. gatekit never broadcasts the gate
hooks: it resolves each gate's own implementations once, when a circuit is
compiled, and the run loop calls them directly. The fastest form declares the
spec's arguments in the spec's order, leaving out ``attrs`` when the gate has
none (``gate_forward(self, inputs)``, ``gate_local_grad(self, inputs,
output)``); any other subset or order is called through a small adapter.

Values are Python floats or NumPy float64 arrays, and a gate's hooks must
accept both: Python operators work on either, and the functions of
:mod:`gatekit.math` take either, sending floats to ``math`` for speed and
following IEEE arithmetic instead of raising (the built-in gates use them).
:class:`gatekit.SpecGate` and :func:`gatekit.collect_gates` make a gate class
and its registration short to write.

A plugin may also provide optimizers and learning-rate schedules for
training, by implementing ``gatekit_register_optimizers`` or
``gatekit_register_schedules``; the built-in ones (the modules
``gatekit.training.optimizers`` and ``gatekit.training.schedules``) come in
through the same two hooks.

A gate may also say how it is written in ONNX, for ``gatekit export``:
``gate_onnx`` (its forward pass) and, for ``--with-gradients``,
``gate_onnx_local_grad`` or ``gate_onnx_vjp``. They are optional, and are
given a :class:`~gatekit.plugin.lowering.OnnxBuilder`, so a plugin never
imports ``onnx``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from gatekit.plugin.gatespec import GateSpec
from gatekit.plugin.lowering import OnnxBuilder

hookspec = pluggy.HookspecMarker("gatekit")


@hookspec
def gatekit_register_gates() -> Sequence[object]:
    """Return the gate objects this plugin provides.

    Called once per plugin, in registration order, when the plugin manager is
    set up. Each returned object is registered as a plugin named
    ``"<this plugin's name>:<gate name>"`` and must implement the ``gate_*``
    hooks below.
    """


@hookspec
def gate_spec() -> GateSpec:
    """Return the gate's :class:`~gatekit.GateSpec`: name, arity, attrs and doc.

    Called once, at registration. The loader checks every use of the gate in
    a circuit against it, so ``gate_forward`` never sees a wrong input count
    or an unknown attribute.
    """


@hookspec
def gate_forward(inputs: Sequence[Any], attrs: Mapping[str, Any], out: Any) -> Any:
    """Compute the gate's output from its inputs.

    :param inputs: the input values in the order written in the circuit's
        ``in:`` list; as many as the spec's arity allows.
    :param attrs: the gate's attributes, defaults filled in.
    :param out: optional (declare it as ``out=None``): ``None``, or a
        writable float64 array of the shape the output had in the circuit's
        last run, which nothing else reads, for the hook to compute into
        (``np.multiply(a, b, out=out)``) and return. A hook may ignore it and
        return a new array; it must not keep it. Only runs over arrays pass
        one, from arrays of results nobody holds any more, so that a loop
        over batches does not fault its memory in again each time (see
        :mod:`gatekit.engine.buffers`).
    :return: the output value, a float or an array.

    Called in the run loop for every evaluation of the gate. Must not mutate
    ``inputs``.
    """


@hookspec
def gate_local_grad(inputs: Sequence[Any], output: Any, attrs: Mapping[str, Any], out: Any) -> Sequence[Any]:
    """Return the local gradient of the output with respect to each input.

    :param inputs: the same values ``gate_forward`` received.
    :param output: what ``gate_forward`` returned for them.
    :param attrs: the gate's attributes, defaults filled in.
    :param out: optional (declare it as ``out=None``), as ``gate_forward``'s:
        ``None``, or one item per input, each ``None`` or a writable float64
        array of the output's shape that nothing else reads, for the hook to
        compute that input's factor into and return in its place. A hook may
        return something else for any input (a number, an input, a new
        array); it must not keep them. Only runs over large arrays pass it,
        and only when at least one of its items is an array.
    :return: one elementwise factor per input, in input order.

    The scheduler multiplies each factor by the gradient arriving from above
    (the chain rule) and adds the product into that input's gradient. Use
    this hook for elementwise gates; a gate whose Jacobian is not elementwise
    implements ``gate_vjp`` instead.
    """


@hookspec
def gate_vjp(inputs: Sequence[Any], output: Any, upstream: Any, attrs: Mapping[str, Any]) -> Sequence[Any]:
    """Return the gradient reaching each input, given the gradient from above.

    :param inputs: the same values ``gate_forward`` received.
    :param output: what ``gate_forward`` returned for them.
    :param upstream: the gradient of the circuit's output with respect to
        this gate's output.
    :param attrs: the gate's attributes, defaults filled in.
    :return: one gradient per input, in input order: the vector-Jacobian
        product. The scheduler adds each into that input's gradient.

    For gates whose local gradient is not an elementwise factor (a sum, a
    matrix product). When a gate implements both, ``gate_vjp`` wins.
    """


@hookspec
def gate_jvp(inputs: Sequence[Any], output: Any, tangents: Sequence[Any], attrs: Mapping[str, Any]) -> Any:
    """Return the output's tangent, given a tangent for each input: the Jacobian-vector product.

    :param inputs: the same values ``gate_forward`` received.
    :param output: what ``gate_forward`` returned for them.
    :param tangents: one per input, in input order, each of that input's
        shape or the number ``0.0`` (no direction: the input does not move).
    :param attrs: the gate's attributes, defaults filled in.
    :return: how the output moves, of the output's shape (a number for a
        number): ``sum_k (d output / d input_k) . tangents[k]``.

    Forward mode (``gatekit run --tangent``) calls it for a gate with
    ``gate_vjp``; an elementwise gate needs none, since its local gradients
    give its tangent (``sum_k local_k * tangents[k]``). Optional: forward
    mode through a ``gate_vjp`` gate without it fails, naming the gate.
    ``gatekit.testing.check_gate`` checks it against central differences
    and against ``gate_vjp``.
    """


@hookspec
def gate_onnx(builder: OnnxBuilder, inputs: Sequence[str], attrs: Mapping[str, Any]) -> str:
    """Write the gate's forward pass in standard ONNX operators; return the name of its output.

    :param builder: the graph to add nodes to
        (:class:`~gatekit.plugin.lowering.OnnxBuilder`: ``node``,
        ``constant``, ``integers``, ``shape``).
    :param inputs: the names of the input values, in the order of the
        circuit's ``in:`` list (a number constant is a constant's name).
    :param attrs: the gate's attributes, defaults filled in.
    :return: the name of the value that is the gate's output: float64, of
        the shape ``gate_forward`` gives (``builder.shape`` tells the
        inputs' shapes).

    Called by ``gatekit export`` (:func:`gatekit.onnx.export.to_onnx`)
    once for each use of the gate, in the circuit's order, after its inputs
    are written. Optional: a circuit using a gate without it cannot be
    exported, and the error lists every such gate.
    """


@hookspec
def gate_onnx_local_grad(
    builder: OnnxBuilder, inputs: Sequence[str], output: str, attrs: Mapping[str, Any]
) -> Sequence[str]:
    """Write the gate's local gradients in ONNX, for a gate with ``gate_local_grad``.

    :param builder: the graph to add nodes to.
    :param inputs: the names of the input values, as ``gate_onnx`` had them.
    :param output: the name of the gate's output.
    :param attrs: the gate's attributes, defaults filled in.
    :return: one name per input, in input order: the elementwise factor
        ``gate_local_grad`` returns for it (any shape that broadcasts
        against the output's, a constant such as ``builder.constant(1.0)``
        included).

    Called by ``gatekit export --with-gradients`` for each use of the gate
    the gradient flows through, in reverse order. The exporter then does
    what the scheduler does: multiplies each factor by the gradient from
    above, sums the product back to the input's shape, and adds it into the
    input's gradient.
    """


@hookspec
def gate_onnx_vjp(
    builder: OnnxBuilder, inputs: Sequence[str], output: str, upstream: str, attrs: Mapping[str, Any]
) -> Sequence[str]:
    """Write the gate's vector-Jacobian product in ONNX, for a gate with ``gate_vjp``.

    :param builder: the graph to add nodes to.
    :param inputs: the names of the input values, as ``gate_onnx`` had them.
    :param output: the name of the gate's output.
    :param upstream: the name of the gradient arriving at the output (the
        output's shape).
    :param attrs: the gate's attributes, defaults filled in.
    :return: one name per input, in input order: the gradient reaching that
        input, of the input's shape, as ``gate_vjp`` returns it. The
        exporter adds each into the input's gradient.

    Called by ``gatekit export --with-gradients`` as ``gate_onnx_local_grad``
    is; a gate with ``gate_vjp`` needs this one (when a gate implements
    both, this one wins, as ``gate_vjp`` does).
    """


@hookspec
def gatekit_register_optimizers() -> Sequence[type]:
    """Return the optimizer classes this plugin provides.

    Each is a subclass of :class:`gatekit.training.optimizers.Optimizer` with a
    ``name`` (a valid name, how a training file asks for it), a one-line
    ``doc`` and ``settings`` (a mapping of names to
    :class:`gatekit.training.settings.Setting`; never ``lr``, which the schedule
    gives each step), and its own ``step``.

    Called for each plugin, in registration order, whenever
    :func:`gatekit.training.registry.optimizer_registry` collects the
    optimizers; every class is checked then, and a name claimed by two
    plugins is an error (an installed plugin's faults are set aside instead,
    in the registry's ``problems``).
    """


@hookspec
def gatekit_register_schedules() -> Sequence[type]:
    """Return the learning-rate schedule classes this plugin provides.

    Each is a subclass of :class:`gatekit.training.schedules.Schedule` with a
    ``name``, a one-line ``doc``, ``settings`` (as for optimizers) and its own
    ``lr(step, base_lr, total_steps)``, a pure function of the step.

    Called for each plugin, in registration order, whenever
    :func:`gatekit.training.registry.schedule_registry` collects the schedules;
    checked as ``gatekit_register_optimizers`` is.
    """


hookimpl = pluggy.HookimplMarker("gatekit")
"""Marker for hook implementations: decorate each ``gate_*`` method (and ``gatekit_*`` function) with it."""
