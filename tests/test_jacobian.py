"""Whole Jacobians: both modes give the same numbers, the cheaper one runs, and the arm's are right.

``tests/reference/jacobian_torch.json`` holds PyTorch's Jacobian of
``graphs/arm.yaml``, made by ``tests/reference/make_jacobian_reference.py``
(which needs torch; these tests do not): gatekit's must agree to 1e-12.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from test_fuzz import REGISTRY, RandomCircuit, fuzz_settings, random_circuits

import gatekit
from gatekit import PluginError, UsageError
from gatekit.engine.jacobian import Jacobian, block_name
from gatekit.io.inputs import read_inputs
from gatekit.plugin.gatespec import GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.registry import GateRegistry, plugin_manager
from gatekit.testing import check_circuit, check_jacobian

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"
ARM = GRAPHS / "arm.yaml"
REFERENCE = json.loads((ROOT / "tests" / "reference" / "jacobian_torch.json").read_text(encoding="utf-8"))
DATA = {
    "neuron_batch.yaml": "neuron_batch.csv",
    "linear_regression.yaml": "linear_regression.csv",
    "moons.yaml": "moons.json",
    "xor.yaml": "xor.csv",
}
EXAMPLES = sorted(path.name for path in GRAPHS.glob("*.yaml"))


def agree(reverse: Jacobian, forward: Jacobian, tolerance: float = 1e-12) -> None:
    """Both modes' blocks: the same names and shapes, the numbers within ``tolerance`` (relative, floor 1)."""
    assert list(reverse) == list(forward)
    for key, block in reverse.items():
        other = forward[key]
        assert block.shape == other.shape, key
        assert block.dtype == other.dtype == np.float64, key
        scale = np.maximum(1.0, np.maximum(np.abs(block), np.abs(other)))
        assert np.all(np.abs(block - other) <= tolerance * scale), key


def arm_closed_form(theta: list[float], lengths: list[float]) -> np.ndarray:
    """The manipulator Jacobian d(x, y, heading) / d theta of a two-link planar arm."""
    (t0, t1), (l0, l1) = theta, lengths
    x = l0 * math.cos(t0) + l1 * math.cos(t0 + t1)
    y = l0 * math.sin(t0) + l1 * math.sin(t0 + t1)
    return np.array([[-y, -l1 * math.sin(t0 + t1)], [x, l1 * math.cos(t0 + t1)], [1.0, 1.0]])


# -- the numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_the_arm_s_jacobian_is_the_manipulator_jacobian(mode: str) -> None:
    jacobian = gatekit.load(ARM).jacobian(wrt="theta", mode=mode)  # type: ignore[arg-type]
    np.testing.assert_allclose(jacobian.matrix(), arm_closed_form([0.5, 0.75], [1.0, 0.5]), rtol=1e-14)


def test_the_arm_s_jacobian_is_pytorch_s() -> None:
    circuit = gatekit.load(ARM)
    assert REFERENCE["values"] == {name: value.tolist() for name, value in circuit.run().leaves.items()}
    assert REFERENCE["outputs"] == dict(circuit.run().outputs)
    for mode in ("forward", "reverse"):
        jacobian = circuit.jacobian(mode=mode)  # type: ignore[arg-type]
        named = jacobian.named()
        assert list(named) == list(REFERENCE["jacobian"])
        for key, numbers in REFERENCE["jacobian"].items():
            got, want = named[key], np.array(numbers)
            assert got.shape == want.shape, key
            assert np.all(np.abs(got - want) <= 1e-12 * np.maximum(1.0, np.abs(want))), (mode, key)


def test_the_arm_s_jacobian_agrees_with_central_differences() -> None:
    rows = check_jacobian(gatekit.load(ARM))
    assert [row.where for row in rows] == [
        f"jacobian d {out} / d {leaf}"
        for leaf in ("theta", "chain", "lengths")
        for out in ("x", "y", "heading")
    ]
    assert all(row.ok and not row.note for row in rows)
    assert max(abs(row.analytic - row.numeric) for row in rows) < 1e-9


