"""Round trips: a circuit exported to ONNX and imported back gives the original's numbers.

Every example circuit in ``graphs/`` (YAML and JSON) goes out with
``to_onnx`` (module uses as local functions, and inlined) and comes back with
``from_onnx``; run at the file's values, the copy's outputs and gradients
equal the original's to 1e-12, inputs and params keeping their names. The
same through the command line: ``gatekit export``, ``gatekit import``,
``gatekit run --json``. And the PyTorch-exported MLP the whole way: imported,
trained with ``gatekit train``, the trained circuit exported with its
backward pass, and run in onnxruntime to the trained circuit's numbers.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import gatekit  # noqa: E402 - after the skips
from gatekit.cli import main  # noqa: E402
from gatekit.onnx.check import RUNTIMES, relative_error, run_model  # noqa: E402
from gatekit.onnx.export import to_onnx  # noqa: E402
from gatekit.onnx.importer import import_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = sorted([*ROOT.glob("graphs/*.yaml"), *ROOT.glob("graphs/*.json")])
TORCH_MLP = ROOT / "tests" / "reference" / "torch_mlp.onnx"
TOLERANCE = 1e-12


def assert_same(got: dict[str, Any], want: dict[str, Any], what: str) -> None:
    """The same names, and each value within :data:`TOLERANCE` (relative) of the original's."""
    assert sorted(got) == sorted(want), what
    for name, value in want.items():
        error = relative_error(got[name], value)
        assert error <= TOLERANCE, f"{what} {name}: relative error {error:.3g}"


def file_inputs(circuit: gatekit.Circuit) -> dict[str, Any]:
    """The circuit's inputs at the file's values (an imported circuit's hold zeros)."""
    leaves = circuit.run().leaves
    return {name: leaves[name] for name in circuit.inputs}


def gates_of(circuit: gatekit.Circuit) -> list[tuple[str, str]]:
    """Each gate's name (``/`` inside a module made ``_``, as the import makes it) and kind, in order."""
    return [(bound.name.replace("/", "_"), bound.gate.name) for bound in circuit.plan.gates.values()]


@pytest.mark.parametrize("path", GRAPHS, ids=[path.name for path in GRAPHS])
@pytest.mark.parametrize("inline", [False, True], ids=["functions", "inlined"])
def test_every_example_graph_comes_back_with_its_numbers(path: Path, inline: bool) -> None:
    circuit = gatekit.load(path)
    model = to_onnx(circuit, inline_modules=inline)
    copy = gatekit.from_onnx(model)
    assert copy.inputs == circuit.inputs
    assert copy.params == circuit.params
    assert copy.outputs == circuit.outputs
    if inline or not model.functions:  # gate for gate (a function's body comes back node for node)
        assert sorted(gates_of(copy)) == sorted(gates_of(circuit))
    original = circuit.run()
    again = copy.run(file_inputs(circuit))
    assert_same(again.outputs, original.outputs, "output")
    assert_same(again.grads, original.grads, "gradient")


PLUGINS = ("gatekit_activations",) if importlib.util.find_spec("gatekit_activations") else ()
REGISTRY = gatekit.default_registry(PLUGINS, autoload=False)
#: zeros, ties, both signs, and values where a formula's pieces overflow (exp(800))
SPECIAL = (0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 30.0, -800.0, 800.0)


@pytest.mark.parametrize("name", [name for name in REGISTRY if REGISTRY[name].vjp is None])
def test_every_elementwise_gate_comes_back_as_itself_with_its_gradient(name: str) -> None:
    """Not through the nodes of its formula, whose pieces have kinks and nan gradients the gate has not.

    ``sigmoid`` at 0 (``|a|``'s kink), ``elu`` at any a > 0 (``expm1``'s
    unused branch, 0 / 0), ``softplus`` at 800 (``e ** 800``): the nodes
    give other gradients there, the gate its own.
    """
    arity = REGISTRY[name].spec.arity
    leaves = {f"a{i}": 0.0 for i in range(arity)}
    circuit = gatekit.loads(
        json.dumps({"params": leaves, "gates": {"y": {"gate": name, "in": list(leaves)}}, "outputs": ["y"]}),
        registry=REGISTRY,
    )
    copy = gatekit.from_onnx(to_onnx(circuit), REGISTRY)
    assert gates_of(copy) == [("y", name)]
    for point in itertools.product(SPECIAL, repeat=arity) if arity < 3 else [(1.0, 2.0, -3.0), (0.0,) * 3]:
        values = dict(zip(leaves, point, strict=True))
        assert_same(copy.run(values).grads, circuit.run(values).grads, f"at {point}: gradient")


def test_nodes_that_are_not_as_the_export_wrote_them_come_back_node_for_node() -> None:
    circuit = gatekit.loads("params: {x: 0.5}\ngates:\n  s: {gate: sigmoid, in: [x]}\noutputs: [s]\n")
    model = to_onnx(circuit)
    assert gates_of(gatekit.from_onnx(model)) == [("s", "sigmoid")]
    assert sorted(gate.gate for gate in import_model(model).gates) == [  # no gates given: node for node
        "abs", "add", "exp", "greater_equal", "mul", "neg", "reciprocal", "where"
    ]  # fmt: skip
    peeked = onnx.ModelProto.FromString(model.SerializeToString())
    inner = next(node for node in peeked.graph.node if node.op_type == "Exp")
    peeked.graph.output.append(
        onnx.helper.make_tensor_value_info(inner.output[0], onnx.TensorProto.DOUBLE, [])
    )
    copy = gatekit.from_onnx(peeked)  # a value inside the gate is read from outside: not the gate any more
    assert "sigmoid" not in [gate for _, gate in gates_of(copy)]
    assert copy.run().outputs["s"] == circuit.run().outputs["s"]
    renamed = onnx.ModelProto.FromString(model.SerializeToString())
    renamed.producer_name = "an optimizer"
    assert "sigmoid" not in [gate for _, gate in gates_of(gatekit.from_onnx(renamed))]
    for prop in model.graph.node[-1].metadata_props:
        if prop.key == "gatekit.inputs":
            prop.value = "not JSON"
    assert "sigmoid" not in [gate for _, gate in gates_of(gatekit.from_onnx(model))]


