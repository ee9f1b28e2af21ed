"""Batched scalar runs: the same numbers as gate by gate, the same guards, and the plugins' faults named.

The batched loops (``gatekit.engine.scheduler.forward_batched`` and
``backward_batched``) may differ from the per-gate loops only in the order in
which a fanned-out wire's contributions are added and in the last bit of
NumPy's ``exp`` against ``math.exp``: every value and gradient must agree to
1e-12 relative, on every example graph and on random circuits, with groups
forced down to one gate so that small circuits exercise every path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from test_fuzz import REGISTRY, RandomCircuit, fuzz_settings, random_circuits

import gatekit
from gatekit import GateSpec, RunError
from gatekit.engine.batching import MIN_GROUP, BackGroup, Group, batch, groups_of
from gatekit.plugin.base import SpecGate
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.registry import GateRegistry, plugin_manager

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
SCALAR_EXAMPLES = sorted(path.name for path in GRAPHS.glob("*.yaml") if not gatekit.load(path)._array_leaves)
RTOL = 1e-12


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= RTOL * max(abs(a), abs(b))


def assert_same_run(reference: gatekit.Result, batched: gatekit.Result, scale: float = 0.0) -> None:
    """Every value and gradient the same to :data:`RTOL`, of itself or of ``scale``."""
    for name, value in reference.values.items():
        assert type(batched.values[name]) is float, name
        assert close(value, batched.values[name]), (name, value, batched.values[name])
    for name, grad in reference.grads.items():
        assert type(batched.grads[name]) is float, name
        within = abs(grad - batched.grads[name]) <= RTOL * scale
        assert within or close(grad, batched.grads[name]), (name, grad, batched.grads[name])
    assert batched.outputs == {name: batched.values[name] for name in reference.outputs}


def forced(circuit: gatekit.Circuit, min_group: int = 1) -> gatekit.Circuit:
    circuit.batched = batch(circuit.plan, force=True, min_group=min_group)
    return circuit


def mlp(width: int, inputs: int = 8) -> str:
    """A scalar MLP written gate by gate: ``inputs`` -> ``width`` tanh -> 1, squared."""
    lines = ["inputs:"] + [f"  x{i}: {0.1 * (i % 7) - 0.3!r}" for i in range(inputs)]
    lines.append("params:")
    for j in range(width):
        lines += [f"  w{j}_{i}: {math.sin(j * inputs + i)!r}" for i in range(inputs)]
        lines += [f"  b{j}: {0.01 * j!r}", f"  v{j}: {math.cos(j)!r}"]
    lines.append("gates:")
    for j in range(width):
        lines += [f"  p{j}_{i}: {{gate: mul, in: [w{j}_{i}, x{i}]}}" for i in range(inputs)]
        products = ", ".join(f"p{j}_{i}" for i in range(inputs))
        lines.append(f"  s{j}: {{gate: add, in: [b{j}, {products}]}}")
        lines.append(f"  h{j}: {{gate: tanh, in: [s{j}]}}")
        lines.append(f"  o{j}: {{gate: mul, in: [v{j}, h{j}]}}")
    lines.append(f"  score: {{gate: add, in: [{', '.join(f'o{j}' for j in range(width))}]}}")
    lines.append("  loss: {gate: square, in: [score]}")
    lines.append("outputs: [loss, score]")
    return "\n".join(lines) + "\n"


# -- the same numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("min_group", [1, 2])
@pytest.mark.parametrize("name", SCALAR_EXAMPLES)
def test_every_scalar_example_runs_batched_to_the_same_numbers(name: str, min_group: int) -> None:
    circuit = gatekit.load(GRAPHS / name)
    reference = circuit.run(batching=False)
    forced(circuit, min_group)
    assert_same_run(reference, circuit.run())  # guarded: the first run
    assert_same_run(reference, circuit.run())  # bare
    assert_same_run(reference, circuit.run(check_finite=True))


def test_the_examples_are_covered() -> None:
    assert {"neuron.yaml", "fanout.yaml", "mlp_silu.yaml", "routing.yaml"} <= set(SCALAR_EXAMPLES)


@fuzz_settings(150)
@given(drawn=random_circuits())
def test_a_random_circuit_runs_batched_to_the_same_numbers(drawn: RandomCircuit) -> None:
    circuit = gatekit.loads(drawn.yaml(), "random.yaml", registry=REGISTRY)
    reference = circuit.run(batching=False)
    for min_group in (1, 2):
        forced(circuit, min_group)
        assert_same_run(reference, circuit.run(guard=True))
        assert_same_run(reference, circuit.run())


def test_an_mlp_is_batched_by_itself_and_runs_deterministically() -> None:
    circuit = gatekit.loads(mlp(64))
    batched = circuit.batched
    assert batched is not None
    assert batched.batched_gates == len(circuit.plan.forward) - 2  # all but the score's add and the loss
    # by depth: the products, the sums, tanh, the output products; then the two lone gates
    assert [len(item.members) for item in batched.forward if isinstance(item, Group)] == [512, 64, 64, 64]
    reference = circuit.run(batching=False)
    first, second = circuit.run(), circuit.run()
    assert_same_run(reference, first)
    assert list(first.values.values()) == list(second.values.values())  # bit for bit, run after run
    assert list(first.grads.values()) == list(second.grads.values())
    # An input's gradient here is a sum of 64 terms that nearly cancel: NumPy's tanh and math.tanh
    # may differ in a term's last bit, which is 1e-12 of the sum's terms, not of the sum.
    moved = circuit.run({"x3": 0.7}, w0_0=-1.0)
    reference = circuit.run({"x3": 0.7}, w0_0=-1.0, batching=False)
    assert_same_run(reference, moved, scale=max(abs(grad) for grad in reference.grads.values()))


def test_a_chain_and_a_small_circuit_run_gate_by_gate() -> None:
    chain = ["inputs: {x: 0.5}", "gates:", "  g0: {gate: sin, in: [x]}"]
    chain += [f"  g{i}: {{gate: sin, in: [g{i - 1}]}}" for i in range(1, 2000)]
    chain.append("outputs: [g1999]")
    for circuit in (gatekit.loads("\n".join(chain)), gatekit.load(GRAPHS / "neuron.yaml")):
        assert circuit.batched is None
        result = circuit.run()
        assert result.grads == circuit.run(batching=False).grads  # the per-gate loops, bit for bit


def test_groups_are_by_depth_gate_attrs_and_input_count() -> None:
    circuit = gatekit.loads(
        """\
        inputs: {a: 1.0, b: 2.0}
        gates:
          p: {gate: mul, in: [a, b]}
          q: {gate: mul, in: [b, b]}
          r: {gate: mul, in: [a, b, a]}
          s: {gate: leaky_relu, in: [a], attrs: {slope: 0.2}}
          t: {gate: leaky_relu, in: [b], attrs: {slope: 0.3}}
          u: {gate: leaky_relu, in: [b], attrs: {slope: 0.2}}
          v: {gate: sum, in: [a]}
          w: {gate: sum, in: [b]}
          y: {gate: add, in: [p, q, r, s, t, u, v, w]}
        outputs: [y]
        """.replace("        ", "")
    )
    names = [[circuit.plan.gates[step.out].name for step in group] for group in groups_of(circuit.plan)]
    assert names == [["p", "q"], ["r"], ["s", "u"], ["t"], ["v"], ["w"], ["y"]]  # sum is a VJP gate


def test_min_group_leaves_small_groups_to_run_alone() -> None:
    circuit = gatekit.loads(mlp(MIN_GROUP - 1, inputs=2))
    batched = batch(circuit.plan, force=True)
    assert batched is not None
    sizes = [len(item.members) for item in batched.forward if isinstance(item, Group)]
    assert sizes == [2 * (MIN_GROUP - 1)]  # the products; the rest are too few and run alone
    assert_same_run(circuit.run(batching=False), forced(circuit, MIN_GROUP).run())


def test_a_wire_that_fans_out_within_a_group_gets_every_contribution() -> None:
    circuit = forced(
        gatekit.loads(
            "inputs: {x: 3.0}\ngates:\n  a: {gate: mul, in: [x, x]}\n  b: {gate: mul, in: [x, 2.0]}\n"
            "  c: {gate: mul, in: [x, x]}\n  y: {gate: add, in: [a, b, c]}\noutputs: [y]\n"
        )
    )
    backward = [item for item in circuit.batched.backward if isinstance(item, BackGroup)]  # type: ignore[union-attr]
    assert len(backward[-1].members) == 3  # a, b, c: x reaches it five times
    assert circuit.run().grads == {"x": 2 * 3.0 + 2.0 + 2 * 3.0}


# -- guards and faults --------------------------------------------------------------------------------


class Halve(SpecGate):
    """An elementwise gate whose behaviour a test chooses: what it does on arrays, or for one value."""

    spec = GateSpec("halve", 1, "a / 2", elementwise=True)
    on_arrays: str = ""  # "float32", "raise", "shape", "grads"
    fail_at: float | None = None  # raise ValueError for this input value, one by one too
    nan_at: float | None = None  # give nan for this input value

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        (a,) = inputs
        if isinstance(a, np.ndarray):
            if self.on_arrays == "float32":
                return (a / 2).astype(np.float32)
            if self.on_arrays == "raise":
                raise TypeError("only floats, please")
            if self.on_arrays == "shape":
                return np.zeros(len(a) + 1)
        if self.fail_at is not None and np.any(np.asarray(a) == self.fail_at):
            raise ValueError(f"cannot halve {self.fail_at}")
        if self.nan_at is not None:
            return (
                np.where(np.asarray(a) == self.nan_at, np.nan, a / 2)
                if isinstance(a, np.ndarray)
                else (math.nan if a == self.nan_at else a / 2)
            )
        return a / 2

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        if self.on_arrays == "grads" and isinstance(inputs[0], np.ndarray):
            return (0.5, 0.5)
        return (0.5,)


class Pair(SpecGate):
    """A VJP gate that makes an array from a number: a circuit that uses it is not a scalar one."""

    spec = GateSpec("pair", 1, "[a, a]")

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        return np.array([inputs[0], inputs[0]])

    @hookimpl
    def gate_vjp(self, inputs: Sequence[Any], output: Any, upstream: Any) -> Sequence[Any]:
        return (float(np.sum(upstream)),)


def halving(gate: Halve, count: int = 5, tail: str = "") -> gatekit.Circuit:
    leaves = ", ".join(f"x{i}: {float(i)}" for i in range(count))
    gates = "".join(f"  h{i}: {{gate: halve, in: [x{i}]}}\n" for i in range(count))
    total = ", ".join(f"h{i}" for i in range(count))
    pm = plugin_manager(autoload=False)
    pm.register(gate, name="halve")
    pm.register(Pair(), name="pair")
    registry = GateRegistry.from_manager(pm)
    text = f"inputs: {{{leaves}}}\ngates:\n{gates}  y: {{gate: add, in: [{total}]}}\n{tail}outputs: [y]\n"
    return forced(gatekit.loads(text, "halve.yaml", registry=registry))


def failure(circuit: gatekit.Circuit, **run: Any) -> RunError:
    with pytest.raises(RunError) as info:
        circuit.run(**run)
    return info.value


PLUGIN = "plugin 'halve'"


@pytest.mark.parametrize(
    ("on_arrays", "problem"),
    [
        ("float32", "returned an array of dtype float32 from gate_forward"),
        ("raise", "failed (TypeError: only floats, please) from gate_forward"),
        ("shape", "returned an array of shape (6,) from gate_forward"),
        ("grads", "returned 2 gradient(s) for 1 input(s) from gate_local_grad"),
    ],
)
def test_a_gate_that_misbehaves_only_on_arrays_is_named_on_the_first_run(
    on_arrays: str, problem: str
) -> None:
    gate = Halve()
    gate.on_arrays = on_arrays
    err = failure(halving(gate))
    assert err.node == "h0"
    assert err.message == (
        f"gate 'h0' (halve, {PLUGIN}) {problem} called on 5 uses at once (its spec says it is elementwise), "
        "though one by one they do not"
    )
    assert str(err).startswith("halve.yaml:3:3: ")


def test_a_gate_that_fails_for_one_value_is_named_by_its_own_call() -> None:
    gate = Halve()
    gate.fail_at = 3.0
    err = failure(halving(gate))  # guarded
    assert err.message == f"gate 'h3' (halve, {PLUGIN}) failed in gate_forward: ValueError: cannot halve 3.0"
    gate.fail_at = None
    circuit = halving(gate)
    circuit.run()
    gate.fail_at = 2.0  # a later, bare run
    err = failure(circuit)
    assert err.message == f"gate 'h2' (halve, {PLUGIN}) failed in gate_forward: ValueError: cannot halve 2.0"
    assert err.node == "h2"


def test_a_gate_that_fails_only_batched_on_a_bare_run_is_named_with_the_count() -> None:
    gate = Halve()
    circuit = halving(gate)
    circuit.run()
    gate.on_arrays = "raise"
    err = failure(circuit)
    assert err.message == (
        f"gate 'h0' (halve, {PLUGIN}) failed in gate_forward: TypeError: only floats, please (on 5 uses at "
        "once; its spec says it is elementwise, yet one by one they do not fail)"
    )


def test_check_finite_names_the_gate_that_made_nan() -> None:
    gate = Halve()
    gate.nan_at = 4.0
    circuit = halving(gate)
    circuit.run()  # nan is a result, not an error
    err = failure(circuit, check_finite=True)
    assert err.message == f"gate 'h4' (halve, {PLUGIN}) produced nan in the forward pass, from inputs (4.0)"


def test_a_gate_that_makes_arrays_sends_the_circuit_back_to_the_per_gate_loops() -> None:
    circuit = halving(Halve(), tail="  z: {gate: pair, in: [y]}\n")
    assert circuit.batched is not None
    result = circuit.run()  # the guarded run finds the array, and runs gate by gate instead
    assert circuit.batched is None
    assert result.values["z"].tolist() == [5.0, 5.0]
    assert result.grads == circuit.run(batching=False).grads


def test_an_elementwise_flag_must_be_a_boolean() -> None:
    assert (
        "elementwise must be True or False, got 'yes'" in GateSpec("g", 1, "a", elementwise="yes").problems()
    )  # type: ignore[arg-type]


class Running(SpecGate):
    """Says it is elementwise, yet each element of its output reads the ones before it."""

    spec = GateSpec("running", 1, "a running sum", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        (a,) = inputs
        return np.cumsum(a) if isinstance(a, np.ndarray) else a

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        return (1.0,)


def test_check_gate_catches_a_gate_that_is_not_elementwise_as_it_says() -> None:
    from gatekit.testing import GradientError, check_gate

    rows = check_gate(Halve(), count=3)
    assert {row.where for row in rows if row.where.startswith("batched")} == {
        "batched output",
        "batched local gradient 0",
    }
    with pytest.raises(GradientError) as info:
        check_gate(Running(), shapes=[()], count=3)
    text = str(info.value)
    assert "gate 'running', batched output, input 0[" in text
    assert "(a batched call differs from the same numbers one by one)" in text
