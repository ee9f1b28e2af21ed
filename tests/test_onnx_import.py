"""gatekit import and gatekit.from_onnx: what a model becomes, its numbers, and every error it can give.

The numbers of each operator against ONNX's own test cases are
tests/test_onnx_conformance.py's; here, the forms those cases do not reach
(old opsets, names, Constants, initializers as shapes), each checked against
``onnx.reference.ReferenceEvaluator``, and every message word for word.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402 - after the skip
from onnx.reference import ReferenceEvaluator  # noqa: E402

import gatekit  # noqa: E402
from gatekit.cli import main  # noqa: E402
from gatekit.onnx.importer import import_model  # noqa: E402
from gatekit.onnx.writer import circuit_text  # noqa: E402
from gatekit.testing import check_circuit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FLOAT = TensorProto.FLOAT


def tensor(name: str, shape: Sequence[int | str] | None, elem: int = FLOAT) -> Any:
    return helper.make_tensor_value_info(name, elem, shape)


def out(name: str, elem: int = FLOAT) -> Any:
    """A graph output: its rank is not checked, so one symbolic axis stands for any shape."""
    return tensor(name, ["n"], elem)


def model(
    nodes: Sequence[Any],
    inputs: Sequence[Any],
    outputs: Sequence[Any],
    initializers: Sequence[Any] = (),
    opset: int = 13,
    name: str = "g",
) -> Any:
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def initializer(name: str, values: Any, dtype: Any = np.float32) -> Any:
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def agrees(built: Any, feed: dict[str, np.ndarray]) -> gatekit.Circuit:
    """Import ``built``, run it on ``feed`` and compare with ONNX's reference evaluator; the circuit."""
    circuit = gatekit.from_onnx(built)
    want = ReferenceEvaluator(built).run(None, {k: v.astype(np.float32) for k, v in feed.items()})
    imported = import_model(built)
    result = circuit.run({imported.input_names[k]: v for k, v in feed.items()})
    for info, expected in zip(built.graph.output, want, strict=True):
        got = result.outputs[imported.output_names[info.name]]
        assert np.shape(got) == np.shape(expected)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    check_circuit(circuit, {imported.input_names[k]: v for k, v in feed.items()})
    return circuit


RNG = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape)


# -- what a model becomes ---------------------------------------------------------------------------


def test_a_layer_becomes_inputs_params_and_gates() -> None:
    built = model(
        [
            helper.make_node("Gemm", ["x", "W", "b"], ["h"], name="fc1", transB=1, alpha=0.5),
            helper.make_node("Relu", ["h"], ["y"]),
        ],
        [tensor("x", ["batch", 3])],
        [tensor("y", ["batch", 2])],
        [initializer("W", normal(2, 3)), initializer("b", normal(2))],
    )
    text = gatekit.onnx.load.imported_text(built)
    assert (
        "doc: \"Imported from the ONNX model <model> (opset 13). Its inputs hold zeros of the model's "
        in text
    )
    assert "each symbolic dimension taken as 1 (x: batch)" in text
    assert "  x: [[0.0, 0.0, 0.0]]\n" in text
    assert "  fc1_b_t: {gate: transpose, in: [W]}  # node 0 'fc1' (Gemm)\n" in text
    assert "  fc1: {gate: add, in: [fc1_alpha, b]}  # node 0 'fc1' (Gemm)\n" in text
    assert "  y: {gate: relu, in: [fc1]}  # node 1 (Relu)\n" in text
    circuit = agrees(built, {"x": normal(4, 3)})
    assert circuit.params == ["W", "b"]
    assert circuit.inputs == ["x"]
    assert circuit.outputs == ["y"]


@pytest.mark.parametrize(
    ("attrs", "bias"),
    [({}, True), ({"alpha": 2.0}, False), ({"beta": 0.5, "transA": 1}, True), ({}, False)],
)
def test_gemm_forms(attrs: dict[str, Any], bias: bool) -> None:
    a_shape = (3, 4) if attrs.get("transA") else (4, 3)
    inputs = ["a", "b", "c"] if bias else ["a", "b"]
    built = model(
        [helper.make_node("Gemm", inputs, ["y"], **attrs)],
        [tensor("a", a_shape), tensor("b", [3, 2])] + ([tensor("c", [2])] if bias else []),
        [out("y")],
    )
    feed = {"a": normal(*a_shape), "b": normal(3, 2)} | ({"c": normal(2)} if bias else {})
    agrees(built, feed)


def test_old_opsets_take_reduction_axes_and_softmax_axes_as_attributes() -> None:
    built = model(
        [
            helper.make_node("ReduceSum", ["x"], ["s"], axes=[1], keepdims=0),
            helper.make_node("ReduceMean", ["x"], ["m"], axes=[0, -1]),
            helper.make_node("Softmax", ["x"], ["p"], axis=2),
            helper.make_node("LogSoftmax", ["x"], ["q"], axis=-1),
        ],
        [tensor("x", [2, 3, 4])],
        [out("s"), out("m"), out("p"), out("q")],
        opset=11,
    )
    agrees(built, {"x": normal(2, 3, 4)})


