"""Gradient checking for gate authors: a gate's analytic gradient against central differences.

A gate's gradient hook is right when, for any upstream gradient ``u``, it
gives the derivative of ``sum(u * forward(inputs))`` with respect to each
input. :func:`check_gate` checks that in float64 at random points inside the
gate's declared domain (Python floats and small arrays), skipping kinks, and
raises :class:`GradientError` with the gate, the input, the analytic and the
numeric gradient when it does not hold. :func:`check_circuit` checks every
gate of a circuit at the circuit's own values, and the circuit end to end.

:func:`check_gate` checks forward mode too, at the same points: that it
agrees with reverse mode, ``u . (J v) == (J^T u) . v`` for random ``u`` and
``v`` (an elementwise gate's tangent comes from its local gradients, so
this needs nothing new from its author), and, for a gate with ``gate_vjp``
and ``gate_jvp``, that ``gate_jvp`` agrees with central differences along
``v``. A ``gate_vjp`` gate without ``gate_jvp`` gets one skipped row: forward
mode refuses it.

Use it in a plugin's tests::

    from gatekit.testing import check_gate

    def test_cube_gradient():
        check_gate(Cube())                  # a gate object, before installing it
        check_gate("cube", count=20)        # or an installed gate, by name

>>> rows = check_gate("mul", count=2)
>>> all(row.ok for row in rows)
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit.arrays import is_foreign, to_numpy
from gatekit.engine.backends import Backend
from gatekit.engine.broadcast import shape_of, sum_to_shape
from gatekit.engine.circuit import Circuit
from gatekit.engine.guards import Fault, checked, checked_tangent, fault_of
from gatekit.engine.jacobian import block_name
from gatekit.engine.scheduler import contribution, gate_tangent
from gatekit.errors import RunError, UsageError
from gatekit.plugin.registry import Gate, GateRegistry, Hooks, default_registry, gate_from_object

__all__ = [
    "GradientCheck",
    "GradientError",
    "check_circuit",
    "check_gate",
    "check_jacobian",
    "compare_gate",
    "random_points",
]

STEP = 1e-6  # relative step of the central difference
EPS = float(np.finfo(np.float64).eps)
RTOL = 1e-5
ATOL = 1e-7
SHAPES: tuple[tuple[int, ...], ...] = ((), (3,))


@dataclass(frozen=True, slots=True)
class GradientCheck:
    """One comparison: the gradient reaching one input, analytic against numeric.

    For an array input, ``element`` is the element that agreed worst and
    ``analytic``/``numeric`` are its values. ``note`` says why a comparison
    was skipped (``"kink"``, ``"not finite"``) or what went wrong.
    ``sample`` is ``(checked, elements)`` when only some of a large array's
    elements were checked (spread evenly over it).
    """

    gate: str
    where: str  # "point 3", a node name, or "end to end"
    position: int  # which input (for end-to-end rows: the leaf's index)
    element: tuple[int, ...]
    analytic: float
    numeric: float
    ok: bool
    note: str = ""
    inputs: tuple[Any, ...] = ()
    sample: tuple[int, int] | None = None

    @property
    def skipped(self) -> bool:
        return self.ok and bool(self.note)

    def describe(self) -> str:
        """One line: where, which input, both gradients."""
        element = f"[{', '.join(map(str, self.element))}]" if self.element else ""
        shown = ", ".join(_short(x) for x in self.inputs)
        at = f" at inputs ({shown})" if self.inputs else ""
        return (
            f"gate {self.gate!r}, {self.where}, input {self.position}{element}{at}: "
            f"analytic {self.analytic!r}, numeric {self.numeric!r}" + (f" ({self.note})" if self.note else "")
        )


class GradientError(AssertionError):
    """A gate's analytic gradient disagrees with its numeric gradient."""

    def __init__(self, failures: Sequence[GradientCheck], rtol: float, atol: float) -> None:
        self.failures = list(failures)
        shown = "\n".join("  " + row.describe() for row in self.failures[:10])
        more = f"\n  ... and {len(self.failures) - 10} more" if len(self.failures) > 10 else ""
        super().__init__(
            f"{len(self.failures)} gradient(s) disagree with central differences "
            f"(rtol {rtol:g}, atol {atol:g}):\n{shown}{more}"
        )


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}" if value.size > 4 else repr(value.tolist())
    return repr(value)


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array``, as a run hands arrays to gates."""
    view = array.view()
    view.flags.writeable = False
    return view


def _fault(gate: Gate, where: str) -> Fault:
    """Errors for a gate's hooks that return the wrong thing, named as a circuit's gate would be."""

    def fault(message: str) -> RunError:
        at = f" at {where}" if where else ""
        return RunError(f"gate {gate.name!r} (plugin {gate.plugin!r}){at} {message}")

    return fault


def _resolve(gate: str | Gate | object, registry: GateRegistry | None) -> Gate:
    if isinstance(gate, Gate):
        return gate
    if isinstance(gate, str):
        registry = registry if registry is not None else default_registry()
        found = registry.get(gate)
        if found is None:
            raise UsageError(
                f"no installed gate is named {gate!r} (installed: {', '.join(sorted(registry))})"
            )
        return found
    return gate_from_object(gate)


def _attrs(gate: Gate, attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The gate's attrs with ``attrs`` converted as the loader converts them, defaults filled in."""
    given = dict(attrs or {})
    unknown = set(given) - set(gate.spec.attrs)
    if unknown:
        raise UsageError(f"gate {gate.name!r} has no attribute(s) {', '.join(sorted(unknown))}")
    values = {}
    for key, attr in gate.spec.attrs.items():
        if key not in given:
            values[key] = attr.default
            continue
        try:
            values[key] = attr.convert(given[key])
        except ValueError as exc:
            raise UsageError(f"attribute {key!r} of gate {gate.name!r}: {exc}") from None
    return values