@pytest.mark.parametrize("name", EXAMPLES)
def test_both_modes_agree_on_every_example(name: str) -> None:
    circuit = gatekit.load(GRAPHS / name)
    values = read_inputs(GRAPHS / "data" / DATA[name], circuit) if name in DATA else {}
    of = circuit.outputs if name != "moons.yaml" else ["loss"]  # its data set: 600 forward passes
    agree(circuit.jacobian(values, of=of, mode="reverse"), circuit.jacobian(values, of=of, mode="forward"))


@fuzz_settings(40)
@given(drawn=random_circuits())
def test_both_modes_agree_on_random_circuits_scalar_and_array(drawn: RandomCircuit) -> None:
    circuit = gatekit.loads(drawn.yaml(), "random.yaml", registry=REGISTRY)
    values = circuit.run().values
    assume(all(math.isfinite(value) and abs(value) < 1e6 for value in values.values()))
    agree(circuit.jacobian(mode="reverse"), circuit.jacobian(mode="forward"))
    batch = {
        name: value + np.array([0.0, *offsets])
        for name, (_, value) in drawn.leaves.items()
        if (offsets := drawn.offsets[name]) is not None
    }
    agree(circuit.jacobian(batch, mode="reverse"), circuit.jacobian(batch, mode="forward"))


# -- the mode, the passes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("of", "wrt", "mode", "passes"),
    [
        (None, None, "reverse", 3),  # 3 output elements, 8 leaf elements
        (None, ["theta"], "forward", 2),  # 3 against 2
        (["x", "y"], ["theta"], "reverse", 2),  # a tie: reverse
        (["phi"], ["lengths", "theta"], "reverse", 2),  # phi has 2 elements
    ],
)
def test_auto_takes_the_mode_with_fewer_passes(of: Any, wrt: Any, mode: str, passes: int) -> None:
    jacobian = gatekit.load(ARM).jacobian(of=of, wrt=wrt)
    assert (jacobian.mode, jacobian.passes) == (mode, passes)
    assert jacobian.plan.reverse_passes == sum(math.prod(shape) for shape in jacobian.plan.of.values())
    assert jacobian.plan.forward_passes == sum(math.prod(shape) for shape in jacobian.plan.wrt.values())


class Rowsum:
    """A VJP gate without gate_jvp: forward mode cannot go through it."""

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return GateSpec("rowsum", 1, "Sum over the last axis.")

    @hookimpl
    def gate_forward(self, inputs):
        return np.sum(inputs[0], axis=-1)

    @hookimpl
    def gate_vjp(self, inputs, output, upstream):
        return (np.repeat(np.expand_dims(upstream, -1), inputs[0].shape[-1], axis=-1),)


class WrongJvp(Rowsum):
    """``rowsum`` again, with a gate_jvp that is wrong by a factor of 2."""

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return GateSpec("rowsum2", 1, "Sum over the last axis, its tangent doubled.")

    @hookimpl
    def gate_jvp(self, inputs, output, tangents):
        return 2.0 * np.sum(np.broadcast_to(tangents[0], inputs[0].shape), axis=-1)


def registry_with(*gates: object) -> GateRegistry:
    pm = plugin_manager(autoload=False)
    for gate in gates:
        pm.register(gate, name=type(gate).__name__)
    return GateRegistry.from_manager(pm)


ROWSUM = """inputs: {m: [[1.0, 2.0], [3.0, 4.0]]}
gates:
  r: {gate: GATE, in: [m]}
  t: {gate: sum, in: [r]}
outputs: [r, t]
"""


def test_auto_runs_in_reverse_where_a_tangent_would_meet_a_gate_without_jvp() -> None:
    circuit = gatekit.loads(ROWSUM.replace("GATE", "rowsum"), "rowsum.yaml", registry=registry_with(Rowsum()))
    jacobian = circuit.jacobian(of="t")  # forward would take 4 passes, reverse 1: reverse anyway
    assert jacobian.mode == "reverse"
    jacobian = circuit.jacobian(of="r", wrt="m", mode="auto")  # 2 reverse passes, 4 forward
    assert jacobian.mode == "reverse"
    assert jacobian["r", "m"].tolist() == [[[1.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 1.0]]]
    # a circuit whose outputs have more elements than its leaves
    wide = gatekit.loads(
        "inputs: {m: [[1.0, 2.0]]}\ngates:\n  r: {gate: rowsum, in: [m]}\n  e: {gate: exp, in: [m]}\n"
        "  s: {gate: sin, in: [m]}\noutputs: [r, e, s]",
        "wide.yaml",
        registry=registry_with(Rowsum()),
    )
    jacobian = wide.jacobian()
    assert jacobian.mode == "reverse"  # forward (2 passes) would meet rowsum; reverse takes 5
    assert jacobian.plan.no_jvp == "gate 'r' (rowsum, plugin 'Rowsum')"
    assert gatekit.load(ARM).jacobian().plan.no_jvp is None
    with pytest.raises(PluginError) as info:
        wide.jacobian(mode="forward")
    assert info.value.message.startswith("forward mode needs gate_jvp, which gate 'r' (rowsum")


