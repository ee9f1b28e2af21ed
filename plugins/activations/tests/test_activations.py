"""The gates of gatekit-activations: gradient checks, known values, stability, both value paths."""

from __future__ import annotations

import importlib.metadata
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gatekit
from gatekit.plugin.registry import GateRegistry, gate_from_object
from gatekit.testing import GradientCheck, check_circuit, check_gate
from gatekit_activations import (
    SELU_ALPHA,
    SELU_SCALE,
    Elu,
    Gelu,
    HardTanh,
    Mish,
    Selu,
    Silu,
    Softsign,
    gatekit_register_gates,
)

DISTRIBUTION = "gatekit-activations"
GATES = gatekit_register_gates()
NAMES = [gate.spec.name for gate in GATES]
SHAPES = ((), (3,), (2, 3))  # () is a Python float
SEEDS = (0, 1, 2)
ATTR_VARIANTS = [
    (Elu(), {"alpha": 0.5}),
    (Elu(), {"alpha": 2.0}),
    (HardTanh(), {"low": -0.5, "high": 2.0}),
    (HardTanh(), {"low": 0.0, "high": 0.25}),
]
MLP = Path(__file__).resolve().parents[3] / "graphs" / "mlp_silu.yaml"


def _version() -> str | None:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


@pytest.fixture(scope="module")
def registry() -> GateRegistry:
    """The installed gates, entry points included (whatever the environment says)."""
    if _version() is None:
        pytest.skip(f"{DISTRIBUTION} is not installed (pip install -e plugins/activations)")
    return gatekit.default_registry(autoload=True)


@pytest.fixture
def strict() -> Iterator[None]:
    """Turn every warning into an error, NumPy's floating-point ones included."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def evaluate(gate: object, x: Any, **attrs: float) -> tuple[Any, Any]:
    """The gate's output and local gradient at ``x``, called as the scheduler calls them."""
    entry = gate_from_object(gate)
    full = {key: attr.default for key, attr in entry.spec.attrs.items()} | attrs
    forward, backward, is_vjp = entry.bind(full)
    assert not is_vjp
    output = forward((x,))
    (grad,) = backward((x,), output)
    return output, grad


# -- gradient checks ---------------------------------------------------------------------------------


def points(rows: list[GradientCheck]) -> list[GradientCheck]:
    """The rows of the gradient check at points (not of the batched call check that follows them)."""
    return [row for row in rows if row.where.startswith("point")]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("gate", GATES, ids=NAMES)
def test_gate_object_passes_the_gradient_check(gate: object, seed: int) -> None:
    rows = check_gate(gate, count=8, shapes=SHAPES, seed=seed)
    assert len(points(rows)) == 8 * len(SHAPES)
    assert sum(not row.skipped for row in rows) >= len(rows) // 2


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("gate", "attrs"), ATTR_VARIANTS, ids=str)
def test_attribute_variants_pass_the_gradient_check(gate: object, attrs: dict[str, float], seed: int) -> None:
    rows = check_gate(gate, attrs=attrs, count=8, shapes=SHAPES, seed=seed)
    assert len(points(rows)) == 8 * len(SHAPES)


@pytest.mark.parametrize("count", [1, 5, 20])
@pytest.mark.parametrize("name", NAMES)
def test_installed_gate_passes_the_gradient_check(registry: GateRegistry, name: str, count: int) -> None:
    rows = check_gate(name, count=count, shapes=SHAPES, seed=count, registry=registry)
    assert len(points(rows)) == count * len(SHAPES)
    assert any(row.where == "batched output" for row in rows)  # an elementwise gate: checked on vectors too


def test_installed_gate_with_attributes_passes_the_gradient_check(registry: GateRegistry) -> None:
    check_gate("elu", attrs={"alpha": 0.5}, count=10, registry=registry)
    check_gate("hard_tanh", attrs={"low": -0.5, "high": 2.0}, count=10, registry=registry)


def test_gradient_check_at_chosen_points() -> None:
    points = [(x,) for x in (-2.5, -0.3, 0.7, 2.5)] + [(np.linspace(-2.9, 2.9, 7),)]
    for gate in GATES:
        check_gate(gate, points)


# -- the registry --------------------------------------------------------------------------------------


def test_default_registry_lists_the_gates_with_their_distribution(registry: GateRegistry) -> None:
    for name in NAMES:
        gate = registry[name]
        assert gate.distribution.startswith(DISTRIBUTION)
        assert gate.distribution == f"{DISTRIBUTION} {_version()}"
        assert gate.plugin == f"activations:{name}"
        assert gate.autoloaded


