"""The loss gates: values against NumPy reference formulas, both target forms, errors, stability.

tests/test_gates.py checks every gate's gradient at random points; for
softmax_cross_entropy those are probability targets, since central
differences cannot move a class label (it must stay a whole number). Here
the label form is checked at explicit points through a one-input gate that
holds the labels fixed, against a NumPy reference, and against the same
rows written one-hot.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gatekit
from gatekit import GateSpec, RunError, SpecGate, hookimpl
from gatekit.gates import losses
from gatekit.testing import GradientCheck, check_circuit, check_gate, compare_gate

REGISTRY = gatekit.default_registry(autoload=False)
LOSSES = (
    "softmax",
    "log_softmax",
    "softmax_cross_entropy",
    "binary_cross_entropy_with_logits",
    "hinge",
    "step",
)
RNG_SEED = 20240611

Z = np.array([[2.0, 1.0, 0.0, -1.0], [0.5, -0.5, 3.0, 0.0], [-2.0, 0.0, 0.0, 1.5]])
LABELS = np.array([0.0, 2.0, 1.0])
ONE_HOT = np.eye(4)[LABELS.astype(int)]


def bind(name: str, **attrs: Any) -> tuple[Callable[..., Any], Callable[..., Any], bool]:
    """The gate's hooks with ``attrs`` converted as the loader does, defaults for the rest."""
    spec = REGISTRY[name].spec
    converted = {key: spec.attrs[key].convert(value) for key, value in attrs.items()}
    return REGISTRY[name].bind({key: attr.default for key, attr in spec.attrs.items()} | converted)


def run(name: str, *inputs: Any, upstream: Any = None, **attrs: Any) -> tuple[Any, list[Any]]:
    """Forward, and the gradient reaching each input for ``upstream`` (default: ones)."""
    forward, backward, is_vjp = bind(name, **attrs)
    output = forward(list(inputs))
    if upstream is None:
        upstream = 1.0 if type(output) is float else np.ones_like(output)
    if is_vjp:
        return output, list(backward(list(inputs), output, upstream))
    return output, [local * upstream for local in backward(list(inputs), output)]


# -- NumPy references, written the plain way (fine for moderate logits) -------------------------


def ref_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def ref_cross_entropy(z: np.ndarray, labels: np.ndarray, reduction: str = "mean") -> Any:
    """Cross-entropy of rows of ``z`` (class axis last) against integer ``labels``, by the textbook."""
    rows = -np.log(ref_softmax(z)[np.arange(len(labels)), labels.astype(int)])
    return {"mean": rows.mean(), "sum": rows.sum(), "none": rows}[reduction]


def test_every_loss_passes_check_gate() -> None:
    gates = losses.gatekit_register_gates()
    assert [gate.spec.name for gate in gates] == list(LOSSES)
    for gate in gates:
        assert all_agree(check_gate(gate, count=5), kinks=True)  # the object, as a plugin's tests do
        assert all_agree(check_gate(gate.spec.name, count=5), kinks=True)  # the registered gate


def test_check_gate_on_the_cross_entropy_checks_both_inputs_with_probability_targets() -> None:
    for reduction in ("mean", "sum", "none"):
        rows = check_gate("softmax_cross_entropy", attrs={"reduction": reduction}, count=3)
        assert {row.position for row in rows} == {0, 1}
        assert all(row.ok and not row.skipped for row in rows)


def test_check_cli_checks_the_cross_entropy_at_its_examples() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", "check", "--gate", "softmax_cross_entropy", "--points", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # 3 examples, 2 points each, 2 inputs: the gradient, forward against reverse, gate_jvp against differences
    assert done.stdout.splitlines()[-1] == "36 checks: 36 ok, 0 skipped, 0 failed"