def random_points(
    gate: Gate,
    count: int,
    arity: int | None = None,
    shapes: Iterable[tuple[int, ...]] | None = None,
    seed: int = 0,
) -> list[tuple[Any, ...]]:
    """``count`` random input tuples per example, inside the gate's domain.

    The examples are the gate's :attr:`~gatekit.GateSpec.examples` (one shape
    per input, the last one repeated up to ``arity``), or, when ``shapes`` is
    given or the gate has none, each shape in ``shapes`` (default
    ``SHAPES``) for every input. Shape ``()`` gives Python floats; any other
    shape float64 arrays.

    >>> from gatekit.plugin.registry import default_registry
    >>> matmul = default_registry(autoload=False)["matmul"]
    >>> [tuple(np.shape(x) for x in point) for point in random_points(matmul, 1)]
    [((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 2)), ((3,), (3,))]
    >>> [type(x).__name__ for x in random_points(matmul, 1, shapes=[()])[0]]
    ['float', 'float']
    """
    arity = gate.spec.arity if arity is None else arity
    examples: list[tuple[tuple[int, ...], ...]]
    if shapes is not None:
        examples = [(tuple(shape),) for shape in shapes]
    else:
        examples = list(gate.spec.examples) or [(shape,) for shape in SHAPES]
    rng = np.random.default_rng(seed)
    points = []
    for example in examples:
        for _ in range(count):
            point = []
            for position in range(arity):
                shape = example[min(position, len(example) - 1)]
                low, high = gate.spec.interval(position)
                value = rng.uniform(low, high, size=shape)
                point.append(float(value) if shape == () else value)
            points.append(tuple(point))
    return points


#: How close forward and reverse mode must agree, ``u . (J v)`` against ``(J^T u) . v``, relative to the
#: sums of the terms' sizes: both are exact rules, so only rounding may part them.
FORWARD_RTOL = 1e-10
#: What the skipped row of a ``gate_vjp`` gate without ``gate_jvp`` says.
NO_JVP = "no gate_jvp: forward mode refuses this gate"


#: How close a batched call must come to the same uses one by one: NumPy's and the
#: ``math`` module's functions may differ in the last bit or two.
BATCHED_RTOL = 1e-13


