"""The gradient check every registered gate must pass, and the gates' numerics.

Each gate's gradient is compared with central differences at seeded random
points. The gate list comes from the registry, so a gate added later is
checked automatically. Elementwise gates (``gate_local_grad``) are checked on
Python floats and on small float64 arrays: ``DOMAINS`` says where to sample
the gates that are not defined everywhere or have kinks, and any other gate
is sampled uniformly in [-2, 2]. Gates that are not elementwise (``gate_vjp``:
sum, matmul, ...) are checked at the input shapes their spec's ``examples``
give, and at those ``VJP_CASES`` gives for each attribute setting.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatekit
from gatekit import GateSpec, RunError, hookimpl
from gatekit.gates.reductions import Matmul
from gatekit.plugin.registry import Gate, gate_from_object
from gatekit.testing import GradientError, check_circuit, check_gate, random_points

REGISTRY = gatekit.default_registry(autoload=False)
GATE_NAMES = list(REGISTRY)
ELEMENTWISE = [name for name in GATE_NAMES if REGISTRY[name].vjp is None]
VJP_GATES = [name for name in GATE_NAMES if REGISTRY[name].vjp is not None]

SEED = 20240531
POINTS = 5  # random points per gate, arity, attrs and shape
SHAPES: tuple[tuple[int, ...] | None, ...] = (None, (3,), (2, 3))  # None: Python floats
VARIADIC_ARITIES = (2, 3, 5)
KINK = 1e-3  # how close to a kink a sampled point may come

# Central differences in float64: a step of 1e-6 (relative for |x| > 1)
# leaves a truncation error of about 1e-12 * f''' and a rounding error of
# about 1e-10 * |f|, so these tolerances are tight for the domains below yet
# far above the noise.
STEP = 1e-6
RTOL = 1e-6
ATOL = 1e-8

# The float path (math) and the array path (NumPy) may round differently in
# the last bit; gradients computed from the output (1 - y * y) amplify that
# by 1 / f' (about 14 for tanh on [-2, 2]).
SAME_RTOL = 1e-13
SAME_ATOL = 1e-15

Sampler = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def uniform(low: float, high: float) -> Sampler:
    """Uniform in [low, high)."""
    return lambda rng, shape: rng.uniform(low, high, shape)


def away_from_zero(low: float, high: float) -> Sampler:
    """Either sign, magnitude uniform in [low, high): for denominators."""
    return lambda rng, shape: rng.choice((-1.0, 1.0), shape) * rng.uniform(low, high, shape)


ANYWHERE = uniform(-2.0, 2.0)


def _off_zero(a: np.ndarray) -> np.ndarray:
    return np.abs(a)


def _apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b)


def _either_off_zero(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.minimum(np.abs(a), np.abs(b))


def _condition_off_zero(condition: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(condition)


def _off_margin(score: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How far the hinge's ``1 - y * score`` is from its kink at 0."""
    return np.abs(1.0 - y * score)


@dataclass(frozen=True)
class Domain:
    """Where to sample a gate's inputs.

    ``inputs`` has one sampler per input; the last one repeats for further
    inputs of a variadic gate. ``kink`` gives the distance from the inputs to
    the nearest point where the gate is not differentiable; points closer than
    ``KINK`` are drawn again.
    """

    inputs: tuple[Sampler, ...] = (ANYWHERE,)
    kink: Callable[..., np.ndarray] | None = None

    def sample(self, rng: np.random.Generator, arity: int, shape: tuple[int, ...] | None) -> list[Any]:
        """``arity`` input values: Python floats when ``shape`` is None, else arrays."""
        samplers = [self.inputs[min(i, len(self.inputs) - 1)] for i in range(arity)]
        size = () if shape is None else shape
        values = [draw(rng, size) for draw in samplers]
        if self.kink is not None:
            near = self.kink(*values) < KINK
            while np.any(near):
                for value, draw in zip(values, samplers, strict=True):
                    value[near] = draw(rng, size)[near]
                near = self.kink(*values) < KINK
        if shape is None:
            return [float(value) for value in values]
        return values


DEFAULT_DOMAIN = Domain()
POSITIVE = uniform(0.1, 3.0)
DENOMINATOR = away_from_zero(0.25, 2.0)

DOMAINS: dict[str, Domain] = {
    "log": Domain((POSITIVE,)),
    "sqrt": Domain((POSITIVE,)),
    "reciprocal": Domain((DENOMINATOR,)),
    "div": Domain((ANYWHERE, DENOMINATOR)),
    "pow": Domain((uniform(0.2, 2.0), uniform(-2.0, 2.0))),
    "abs": Domain(kink=_off_zero),
    "relu": Domain(kink=_off_zero),
    "leaky_relu": Domain(kink=_off_zero),
    "max": Domain(kink=_apart),
    "min": Domain(kink=_apart),
    "binary_cross_entropy_with_logits": Domain((ANYWHERE, uniform(0.0, 1.0))),  # targets in [0, 1]
    "hinge": Domain(kink=_off_margin),
    "step": Domain(kink=_off_zero),
    # comparisons jump where their inputs tie, truth values where they are 0
    "greater": Domain(kink=_apart),
    "greater_equal": Domain(kink=_apart),
    "equal": Domain(kink=_apart),
    "logical_not": Domain(kink=_off_zero),
    "logical_and": Domain(kink=_either_off_zero),
    "logical_or": Domain(kink=_either_off_zero),
    "logical_xor": Domain(kink=_either_off_zero),
    "where": Domain(kink=_condition_off_zero),
}

# Attribute settings to check besides the defaults ({} is the defaults).
ATTR_CASES: dict[str, list[dict[str, Any]]] = {
    "leaky_relu": [{}, {"slope": 0.2}],
}

