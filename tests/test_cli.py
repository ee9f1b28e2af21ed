"""The ``gatekit`` command line, run as a user runs it: stdout, stderr, exit code.

Contract (shared/DESIGN.md): exit 0 on success; exit 2 for an invalid graph or
command line, with exactly one line ``error: FILE:LINE:COL: message`` on
stderr and no traceback; exit 1 when a gate fails while running.
"""

from __future__ import annotations

import json
import math
import subprocess
from typing import Any

import pytest
from bad_circuits import BAD_CIRCUITS, IN_A_PROCESS, by_id

import gatekit
from gatekit.cli import main

NEURON = "graphs/neuron.yaml"  # the CLI runs from the repository root
F = 0.7310585786300049
GRADS = {
    "x0": 0.3932238664829637,
    "x1": -0.5898357997244456,
    "w0": -0.19661193324148185,
    "w1": -0.3932238664829637,
    "w2": 0.19661193324148185,
}


def close(value: float) -> object:
    return pytest.approx(value, rel=0, abs=1e-12)


def error_line(proc: subprocess.CompletedProcess[str], exit_code: int = 2) -> str:
    """The one ``error: ...`` line of a failed command, after checking the streams."""
    assert proc.returncode == exit_code, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# -- invalid graphs: one located line, exit 2 --------------------------------------
# What each bad circuit says is test_errors.py's; here, what the command line adds.


@pytest.mark.parametrize(("text", "error", "line", "column", "words"), BAD_CIRCUITS)
def test_every_bad_circuit_is_one_located_line_and_exit_2(text, error, line, column, words, tmp_path, capsys):
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["run", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [message] = captured.err.splitlines()
    assert message.startswith(f"error: {path}:{line}:{column}: ")


@pytest.mark.parametrize(("text", "error", "line", "column", "words"), by_id(*IN_A_PROCESS))
def test_in_a_process_too(cli, write_yaml, text, error, line, column, words):
    path = write_yaml(text)
    assert error_line(cli("run", path)).startswith(f"error: {path}:{line}:{column}: ")


def test_the_billion_laughs_in_a_process(cli, write_yaml, billion_laughs):
    path = write_yaml(billion_laughs)
    assert error_line(cli("run", path)).startswith(f"error: {path}:3:9: YAML aliases (*name) are not allowed")


def test_non_utf8_file(cli, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("inputs:\n  x: 1\n  été: 2\noutputs: [x]\n".encode("latin-1"))
    assert error_line(cli("validate", path)) == f"error: {path}:3:3: the file is not UTF-8 text (byte 0xe9)"


def test_missing_file(cli, tmp_path):
    path = tmp_path / "missing.yaml"
    line = error_line(cli("run", path))
    assert line.startswith(f"error: {path}: cannot read the file: ")


# -- bad --set: one line, exit 2 ---------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("x0", "error: --set x0: expected NAME=VALUE, for example --set x0=1.5"),
        (
            "nope=1",
            f"error: --set nope=1: name 'nope' names no input or param of {NEURON} "
            "(inputs: x0, x1; params: w0, w1, w2)",
        ),
        ("x0=abc", "error: --set x0=abc: the value of 'x0' must be a number, got the text 'abc'"),
        ("x0=1e400", "error: --set x0=1e400: the number 1e400 is too large for a float"),
    ],
    ids=["no-equals", "unknown-leaf", "not-a-number", "too-large"],
)
def test_bad_set(cli, item, expected):
    assert error_line(cli("run", NEURON, "--set", item)) == expected


# -- plugins: a gate that raises (exit 1), broken plugins (exit 2) ------------------

RAISING_GATE = "inputs:\n  x: 1.0\ngates:\n  y: {{gate: {gate}, in: [x]}}\noutputs: [y]\n"