def test_a_wrong_jvp_is_caught_by_the_jacobian_check() -> None:
    circuit = gatekit.loads(
        ROWSUM.replace("GATE", "rowsum2"), "rowsum.yaml", registry=registry_with(WrongJvp())
    )
    assert circuit.jacobian(wrt="m", of="r").mode == "reverse"  # 2 passes against 4: the vjp, right
    wide = gatekit.loads(
        "inputs: {m: [[1.0, 2.0]]}\ngates:\n  r: {gate: rowsum2, in: [m]}\n  e: {gate: exp, in: [m]}\n"
        "outputs: [e, r]",
        "wide.yaml",
        registry=registry_with(WrongJvp()),
    )
    rows = check_circuit(wide, raise_on_failure=False)
    failed = [row for row in rows if not row.ok]
    assert [(row.gate, row.where) for row in failed] == [("r", "jacobian d r / d m")]
    # d r[0] / d m[0, j] is 1; the doubled tangent says 2 (the worst element: either j)
    assert failed[0].element in ((0, 0, 0), (0, 0, 1))
    assert (failed[0].analytic, failed[0].numeric) == (2.0, pytest.approx(1.0))


# -- what may be asked ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_of_may_name_a_gate_or_a_leaf(mode: str) -> None:
    jacobian = gatekit.load(ARM).jacobian(of=["phi", "theta", "x"], wrt=["theta"], mode=mode)  # type: ignore[arg-type]
    assert jacobian["phi", "theta"].tolist() == [[1.0, 0.0], [1.0, 1.0]]  # the chain matrix
    assert jacobian["theta", "theta"].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    np.testing.assert_allclose(
        jacobian["x", "theta"], arm_closed_form([0.5, 0.75], [1.0, 0.5])[0], rtol=1e-14
    )


def test_a_name_given_twice_counts_once() -> None:
    jacobian = gatekit.load(ARM).jacobian(of=["x", "x"], wrt=["theta", "lengths", "theta"])
    assert (jacobian.of, jacobian.wrt, len(jacobian)) == (["x"], ["theta", "lengths"], 2)


def test_values_replace_the_file_s() -> None:
    circuit = gatekit.load(ARM)
    jacobian = circuit.jacobian({"theta": [0.1, -1.2], "lengths": np.array([2.0, 0.25])}, wrt="theta")
    np.testing.assert_allclose(jacobian.matrix(), arm_closed_form([0.1, -1.2], [2.0, 0.25]), rtol=1e-14)