# Gates that are not elementwise: attribute settings to check, each with the
# input shapes to check it at (None: the spec's examples). Gates not listed
# are checked with their defaults at their examples. A shape is given to
# every input of the gate: softmax_cross_entropy's targets then have the
# logits' shape, the probability form (tests/test_losses.py checks labels).
MATRICES = ((2, 3), (2, 3, 4))
REDUCTION_CASES: list[tuple[dict[str, Any], tuple[tuple[int, ...], ...] | None]] = [
    ({}, None),
    ({"axis": 0}, ((4,), *MATRICES)),
    ({"axis": 1}, MATRICES),
    ({"axis": -1}, ((4,), *MATRICES)),
    ({"axis": [0, 1]}, MATRICES),
    ({"axis": [-1, 0]}, ((2, 3, 4),)),
    ({"keepdims": True}, MATRICES),
    ({"axis": 1, "keepdims": True}, MATRICES),
    ({"axis": [0, -1], "keepdims": True}, ((2, 3, 4),)),
]
CLASS_AXIS_CASES: list[tuple[dict[str, Any], tuple[tuple[int, ...], ...] | None]] = [
    ({}, None),
    ({"axis": 0}, ((4,), *MATRICES)),
    ({"axis": 1}, MATRICES),
    ({"axis": -2}, MATRICES),
]
VJP_CASES: dict[str, list[tuple[dict[str, Any], tuple[tuple[int, ...], ...] | None]]] = {
    "sum": REDUCTION_CASES,
    "mean": REDUCTION_CASES,
    "softmax": CLASS_AXIS_CASES,
    "log_softmax": CLASS_AXIS_CASES,
    "softmax_cross_entropy": [
        *CLASS_AXIS_CASES,
        ({"reduction": "sum"}, None),
        ({"reduction": "none"}, None),
        ({"axis": 0, "reduction": "none"}, MATRICES),
        ({"axis": 1, "reduction": "sum"}, MATRICES),
    ],
    "reshape": [
        ({"shape": [3, 2]}, ((2, 3),)),
        ({"shape": [0, -1]}, ((2, 3, 4),)),
        ({"shape": [-1, 1, 2]}, ((2, 3, 4),)),
        ({"shape": []}, ((1, 1),)),
    ],
    "transpose": [
        ({}, None),
        ({"axes": [1, 0, 2]}, ((2, 3, 4),)),
        ({"axes": [2, 0, 1]}, ((2, 3, 4),)),  # not its own inverse
        ({"axes": [-1, 0, 1]}, ((2, 3, 4),)),
    ],
}
VJP_SEEDS = (0, 1, 2)


def domain_of(name: str) -> Domain:
    return DOMAINS.get(name, DEFAULT_DOMAIN)


def rng_for(name: str, purpose: str) -> np.random.Generator:
    """A generator fixed per gate and test, whatever else runs."""
    return np.random.default_rng([SEED, zlib.crc32(f"{name}/{purpose}".encode())])


def attr_cases(gate: Gate) -> list[dict[str, Any]]:
    """The attrs to bind, defaults filled in as the loader does."""
    defaults = {key: attr.default for key, attr in gate.spec.attrs.items()}
    cases = []
    for overrides in ATTR_CASES.get(gate.name, [{}]):
        converted = {key: gate.spec.attrs[key].convert(value) for key, value in overrides.items()}
        cases.append(defaults | converted)
    return cases


def arities(gate: Gate) -> list[int]:
    spec = gate.spec
    if not spec.variadic:
        return [spec.arity]
    return sorted({spec.arity, *(n for n in VARIADIC_ARITIES if n >= spec.arity)})


def variants(gate: Gate) -> Iterator[tuple[dict[str, Any], int]]:
    """Every (attrs, arity) a gate is checked with."""
    return itertools.product(attr_cases(gate), arities(gate))


def gradients(
    bound: tuple[Callable[..., Any], Callable[..., Any], bool],
    inputs: Sequence[Any],
    output: Any,
    upstream: Any,
) -> list[Any]:
    """The gradient reaching each input, as the scheduler computes it."""
    _, backward, is_vjp = bound
    if is_vjp:
        grads = list(backward(inputs, output, upstream))
    else:
        grads = [local * upstream for local in backward(inputs, output)]
    assert len(grads) == len(inputs), f"{len(grads)} gradients for {len(inputs)} inputs"
    return grads


def analytic_jacobians(
    bound: tuple[Callable[..., Any], Callable[..., Any], bool], inputs: Sequence[Any]
) -> list[np.ndarray]:
    """d output / d input, one (output size, input size) matrix per input.

    Row ``j`` is the gradient the gate sends back for a unit upstream gradient
    on output element ``j``; for a local-gradient gate that is its factor
    times the upstream, so a factor that is not elementwise shows up here.
    """
    forward = bound[0]
    output = forward(inputs)
    rows = []
    for j in range(np.size(output)):
        if type(output) is float:
            upstream: Any = 1.0
        else:
            upstream = np.zeros(np.shape(output))
            upstream.flat[j] = 1.0
        grads = gradients(bound, inputs, output, upstream)
        rows.append([np.broadcast_to(g, np.shape(x)).ravel() for g, x in zip(grads, inputs, strict=True)])
    return [np.array([row[k] for row in rows]) for k in range(len(inputs))]


def _replaced(inputs: Sequence[Any], k: int, i: int, value: float) -> list[Any]:
    """``inputs`` with element ``i`` of input ``k`` set to ``value``."""
    changed = list(inputs)
    if type(inputs[k]) is float:
        changed[k] = value
    else:
        array = np.array(inputs[k], dtype=np.float64)
        array.flat[i] = value
        changed[k] = array
    return changed


def numeric_jacobian(forward: Callable[..., Any], inputs: Sequence[Any], k: int) -> np.ndarray:
    """d output / d input ``k`` by central differences, one column per element."""
    flat = np.ravel(inputs[k])
    columns = []
    for i, x in enumerate(flat.tolist()):
        step = STEP * max(1.0, abs(x))
        upper, lower = x + step, x - step
        rise = np.ravel(forward(_replaced(inputs, k, i, upper))) - np.ravel(
            forward(_replaced(inputs, k, i, lower))
        )
        columns.append(rise / (upper - lower))
    return np.stack(columns, axis=1)


def describe(inputs: Sequence[Any]) -> str:
    return ", ".join(np.array2string(np.asarray(x), precision=17) for x in inputs)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradient_matches_central_differences(name: str) -> None:
    gate = REGISTRY[name]
    domain = domain_of(name)
    rng = rng_for(name, "gradient")
    for (attrs, arity), shape in itertools.product(variants(gate), SHAPES):
        bound = gate.bind(attrs)
        for _ in range(POINTS):
            inputs = domain.sample(rng, arity, shape)
            analytic = analytic_jacobians(bound, inputs)
            for k in range(arity):
                np.testing.assert_allclose(
                    analytic[k],
                    numeric_jacobian(bound[0], inputs, k),
                    rtol=RTOL,
                    atol=ATOL,
                    err_msg=f"{name}{attrs or ''}: d/d input {k} of {arity} at ({describe(inputs)})",
                )


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_floats_in_floats_out_arrays_keep_their_shape(name: str) -> None:
    gate = REGISTRY[name]
    domain = domain_of(name)
    rng = rng_for(name, "types")
    for attrs, arity in variants(gate):
        bound = gate.bind(attrs)
        forward = bound[0]
        point = domain.sample(rng, arity, None)
        output = forward(point)
        assert type(output) is float, f"{name} returned {type(output).__name__} for floats"
        grads = gradients(bound, point, output, 1.0)
        assert [type(g) for g in grads] == [float] * arity, f"{name} gradients for floats: {grads!r}"
        for shape in SHAPES[1:]:
            assert shape is not None
            arrays = domain.sample(rng, arity, shape)
            output = forward(arrays)
            assert isinstance(output, np.ndarray)
            assert output.dtype == np.float64
            assert output.shape == shape
            for g in gradients(bound, arrays, output, np.ones(shape)):
                assert np.broadcast_shapes(np.shape(g), shape) == shape


