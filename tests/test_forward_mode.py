"""Forward mode: tangents from the same local gradients, agreeing with backprop everywhere.

- The seed's neuron: the forward run with tangent 1 on ``x0`` gives the
  backward run's ``df/dx0``.
- Forward and reverse agree, ``u . (J v) == (J^T u) . v`` for random ``u``
  and ``v``, on every example graph (with its data) and on random circuits,
  scalar and array.
- ``explain --tangent`` writes the forward-mode pass, its numbers the run's.
- ``--of`` and ``--seed-grad`` for ``explain``, ``draw`` and ``check``.
- Every built-in gate passes ``check_gate``'s forward-mode rows; a plugin's
  elementwise gate gets them for nothing, a VJP gate without ``gate_jvp``
  a skipped row.
- Every error of forward mode and of choosing the gradient, with its text.
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from test_fuzz import REGISTRY, RandomCircuit, fuzz_settings, random_circuits
from test_scheduler import EXAMPLES, example

import gatekit
from gatekit.cli import main
from gatekit.engine.guards import checked_tangent
from gatekit.errors import PluginError, RunError, UsageError
from gatekit.io.inputs import read_array
from gatekit.testing import NO_JVP, check_circuit, check_gate
from gatekit.views.explain import explain_json, explain_lines
from gatekit.views.player import player_data
from gatekit.views.text import significant
from gatekit.views.trace import trace

ROOT = Path(__file__).resolve().parent.parent
NEURON = str(ROOT / "graphs" / "neuron.yaml")
NEURON_MODULES = str(ROOT / "graphs" / "neuron_modules.yaml")
DX0 = 0.39322386648296376  # the backward run's df/dx0, and the forward run's with tangent 1 on x0
#: How close u . (J v) and (J^T u) . v must be, relative to the larger of the two (measured: at most
#: 1e-14 on the example graphs, 4e-14 on 3000 random circuits, scalar and array)...
AGREE = 1e-12
#: ... or absolutely, for a node that is 0 but for rounding: sqrt(x) * sqrt(x) - x moves by 1e-16 one
#: way and by 0 the other (u and v are at most 1, the random circuits' values at most 1e4).
ROUNDING = 1e-14


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main([*args, "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def cli_error(capsys: pytest.CaptureFixture[str], *args: str, code: int = 2) -> str:
    assert main(list(args)) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


# -- the seed's neuron ------------------------------------------------------------------------------


def test_the_neuron_s_tangent_on_x0_is_its_gradient_df_dx0(capsys: pytest.CaptureFixture[str]) -> None:
    run = cli_json(capsys, "run", NEURON, "--tangent", "x0=1")
    assert run["tangents"] == {"f": DX0}
    assert abs(run["tangents"]["f"] - run["grads"]["x0"]) <= 1e-15
    explained = cli_json(capsys, "explain", NEURON, "--tangent", "x0=1")
    assert explained["tangents"] == {"f": DX0}
    assert explained["tangent"][-1]["tangent"] == DX0


def test_every_leaf_s_tangent_is_its_gradient_on_the_neuron() -> None:
    circuit = gatekit.load(NEURON)
    grads = circuit.run().grads
    for leaf, grad in grads.items():
        assert circuit.run(tangents={leaf: 1.0}).tangents["f"] == pytest.approx(grad, rel=1e-15, abs=1e-15)


def test_the_readme_s_two_runs_meet_on_every_node(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's side-by-side table: d f/d node (backward) times d node/d x0 (forward) is df/dx0."""
    readme = (ROOT / "README.md").read_text()
    after = readme.split("| node | backward: d f/d node | forward: d node/d x0 | product |\n", 1)[1]
    table = after.split("\n\n", 1)[0].splitlines()[1:]  # below the header's rule
    rows = [line.split("|")[1:5] for line in table]
    backward = cli_json(capsys, "explain", NEURON)
    grads = {row["node"]: row["upstream"] for row in backward["backward"]} | backward["grads"]
    moved = gatekit.load(NEURON).run(tangents={"x0": 1.0}).node_tangents
    assert [cells[0].strip(" `") for cells in rows] == ["x0", "wx0", "dot", "neg", "e", "den", "f"]
    for node, back, ahead, product in ((c[0].strip(" `"), *c[1:]) for c in rows):
        assert back.strip() == significant(grads[node], 4), node
        assert ahead.strip() == significant(moved[node], 4), node
        assert product.strip() == significant(grads[node] * moved[node], 4) == significant(DX0, 4), node