def _batched(
    resolved: Gate, points: Sequence[Sequence[Any]], attrs: Mapping[str, Any]
) -> list[GradientCheck]:
    """An elementwise gate called on vectors of ``points`` against each point alone.

    What the batched loops of a scalar circuit rely on (see
    :mod:`gatekit.engine.batching`): every element of the output and of each
    local gradient equals what the gate gives for that element's numbers
    alone, also when the forward or the local-gradient hook is given
    arrays to compute into (``out``).
    """
    fault = _fault(resolved, "a batched call")
    hooks = checked(resolved.bind(attrs), fault)
    vectors = tuple(_frozen(np.array([point[k] for point in points])) for k in range(len(points[0])))
    alone = [hooks.forward(tuple(point)) for point in points]
    local_alone = [hooks.backward(tuple(point), output) for point, output in zip(points, alone, strict=True)]
    output = hooks.forward(vectors)
    calls: list[tuple[str, Any]] = [("output", output)]
    into = resolved.bind_into(attrs)
    if into is not None:
        calls.append(
            (
                "output into out",
                checked(Hooks(into, hooks.backward, False), fault).forward(vectors, np.empty(len(points))),
            )
        )
    rows = []
    for what, batched in calls:
        rows += _agree(resolved, what, batched, alone, points)
    local_calls = [("", hooks.backward(vectors, output))]
    local_into = resolved.bind_local_into(attrs)
    if local_into is not None:
        buffers = [np.empty(len(points)) for _ in vectors]
        local_hooks = checked(Hooks(hooks.forward, local_into, False), fault)  # its backward checks
        local_calls.append((" into out", local_hooks.backward(vectors, output, buffers)))
    for suffix, locals_ in local_calls:
        for position, local in enumerate(locals_):
            each = [grads[position] for grads in local_alone]
            what = f"local gradient {position}{suffix}"
            rows += _agree(resolved, what, local, each, points, position=position)
    return rows


def _agree(
    resolved: Gate,
    what: str,
    batched: Any,
    alone: Sequence[Any],
    points: Sequence[Sequence[Any]],
    *,
    position: int = 0,
) -> list[GradientCheck]:
    """A batched result (a vector, or one number for every element) against each element alone.

    One row: the element that agreed worst, as for an array input.
    """
    spread = np.broadcast_to(np.asarray(batched, dtype=np.float64), (len(alone),))
    worst: tuple[float, int, float, float] | None = None
    for i, (got, one) in enumerate(zip(spread.tolist(), alone, strict=True)):
        want = float(one)
        if got == want or (math.isnan(got) and math.isnan(want)):
            error = 0.0
        else:
            error = abs(got - want) / max(abs(got), abs(want))  # nan where one of them is
            error = math.inf if math.isnan(error) else error
        if worst is None or error > worst[0]:
            worst = (error, i, got, want)
    assert worst is not None  # two points at least
    error, i, got, want = worst
    ok = error <= BATCHED_RTOL
    note = "" if ok else "a batched call differs from the same numbers one by one"
    return [
        GradientCheck(resolved.name, f"batched {what}", position, (i,), got, want, ok, note, tuple(points[i]))
    ]


def _sum_to_shape(grad: Any, like: Any) -> np.ndarray:
    """The gradient reaching ``like`` as a full array of its shape (for element-wise checks)."""
    shape = np.shape(like)
    grad = np.asarray(grad, dtype=np.float64)
    grad = np.broadcast_to(grad, np.broadcast_shapes(grad.shape, shape))  # a local factor may be smaller
    return np.broadcast_to(sum_to_shape(grad, shape), shape)


@np.errstate(all="ignore")  # inf and nan are results here too, as in a run
def compare_gate(
    gate: str | Gate | object,
    inputs: Sequence[Any],
    attrs: Mapping[str, Any] | None = None,
    *,
    where: str = "",
    step: float = STEP,
    rtol: float = RTOL,
    atol: float = ATOL,
    registry: GateRegistry | None = None,
) -> list[GradientCheck]:
    """Compare the gate's gradient with central differences at one point.

    Returns one :class:`GradientCheck` per input; raises nothing for a
    mismatch (see :func:`check_gate`). The hooks are guarded as on a
    circuit's first run, and get read-only arrays as in a run.

    :raises RunError: a hook raised, or returned something other than a
        float64 number or array, or the wrong number or shape of gradients.
    """
    resolved = _resolve(gate, registry)
    return _compare(resolved, inputs, _attrs(resolved, attrs), where, (step, rtol, atol))