def assert_paths_agree(name: str, attrs: Mapping[str, Any], arrays: Sequence[np.ndarray]) -> None:
    """Forward and gradients on arrays equal those on each element as floats."""
    bound = REGISTRY[name].bind(attrs)
    forward = bound[0]
    with np.errstate(all="ignore"):  # inf - inf and 0 * inf warn in NumPy, not in math
        output = forward(arrays)
        grads = gradients(bound, arrays, output, np.ones_like(output))
    shape = np.shape(arrays[0])
    for i in range(np.size(arrays[0])):
        point = [float(a.flat[i]) for a in arrays]
        value = forward(point)
        where = f"{name}{attrs or ''} at ({', '.join(map(repr, point))})"
        np.testing.assert_allclose(
            value, output.flat[i], rtol=SAME_RTOL, atol=SAME_ATOL, err_msg=f"forward of {where}"
        )
        point_grads = gradients(bound, point, value, 1.0)
        for k, (one, many) in enumerate(zip(point_grads, grads, strict=True)):
            np.testing.assert_allclose(
                one,
                np.broadcast_to(many, shape).flat[i],
                rtol=SAME_RTOL,
                atol=SAME_ATOL,
                err_msg=f"gradient {k} of {where}",
            )


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float_and_array_paths_agree(name: str) -> None:
    gate = REGISTRY[name]
    rng = rng_for(name, "agree")
    for attrs, arity in variants(gate):
        assert_paths_agree(name, attrs, domain_of(name).sample(rng, arity, (20,)))


SPECIAL = (0.0, -0.0, 0.5, -1.5, 1e3, -1e3, 1e300, -1e300, 5e-324, math.inf, -math.inf, math.nan)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float_and_array_paths_agree_at_special_values(name: str) -> None:
    """Zeros, huge and tiny values, infinities and nan: IEEE results on both paths."""
    gate = REGISTRY[name]
    for attrs, arity in variants(gate):
        if arity > 3:
            continue
        points = list(itertools.product(SPECIAL, repeat=arity))
        assert_paths_agree(name, attrs, [np.array(column) for column in zip(*points, strict=True)])


@pytest.mark.parametrize("name", [name for name in ELEMENTWISE if REGISTRY[name].spec.arity >= 2])
def test_constant_float_inputs_broadcast_against_arrays(name: str) -> None:
    """A circuit's number constants are floats next to array inputs (``mul [x, -1]``)."""
    gate = REGISTRY[name]
    rng = rng_for(name, "broadcast")
    for attrs, arity in variants(gate):
        bound = gate.bind(attrs)
        arrays = domain_of(name).sample(rng, arity, (4,))
        for k in range(arity):
            constant = float(arrays[k][0])
            mixed = [constant if j == k else a for j, a in enumerate(arrays)]
            full = [np.full(4, constant) if j == k else a for j, a in enumerate(arrays)]
            output = bound[0](full)
            np.testing.assert_array_equal(bound[0](mixed), output)
            for g_mixed, g_full in zip(
                gradients(bound, mixed, output, np.ones(4)),
                gradients(bound, full, output, np.ones(4)),
                strict=True,
            ):
                np.testing.assert_array_equal(np.broadcast_to(g_mixed, (4,)), g_full)


def test_the_tables_name_registered_gates() -> None:
    assert set(DOMAINS) <= set(ELEMENTWISE)
    assert set(ATTR_CASES) <= set(ELEMENTWISE)
    assert set(VJP_CASES) <= set(VJP_GATES)
    for name, cases in ATTR_CASES.items():
        for attrs in cases:
            assert set(attrs) <= set(REGISTRY[name].spec.attrs)
    for name, vjp_cases in VJP_CASES.items():
        for attrs, _ in vjp_cases:
            assert set(attrs) <= set(REGISTRY[name].spec.attrs)


# Special values, gate by gate.


def bind(name: str, **attrs: Any) -> tuple[Callable[..., Any], Callable[..., Any], bool]:
    """The gate's hooks with ``attrs`` converted as the loader does, defaults for the rest."""
    spec = REGISTRY[name].spec
    converted = {key: spec.attrs[key].convert(value) for key, value in attrs.items()}
    return REGISTRY[name].bind({key: attr.default for key, attr in spec.attrs.items()} | converted)


def run(name: str, *inputs: Any, upstream: Any = None, **attrs: Any) -> tuple[Any, list[Any]]:
    """Forward and the gradients for ``upstream`` (default: ones), with default attrs."""
    bound = bind(name, **attrs)
    output = bound[0](list(inputs))
    if upstream is None:
        upstream = 1.0 if type(output) is float else np.ones_like(output)
    return output, gradients(bound, list(inputs), output, upstream)


def test_exp_overflows_to_inf() -> None:
    output, (grad,) = run("exp", 1000.0)
    assert output == math.inf
    assert type(output) is float
    assert grad == math.inf
    with np.errstate(all="raise"):  # the array path silences its own overflow
        assert run("exp", np.array([1000.0, 0.0]))[0].tolist() == [math.inf, 1.0]


def test_log_and_sqrt_outside_their_domain() -> None:
    assert run("log", 0.0)[0] == -math.inf
    assert math.isnan(run("log", -1.0)[0])
    assert math.isnan(run("sqrt", -1.0)[0])
    output, (grad,) = run("sqrt", 0.0)
    assert (output, grad) == (0.0, math.inf)
    with np.errstate(all="raise"):
        assert run("log", np.array([0.0]))[0].tolist() == [-math.inf]
        assert np.isnan(run("sqrt", np.array([-1.0]))[0]).all()


@pytest.mark.parametrize(
    ("a", "b"),
    [(1.0, 0.0), (-1.0, 0.0), (1.0, -0.0), (-1.0, -0.0), (0.0, 0.0), (math.nan, 0.0), (math.inf, 0.0)],
)
def test_div_by_zero_like_numpy(a: float, b: float) -> None:
    with np.errstate(all="ignore"):
        expected = np.divide(np.float64(a), np.float64(b))
        expected_grads = [np.divide(1.0, np.float64(b)), -expected / np.float64(b)]
    output, grads = run("div", a, b)
    assert type(output) is float
    np.testing.assert_array_equal(output, expected)
    np.testing.assert_array_equal(grads, expected_grads)
    reciprocal, _ = run("reciprocal", b)
    assert reciprocal == math.copysign(math.inf, b)