# -- softmax and log_softmax ----------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1, -2])
def test_softmax_and_log_softmax_equal_the_reference(axis: int) -> None:
    s, _ = run("softmax", Z, axis=axis)
    np.testing.assert_allclose(s, ref_softmax(Z, axis), rtol=1e-15)
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-15)
    ls, _ = run("log_softmax", Z, axis=axis)
    np.testing.assert_allclose(ls, np.log(ref_softmax(Z, axis)), rtol=1e-14, atol=1e-15)


def test_softmax_vjp_is_the_jacobian_product() -> None:
    z = Z[1]
    s = ref_softmax(z)
    jacobian = np.diag(s) - np.outer(s, s)  # d s_i / d z_j
    u = np.array([1.0, -2.0, 0.5, 3.0])
    _, (grad,) = run("softmax", z, upstream=u)
    np.testing.assert_allclose(grad, u @ jacobian, rtol=1e-14, atol=1e-16)
    _, (grad,) = run("log_softmax", z, upstream=u)
    np.testing.assert_allclose(grad, u @ (np.eye(4) - np.outer(np.ones(4), s)), rtol=1e-14, atol=1e-16)


def test_softmax_along_an_axis_the_input_lacks_fails_the_run_naming_the_gate() -> None:
    circuit = gatekit.loads(
        "inputs: {x: [1.0, 2.0]}\ngates:\n  s: {gate: softmax, in: [x], attrs: {axis: 1}}\noutputs: [s]\n"
    )
    with pytest.raises(RunError) as info:
        circuit.run()
    assert info.value.message.startswith(
        "gate 's' (softmax, plugin 'gatekit.gates.losses:softmax') failed in"
    )
    assert "AxisError: axis 1 is out of bounds for array of dimension 1" in info.value.message
    with pytest.raises(np.exceptions.AxisError, match="axis -1 is out of bounds for array of dimension 0"):
        run("log_softmax", 2.0)


# -- softmax_cross_entropy: the two forms of targets -------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_labels_give_the_reference_cross_entropy(reduction: str) -> None:
    loss, (grad_z, grad_t) = run("softmax_cross_entropy", Z, LABELS, reduction=reduction)
    np.testing.assert_allclose(loss, ref_cross_entropy(Z, LABELS, reduction), rtol=1e-14)
    scale = 1.0 / 3 if reduction == "mean" else 1.0
    np.testing.assert_allclose(grad_z, (ref_softmax(Z) - ONE_HOT) * scale, rtol=1e-14, atol=1e-16)
    assert grad_t.shape == LABELS.shape and not grad_t.any()  # labels are data: gradient 0
    if reduction != "none":
        assert type(loss) is float


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_one_hot_rows_give_what_their_labels_give(reduction: str, axis: int) -> None:
    z, one_hot = (Z, ONE_HOT) if axis == -1 else (Z.T, ONE_HOT.T)  # axis 0: classes down the columns
    upstream = np.array([1.0, 2.0, -0.5]) if reduction == "none" else 1.5
    by_label = run("softmax_cross_entropy", z, LABELS, upstream=upstream, axis=axis, reduction=reduction)
    by_row = run("softmax_cross_entropy", z, one_hot, upstream=upstream, axis=axis, reduction=reduction)
    np.testing.assert_allclose(by_label[0], by_row[0], rtol=1e-15)
    np.testing.assert_allclose(by_label[1][0], by_row[1][0], rtol=1e-15, atol=1e-17)
    scale = {"mean": upstream / 3, "sum": upstream, "none": np.expand_dims(upstream, axis)}[reduction]
    log_s, _ = run("log_softmax", z, axis=axis)
    np.testing.assert_allclose(by_row[1][1], -log_s * scale, rtol=1e-15)  # the targets' gradient


