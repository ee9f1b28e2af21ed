"""One-line gates read line by line (gatekit.format.lines): as the reference reader reads them, or left."""

from __future__ import annotations

import textwrap

import pytest
from test_document import same_as_reference

import gatekit
from gatekit.format import document as documents
from gatekit.format.lines import gate_lines

TAKEN = {
    "a chain": """\
        inputs: {x: 0.5}
        gates:
          a: {gate: sin, in: [x]}
          b: {gate: sin, in: [a]}
        outputs: [b]
        """,
    "constants, fan-out, blank and comment lines, trailing spaces": """\
        # a circuit
        inputs: {x: 0.5, y: -1}
        gates:   # the gates
          # products first

          m: {gate: mul, in: [x, y, -2, 1e5, 0.25, -0]}\x20\x20\x20
        # a comment at the margin
          s: {gate: add, in: [m, m, x]}
        outputs: [s]
        """,
    "params after the gates, their spans where they were": """\
        inputs: {x: 0.5}
        gates:
            y: {gate: mul, in: [w, x]}
            z: {gate: add, in: [y, b]}
        params:
          w: 2.0   # the weight
          b: {init: zeros, shape: [2]}
        outputs: [z]
        """,
    "the gates last, no newline at the end": (
        "inputs: {x: 1}\noutputs: [y]\ngates:\n  y: {gate: exp, in: [x]}"
    ),
    "names that are YAML words but not booleans": """\
        inputs: {nan: 1, inf: 2}
        gates:
          null_: {gate: add, in: [nan, inf]}
        outputs: [null_]
        """,
}


def _gates(*lines: str, outputs: str = "[y]") -> str:
    """A file of one input and the ``gates:`` section ``lines``."""
    return "inputs: {x: 1}\ngates:\n" + "".join(f"{line}\n" for line in lines) + f"outputs: {outputs}\n"


LEFT = {
    "attributes": _gates("  y: {gate: leaky_relu, in: [x], attrs: {slope: 0.5}}"),
    "a boolean word": _gates("  y: {gate: add, in: [x, yes]}"),
    "a boolean word as a name": _gates("  on: {gate: exp, in: [x]}", outputs="[x]"),
    "a quoted name": _gates("  y: {gate: exp, in: ['x']}"),
    "a name written twice": _gates("  y: {gate: exp, in: [x]}", "  y: {gate: sin, in: [x]}"),
    "two indentations": _gates("  y: {gate: exp, in: [x]}", "    z: {gate: sin, in: [y]}"),
    "an octal-looking number": _gates("  y: {gate: mul, in: [x, 017]}"),
    "no space after a comma": _gates("  y: {gate: mul, in: [x,x]}"),
    "a comment after a gate": _gates("  y: {gate: exp, in: [x]}  # e"),
    "a tab": _gates("  y: {gate: exp, in: [x]}", outputs="\t[y]"),
    "carriage returns": "inputs: {x: 1}\r\ngates:\r\n  y: {gate: exp, in: [x]}\r\noutputs: [y]\r\n",
    "block style": _gates("  y:", "    gate: exp", "    in: [x]"),
    "no inputs": _gates("  y: {gate: exp, in: []}"),
    "a comment in other letters": _gates("  # café", "  y: {gate: exp, in: [x]}"),
    "gates in flow style": "inputs: {x: 1}\ngates: {y: {gate: exp, in: [x]}}\noutputs: [y]\n",
    "a name past the longest": _gates(f"  {'y' * 201}: {{gate: exp, in: [x]}}", outputs="[x]"),
    "an input past the longest": _gates(f"  y: {{gate: exp, in: [{'x' * 201}]}}"),
    "names and a boolean word": _gates("  y: {gate: add, in: [x, no, x]}"),
}

#: the section's form, but not where the root's gates are: the whole file goes to the event reader
NOT_THE_SECTION = {
    "inside a quoted text": 'doc: "a\ngates:\n  y: {gate: exp, in: [x]}\n"\ninputs: {x: 1}\noutputs: [x]\n',
    "inside a flow list": "outputs: [x,\ngates:\n  y: {gate: exp, in: [x]}\n]\ninputs: {x: 1}\n",
}


def _dedent(text: str) -> str:
    return textwrap.dedent(text)


@pytest.mark.parametrize("text", list(TAKEN.values()), ids=list(TAKEN))
def test_one_line_gates_read_as_the_reference_reader_reads_them(text: str) -> None:
    text = _dedent(text)
    found = gate_lines(text, "g.yaml")
    assert found is not None  # read line by line
    rest, _, _ = found
    assert len(rest) == len(text) and rest.count("\n") == text.count("\n")
    same_as_reference(text, "g.yaml")
    assert documents.read_text(text, "g.yaml").fast


@pytest.mark.parametrize("text", list(LEFT.values()), ids=list(LEFT))
def test_any_other_form_is_left_to_the_event_reader(text: str) -> None:
    assert gate_lines(text, "g.yaml") is None
    same_as_reference(text, "g.yaml")


@pytest.mark.parametrize("text", list(NOT_THE_SECTION.values()), ids=list(NOT_THE_SECTION))
def test_lines_that_are_not_the_root_s_gates_are_not_taken_for_them(text: str) -> None:
    assert documents._by_lines(text, documents.Reader("g.yaml", checked=True)) is None
    same_as_reference(text, "g.yaml")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("  b: {gate: nope, in: [a]}", "g.yaml:4:13: unknown gate 'nope'"),
        ("  b: {gate: sin, in: [c]}", "g.yaml:4:23: gate 'b' takes 'c' as an input, but no input"),
        ("  b: {gate: sin, in: [a, a]}", "g.yaml:4:22: gate 'b' (sin) takes 1 input, got 2"),
    ],
)
def test_an_error_in_a_line_read_gate_is_located_as_the_reference_reader_locates_it(
    line: str, message: str
) -> None:
    text = f"inputs: {{x: 1}}\ngates:\n  a: {{gate: sin, in: [x]}}\n{line}\noutputs: [b]\n"
    assert gate_lines(text, "g.yaml") is not None
    with pytest.raises(gatekit.GatekitError) as fast:
        gatekit.loads(text, "g.yaml")
    with pytest.raises(gatekit.GatekitError) as reference:
        gatekit.Circuit.from_document(documents._reference(text, "g.yaml"))
    assert str(fast.value) == str(reference.value)
    assert str(fast.value).startswith(message)


def test_a_file_past_the_node_limit_is_refused_as_by_the_reference_reader(monkeypatch) -> None:
    monkeypatch.setenv("GATEKIT_MAX_NODES", "3")
    text = "inputs: {x: 1}\ngates:\n" + "".join(f"  g{i}: {{gate: exp, in: [x]}}\n" for i in range(4))
    same_as_reference(text + "outputs: [g0]\n", "g.yaml")


def test_a_trained_file_writes_params_after_line_read_gates_in_their_place(tmp_path) -> None:
    text = _dedent(TAKEN["params after the gates, their spans where they were"])
    circuit = gatekit.loads(text)
    spans = {name: leaf.span for name, leaf in circuit.valid.definition.leaves.items()}
    reference = documents._reference(text, "<string>").parse()
    assert spans == {name: leaf.span for name, leaf in reference.leaves.items()}
    assert text[slice(*spans["w"])] == "2.0"