@pytest.mark.parametrize(
    ("gate", "expected"),
    [
        (
            "boom",
            "gate 'y' (boom, plugin 'gk_boom:boom') failed in gate_forward: ZeroDivisionError: kaboom",
        ),
        (
            # the plugin's two-line message is joined into the one error line
            "boom_grad",
            "gate 'y' (boom_grad, plugin 'gk_boom:boom_grad') failed in gate_local_grad: "
            "RuntimeError: no gradient here; second line of the message",
        ),
    ],
    ids=["forward", "gradient"],
)
def test_gate_that_raises_exits_1(cli, write_yaml, plugin_dir, gate, expected):
    path = write_yaml(RAISING_GATE.format(gate=gate))
    line = error_line(cli("run", path, "-p", "gk_boom", pythonpath=plugin_dir), exit_code=1)
    assert line == f"error: {path}:4:3: {expected}"


@pytest.mark.parametrize(
    ("plugin", "words"),
    [
        ("gk_dup_mul", ["'mul' is claimed twice", "'gatekit.gates.arithmetic:mul'", "'gk_dup_mul:mul'"]),
        ("gk_bad_hook", ["plugin 'gk_bad_hook:bad'", "gate_forward(inputz)", "{'inputz'}"]),
    ],
    ids=["gate-name-claimed-twice", "bad-hook-argument"],
)
def test_broken_plugin_exits_2(cli, plugin_dir, plugin, words):
    line = error_line(cli("gates", "-p", plugin, pythonpath=plugin_dir))
    for word in words:
        assert word in line


# -- happy paths ---------------------------------------------------------------------