def test_explain_tangent_writes_the_forward_mode_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", NEURON, "--tangent", "x0=1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("forward mode")))
    assert lines[start] == ("forward mode (tangents along x0=1): the gates a tangent reaches, in run order;")
    body = [line for line in lines[start:] if line.startswith("  ") and not line.startswith("  (")][3:]
    assert body == [
        "  1  wx0  mul         tan[x0] = 1",
        "       d wx0/d w0 = -1       (w0 does not move, adds nothing)",
        "       d wx0/d x0 = 2        2 * 1 = 2                           tan[wx0]: 0 + 2 = 2",
        "  3  dot  add         tan[wx0] = 2",
        "       d dot/d wx0 = 1       1 * 2 = 2                           tan[dot]: 0 + 2 = 2",
        "       d dot/d wx1 = 1       (wx1 does not move, adds nothing)",
        "       d dot/d w2 = 1        (w2 does not move, adds nothing)",
        "  4  neg  mul         tan[dot] = 2",
        "       d neg/d dot = -1      -1 * 2 = -2                         tan[neg]: 0 + -2 = -2",
        "       d neg/d (-1) = 1      (constant, adds nothing)",
        "  5  e    exp         tan[neg] = -2",
        "       d e/d neg = 0.3679    0.3679 * -2 = -0.7358               tan[e]: 0 + -0.7358 = -0.7358",
        "  6  den  add         tan[e] = -0.7358",
        "       d den/d e = 1         1 * -0.7358 = -0.7358               tan[den]: 0 + -0.7358 = -0.7358",
        "       d den/d 1 = 1         (constant, adds nothing)",
        "  7  f    reciprocal  tan[den] = -0.7358",
        "       d f/d den = -0.5344   -0.5344 * -0.7358 = 0.3932          tan[f]: 0 + 0.3932 = 0.3932",
        "  f   0.3932",
    ]
    assert "backward pass" not in "\n".join(lines)  # the forward-mode pass takes its place
    assert lines[-2] == (
        "tangents of the outputs along x0=1 (gatekit run --tangent prints them at full precision)"
    )


def test_explain_tangent_json_rows_are_the_run_s_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    data = cli_json(capsys, "explain", NEURON, "--tangent", "x0=1", "--tangent", "w1=0.5")
    assert list(data) == ["along", "forward", "tangent", "tangents"]
    assert data["along"] == {"x0": 1.0, "w1": 0.5}
    run = cli_json(capsys, "run", NEURON, "--tangent", "x0=1", "--tangent", "w1=0.5")
    assert json.dumps(data["tangents"]) == json.dumps(run["tangents"])  # the same digits
    moved = gatekit.load(NEURON).run(tangents={"x0": 1.0, "w1": 0.5}).node_tangents
    assert [row["node"] for row in data["tangent"]] == ["wx0", "wx1", "dot", "neg", "e", "den", "f"]
    for row in data["tangent"]:
        assert row["tangent"] == moved[row["node"]]
        total = 0.0
        for wire in row["wires"]:
            if isinstance(wire["source"], str) and moved[wire["source"]] != 0.0:
                assert wire["tangent"] == moved[wire["source"]]
                assert wire["product"] == wire["local"] * wire["tangent"]
                assert wire["before"] == total
                total = wire["after"]
            else:
                assert wire["tangent"] is None and wire["product"] is None and wire["after"] is None
        assert total == row["tangent"]


def test_a_jvp_gate_and_a_module_use_map_their_inputs_tangents(
    capsys: pytest.CaptureFixture[str], write_yaml: Callable[..., Path]
) -> None:
    path = write_yaml(
        """
        inputs: {X: [[1.0, 2.0], [3.0, 4.0]]}
        params: {w: [0.5, -1.0]}
        gates:
          y: {gate: matmul, in: [X, w]}
          s: {gate: sum, in: [y]}
        outputs: [s]
        """
    )
    assert main(["explain", str(path), "--tangent", "w=[1, 0]"]) == 0
    text = capsys.readouterr().out
    assert "  (jvp: a gate that is not elementwise maps its inputs' tangents to its own itself)" in text
    assert (
        "  1  y  matmul  tan[w] = [1, 0]\n       d y: jvp   jvp(tan[w]) = [1, 3]   tan[y] = [1, 3]\n" in text
    )
    data = cli_json(capsys, "explain", str(path), "--tangent", "w=[1, 0]")
    first = data["tangent"][0]
    assert first["jvp"] is True and first["tangent"] == [1.0, 3.0]
    assert [wire["tangent"] for wire in first["wires"]] == [None, [1.0, 0.0]]
    assert all(wire["local"] is None for wire in first["wires"])
    assert data["tangents"] == {"s": 4.0}
    # a module use is one row, as a jvp gate is; --expand shows its gates
    assert main(["explain", NEURON_MODULES, "--tangent", "x0=1"]) == 0
    text = capsys.readouterr().out
    assert "       d f: through neuron2   through neuron2(tan[x0]) = 0.3932   tan[f] = 0.3932" in text
    data = cli_json(capsys, "explain", NEURON_MODULES, "--tangent", "x0=1")
    assert [row.get("module") for row in data["tangent"]] == ["neuron2"]
    assert data["tangents"] == {"f": DX0}
    expanded = cli_json(capsys, "explain", NEURON_MODULES, "--tangent", "x0=1", "--expand")
    assert len(expanded["tangent"]) == 6 and expanded["tangent"][-1]["within"] == [
        ["f", "neuron2"],
        ["f/out", "logistic"],
    ]
    assert expanded["tangent"][-1]["tangent"] == DX0