def _compare(
    resolved: Gate,
    inputs: Sequence[Any],
    attrs: Mapping[str, Any],
    where: str,
    tolerance: tuple[float, float, float],
    *,
    fault: Fault | None = None,
    max_elements: int | None = None,
    backend: Backend | None = None,
) -> list[GradientCheck]:
    """:func:`compare_gate` with ``attrs`` already converted and complete.

    ``fault`` words what a hook gets wrong (default: naming the gate and
    ``where``); ``max_elements`` bounds the elements checked per array input;
    with ``backend``, every call of the hooks computes on its arrays
    (:func:`_on_backend`).
    """
    step, rtol, atol = tolerance
    forward, backward, is_vjp = checked(resolved.bind(attrs), fault or _fault(resolved, where))
    if backend is not None:
        forward, backward = _on_backend(forward, backward, backend)
    values = [v if isinstance(v, float) else _frozen(np.asarray(v, dtype=np.float64)) for v in inputs]
    output = forward(tuple(values))
    rng = np.random.default_rng(len(values))
    upstream = 1.0 if np.ndim(output) == 0 else rng.uniform(0.5, 1.5, size=np.shape(output))
    if is_vjp:
        grads = list(backward(tuple(values), output, upstream))
    else:
        grads = [local * upstream for local in backward(tuple(values), output)]
    rows = []
    for position, grad in enumerate(grads):

        def objective(moved: Any, position: int = position) -> Any:
            return forward((*values[:position], moved, *values[position + 1 :]))

        x = values[position]
        rows.append(
            _check_input(
                (resolved.name, where or "a point", position),
                x,
                _sum_to_shape(grad, x),
                objective,
                weight=upstream,
                tolerance=(step, rtol, atol),
                inputs=tuple(values),
                max_elements=max_elements,
            )
        )
    return rows


