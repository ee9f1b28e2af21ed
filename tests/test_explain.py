"""``gatekit explain``: the forward and backward passes written out, and proof that they add up."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gatekit.cli import main
from gatekit.views.text import significant as number

ROOT = Path(__file__).resolve().parent.parent
NEURON = str(ROOT / "graphs" / "neuron.yaml")
FANOUT = str(ROOT / "graphs" / "fanout.yaml")
BATCH = str(ROOT / "graphs" / "neuron_batch.yaml")
BATCH_CSV = str(ROOT / "graphs" / "data" / "neuron_batch.csv")
NEURON_GATES = ["wx0", "wx1", "dot", "neg", "e", "den", "f"]

# Not elementwise: matmul and sum get the upstream gradient and map it themselves (VJP gates).
VJP_CIRCUIT = """\
inputs:
  X: [[1.0, 2.0], [3.0, 4.0]]
params:
  w: [0.5, -1.0]
gates:
  y: {gate: matmul, in: [X, w]}
  s: {gate: sum, in: [y]}
outputs: [s]
"""

# c is computed from constants only: its wire into y carries a gradient nothing keeps.
UNREACHED_CIRCUIT = """\
inputs: {x: 3.0}
gates:
  c: {gate: add, in: [1, 2]}
  y: {gate: mul, in: [x, c]}