def test_a_reduction_over_no_axes_with_noop_is_the_identity() -> None:
    built = model(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"], noop_with_empty_axes=1)],
        [tensor("x", [2, 3])],
        [out("y")],
        [initializer("axes", [], np.int64)],
    )
    circuit = agrees(built, {"x": normal(2, 3)})
    assert [gate.gate for gate in circuit.definition.gates.values()] == ["identity"]


def test_max_of_three_is_a_chain_and_of_one_the_identity() -> None:
    built = model(
        [helper.make_node("Max", ["a", "b", "c"], ["m"]), helper.make_node("Min", ["a"], ["n"])],
        [tensor("a", [3]), tensor("b", [3]), tensor("c", [1])],
        [out("m"), out("n")],
    )
    text = gatekit.onnx.load.imported_text(built)
    assert "  m_max1: {gate: max, in: [a, b]}  # node 0 (Max)\n  m: {gate: max, in: [m_max1, c]}" in text
    assert "  n: {gate: identity, in: [a]}" in text
    agrees(built, {"a": normal(3), "b": normal(3), "c": normal(1)})


def test_constants_become_numbers_inputs_or_attributes() -> None:
    two = helper.make_tensor("two", FLOAT, [], [2.0])
    row = helper.make_tensor("row", FLOAT, [3], [1.0, 2.0, 3.0])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [3, 2])
    built = model(
        [
            helper.make_node("Constant", [], ["k2"], value=two),
            helper.make_node("Constant", [], ["krow"], name="offsets", value=row),
            helper.make_node("Constant", [], ["kshape"], value=shape),
            helper.make_node("Constant", [], ["kf"], value_floats=[0.5, 0.25, 0.125]),
            helper.make_node("Mul", ["x", "k2"], ["a"]),
            helper.make_node("Add", ["a", "krow"], ["b"]),
            helper.make_node("Sub", ["b", "kf"], ["c"]),
            helper.make_node("Reshape", ["c", "kshape"], ["y"]),
        ],
        [tensor("x", [2, 3])],
        [out("y")],
    )
    text = gatekit.onnx.load.imported_text(built)
    assert "  a: {gate: mul, in: [x, 2.0]}" in text
    assert "  offsets: [1.0, 2.0, 3.0]\n" in text
    assert "  y: {gate: reshape, in: [c], attrs: {shape: [3, 2]}}" in text
    assert "Inputs offsets, kf are the model's Constant tensors (data, never trained)." in text
    circuit = agrees(built, {"x": normal(2, 3)})
    assert circuit.params == []


def test_an_initializer_that_gives_a_shape_is_no_param() -> None:
    built = model(
        [helper.make_node("Reshape", ["x", "s"], ["r"]), helper.make_node("Flatten", ["r"], ["y"], axis=0)],
        [tensor("x", [2, 3, 4])],
        [out("y")],
        [initializer("s", [0, -1, 2], np.int64)],
    )
    circuit = agrees(built, {"x": normal(2, 3, 4)})
    assert circuit.params == []


@pytest.mark.parametrize(("axis", "target"), [(1, [-1, 12]), (-1, [-1, 4]), (3, [-1, 1])])
def test_flatten_with_a_symbolic_batch(axis: int, target: list[int]) -> None:
    built = model(
        [helper.make_node("Flatten", ["x"], ["y"], axis=axis)], [tensor("x", ["n", 3, 4])], [out("y")]
    )
    assert f"attrs: {{shape: {target}}}" in gatekit.onnx.load.imported_text(built)
    agrees(built, {"x": normal(5, 3, 4)})


def test_a_reshape_to_a_number_is_a_sum_of_one_element() -> None:
    built = model(
        [helper.make_node("Reshape", ["x", "s"], ["y"])], [tensor("x", [1, 1])], [tensor("y", [])],
        [initializer("s", np.zeros(0), np.int64)],
    )  # fmt: skip
    assert (
        "  y: {gate: sum, in: [x], attrs: {axis: null, keepdims: false}}"
        in gatekit.onnx.load.imported_text(built)
    )
    agrees(built, {"x": normal(1, 1)})


@pytest.mark.parametrize(
    ("shape", "op", "axes", "opset"),
    [
        ([4, 1], "Squeeze", [1], 13),
        (["batch", 1], "Squeeze", [-1], 13),
        ([1, 3, 1], "Squeeze", None, 13),
        ([1, 1], "Squeeze", None, 13),  # to a number: a sum of its one element
        ([1, "batch", 2], "Squeeze", [0], 11),  # axes as an attribute
        (["batch", 3], "Unsqueeze", [1], 13),
        (["batch", 3], "Unsqueeze", [0, -1], 13),
        ([3], "Unsqueeze", [0], 11),
    ],
)
def test_squeeze_and_unsqueeze(shape: list[int | str], op: str, axes: list[int] | None, opset: int) -> None:
    inputs, initializers, attrs = ["z"], [], {}
    if axes is not None and opset >= 13:
        inputs.append("a")
        initializers.append(initializer("a", axes, np.int64))
    elif axes is not None:
        attrs["axes"] = axes
    built = model([one(op, inputs, **attrs)], [tensor("z", shape)], [Y], initializers, opset=opset)
    sizes = [2 if size == "batch" else size for size in shape]
    agrees(built, {"z": normal(*sizes)})