@pytest.mark.parametrize("x", [1000.0, -1000.0])
def test_saturating_gates_are_stable_at_extremes(x: float) -> None:
    for name in ("sigmoid", "softplus", "tanh"):
        for value in (x, np.array([x])):
            output, (grad,) = run(name, value)
            assert np.isfinite(output).all()
            assert np.isfinite(grad).all()
    assert run("sigmoid", x)[0] == (1.0 if x > 0 else 0.0)
    assert run("tanh", x)[0] == math.copysign(1.0, x)
    softplus, (grad,) = run("softplus", x)
    if x > 0:
        assert (softplus, grad) == (1000.0, 1.0)
    else:
        assert 0.0 <= softplus < 1e-300
        assert grad == 0.0


def test_pow_of_negative_base_to_fraction_is_nan_not_complex() -> None:
    output, grads = run("pow", -8.0, 1.0 / 3.0)
    assert type(output) is float
    assert math.isnan(output)
    assert all(type(g) is float for g in grads)
    assert np.isnan(run("pow", np.array([-8.0]), np.array([1.0 / 3.0]))[0]).all()
    assert run("pow", -8.0, 3.0)[0] == -512.0


@pytest.mark.parametrize(
    "inputs",
    [
        (2.0, 0.0, 3.0),
        (0.0, 2.0, 3.0, 4.0),
        (2.0, 3.0, 4.0, 0.0, 5.0),
        (0.0, 2.0, 0.0, 3.0),
    ],
)
def test_mul_with_a_zero_input_keeps_the_other_gradients(inputs: tuple[float, ...]) -> None:
    expected = [math.prod(x for j, x in enumerate(inputs) if j != i) for i in range(len(inputs))]
    assert run("mul", *inputs)[1] == expected
    arrays = [np.array([x, 1.0]) for x in inputs]
    grads = run("mul", *arrays)[1]
    assert [g[0] for g in grads] == expected


@pytest.mark.parametrize(
    ("name", "a", "b", "output", "grads"),
    [
        ("max", 3.0, 1.0, 3.0, [1.0, 0.0]),
        ("max", 1.0, 3.0, 3.0, [0.0, 1.0]),
        ("max", 2.0, 2.0, 2.0, [1.0, 0.0]),
        ("min", 1.0, 3.0, 1.0, [1.0, 0.0]),
        ("min", 3.0, 1.0, 1.0, [0.0, 1.0]),
        ("min", 2.0, 2.0, 2.0, [1.0, 0.0]),
    ],
)
def test_max_and_min_route_the_gradient_to_the_chosen_input(
    name: str, a: float, b: float, output: float, grads: list[float]
) -> None:
    assert run(name, a, b) == (output, grads)
    array_output, array_grads = run(name, np.array([a, b]), np.array([b, a]))
    assert array_output.tolist() == [output, output]
    assert [g[0] for g in array_grads] == grads


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize(
    ("a", "b", "grads"),
    [(math.nan, 1.0, [1.0, 0.0]), (1.0, math.nan, [0.0, 1.0]), (math.nan, math.nan, [1.0, 0.0])],
    ids=["nan-first", "nan-second", "both"],
)
def test_max_and_min_give_nan_whichever_input_is_nan(
    name: str, a: float, b: float, grads: list[float]
) -> None:
    """As NumPy and PyTorch: nan in either position; the gradient goes to the nan input."""
    output, local = run(name, a, b)
    assert math.isnan(output) and local == grads
    array_output, array_local = run(name, np.array([a]), np.array([b]))
    assert np.isnan(array_output).all() and [g[0] for g in array_local] == grads
    reference = np.maximum if name == "max" else np.minimum
    assert math.isnan(reference(a, b)) and math.isnan(reference(b, a))


@pytest.mark.parametrize(
    ("a", "b", "output", "d_a", "d_b"),
    [
        (0.0, -1.0, math.inf, -math.inf, -math.inf),  # a^b ln a = inf * -inf, as PyTorch
        (0.0, 0.0, 1.0, 0.0, 0.0),  # a^0 is 1 for every a: both limits are 0 (PyTorch: 0, 0)
        (0.0, 2.0, 0.0, 0.0, 0.0),
        (0.0, 0.5, 0.0, math.inf, 0.0),
        (2.0, 3.0, 8.0, 12.0, 8.0 * math.log(2.0)),
    ],
)
def test_pow_at_base_zero_as_pytorch_has_it(
    a: float, b: float, output: float, d_a: float, d_b: float
) -> None:
    got, (got_a, got_b) = run("pow", a, b)
    assert (got, got_a, got_b) == (output, d_a, d_b)
    with np.errstate(all="ignore"):  # as in a run: inf and nan are results
        array_output, (array_a, array_b) = run("pow", np.array([a]), np.array([b]))
    assert (array_output[0], array_a[0], array_b[0]) == (output, d_a, d_b)


@pytest.mark.parametrize("first", ["-0.0", "0"])
def test_a_negative_zero_constant_is_not_a_zero_constant(first: str) -> None:
    """Constants are kept by value, and -0.0 == 0.0: each must still get a slot of its own."""
    second = "0" if first == "-0.0" else "-0.0"
    gates = f"  a: {{gate: div, in: [x, {first}]}}\n  b: {{gate: div, in: [x, {second}]}}\n"
    outputs = gatekit.loads(f"inputs: {{x: 1.0}}\ngates:\n{gates}outputs: [a, b]").run().outputs
    assert outputs == {
        "a": math.copysign(math.inf, float(first)),
        "b": math.copysign(math.inf, float(second)),
    }


def test_leaky_relu_slope() -> None:
    assert run("leaky_relu", -2.0) == (-0.02, [0.01])
    assert run("leaky_relu", -2.0, slope=0.2) == (-0.4, [0.2])
    assert run("leaky_relu", 3.0, slope=0.2) == (3.0, [1.0])


# Property-based: smooth gates over the whole float range.

SMOOTH = ("sigmoid", "tanh", "softplus")


@pytest.mark.parametrize("name", SMOOTH)
@settings(derandomize=True, max_examples=150, deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False))
def test_smooth_gates_are_finite_with_bounded_gradients(name: str, x: float) -> None:
    output, (grad,) = run(name, x)
    assert math.isfinite(output)
    assert 0.0 <= grad <= 1.0  # sigmoid' <= 1/4, tanh' <= 1, softplus' = sigmoid
    array_output, (array_grad,) = run(name, np.array([x]))
    np.testing.assert_allclose(array_output[0], output, rtol=SAME_RTOL, atol=SAME_ATOL)
    np.testing.assert_allclose(array_grad[0], grad, rtol=SAME_RTOL, atol=SAME_ATOL)
    if abs(x) <= 30.0:  # well-conditioned: the difference quotient is accurate here
        step = STEP * max(1.0, abs(x))
        numeric = (run(name, x + step)[0] - run(name, x - step)[0]) / ((x + step) - (x - step))
        assert grad == pytest.approx(numeric, rel=RTOL, abs=ATOL)