def test_a_block_has_the_output_s_shape_then_the_leaf_s() -> None:
    circuit = gatekit.loads(
        "inputs: {x: [1.0, 2.0, 3.0]}\nparams: {w: 2.0}\ngates:\n  y: {gate: mul, in: [w, x]}\n"
        "  s: {gate: sum, in: [y]}\noutputs: [y, s]"
    )
    jacobian = circuit.jacobian()
    shapes = {key: block.shape for key, block in jacobian.items()}
    assert shapes == {("y", "x"): (3, 3), ("y", "w"): (3,), ("s", "x"): (3,), ("s", "w"): ()}
    assert type(jacobian["s", "w"]) is np.ndarray and float(jacobian["s", "w"]) == 6.0
    assert jacobian["y", "x"].tolist() == [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
    assert list(jacobian.named()) == ["d y / d x", "d y / d w", "d s / d x", "d s / d w"]
    assert block_name("f/out", "x0") == "d f/out / d x0"
    assert jacobian.matrix().tolist() == [
        [2.0, 0.0, 0.0, 1.0],
        [0.0, 2.0, 0.0, 2.0],
        [0.0, 0.0, 2.0, 3.0],
        [2.0, 2.0, 2.0, 6.0],
    ]
    assert repr(jacobian) == "<Jacobian of y, s wrt x, w: reverse, 4 passes>"
    assert repr(circuit.jacobian(of="s", wrt="w")) == "<Jacobian of s wrt w: reverse, 1 pass>"


def test_an_array_with_no_elements_gives_empty_blocks() -> None:
    circuit = gatekit.loads(
        "inputs: {x: [1.0], y: 2.0}\ngates:\n  s: {gate: sum, in: [x]}\n  q: {gate: mul, in: [x, y]}\n"
        "outputs: [s, q]"
    )
    for mode in ("forward", "reverse"):
        jacobian = circuit.jacobian({"x": np.zeros(0)}, mode=mode)  # type: ignore[arg-type]
        assert {key: block.shape for key, block in jacobian.items()} == {
            ("s", "x"): (0,),
            ("s", "y"): (),
            ("q", "x"): (0, 0),
            ("q", "y"): (0,),
        }
        assert jacobian.matrix().shape == (1, 1) and jacobian.passes == 1
    rows = check_jacobian(circuit, {"x": np.zeros(0)})
    assert [(row.where, row.note) for row in rows] == [
        ("jacobian d s / d y", ""),
        ("jacobian d q / d y", "no elements"),
    ]


# -- what may not -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"of": "z"},
            "no node named 'z' to take the Jacobian of (outputs: x, y, heading; any gate or leaf may be "
            "named)",
        ),
        (
            {"wrt": "phi"},
            "'phi' is a gate, not an input or param: a Jacobian is taken with respect to leaves (inputs and "
            "params: theta, chain, lengths)",
        ),
        (
            {"wrt": ["theta", "angle"]},
            "'angle' is no input or param: a Jacobian is taken with respect to leaves (inputs and params: "
            "theta, chain, lengths)",
        ),
        ({"of": []}, "of names nothing: leave it out for x, y, heading"),
        ({"wrt": ()}, "wrt names nothing: leave it out for theta, chain, lengths"),
        ({"mode": "sideways"}, "mode 'sideways': choose auto, forward or reverse"),
    ],
)
def test_what_cannot_be_differentiated_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as info:
        gatekit.load(ARM).jacobian(**kwargs)
    assert info.value.message == message
    assert str(info.value) == f"{ARM}: {message}"


def test_a_bad_value_is_refused_as_a_run_refuses_it() -> None:
    with pytest.raises(UsageError) as info:
        gatekit.load(ARM).jacobian({"theta": "up"})
    assert (
        info.value.message
        == "the value for 'theta' must be a number or an array of numbers, got the text 'up'"
    )


# -- the check ------------------------------------------------------------------------------


def test_check_circuit_checks_the_jacobian_of_several_outputs_only() -> None:
    several = check_circuit(gatekit.load(ARM))
    assert sum(row.where.startswith("jacobian ") for row in several) == 9
    one = check_circuit(gatekit.load(GRAPHS / "neuron.yaml"))
    assert not any(row.where.startswith("jacobian ") for row in one)


def test_the_jacobian_check_skips_kinks_and_what_is_not_finite() -> None:
    circuit = gatekit.loads(
        "inputs: {a: 0.0, b: 0.0}\ngates:\n  r: {gate: relu, in: [a]}\n  l: {gate: log, in: [b]}\n"
        "outputs: [r, l]"
    )
    rows = {row.where: row for row in check_jacobian(circuit)}
    assert rows["jacobian d r / d a"].note == "kink"
    assert rows["jacobian d l / d b"].note == "not finite"
    assert all(row.ok for row in rows.values())


def test_the_jacobian_check_samples_large_leaves() -> None:
    circuit = gatekit.loads(
        "inputs: {x: [1.0]}\ngates:\n  s: {gate: sum, in: [x]}\n  q: {gate: square, in: [x]}\noutputs: [s, q]"
    )
    rows = check_jacobian(circuit, {"x": np.linspace(-1.0, 1.0, 100)}, max_elements=5)
    assert [row.sample for row in rows] == [(5, 100), (5, 100)]
    assert all(row.ok for row in rows)
