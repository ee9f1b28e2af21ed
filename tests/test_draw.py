"""``gatekit draw`` and :mod:`gatekit.draw`: the seed's figure, wire by wire.

The DOT text is read back with a small parser (one edge per line, as
:func:`gatekit.draw.to_dot` writes it). The tests that run Graphviz's
``dot`` skip where it is not installed, unless ``GATEKIT_REQUIRE_GRAPHVIZ``
is set (``.ci/run`` sets it, after installing Graphviz), so CI never skips
them silently.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import stat
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import gatekit
from gatekit.cli import main
from gatekit.io.inputs import read_inputs
from gatekit.views import draw
from gatekit.views.text import decimals

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"
NEURON = str(GRAPHS / "neuron.yaml")
HAVE_DOT = shutil.which("dot") is not None

needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("GATEKIT_REQUIRE_GRAPHVIZ"),
    reason="Graphviz's dot is not installed (apt-get install graphviz)",
)

EDGE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"(?: \[label=<(.*)>\])?;$')
GREEN = re.compile(r'<font color="darkgreen">(.*?)</font>')
RED = re.compile(r'<font color="red">(.*?)</font>')


def edges(text: str) -> list[tuple[str, str, str | None, str | None]]:
    """``(tail, head, value, gradient)`` for every edge, in order; ``None`` where a label is missing."""
    found = []
    for line in text.splitlines():
        match = EDGE.match(line)
        if match is None:
            continue
        tail, head, label = match.groups()
        value = GREEN.findall(label or "")
        grad = RED.findall(label or "")
        assert len(value) <= 1 and len(grad) <= 1, line
        found.append((tail, head, value[0] if value else None, grad[0] if grad else None))
    return found


def wires(text: str) -> dict[tuple[str, str], list[tuple[str | None, str | None]]]:
    """``(tail, head) -> [(value, gradient), ...]``: one item per wire (two for ``mul(x, x)``)."""
    found: dict[tuple[str, str], list[tuple[str | None, str | None]]] = defaultdict(list)
    for tail, head, value, grad in edges(text):
        found[tail, head].append((value, grad))
    return found


def draw_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str, name: str = "g.dot") -> str:
    """Run ``gatekit draw ARGS -o tmp_path/NAME`` in-process; return the file's text (DOT)."""
    out = tmp_path / name
    assert main(["draw", *args, "-o", str(out)]) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
    return out.read_text()


def one_error(capsys: pytest.CaptureFixture[str], argv: list[str], exit_code: int = 2) -> str:
    assert main(argv) == exit_code
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("error: ")
    return line


