"""The gradient check every registered gate must pass, and the gates' numerics.

Each gate's gradient is compared with central differences at seeded random
points, on Python floats and on small float64 arrays. The gate list comes from
the registry, so a gate added later is checked automatically: ``DOMAINS`` says
where to sample the gates that are not defined everywhere or have kinks, and
any other gate is sampled uniformly in [-2, 2].
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatekit
from gatekit.plugins import Gate

REGISTRY = gatekit.default_registry(autoload=False)
GATE_NAMES = list(REGISTRY)

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
}

# Attribute settings to check besides the defaults ({} is the defaults).
ATTR_CASES: dict[str, list[dict[str, Any]]] = {
    "leaky_relu": [{}, {"slope": 0.2}],
}


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


@pytest.mark.parametrize("name", GATE_NAMES)
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


@pytest.mark.parametrize("name", GATE_NAMES)
def test_floats_in_floats_out_arrays_keep_their_shape(name: str) -> None:
    gate = REGISTRY[name]
    domain = domain_of(name)
    rng = rng_for(name, "types")
    for attrs, arity in variants(gate):
        bound = gate.bind(attrs)
        forward, _, is_vjp = bound
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
            if is_vjp:  # not elementwise: the output may have any shape
                continue
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


@pytest.mark.parametrize("name", GATE_NAMES)
def test_float_and_array_paths_agree(name: str) -> None:
    gate = REGISTRY[name]
    if gate.vjp is not None:
        pytest.skip("a VJP gate is not elementwise")
    rng = rng_for(name, "agree")
    for attrs, arity in variants(gate):
        assert_paths_agree(name, attrs, domain_of(name).sample(rng, arity, (20,)))


SPECIAL = (0.0, -0.0, 0.5, -1.5, 1e3, -1e3, 1e300, -1e300, 5e-324, math.inf, -math.inf, math.nan)


@pytest.mark.parametrize("name", GATE_NAMES)
def test_float_and_array_paths_agree_at_special_values(name: str) -> None:
    """Zeros, huge and tiny values, infinities and nan: IEEE results on both paths."""
    gate = REGISTRY[name]
    if gate.vjp is not None:
        pytest.skip("a VJP gate is not elementwise")
    for attrs, arity in variants(gate):
        if arity > 3:
            continue
        points = list(itertools.product(SPECIAL, repeat=arity))
        assert_paths_agree(name, attrs, [np.array(column) for column in zip(*points, strict=True)])


@pytest.mark.parametrize("name", [name for name in GATE_NAMES if REGISTRY[name].spec.arity >= 2])
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
    assert set(DOMAINS) <= set(REGISTRY)
    assert set(ATTR_CASES) <= set(REGISTRY)
    for name, cases in ATTR_CASES.items():
        for attrs in cases:
            assert set(attrs) <= set(REGISTRY[name].spec.attrs)


# Special values, gate by gate.


def run(name: str, *inputs: Any, **attrs: Any) -> tuple[Any, list[Any]]:
    """Forward and the gradients for a unit upstream, with default attrs."""
    gate = REGISTRY[name]
    bound = gate.bind({key: attr.default for key, attr in gate.spec.attrs.items()} | attrs)
    output = bound[0](list(inputs))
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