# Gates that are not elementwise (gate_vjp): gradients at their examples.


def vjp_cases() -> list[Any]:
    """(name, attrs, shapes) for every VJP gate and attribute setting."""
    params = []
    for name in VJP_GATES:
        for attrs, shapes in VJP_CASES.get(name, [({}, None)]):
            label = ",".join(f"{key}={value}".replace(" ", "") for key, value in attrs.items())
            params.append(pytest.param(name, attrs, shapes, id=f"{name}-{label or 'defaults'}"))
    return params


@pytest.mark.parametrize("seed", VJP_SEEDS)
@pytest.mark.parametrize(("name", "attrs", "shapes"), vjp_cases())
def test_vjp_gate_passes_check_gate(
    name: str, attrs: dict[str, Any], shapes: tuple[tuple[int, ...], ...] | None, seed: int
) -> None:
    gate = REGISTRY[name]
    rows = check_gate(gate, attrs=attrs, shapes=shapes, count=3, seed=seed, step=STEP, rtol=RTOL, atol=ATOL)
    examples = gate.spec.examples if shapes is None else shapes
    # per point and input: the gradient, forward mode against reverse, gate_jvp against differences
    assert len(rows) == 3 * len(examples) * gate.spec.arity * 3
    assert not any(row.skipped for row in rows)  # smooth everywhere: no kinks, all finite


@pytest.mark.parametrize(("name", "attrs", "shapes"), vjp_cases())
def test_vjp_jacobian_matches_central_differences(
    name: str, attrs: dict[str, Any], shapes: tuple[tuple[int, ...], ...] | None
) -> None:
    """The whole Jacobian, one unit upstream per output element."""
    bound = bind(name, **attrs)
    for inputs in random_points(REGISTRY[name], POINTS, shapes=shapes, seed=SEED):
        analytic = analytic_jacobians(bound, inputs)
        for k in range(len(inputs)):
            np.testing.assert_allclose(
                analytic[k],
                numeric_jacobian(bound[0], inputs, k),
                rtol=RTOL,
                atol=ATOL,
                err_msg=f"{name}{attrs or ''}: d/d input {k} at ({describe(inputs)})",
            )


@pytest.mark.parametrize(("name", "attrs", "shapes"), vjp_cases())
def test_vjp_gate_gives_floats_for_numbers_and_gradients_of_the_inputs_shapes(
    name: str, attrs: dict[str, Any], shapes: tuple[tuple[int, ...], ...] | None
) -> None:
    forward, backward, is_vjp = bind(name, **attrs)
    assert is_vjp
    rng = rng_for(name, "shapes")
    for inputs in random_points(REGISTRY[name], 2, shapes=shapes, seed=SEED):
        output = forward(inputs)
        if np.ndim(output) == 0:
            assert type(output) is float, f"{name} returned {type(output).__name__} for a number"
            upstream: Any = 1.0
        else:
            assert isinstance(output, np.ndarray)
            assert output.dtype == np.float64
            upstream = rng.uniform(0.5, 1.5, output.shape)
        grads = backward(inputs, output, upstream)
        assert len(grads) == len(inputs)
        for grad, x in zip(grads, inputs, strict=True):
            assert np.shape(grad) == np.shape(x)
            if type(x) is float:
                assert type(grad) is float


def test_matmul_of_stacks_of_matrices_passes_check_gate() -> None:
    # matmul's spec checks vectors and matrices; stacks (their leading axes broadcast) here
    stacks = (((2, 2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,)))

    class StackedMatmul(Matmul):
        spec = dataclasses.replace(Matmul.spec, examples=stacks)

    rows = check_gate(StackedMatmul(), count=3, seed=0, step=STEP, rtol=RTOL, atol=ATOL)
    assert len(rows) == 3 * len(stacks) * 2 * 3
    assert all(row.ok and not row.skipped for row in rows)


def test_every_vjp_gate_says_where_to_check_it() -> None:
    for name in VJP_GATES:
        spec = REGISTRY[name].spec
        assert spec.examples, f"{name} has no examples"
        assert spec.problems() == []


# Gates that are not elementwise: values.

X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


@pytest.mark.parametrize(
    ("axis", "total", "average"),
    [
        (None, 21.0, 3.5),
        (0, [5.0, 7.0, 9.0], [2.5, 3.5, 4.5]),
        (1, [6.0, 15.0], [2.0, 5.0]),
        (-1, [6.0, 15.0], [2.0, 5.0]),
        (-2, [5.0, 7.0, 9.0], [2.5, 3.5, 4.5]),
        ([0, 1], 21.0, 3.5),
        ([1, 0], 21.0, 3.5),
    ],
)
def test_sum_and_mean_over_axes(axis: Any, total: Any, average: Any) -> None:
    for name, expected in (("sum", total), ("mean", average)):
        output, _ = run(name, X, axis=axis)
        if isinstance(expected, float):
            assert type(output) is float
            assert output == expected
        else:
            assert output.tolist() == expected


def test_sum_and_mean_of_numbers_and_vectors_are_floats() -> None:
    assert run("sum", 2.5) == (2.5, [1.0])
    assert run("mean", 2.5, upstream=4.0) == (2.5, [4.0])
    for axis in (None, 0, -1):
        output, (grad,) = run("sum", np.array([1.0, 2.0, 4.0]), upstream=2.0, axis=axis)
        assert type(output) is float
        assert output == 7.0
        assert grad.tolist() == [2.0, 2.0, 2.0]
        output, (grad,) = run("mean", np.array([1.0, 2.0, 6.0]), upstream=3.0, axis=axis)
        assert (type(output), output) == (float, 3.0)
        assert grad.tolist() == [1.0, 1.0, 1.0]