def test_probability_targets_give_the_reference_cross_entropy_and_gradients() -> None:
    t = np.array([[0.7, 0.2, 0.1, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 0.5, 0.5, 0.0]])
    loss, (grad_z, grad_t) = run("softmax_cross_entropy", Z, t, upstream=2.0, reduction="sum")
    log_s = np.log(ref_softmax(Z))
    assert loss == pytest.approx(float(-(t * log_s).sum()), rel=1e-14)
    np.testing.assert_allclose(grad_z, 2.0 * (ref_softmax(Z) * t.sum(-1, keepdims=True) - t), atol=1e-15)
    np.testing.assert_allclose(grad_t, -2.0 * log_s, rtol=1e-14)


def test_targets_that_do_not_sum_to_one_scale_the_softmax_in_the_gradient() -> None:
    t = np.array([2.0, 0.0, 1.0, 0.0])  # sum 3
    _, (grad_z, _) = run("softmax_cross_entropy", Z[0], t)
    np.testing.assert_allclose(grad_z, 3.0 * ref_softmax(Z[0]) - t, rtol=1e-14, atol=1e-16)


class FixedLabels(SpecGate):
    """softmax_cross_entropy of its one input, the logits, against labels it holds.

    Central differences move an input by a little: labels cannot be moved
    (2.000001 is no class), so their zero gradient is asserted directly and
    only the logits go through :func:`compare_gate`.
    """

    spec = GateSpec("cross_entropy_of_logits", 1, "softmax_cross_entropy(z, labels), labels fixed.")

    def __init__(self, labels: Any, **attrs: Any) -> None:
        self.labels = labels
        self.hooks = bind("softmax_cross_entropy", **attrs)

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        return self.hooks[0]([inputs[0], self.labels])

    @hookimpl
    def gate_vjp(self, inputs: Sequence[Any], output: Any, upstream: Any) -> Sequence[Any]:
        grad_z, grad_labels = self.hooks[1]([inputs[0], self.labels], output, upstream)
        assert not np.any(grad_labels)
        return (grad_z,)


def all_agree(rows: list[GradientCheck], kinks: bool = False) -> bool:
    """Every row agrees; none is skipped, unless ``kinks`` allows rows skipped at a kink."""
    allowed = {"", "kink"} if kinks else {""}
    return bool(rows) and all(row.ok and row.note in allowed for row in rows)


@pytest.mark.parametrize(
    ("logits", "labels", "attrs"),
    [
        (Z, LABELS, {}),
        (Z, LABELS, {"reduction": "sum"}),
        (Z, LABELS, {"reduction": "none"}),
        (Z.T, LABELS, {"axis": 0}),
        (Z[1], 3.0, {}),  # one row: the label is a number
        (Z[1], 0.0, {"reduction": "none"}),
        (np.stack([Z, -Z]), np.array([[0.0, 1.0, 2.0], [3.0, 3.0, 0.0]]), {}),  # (2, 3, 4): rows (2, 3)
        (
            np.stack([Z, -Z, 0.5 * Z], axis=1),  # (3, 3, 4): classes along axis 1, rows (3, 4)
            np.array([[0.0, 1.0, 2.0, 0.0], [2.0, 2.0, 1.0, 0.0], [1.0, 0.0, 0.0, 2.0]]),
            {"axis": 1, "reduction": "none"},
        ),
        (np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]]), np.array([1.0, 2.0]), {}),
    ],
    ids=["mean", "sum", "none", "axis0", "one-row", "one-row-none", "3d", "3d-axis1", "1e3"],
)
def test_the_label_form_matches_central_differences(logits: Any, labels: Any, attrs: dict[str, Any]) -> None:
    assert all_agree(compare_gate(FixedLabels(labels, **attrs), [logits]))


def test_the_probability_form_matches_central_differences_at_explicit_points() -> None:
    t = np.array([[0.7, 0.2, 0.1, 0.0], [0.0, 0.0, 1.0, 0.0], [0.3, 0.3, 0.3, 0.3]])
    for reduction in ("mean", "sum", "none"):
        assert all_agree(compare_gate("softmax_cross_entropy", [Z, t], {"reduction": reduction}))