def _on_backend(
    forward: Callable[..., Any], backward: Callable[..., Any], backend: Backend
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Guarded hooks that take and give NumPy's values but compute on ``backend``'s arrays.

    Arrays (and numbers, as 0-d arrays) go in as the backend's float64
    arrays; what comes back is copied to NumPy, read-only, and must be the
    backend's: a NumPy array there is the guards' "works only on NumPy
    arrays" fault.
    """

    def moved(values: Sequence[Any]) -> list[Any]:
        return [backend.asarray(x) for x in values]

    def back(value: Any) -> Any:
        if not is_foreign(value):
            return value
        array = to_numpy(value)
        return float(array) if array.ndim == 0 else _frozen(array)

    def forward_on(inputs: Sequence[Any], *out: Any) -> Any:
        return back(forward(tuple(moved(inputs))))

    def backward_on(inputs: Sequence[Any], output: Any, *upstream: Any) -> Any:
        return [back(g) for g in backward(tuple(moved(inputs)), *moved([output, *upstream]))]

    return forward_on, backward_on


def _direction(rng: np.random.Generator, x: Any) -> Any:
    """A random tangent for input ``x``: of its shape, each element as large as the element (at least 1)."""
    if isinstance(x, float):
        return float(rng.uniform(-1.0, 1.0)) * max(1.0, abs(x))
    return _frozen(rng.uniform(-1.0, 1.0, size=np.shape(x)) * np.maximum(1.0, np.abs(x)))


def _forward_mode(
    resolved: Gate,
    inputs: Sequence[Any],
    attrs: Mapping[str, Any],
    where: str,
    tolerance: tuple[float, float, float],
) -> list[GradientCheck]:
    """Forward mode at one point, per input: against reverse mode, and ``gate_jvp`` against differences.

    Input ``k`` moves along a random ``v`` (the others stay); ``u`` weighs
    the output. ``u . (J v)`` comes from forward mode's own step
    (:func:`~gatekit.engine.scheduler.gate_tangent`), ``(J^T u) . v`` from
    backprop's (the gate's ``gate_vjp``, or its local gradients through
    :func:`~gatekit.engine.scheduler.contribution`). For a ``gate_jvp`` gate,
    ``u . (J v)`` is also compared with central differences of ``u . f``
    along ``v``.
    """
    hook = resolved.bind_tangent(attrs)
    if hook is None:  # check_gate reports the gate once
        return []
    fault = _fault(resolved, where)
    forward, backward, is_vjp = checked(resolved.bind(attrs), fault)
    tangent_hook = checked_tangent(hook, fault)
    values = [v if isinstance(v, float) else _frozen(np.asarray(v, dtype=np.float64)) for v in inputs]
    output = forward(tuple(values))
    shape = shape_of(output)
    rng = np.random.default_rng(len(values) + 1)
    weight = 1.0 if shape == () else _frozen(rng.uniform(0.5, 1.5, size=shape))
    if is_vjp:
        reverse = list(backward(tuple(values), output, weight))
    else:
        local = backward(tuple(values), output)
        reverse = [contribution(g, weight, shape, shape_of(x)) for g, x in zip(local, values, strict=True)]
    rows = []
    for position, x in enumerate(values):
        direction = _direction(rng, x)
        given: list[Any] = [None] * len(values)
        given[position] = direction
        moved = gate_tangent(tangent_hook, tuple(values), output, given)[2]
        ahead = np.asarray(weight * np.asarray(moved, dtype=np.float64))
        back = np.asarray(sum_to_shape(reverse[position], shape_of(x)) * np.asarray(direction))
        forward_dot, reverse_dot = float(np.sum(ahead)), float(np.sum(back))
        fields = (resolved.name, f"forward = reverse, {where}", position, (), forward_dot, reverse_dot)
        if not (math.isfinite(forward_dot) and math.isfinite(reverse_dot)):
            rows.append(GradientCheck(*fields, True, "not finite", tuple(values)))
        else:
            scale = max(float(np.sum(np.abs(ahead))), float(np.sum(np.abs(back))), EPS)
            ok = abs(forward_dot - reverse_dot) <= FORWARD_RTOL * scale
            note = "" if ok else "forward and reverse mode disagree"
            rows.append(GradientCheck(*fields, ok, note, tuple(values)))
        if hook[1]:  # gate_jvp: its own rule, against central differences along the direction

            def objective(t: Any, position: int = position, x: Any = x, direction: Any = direction) -> Any:
                moved_input = x + t * direction
                if not isinstance(moved_input, float):
                    moved_input = _frozen(np.asarray(moved_input))
                return forward((*values[:position], moved_input, *values[position + 1 :]))

            rows.append(
                _check_input(
                    (resolved.name, f"jvp, {where}", position),
                    0.0,
                    forward_dot,
                    objective,
                    weight=weight,
                    tolerance=tolerance,
                    inputs=tuple(values),
                )
            )
    return rows


def _sample(shape: tuple[int, ...], most: int | None) -> list[tuple[int, ...]]:
    """Every index of an array of ``shape``, or ``most`` of them spread evenly over it.

    >>> _sample((2, 3), None)
    [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    >>> _sample((1000,), 3)
    [(0,), (500,), (999,)]
    """
    size = math.prod(shape)
    if most is None or size <= most:
        return list(np.ndindex(shape))
    flat = np.unique(np.linspace(0, size - 1, most).round().astype(np.int64))
    return [tuple(int(i) for i in np.unravel_index(int(k), shape)) for k in flat]


def _check_input(
    row: tuple[str, str, int],
    x: Any,
    analytic: Any,
    objective: Callable[[Any], Any],
    *,
    weight: Any,
    tolerance: tuple[float, float, float],
    inputs: tuple[Any, ...] = (),
    max_elements: int | None = None,
) -> GradientCheck:
    """Central differences of ``sum(weight * objective(x))`` in each element of ``x``; the worst row.

    ``row`` is ``(gate, where, position)`` for the result; ``objective(moved)``
    evaluates the function with ``x`` replaced by ``moved``. The outputs are
    subtracted before they are weighted and summed, so output elements the
    moved element does not reach cancel exactly instead of drowning its
    change in rounding. An element where the one-sided differences disagree
    is a kink and is skipped, as is one where anything is not finite.
    """
    step, rtol, atol = tolerance
    worst: GradientCheck | None = None
    worst_excess = -math.inf
    indices = _sample(np.shape(x), max_elements)
    size = math.prod(np.shape(x))
    sample = (len(indices), size) if len(indices) < size else None
    for index in indices:
        h, moves = _moved(x, index, step)
        out = [np.asarray(objective(moved), dtype=np.float64) for moved in moves]
        below, above = (float(np.sum(weight * (out[i + 1] - out[i]))) for i in (0, 1))
        a = float(analytic[index]) if index else float(analytic)
        numeric = (below + above) / (2 * h)
        fields = (*row, index, a, numeric)
        excess = -math.inf
        if not all(math.isfinite(v) for v in (below, above, a)):
            candidate = GradientCheck(*fields, True, "not finite", inputs, sample)
        elif abs(above - below) / h > max(1e-4, 1e-2 * abs(numeric)):
            candidate = GradientCheck(*fields, True, "kink", inputs, sample)
        else:
            # the outputs are rounded to about eps * |output|: divided by the step,
            # that much of the numeric gradient is noise, however right the hook is
            roundoff = 4 * EPS * float(np.max(np.abs(weight * out[1]))) / h
            excess = abs(a - numeric) - (atol + rtol * max(abs(a), abs(numeric)) + roundoff)
            candidate = GradientCheck(*fields, excess <= 0, "", inputs, sample)
        if worst is None or excess > worst_excess:
            worst, worst_excess = candidate, excess
    if worst is None:  # pragma: no cover - an input always has an element
        raise ValueError("an input with no elements")
    return worst


@np.errstate(all="ignore")  # inf and nan are results here too, as in a run
def check_gate(
    gate: str | Gate | object,
    points: Iterable[Sequence[Any]] | None = None,
    *,
    attrs: Mapping[str, Any] | None = None,
    arity: int | None = None,
    count: int = 5,
    shapes: Iterable[tuple[int, ...]] | None = None,
    seed: int = 0,
    step: float = STEP,
    rtol: float = RTOL,
    atol: float = ATOL,
    registry: GateRegistry | None = None,
    raise_on_failure: bool = True,
    backend: Backend | None = None,
) -> list[GradientCheck]:
    """Check a gate's gradient at ``points`` or at random points in its domain.

    :param gate: an installed gate's name, a registry entry, or a gate
        object (checked by pluggy exactly as at registration).
    :param points: input tuples; by default ``count`` random ones per
        example (see :func:`random_points`): per shape in ``shapes`` for
        every input (``()`` is a Python float), else per example of the
        gate's spec, else per shape in ``SHAPES``; with ``arity`` inputs
        (default: the gate's arity).
    :param attrs: attribute values, converted by the gate's
        :class:`~gatekit.Attr` checks as in a circuit; defaults fill the rest.
    :param backend: also check the gradient computed on this array library
        (:func:`gatekit.engine.backends.load`: ``load("array-api-strict")``)
        at the same points, numbers given as 0-d arrays: rows ``point N on
        NAME``. A hook written with ``np.`` rather than :mod:`gatekit.math`
        fails there as a :class:`~gatekit.RunError` saying it works only on
        NumPy arrays.
    :raises GradientError: a gradient disagrees (unless ``raise_on_failure``
        is false); the message shows the gate, the input, and both gradients.
    :raises UsageError: no installed gate has that name, an attribute the
        gate does not have, or a value its check refuses.
    :return: one row per point and input.
    """
    resolved = _resolve(gate, registry)
    bound_attrs = _attrs(resolved, attrs)
    if points is None:
        points = random_points(resolved, count, arity, shapes, seed)
    points = list(points)
    rows = []
    for number, point in enumerate(points):
        rows += _compare(resolved, point, bound_attrs, f"point {number}", (step, rtol, atol))
    if backend is not None:
        for number, point in enumerate(points):
            where = f"point {number} on {backend.library.name}"
            rows += _compare(resolved, point, bound_attrs, where, (step, rtol, atol), backend=backend)
    if resolved.bind_tangent(bound_attrs) is None:
        rows.append(GradientCheck(resolved.name, "forward mode", 0, (), math.nan, math.nan, True, NO_JVP))
    else:
        for number, point in enumerate(points):
            rows += _forward_mode(resolved, point, bound_attrs, f"point {number}", (step, rtol, atol))
    if resolved.spec.elementwise and resolved.vjp is None:
        numbers: Sequence[Sequence[Any]] = [point for point in points if all(type(x) is float for x in point)]
        if len(numbers) < 2:
            numbers = random_points(resolved, max(count, 2), arity, [()], seed)
        rows += _batched(resolved, numbers, bound_attrs)
    failures = [row for row in rows if not row.ok]
    if failures and raise_on_failure:
        raise GradientError(failures, rtol, atol)
    return rows


@np.errstate(all="ignore")  # inf and nan are results here too, as in a run
def check_circuit(
    circuit: Circuit,
    overrides: Mapping[str, Any] | None = None,
    *,
    step: float = STEP,
    rtol: float = RTOL,
    atol: float = ATOL,
    max_elements: int = 16,
    raise_on_failure: bool = True,
    of: str | None = None,
    seed_grad: Any = None,
) -> list[GradientCheck]:
    """Check every gate at the values the circuit gives it, then the whole circuit.

    Per gate: its gradient at its own inputs during a run. End to end: the
    gradient of ``outputs[0]`` (summed, for an array), or of the node ``of``
    (weighted by ``seed_grad``, as :meth:`Circuit.run` takes them), with
    respect to each input and param, by central differences through
    :meth:`Circuit.run`, against backprop. Each costs three evaluations per element checked, so an
    array of more than ``max_elements`` elements is checked at that many,
    spread evenly over it (the row's ``sample`` says so): a whole batch would
    take time quadratic in its size.
    """
    overrides = dict(overrides or {})
    result = circuit.run(overrides, guard=True, of=of, seed_grad=seed_grad)
    plan, values = circuit.plan, result.values
    rows: list[GradientCheck] = []
    for forward_step in plan.forward:
        bound = plan.gates[forward_step.out]
        inputs = [values[s] if isinstance(s, str) else s for s in bound.inputs]
        tolerance = (step, rtol, atol)
        rows += _compare(
            bound.gate,
            inputs,
            bound.attrs,
            bound.name,
            tolerance,
            fault=fault_of(bound),
            max_elements=max_elements,
        )
    root = result.of
    weight = 1.0 if seed_grad is None else seed_grad
    for position, (name, grad) in enumerate(result.grads.items()):

        def objective(moved: Any, name: str = name) -> Any:
            return circuit.run({**overrides, name: moved}, guard=True).values[root]

        rows.append(
            _check_input(
                (root, f"end to end: d{root}/d{name}", position),
                values[name],
                grad,
                objective,
                weight=weight,
                tolerance=(step, rtol, atol),
                max_elements=max_elements,
            )
        )
    if len(circuit.outputs) > 1:
        rows += check_jacobian(circuit, overrides, step=step, rtol=rtol, atol=atol, max_elements=max_elements)
    failures = [row for row in rows if not row.ok]
    if failures and raise_on_failure:
        raise GradientError(failures, rtol, atol)
    return rows


@np.errstate(all="ignore")  # inf and nan are results here too, as in a run
def check_jacobian(
    circuit: Circuit,
    overrides: Mapping[str, Any] | None = None,
    *,
    step: float = STEP,
    rtol: float = RTOL,
    atol: float = ATOL,
    max_elements: int = 16,
) -> list[GradientCheck]:
    """The whole Jacobian of every output with respect to every leaf, against central differences.

    :meth:`Circuit.jacobian` (its mode chosen as for any caller) against the
    outputs of runs with one leaf element moved by ``-h`` and ``+h``: three
    runs per leaf element give the column of every output at once. One row
    per block ``d OUT / d LEAF``: its worst element (output index, then leaf
    index), judged as :func:`check_circuit`'s end-to-end rows are (kinks and
    numbers that are not finite skipped, rounding allowed for). A leaf of
    more than ``max_elements`` elements is moved at that many, spread over
    it. :func:`check_circuit` calls it for a circuit of several outputs.
    """
    overrides = dict(overrides or {})
    jacobian = circuit.jacobian(overrides)
    values = circuit.run(overrides, guard=True).values
    rows: list[GradientCheck] = []
    for position, leaf in enumerate(jacobian.wrt):
        x = values[leaf]
        indices = _sample(np.shape(x), max_elements)
        size = math.prod(np.shape(x))
        sample = (len(indices), size) if len(indices) < size else None
        if not indices:  # a leaf with no elements: nothing to move
            continue
        worst: dict[str, tuple[float, GradientCheck]] = {}
        for index in indices:
            h, moves = _moved(x, index, step)
            runs = [circuit.run({**overrides, leaf: moved}, guard=True).outputs for moved in moves]
            for out in jacobian.of:
                low, mid, high = (np.asarray(run[out], dtype=np.float64) for run in runs)
                at: tuple[Any, ...] = (..., *index)  # the output's elements, for this leaf element
                analytic = np.asarray(jacobian[out, leaf][at])
                found = _worst_element(
                    (out, f"jacobian {block_name(out, leaf)}", position),
                    index,
                    analytic,
                    (mid - low, high - mid, mid),
                    h=h,
                    tolerance=(rtol, atol),
                    sample=sample,
                )
                if out not in worst or found[0] > worst[out][0]:
                    worst[out] = found
        rows += [worst[out][1] for out in jacobian.of]
    return rows


def _moved(x: Any, index: tuple[int, ...], step: float) -> tuple[float, list[Any]]:
    """The step ``h`` for element ``index`` of ``x``, and ``x`` with that element moved by -h, 0 and +h.

    ``h`` is ``step`` of the element, at least ``step``; moved arrays are
    copies, read-only as a run's values are.
    """
    center = float(x[index]) if index else float(x)
    h = step * max(1.0, abs(center))
    moves: list[Any] = []
    for offset in (-1, 0, 1):
        if index:
            moved = np.array(x, dtype=np.float64)
            moved[index] = center + offset * h
            moves.append(_frozen(moved))
        else:
            moves.append(center + offset * h)
    return h, moves


def _worst_element(
    row: tuple[str, str, int],
    index: tuple[int, ...],
    analytic: np.ndarray,
    moves: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    h: float,
    tolerance: tuple[float, float],
    sample: tuple[int, int] | None,
) -> tuple[float, GradientCheck]:
    """The output element whose derivative by leaf element ``index`` agrees worst, and by how much.

    ``moves`` are the output's one-sided changes ``(below, above)`` over the
    step ``h`` and its value at the centre; the judgement is
    :func:`_check_input`'s, element by element. The excess is ``-inf`` for
    a skipped element, so an element that was compared wins over one that
    was not.
    """
    rtol, atol = tolerance
    below, above, center = moves
    best: tuple[float, GradientCheck] | None = None
    for element in np.ndindex(analytic.shape):
        b, c, a = float(below[element]), float(above[element]), float(analytic[element])
        numeric = (b + c) / (2 * h)
        fields = (*row, (*element, *index), a, numeric)
        excess = -math.inf
        if not all(math.isfinite(v) for v in (b, c, a)):
            candidate = GradientCheck(*fields, True, "not finite", (), sample)
        elif abs(c - b) / h > max(1e-4, 1e-2 * abs(numeric)):
            candidate = GradientCheck(*fields, True, "kink", (), sample)
        else:
            roundoff = 4 * EPS * abs(float(center[element])) / h
            excess = abs(a - numeric) - (atol + rtol * max(abs(a), abs(numeric)) + roundoff)
            candidate = GradientCheck(*fields, excess <= 0, "", (), sample)
        if best is None or excess > best[0]:
            best = (excess, candidate)
    if best is None:  # an output with no elements: nothing to disagree
        return -math.inf, GradientCheck(*row, index, 0.0, 0.0, True, "no elements", (), sample)
    return best