def test_explain_tangent_on_arrays_and_with_nothing_moving(write_yaml: Callable[..., Path]) -> None:
    circuit = gatekit.load(
        write_yaml("inputs: {x: [1.0, 2.0]}\nparams: {w: 3.0, c: 1.0}\ngates:\n  y: {gate: mul, in: [x, w]}\n"
                   "outputs: [y]\n")
    )  # fmt: skip
    steps = trace(circuit, tangents={"w": 1.0})
    assert steps.along["w"] == 1.0
    (row,) = steps.tangent
    assert row.wires[1].product.tolist() == [1.0, 2.0]  # a scalar's tangent moves every element
    lines = explain_lines(circuit, steps)
    assert "       d y/d x = 3        (x does not move, adds nothing)" in lines
    assert "       d y/d w = [1, 2]   [1, 2] * 1 = [1, 2]               tan[y]: 0 + [1, 2] = [1, 2]" in lines
    still = trace(circuit, tangents={"c": 1.0})  # c feeds no gate
    assert still.tangent == []
    assert "  (no gate reads a leaf that moves)" in explain_lines(circuit, still)
    assert explain_json(still)["tangents"] == {"y": [0.0, 0.0]}


# -- forward and reverse agree --------------------------------------------------------------------------


def _random_like(rng: np.random.Generator, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return rng.uniform(-1.0, 1.0, size=value.shape)
    return float(rng.uniform(-1.0, 1.0))


def products(circuit: gatekit.Circuit, values: Mapping[str, Any], of: str, seed: int) -> tuple[float, float]:
    """``u . (J v)`` by one forward-mode run and ``(J^T u) . v`` by backprop from ``u``, in one run.

    ``J`` is the Jacobian of node ``of`` with respect to every leaf; ``u``
    (of ``of``'s shape) and ``v`` (one per leaf, of its shape) are random.
    """
    rng = np.random.default_rng(seed)
    plain = circuit.run(dict(values))
    u = _random_like(rng, plain.values[of])
    v = {leaf: _random_like(rng, plain.values[leaf]) for leaf in plain.grads}
    result = circuit.run(dict(values), of=of, seed_grad=u, tangents=v)
    forward = float(np.sum(np.asarray(u) * np.asarray(result.node_tangents[of])))
    reverse = sum(float(np.sum(np.asarray(result.grads[leaf]) * np.asarray(v[leaf]))) for leaf in v)
    return forward, reverse


def disagreement(forward: float, reverse: float) -> float:
    """``|forward - reverse|`` relative to the larger of the two; 0 where both are rounding's."""
    larger = max(abs(forward), abs(reverse))
    return 0.0 if larger <= ROUNDING else abs(forward - reverse) / larger


@pytest.mark.parametrize("name", EXAMPLES)
def test_forward_and_reverse_agree_on_every_example_graph(name: str) -> None:
    circuit, values, _ = example(name)
    moved = []
    for of in circuit.outputs:
        for seed in range(3):
            forward, reverse = products(circuit, values, of, seed)
            assert math.isfinite(forward)
            assert disagreement(forward, reverse) <= AGREE, (of, seed, forward, reverse)
            moved.append(forward != 0)
    assert moved[0]  # outputs[0] moves (an accuracy, a step of something, may not)


def _array_leaves(drawn: RandomCircuit) -> dict[str, Any]:
    """The array run of ``drawn``: each leaf with offsets a 3-element array, as test_fuzz makes it."""
    return {
        name: value + np.array([0.0, *offsets])
        for name, (_, value) in drawn.leaves.items()
        if (offsets := drawn.offsets[name]) is not None
    }


@fuzz_settings(200)
@given(drawn=random_circuits())
def test_forward_and_reverse_agree_on_random_circuits(drawn: RandomCircuit) -> None:
    circuit = gatekit.loads(drawn.yaml(), "random.yaml", registry=REGISTRY)
    for of in dict.fromkeys(circuit.outputs):  # an output may be a leaf, or no leaf may reach it: 0 = 0
        for values in ({}, _array_leaves(drawn)):  # numbers, then arrays
            forward, reverse = products(circuit, values, of, 0)
            assert disagreement(forward, reverse) <= AGREE, (of, forward, reverse)


# -- --of and --seed-grad for explain, draw and check ------------------------------------------------


def test_explain_of_a_gate_starts_backprop_there(capsys: pytest.CaptureFixture[str]) -> None:
    data = cli_json(capsys, "explain", NEURON, "--of", "dot")
    assert data["of"] == data["root"] == "dot"
    run = cli_json(capsys, "run", NEURON, "--of", "dot")
    assert json.dumps(data["grads"]) == json.dumps(run["grads"])
    assert [row["node"] for row in data["backward"]] == ["dot", "wx1", "wx0"]
    assert "of" not in cli_json(capsys, "explain", NEURON)
    seeded = cli_json(capsys, "explain", NEURON, "--of", "dot", "--seed-grad", "2")
    assert seeded["backward"][0]["upstream"] == 2.0
    assert seeded["grads"]["w2"] == 2.0
    assert main(["explain", NEURON, "--of", "dot"]) == 0
    text = capsys.readouterr().out
    assert "backward pass (gradient of dot):" in text and "gradients of dot (gatekit run" in text


def test_a_seed_gradient_of_an_array_output_is_shown_as_given(
    capsys: pytest.CaptureFixture[str], write_yaml: Callable[..., Path]
) -> None:
    path = write_yaml("inputs: {x: [1.0, 2.0]}\ngates:\n  y: {gate: square, in: [x]}\noutputs: [y]\n")
    data = cli_json(capsys, "explain", str(path), "--seed-grad", "[1, 0]")
    assert data["backward"][0]["upstream"] == [1.0, 0.0]
    assert data["grads"] == {"x": [2.0, 0.0]}
    ones = cli_json(capsys, "explain", str(path), "--seed-grad", "3")
    assert ones["backward"][0]["upstream"] == [3.0, 3.0]  # a number stands for it at every element
    assert ones["grads"] == {"x": [6.0, 12.0]}


def test_draw_of_a_gate_labels_its_gradients(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "dot.dot"
    assert main(["draw", NEURON, "-o", str(out), "--of", "dot", "--seed-grad", "2"]) == 0
    text = out.read_text()
    assert '<font color="red">gradients of dot</font>' in text
    # dot = wx0 + wx1 + w2: each of its wires carries the seed, 2; the sigmoid's wires carry none
    for source in ("wx0", "wx1", "w2"):
        (line,) = [line for line in text.splitlines() if line.strip().startswith(f'"{source}" -> "dot"')]
        assert '<font color="red">2.00</font>' in line
    (into_f,) = [line for line in text.splitlines() if line.strip().startswith('"den" -> "f"')]
    assert "red" not in into_f
    (output,) = [line for line in text.splitlines() if line.strip().startswith('"f" -> "f#output"')]
    assert "red" not in output  # f is not the root


@pytest.mark.skipif(shutil.which("dot") is None, reason="the player draws with Graphviz's dot")
def test_the_player_plays_back_from_of() -> None:
    circuit = gatekit.load(NEURON)
    data, _ = player_data(circuit, of="dot", seed_grad=2.0)
    assert data["root"] == "dot"
    backward = [step for step in data["views"][0]["steps"] if step["pass"] == "backward"]
    assert [step["node"] for step in backward] == ["dot", "wx1", "wx0"]
    assert data["views"][0]["nodes"]["dot"]["grads"][0][1]["full"] == "2.0"


def test_check_of_a_gate_checks_its_gradient_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", NEURON, "--of", "dot", "--seed-grad", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ends = [line for line in lines if "end to end" in line]
    assert len(ends) == 5 and all(line.startswith("dot  ") and line.endswith("ok") for line in ends)
    assert any("end to end: ddot/dw2  4" in line and "2    " in line for line in ends)
    rows = check_circuit(gatekit.load(NEURON), of="e", seed_grad=-1.5)
    assert all(row.ok for row in rows)
    assert next(row.where for row in rows if row.where.startswith("end")) == "end to end: de/dx0"


def test_check_of_an_array_node_with_a_cotangent(write_yaml: Callable[..., Path]) -> None:
    circuit = gatekit.load(
        write_yaml("inputs: {x: [1.0, 2.0, 3.0]}\ngates:\n  y: {gate: square, in: [x]}\n"
                   "  s: {gate: sum, in: [y]}\noutputs: [s]\n")
    )  # fmt: skip
    rows = check_circuit(circuit, of="y", seed_grad=np.array([1.0, -2.0, 0.5]))
    (end,) = [row for row in rows if row.where == "end to end: dy/dx"]
    assert end.ok and end.analytic == pytest.approx({(0,): 2.0, (1,): -8.0, (2,): 3.0}[end.element])


# -- check_gate's forward mode ------------------------------------------------------------------------

FORWARD_ROWS = ("forward = reverse, ", "jvp, ")


def _forward_rows(rows: list[Any]) -> list[Any]:
    return [row for row in rows if row.where.startswith(FORWARD_ROWS) or row.where == "forward mode"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_built_in_gate_passes_the_forward_mode_check(name: str) -> None:
    gate = REGISTRY[name]
    arities = [gate.spec.arity, gate.spec.arity + 1] if gate.spec.variadic else [gate.spec.arity]
    for arity in arities:
        rows = check_gate(gate, arity=arity, count=4, seed=1)
        forward = _forward_rows(rows)
        points = len({row.where.split(" ")[1] for row in rows if row.where.startswith("point")})
        per_input = 2 if gate.vjp is not None else 1  # a gate_jvp gate: its rule against differences too
        assert len(forward) == points * arity * per_input
        assert all(row.ok for row in forward)
        assert not any(row.note == NO_JVP for row in forward)
        assert all(row.note in ("", "kink") for row in forward)


CUBE = """
    from gatekit import GateSpec, hookimpl


    class Cube:
        @hookimpl
        def gate_spec(self):
            return GateSpec("fcube", 1, "a ** 3", elementwise=True)

        @hookimpl
        def gate_forward(self, inputs):
            (a,) = inputs
            return a * a * a

        @hookimpl
        def gate_local_grad(self, inputs, output):
            (a,) = inputs
            return (3.0 * a * a,)
"""

# VJP gates: "twice" and "thrice" have no gate_jvp; the others get it wrong one way each.
VJP_GATES = """
    import numpy as np
    from gatekit import GateSpec, hookimpl


    class Scaled:
        def __init__(self, name, factor):
            self.name, self.factor = name, factor

        @hookimpl
        def gate_spec(self):
            return GateSpec(self.name, 1, "a times a number")

        @hookimpl
        def gate_forward(self, inputs):
            return self.factor * inputs[0]

        @hookimpl
        def gate_vjp(self, inputs, output, upstream):
            return (self.factor * upstream,)


    class Jvp(Scaled):
        def __init__(self, name, factor, jvp):
            super().__init__(name, factor)
            self.jvp = jvp

        @hookimpl
        def gate_jvp(self, inputs, output, tangents):
            return self.jvp(self.factor, tangents[0])


    def boom(factor, tangent):
        raise ValueError("no tangent here")


    @hookimpl
    def gatekit_register_gates():
        return [
            Scaled("twice", 2.0),
            Scaled("thrice", 3.0),
            Jvp("jvp_ok", 2.0, lambda factor, t: factor * t),
            Jvp("jvp_wrong", 2.0, lambda factor, t: factor * t + 1.0),
            Jvp("jvp_boom", 2.0, boom),
            Jvp("jvp_shape", 2.0, lambda factor, t: np.zeros(3)),
            Jvp("jvp_f32", 2.0, lambda factor, t: np.float32(factor * t)),
        ]
"""


@pytest.fixture
def vjp_plugin(tmp_path: Path) -> str:
    path = tmp_path / "gk_fwd_vjp.py"
    path.write_text(textwrap.dedent(VJP_GATES), encoding="utf-8")
    return str(path)


def _object(source: str, name: str, tmp_path: Path) -> object:
    namespace: dict[str, object] = {}
    exec(compile(textwrap.dedent(source), str(tmp_path / "gate.py"), "exec"), namespace)  # test fixture code
    return namespace[name]()  # type: ignore[operator]


def test_a_plugin_s_elementwise_gate_gets_the_forward_mode_check_for_nothing(tmp_path: Path) -> None:
    rows = check_gate(_object(CUBE, "Cube", tmp_path), count=3)
    forward = _forward_rows(rows)
    assert [row.where for row in forward] == [f"forward = reverse, point {i}" for i in range(6)]
    assert all(row.ok and not row.note for row in forward)


def test_a_vjp_gate_without_gate_jvp_is_one_skipped_row(vjp_plugin: str) -> None:
    registry = gatekit.default_registry(plugins=(vjp_plugin,), autoload=False)
    rows = check_gate("twice", count=2, registry=registry)
    (skipped,) = _forward_rows(rows)
    assert (skipped.where, skipped.ok, skipped.skipped, skipped.note) == ("forward mode", True, True, NO_JVP)
    assert NO_JVP == "no gate_jvp: forward mode refuses this gate"
    assert all(row.ok for row in rows)
    good = check_gate("jvp_ok", count=2, registry=registry)
    assert [row.where for row in _forward_rows(good)][:2] == ["forward = reverse, point 0", "jvp, point 0"]
    assert all(row.ok for row in good)


def test_a_wrong_gate_jvp_fails_both_forward_mode_rows(vjp_plugin: str) -> None:
    registry = gatekit.default_registry(plugins=(vjp_plugin,), autoload=False)
    rows = check_gate("jvp_wrong", points=[(1.5,)], registry=registry, raise_on_failure=False)
    failed = [row for row in rows if not row.ok]
    assert [row.where for row in failed] == ["forward = reverse, point 0", "jvp, point 0"]
    assert failed[0].note == "forward and reverse mode disagree"
    assert failed[0].analytic == pytest.approx(failed[0].numeric + 1.0)  # u = 1: the 1.0 added


def test_check_gate_refuses_what_a_gate_jvp_returns_wrong(vjp_plugin: str) -> None:
    registry = gatekit.default_registry(plugins=(vjp_plugin,), autoload=False)
    with pytest.raises(RunError) as info:
        check_gate("jvp_shape", points=[(1.5,)], registry=registry)
    plugin = registry["jvp_shape"].plugin
    assert info.value.message == (
        f"gate 'jvp_shape' (plugin {plugin!r}) at point 0 returned a tangent of shape (3,) from gate_jvp; "
        "expected the output's shape ()"
    )
    with pytest.raises(RunError) as info:
        check_gate("jvp_f32", points=[(1.5,)], registry=registry)
    plugin = registry["jvp_f32"].plugin
    assert info.value.message == (
        f"gate 'jvp_f32' (plugin {plugin!r}) at point 0 returned a NumPy float32 scalar from gate_jvp; "
        "a gate returns float64: a number or a float64 array"
    )


def test_checked_tangent_checks_local_gradients_too() -> None:
    def fault(message: str) -> RunError:
        return RunError(f"gate 'g' {message}")

    fn, is_jvp = checked_tangent((lambda inputs, output: (1.0,), False), fault)
    assert not is_jvp
    with pytest.raises(RunError) as info:
        fn((1.0, 2.0), 3.0)
    assert info.value.message == "gate 'g' returned 1 gradient(s) from gate_local_grad for 2 input(s)"


# -- errors, each with its text ----------------------------------------------------------------------


def test_run_of_an_unknown_node(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["run", NEURON], ["explain", NEURON], ["check", NEURON], ["draw", NEURON, "-o", "x.dot"]):
        assert cli_error(capsys, *command, "--of", "nope") == (
            f"error: {NEURON}: no node named 'nope' to take the gradient of (outputs: f; any gate or leaf "
            "may be named)\n"
        )


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["nope=1"], "--tangent nope=1: name 'nope' names no input or param of {file} (inputs: x0, x1; "
                     "params: w0, w1, w2)"),
        (["x"], "--tangent x: expected NAME=VALUE, for example --tangent x0=1.5"),
        (["=1"], "--tangent =1: expected NAME=VALUE, for example --tangent x0=1.5"),
        (["x0="], "--tangent x0=: the value is missing: write --tangent x0=VALUE"),
        (["x0=1", "x0=2"], "--tangent x0=2: 'x0' is given twice (first by --tangent x0=1)"),
        (["x0=[1, 2]"], "--tangent x0=[1, 2]: the tangent has shape (2,); 'x0' has shape () (give a "
                        "number, or an array of that shape)"),
        (["x0=abc"], "--tangent x0=abc: the value of 'x0' must be a number, got the text 'abc'"),
    ],
)  # fmt: skip
def test_a_bad_tangent_says_what_is_wrong(
    capsys: pytest.CaptureFixture[str], items: list[str], message: str
) -> None:
    flags = [arg for item in items for arg in ("--tangent", item)]
    for command in ("run", "explain"):
        assert cli_error(capsys, command, NEURON, *flags) == f"error: {message.format(file=NEURON)}\n"