def test_a_one_row_loss_and_its_gradients_are_python_floats_where_numbers() -> None:
    loss, (grad_z, grad_t) = run("softmax_cross_entropy", Z[0], 1.0, reduction="none")
    assert type(loss) is float and type(grad_t) is float and grad_t == 0.0
    assert loss == pytest.approx(float(ref_cross_entropy(Z[:1], np.array([1.0]))), rel=1e-15)
    np.testing.assert_allclose(grad_z, ref_softmax(Z[0]) - np.eye(4)[1], atol=1e-16)


def test_a_zero_target_adds_nothing_where_a_logit_is_minus_infinity() -> None:
    """0 log 0 = 0: a masked class (logit -inf) costs nothing, in both forms."""
    z = np.array([2.0, -math.inf, 0.0])
    by_row, (grad_z, _) = run("softmax_cross_entropy", z, np.array([1.0, 0.0, 0.0]))
    by_label, (label_grad, _) = run("softmax_cross_entropy", z, 0.0)
    assert by_row == by_label == pytest.approx(math.log1p(math.exp(-2.0)), rel=1e-15)
    assert grad_z.tolist() == label_grad.tolist()
    assert grad_z[1] == 0.0 and np.isfinite(grad_z).all()


def test_a_batch_classifier_learns_from_labels_as_from_one_hot_rows() -> None:
    """A linear layer, a bias and the mean cross-entropy over a batch of 3, end to end."""
    circuit = """
        inputs: {{X: [[1.0, -2.0], [0.5, 0.5], [-1.0, 2.0]], T: {targets}}}
        params:
          W: [[0.5, -1.0, 2.0, 0.0], [1.5, 0.25, -0.5, 1.0]]
          b: [0.1, -0.2, 0.0, 0.3]
        gates:
          h: {{gate: matmul, in: [X, W]}}
          z: {{gate: add, in: [h, b]}}
          loss: {{gate: softmax_cross_entropy, in: [z, T]}}
        outputs: [loss]
    """
    by_label = gatekit.loads(circuit.format(targets=LABELS.tolist())).run()
    one_hot = gatekit.loads(circuit.format(targets=ONE_HOT.tolist()))
    by_row = one_hot.run()
    x = np.array([[1.0, -2.0], [0.5, 0.5], [-1.0, 2.0]])
    w = np.array([[0.5, -1.0, 2.0, 0.0], [1.5, 0.25, -0.5, 1.0]])
    z = x @ w + np.array([0.1, -0.2, 0.0, 0.3])
    d_z = (ref_softmax(z) - ONE_HOT) / 3
    assert by_label.outputs["loss"] == pytest.approx(float(ref_cross_entropy(z, LABELS)), rel=1e-14)
    np.testing.assert_allclose(by_label.grads["W"], x.T @ d_z, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(by_label.grads["b"], d_z.sum(axis=0), rtol=1e-13, atol=1e-16)
    assert not by_label.grads["T"].any()
    for key in ("W", "b", "X"):
        np.testing.assert_allclose(by_label.grads[key], by_row.grads[key], rtol=1e-14, atol=1e-16)
    assert by_label.outputs["loss"] == pytest.approx(by_row.outputs["loss"], rel=1e-15)
    assert all_agree(check_circuit(one_hot))


# -- softmax_cross_entropy: mistakes -------------------------------------------------------------------


def one_gate(gate: str, inputs: str, attrs: str = "{}") -> str:
    return (
        "inputs: {z: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], y: [0.0, 2.0], s: [1.0, -1.0], w: 2.5}\n"
        f"gates:\n  g: {{gate: {gate}, in: {inputs}, attrs: {attrs}}}\noutputs: [g]\n"
    )


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        ("[0, 2.5]", "got 2.5 at index [1]"),
        ("[-1, 0]", "got -1 at index [0]"),
        ("[0, 3]", "got 3 at index [1]"),
        ("[.nan, 0]", "got nan at index [0]"),
        ("[0, .inf]", "got inf at index [1]"),
    ],
)
def test_labels_that_are_no_class_fail_the_run_naming_the_gate(labels: str, words: str) -> None:
    text = one_gate("softmax_cross_entropy", "[z, y]").replace("y: [0.0, 2.0]", f"y: {labels}")
    with pytest.raises(RunError) as info:
        gatekit.loads(text, file="g.yaml").run()
    assert info.value.message == (
        "gate 'g' (softmax_cross_entropy, plugin 'gatekit.gates.losses:softmax_cross_entropy') failed in "
        "gate_forward: ValueError: class labels must be whole numbers from 0 to 2 (the logits have 3 "
        f"classes), {words}"
    )
    assert info.value.location is not None and info.value.location.line == 3