def test_the_gates_are_absent_without_autoload_or_when_blocked(registry: GateRegistry) -> None:
    for found in (
        gatekit.default_registry(autoload=False),
        gatekit.default_registry(blocked=("activations",), autoload=True),
    ):
        assert not set(NAMES) & set(found)
        assert "sigmoid" in found


def test_hooks_take_the_direct_call_path() -> None:
    """Each hook declares exactly the spec's arguments (``attrs`` only when used): no adapter."""
    for gate in GATES:
        entry = gate_from_object(gate)
        extra = ("attrs",) if entry.spec.attrs else ()
        assert entry.forward.argnames == ("inputs", *extra), entry.name
        assert entry.local_grad is not None
        assert entry.local_grad.argnames == ("inputs", "output", *extra), entry.name


# -- values at known points ----------------------------------------------------------------------------


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_gelu_values() -> None:
    assert evaluate(Gelu(), 0.0) == (0.0, 0.5)
    c = math.sqrt(2.0 / math.pi)
    expected = 0.5 * (1.0 + math.tanh(c * (1.0 + 0.044715)))
    assert evaluate(Gelu(), 1.0)[0] == pytest.approx(expected, rel=1e-15)
    # the tanh approximation, not the exact x * Phi(x) (which is 0.8413447460685429 at 1)
    exact = 0.5 * (1.0 + math.erf(1.0 / math.sqrt(2.0)))
    assert abs(evaluate(Gelu(), 1.0)[0] - exact) == pytest.approx(1.5275546e-4, rel=1e-4)
    assert evaluate(Gelu(), -1.0)[0] == pytest.approx(-(1.0 - expected), rel=1e-14)  # gelu(-a) = gelu(a) - a


def test_silu_values() -> None:
    assert evaluate(Silu(), 0.0) == (0.0, 0.5)
    y, g = evaluate(Silu(), 1.0)
    assert y == pytest.approx(1.0 * sigmoid(1.0), rel=1e-15)
    assert g == pytest.approx(sigmoid(1.0) * (1.0 + 1.0 * (1.0 - sigmoid(1.0))), rel=1e-15)


def test_elu_values() -> None:
    assert evaluate(Elu(), 2.0) == (2.0, 1.0)
    y, g = evaluate(Elu(), -1.0)
    assert y == pytest.approx(math.exp(-1.0) - 1.0, rel=1e-15)
    assert g == pytest.approx(math.exp(-1.0), rel=1e-15)
    y, g = evaluate(Elu(), -1.0, alpha=0.5)
    assert y == pytest.approx(0.5 * (math.exp(-1.0) - 1.0), rel=1e-15)
    assert g == pytest.approx(0.5 * math.exp(-1.0), rel=1e-15)
    assert evaluate(Elu(), -1e-20, alpha=0.5)[0] == pytest.approx(-0.5e-20, rel=1e-12)  # expm1, not exp - 1


def test_selu_values() -> None:
    assert SELU_ALPHA == 1.6732632423543772
    assert SELU_SCALE == 1.0507009873554805
    assert evaluate(Selu(), 1.0) == (SELU_SCALE, SELU_SCALE)
    assert evaluate(Selu(), -1e3)[0] == pytest.approx(-SELU_SCALE * SELU_ALPHA, rel=1e-15)
    y, g = evaluate(Selu(), -1.0)
    assert y == pytest.approx(SELU_SCALE * SELU_ALPHA * (math.exp(-1.0) - 1.0), rel=1e-15)
    assert g == pytest.approx(SELU_SCALE * SELU_ALPHA * math.exp(-1.0), rel=1e-15)


def test_softsign_values() -> None:
    assert evaluate(Softsign(), 1.0) == (0.5, 0.25)
    assert evaluate(Softsign(), -3.0) == (-0.75, 1.0 / 16.0)
    assert evaluate(Softsign(), 0.0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("x", "attrs", "expected"),
    [
        (-2.0, {}, (-1.0, 0.0)),
        (0.3, {}, (0.3, 1.0)),
        (5.0, {}, (1.0, 0.0)),
        (1.0, {}, (1.0, 0.0)),  # at a bound: clipped, gradient 0 (1 only strictly inside)
        (-1.0, {}, (-1.0, 0.0)),
        (-1.0, {"low": -0.5, "high": 2.0}, (-0.5, 0.0)),
        (3.0, {"low": -0.5, "high": 2.0}, (2.0, 0.0)),
        (1.5, {"low": -0.5, "high": 2.0}, (1.5, 1.0)),
    ],
)
def test_hard_tanh_clips(x: float, attrs: dict[str, float], expected: tuple[float, float]) -> None:
    assert evaluate(HardTanh(), x, **attrs) == expected
    y, g = evaluate(HardTanh(), np.array([x]), **attrs)
    assert (float(y[0]), float(g[0])) == expected


