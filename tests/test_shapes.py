"""The shape gates (reshape, identity) and the reductions' keepdims, in circuit files.

Their gradients are checked with every gate's in tests/test_gates.py; here,
what a file may write and every message of a wrong use.
"""

from __future__ import annotations

import numpy as np
import pytest

import gatekit


def one_gate(gate: str, attrs: str) -> str:
    return (
        "inputs: {x: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]}\n"
        f"gates:\n  g: {{gate: {gate}, in: [x], attrs: {attrs}}}\noutputs: [g]\n"
    )


def test_reshape_in_a_file() -> None:
    circuit = gatekit.loads(one_gate("reshape", "{shape: [3, -1]}"))
    result = circuit.run()
    assert result.outputs["g"].tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert result.grads["x"].tolist() == [[1.0] * 3] * 2
    assert gatekit.loads(one_gate("reshape", "{}")).run().outputs["g"].tolist() == [1, 2, 3, 4, 5, 6]


def test_identity_passes_its_input_on() -> None:
    text = "inputs: {x: [1.0, 2.0]}\ngates:\n  g: {gate: identity, in: [x]}\noutputs: [g]\n"
    result = gatekit.loads(text).run()
    assert result.outputs["g"].tolist() == [1.0, 2.0]
    assert result.grads["x"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("3", "expected null or a list of integers (-1, 0 or more), got the number 3"),
        (
            "[2, 0.5]",
            "expected null or a list of integers (-1, 0 or more), got a list holding the number 0.5",
        ),
        ("[-2, 3]", "expected null or a list of integers (-1, 0 or more), got a list holding -2"),
        ("[-1, -1]", "at most one size may be -1, got [-1, -1]"),
    ],
)
def test_a_bad_shape_is_refused_when_the_circuit_loads(value: str, words: str) -> None:
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.loads(one_gate("reshape", f"{{shape: {value}}}"), file="g.yaml")
    assert info.value.message == f"attribute 'shape' of gate 'g' (reshape): {words}"


@pytest.mark.parametrize(
    ("shape", "words"),
    [
        ("[4, -1]", "reshape: cannot lay 6 elements of shape (2, 3) out as [4, -1]"),
        ("[5]", "reshape: cannot lay 6 elements of shape (2, 3) out as [5]"),
        ("[0, 0, 0]", "reshape: size 0 at axis 2 keeps an axis that a of shape (2, 3) lacks"),
    ],
)
def test_a_shape_that_does_not_fit_fails_the_run(shape: str, words: str) -> None:
    circuit = gatekit.loads(one_gate("reshape", f"{{shape: {shape}}}"), file="g.yaml")
    with pytest.raises(gatekit.RunError) as info:
        circuit.run()
    assert words in str(info.value)


@pytest.mark.parametrize("gate", ["sum", "mean"])
def test_keepdims_keeps_the_reduced_axes(gate: str) -> None:
    kept = gatekit.loads(one_gate(gate, "{axis: 1, keepdims: true}")).run()
    assert np.shape(kept.outputs["g"]) == (2, 1)
    every = gatekit.loads(one_gate(gate, "{keepdims: true}")).run()
    assert np.shape(every.outputs["g"]) == (1, 1)
    assert np.shape(every.grads["x"]) == (2, 3)
    plain = gatekit.loads(one_gate(gate, "{axis: 1}")).run()  # files of before keepdims: unchanged
    assert np.shape(plain.outputs["g"]) == (2,)


def test_keepdims_is_true_or_false() -> None:
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.loads(one_gate("sum", "{keepdims: 1}"), file="g.yaml")
    assert (
        info.value.message
        == "attribute 'keepdims' of gate 'g' (sum): expected true or false, got the number 1.0"
    )