def test_flatten_with_the_leading_axes_known() -> None:
    built = model([helper.make_node("Flatten", ["x"], ["y"], axis=2)], [tensor("x", [2, 3, "n"])], [out("y")])
    assert "attrs: {shape: [6, -1]}" in gatekit.onnx.load.imported_text(built)
    agrees(built, {"x": normal(2, 3, 5)})


def test_every_elementwise_operator_and_its_attributes() -> None:
    unary = [
        "Neg",
        "Reciprocal",
        "Sqrt",
        "Abs",
        "Exp",
        "Log",
        "Sin",
        "Cos",
        "Tanh",
        "Sigmoid",
        "Relu",
        "Softplus",
    ]
    nodes = [helper.make_node("Abs", ["x"], ["p"])]
    nodes += [helper.make_node(op, ["p"], [op.lower()]) for op in unary]
    nodes += [
        helper.make_node("LeakyRelu", ["x"], ["leaky"], alpha=0.2),
        helper.make_node("Pow", ["p", "x"], ["pow"]),
        helper.make_node("Div", ["x", "p"], ["div"]),
        helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0]),
        helper.make_node("MatMul", ["x", "t"], ["mm"]),
        helper.make_node("Identity", ["mm"], ["same"]),
    ]
    outputs = [op.lower() for op in unary] + ["leaky", "pow", "div", "t", "same"]
    built = model(nodes, [tensor("x", [2, 3])], [out(name) for name in outputs])
    agrees(built, {"x": normal(2, 3) + 0.5})


BOOL = TensorProto.BOOL


def masks_agree(built: Any, feed: dict[str, np.ndarray]) -> gatekit.Circuit:
    """Import ``built``, run it on ``feed``: the reference evaluator's numbers exactly (masks as 1 and 0).

    The reference gets each input in its declared type (float or bool); the
    circuit gets float64, a boolean as 1.0 and 0.0.
    """
    circuit = gatekit.from_onnx(built)
    types = {info.name: info.type.tensor_type.elem_type for info in built.graph.input}
    given = {k: v.astype(bool if types[k] == BOOL else np.float32) for k, v in feed.items()}
    with np.errstate(all="ignore"):
        want = ReferenceEvaluator(built).run(None, given)
    imported = import_model(built)
    result = circuit.run({imported.input_names[k]: v.astype(np.float64) for k, v in given.items()})
    for info, expected in zip(built.graph.output, want, strict=True):
        got = result.outputs[imported.output_names[info.name]]
        np.testing.assert_array_equal(got, np.asarray(expected, dtype=np.float64), err_msg=info.name)
    return circuit


def test_comparisons_logic_where_and_casts() -> None:
    nodes = [
        helper.make_node("Greater", ["a", "b"], ["gt"]),
        helper.make_node("Less", ["a", "b"], ["lt"]),
        helper.make_node("GreaterOrEqual", ["a", "b"], ["ge"]),
        helper.make_node("LessOrEqual", ["a", "b"], ["le"]),
        helper.make_node("Equal", ["a", "b"], ["eq"]),
        helper.make_node("Equal", ["gt", "lt"], ["same"]),  # booleans compared
        helper.make_node("IsNaN", ["a"], ["nan"]),
        helper.make_node("IsInf", ["a"], ["inf"]),
        helper.make_node("IsInf", ["a"], ["plus"], detect_negative=0),
        helper.make_node("IsInf", ["a"], ["minus"], detect_positive=0),
        helper.make_node("IsInf", ["a"], ["none"], detect_positive=0, detect_negative=0),
        helper.make_node("Not", ["gt"], ["not"]),
        helper.make_node("And", ["gt", "m"], ["and"]),
        helper.make_node("Or", ["lt", "m"], ["or"]),
        helper.make_node("Xor", ["ge", "m"], ["xor"]),
        helper.make_node("Where", ["ge", "a", "b"], ["where"]),
        helper.make_node("Where", ["m", "gt", "lt"], ["picked"]),  # masks picked
        helper.make_node("Cast", ["gt"], ["float"], to=FLOAT),
        helper.make_node("Cast", ["b"], ["double"], to=TensorProto.DOUBLE),
        helper.make_node("Cast", ["a"], ["truth"], to=BOOL),
        helper.make_node("Cast", ["m"], ["kept"], to=BOOL),
        helper.make_node("Transpose", ["m"], ["moved"]),
    ]
    outputs = [node.output[0] for node in nodes]
    built = model(nodes, [tensor("a", [2, 4]), tensor("b", [4]), tensor("m", [2, 4], BOOL)],
                  [out(name) for name in outputs])  # fmt: skip
    a = np.array([[1.0, 0.0, np.nan, np.inf], [-np.inf, 2.0, -3.0, 0.5]])
    b = np.array([1.0, -1.0, 0.0, np.inf])
    m = np.array([[1, 0, 1, 0], [0, 1, 1, 0]], dtype=bool)
    circuit = masks_agree(built, {"a": a, "b": b, "m": m})
    used = sorted({bound.gate.name for bound in circuit.plan.gates.values()})
    assert used == ["equal", "greater", "greater_equal", "identity", "is_inf", "is_nan", "logical_and",
                    "logical_not", "logical_or", "logical_xor", "transpose", "where"]  # fmt: skip
    text = gatekit.onnx.load.imported_text(built)
    assert "  lt: {gate: greater, in: [b, a]}  # node 1 (Less)" in text
    assert "  none: {gate: greater, in: [a, .inf]}  # node 10 (IsInf)" in text
    assert "  truth_zero: {gate: equal, in: [a, 0.0]}  # node 19 (Cast)" in text
    assert "  kept: {gate: identity, in: [m]}  # node 20 (Cast)" in text
    finite = {
        "a": np.array([[1.0, 0.5, 2.0, 3.0], [-1.0, 2.5, -3.0, 0.25]]),
        "b": np.array([1.0, -1.0, 0.0, 4.0]),
    }
    check_circuit(circuit, {**finite, "m": m.astype(float)})