def test_sum_and_mean_send_the_upstream_back_over_the_reduced_axes() -> None:
    _, (grad,) = run("sum", X, upstream=np.array([1.0, 2.0, 3.0]), axis=0)
    assert grad.tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    _, (grad,) = run("sum", X, upstream=np.array([1.0, 2.0]), axis=-1)
    assert grad.tolist() == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    _, (grad,) = run("mean", X, upstream=np.array([3.0, 6.0]), axis=1)
    assert grad.tolist() == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    _, (grad,) = run("mean", X, upstream=np.array([2.0, 4.0, 6.0]), axis=0)
    assert grad.tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    _, (grad,) = run("mean", X, upstream=12.0)
    assert grad.tolist() == [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    cube = np.arange(24.0).reshape(2, 3, 4)
    _, (grad,) = run("mean", cube, upstream=np.array([6.0, 12.0, 18.0]), axis=[0, -1])
    assert grad.shape == (2, 3, 4)
    assert (grad[:, 0, :] == 0.75).all() and (grad[:, 1, :] == 1.5).all() and (grad[:, 2, :] == 2.25).all()


@pytest.mark.parametrize(
    ("a_shape", "b_shape", "out_shape"),
    [((2, 3), (3, 4), (2, 4)), ((2, 3), (3,), (2,)), ((3,), (3, 2), (2,)), ((3,), (3,), ())],
)
def test_matmul_equals_numpy(
    a_shape: tuple[int, ...], b_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> None:
    rng = rng_for("matmul", f"{a_shape} @ {b_shape}")
    a, b = rng.uniform(-2.0, 2.0, a_shape), rng.uniform(-2.0, 2.0, b_shape)
    output, grads = run("matmul", a, b)
    assert np.shape(output) == out_shape
    np.testing.assert_array_equal(output, a @ b)
    if out_shape == ():
        assert type(output) is float
    assert [np.shape(g) for g in grads] == [a_shape, b_shape]


A = np.array([[1.0, 2.0], [3.0, 4.0]])
B = np.array([[5.0, 6.0], [7.0, 8.0]])


@pytest.mark.parametrize(
    ("a", "b", "upstream", "output", "grad_a", "grad_b"),
    [
        # d(A @ B) = U @ B.T and A.T @ U
        (
            A,
            B,
            np.array([[1.0, 0.0], [0.0, 2.0]]),
            [[19, 22], [43, 50]],
            [[5, 7], [12, 16]],
            [[1, 6], [2, 8]],
        ),
        # matrix @ vector: outer(U, v) and A.T @ U
        (A, np.array([1.0, -1.0]), np.array([1.0, 2.0]), [-1, -1], [[1, -1], [2, -2]], [7, 10]),
        # vector @ matrix: B @ U and outer(v, U)
        (np.array([1.0, -1.0]), B, np.array([1.0, 2.0]), [-2, -2], [17, 23], [[1, 2], [-1, -2]]),
        # vector @ vector: a dot product
        (np.array([1.0, 2.0]), np.array([3.0, 4.0]), 2.0, 11.0, [6, 8], [2, 4]),
    ],
    ids=["matrix@matrix", "matrix@vector", "vector@matrix", "vector@vector"],
)
def test_matmul_gradients_by_hand(
    a: np.ndarray, b: np.ndarray, upstream: Any, output: Any, grad_a: Any, grad_b: Any
) -> None:
    value, (got_a, got_b) = run("matmul", a, b, upstream=upstream)
    assert np.asarray(value).tolist() == output
    assert got_a.tolist() == grad_a
    assert got_b.tolist() == grad_b


def test_dot_of_vectors_and_of_numbers() -> None:
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    output, (grad_a, grad_b) = run("dot", a, b, upstream=2.0)
    assert (type(output), output) == (float, 32.0)
    assert grad_a.tolist() == [8.0, 10.0, 12.0]
    assert grad_b.tolist() == [2.0, 4.0, 6.0]
    assert run("dot", 2.0, 3.0) == (6.0, [3.0, 2.0])


def test_transpose_permutes_the_axes_and_its_gradient_permutes_them_back() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    output, (grad,) = run("transpose", x, upstream=np.ones((4, 3, 2)))
    np.testing.assert_array_equal(output, x.T)
    assert grad.shape == (2, 3, 4)
    for axes, inverse in (([1, 0, 2], [1, 0, 2]), ([2, 0, 1], [1, 2, 0]), ([-1, 0, 1], [1, 2, 0])):
        output, _ = run("transpose", x, axes=axes)
        np.testing.assert_array_equal(output, np.transpose(x, axes))
        upstream = np.arange(24.0).reshape(output.shape)
        _, (grad,) = run("transpose", x, upstream=upstream, axes=axes)
        np.testing.assert_array_equal(grad, np.transpose(upstream, inverse))
    assert run("transpose", 2.5) == (2.5, [1.0])
    output, (grad,) = run("transpose", np.array([1.0, 2.0]), upstream=np.array([3.0, 4.0]))
    assert (output.tolist(), grad.tolist()) == ([1.0, 2.0], [3.0, 4.0])


# Gates that are not elementwise: mistakes.


def one_gate(gate: str, inputs: str, attrs: str = "{}") -> str:
    return (
        "inputs: {x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], v: [1.0, 2.0], w: [1.0, 2.0, 3.0]}\n"
        f"gates:\n  g: {{gate: {gate}, in: {inputs}, attrs: {attrs}}}\noutputs: [g]\n"
    )


@pytest.mark.parametrize(
    ("gate", "value", "words"),
    [
        ("sum", "1.5", "expected null, an integer or a list of integers, got the number 1.5"),
        ("sum", "true", "expected null, an integer or a list of integers, got a boolean (True)"),
        ("mean", "x", "expected null, an integer or a list of integers, got the text 'x'"),
        (
            "mean",
            "[0.5]",
            "expected null, an integer or a list of integers, got a list holding the number 0.5",
        ),
        ("sum", "[[0, 1]]", "expected null, an integer or a list of integers, got a nested list"),
        ("sum", "[0, 0]", "axis 0 is listed twice"),
    ],
)
def test_a_bad_axis_is_refused_when_the_circuit_loads(gate: str, value: str, words: str) -> None:
    text = one_gate(gate, "[x]", f"{{axis: {value}}}")
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.loads(text, file="g.yaml")
    assert info.value.message == f"attribute 'axis' of gate 'g' ({gate}): {words}"
    location = info.value.location
    assert text.splitlines()[location.line - 1][location.column - 1 :].startswith(f"{value}}}")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1", "expected null or a list of integers (a permutation of the axes), got the number 1"),
        ("[1, 1]", "axis 1 is listed twice"),
    ],
)
def test_bad_transpose_axes_are_refused_when_the_circuit_loads(value: str, words: str) -> None:
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.loads(one_gate("transpose", "[x]", f"{{axes: {value}}}"), file="g.yaml")
    assert info.value.message == f"attribute 'axes' of gate 'g' (transpose): {words}"


@pytest.mark.parametrize(
    ("a", "b", "words"),
    [
        (
            (2, 2, 3),
            (2, 2, 3),
            "matmul: shapes (2, 2, 3) and (2, 2, 3) do not line up (the last axis of a has 3 elements, "
            "the second-to-last axis of b 2)",
        ),
        (
            (2, 2, 3),
            (3, 3, 2),
            "matmul: the stacks of shapes (2, 2, 3) and (3, 3, 2) do not broadcast ((2,) against (3,))",
        ),
    ],
)
def test_stacks_of_matrices_that_do_not_fit_fail_the_run(
    a: tuple[int, ...], b: tuple[int, ...], words: str
) -> None:
    text = "inputs: {a: 0.0, b: 0.0}\ngates:\n  g: {gate: matmul, in: [a, b]}\noutputs: [g]\n"
    circuit = gatekit.loads(text, file="g.yaml")
    with pytest.raises(RunError) as info:
        circuit.run(a=np.ones(a), b=np.ones(b))
    assert info.value.message.endswith(f"ValueError: {words}")