def test_run_json_gives_the_seed_numbers(cli):
    proc = cli("run", NEURON, "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.count("\n") == 1  # one JSON object, one line
    data = json.loads(proc.stdout)
    assert set(data) == {"outputs", "grads", "values"}
    assert data["outputs"] == {"f": close(F)}
    assert data["grads"] == {name: close(value) for name, value in GRADS.items()}
    assert list(data["values"]) == ["x0", "x1", "w0", "w1", "w2", "wx0", "wx1", "dot", "neg", "e", "den", "f"]
    assert data["values"]["dot"] == 1.0


def test_run_set_changes_the_outputs(cli):
    proc = cli("run", NEURON, "--json", "--set", "x0=2")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["values"]["x0"] == 2.0
    assert data["values"]["dot"] == 7.0  # 2*2 + (-3)*(-2) - 3
    f = 1.0 / (1.0 + math.exp(-7.0))
    slope = f * (1.0 - f)
    assert data["outputs"] == {"f": close(f)}
    assert data["grads"]["x0"] == close(2.0 * slope)  # w0 * slope
    assert data["grads"]["w0"] == close(2.0 * slope)  # x0 * slope


def test_run_prints_outputs_and_every_gradient(cli):
    proc = cli("run", NEURON)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == "outputs"
    name, value = lines[1].split()
    assert (name, float(value)) == ("f", close(F))
    assert lines[2] == "gradients of f"
    rows = [line.split() for line in lines[3:]]
    assert [(name, kind) for name, kind, _ in rows] == [
        ("x0", "input"),
        ("x1", "input"),
        ("w0", "param"),
        ("w1", "param"),
        ("w2", "param"),
    ]
    assert {name: float(grad) for name, _, grad in rows} == {n: close(v) for n, v in GRADS.items()}


def test_validate_ok(cli):
    proc = cli("validate", NEURON)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == f"{NEURON}: ok (5 leaves, 7 gates, outputs: f)\n"


def test_validate_warns_about_an_unused_gate(cli, write_yaml):
    path = write_yaml(
        """\
        inputs: {x: 1.0}
        gates:
          y: {gate: neg, in: [x]}
          unused: {gate: exp, in: [x]}
        outputs: [y]
        """
    )
    proc = cli("validate", path)
    assert proc.returncode == 0
    assert proc.stderr == f"warning: {path}:4:3: gate 'unused' is not used by any output\n"
    assert proc.stdout == f"{path}: ok (1 leaf, 2 gates, outputs: y)\n"


def test_gates_json_lists_every_gate_with_its_origin(cli, plugin_dir):
    proc = cli("gates", "--json", "-p", "gk_boom", pythonpath=plugin_dir)
    assert (proc.returncode, proc.stderr) == (0, "")
    gates = {entry["name"]: entry for entry in json.loads(proc.stdout)}
    keys = {"name", "arity", "variadic", "attrs", "doc", "plugin", "distribution"}
    assert all(set(entry) == keys for entry in gates.values())
    assert {"add", "mul", "exp", "reciprocal", "leaky_relu", "boom"} <= set(gates)
    mul = gates["mul"]
    assert (mul["arity"], mul["variadic"], mul["attrs"]) == (2, True, {})
    assert mul["plugin"] == "gatekit.gates.arithmetic:mul"
    assert mul["distribution"].startswith("gatekit")
    assert gates["exp"]["variadic"] is False
    assert gates["leaky_relu"]["attrs"] == {"slope": 0.01}
    assert all(entry["doc"] for entry in gates.values())
    assert (gates["boom"]["plugin"], gates["boom"]["distribution"]) == ("gk_boom:boom", "not installed (-p)")


def test_gates_table(cli):
    proc = cli("gates")
    assert (proc.returncode, proc.stderr) == (0, "")
    header, *rows = proc.stdout.splitlines()
    assert header.split() == ["name", "arity", "attrs", "plugin", "distribution", "doc"]
    leaky = next(row.split() for row in rows if row.startswith("leaky_relu "))
    assert leaky[:4] == ["leaky_relu", "1", "slope=0.01", "gatekit.gates.activations:leaky_relu"]


def test_version(cli):
    proc = cli("--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"gatekit {gatekit.__version__}\n", "")


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    import sys
    from pathlib import Path

    command = f'"{sys.executable}" -m gatekit explain graphs/neuron.yaml | head -1'
    done = subprocess.run(
        ["sh", "-c", command],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert done.stdout.startswith("forward pass")
    assert done.stderr == ""


# -- leaf values travel as a mapping, whatever their names ----------------------------

ODD_NAMES = """\
inputs: {check_finite: 1.0, observer: 2.0}
gates:
  y: {gate: mul, in: [check_finite, observer]}
outputs: [y]
"""


def test_a_leaf_named_like_a_keyword_argument_is_set_everywhere(write_yaml, tmp_path, capsys):
    path = str(write_yaml(ODD_NAMES))
    values = ["--set", "check_finite=5", "--set", "observer=3"]
    assert main(["run", path, *values, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outputs"] == {"y": 15.0}
    assert main(["explain", path, *values, "--json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["forward"][0]["output"] == 15.0
    assert explained["grads"] == {"check_finite": 3.0, "observer": 5.0}
    drawing = tmp_path / "g.dot"
    assert main(["draw", path, *values, "-o", str(drawing)]) == 0
    assert ">15.00<" in drawing.read_text() and ">5.00<" in drawing.read_text()
    assert main(["check", path, *values]) == 0  # no false FAILED from values left out
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[1] == ["mul", "y", "0", "3", "3", "ok"]  # dy/dcheck_finite = observer = 3, as set
    assert rows[-1] == ["4", "checks:", "4", "ok,", "0", "skipped,", "0", "failed"]


# -- strict JSON: NaN and infinities have a form every parser reads --------------------------


def strict_loads(text: str) -> Any:
    """``json.loads`` that refuses the NaN and Infinity tokens, as strict parsers in other languages do."""

    def refuse(token: str) -> None:
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


NON_FINITE = """\
inputs: {x: [1.0, 0.0, -1.0], z: 0.0}
gates:
  r: {gate: div, in: [x, z]}
  s: {gate: sum, in: [r]}
outputs: [s, r]
"""


@pytest.mark.parametrize("command", ["run", "explain"])
def test_json_output_is_strict_with_non_finite_numbers(write_yaml, capsys, command) -> None:
    path = str(write_yaml(NON_FINITE))
    assert main([command, path, "--json"]) == 0
    data = strict_loads(capsys.readouterr().out)
    if command == "run":
        assert data["outputs"] == {"s": "NaN", "r": ["Infinity", "NaN", "-Infinity"]}
        assert data["grads"]["z"] == "NaN"
    else:
        assert data["forward"][0]["output"] == ["Infinity", "NaN", "-Infinity"]
        assert data["grads"]["z"] == "NaN"