@pytest.mark.parametrize("path", GRAPHS, ids=[path.name for path in GRAPHS])
@pytest.mark.parametrize("flags", [[], ["--inline-modules"]], ids=["functions", "inlined"])
def test_every_example_graph_comes_back_through_the_command_line(
    path: Path, flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    circuit = gatekit.load(path)
    model, copy, data = tmp_path / "m.onnx", tmp_path / "copy.yaml", tmp_path / "inputs.npz"
    np.savez(data, **{name: np.asarray(value) for name, value in file_inputs(circuit).items()})
    assert main(["export", str(path), "-o", str(model), *flags]) == 0
    assert main(["import", str(model), "-o", str(copy)]) == 0
    capsys.readouterr()
    assert main(["run", str(path), "--json"]) == 0
    original = json.loads(capsys.readouterr().out)
    assert main(["run", str(copy), "--inputs", str(data), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert_same(again["outputs"], original["outputs"], "output")
    assert_same(again["grads"], original["grads"], "gradient")


def test_a_number_param_stays_a_param_in_gatekit_s_own_models() -> None:
    """gatekit writes constants as Constant nodes: each of its initializers is a param, a number too."""
    circuit = gatekit.loads("inputs: {x: 2.0}\nparams: {w: 3.0}\ngates:\n  y: {gate: mul, in: [w, x, 0.5]}\n"
                            "outputs: [y]\n")  # fmt: skip
    model = to_onnx(circuit)
    imported = import_model(model)
    assert imported.params == {"w": 3.0}
    assert [gate.inputs for gate in imported.gates] == [("w", "x"), ("y_2", 0.5)]
    model.producer_name = "another exporter"  # which may write its constants as initializers: numbers
    imported = import_model(model)
    assert imported.params == {}
    assert [gate.inputs for gate in imported.gates] == [(3.0, "x"), ("y_2", 0.5)]


def test_where_and_the_comparisons_come_back_as_gates_of_their_own() -> None:
    circuit = gatekit.loads(
        textwrap.dedent("""
        inputs: {x: [-1.0, 0.0, 2.0, 3.0], y: [1.0, 0.0, -1.0, 3.0]}
        params: {w: 0.5}
        gates:
          above: {gate: greater, in: [x, y]}
          tie: {gate: equal, in: [x, y]}
          either: {gate: logical_or, in: [above, tie]}
          big: {gate: mul, in: [w, x]}
          pick: {gate: where, in: [either, big, y]}
          total: {gate: sum, in: [pick]}
        outputs: [total, pick]
        """)
    )
    copy = gatekit.from_onnx(to_onnx(circuit))
    used = [copy.plan.gates[name].gate.name for name in copy.plan.gates]
    assert {"greater", "equal", "logical_or", "where"} <= set(used)
    original, again = circuit.run(), copy.run(file_inputs(circuit))
    assert again.outputs["pick"].tolist() == [1.0, 0.0, 1.0, 1.5]  # y, w·x (a tie), w·x, w·x (a tie)
    assert_same(again.outputs, original.outputs, "output")
    assert_same(again.grads, original.grads, "gradient")


def test_the_pytorch_mlp_imports_trains_and_re_exports_with_its_gradients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imported, trained, model = tmp_path / "mlp.yaml", tmp_path / "trained.yaml", tmp_path / "m.onnx"
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 2))
    y = np.tanh(x[:, 0] - 0.5 * x[:, 1])
    data = tmp_path / "data.npz"
    np.savez(data, x=x, y=y)
    assert main(["import", str(TORCH_MLP), "-o", str(imported)]) == 0
    assert main(["train", str(imported), "--inputs", str(data), "--steps", "50", "--lr", "0.1",
                 "-o", str(trained)]) == 0  # fmt: skip
    assert main(["export", str(trained), "-o", str(model), "--with-gradients", "--batch-axis", "0"]) == 0
    capsys.readouterr()
    circuit = gatekit.load(trained)
    start = gatekit.load(imported).run(x=x, y=y)
    exported = onnx.load(model)
    onnx.checker.check_model(exported, full_check=True)
    for rows in (32, 5):  # the batch axis is symbolic: any batch size runs
        want = circuit.run(x=x[:rows], y=y[:rows])
        assert want.outputs["loss"] < start.outputs["loss"] or rows != 32  # it did train
        for runtime in RUNTIMES:
            got = run_model(exported, {"x": x[:rows], "y": y[:rows]}, runtime)
            assert sorted(got) == sorted(
                [*circuit.outputs, *(f"grad/{leaf}" for leaf in [*circuit.inputs, *circuit.params])]
            )
            for name, value in got.items():
                expected = want.grads[name[5:]] if name.startswith("grad/") else want.outputs[name]
                error = relative_error(value, expected)
                assert error <= TOLERANCE, f"{runtime}, {rows} rows, {name}: relative error {error:.3g}"