def test_where_is_numpy_s_where_not_a_weighted_sum() -> None:
    built = model([helper.make_node("Where", ["m", "a", "b"], ["y"])],
                  [tensor("m", [3], BOOL), tensor("a", [3]), tensor("b", [3])], [out("y")])  # fmt: skip
    circuit = gatekit.from_onnx(built)
    inputs = {
        "m": np.array([1.0, 0.0, 1.0]),
        "a": np.array([2.0, np.inf, np.nan]),
        "b": np.array([np.inf, 3.0, 1.0]),
    }
    result = circuit.run(inputs, seed_grad=np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(result.outputs["y"], [2.0, 3.0, np.nan])
    np.testing.assert_array_equal(result.grads["a"], [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(result.grads["b"], [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(result.grads["m"], [0.0, 0.0, 0.0])


def test_boolean_initializers_and_constants_are_masks_never_trained() -> None:
    built = model(
        [
            helper.make_node("Constant", [], ["yes"], value=helper.make_tensor("yes", BOOL, [], [True])),
            helper.make_node("Constant", [], ["row"], value=helper.make_tensor("row", BOOL, [3], [1, 0, 1])),
            helper.make_node("And", ["keep", "yes"], ["both"]),
            helper.make_node("Or", ["both", "row"], ["any"]),
            helper.make_node("Where", ["any", "x", "w"], ["y"]),
        ],
        [tensor("x", [3])],
        [out("y")],
        [initializer("keep", [True, False, False], bool), initializer("w", [5.0, 6.0, 7.0])],
    )
    imported = import_model(built)
    assert list(imported.params) == ["w"]
    assert list(imported.inputs) == ["x", "keep", "row"]
    assert imported.inputs["keep"].tolist() == [1.0, 0.0, 0.0]
    assert imported.gates[0].inputs == ("keep", 1.0)
    assert imported.doc.endswith(
        "Inputs row are the model's Constant tensors (data, never trained). Inputs keep are the model's "
        "boolean initializers (masks of 1.0 and 0.0: data, never trained)."
    )
    masks_agree(built, {"x": np.array([1.0, 2.0, 3.0])})


def test_local_functions_are_inlined() -> None:
    square = helper.make_function(
        "custom", "square", ["v"], ["s"], [helper.make_node("Mul", ["v", "v"], ["s"])],
        [helper.make_opsetid("", 13)],
    )  # fmt: skip
    twice = helper.make_function(
        "custom", "fourth", ["v"], ["f"],
        [helper.make_node("square", ["v"], ["t"], domain="custom"),
         helper.make_node("square", ["t"], ["f"], domain="custom")],
        [helper.make_opsetid("", 13), helper.make_opsetid("custom", 1)],
    )  # fmt: skip
    graph = helper.make_graph(
        [helper.make_node("fourth", ["x"], ["y"], domain="custom")], "g", [tensor("x", [2])], [out("y")]
    )
    built = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("custom", 1)],
        functions=[square, twice],
    )
    circuit = agrees(built, {"x": np.array([1.5, -2.0])})
    assert [bound.gate.name for bound in circuit.plan.gates.values()] == ["mul", "mul"]


def test_names_are_kept_made_valid_and_never_meet() -> None:
    built = model(
        [
            helper.make_node("Relu", ["input:0"], ["/fc1/Relu_output_0"], name="/fc1/Relu"),
            helper.make_node("Neg", ["/fc1/Relu_output_0"], ["/fc1/Relu:1"], name="/fc1/Relu"),
            helper.make_node("Exp", ["/fc1/Relu:1"], ["on"]),
            helper.make_node("Abs", ["on"], ["null"], name="2nd"),
        ],
        [tensor("input:0", [2])],
        [out("null")],
    )
    imported = import_model(built)
    assert imported.input_names == {"input:0": "input_0"}
    assert [gate.name for gate in imported.gates] == ["fc1_Relu", "fc1_Relu_2", "on", "null"]
    text = circuit_text(imported)
    assert '  "on": {gate: exp, in: [fc1_Relu_2]}  # node 2 (Exp)' in text
    assert '  "null": {gate: abs, in: ["on"]}  # node 3 \'2nd\' (Abs)' in text
    assert 'outputs: ["null"]' in text
    assert gatekit.loads(text).outputs == ["null"]


def test_an_output_that_is_an_input_or_a_constant_is_that_leaf() -> None:
    built = model(
        [helper.make_node("Constant", [], ["c"], value=helper.make_tensor("c", FLOAT, [], [3.0]))],
        [tensor("x", [2])],
        [out("x"), out("c")],
    )
    circuit = gatekit.from_onnx(built)
    assert circuit.outputs == ["x", "c"]
    assert circuit.run().outputs["c"] == 3.0


def test_float16_and_double_are_read_as_float64() -> None:
    built = model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [tensor("x", [2], TensorProto.DOUBLE)],
        [out("y", TensorProto.DOUBLE)],
        [initializer("w", [0.5, 0.25], np.float16)],
    )
    circuit = gatekit.from_onnx(built)
    assert circuit.run(x=np.array([1.0, 2.0])).outputs["y"].tolist() == [1.5, 2.25]


def test_big_values_are_written_at_full_precision() -> None:
    values = np.array([[0.1, 1e-5], [np.inf, -np.inf]], dtype=np.float32)
    built = model(
        [helper.make_node("Mul", ["x", "w"], ["y"])], [tensor("x", [2, 2])], [out("y")],
        [initializer("w", values)],
    )  # fmt: skip
    text = gatekit.onnx.load.imported_text(built)
    assert "  w: [[0.10000000149011612, 9.999999747378752e-06], [.inf, -.inf]]\n" in text
    assert gatekit.loads(text).run().values["w"].tolist() == values.astype(np.float64).tolist()


# -- the command line, and what the imported file does ----------------------------------------------


def mlp_with_loss() -> Any:
    """A 2-8-1 ReLU perceptron and its mean squared error against targets t: outputs loss, pred."""
    rng = np.random.default_rng(1)
    return model(
        [
            helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], name="fc1"),
            helper.make_node("Relu", ["h"], ["r"], name="relu1"),
            helper.make_node("MatMul", ["r", "W2"], ["m"], name="fc2"),
            helper.make_node("Add", ["m", "b2"], ["pred"]),
            helper.make_node("Sub", ["pred", "t"], ["d"]),
            helper.make_node("Mul", ["d", "d"], ["sq"]),
            helper.make_node("ReduceMean", ["sq"], ["loss"], keepdims=0),
        ],
        [tensor("x", ["batch", 2]), tensor("t", ["batch", 1])],
        [tensor("loss", []), tensor("pred", ["batch", 1])],
        [
            initializer("W1", rng.normal(size=(2, 8))),
            initializer("b1", np.full(8, 0.1)),
            initializer("W2", rng.normal(size=(8, 1)) * 0.5),
            initializer("b2", [0.0]),
        ],
        name="mlp",
    )