def test_a_bad_label_is_named_by_its_index_or_alone() -> None:
    logits = np.zeros((2, 3, 4))
    labels = np.array([[0.0, 1.0, 2.0], [3.0, 0.5, 1.0]])
    with pytest.raises(
        ValueError, match=r"from 0 to 3 \(the logits have 4 classes\), got 0.5 at index \[1, 1\]$"
    ):
        run("softmax_cross_entropy", logits, labels)
    with pytest.raises(ValueError, match=r"got 7$"):
        run("softmax_cross_entropy", np.zeros(3), 7.0)


@pytest.mark.parametrize(
    ("inputs", "attrs", "words"),
    [
        (
            "[z, s]",
            "{axis: 0}",
            "ValueError: targets of shape (2,) fit neither form for logits of shape (2, 3): class labels "
            "have shape (3,) (the logits' shape without axis 0), probabilities shape (2, 3)",
        ),
        (
            "[z, w]",
            "{}",
            "ValueError: targets of shape () fit neither form for logits of shape (2, 3): class labels "
            "have shape (2,) (the logits' shape without axis 1), probabilities shape (2, 3)",
        ),
        ("[z, y]", "{axis: 2}", "AxisError: axis 2 is out of bounds for array of dimension 2"),
        ("[w, 1]", "{}", "AxisError: axis -1 is out of bounds for array of dimension 0"),
    ],
)
def test_targets_of_neither_shape_fail_the_run_naming_the_gate(inputs: str, attrs: str, words: str) -> None:
    circuit = gatekit.loads(one_gate("softmax_cross_entropy", inputs, attrs), file="g.yaml")
    with pytest.raises(RunError) as info:
        circuit.run()
    assert info.value.message.startswith("gate 'g' (softmax_cross_entropy, plugin ")
    assert info.value.message.endswith(f"failed in gate_forward: {words}")


@pytest.mark.parametrize(
    ("gate", "attrs", "words"),
    [
        ("softmax", "{axis: 0.5}", "expected an integer, got the number 0.5"),
        ("log_softmax", "{axis: true}", "expected an integer, got a boolean (True)"),
        ("softmax", "{axis: null}", "expected an integer, got null"),
        ("softmax_cross_entropy", "{axis: [0, 1]}", "expected an integer, got a list"),
        ("softmax_cross_entropy", "{axis: .inf}", "expected an integer, got the number inf"),
        ("softmax_cross_entropy", "{reduction: avg}", "expected 'mean', 'sum' or 'none', got the text 'avg'"),
        ("softmax_cross_entropy", "{reduction: 1}", "expected 'mean', 'sum' or 'none', got the number 1.0"),
    ],
)
def test_bad_attrs_are_refused_when_the_circuit_loads(gate: str, attrs: str, words: str) -> None:
    inputs = "[z, y]" if gate == "softmax_cross_entropy" else "[z]"
    key = attrs[1:].partition(":")[0]
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.loads(one_gate(gate, inputs, attrs), file="g.yaml")
    assert info.value.message == f"attribute {key!r} of gate 'g' ({gate}): {words}"