@pytest.mark.parametrize(
    ("gate", "inputs", "attrs", "words"),
    [
        ("sum", "[x]", "{axis: 2}", "AxisError: axis 2 is out of bounds for array of dimension 2"),
        ("mean", "[x]", "{axis: [0, -3]}", "AxisError: axis -3 is out of bounds for array of dimension 2"),
        ("sum", "[1.5]", "{axis: 0}", "AxisError: axis 0 is out of bounds for array of dimension 0"),
        (
            "matmul",
            "[x, v]",
            "{}",
            "ValueError: matmul: shapes (2, 3) and (2,) do not line up "
            "(the last axis of a has 3 elements, the first axis of b 2)",
        ),
        (
            "matmul",
            "[x, 2]",
            "{}",
            "ValueError: matmul takes vectors, matrices and stacks of matrices (1 or more dimensions), "
            "got shapes (2, 3) and ()",
        ),
        (
            "dot",
            "[x, x]",
            "{}",
            "ValueError: dot takes two vectors (or two numbers), got shapes (2, 3) and (2, 3); "
            "use matmul for matrices",
        ),
        ("dot", "[v, 2]", "{}", "ValueError: dot takes two vectors (or two numbers), got shapes (2,) and ()"),
        ("dot", "[v, w]", "{}", "ValueError: shapes (2,) and (3,) not aligned"),
        (
            "transpose",
            "[x]",
            "{axes: [1, 0, 2]}",
            "ValueError: transpose: axes [1, 0, 2] name 3 axes; a has 2",
        ),
        ("transpose", "[x]", "{axes: [0, 2]}", "AxisError: axis 2 is out of bounds for array of dimension 2"),
    ],
)
def test_inputs_of_the_wrong_shape_fail_the_run_naming_the_gate(
    gate: str, inputs: str, attrs: str, words: str
) -> None:
    circuit = gatekit.loads(one_gate(gate, inputs, attrs), file="g.yaml")
    with pytest.raises(RunError) as info:
        circuit.run()
    assert info.value.message.startswith(
        f"gate 'g' ({gate}, plugin 'gatekit.gates.reductions:{gate}') failed in"
    )
    assert words in info.value.message


# GateSpec.examples and the gatekit.testing helpers that use them.


@pytest.mark.parametrize(
    ("examples", "problem"),
    [
        ((((2, 3), (3, 4)), ((3,), ())), None),
        ([[[2, 3], [3]]], None),  # lists are taken as tuples
        ((((2, 3),),), "example ((2, 3),) has 1 shape(s); the gate takes 2"),
        (
            (((2, 0), (3,)),),
            "example ((2, 0), (3,)) must hold shapes: tuples of positive integers, () for a float",
        ),
        ((((2.0,), (3,)),), "example ((2.0,), (3,)) must hold shapes"),
        ((((True,), (3,)),), "example ((True,), (3,)) must hold shapes"),
        (((2, 3), (3, 4)), "example (2, 3) must hold shapes"),  # one level of nesting short
        ("(2, 3)", "examples must be a tuple of examples (one shape per input), got '(2, 3)'"),
    ],
)
def test_gate_spec_examples_are_checked(examples: Any, problem: str | None) -> None:
    spec = GateSpec("pair", 2, "Takes two inputs.", examples=examples)
    if problem is None:
        assert spec.problems() == []
        assert all(type(shape) is tuple for example in spec.examples for shape in example)
    else:
        assert any(found.startswith(problem) for found in spec.problems()), spec.problems()


def test_a_variadic_gate_example_needs_at_least_its_arity() -> None:
    spec = GateSpec("many", 2, "Takes two or more.", variadic=True, examples=(((3,),), ((3,), (3,), (3,))))
    assert spec.problems() == ["example ((3,),) has 1 shape(s); the gate takes at least 2"]


class BroadcastAdd:
    """A variadic gate whose inputs may differ in shape: checked at its example."""

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return GateSpec("badd", 2, "a + b + ... broadcast", variadic=True, examples=(((2, 3), (3,)),))

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        return (1.0,) * len(inputs)


class SloppyMatmul:
    """Forgets to transpose b in the gradient of a: right shapes, wrong numbers."""

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return GateSpec("sloppy", 2, "a @ b", examples=(((3, 3), (3, 3)),))

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        a, b = inputs
        return a @ b

    @hookimpl
    def gate_vjp(self, inputs: Sequence[Any], output: Any, upstream: Any) -> Sequence[Any]:
        a, b = inputs
        return (upstream @ b, a.T @ upstream)


def test_a_bad_example_keeps_a_gate_from_registering() -> None:
    class Flat(BroadcastAdd):
        @hookimpl
        def gate_spec(self) -> GateSpec:
            return GateSpec("flat", 2, "a + b", examples=((2, 3),))

    with pytest.raises(gatekit.PluginError, match=r"bad gate spec: example \(2, 3\) must hold shapes"):
        gate_from_object(Flat())


def test_random_points_repeat_the_last_example_shape_for_more_variadic_inputs() -> None:
    gate = gate_from_object(BroadcastAdd())
    points = random_points(gate, 2, arity=4)
    assert [[np.shape(x) for x in point] for point in points] == [[(2, 3), (3,), (3,), (3,)]] * 2
    rows = check_gate(gate, arity=4, count=2)
    assert len(rows) == 2 * 4 * 2  # per point and input: the gradient, and forward mode against reverse
    assert all(row.ok for row in rows)


def test_random_points_take_shapes_given_over_the_examples() -> None:
    points = random_points(REGISTRY["sum"], 1, shapes=[(5,), ()])
    assert [[np.shape(x) for x in point] for point in points] == [[(5,)], [()]]
    assert type(points[1][0]) is float
    default = random_points(REGISTRY["exp"], 1)  # no examples: SHAPES
    assert [np.shape(x) for (x,) in default] == [(), (3,)]


def test_check_gate_converts_attrs_as_a_circuit_does() -> None:
    rows = check_gate("sum", attrs={"axis": np.array([0.0, 1.0])}, shapes=[(2, 3, 4)], count=1)
    assert all(row.ok for row in rows)
    with pytest.raises(gatekit.GatekitError, match="attribute 'axis' of gate 'sum': axis 0 is listed twice"):
        check_gate("sum", attrs={"axis": [0, 0]})


