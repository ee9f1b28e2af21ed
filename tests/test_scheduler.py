"""The run loops: one chain rule, applied by the scheduler alone.

The general backward loop (any shapes, an optional observer) and its inline
twin for Python floats must give the same numbers of the same types; a run
recorded for ``explain`` and ``draw`` must be the run itself. The fuzz tests
check the same on random circuits.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from exact import assert_identical, assert_traced_run_is_the_run

import gatekit
from gatekit.cli import main
from gatekit.engine import scheduler
from gatekit.engine.compiler import SINK
from gatekit.io.inputs import read_inputs

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
DATA = {
    "neuron_batch.yaml": "neuron_batch.csv",
    "linear_regression.yaml": "linear_regression.csv",
    "moons.yaml": "moons.json",
    "xor.yaml": "xor.csv",
}
EXAMPLES = sorted(path.name for path in GRAPHS.glob("*.yaml"))


def example(name: str) -> tuple[gatekit.Circuit, dict[str, Any], list[str]]:
    """An example graph, its data (if it has a data file), and the CLI arguments that give the same."""
    circuit = gatekit.load(GRAPHS / name)
    if name not in DATA:
        return circuit, {}, [str(GRAPHS / name)]
    data = GRAPHS / "data" / DATA[name]
    return circuit, read_inputs(data, circuit), [str(GRAPHS / name), "--inputs", str(data)]


def test_every_example_is_covered() -> None:
    assert {"neuron.yaml", "neuron_batch.yaml", "neuron_modules.yaml", "fanout.yaml"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_traced_run_is_the_run(name: str) -> None:
    circuit, values, _ = example(name)
    assert_traced_run_is_the_run(circuit, values)


@pytest.mark.parametrize("name", EXAMPLES)
def test_explain_json_gives_run_json_bit_for_bit(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, args = example(name)
    assert main(["run", *args, "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert main(["explain", *args, "--json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["grads"] == run["grads"]
    assert json.dumps(explained["grads"]) == json.dumps(run["grads"])  # the same digits, not only close
    outputs = {row["node"]: row["output"] for row in explained["forward"]}
    for output, value in run["outputs"].items():
        if output in outputs:  # a leaf that is an output has no forward row
            assert outputs[output] == value


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n not in DATA])
def test_the_float_loop_is_the_general_loop_on_floats(name: str) -> None:
    """``backward_floats`` is ``backward`` written out for floats: every kept gradient the same."""
    circuit = gatekit.load(GRAPHS / name)
    plan = circuit.plan
    values = plan.initial.copy()
    scheduler.forward(plan, values)
    lean = scheduler.backward_floats(plan, values)
    general = scheduler.backward(plan, values)
    for slot, grad in enumerate(general):
        if slot != SINK and grad is not None:
            assert_identical(lean[slot], grad, f"slot {slot}")


def test_a_negative_zero_gradient_keeps_its_sign() -> None:
    """-0.0 is the gradient's starting value in the float loop: adding it changes nothing."""
    circuit = gatekit.loads("inputs: {x: 1.0, w: -0.0}\ngates:\n  y: {gate: mul, in: [w, x]}\noutputs: [y]")
    grads = circuit.run().grads
    assert math.copysign(1.0, grads["x"]) == -1.0  # dy/dx = w = -0.0
    assert_traced_run_is_the_run(circuit)


def test_a_leaf_that_nothing_reaches_has_gradient_zero() -> None:
    circuit = gatekit.loads("inputs: {x: 1.0, u: 2.0}\ngates:\n  y: {gate: exp, in: [x]}\noutputs: [y]")
    for values in ({}, {"x": np.array([1.0, 2.0])}):
        grads = circuit.run(values).grads
        assert grads["u"] == 0.0 and math.copysign(1.0, grads["u"]) == 1.0
        assert type(grads["u"]) is float


def test_an_output_that_is_a_leaf_has_gradient_one() -> None:
    circuit = gatekit.loads("inputs: {x: 3.0}\noutputs: [x]")
    assert circuit.run().grads == {"x": 1.0}
    assert circuit.run({"x": np.array([1.0, 2.0])}).grads["x"].tolist() == [1.0, 1.0]


# -- the step itself ----------------------------------------------------------------


def test_a_contribution_is_local_times_upstream() -> None:
    assert scheduler.contribution(2.0, 3.0, (), ()) == 6.0
    local = np.array([1.0, 2.0])
    assert scheduler.contribution(local, 1.0, (2,), (2,)) is local  # a product by exactly 1 is not made
    assert scheduler.contribution(1.0, local, (2,), (2,)) is local
    summed = scheduler.contribution(local, np.array([3.0, 4.0]), (2,), ())  # a scalar weight: a dot product
    assert type(summed) is float and summed == 11.0
    spread = scheduler.contribution(2.0, 1.5, (3,), (3,))  # a number standing for a whole output
    assert spread.shape == (3,) and spread.tolist() == [3.0, 3.0, 3.0]


def test_accumulation_assigns_first_and_never_adds_in_place() -> None:
    first = np.array([1.0, 2.0])
    total = scheduler.accumulate(None, first)
    assert total is first
    after = scheduler.accumulate(total, np.array([1.0, 1.0]))
    assert after.tolist() == [2.0, 3.0] and first.tolist() == [1.0, 2.0]


class Log:
    """An observer that writes down what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def gate(self, step: Any, upstream: Any) -> None:
        self.calls.append(("gate", step.out, upstream))

    def wire(self, step: Any, position: int, *, local: Any, sent: Any, before: Any, after: Any) -> None:
        self.calls.append(("wire", position, local, sent, before, after))


def test_the_observer_is_told_every_step_in_run_order() -> None:
    circuit = gatekit.loads("inputs: {x: 3.0}\ngates:\n  y: {gate: mul, in: [x, x, 2]}\noutputs: [y]")
    log = Log()
    result = circuit.run(observer=log)
    assert log.calls == [
        ("gate", circuit.plan.slots["y"], 1.0),
        ("wire", 0, 6.0, 6.0, None, 6.0),  # the first contribution: nothing before it
        ("wire", 1, 6.0, 6.0, 6.0, 12.0),
        ("wire", 2, 9.0, 9.0, None, None),  # the constant's: computed for the observer, not kept
    ]
    assert result.grads["x"] == 12.0