def test_an_axis_written_as_a_whole_number_is_taken() -> None:
    text = one_gate("softmax", "[z]", "{axis: 0}")
    circuit = gatekit.loads(text)
    assert circuit.graph.nodes["g"]["attrs"] == {"axis": 0}
    np.testing.assert_allclose(circuit.run().outputs["g"].sum(axis=0), [1.0, 1.0, 1.0], rtol=1e-15)


# -- the elementwise losses ----------------------------------------------------------------------------


def ref_bce(z: float, t: float) -> float:
    p = 1.0 / (1.0 + math.exp(-z))
    return -t * math.log(p) - (1.0 - t) * math.log(1.0 - p)


@pytest.mark.parametrize(("z", "t"), [(0.0, 1.0), (2.0, 0.0), (-1.5, 0.3), (3.0, 0.9), (-0.2, 0.5)])
def test_binary_cross_entropy_equals_the_textbook_formula(z: float, t: float) -> None:
    loss, (d_z, d_t) = run("binary_cross_entropy_with_logits", z, t)
    assert type(loss) is float and type(d_z) is float and type(d_t) is float
    assert loss == pytest.approx(ref_bce(z, t), rel=1e-14)
    assert d_z == pytest.approx(1.0 / (1.0 + math.exp(-z)) - t, rel=1e-14)
    assert d_t == -z


def test_binary_cross_entropy_keeps_a_tiny_loss_a_large_logit_earns() -> None:
    loss, (d_z, _) = run("binary_cross_entropy_with_logits", 40.0, 1.0)
    assert loss == pytest.approx(math.exp(-40.0), rel=1e-12)  # not 0: z - z cancels before the log1p
    assert d_z == 0.0  # sigmoid(40) rounds to 1
    array_loss, _ = run("binary_cross_entropy_with_logits", np.array([40.0]), np.array([1.0]))
    assert array_loss[0] == loss


@pytest.mark.parametrize(
    ("score", "y", "loss", "grads"),
    [
        (0.5, 1.0, 0.5, [-1.0, -0.5]),  # inside the margin
        (2.0, 1.0, 0.0, [0.0, 0.0]),  # beyond it: no loss, no gradient
        (0.5, -1.0, 1.5, [1.0, -0.5]),
        (-3.0, -1.0, 0.0, [0.0, 0.0]),
        (-0.25, 1.0, 1.25, [-1.0, 0.25]),
    ],
)
def test_hinge_is_the_max_margin_loss(score: float, y: float, loss: float, grads: list[float]) -> None:
    assert run("hinge", score, y) == (loss, grads)
    array_loss, array_grads = run("hinge", np.array([score]), np.array([y]))
    assert (array_loss.tolist(), [float(g[0]) for g in array_grads]) == ([loss], grads)


def test_step_counts_the_right_answers_of_a_classifier() -> None:
    assert run("step", 0.5) == (1.0, [0.0])
    assert run("step", 0.0) == (0.0, [0.0])  # the jump: 0 > 0 is false
    assert run("step", -2.0) == (0.0, [0.0])
    circuit = gatekit.loads(
        """
        inputs: {y: [1.0, -1.0, 1.0, -1.0], x: [0.5, 2.0, -1.0, -3.0]}
        params: {w: 1.0}
        gates:
          score: {gate: mul, in: [w, x]}
          margin: {gate: mul, in: [y, score]}
          right: {gate: step, in: [margin]}
          accuracy: {gate: mean, in: [right]}
          losses: {gate: hinge, in: [score, y]}
          loss: {gate: mean, in: [losses]}
        outputs: [loss, accuracy]
        """
    )
    result = circuit.run()
    assert result.outputs["accuracy"] == 0.5
    assert result.outputs["loss"] == pytest.approx((0.5 + 3.0 + 2.0 + 0.0) / 4, rel=1e-15)
    # d loss / d w: -y * x for each sample inside the margin (the first three), over 4
    assert result.grads["w"] == pytest.approx((-0.5 + 2.0 + 1.0) / 4, rel=1e-15)