def test_check_gate_catches_a_wrong_vector_jacobian_product() -> None:
    with pytest.raises(GradientError) as info:
        check_gate(SloppyMatmul(), count=2)
    assert {row.position for row in info.value.failures} == {0}


def test_check_cli_checks_a_gate_at_its_examples() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", "check", "--gate", "matmul", "--points", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # 4 examples, 2 points each, 2 inputs: the gradient, forward against reverse, gate_jvp against differences
    assert done.stdout.splitlines()[-1] == "48 checks: 48 ok, 0 skipped, 0 failed"


# Circuits with gates that are not elementwise, through gatekit.loads.


def linear_layer(loss: str) -> gatekit.Circuit:
    return gatekit.loads(
        f"""
        inputs: {{x: [1.0, -2.0, 0.5], y: [0.5, 1.0]}}
        params:
          W: [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]
          b: [0.1, -0.2]
        gates:
          h: {{gate: matmul, in: [W, x]}}
          z: {{gate: add, in: [h, b]}}
          {loss}
        outputs: [loss]
        """
    )


W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
XV = np.array([1.0, -2.0, 0.5])
BIAS = np.array([0.1, -0.2])
Y = np.array([0.5, 1.0])


def test_a_linear_layer_with_a_sum_loss() -> None:
    circuit = linear_layer("loss: {gate: sum, in: [z]}")
    result = circuit.run()
    assert type(result.outputs["loss"]) is float
    assert result.outputs["loss"] == pytest.approx(float(np.sum(W @ XV + BIAS)), rel=1e-15)
    np.testing.assert_allclose(result.grads["W"], np.outer(np.ones(2), XV), rtol=1e-15)
    np.testing.assert_allclose(result.grads["x"], W.T @ np.ones(2), rtol=1e-15)
    np.testing.assert_allclose(result.grads["b"], np.ones(2), rtol=1e-15)
    assert result.grads["y"].tolist() == [0.0, 0.0]
    assert all(row.ok for row in check_circuit(circuit))


def test_a_linear_layer_with_a_squared_error_loss() -> None:
    circuit = linear_layer(
        "e: {gate: sub, in: [z, y]}\n          s: {gate: square, in: [e]}\n"
        "          loss: {gate: sum, in: [s]}"
    )
    result = circuit.run()
    error = W @ XV + BIAS - Y
    assert result.outputs["loss"] == pytest.approx(float(np.sum(error**2)), rel=1e-15)
    d_z = 2.0 * error
    np.testing.assert_allclose(result.grads["W"], np.outer(d_z, XV), rtol=1e-15)
    np.testing.assert_allclose(result.grads["x"], W.T @ d_z, rtol=1e-15)
    np.testing.assert_allclose(result.grads["b"], d_z, rtol=1e-15)
    np.testing.assert_allclose(result.grads["y"], -d_z, rtol=1e-15)
    assert all(row.ok for row in check_circuit(circuit))


def test_a_batch_through_a_linear_layer_with_a_mean_squared_loss() -> None:
    circuit = gatekit.loads(
        """
        inputs: {X: [[1.0, -2.0, 0.5], [0.0, 1.0, 2.0], [3.0, 0.5, -1.0], [-1.0, -1.0, 1.0]]}
        params: {W: [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]}
        gates:
          Wt: {gate: transpose, in: [W]}
          H: {gate: matmul, in: [X, Wt]}
          S: {gate: square, in: [H]}
          loss: {gate: mean, in: [S]}
        outputs: [loss]
        """
    )
    result = circuit.run()
    batch = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 2.0], [3.0, 0.5, -1.0], [-1.0, -1.0, 1.0]])
    h = batch @ W.T
    assert result.outputs["loss"] == pytest.approx(float(np.mean(h**2)), rel=1e-15)
    d_h = 2.0 * h / h.size
    np.testing.assert_allclose(result.grads["W"], d_h.T @ batch, rtol=1e-14)
    np.testing.assert_allclose(result.grads["X"], d_h @ W, rtol=1e-14)
    assert all(row.ok for row in check_circuit(circuit))


MEAN_OVER_BATCH = """
inputs: {X: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [-1.0, 0.5, 2.0], [0.0, 0.0, 1.0]]}
params: {w: [1.0, -1.0, 2.0]}
gates:
  m: {gate: mean, in: [X], attrs: {axis: 0}}
  loss: {gate: dot, in: [m, w]}
outputs: [loss, m]
"""


def test_mean_over_the_batch_axis() -> None:
    circuit = gatekit.loads(MEAN_OVER_BATCH)
    batch = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [-1.0, 0.5, 2.0], [0.0, 0.0, 1.0]])
    w = np.array([1.0, -1.0, 2.0])
    result = circuit.run()
    np.testing.assert_array_equal(result.outputs["m"], batch.mean(axis=0))
    assert result.outputs["loss"] == pytest.approx(float(batch.mean(axis=0) @ w), rel=1e-15)
    np.testing.assert_allclose(result.grads["X"], np.broadcast_to(w / 4, (4, 3)), rtol=1e-15)
    np.testing.assert_allclose(result.grads["w"], batch.mean(axis=0), rtol=1e-15)
    assert all(row.ok for row in check_circuit(circuit))


def test_an_array_output_of_a_mean_gets_ones_from_above() -> None:
    circuit = gatekit.loads(MEAN_OVER_BATCH.replace("outputs: [loss, m]", "outputs: [m, loss]"))
    result = circuit.run()
    assert result.grads["X"].tolist() == [[0.25] * 3] * 4
    assert result.grads["w"].tolist() == [0.0, 0.0, 0.0]


def test_an_array_output_of_a_matmul_gets_ones_from_above() -> None:
    circuit = gatekit.loads(
        """
        inputs: {x: [1.0, -2.0, 0.5]}
        params: {W: [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]}
        gates:
          h: {gate: matmul, in: [W, x]}
        outputs: [h]
        """
    )
    result = circuit.run()
    np.testing.assert_array_equal(result.outputs["h"], W @ XV)
    np.testing.assert_array_equal(result.grads["W"], np.outer(np.ones(2), XV))
    np.testing.assert_array_equal(result.grads["x"], W.T @ np.ones(2))


def test_a_scalar_circuit_through_sum_and_mean_stays_in_floats() -> None:
    circuit = gatekit.loads(
        """
        inputs: {x: 2.0}
        gates:
          s: {gate: sum, in: [x]}
          m: {gate: mean, in: [s]}
          t: {gate: transpose, in: [m]}
          y: {gate: dot, in: [t, 3]}
        outputs: [y]
        """
    )
    result = circuit.run()
    assert (type(result.outputs["y"]), result.outputs["y"]) == (float, 6.0)
    assert (type(result.grads["x"]), result.grads["x"]) == (float, 3.0)
    assert all(type(value) is float for value in result.values.values())