def test_mish_values() -> None:
    assert evaluate(Mish(), 0.0) == (0.0, pytest.approx(0.6, rel=1e-15))
    y, _ = evaluate(Mish(), 1.0)
    assert y == pytest.approx(math.tanh(math.log1p(math.e)), rel=1e-15)


# -- stability and the two value paths ------------------------------------------------------------------

LARGE = (1e3, 1e300)
# The limits as a -> +large: (output / a, gradient); as a -> -large: (output, gradient).
LIMITS = {
    "gelu": ((1.0, 1.0), (0.0, 0.0)),
    "silu": ((1.0, 1.0), (0.0, 0.0)),
    "elu": ((1.0, 1.0), (-1.0, 0.0)),
    "selu": ((SELU_SCALE, SELU_SCALE), (-SELU_SCALE * SELU_ALPHA, 0.0)),
    "softsign": ((None, 0.0), (-1.0, 0.0)),
    "hard_tanh": ((None, 0.0), (-1.0, 0.0)),
    "mish": ((1.0, 1.0), (0.0, 0.0)),
}


@pytest.mark.usefixtures("strict")
@pytest.mark.parametrize("size", LARGE)
@pytest.mark.parametrize("gate", GATES, ids=NAMES)
def test_large_inputs_give_finite_limits_without_warnings(gate: Any, size: float) -> None:
    (ratio, slope), (low, low_slope) = LIMITS[gate.spec.name]
    for x in (size, np.array([size, size])):
        y, g = evaluate(gate, x)
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))
        if ratio is not None:
            assert y / size == pytest.approx(ratio, rel=1e-12)
        assert g == pytest.approx(slope, abs=1e-5)
    for x in (-size, np.array([-size, -size])):
        y, g = evaluate(gate, x)
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))
        assert y == pytest.approx(low, abs=1.0 / size)  # softsign is the slowest: 1 / (1 + |a|) away
        assert g == pytest.approx(low_slope, abs=1e-5)


GRID = np.concatenate([np.linspace(-8.0, 8.0, 65), [-1e3, -30.0, -1e-9, 0.0, 1e-9, 30.0, 1e3, -1e300, 1e300]])
NON_FINITE = np.array([-math.inf, math.inf, math.nan])


@pytest.mark.parametrize(("gate", "attrs"), [(gate, {}) for gate in GATES] + ATTR_VARIANTS, ids=str)
def test_float_path_and_array_path_agree(gate: Any, attrs: dict[str, float]) -> None:
    on_floats = [evaluate(gate, float(x), **attrs) for x in GRID]
    for y, g in on_floats:
        assert type(y) is float and type(g) is float  # the math route keeps Python floats
    y_array, g_array = evaluate(gate, GRID, **attrs)
    assert isinstance(y_array, np.ndarray) and y_array.shape == GRID.shape
    np.testing.assert_allclose([y for y, _ in on_floats], y_array, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose([g for _, g in on_floats], g_array, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("gate", GATES, ids=NAMES)
def test_non_finite_inputs_give_ieee_results_not_exceptions(gate: Any) -> None:
    on_floats = [evaluate(gate, float(x)) for x in NON_FINITE]
    with np.errstate(all="ignore"):  # NumPy warns about inf * 0, as it does in gatekit's own gates
        y_array, g_array = evaluate(gate, NON_FINITE)
    np.testing.assert_array_equal([y for y, _ in on_floats], y_array)
    np.testing.assert_array_equal([g for _, g in on_floats], g_array)
    assert math.isnan(on_floats[2][0])  # nan in, nan out


# -- a circuit that uses them ---------------------------------------------------------------------------


def test_the_mlp_circuit_runs_and_its_gradients_check(registry: GateRegistry) -> None:
    if not MLP.is_file():
        pytest.skip("graphs/mlp_silu.yaml is not next to this checkout")
    circuit = gatekit.load(MLP, registry=registry)
    result = circuit.run()
    v = result.values

    def silu(z: float) -> float:
        return z * sigmoid(z)

    hidden = [silu(v[f"w{j}0"] * v["x0"] + v[f"w{j}1"] * v["x1"] + v[f"b{j}"]) for j in range(3)]
    s = sum(v[f"v{j}"] * hidden[j] for j in range(3)) + v["c"]
    y = 0.5 * s * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (s + 0.044715 * s**3)))
    assert result.outputs["y"] == pytest.approx(y, rel=1e-14)
    assert result.outputs["loss"] == pytest.approx((y - v["target"]) ** 2, rel=1e-13)
    assert result.grads["target"] == pytest.approx(-2.0 * (y - v["target"]), rel=1e-13)
    rows = check_circuit(circuit)
    assert not any(row.skipped for row in rows)