def fake_dot(folder: Path, body: str) -> str:
    """A ``dot`` program of our own, a shell script in ``folder``; the ``PATH`` that finds it first."""
    folder.mkdir(exist_ok=True)
    program = folder / "dot"
    program.write_text("#!/bin/sh\n" + body + "\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return os.pathsep.join([str(folder), os.environ.get("PATH", "")])


# -- the seed's figure ---------------------------------------------------------


def test_the_neuron_wires_carry_the_seed_figures_numbers(tmp_path, capsys):
    found = wires(draw_cli(tmp_path, capsys, NEURON))
    # leaf -> gate: the value going forward, the gradient coming back (the seed's figure)
    assert found["w0", "wx0"] == [("2.00", "-0.20")]
    assert found["x0", "wx0"] == [("-1.00", "0.39")]
    assert found["w1", "wx1"] == [("-3.00", "-0.39")]
    assert found["x1", "wx1"] == [("-2.00", "-0.59")]
    assert found["w2", "dot"] == [("-3.00", "0.20")]
    # inside: the sigmoid receives 1.00 and the output is 0.73, with gradient 1.00
    assert found["dot", "neg"] == [("1.00", "0.20")]
    assert found["den", "f"] == [("1.37", "-0.53")]
    assert found["f", "f#output"] == [("0.73", "1.00")]
    # a constant is a node of its own, its wire labelled like any other
    assert found["neg#1", "neg"] == [("-1.00", "-0.20")]
    assert found["den#1", "den"] == [("1.00", "-0.53")]
    assert sum(map(len, found.values())) == 14  # the 13 wires into 7 gates, and the output


def test_the_layout_and_the_nodes(tmp_path, capsys):
    text = draw_cli(tmp_path, capsys, NEURON)
    assert text.startswith('digraph "neuron" {\n')
    assert "rankdir=LR" in text
    assert '{rank=min; "x0" "x1" "w0" "w1" "w2"}' in text  # the leaves on the left
    assert '{rank=max; "f#output"}' in text  # the output on the right
    assert '"wx0" [shape=circle, label=<<font point-size="16">*</font>' in text
    assert '"f" [shape=circle, label=<<font point-size="16">1/x</font>' in text
    assert (
        '"e" [shape=ellipse, label=<<font point-size="12">exp</font><br/><font point-size="9">e</font>>]'
        in (text)
    )
    assert '"neg#1" [shape=plaintext, fontsize=10, label=<-1>];' in text
    assert '"f#output" [shape=plaintext, fontsize=10, label=<output>];' in text


@pytest.mark.parametrize(
    ("gate", "symbol"),
    [
        ("sub", "-"),
        ("div", "/"),
        ("pow", "^"),
        ("neg", "-x"),
        ("square", "x²"),
        ("abs", "|x|"),
        ("tanh", "tanh"),
    ],
)
def test_gate_symbols(write_yaml, gate, symbol):
    arity = 2 if gate in {"sub", "div", "pow"} else 1
    inputs = "[x, 2]" if arity == 2 else "[x]"
    circuit = gatekit.load(
        write_yaml(f"inputs: {{x: 1.5}}\ngates:\n  y: {{gate: {gate}, in: {inputs}}}\noutputs: [y]\n")
    )
    assert f'"y" [shape={"ellipse" if gate == "tanh" else "circle"}, label=<<font point-size' in draw.to_dot(
        circuit
    )
    assert f">{html.escape(symbol, quote=False)}</font><br/>" in draw.to_dot(circuit)


# -- fan-out: each wire its own share ------------------------------------------------


def test_fanout_wires_carry_their_shares(tmp_path, capsys):
    found = wires(draw_cli(tmp_path, capsys, str(GRAPHS / "fanout.yaml")))
    assert found["x", "xx"] == [("3.00", "3.00"), ("3.00", "3.00")]  # x * x: one share per wire
    assert found["x", "xy"] == [("3.00", "1.00")]
    assert found["y", "xy"] == [("1.00", "3.00")]
    assert found["y", "sy"] == [("1.00", "0.54")]  # cos(1)
    # 3 + 3 + 1 = 7 = df/dx; 3 + cos(1) = df/dy


@pytest.mark.parametrize("graph", ["neuron", "fanout", "routing", "mlp_silu", "linear_regression"])
def test_the_shares_add_up_to_the_runs_gradients(graph):
    circuit = gatekit.load(GRAPHS / f"{graph}.yaml")
    result = circuit.run()
    shares: dict[str, float] = defaultdict(float)
    text = draw.to_dot(circuit, precision=15)
    for tail, _, _, grad in edges(text):
        if tail in result.grads:
            shares[tail] += float(grad.split(" mean ")[-1]) if grad else 0.0
    for name, grad in result.grads.items():
        if np.ndim(grad) == 0:
            assert shares[name] == pytest.approx(grad, abs=1e-12), name


# -- options ---------------------------------------------------------------------


def test_no_grads_shows_values_only(tmp_path, capsys):
    text = draw_cli(tmp_path, capsys, NEURON, "--no-grads")
    assert "red" not in text
    found = wires(text)
    assert found["w0", "wx0"] == [("2.00", None)]
    assert found["f", "f#output"] == [("0.73", None)]
    assert all(value is not None for _, _, value, _ in edges(text))


def test_precision(tmp_path, capsys):
    found = wires(draw_cli(tmp_path, capsys, NEURON, "--precision", "4"))
    assert found["w0", "wx0"] == [("2.0000", "-0.1966")]
    assert found["x1", "wx1"] == [("-2.0000", "-0.5898")]
    assert found["f", "f#output"] == [("0.7311", "1.0000")]
    zero = wires(draw_cli(tmp_path, capsys, NEURON, "--precision", "0"))
    assert zero["w0", "wx0"] == [("2", "0")]  # -0.2 rounds to 0, shown without a sign


def test_set_changes_the_values(tmp_path, capsys):
    found = wires(draw_cli(tmp_path, capsys, NEURON, "--set", "x0=3"))
    assert found["x0", "wx0"] == [("3.00", "0.00")]  # sigmoid(11) is flat: 2 * 1.67e-5


@pytest.mark.parametrize("precision", ["-1", "18", "100000000000000000000"])
def test_a_precision_out_of_bounds_is_refused(tmp_path, capsys, precision):
    line = one_error(capsys, ["draw", NEURON, "-o", str(tmp_path / "g.dot"), "--precision", precision])
    assert (
        line == f"error: draw --precision: give a whole number from 0 to 17 decimals, got {int(precision):,}"
    )
    assert not (tmp_path / "g.dot").exists()


def test_a_bad_set_names_set(tmp_path, capsys):
    line = one_error(capsys, ["draw", NEURON, "-o", str(tmp_path / "g.dot"), "--set", "q=1"])
    assert line.startswith("error: --set q=1: name 'q' names no input or param of ")


def test_numbers_are_formatted_plainly():
    assert decimals(-0.001, 2) == "0.00"
    assert decimals(1234567.0, 2) == "1.23e+06"
    assert decimals(math.inf, 2) == "inf"
    assert decimals(math.nan, 2) == "nan"
    assert draw._constant(-1.0) == "-1"
    assert draw._constant(0.1234567) == "0.1234567"


# -- arrays --------------------------------------------------------------------------


def test_arrays_are_summarized(tmp_path, capsys):
    data = GRAPHS / "data" / "neuron_batch.csv"
    text = draw_cli(tmp_path, capsys, str(GRAPHS / "neuron_batch.yaml"), "--inputs", str(data))
    circuit = gatekit.load(GRAPHS / "neuron_batch.yaml")
    leaves = read_inputs(data, circuit)
    result = circuit.run(**leaves)
    found = wires(text)
    x0_value, x0_grad = found["x0", "wx0"][0]
    assert x0_value == f"(200,) mean {np.mean(leaves['x0']):.2f}"
    # x0's gradient along its one wire is x0's gradient, summarized
    assert x0_grad == f"(200,) mean {np.mean(result.grads['x0']):.2f}"
    # a scalar weight used against the batch: its share is a number (the batch's sum)
    assert found["w0", "wx0"] == [("2.00", f"{result.grads['w0']:.2f}")]
    assert found["f", "f#output"] == [("(200,) mean 0.35", "(200,) mean 1.00")]
    assert len(text) < 10_000  # not 200 numbers per wire


# -- large circuits ------------------------------------------------------------------


def _chain(gates: int) -> str:
    lines = ["inputs: {x: 0.5}", "gates:", "  g0: {gate: sin, in: [x]}"]
    lines += [f"  g{i}: {{gate: sin, in: [g{i - 1}]}}" for i in range(1, gates)]
    return "\n".join([*lines, f"outputs: [g{gates - 1}]", ""])


def test_large_circuits_drop_the_wire_labels(write_yaml, tmp_path, capsys):
    small = draw_cli(tmp_path, capsys, str(write_yaml(_chain(draw.LABEL_LIMIT))))
    assert all(value is not None for _, _, value, _ in edges(small))
    large = draw_cli(tmp_path, capsys, str(write_yaml(_chain(draw.LABEL_LIMIT + 1))))
    found = edges(large)
    assert len(found) == draw.LABEL_LIMIT + 2  # every wire, and the output's
    assert all(value is None and grad is None for _, _, value, grad in found)
    assert f"{draw.LABEL_LIMIT + 1} gates; wires are unlabelled above {draw.LABEL_LIMIT} gates" in large


def test_large_circuits_still_check_their_values(write_yaml):
    circuit = gatekit.load(write_yaml(_chain(draw.LABEL_LIMIT + 1)))
    with pytest.raises(gatekit.UsageError, match="no input or param named 'q'"):
        draw.to_dot(circuit, {"q": 1.0})  # unlabelled, but still run


# -- names ---------------------------------------------------------------------------


@needs_dot
def test_dot_keywords_as_names_are_quoted(write_yaml, tmp_path, capsys):
    graph = write_yaml(
        "name: 'a \"quoted\" <name> & more'\n"
        "inputs: {node: 1.0, edge: 2.0}\ngates:\n  graph: {gate: add, in: [node, edge]}\n"
        "  digraph: {gate: mul, in: [graph, 3]}\noutputs: [digraph]\n"
    )
    text = draw_cli(tmp_path, capsys, str(graph), name="k.svg")
    assert "<svg" in text
    assert "9.00" in text
    dot_text = draw_cli(tmp_path, capsys, str(graph))
    assert dot_text.startswith('digraph "a \\"quoted\\" <name> & more" {')
    assert 'label=<a "quoted" &lt;name&gt; &amp; more: <font' in dot_text
    assert wires(dot_text)["graph", "digraph"] == [("3.00", "3.00")]


# -- rendering -------------------------------------------------------------------------


@needs_dot
def test_svg_renders_the_numbers(tmp_path, capsys):
    svg = draw_cli(tmp_path, capsys, NEURON, name="neuron.svg")
    assert "<svg" in svg
    texts = {html.unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}
    assert {
        "0.73",
        "1.00",
        "-0.20",
        "0.39",
        "-0.39",
        "-0.59",
        "0.20",
        "-1.00",
        "-2.00",
        "2.00",
        "-3.00",
    } <= texts
    assert os.listdir(tmp_path) == ["neuron.svg"]  # no temporary file left


@needs_dot
def test_png_renders(tmp_path, capsys):
    out = tmp_path / "neuron.png"
    assert main(["draw", NEURON, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert os.listdir(tmp_path) == ["neuron.png"]


def test_without_dot_svg_says_what_to_install_and_dot_still_works(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "g.svg"
    line = one_error(capsys, ["draw", NEURON, "-o", str(out)])
    assert line == (
        f"error: {out}: Graphviz's `dot` program was not found on PATH; install the system package "
        "'graphviz' (for example `apt-get install graphviz` or `brew install graphviz`), or write a .dot "
        "file, which needs no Graphviz"
    )
    assert not out.exists()
    assert wires(draw_cli(tmp_path, capsys, NEURON))["f", "f#output"] == [("0.73", "1.00")]


def test_missing_dot_is_found_before_the_circuit_is_read(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    line = one_error(capsys, ["draw", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "g.png")])
    assert "Graphviz's `dot` program was not found" in line


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("g.pdf", "unsupported file type '.pdf'"),
        ("g", "no file extension"),
        ("G.JPG", "unsupported file type '.jpg'"),
    ],
)
def test_unknown_extension_is_refused_before_running(tmp_path, capsys, name, problem):
    out = tmp_path / name
    line = one_error(capsys, ["draw", str(tmp_path / "missing.yaml"), "-o", str(out)])
    assert line == f"error: {out}: {problem}; a drawing can be written to .dot, .svg, .png, .html only"
    assert os.listdir(tmp_path) == []


def test_upper_case_extensions_work(tmp_path, capsys):
    assert "digraph" in draw_cli(tmp_path, capsys, NEURON, name="G.DOT")


def test_a_missing_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "missing" / "g.dot"
    line = one_error(capsys, ["draw", NEURON, "-o", str(out)])
    assert line == f"error: {out}: cannot write the file: the folder '{out.parent}' does not exist"


def test_a_failing_dot_leaves_the_existing_file_untouched(tmp_path, capsys, monkeypatch):
    path = fake_dot(
        tmp_path / "bin", 'echo "Error: <stdin>: syntax error in line 3" >&2\necho "more" >&2\nexit 1'
    )
    monkeypatch.setenv("PATH", path)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "neuron.svg"
    out.write_text("the previous drawing")
    line = one_error(capsys, ["draw", NEURON, "-o", str(out)], exit_code=1)
    assert (
        line == f"error: {out}: Graphviz's dot failed (exit 1): Error: <stdin>: syntax error in line 3 more"
    )
    assert out.read_text() == "the previous drawing"
    assert os.listdir(folder) == ["neuron.svg"]  # no temporary file either


def test_a_dot_that_hangs_is_stopped(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", "exec sleep 30"))
    monkeypatch.setattr(draw, "RENDER_TIMEOUT", 0.5)
    out = tmp_path / "g.png"
    line = one_error(capsys, ["draw", NEURON, "-o", str(out)], exit_code=1)
    assert line == (
        f"error: {out}: Graphviz's dot took more than 0.5 s to draw the circuit; "
        "write a .dot file instead and render it yourself"
    )
    assert not out.exists()


def test_the_dot_text_is_what_dot_receives(tmp_path, capsys, monkeypatch):
    # a fake dot that copies its input: the .svg is then the DOT text, byte for byte
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", "cat"))
    copied = draw_cli(tmp_path, capsys, NEURON, name="copy.svg")
    assert copied == draw.to_dot(gatekit.load(NEURON))


# -- notebooks -------------------------------------------------------------------------


@needs_dot
def test_notebook_pictures():
    circuit = gatekit.load(NEURON)
    picture = circuit._repr_svg_()
    assert picture is not None and "<svg" in picture
    assert "0.73" in picture
    assert "&#45;0.20" not in picture and "-0.20" not in picture  # values only: no gradients
    result = circuit.run(x0=-1.0)
    picture = result._repr_svg_()
    assert picture is not None and "<svg" in picture
    assert "0.73" in picture
    assert "&#45;0.20" in picture or "-0.20" in picture
    assert "gradients of f" in picture


def test_notebook_pictures_without_dot(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    circuit = gatekit.load(NEURON)
    assert circuit._repr_svg_() is None
    assert circuit.run()._repr_svg_() is None


def test_a_result_draws_its_own_run(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", "cat"))  # "SVG" = the DOT text
    result = gatekit.load(NEURON).run(x0=3.0)
    assert wires(result._repr_svg_())["x0", "wx0"] == [("3.00", "0.00")]


def test_notebook_pictures_give_up_quietly(monkeypatch, tmp_path, write_yaml):
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", "exit 3"))
    assert gatekit.load(NEURON)._repr_svg_() is None  # dot failed
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", "cat"))
    monkeypatch.setattr(draw, "NOTEBOOK_LIMIT", 3)
    assert gatekit.load(NEURON)._repr_svg_() is None  # too large


# -- the README's picture --------------------------------------------------------------


def test_the_readme_shows_the_neurons_picture():
    readme = (ROOT / "README.md").read_text()
    assert "![" in readme and "(docs/neuron.svg)" in readme
    assert "gatekit draw graphs/neuron.yaml -o docs/neuron.svg" in readme


def _svg_texts(svg: str) -> list[str]:
    return sorted(html.unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def test_the_committed_picture_shows_the_seed_numbers():
    texts = _svg_texts((ROOT / "docs" / "neuron.svg").read_text())
    for number in ["0.73", "1.00", "-0.20", "0.39", "-0.39", "-0.59", "0.20"]:
        assert number in texts, number


@needs_dot
def test_the_committed_picture_is_up_to_date(tmp_path):
    # The SVG's geometry depends on Graphviz's version; its text does not.
    fresh = tmp_path / "neuron.svg"
    draw.write(fresh, gatekit.load(NEURON))
    committed = (ROOT / "docs" / "neuron.svg").read_text()
    assert _svg_texts(fresh.read_text()) == _svg_texts(committed), (
        "regenerate it: gatekit draw graphs/neuron.yaml -o docs/neuron.svg"
    )


# -- modules: collapsed by default, expanded on request --------------------------------

NEURON_MODULES = str(GRAPHS / "neuron_modules.yaml")

# scaled_square(a, k) = a * a * k, used twice (see tests/test_explain.py): df/dx = 4, df/dy = -1
TWICE = """\
inputs: {x: 0.5, y: -1.0}
modules:
  scaled_square:
    inputs: [a, k]
    gates:
      sq: {gate: mul, in: [a, a]}
      out: {gate: mul, in: [sq, k]}
    outputs: [out]
gates:
  p: {gate: scaled_square, in: [x, 3]}
  q: {gate: scaled_square, in: [y, x]}
  f: {gate: add, in: [p, q]}
outputs: [f]
"""


def node_lines(text: str) -> dict[str, str]:
    """Node name -> its statement, for the nodes declared with attributes."""
    found = {}
    for line in text.splitlines():
        match = re.match(r'^\s*"((?:[^"\\]|\\.)*)" \[(.*)\];$', line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_collapsed_modules_are_one_node(tmp_path, capsys):
    text = draw_cli(tmp_path, capsys, NEURON_MODULES)
    nodes = node_lines(text)
    assert nodes["f"].startswith('shape=box3d, label=<<font point-size="12">neuron2</font><br/>')
    assert '<font point-size="9">f</font>>' in nodes["f"]
    assert not any("/" in name for name in nodes)
    assert "cluster" not in text
    found = wires(text)
    # the seed's figure, with the whole neuron as one gate: each leaf's wire, its gradient
    assert found["w0", "f"] == [("2.00", "-0.20")]
    assert found["x0", "f"] == [("-1.00", "0.39")]
    assert found["w1", "f"] == [("-3.00", "-0.39")]
    assert found["x1", "f"] == [("-2.00", "-0.59")]
    assert found["w2", "f"] == [("-3.00", "0.20")]
    assert found["f", "f#output"] == [("0.73", "1.00")]
    assert sum(map(len, found.values())) == 6


def test_expanded_modules_are_boxed(tmp_path, capsys):
    text = draw_cli(tmp_path, capsys, NEURON_MODULES, "--expand")
    lines = text.splitlines()
    outer = lines.index('  subgraph "cluster_f" {')
    inner = lines.index('    subgraph "cluster_f/out" {')  # nested in f's box
    assert outer < inner
    assert lines[outer + 1].startswith("    graph [label=<f: neuron2>")
    assert lines[inner + 1].startswith("      graph [label=<f/out: logistic>")
    for name in ("f/wx0", "f/wx1", "f/dot"):
        assert any(line.startswith(f'    "{name}" [shape=circle') for line in lines[outer + 2 : inner])
    closing = lines.index("    }", inner)
    box = "\n".join(lines[inner:closing])
    for name in ("f/out/n", "f/out/e", "f/out/d", "f"):
        assert f'      "{name}" [' in box
    assert '"f/out/n#1" [shape=plaintext, fontsize=10, label=<-1>];' in box  # the module's constant
    found = wires(text)
    assert found["w0", "f/wx0"] == [("2.00", "-0.20")]
    assert found["x1", "f/wx1"] == [("-2.00", "-0.59")]
    assert found["f/out/d", "f"] == [("1.37", "-0.53")]
    assert found["f", "f#output"] == [("0.73", "1.00")]
    # the same numbers as the neuron written out
    plain = wires(draw_cli(tmp_path, capsys, NEURON))
    assert sorted(v for values in found.values() for v in values) == sorted(
        v for values in plain.values() for v in values
    )


def test_a_module_used_twice_reading_an_input_twice(write_yaml):
    circuit = gatekit.load(write_yaml(TWICE))
    text = draw.to_dot(circuit)
    nodes = node_lines(text)
    assert nodes["p"].startswith("shape=box3d") and nodes["q"].startswith("shape=box3d")
    assert 'scaled_square</font><br/><font point-size="9">p</font>' in nodes["p"]
    found = wires(text)
    assert found["x", "p"] == [("0.50", "3.00")]  # one wire: the sum of p/sq's two (1.50 each)
    assert found["p#1", "p"] == [("3.00", "0.25")]  # the constant given to p
    assert nodes["p#1"] == "shape=plaintext, fontsize=10, label=<3>"
    assert found["y", "q"] == [("-1.00", "-1.00")]
    assert found["x", "q"] == [("0.50", "1.00")]
    expanded = wires(draw.to_dot(circuit, expand=True))
    assert expanded["x", "p/sq"] == [("0.50", "1.50"), ("0.50", "1.50")]
    assert expanded["p#1", "p"] == [("3.00", "0.25")]
    # a constant given at the use is drawn outside the module's box
    lines = draw.to_dot(circuit, expand=True).splitlines()
    assert '  "p#1" [shape=plaintext, fontsize=10, label=<3>];' in lines


def test_a_module_input_no_gradient_comes_back_to_keeps_its_wire_unlabelled(write_yaml):
    # b is read only by a gate the module's output does not use: its wire carries no gradient, and
    # c's gradient goes on c's wire, not on the second one drawn
    circuit = gatekit.load(
        write_yaml(
            "inputs: {x: 2.0, y: 5.0, z: 7.0}\nmodules:\n  m:\n    inputs: [a, b, c]\n    gates:\n"
            "      unused: {gate: mul, in: [b, 2]}\n      out: {gate: mul, in: [a, c]}\n    outputs: [out]\n"
            "gates:\n  f: {gate: m, in: [x, y, z]}\noutputs: [f]\n"
        )
    )
    found = wires(draw.to_dot(circuit))
    assert found["x", "f"] == [("2.00", "7.00")]
    assert found["y", "f"] == [("5.00", None)]
    assert found["z", "f"] == [("7.00", "2.00")]


@pytest.mark.parametrize("expand", [False, True], ids=["collapsed", "expanded"])
@pytest.mark.parametrize("graph", ["neuron_modules.yaml", "twice"])
def test_module_shares_add_up_to_the_runs_gradients(write_yaml, graph, expand):
    circuit = gatekit.load(write_yaml(TWICE) if graph == "twice" else GRAPHS / graph)
    result = circuit.run()
    shares: dict[str, float] = defaultdict(float)
    for tail, _, _, grad in edges(draw.to_dot(circuit, precision=15, expand=expand)):
        if tail in result.grads:
            shares[tail] += float(grad)
    assert set(shares) == set(result.grads)
    for name, grad in result.grads.items():
        assert shares[name] == pytest.approx(grad, abs=1e-12), name


def test_one_module_use_opened_among_the_others_collapsed(write_yaml):
    circuit = gatekit.load(write_yaml(TWICE))
    text = draw.to_dot(circuit, opened={"q"})
    nodes = node_lines(text)
    assert nodes["p"].startswith("shape=box3d")  # still one node
    assert "q/sq" in nodes and nodes["q"].startswith("shape=circle")  # q's gates, boxed
    assert 'subgraph "cluster_q" {' in text and "cluster_p" not in text
    found = wires(text)
    expanded = wires(draw.to_dot(circuit, expand=True))
    assert found["x", "p"] == [("0.50", "3.00")]  # p's wire: what comes back through all of p
    assert found["y", "q/sq"] == expanded["y", "q/sq"] == [("-1.00", "-0.50"), ("-1.00", "-0.50")]
    assert found["x", "q"] == expanded["x", "q"]


def test_ids_name_the_nodes_wires_and_boxes_for_a_script(write_yaml):
    circuit = gatekit.load(write_yaml(TWICE))
    assert "id=" not in draw.to_dot(circuit)  # only when asked for
    text = draw.to_dot(circuit, opened={"q"}, ids="p-")
    nodes = node_lines(text)
    assert nodes["x"].endswith(', tooltip="input", id="p-n-x"')
    assert nodes["p"].endswith('id="p-n-p"') and nodes["q/sq"].endswith('id="p-n-q/sq"')
    assert f'graph [label=<q: scaled_square>, {draw.CLUSTER_STYLE}, id="p-c-q"];' in text
    edges = {line.strip() for line in text.splitlines() if "->" in line}
    label = '<font color="darkgreen">-1.00</font><br/><font color="red">-0.50</font>'
    assert f'"y" -> "q/sq" [label=<{label}>, id="p-w-1-q/sq"];' in edges
    assert any(line.endswith('id="p-w-0-f"];') and line.startswith('"p" -> "f"') for line in edges)
    assert any(line.startswith('"f" -> "f#output"') and line.endswith('id="p-o-f"];') for line in edges)
    values_only = draw.to_dot(circuit, ids="p-", grads=False)
    assert '"p#1" -> "p" [label=<<font color="darkgreen">3.00</font>>, id="p-w-1-p"];' in values_only


def test_circuits_without_modules_draw_the_same_expanded():
    for graph in ("neuron", "fanout", "routing", "neuron_batch"):
        circuit = gatekit.load(GRAPHS / f"{graph}.yaml")
        assert draw.to_dot(circuit, expand=True) == draw.to_dot(circuit)


def test_the_label_limit_counts_the_nodes_drawn(write_yaml):
    last = draw.LABEL_LIMIT + 1  # a module of LABEL_LIMIT + 1 gates, g1 ... g151
    gates = "\n".join(f"      g{i}: {{gate: sin, in: [g{i - 1}]}}" for i in range(1, last + 1))
    graph = write_yaml(
        f"inputs: {{x: 0.5}}\nmodules:\n  chain:\n    inputs: [g0]\n    gates:\n{gates}\n"
        f"    outputs: [g{last}]\ngates:\n  c: {{gate: chain, in: [x]}}\noutputs: [c]\n"
    )
    circuit = gatekit.load(graph)
    collapsed = draw.to_dot(circuit)  # one node: labelled
    assert wires(collapsed)["x", "c"][0][0] == "0.50"
    assert all(value is not None for _, _, value, _ in edges(collapsed))
    expanded = draw.to_dot(circuit, expand=True)
    assert all(value is None for _, _, value, _ in edges(expanded))
    assert f"{last} gates; wires are unlabelled above {draw.LABEL_LIMIT} gates" in expanded


def test_notebook_pictures_collapse_modules(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", "cat"))  # "SVG" = the DOT text
    circuit = gatekit.load(NEURON_MODULES)
    assert '"f" [shape=box3d' in circuit._repr_svg_()
    assert '"f" [shape=box3d' in circuit.run()._repr_svg_()
    assert "cluster_f" in draw.svg(circuit, expand=True)


# -- forward mode: --tangent ---------------------------------------------------

BLUE = re.compile(r'<font color="blue">tan (.*?)</font>')


def tangent_wires(text: str) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
    """``(tail, head) -> [(value, tangent), ...]``: the wires of a drawing made with ``--tangent``."""
    found: dict[tuple[str, str], list[tuple[str, str | None]]] = defaultdict(list)
    for line in text.splitlines():
        match = EDGE.match(line)
        if match is None:
            continue
        tail, head, label = match.groups()
        [value] = GREEN.findall(label)
        tangent = BLUE.findall(label)
        assert RED.findall(label) == [] and len(tangent) <= 1, line  # no gradient in forward mode
        found[tail, head].append((value, tangent[0] if tangent else None))
    return found


def test_tangent_labels_each_wire_with_its_sources_tangent(tmp_path, capsys):
    text = draw_cli(tmp_path, capsys, NEURON, "--tangent", "x0=1", "--precision", "4")
    assert (
        'label=<neuron: <font color="darkgreen">values</font> and '
        '<font color="blue">tangents along x0=1</font> on each wire>' in text
    )
    assert "gradients of" not in text
    circuit = gatekit.load(NEURON)
    result = circuit.run(tangents={"x0": 1.0})
    moved = result.node_tangents
    assert main(["run", NEURON, "--tangent", "x0=1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["tangents"]["f"] == moved["f"] == 0.39322386648296376
    found = tangent_wires(text)
    for (tail, head), labels in found.items():
        if head.endswith("#output"):
            assert labels == [(decimals(result.values[tail], 4), decimals(moved[tail], 4))]
        elif "#" in tail:  # a constant: it does not move, and its wire says nothing of a tangent
            assert labels[0][1] is None
        else:
            assert labels == [(decimals(result.values[tail], 4), decimals(moved[tail], 4))], (tail, head)
    assert found["x0", "wx0"] == [("-1.0000", "1.0000")]
    assert found["w0", "wx0"] == [("2.0000", "0.0000")]  # w0 does not move
    assert found["f", "f#output"] == [("0.7311", "0.3932")]
    assert sum(map(len, found.values())) == 14


def test_tangent_with_a_module_drawn_collapsed_and_expanded(tmp_path, capsys):
    graph = str(GRAPHS / "neuron_modules.yaml")
    circuit = gatekit.load(graph)
    moved = circuit.run(tangents={"x0": 1.0}).node_tangents
    for expand in ([], ["--expand"]):
        found = tangent_wires(draw_cli(tmp_path, capsys, graph, "--tangent", "x0=1", *expand))
        for (tail, head), labels in found.items():
            if "#" not in tail:
                assert {tangent for _, tangent in labels} == {decimals(moved[tail], 2)}, (tail, head)


def test_tangent_in_svg(tmp_path, capsys):
    if not HAVE_DOT and not os.environ.get("GATEKIT_REQUIRE_GRAPHVIZ"):
        pytest.skip("Graphviz's dot is not installed")
    text = draw_cli(tmp_path, capsys, NEURON, "--tangent", "x0=1", name="g.svg")
    assert 'fill="blue"' in text and ">tan 0.39<" in text and ">tangents along x0=1<" in text


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            ["--of", "dot"],
            "error: draw: --of chooses the gradient of the backward pass, and draw --tangent shows the "
            "tangents instead: give one or the other",
        ),
        (
            ["--seed-grad", "2"],
            "error: draw: --seed-grad chooses the gradient of the backward pass, and draw --tangent shows "
            "the tangents instead: give one or the other",
        ),
        (
            ["--no-grads"],
            "error: draw: --no-grads leaves the gradients out, and draw --tangent shows the tangents "
            "instead: give one or the other",
        ),
    ],
)
def test_tangent_refuses_the_backward_passs_options(tmp_path, capsys, given, message):
    out = tmp_path / "g.dot"
    line = one_error(capsys, ["draw", NEURON, "-o", str(out), "--tangent", "x0=1", *given])
    assert line == message
    assert not out.exists()


def test_a_bad_tangent_names_tangent(tmp_path, capsys):
    out = str(tmp_path / "g.dot")
    line = one_error(capsys, ["draw", NEURON, "-o", out, "--tangent", "q=1"])
    assert line.startswith("error: --tangent q=1: name 'q' names no input or param of ")
    line = one_error(capsys, ["draw", NEURON, "-o", out, "--tangent", "x0"])
    assert line == "error: --tangent x0: expected NAME=VALUE, for example --tangent x0=1.5"
