"""Loading, compiling and running circuits: the numbers backprop must give."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

import gatekit
from gatekit.plugin.gatespec import GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.registry import GateRegistry, plugin_manager

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"

# shared/DESIGN.md: the seed's neuron with x = [-1, -2], w = [2, -3, -3].
NEURON_F = 0.7310585786300049
NEURON_GRADS = {
    "x0": 0.3932238664829637,
    "x1": -0.5898357997244456,
    "w0": -0.19661193324148185,
    "w1": -0.3932238664829637,
    "w2": 0.19661193324148185,
}


@pytest.mark.parametrize("file", ["neuron.yaml", "neuron_sigmoid.yaml"])
def test_neuron_gives_the_seed_numbers(file: str) -> None:
    result = gatekit.load(GRAPHS / file).run()
    assert result.outputs["f"] == pytest.approx(NEURON_F, abs=1e-12)
    assert set(result.grads) == set(NEURON_GRADS)
    for name, expected in NEURON_GRADS.items():
        assert result.grads[name] == pytest.approx(expected, abs=1e-12), name


def test_neuron_values_cover_every_node() -> None:
    result = gatekit.load(GRAPHS / "neuron.yaml").run()
    assert list(result.values) == ["x0", "x1", "w0", "w1", "w2", "wx0", "wx1", "dot", "neg", "e", "den", "f"]
    assert result.values["dot"] == 1.0
    assert result.values["wx1"] == 6.0


def test_fan_out_adds_gradients() -> None:
    result = gatekit.load(GRAPHS / "fanout.yaml").run()
    assert result.grads["x"] == pytest.approx(7.0)
    assert result.grads["y"] == pytest.approx(3.0 + math.cos(1.0))


def test_routing_gates_send_the_gradient_to_one_input() -> None:
    result = gatekit.load(GRAPHS / "routing.yaml").run()
    assert result.outputs["f"] == 12.0
    assert result.grads == {"a": 0.0, "b": 4.0, "c": 3.0}


def _neuron_lines() -> tuple[list[str], list[str]]:
    lines = (GRAPHS / "neuron.yaml").read_text().splitlines()
    start = lines.index("gates:") + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith(" "))
    return lines[:start] + lines[end:], lines[start:end]


@pytest.mark.parametrize("seed", range(5))
def test_gate_order_in_the_file_does_not_matter(seed: int) -> None:
    frame, gate_lines = _neuron_lines()
    random.Random(seed).shuffle(gate_lines)
    at = frame.index("gates:") + 1
    shuffled = gatekit.loads("\n".join(frame[:at] + gate_lines + frame[at:])).run()
    reference = gatekit.load(GRAPHS / "neuron.yaml").run()
    assert shuffled.outputs == reference.outputs
    assert shuffled.grads == reference.grads
    assert {k: shuffled.values[k] for k in reference.values} == reference.values


def test_compilation_is_deterministic() -> None:
    first = gatekit.load(GRAPHS / "neuron.yaml").plan
    second = gatekit.load(GRAPHS / "neuron.yaml").plan
    assert [step.out for step in first.forward] == [step.out for step in second.forward]
    assert first.slots == second.slots


def test_overrides_replace_leaf_values() -> None:
    circuit = gatekit.load(GRAPHS / "neuron.yaml")
    result = circuit.run(x0=1, w2=0.5)
    dot = 2.0 * 1.0 + -3.0 * -2.0 + 0.5
    f = 1.0 / (1.0 + math.exp(-dot))
    assert result.outputs["f"] == pytest.approx(f, rel=1e-14)
    assert result.grads["w0"] == pytest.approx(1.0 * f * (1.0 - f), rel=1e-12)
    # the circuit keeps its own values for the next run
    assert circuit.run().outputs["f"] == pytest.approx(NEURON_F, abs=1e-12)


@pytest.mark.parametrize(
    ("value", "message"),
    [(True, "boolean"), ("abc", "number"), ([1, [2]], "number")],
)
def test_bad_override_values_are_usage_errors(value: object, message: str) -> None:
    circuit = gatekit.load(GRAPHS / "neuron.yaml")
    with pytest.raises(gatekit.UsageError, match=message):
        circuit.run(x0=value)


def test_unknown_override_names_the_known_leaves() -> None:
    circuit = gatekit.load(GRAPHS / "neuron.yaml")
    with pytest.raises(gatekit.UsageError, match=r"no input or param named 'dot' \(known: x0, x1, w0"):
        circuit.run(dot=1.0)


def test_inputs_params_outputs_and_warnings() -> None:
    circuit = gatekit.loads(
        """
        inputs: {x: 2.0}
        params: {w: 3.0, unused_param: 1.0}
        gates:
          y: {gate: mul, in: [w, x]}
          spare: {gate: exp, in: [x]}
        outputs: [y]
        """,
        file="w.yaml",
    )
    assert circuit.inputs == ["x"]
    assert circuit.params == ["w", "unused_param"]
    assert circuit.outputs == ["y"]
    [(location, message)] = circuit.warnings
    assert (location.file, location.line) == ("w.yaml", 6)
    assert "'spare' is not used" in message
    result = circuit.run()
    assert result.grads == {"x": 3.0, "w": 2.0, "unused_param": 0.0}
    assert result.values["spare"] == pytest.approx(math.exp(2.0))


def test_only_the_first_output_is_differentiated() -> None:
    result = gatekit.loads(
        """
        inputs: {x: 2.0}
        gates:
          a: {gate: square, in: [x]}
          b: {gate: mul, in: [x, 10]}
        outputs: [a, b]
        """
    ).run()
    assert result.outputs == {"a": 4.0, "b": 20.0}
    assert result.grads == {"x": 4.0}


def test_an_output_may_be_a_leaf() -> None:
    result = gatekit.loads("inputs: {x: 2.0, y: 1.0}\noutputs: [x]").run()
    assert result.outputs == {"x": 2.0}
    assert result.grads == {"x": 1.0, "y": 0.0}


def test_constants_only_gates_get_no_gradient_work() -> None:
    circuit = gatekit.loads(
        """
        inputs: {x: 2.0}
        gates:
          k: {gate: add, in: [1, 2]}
          y: {gate: mul, in: [k, x]}
        outputs: [y]
        """
    )
    assert len(circuit.plan.backward) == 1  # only y; k depends on no leaf
    result = circuit.run()
    assert result.outputs["y"] == 6.0
    assert result.grads == {"x": 3.0}


def test_constants_are_shared_slots() -> None:
    circuit = gatekit.load(GRAPHS / "neuron.yaml")
    # -1 and 1 are two constants; the plan holds each once
    assert sorted(v for v in circuit.plan.initial[len(circuit.plan.slots) + 1 :]) == [-1.0, 1.0]


def test_arrays_flow_through_the_same_plan() -> None:
    circuit = gatekit.load(GRAPHS / "neuron.yaml")
    x0 = np.array([-1.0, 0.5, 2.0])
    result = circuit.run(x0=x0)
    for i, x in enumerate(x0):
        scalar = circuit.run(x0=float(x))
        assert result.outputs["f"][i] == pytest.approx(scalar.outputs["f"], rel=1e-14)
        assert result.grads["x0"][i] == pytest.approx(scalar.grads["x0"], rel=1e-12)
    # a scalar leaf used against a batch gets the batch's summed gradient
    expected_w0 = sum(circuit.run(x0=float(x)).grads["w0"] for x in x0)
    assert isinstance(result.grads["w0"], float)
    assert result.grads["w0"] == pytest.approx(expected_w0, rel=1e-12)
    assert result.grads["x1"] == pytest.approx(sum(circuit.run(x0=float(x)).grads["x1"] for x in x0))


def test_array_leaf_gets_an_array_gradient_even_when_unreached() -> None:
    result = gatekit.loads("inputs: {x: [1.0, 2.0], y: [[1.0], [2.0]]}\noutputs: [x]").run()
    assert result.grads["x"].tolist() == [1.0, 1.0]
    assert result.grads["y"].tolist() == [[0.0], [0.0]]


# -- gates from plugins outside the built-ins ------------------------------


class Dot:
    """A vector-Jacobian gate: its gradient is not an elementwise factor."""

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return GateSpec("dot2", 2, "Dot product of two vectors.")

    @hookimpl
    def gate_forward(self, inputs):
        a, b = inputs
        return float(np.dot(a, b))

    @hookimpl
    def gate_vjp(self, inputs, upstream):
        a, b = inputs
        return (upstream * b, upstream * a)


class Shifted:
    """Declares its hook arguments in an unusual order and subset."""

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return GateSpec("shifted", 1, "a + shift", attrs={"shift": gatekit.Attr(1.0)})

    @hookimpl
    def gate_forward(self, attrs, inputs):
        return inputs[0] + attrs["shift"]

    @hookimpl
    def gate_local_grad(self, inputs):
        return (1.0,)


class Extras:
    @hookimpl
    def gatekit_register_gates(self):
        return [Dot(), Shifted()]


@pytest.fixture(scope="module")
def extra_registry() -> GateRegistry:
    pm = plugin_manager(autoload=False)
    pm.register(Extras(), name="extras")
    return GateRegistry.from_manager(pm)


def test_vjp_gate_gets_the_upstream_gradient(extra_registry: GateRegistry) -> None:
    circuit = gatekit.loads(
        """
        inputs: {a: [1.0, 2.0, 3.0]}
        params: {b: [4.0, 5.0, 6.0]}
        gates:
          d: {gate: dot2, in: [a, b]}
          y: {gate: mul, in: [d, 2]}
        outputs: [y]
        """,
        registry=extra_registry,
    )
    result = circuit.run()
    assert result.outputs["y"] == 64.0
    assert result.grads["a"].tolist() == [8.0, 10.0, 12.0]
    assert result.grads["b"].tolist() == [2.0, 4.0, 6.0]


def test_hooks_with_other_argument_orders_are_adapted(extra_registry: GateRegistry) -> None:
    circuit = gatekit.loads(
        """
        inputs: {x: 2.0}
        gates:
          y: {gate: shifted, in: [x], attrs: {shift: 0.5}}
          z: {gate: shifted, in: [y]}
        outputs: [z]
        """,
        registry=extra_registry,
    )
    result = circuit.run()
    assert result.outputs["z"] == 3.5
    assert result.grads["x"] == 1.0


def test_registry_reports_where_gates_come_from(extra_registry: GateRegistry) -> None:
    assert extra_registry["dot2"].plugin == "extras:dot2"
    assert extra_registry["mul"].plugin == "gatekit.gates.arithmetic:mul"
    assert extra_registry["mul"].distribution.startswith("gatekit")


def test_a_blocked_builtin_plugin_takes_its_gates_away() -> None:
    registry = gatekit.default_registry(blocked=("gatekit.gates.activations",), autoload=False)
    assert "sigmoid" not in registry
    assert "exp" in registry
    with pytest.raises(gatekit.GraphError, match="unknown gate 'sigmoid'"):
        gatekit.load(GRAPHS / "neuron_sigmoid.yaml", registry=registry)


# -- scale ------------------------------------------------------------------


def _chain(n: int) -> str:
    lines = ["inputs: {x: 0.5}", "gates:", "  g0: {gate: sin, in: [x]}"]
    lines += [f"  g{i}: {{gate: sin, in: [g{i - 1}]}}" for i in range(1, n)]
    lines.append(f"outputs: [g{n - 1}]")
    return "\n".join(lines)


def _chain_expected(n: int) -> tuple[float, float]:
    value, grad = 0.5, 1.0
    for _ in range(n):
        grad *= math.cos(value)
        value = math.sin(value)
    return value, grad


def test_a_long_chain_runs_without_recursion() -> None:
    n = 20_000  # far past Python's recursion limit
    result = gatekit.loads(_chain(n)).run()
    value, grad = _chain_expected(n)
    assert result.outputs[f"g{n - 1}"] == pytest.approx(value, rel=1e-12)
    assert result.grads["x"] == pytest.approx(grad, rel=1e-9)


@pytest.mark.slow
def test_a_million_gate_chain_runs() -> None:
    n = 1_000_000
    result = gatekit.loads(_chain(n)).run()
    value, grad = _chain_expected(n)
    assert result.outputs[f"g{n - 1}"] == pytest.approx(value, rel=1e-9)
    assert result.grads["x"] == pytest.approx(grad, rel=1e-6)
