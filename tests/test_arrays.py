"""Arrays through the same plan: broadcasting, gradient shapes, batches."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import gatekit
from gatekit.plugin.gatespec import GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.registry import GateRegistry, plugin_manager

NEURON = Path(__file__).resolve().parent.parent / "graphs" / "neuron.yaml"

PRODUCT = """
inputs: {a: 0.0, b: 0.0}
gates:
  p: {gate: mul, in: [a, b]}
  y: {gate: tanh, in: [p]}
outputs: [y]
"""

SHAPES = [
    ((), ()),
    ((), (5,)),
    ((5,), (5,)),
    ((5, 1), (5,)),
    ((5, 1), (1, 4)),
    ((1, 4), (3, 1)),
    ((2, 3, 4), (3, 1)),
]


def _value(rng: np.random.Generator, shape: tuple[int, ...]) -> float | np.ndarray:
    return float(rng.uniform(-1, 1)) if shape == () else rng.uniform(-1, 1, shape)


@pytest.mark.parametrize(("shape_a", "shape_b"), SHAPES, ids=[f"{a}x{b}" for a, b in SHAPES])
def test_each_gradient_has_its_leafs_shape_and_the_batch_sum(shape_a, shape_b) -> None:
    rng = np.random.default_rng(len(shape_a) * 10 + len(shape_b))
    a, b = _value(rng, shape_a), _value(rng, shape_b)
    result = gatekit.loads(PRODUCT).run(a=a, b=b)
    local = 1.0 - np.tanh(np.multiply(a, b)) ** 2  # dy/dp, broadcast shape
    expected_a = np.sum(np.broadcast_to(local * b, local.shape), axis=None)
    grad_a, grad_b = result.grads["a"], result.grads["b"]
    assert np.shape(grad_a) == shape_a
    assert np.shape(grad_b) == shape_b
    assert isinstance(grad_a, float) == (shape_a == ())
    # summing a leaf's gradient gives the total over every element it touched
    assert float(np.sum(grad_a)) == pytest.approx(float(expected_a), rel=1e-12)
    assert float(np.sum(grad_b)) == pytest.approx(float(np.sum(local * a)), rel=1e-12)


def test_a_column_against_a_row_gets_row_sums() -> None:
    a = np.array([[1.0], [2.0], [3.0]])  # (3, 1)
    b = np.array([[1.0, 10.0, 100.0, 1000.0]])  # (1, 4)
    result = gatekit.loads(
        "inputs: {a: 0.0, b: 0.0}\ngates:\n  p: {gate: mul, in: [a, b]}\noutputs: [p]"
    ).run(a=a, b=b)
    assert result.grads["a"].tolist() == [[1111.0], [1111.0], [1111.0]]
    assert result.grads["b"].tolist() == [[6.0, 6.0, 6.0, 6.0]]


def test_the_batch_neuron_equals_the_seed_formulas_per_sample() -> None:
    circuit = gatekit.load(NEURON)
    rng = np.random.default_rng(3)
    x0, x1 = rng.uniform(-2, 2, 1000), rng.uniform(-2, 2, 1000)
    result = circuit.run(x0=x0, x1=x1)
    w0, w1, w2 = 2.0, -3.0, -3.0
    f = 1.0 / (1.0 + np.exp(-(w0 * x0 + w1 * x1 + w2)))
    ddot = (1.0 - f) * f
    np.testing.assert_allclose(result.outputs["f"], f, rtol=1e-14)
    np.testing.assert_allclose(result.grads["x0"], w0 * ddot, rtol=1e-12)
    np.testing.assert_allclose(result.grads["x1"], w1 * ddot, rtol=1e-12)
    assert result.grads["w0"] == pytest.approx(float(np.dot(x0, ddot)), rel=1e-12)
    assert result.grads["w1"] == pytest.approx(float(np.dot(x1, ddot)), rel=1e-12)
    assert result.grads["w2"] == pytest.approx(float(ddot.sum()), rel=1e-12)


def test_the_array_path_agrees_with_the_scalar_path_gate_for_gate() -> None:
    circuit = gatekit.load(Path(__file__).resolve().parent.parent / "graphs" / "fanout.yaml")
    xs = np.array([0.5, -1.5, 2.0])
    batch = circuit.run(x=xs, y=np.full(3, 0.25))
    for i, x in enumerate(xs):
        one = circuit.run(x=float(x), y=0.25)
        assert batch.grads["x"][i] == pytest.approx(one.grads["x"], rel=1e-14)
        assert batch.values["xx"][i] == pytest.approx(one.values["xx"], rel=1e-14)
    assert batch.grads["y"].shape == (3,)


def test_gradients_never_alias_values_or_each_other() -> None:
    # y = exp(x): the gradient of x is y's value itself; d(a + b) gives a and b the same array
    circuit = gatekit.loads(
        """
        inputs: {x: [0.0, 1.0], a: [1.0, 2.0], b: [3.0, 4.0]}
        gates:
          e: {gate: exp, in: [x]}
          s: {gate: add, in: [a, b, e]}
        outputs: [s]
        """
    )
    result = circuit.run()
    grads, values = result.grads, result.values
    assert grads["x"] is not values["e"]
    np.testing.assert_array_equal(grads["x"], values["e"])
    assert grads["a"] is not grads["b"]
    grads["a"][0] = 99.0
    assert grads["b"][0] == 1.0
    assert circuit.run().grads["a"].tolist() == [1.0, 1.0]


def test_nan_and_inf_in_arrays_are_results_not_warnings() -> None:
    circuit = gatekit.loads("inputs: {x: [0.0]}\ngates:\n  y: {gate: log, in: [x]}\noutputs: [y]")
    with np.errstate(all="raise"):  # would raise if the run warned
        result = circuit.run(x=np.array([0.0, -1.0, math.inf]))
    assert result.outputs["y"][0] == -math.inf
    assert math.isnan(result.outputs["y"][1])
    assert result.grads["x"][2] == 0.0


class Total:
    """A VJP gate that needs an upstream of exactly its output's shape."""

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return GateSpec("rowsum", 1, "Sum over the last axis.")

    @hookimpl
    def gate_forward(self, inputs):
        return np.sum(inputs[0], axis=-1)

    @hookimpl
    def gate_vjp(self, inputs, output, upstream):
        assert np.shape(upstream) == np.shape(output)  # the scheduler's promise
        return (np.repeat(np.expand_dims(upstream, -1), inputs[0].shape[-1], axis=-1),)


def test_a_vjp_gate_gets_an_upstream_of_its_outputs_shape() -> None:
    pm = plugin_manager(autoload=False)
    pm.register(Total(), name="rowsum")
    registry = GateRegistry.from_manager(pm)
    text = "inputs: {m: [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]}\ngates:\n  r: {gate: rowsum, in: [m]}\n"
    text += "outputs: [r]"
    circuit = gatekit.loads(text, registry=registry)
    result = circuit.run()
    assert result.outputs["r"].tolist() == [3.0, 7.0, 11.0]
    assert result.grads["m"].tolist() == [[1.0, 1.0]] * 3