outputs: [y]
"""


def explain(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["explain", *args]) == 0
    return capsys.readouterr().out


def explain_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    return json.loads(explain(capsys, *args, "--json"))


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["run", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def section(text: str, title: str) -> list[str]:
    """The lines of one section of the text output (sections are separated by blank lines)."""
    for block in text.split("\n\n"):
        if block.startswith(title):
            return block.splitlines()[1:]
    raise AssertionError(f"no section {title!r} in:\n{text}")


def sum_to(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` summed over the axes broadcasting added or stretched, down to ``shape``."""
    value = np.asarray(value, dtype=float)
    value = value.sum(axis=tuple(range(value.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and value.shape[i] != 1)
    return value.sum(axis=stretched, keepdims=True)


# -- the text, on the seed's neuron ------------------------------------------------


def test_neuron_text_shows_every_gate_both_ways(capsys):
    text = explain(capsys, NEURON)
    forward = section(text, "forward pass")
    assert [line.split()[:3] for line in forward] == [
        [str(i), node, gate]
        for i, (node, gate) in enumerate(
            zip(NEURON_GATES, ["mul", "mul", "add", "mul", "exp", "add", "reciprocal"], strict=True), 1
        )
    ]
    backward = section(text, "backward pass (gradient of f)")
    heads = [line.split()[:2] for line in backward if "upstream d f/d" in line]
    assert heads == [[str(i), node] for i, node in reversed(list(enumerate(NEURON_GATES, 1)))]
    assert len(backward) == 2 + 7 + 13  # the rest of the legend, one line per gate, one per wire


def test_neuron_text_has_the_seeds_numbers(capsys):
    text = explain(capsys, NEURON)
    forward = "\n".join(section(text, "forward pass"))
    for expected in ("w0=2 * x0=-1", "= -2", "wx0=-2 + wx1=6 + w2=-3", "= 1", "dot=1 * (-1)"):
        assert expected in forward
    assert re.search(r"exp\(neg=-1\)\s+= 0\.3679", forward)
    assert re.search(r"1/\(den=1\.368\)\s+= 0\.7311$", forward)  # the sigmoid outputs 0.73
    backward = "\n".join(section(text, "backward pass"))
    assert "d f/d den = -0.5344" in backward  # -1/den^2
    assert "d den/d e = 1" in backward
    assert "d den/d 1 = 1" in backward  # 1 for both of den's inputs
    assert "d e/d neg = 0.3679" in backward  # exp's gradient is its output
    # the sigmoid's local gradient (1 - 0.73) * 0.73, arriving at dot
    assert "grad[dot]: 0 + 0.1966 = 0.1966" in backward
    assert "upstream d f/d dot = 0.1966" in backward
    assert re.search(
        r"d wx0/d x0 = 2\s+2 \* 0\.1966 = 0\.3932\s+grad\[x0\]: 0 \+ 0\.3932 = 0\.3932", backward
    )
    assert re.search(r"d wx1/d x1 = -3\s+-3 \* 0\.1966 = -0\.5898\s+grad\[x1\]: 0 \+ -0\.5898", backward)
    final = section(text, "gradients of f")
    assert [line.split() for line in final] == [
        ["x0", "input", "0.3932"],
        ["x1", "input", "-0.5898"],
        ["w0", "param", "-0.1966"],
        ["w1", "param", "-0.3932"],
        ["w2", "param", "0.1966"],
    ]


def test_final_gradients_are_runs_rounded(capsys):
    grads = run_json(capsys, NEURON)["grads"]
    final = section(explain(capsys, NEURON), "gradients of f")
    assert [line.split()[0] for line in final] == list(grads)
    for line, grad in zip(final, grads.values(), strict=True):
        assert line.split()[-1] == number(grad, 4)


def test_precision_2_gives_the_seeds_figures(capsys):
    text = explain(capsys, NEURON, "--digits", "2")
    assert re.search(r"1/\(den=1\.4\)\s+= 0\.73$", text, re.M)
    assert "grad[dot]: 0 + 0.20 = 0.20" in text  # ~= 0.2
    final = [line.split()[-1] for line in section(text, "gradients of f")]
    assert final == ["0.39", "-0.59", "-0.20", "-0.39", "0.20"]


def test_lines_stay_short_for_scalars(capsys):
    for graph in (NEURON, FANOUT):
        assert max(map(len, explain(capsys, graph).splitlines())) <= 100


def test_constants_are_marked_not_kept(capsys):
    text = explain(capsys, NEURON)
    assert re.search(r"d den/d 1 = 1\s+1 \* -0\.5344 = -0\.5344\s+\(constant, not kept\)$", text, re.M)
    assert re.search(r"d neg/d \(-1\) = 1\s+1 \* -0\.1966 = -0\.1966\s+\(constant, not kept\)$", text, re.M)
    wires = [w for row in explain_json(capsys, NEURON)["backward"] for w in row["wires"]]
    constants = [w for w in wires if not isinstance(w["source"], str)]
    assert [w["source"] for w in constants] == [1.0, -1.0]
    assert all(w["before"] is None and w["after"] is None for w in constants)


def test_a_wire_from_a_gate_no_leaf_reaches_is_not_kept(capsys, write_yaml):
    path = str(write_yaml(UNREACHED_CIRCUIT))
    assert "d y/d c = 3   3 * 1 = 3   (no input or param behind it, not kept)" in explain(capsys, path)
    (row,) = explain_json(capsys, path)["backward"]
    assert row["wires"][1] == {"source": "c", "local": 3.0, "product": 3.0, "before": None, "after": None}


# -- the JSON: every row adds up ------------------------------------------------------


def assert_rows_add_up(data: dict[str, Any], run: dict[str, Any]) -> None:
    """The proof: products are local * upstream, additions are right, and they sum to run's gradients."""
    outputs = {row["node"]: np.asarray(row["output"], dtype=float) for row in data["forward"]}
    partial: dict[str, Any] = {}  # each node's gradient so far, replayed from the wires
    for row in data["backward"]:
        upstream = np.asarray(row["upstream"], dtype=float)
        shape = outputs[row["node"]].shape
        assert upstream.shape == shape, row["node"]
        for wire in row["wires"]:
            product = np.asarray(wire["product"], dtype=float)
            if wire["local"] is not None:  # a VJP gate computes the product itself
                sent = np.broadcast_to(np.asarray(wire["local"], dtype=float) * upstream, shape)
                expected = sum_to(sent, product.shape)
                np.testing.assert_allclose(product, expected, rtol=1e-12, atol=1e-12)
                if not shape:
                    assert wire["product"] == wire["local"] * row["upstream"]  # scalars: exactly
            if wire["after"] is None:
                assert wire["before"] is None
                continue
            source = wire["source"]
            np.testing.assert_array_equal(wire["before"], partial.get(source, 0.0))  # the chain
            np.testing.assert_array_equal(
                np.asarray(wire["after"]), np.asarray(wire["before"]) + product
            )  # after = before + product
            partial[source] = wire["after"]
    for leaf, grad in run["grads"].items():
        products = [
            np.asarray(wire["product"], dtype=float)
            for row in data["backward"]
            for wire in row["wires"]
            if wire["source"] == leaf
        ]
        total = sum(products, start=np.zeros_like(np.asarray(grad, dtype=float)))
        np.testing.assert_allclose(total, grad, rtol=0, atol=1e-12, err_msg=leaf)
        np.testing.assert_allclose(data["grads"][leaf], grad, rtol=0, atol=1e-12, err_msg=leaf)
    assert list(data["grads"]) == list(run["grads"])


GRAPHS = [
    pytest.param([NEURON], id="neuron"),
    pytest.param([FANOUT], id="fanout"),
    pytest.param([NEURON, "--set", "x0=[-1, 0.5, 2]", "--set", "x1=[-2, 1, -0.5]"], id="neuron-set-arrays"),
    pytest.param([BATCH], id="neuron_batch"),
    pytest.param([BATCH, "--inputs", BATCH_CSV], id="neuron_batch-csv"),
    pytest.param([str(ROOT / "graphs" / "mlp_silu.yaml")], id="mlp_silu"),
    pytest.param([str(ROOT / "graphs" / "routing.yaml")], id="routing"),
    pytest.param([str(ROOT / "graphs" / "linear_regression.yaml")], id="linear_regression"),
]


@pytest.mark.parametrize("args", GRAPHS)
def test_json_rows_add_up_to_runs_gradients(capsys, args):
    data = explain_json(capsys, *args)
    assert list(data) == ["root", "forward", "backward", "grads"]
    assert_rows_add_up(data, run_json(capsys, *args))


def test_json_of_the_neuron(capsys):
    data = explain_json(capsys, NEURON)
    assert data["root"] == "f"
    assert [row["node"] for row in data["forward"]] == NEURON_GATES
    assert [row["node"] for row in data["backward"]] == NEURON_GATES[::-1]
    assert data["forward"][0] == {
        "node": "wx0",
        "gate": "mul",
        "inputs": [{"source": "w0", "value": 2.0}, {"source": "x0", "value": -1.0}],
        "output": -2.0,
    }
    assert data["forward"][-1]["output"] == pytest.approx(0.7310585786300049, abs=1e-12)
    first = data["backward"][0]
    assert first["upstream"] == 1.0
    assert first["wires"][0]["local"] == pytest.approx(-1 / 1.3678794411714423**2, rel=1e-15)


def test_fanout_shows_the_partial_sums_in_order(capsys):
    data = explain_json(capsys, FANOUT)
    chain = [
        (row["node"], w["before"], w["product"], w["after"])
        for row in data["backward"]
        for w in row["wires"]
        if w["source"] == "x"
    ]
    assert chain == [("xy", 0.0, 1.0, 1.0), ("xx", 1.0, 3.0, 4.0), ("xx", 4.0, 3.0, 7.0)]  # 2x + y
    text = explain(capsys, FANOUT)
    sums = [line.split("grad[x]: ")[1] for line in text.splitlines() if "grad[x]: " in line]
    assert sums == ["0 + 1 = 1", "1 + 3 = 4", "4 + 3 = 7"]
    y = [line.split("grad[y]: ")[1] for line in text.splitlines() if "grad[y]: " in line]
    assert y == ["0 + 0.5403 = 0.5403", "0.5403 + 3 = 3.540"]  # x + cos(y), rounded


# -- arrays and VJP gates ----------------------------------------------------------


def test_small_arrays_are_shown_whole(capsys):
    text = explain(capsys, BATCH)
    assert "w0=2 * x0=[-1, 0.5, 2]" in text
    assert re.search(r"1/\(den=\[1\.368, 149\.4, 1\.082\]\)\s+= \[0\.7311, 0\.006693, 0\.9241\]", text)
    # a scalar weight used against the batch: its product is summed over the samples
    assert "sum([-1, 0.5, 2] * [0.1966, 0.006648, 0.07010]) = -0.05308" in text
    final = section(text, "gradients of f")
    assert final[0].split(None, 2) == ["x0", "input", "[0.3932, 0.01330, 0.1402]"]


def test_large_arrays_are_summarized(capsys):
    text = explain(capsys, BATCH, "--inputs", BATCH_CSV)
    forward = section(text, "forward pass")
    assert "w0=2 * x0=<array(200,) mean " in forward[0]
    assert "<array(200,) mean " in section(text, "backward pass")[3]  # the first gate's upstream
    backward = section(text, "backward pass")
    # too long for one line per wire: the local gradient, the product and the addition stacked
    at = backward.index("       d f/d den = <array(200,) mean -0.2973>")
    assert backward[at + 1].startswith("         <array(200,) mean -0.2973> * <array(200,) mean 1> = ")
    assert backward[at + 2].startswith("         grad[den]: 0 + <array(200,) mean -0.2973> = ")
    assert any(line.strip().startswith("grad[x0]: 0 + <array(200,) mean 0.1119>") for line in backward)
    final = section(text, "gradients of f")
    assert final[0].split() == [
        "x0",
        "input",
        "array(200,)",
        "min",
        "1.728e-07",
        "mean",
        "0.1119",
        "max",
        "0.4993",
    ]
    assert final[2].split() == ["w0", "param", "0.5792"]
    data = explain_json(capsys, BATCH, "--inputs", BATCH_CSV)
    assert len(data["grads"]["x0"]) == 200
    assert len(data["forward"][0]["inputs"][1]["value"]) == 200


def test_vjp_gates_have_no_local_gradient(capsys, write_yaml):
    path = str(write_yaml(VJP_CIRCUIT))
    data = explain_json(capsys, path)
    rows = {row["node"]: row for row in data["backward"]}
    assert [w["local"] for w in rows["s"]["wires"]] == [None]
    assert [w["local"] for w in rows["y"]["wires"]] == [None, None]
    assert rows["y"]["wires"][1]["product"] == [4.0, 6.0]  # X^T @ [1, 1]
    assert_rows_add_up(data, run_json(capsys, path))
    text = explain(capsys, path)
    assert "(vjp: a gate that is not elementwise" in text
    assert "d y/d w: vjp" in text
    assert "vjp([1, 1]) = [4, 6]" in text
    assert "grad[w]: 0 + [4, 6] = [4, 6]" in text
    assert "matmul(X=[[1, 2], [3, 4]], w=[0.5, -1])" in text


def test_attrs_written_in_the_file_are_shown(capsys, write_yaml):
    path = write_yaml(VJP_CIRCUIT.replace("in: [y]}", "in: [y], attrs: {axis: 0}}"))
    assert "sum(y=[-1.5, -2.5], axis=[0])" in explain(capsys, str(path))
    assert "sum(y=[-1.5, -2.5])" in explain(capsys, str(write_yaml(VJP_CIRCUIT)))


def test_numbers_keep_zeros_only_where_rounded():
    assert number(0.19661193324148185, 2) == "0.20"
    assert number(0.5, 4) == "0.5"
    assert number(-3.0, 4) == "-3"
    assert number(-0.6 * -1.5, 4) == "0.9"  # float noise is not rounding
    assert number(-0.0, 4) == "0"
    assert number(math.inf, 4) == "inf"
    assert number(1.72848e-07, 4) == "1.728e-07"


# -- errors ---------------------------------------------------------------------------


def test_set_of_an_unknown_leaf_is_a_usage_error(capsys):
    assert main(["explain", NEURON, "--set", "q=1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    known = "(inputs: x0, x1; params: w0, w1, w2)"
    assert captured.err == f"error: --set q=1: name 'q' names no input or param of {NEURON} {known}\n"


@pytest.mark.parametrize("digits", ["0", "18", str(10**20)])
def test_digits_out_of_bounds_are_refused(capsys, digits):
    assert main(["explain", NEURON, "--digits", digits]) == 2
    assert capsys.readouterr().err == (
        "error: explain --digits: give a whole number from 1 to 17 significant digits (a float64 holds 17), "
        f"got {int(digits):,}\n"
    )


def test_a_bad_graph_is_one_error_line(cli, write_yaml):
    path = write_yaml("inputs: {x: 1}\ngates:\n  y: {gate: mull, in: [x, x]}\noutputs: [y]\n")
    done = cli("explain", path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: {path}:3:13: unknown gate 'mull'")
    assert len(done.stderr.splitlines()) == 1


def test_explain_runs_as_a_command():
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", "explain", "graphs/neuron.yaml", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # exactly one JSON object
    assert data["root"] == "f"
    assert data["grads"]["x0"] == pytest.approx(0.3932238664829637, abs=1e-12)


MODULE_CIRCUIT = """\
inputs: {z: 0.5}
modules:
  exp_double:
    inputs: [a]
    gates:
      twice: {gate: add, in: [a, a]}
      out: {gate: exp, in: [twice]}
    outputs: [out]
gates:
  y: {gate: exp_double, in: [z]}
  f: {gate: mul, in: [y, y]}
outputs: [f]
"""


def test_names_from_modules_are_bracketed_in_derivatives(capsys, write_yaml):
    path = str(write_yaml(MODULE_CIRCUIT))
    data = explain_json(capsys, path, "--expand")
    assert_rows_add_up(data, run_json(capsys, path))
    text = explain(capsys, path, "--expand")
    inner = [row["node"] for row in data["backward"] if "/" in row["node"]]
    assert inner  # the module's inner gate, named after the gate that uses it
    for node in inner:  # d f/d y/out would read as a fraction of fractions
        assert f"upstream d f/d ({node}) = " in text


# -- modules: collapsed by default, expanded on request --------------------------------

NEURON_MODULES = str(ROOT / "graphs" / "neuron_modules.yaml")
NEURON_MODULE_GATES = ["f/wx0", "f/wx1", "f/dot", "f/out/n", "f/out/e", "f/out/d", "f"]

# scaled_square(a, k) = a * a * k, used twice: p reads x twice through its square and
# gets the constant 3; q gets x as k. f = 3x^2 + x*y^2: df/dx = 6x + y^2 = 4, df/dy = 2xy = -1.
TWICE_CIRCUIT = """\
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


def test_collapsed_neuron_is_one_gate_both_ways(capsys):
    text = explain(capsys, NEURON_MODULES)
    forward = section(text, "forward pass")
    rows = [line for line in forward if not line.startswith("  (")]
    assert [line.split()[:3] for line in rows] == [["1", "f", "neuron2"]]
    assert re.search(r"neuron2\(x0=-1, x1=-2, w0=2, w1=-3, w2=-3\)\s+= 0\.7311$", rows[0])
    assert "--expand shows them" in "\n".join(forward)
    backward = section(text, "backward pass (gradient of f)")
    heads = [line.split()[:3] for line in backward if "upstream d f/d" in line]
    assert heads == [["1", "f", "neuron2"]]
    assert not re.search(r"f/(wx|dot|out)", text)  # no gate from inside the module
    # each input's product is what comes back through the module; / upstream 1: its local gradient
    for leaf, grad in [("x0", "0.3932"), ("x1", "-0.5898"), ("w0", "-0.1966"), ("w1", "-0.3932")]:
        pattern = rf"d f/d {leaf} = {grad}\s+{grad} \* 1 = {grad}\s+grad\[{leaf}\]: 0 \+ {grad} = {grad}$"
        assert re.search(pattern, text, re.M), leaf
    assert [line.split() for line in section(text, "gradients of f")] == [
        ["x0", "input", "0.3932"],
        ["x1", "input", "-0.5898"],
        ["w0", "param", "-0.1966"],
        ["w1", "param", "-0.3932"],
        ["w2", "param", "0.1966"],
    ]
    seed = explain(capsys, NEURON_MODULES, "--digits", "2")
    assert re.search(r"neuron2\(x0=-1, x1=-2, w0=2, w1=-3, w2=-3\)\s+= 0\.73$", seed, re.M)
    final = [line.split()[-1] for line in section(seed, "gradients of f")]
    assert final == ["0.39", "-0.59", "-0.20", "-0.39", "0.20"]


def test_collapsed_json_carries_runs_gradients(capsys):
    data = explain_json(capsys, NEURON_MODULES)
    run = run_json(capsys, NEURON_MODULES)
    assert [(row["node"], row["gate"], row["module"]) for row in data["forward"]] == [
        ("f", "neuron2", "neuron2")
    ]
    assert [source["source"] for source in data["forward"][0]["inputs"]] == ["x0", "x1", "w0", "w1", "w2"]
    (row,) = data["backward"]
    assert (row["node"], row["module"], row["upstream"]) == ("f", "neuron2", 1.0)
    assert [wire["source"] for wire in row["wires"]] == ["x0", "x1", "w0", "w1", "w2"]
    for wire in row["wires"]:
        assert wire["local"] is None  # no one local gradient: what came back through the module
        assert wire["product"] == pytest.approx(run["grads"][wire["source"]], abs=1e-12)
        assert (wire["before"], wire["after"]) == (0.0, wire["product"])
    assert_rows_add_up(data, run)


def test_expanded_neuron_shows_every_gate_and_its_module(capsys):
    text = explain(capsys, NEURON_MODULES, "--expand")
    forward = [line for line in section(text, "forward pass") if not line.startswith("  (")]
    assert [line.split()[1] for line in forward] == NEURON_MODULE_GATES
    assert forward[0].endswith("= -2      [f: neuron2]")
    assert forward[3].endswith("[f: neuron2 > f/out: logistic]")  # f/out/n, in logistic in neuron2
    assert forward[6].endswith("[f: neuron2 > f/out: logistic]")  # f: the output of both
    backward = section(text, "backward pass")
    heads = [line for line in backward if "upstream d f/d" in line]
    assert [line.split()[1] for line in heads] == NEURON_MODULE_GATES[::-1]
    assert heads[-1].endswith("[f: neuron2]")
    assert "grad[f/dot]: 0 + 0.1966 = 0.1966" in text  # the sigmoid's local gradient, as in neuron.yaml
    data = explain_json(capsys, NEURON_MODULES, "--expand")
    assert [row["within"] for row in data["forward"]][:4] == [
        [["f", "neuron2"]],
        [["f", "neuron2"]],
        [["f", "neuron2"]],
        [["f", "neuron2"], ["f/out", "logistic"]],
    ]
    assert all("module" not in row for row in data["forward"] + data["backward"])
    assert_rows_add_up(data, run_json(capsys, NEURON_MODULES))


def test_a_module_used_twice_and_an_input_read_twice(capsys, write_yaml):
    path = str(write_yaml(TWICE_CIRCUIT))
    text = explain(capsys, path)
    assert re.search(r"1  p  scaled_square  scaled_square\(x=0\.5, 3\)\s+= 0\.75$", text, re.M)
    assert re.search(r"2  q  scaled_square  scaled_square\(y=-1, x=0\.5\)\s+= 0\.5$", text, re.M)
    data = explain_json(capsys, path)
    rows = {row["node"]: row for row in data["backward"]}
    assert [row["node"] for row in data["backward"]] == ["f", "q", "p"]
    # p squares x: two wires inside (1.5 each), one wire outside carrying their sum; 3 is a constant
    assert [(w["source"], w["product"]) for w in rows["p"]["wires"]] == [("x", 3.0), (3.0, 0.25)]
    assert rows["p"]["wires"][1]["after"] is None
    assert [(w["source"], w["product"]) for w in rows["q"]["wires"]] == [("y", -1.0), ("x", 1.0)]
    chain = [
        (w["before"], w["after"]) for row in data["backward"] for w in row["wires"] if w["source"] == "x"
    ]
    assert chain == [(0.0, 1.0), (1.0, 4.0)]  # q's share, then p's: df/dx = 4
    assert_rows_add_up(data, run_json(capsys, path))
    assert "grad[x]: 1 + 3 = 4" in text
    assert "d p/d 3 = 0.25" in text
    expanded = explain_json(capsys, path, "--expand")
    inner = [
        (w["source"], w["product"])
        for row in expanded["backward"]
        if row["node"] == "p/sq"
        for w in row["wires"]
    ]
    assert inner == [("x", 1.5), ("x", 1.5)]
    assert_rows_add_up(expanded, run_json(capsys, path))


MODULE_GRAPHS = [
    pytest.param([NEURON_MODULES], id="neuron_modules"),
    pytest.param(
        [NEURON_MODULES, "--set", "x0=[-1, 0.5, 2]", "--set", "x1=[-2, 1, -0.5]"], id="neuron_modules-arrays"
    ),
]


@pytest.mark.parametrize("expand", [[], ["--expand"]], ids=["collapsed", "expanded"])
@pytest.mark.parametrize("args", MODULE_GRAPHS)
def test_module_json_rows_add_up_to_runs_gradients(capsys, args, expand):
    assert_rows_add_up(explain_json(capsys, *args, *expand), run_json(capsys, *args))


def test_arrays_through_a_module_have_no_one_local_gradient(capsys):
    text = explain(capsys, NEURON_MODULES, "--set", "x0=[-1, 0.5, 2]")
    assert "d f/d x0: through neuron2" in text
    assert "through neuron2 = [0.3932, 0.03533, 0.001820]" in text
    assert "grad[x0]: 0 + [0.3932, 0.03533, 0.001820] = [0.3932, 0.03533, 0.001820]" in text
    assert "d f/d w1: through neuron2" in text  # a number, but the upstream gradient is an array
    assert "through neuron2 = -0.4304" in text


def test_no_gradient_through_a_module(capsys, write_yaml):
    path = str(write_yaml(MODULE_CIRCUIT.replace("in: [y, y]", "in: [y, 0]")))
    text = explain(capsys, path)
    assert "upstream d f/d y = 0" in text
    assert "d y/d z: through exp_double   through exp_double = 0" in text  # 0 / 0 is no derivative


def test_circuits_without_modules_read_the_same_expanded(capsys):
    for graph in (NEURON, FANOUT, BATCH):
        assert explain(capsys, graph, "--expand") == explain(capsys, graph)
        assert explain_json(capsys, graph, "--expand") == explain_json(capsys, graph)