def test_a_tangent_in_python_that_names_no_leaf_or_has_the_wrong_shape() -> None:
    circuit = gatekit.load(NEURON)
    with pytest.raises(UsageError) as info:
        circuit.run(tangents={"dot": 1.0})
    assert str(info.value) == (
        f"{NEURON}: no input or param to give a tangent named 'dot' (known: x0, x1, w0, w1, w2)"
    )
    with pytest.raises(UsageError) as info:
        circuit.run(tangents={"x0": "a"})
    assert str(info.value) == "the value for 'the tangent of x0' must be a number or an array of numbers, " \
        "got the text 'a'"  # fmt: skip
    with pytest.raises(UsageError) as info:
        circuit.run(tangents={"x0": [1.0, 2.0]})
    assert str(info.value) == (
        "the tangent of 'x0' has shape (2,); 'x0' has shape () (give a number, or an array of that shape)"
    )


def test_a_seed_gradient_of_the_wrong_shape(capsys: pytest.CaptureFixture[str]) -> None:
    expected = (
        "error: the seed gradient has shape (2,); {node!r} has shape () (give a number, or an array of "
        "that shape)\n"
    )
    for command in ("run", "explain", "check"):
        assert cli_error(capsys, command, NEURON, "--seed-grad", "[1, 2]") == expected.format(node="f")
    assert cli_error(capsys, "draw", NEURON, "-o", "x.dot", "--of", "dot", "--seed-grad", "[1, 2]") == (
        expected.format(node="dot")
    )