@pytest.fixture
def mlp(tmp_path: Path) -> Path:
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp_with_loss(), path)
    return path


def test_import_writes_a_circuit_that_runs_explains_draws_and_checks(
    mlp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mlp.yaml"
    assert main(["import", str(mlp), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}: 2 inputs, 4 params, 8 gates, outputs: loss, pred\n"
    x, t = normal(5, 2), normal(5, 1)
    data = tmp_path / "data.npz"
    np.savez(data, x=x, t=t)
    assert main(["run", str(out), "--inputs", str(data), "--json"]) == 0
    ran = json.loads(capsys.readouterr().out)
    (want_loss, want_pred) = ReferenceEvaluator(mlp_with_loss()).run(
        None, {"x": x.astype(np.float32), "t": t.astype(np.float32)}
    )
    np.testing.assert_allclose(ran["outputs"]["pred"], want_pred, rtol=1e-5)
    np.testing.assert_allclose(ran["outputs"]["loss"], want_loss, rtol=1e-5)
    assert main(["explain", str(out), "--inputs", str(data)]) == 0
    assert "relu1" in capsys.readouterr().out
    assert main(["draw", str(out), "--inputs", str(data), "-o", str(tmp_path / "mlp.dot")]) == 0
    assert "fc1" in (tmp_path / "mlp.dot").read_text()
    assert main(["check", str(out), "--inputs", str(data)]) == 0
    assert main(["validate", str(out)]) == 0


def test_an_imported_mlp_trains(mlp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mlp.yaml"
    assert main(["import", str(mlp), "-o", str(out)]) == 0
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(64, 2))
    t = (x[:, :1] ** 2 + 0.5 * x[:, 1:]).astype(np.float64)
    np.savez(tmp_path / "data.npz", x=x, t=t)
    log = tmp_path / "log.csv"
    trained = tmp_path / "trained.yaml"
    args = ["train", str(out), "--inputs", str(tmp_path / "data.npz"), "--steps", "200", "--lr", "0.05"]
    assert main([*args, "--log", str(log), "-o", str(trained), "-q"]) == 0
    capsys.readouterr()
    rows = log.read_text().splitlines()
    header = rows[0].split(",")
    losses = [float(row.split(",")[header.index("loss")]) for row in rows[1:]]
    assert losses[-1] < 0.5 * losses[0]
    before = gatekit.load(out).run(x=x, t=t).outputs["loss"]
    after = gatekit.load(trained).run(x=x, t=t).outputs["loss"]
    assert after < 0.5 * before


def test_import_from_the_command_line_in_a_process(mlp: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", "import", str(mlp), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("gatekit: 1\nname: mlp\n")
    assert done.stdout == f"wrote {out}: 2 inputs, 4 params, 8 gates, outputs: loss, pred\n"


# -- errors -----------------------------------------------------------------------------------------


def fails(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run the command line; it must exit 2 with one error line and no traceback: that line."""
    assert main(list(args)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def unsupported_model() -> Any:
    weight = initializer("k", normal(1, 1, 3, 3))
    return model(
        [
            helper.make_node("Relu", ["x"], ["a"]),
            helper.make_node("Neg", ["a"], ["b"]),
            helper.make_node("Conv", ["b", "k"], ["c"], name="conv1"),
            helper.make_node("Cast", ["c"], ["y"], to=TensorProto.INT64),
        ],
        [tensor("x", [1, 1, 5, 5])],
        [out("y")],
        [weight],
    )


def test_every_node_that_cannot_be_imported_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    onnx.save(unsupported_model(), tmp_path / "model.onnx")
    out = tmp_path / "model.yaml"
    out.write_text("kept\n")
    os.chdir(tmp_path)
    line = fails(capsys, "import", "model.onnx", "-o", str(out))
    assert line == (
        "error: model.onnx: cannot import 2 nodes: node 2 'conv1' (Conv): operator not supported; "
        "node 3 (Cast): attribute to=int64 not supported (a cast to float, double, float16 or bool)"
    )
    assert out.read_text() == "kept\n"
    assert line in (ROOT / "README.md").read_text()  # the README shows this very line


def test_a_bad_output_path_is_refused_before_the_model_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nowhere" / "c.yaml")
    assert fails(capsys, "import", "no-such.onnx", "-o", missing) == (
        f"error: {missing}: cannot write the file: the folder '{tmp_path / 'nowhere'}' does not exist"
    )
    assert fails(capsys, "import", "no-such.onnx", "-o", str(tmp_path / "c.txt")) == (
        f"error: {tmp_path / 'c.txt'}: unsupported file type '.txt'; an imported circuit can be written to "
        ".yaml, .yml only"
    )


def test_files_that_are_no_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    os.chdir(tmp_path)
    out = str(tmp_path / "c.yaml")
    assert fails(capsys, "import", "missing.onnx", "-o", out) == (
        "error: missing.onnx: cannot read the file: No such file or directory"
    )
    Path("text.onnx").write_bytes(b"\xff\xff\xff not a model")
    assert fails(capsys, "import", "text.onnx", "-o", out).startswith(
        "error: text.onnx: not an ONNX model: cannot parse it (DecodeError: "
    )
    Path("empty.onnx").write_bytes(b"")
    assert fails(capsys, "import", "empty.onnx", "-o", out) == (
        "error: empty.onnx: not an ONNX model: it holds no graph"
    )
    broken = unsupported_model()
    broken.graph.node[2].input.pop()  # a Conv of one input
    onnx.save(broken, "broken.onnx")
    assert fails(capsys, "import", "broken.onnx", "-o", out) == (
        "error: broken.onnx: not a valid ONNX model: Node(conv1) with schema(::Conv:11) has input size 1 "
        "not in range [min=2, max=3]."
    )
    onnx.save(mlp_with_loss(), "big.onnx")
    monkeypatch.setenv("GATEKIT_MAX_FILE_BYTES", "100")
    assert fails(capsys, "import", "big.onnx", "-o", out) == (
        "error: big.onnx: the file's size in bytes exceeds the limit of 100 (set GATEKIT_MAX_FILE_BYTES to "
        "raise it)"
    )
    assert not Path(out).exists()


def test_without_onnx_the_command_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails
    message = "gatekit import needs onnx, which is not installed: pip install 'gatekit-circuits[onnx]'"
    assert fails(capsys, "import", "m.onnx", "-o", str(tmp_path / "c.yaml")) == f"error: {message}"
    with pytest.raises(gatekit.UsageError) as raised:
        gatekit.from_onnx("m.onnx")
    assert str(raised.value) == message


def test_import_gatekit_needs_no_onnx() -> None:
    code = "import sys; sys.modules['onnx'] = None; import gatekit; print(gatekit.from_onnx.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "from_onnx\n"


def refused(built: Any, checked: bool = True) -> str:
    """The message of importing ``built`` (checked by ONNX's checker first, unless not ``checked``)."""
    with pytest.raises(gatekit.UsageError) as raised:
        if checked:
            gatekit.from_onnx(built)
        else:
            import_model(built)
    return str(raised.value)


def one(op: str, inputs: list[str], **attrs: Any) -> Any:
    return helper.make_node(op, inputs, ["y"], **attrs)


X = tensor("x", [2, 3])
Y = out("y")
CASES: list[tuple[str, Callable[[], Any], str]] = [
    (
        "attribute value",
        lambda: model([one("Gemm", ["x", "x"], transA=2)], [X], [Y]),
        "node 0 (Gemm): attribute transA=2 not supported (0 or 1)",
    ),
    (
        "old broadcast attributes",
        lambda: model([one("Add", ["x", "x"], broadcast=1)], [X], [Y], opset=6),
        "node 0 (Add): attribute broadcast not supported",
    ),
    (
        "integer input",
        lambda: model([one("Add", ["x", "i"])], [X, tensor("i", [3], TensorProto.INT64)], [Y]),
        "node 0 (Add): input 'i' has element type int64; gatekit computes in float64 (from float, float16, "
        "double)",
    ),
    (
        "integer initializer",
        lambda: model([one("Add", ["x", "i"])], [X], [Y], [initializer("i", [1, 2, 3], np.int32)]),
        "node 0 (Add): input 'i' has element type int32; gatekit computes in float64 (from float, float16, "
        "double)",
    ),
    (
        "empty input",
        lambda: model([one("Relu", ["e"])], [tensor("e", [2, 0])], [Y]),
        "node 0 (Relu): input 'e' is empty (shape [2, 0])",
    ),
    (
        "empty initializer",
        lambda: model([one("Relu", ["e"])], [], [Y], [initializer("e", np.zeros((0, 2)))]),
        "node 0 (Relu): input 'e' is empty (shape [0, 2])",
    ),
    (
        "shape from a graph input",
        lambda: model([one("Reshape", ["x", "s"])], [X, tensor("s", [2], TensorProto.INT64)], [Y]),
        "node 0 (Reshape): its input 's' must be known at import (an initializer or a Constant), not the "
        "graph input 's'",
    ),
    (
        "shape from a node",
        lambda: model([helper.make_node("Neg", ["x"], ["n"]), one("Reshape", ["x", "n"])], [X], [Y]),
        "node 1 (Reshape): its input 'n' must be known at import (an initializer or a Constant), not node 0",
    ),
    (
        "shape from nowhere",
        lambda: model([one("Reshape", ["x", "ghost"])], [X], [Y]),
        "node 0 (Reshape): its input 'ghost' must be known at import (an initializer or a Constant), not "
        "a tensor nothing makes",
    ),
    (
        "input of no type",
        lambda: model([one("Relu", ["u"])], [onnx.ValueInfoProto(name="u")], [Y]),
        "node 0 (Relu): input 'u' is not a tensor (it is a value of no type)",
    ),
    (
        "shape of floats",
        lambda: model([one("Reshape", ["x", "s"])], [X], [Y], [initializer("s", [3.0, 2.0])]),
        "node 0 (Reshape): its shape must be a list of integers",
    ),
    (
        "shape of bad sizes",
        lambda: model([one("Reshape", ["x", "s"])], [X], [Y], [initializer("s", [-2, 3], np.int64)]),
        "node 0 (Reshape): shape [-2, 3] not supported (sizes of -1, at most once, 0 or more)",
    ),
    (
        "allowzero",
        lambda: model(
            [one("Reshape", ["x", "s"], allowzero=1)], [X], [Y], [initializer("s", [0, 6], np.int64)]
        ),
        "node 0 (Reshape): allowzero=1 with a size of 0 in the shape (an empty tensor) not supported",
    ),
    (
        "keepdims",
        lambda: model([one("ReduceSum", ["x"], keepdims=2)], [X], [Y]),
        "node 0 (ReduceSum): attribute keepdims=2 not supported (0 or 1)",
    ),
    (
        "old softmax over several axes",
        lambda: model([one("Softmax", ["z"])], [tensor("z", [2, 3, 4])], [Y], opset=11),
        "node 0 (Softmax): axis=1 on an input of 3 axes: opset 11 takes it over the axes from 1 on "
        "(gatekit's softmax takes one axis)",
    ),
    (
        "old softmax of an unknown rank",
        lambda: model([one("LogSoftmax", ["z"])], [tensor("z", None)], [Y], opset=11),
        "node 0 (LogSoftmax): opset 11 takes it over the axes from 1 on: the input's rank must be known",
    ),
    (
        "flatten of an unknown shape",
        lambda: model([one("Flatten", ["z"])], [tensor("z", None)], [Y]),
        "node 0 (Flatten): the input's shape must be known",
    ),
    (
        "flatten of unknown sizes on both sides",
        lambda: model([one("Flatten", ["z"], axis=1)], [tensor("z", ["a", "b"])], [Y]),
        "node 0 (Flatten): the input's shape must be known on one side of the axis at least",
    ),
    (
        "squeeze of an unknown shape",
        lambda: model([one("Squeeze", ["z"])], [tensor("z", None)], [Y]),
        "node 0 (Squeeze): the input's shape must be known",
    ),
    (
        "squeeze of all ones, sizes unknown",
        lambda: model([one("Squeeze", ["z"])], [tensor("z", ["a", 1])], [Y]),
        "node 0 (Squeeze): without axes, every size of the input must be known",
    ),
    (
        "squeeze of an axis whose size is not 1",
        lambda: model([one("Squeeze", ["x", "a"])], [X], [Y], [initializer("a", [1], np.int64)]),
        "node 0 (Squeeze): axes [1] include an axis whose size is not 1 (shape [2, 3])",
    ),
    (
        "squeeze out of range",
        lambda: model([one("Squeeze", ["x", "a"])], [X], [Y], [initializer("a", [2], np.int64)]),
        "node 0 (Squeeze): axes [2] out of range for an input of 2 axes",
    ),
    (
        "squeeze of two sizes unknown",
        lambda: model(
            [one("Squeeze", ["z", "a"])], [tensor("z", [1, "b", "c"])], [Y], [initializer("a", [0], np.int64)]
        ),
        "node 0 (Squeeze): the input's shape must be known (more than one size is not)",
    ),
    (
        "unsqueeze of an unknown shape",
        lambda: model(
            [one("Unsqueeze", ["z", "a"])], [tensor("z", None)], [Y], [initializer("a", [0], np.int64)]
        ),
        "node 0 (Unsqueeze): the input's shape must be known",
    ),
    (
        "unsqueeze without axes",
        lambda: model([one("Unsqueeze", ["x"])], [X], [Y], opset=11),
        "node 0 (Unsqueeze): its axes must be given",
    ),
    (
        "unsqueeze of an axis twice",
        lambda: model([one("Unsqueeze", ["x", "a"])], [X], [Y], [initializer("a", [0, -4], np.int64)]),
        "node 0 (Unsqueeze): axes [0, -4] name an axis twice",
    ),
    (
        "integer constant",
        lambda: model(
            [helper.make_node("Constant", [], ["k"], value_int=3), one("Add", ["x", "k"])], [X], [Y]
        ),
        "node 1 (Add): input 'k' is an integer Constant; gatekit computes in float64",
    ),
    (
        "string constant",
        lambda: model([helper.make_node("Constant", [], ["y"], value_string="hi")], [], [Y]),
        "node 0 (Constant): attribute value_string not supported (value, value_float, value_floats)",
    ),
    (
        "sequence input",
        lambda: model(
            [one("Identity", ["s"])],
            [helper.make_tensor_sequence_value_info("s", FLOAT, None)],
            [helper.make_tensor_sequence_value_info("y", FLOAT, None)],
        ),
        "node 0 (Identity): input 's' is not a tensor (it is a sequence)",
    ),
    (
        "boolean input where numbers are read",
        lambda: model([one("Add", ["x", "m"])], [X, tensor("m", [2, 3], TensorProto.BOOL)], [Y]),
        "node 0 (Add): input 'm' is a boolean tensor, which Add does not take",
    ),
    (
        "IsInf's flags",
        lambda: model([one("IsInf", ["x"], detect_negative=2)], [X], [Y]),
        "node 0 (IsInf): attribute detect_negative=2 not supported (0 or 1)",
    ),
    (
        "cast to an integer",
        lambda: model([one("Cast", ["x"], to=TensorProto.INT32)], [X], [Y]),
        "node 0 (Cast): attribute to=int32 not supported (a cast to float, double, float16 or bool)",
    ),
    (
        "another domain",
        lambda: helper.make_model(
            helper.make_graph([helper.make_node("Gelu", ["x"], ["y"], domain="com.example")], "g", [X], [Y]),
            opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)],
        ),
        "node 0 (com.example.Gelu): operator not supported (domain 'com.example')",
    ),
]


@pytest.mark.parametrize(("why", "build", "message"), CASES, ids=[case[0] for case in CASES])
def test_what_cannot_be_imported(why: str, build: Callable[[], Any], message: str) -> None:
    # Not all of these pass ONNX's checker (an input of no shape): imported unchecked.
    assert refused(build(), checked=False) == f"<model>: cannot import 1 node: {message}"


def test_a_graph_output_of_another_type() -> None:
    built = model([], [tensor("i", [2], TensorProto.INT64)], [out("i", TensorProto.INT64)])
    assert refused(built) == (
        "<model>: cannot import the model: graph output 'i': has element type int64; gatekit computes in "
        "float64 (from float, float16, double)"
    )


def test_a_model_without_outputs() -> None:
    assert refused(model([], [X], [])) == "<model>: cannot import the model: it has no output"


def test_an_external_initializer() -> None:
    built = model([one("Relu", ["w"])], [], [Y], [initializer("w", [1.0, 2.0])])
    init = built.graph.initializer[0]
    init.ClearField("raw_data")
    init.data_location = TensorProto.EXTERNAL
    init.external_data.add(key="location", value="weights.bin")
    assert refused(built, checked=False) == (
        "<model>: cannot import 1 node: node 0 (Relu): input 'w' keeps its data in another file (external "
        "data); not supported"
    )


def test_a_missing_input_of_an_unchecked_model() -> None:
    built = model([helper.make_node("Reshape", ["x"], ["y"])], [X], [Y])
    assert (
        refused(built, checked=False)
        == "<model>: cannot import 1 node: node 0 (Reshape): its input 1 is missing"
    )


def test_several_problems_in_one_message() -> None:
    built = model(
        [one("Gemm", ["x", "x"], transB=3), helper.make_node("Tile", ["x", "r"], ["z"], name="tile")],
        [X],
        [Y, out("z")],
        [initializer("r", [1, 2], np.int64)],
    )
    assert refused(built) == (
        "<model>: cannot import 2 nodes: node 0 (Gemm): attribute transB=3 not supported (0 or 1); "
        "node 1 'tile' (Tile): operator not supported"
    )