# -- stability: inputs of +-1000 -------------------------------------------------------------------------

BIG = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, -1000.0]])


def assert_finite(name: str, output: Any, grads: list[Any]) -> None:
    assert np.isfinite(output).all(), f"{name} output {output!r}"
    for grad in grads:
        assert np.isfinite(grad).all(), f"{name} gradient {grad!r}"


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax_are_finite_at_a_thousand(axis: int) -> None:
    s, (grad,) = run("softmax", BIG, upstream=np.arange(9.0).reshape(3, 3), axis=axis)
    assert_finite("softmax", s, [grad])
    ls, (log_grad,) = run("log_softmax", BIG, axis=axis)
    assert_finite("log_softmax", ls, [log_grad])
    s0, _ = run("softmax", BIG)
    np.testing.assert_array_equal(s0, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    ls0, _ = run("log_softmax", BIG)
    np.testing.assert_allclose(
        ls0,
        [[0.0, -2000.0, -1000.0], [-math.log(3)] * 3, [-math.log(2), -math.log(2), -2000.0 - math.log(2)]],
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_the_cross_entropy_is_finite_at_a_thousand(reduction: str) -> None:
    labels = np.array([1.0, 0.0, 2.0])  # each the least likely class of its row, or a tie
    loss, grads = run("softmax_cross_entropy", BIG, labels, reduction=reduction)
    assert_finite("softmax_cross_entropy", loss, grads)
    np.testing.assert_allclose(
        np.sum(loss) if reduction == "none" else loss,
        (2000.0 + math.log(3) + 2000.0 + math.log(2)) / (3 if reduction == "mean" else 1),
        rtol=1e-15,
    )
    by_row = run("softmax_cross_entropy", BIG, np.eye(3)[[1, 0, 2]], reduction=reduction)
    assert_finite("softmax_cross_entropy", *by_row)
    np.testing.assert_allclose(by_row[0], loss, rtol=1e-15)
    big_targets = run("softmax_cross_entropy", BIG, np.full((3, 3), 1000.0), reduction=reduction)
    assert_finite("softmax_cross_entropy", *big_targets)


@pytest.mark.parametrize("z", [1000.0, -1000.0])
@pytest.mark.parametrize("t", [0.0, 0.5, 1.0, 1000.0, -1000.0])
def test_the_elementwise_losses_are_finite_at_a_thousand(z: float, t: float) -> None:
    for value, target in ((z, t), (np.array([z]), np.array([t]))):
        for name, inputs in (
            ("binary_cross_entropy_with_logits", (value, target)),
            ("hinge", (value, target)),
            ("hinge", (target, value)),
            ("step", (value,)),
        ):
            assert_finite(name, *run(name, *inputs))
    loss, (d_z, d_t) = run("binary_cross_entropy_with_logits", z, t)
    assert loss == pytest.approx(max(z, 0.0) - z * t, rel=1e-15, abs=1e-300)  # log1p(e^-1000) is 0
    assert (d_z, d_t) == ((1.0 if z > 0 else 0.0) - t, -z)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(
    z=hnp.arrays(np.float64, (2, 3), elements=st.floats(-1e150, 1e150)),
    labels=hnp.arrays(np.float64, (2,), elements=st.sampled_from([0.0, 1.0, 2.0])),
)
def test_the_cross_entropy_is_finite_for_any_logits_and_its_rows_of_gradient_sum_to_zero(
    z: np.ndarray, labels: np.ndarray
) -> None:
    loss, (grad_z, _) = run("softmax_cross_entropy", z, labels, reduction="sum")
    assert math.isfinite(loss) and loss >= 0.0
    assert np.isfinite(grad_z).all()
    np.testing.assert_allclose(grad_z.sum(axis=-1), 0.0, atol=1e-15)  # softmax - onehot: each row sums to 0
    assert np.all(np.abs(grad_z) <= 1.0)