def test_a_seed_gradient_file_must_hold_one_value_or_name_the_node(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    several = tmp_path / "several.json"
    several.write_text('{"a": [1, 0], "b": [0, 1]}')
    graph = tmp_path / "g.yaml"
    graph.write_text("inputs: {x: [1.0, 2.0]}\ngates:\n  y: {gate: square, in: [x]}\noutputs: [y]\n")
    for command in ("run", "explain", "check"):
        assert cli_error(capsys, command, str(graph), "--seed-grad", str(several)) == (
            f"error: {several}: expected one value, or one named 'y'; the file holds 'a', 'b'\n"
        )
    named = tmp_path / "named.json"
    named.write_text('{"a": [1, 0], "y": [0, 1]}')
    assert cli_json(capsys, "run", str(graph), "--seed-grad", str(named))["grads"] == {"x": [0.0, 4.0]}
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    assert cli_error(capsys, "run", str(graph), "--seed-grad", str(empty)) == (
        f"error: {empty}: the JSON object is empty; give at least one value\n"
    )
    listed = tmp_path / "listed.json"
    listed.write_text("[1, 0]")
    assert cli_error(capsys, "run", str(graph), "--seed-grad", str(listed)) == (
        f"error: {listed}: expected a JSON object mapping names to values, got a list\n"
    )
    nothing = tmp_path / "nothing.npz"
    np.savez(nothing)
    assert cli_error(capsys, "run", str(graph), "--seed-grad", str(nothing)) == (
        f"error: {nothing}: the file holds no arrays\n"
    )
    with pytest.raises(UsageError) as info:
        read_array(tmp_path / "seed.txt", "y")
    assert str(info.value) == f"{tmp_path / 'seed.txt'}: unsupported file type '.txt'; a value can be read " \
        "from .npz, .csv, .json"  # fmt: skip


def test_explain_tangent_takes_no_gradient_to_choose(capsys: pytest.CaptureFixture[str]) -> None:
    for flag, value in (("--of", "dot"), ("--seed-grad", "2")):
        assert cli_error(capsys, "explain", NEURON, "--tangent", "x0=1", flag, value) == (
            f"error: explain: {flag} chooses the gradient of the backward pass, and explain --tangent writes "
            "the forward-mode pass instead: give one or the other\n"
        )


def test_check_gate_takes_no_gradient_to_choose(capsys: pytest.CaptureFixture[str]) -> None:
    for flag, value in (("--of", "f"), ("--seed-grad", "2")):
        assert cli_error(capsys, "check", "--gate", "sum", flag, value) == (
            "error: check --gate: --of and --seed-grad apply to a circuit (check GRAPH)\n"
        )


def _vjp_circuit(vjp_plugin: str, gates: dict[str, str]) -> gatekit.Circuit:
    lines = "".join(f"  {name}: {{gate: {gate}, in: [{source}]}}\n" for name, (gate, source) in
                    ((name, spec.split()) for name, spec in gates.items()))  # fmt: skip
    text = f"inputs: {{x: 1.5}}\ngates:\n{lines}outputs: [{list(gates)[-1]}]\n"
    registry = gatekit.default_registry(plugins=(vjp_plugin,), autoload=False)
    return gatekit.loads(text, "vjp.yaml", registry=registry)


def test_forward_mode_through_a_vjp_gate_without_gate_jvp(
    vjp_plugin: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    circuit = _vjp_circuit(vjp_plugin, {"a": "twice x", "b": "exp a"})
    plugin = circuit.plan.gates[circuit.plan.slots["a"]].gate.plugin
    other = plugin.replace("twice", "thrice")
    with pytest.raises(PluginError) as info:
        circuit.run(tangents={"x": 1.0})
    assert str(info.value) == (
        f"vjp.yaml:3:3: forward mode needs gate_jvp, which gate 'a' (twice, plugin {plugin!r}) does "
        "not implement (a gate with gate_vjp gives its tangent only through it)"
    )
    assert circuit.run().grads == {"x": pytest.approx(2.0 * math.exp(3.0))}  # backprop is fine
    several = _vjp_circuit(vjp_plugin, {"a": "twice x", "b": "jvp_ok a", "c": "thrice b"})
    with pytest.raises(PluginError) as info:
        several.run(tangents={"x": 1.0})
    assert str(info.value) == (
        f"vjp.yaml:3:3: forward mode needs gate_jvp, which gate 'a' (twice, plugin {plugin!r}), "
        f"gate 'c' (thrice, plugin {other!r}) do not implement (a gate with gate_vjp gives its tangent only "
        "through it)"
    )
    graph = tmp_path / "vjp.yaml"
    graph.write_text("inputs: {x: 1.5}\ngates:\n  a: {gate: twice, in: [x]}\noutputs: [a]\n")
    assert main(["run", "-p", vjp_plugin, str(graph), "--tangent", "x=1"]) == PluginError.exit_code
    assert capsys.readouterr().err == (
        f"error: {graph}:3:3: forward mode needs gate_jvp, which gate 'a' (twice, plugin {plugin!r}) "
        "does not implement (a gate with gate_vjp gives its tangent only through it)\n"
    )


def test_a_gate_jvp_that_raises_is_a_run_error_naming_the_gate(vjp_plugin: str) -> None:
    circuit = _vjp_circuit(vjp_plugin, {"a": "jvp_boom x"})
    plugin = circuit.plan.gates[circuit.plan.slots["a"]].gate.plugin
    expected = (
        f"vjp.yaml:3:3: gate 'a' (jvp_boom, plugin {plugin!r}) failed in gate_jvp (forward mode): "
        "ValueError: no tangent here"
    )
    for _ in range(2):  # the first run is guarded, the second not: the same words
        with pytest.raises(RunError) as info:
            circuit.run(tangents={"x": 1.0})
        assert str(info.value) == expected
        assert info.value.node == "a"


def test_a_local_gradient_that_raises_in_forward_mode(importable_plugins: Path) -> None:
    registry = gatekit.default_registry(plugins=("gk_boom",), autoload=False)
    circuit = gatekit.loads("inputs: {x: 1.0}\ngates:\n  y: {gate: boom_grad, in: [x]}\noutputs: [y]\n",
                            "boom.yaml", registry=registry)  # fmt: skip
    plugin = registry["boom_grad"].plugin
    with pytest.raises(RunError) as info:
        circuit.run(tangents={"x": 1.0})
    assert str(info.value).startswith(
        f"boom.yaml:3:3: gate 'y' (boom_grad, plugin {plugin!r}) failed in gate_local_grad (forward mode): "
    )


def test_a_guarded_forward_mode_run_refuses_a_bad_tangent(vjp_plugin: str) -> None:
    circuit = _vjp_circuit(vjp_plugin, {"a": "jvp_shape x"})
    plugin = circuit.plan.gates[circuit.plan.slots["a"]].gate.plugin
    with pytest.raises(RunError) as info:
        circuit.run(tangents={"x": 1.0})
    assert str(info.value) == (
        f"vjp.yaml:3:3: gate 'a' (jvp_shape, plugin {plugin!r}) returned a tangent of shape (3,) "
        "from gate_jvp; expected the output's shape ()"
    )


def test_the_recorder_is_told_only_the_gates_a_tangent_reaches() -> None:
    circuit = gatekit.load(NEURON)
    steps = trace(circuit, tangents={"w2": 1.0})
    assert [row.node for row in steps.tangent] == ["dot", "neg", "e", "den", "f"]
    assert steps.tangent[-1].tangent == circuit.run().grads["w2"]
