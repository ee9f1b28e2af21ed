"""``gatekit jacobian``: the table, --json, -o FILE.npz, and one error line for each mistake."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gatekit
from gatekit.cli import main
from gatekit.cli.parser import build
from gatekit.views.jacobian import TABLE_COLUMNS, TABLE_ROWS

ROOT = Path(__file__).resolve().parent.parent
ARM = str(ROOT / "graphs" / "arm.yaml")
NEURON = str(ROOT / "graphs" / "neuron.yaml")


def failed(capsys: pytest.CaptureFixture[str], args: list[str], code: int = 2) -> str:
    """The one error line of a command that fails with exit ``code``, printing nothing else."""
    assert main(args) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    return line


def test_the_table_names_every_element_and_says_how_it_was_computed(capsys) -> None:
    assert main(["jacobian", ARM, "--wrt", "theta"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "jacobian of x, y, heading with respect to theta",
        "forward mode: 2 passes, one per leaf element (reverse mode would take 3, one per output element)",
        "            theta[0]             theta[1]",
        "  x        -0.9539178482819961  -0.4744923096777931",
        "  y         1.035243743088007    0.15766118119763434",
        "  heading   1.0                  1.0",
    ]


def test_mode_chooses_and_both_print_the_same_numbers(capsys) -> None:
    forward = (
        "forward mode: 8 passes, one per leaf element (reverse mode would take 3, one per output element)"
    )
    reverse = (
        "reverse mode: 3 passes, one per output element (forward mode would take 8, one per leaf element)"
    )
    tables = {}
    for mode, how in (("forward", forward), ("reverse", reverse), ("auto", reverse)):
        assert main(["jacobian", ARM, "--mode", mode]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[:2] == ["jacobian of x, y, heading with respect to theta, chain, lengths", how]
        tables[mode] = lines[2:]
    assert tables["forward"] == tables["reverse"] == tables["auto"]  # the arm's are the same to the bit
    assert tables["auto"][0].split() == [
        "theta[0]", "theta[1]", "chain[0,0]", "chain[0,1]", "chain[1,0]", "chain[1,1]",
        "lengths[0]", "lengths[1]",
    ]  # fmt: skip


def test_of_picks_outputs_or_gates_and_set_moves_leaves(capsys) -> None:
    assert (
        main(["jacobian", ARM, "--of", "phi", "--of", "heading", "--wrt", "theta", "--set", "theta=[0, 1]"])
        == 0
    )
    assert capsys.readouterr().out.splitlines()[2:] == [
        "            theta[0]   theta[1]",
        "  phi[0]    1.0        0.0",
        "  phi[1]    1.0        1.0",
        "  heading   1.0        1.0",
    ]


def test_json_is_strict_and_keys_each_block(capsys) -> None:
    assert main(["jacobian", ARM, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    jacobian = gatekit.load(ARM).jacobian()
    assert list(shown) == ["of", "wrt", "mode", "passes", "shapes", "jacobian"]
    assert (shown["of"], shown["wrt"], shown["mode"]) == (
        ["x", "y", "heading"],
        ["theta", "chain", "lengths"],
        "reverse",
    )
    assert shown["passes"] == {"reverse": 3, "forward": 8}
    assert shown["shapes"] == {"x": [], "y": [], "heading": [], "theta": [2], "chain": [2, 2], "lengths": [2]}
    assert shown["jacobian"] == {key: block.tolist() for key, block in jacobian.named().items()}
    assert main(["jacobian", NEURON, "--set", "x0=nan", "--of", "f", "--wrt", "x0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["jacobian"] == {"d f / d x0": "NaN"}


def test_output_writes_every_block_however_large(tmp_path: Path, capsys) -> None:
    out = tmp_path / "jacobian.npz"
    data = str(ROOT / "graphs" / "data" / "neuron_batch.csv")
    batch = str(ROOT / "graphs" / "neuron_batch.yaml")
    assert main(["jacobian", batch, "--inputs", data, "--wrt", "x0", "--wrt", "w0", "-o", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "jacobian of f with respect to x0, w0",
        "reverse mode: 200 passes, one per output element (forward mode would take 201, one per leaf "
        "element)",
        f"written to {out} (keys 'd OUT / d LEAF')",
        "(200 rows by 201 columns: too large for a table)",
    ]
    with np.load(out) as saved:
        assert saved.files == ["d f / d x0", "d f / d w0"]
        dx0, dw0 = saved["d f / d x0"], saved["d f / d w0"]
    assert dx0.shape == (200, 200) and dw0.shape == (200,)
    grads = gatekit.load(batch).run(gatekit.io.inputs.read_inputs(data, gatekit.load(batch))).grads
    np.testing.assert_allclose(np.diag(dx0), grads["x0"], rtol=1e-14)  # f[i] depends on x0[i] alone
    assert np.count_nonzero(dx0 - np.diag(np.diag(dx0))) == 0
    assert dw0.sum() == pytest.approx(grads["w0"], rel=1e-12)


def test_output_with_a_small_jacobian_also_prints_the_table(tmp_path: Path, capsys) -> None:
    out = tmp_path / "j.npz"
    assert main(["jacobian", ARM, "--wrt", "theta", "--output", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == f"written to {out} (keys 'd OUT / d LEAF')" and len(lines) == 7
    with np.load(out) as saved:
        assert saved.files == ["d x / d theta", "d y / d theta", "d heading / d theta"]


def test_the_help_examples_run(tmp_path: Path) -> None:
    help_text = build()._subparsers._group_actions[0].choices["jacobian"].format_help()  # type: ignore[union-attr]
    examples = [line.strip() for line in help_text.split("examples:\n", 1)[1].splitlines()]
    assert len(examples) >= 4
    for example in examples:
        command = example.replace("-o jacobian.npz", f"-o {tmp_path / 'jacobian.npz'}")
        done = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, check=False)
        assert done.returncode == 0, (example, done.stderr)


# -- mistakes: one line each --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--of", "z"],
            "error: --of z: no node named 'z' to take the Jacobian of (outputs: x, y, heading; any gate or "
            "leaf may be named)",
        ),
        (
            ["--wrt", "phi"],
            "error: --wrt phi: 'phi' is a gate, not an input or param: a Jacobian is taken with respect to "
            "leaves (inputs and params: theta, chain, lengths)",
        ),
        (
            ["--wrt", "theta", "--wrt", "angle"],
            "error: --wrt angle: 'angle' is no input or param: a Jacobian is taken with respect to leaves "
            "(inputs and params: theta, chain, lengths)",
        ),
    ],
)
def test_a_name_that_cannot_be_differentiated(capsys, args: list[str], line: str) -> None:
    assert failed(capsys, ["jacobian", ARM, *args]) == line


def test_a_jacobian_too_large_for_the_table_is_refused_before_it_is_computed(capsys) -> None:
    batch = str(ROOT / "graphs" / "neuron_batch.yaml")
    data = str(ROOT / "graphs" / "data" / "neuron_batch.csv")
    assert failed(capsys, ["jacobian", batch, "--inputs", data]) == (
        "error: jacobian: 200 rows (output elements) by 403 columns (leaf elements) is too large for a "
        f"table (at most {TABLE_ROWS} by {TABLE_COLUMNS}): write it with --json or -o FILE.npz, or choose "
        "fewer with --of and --wrt"
    )
    assert main(["jacobian", batch, "--inputs", data, "--json", "--of", "f", "--wrt", "w0"]) == 0
    assert len(json.loads(capsys.readouterr().out)["jacobian"]["d f / d w0"]) == 200


def test_too_wide_or_too_long_is_too_large(capsys) -> None:
    three_links = ["--set", "theta=[0.1, 0.2, 0.3]", "--set", "lengths=[1, 1, 1]"]
    three_links += ["--set", "chain=[[1, 0, 0], [1, 1, 0], [1, 1, 1]]"]
    assert failed(capsys, ["jacobian", ARM, *three_links]).startswith(
        "error: jacobian: 3 rows (output elements) by 15 columns (leaf elements) is too large for a table"
    )
    assert main(["jacobian", ARM, *three_links, "--wrt", "theta"]) == 0  # 3 by 3
    capsys.readouterr()
    batch = str(ROOT / "graphs" / "neuron_batch.yaml")
    data = str(ROOT / "graphs" / "data" / "neuron_batch.csv")
    assert failed(capsys, ["jacobian", batch, "--inputs", data, "--wrt", "w0"]).startswith(
        "error: jacobian: 200 rows (output elements) by 1 columns (leaf elements) is too large"
    )


def test_an_output_file_of_another_type_is_refused_before_anything_runs(capsys, tmp_path: Path) -> None:
    target = tmp_path / "j.csv"
    assert failed(capsys, ["jacobian", ARM, "-o", str(target)]) == (
        f"error: {target}: unsupported file type '.csv'; a Jacobian can be written to .npz only"
    )
    assert failed(
        capsys, ["jacobian", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "no" / "j.npz")]
    ) == (
        f"error: {tmp_path / 'no' / 'j.npz'}: cannot write the file: the folder '{tmp_path / 'no'}' "
        "does not exist"
    )


def test_an_unknown_mode_is_the_parser_s(capsys) -> None:
    assert main(["jacobian", ARM, "--mode", "sideways"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("usage: gatekit jacobian ")
    assert lines[-1] == (
        "error: gatekit jacobian: argument --mode: invalid choice: 'sideways' (choose from 'auto', "
        "'forward', 'reverse')"
    )


PLUGIN = """
import numpy as np
import gatekit


class Rowsum:
    @gatekit.hookimpl
    def gate_spec(self):
        return gatekit.GateSpec("rowsum", 1, "Sum over the last axis.")

    @gatekit.hookimpl
    def gate_forward(self, inputs):
        return np.sum(inputs[0], axis=-1)

    @gatekit.hookimpl
    def gate_vjp(self, inputs, output, upstream):
        if np.any(np.asarray(upstream) > 1):
            raise ValueError("an upstream gradient above 1")
        return (np.repeat(np.expand_dims(upstream, -1), inputs[0].shape[-1], axis=-1),)


@gatekit.hookimpl
def gatekit_register_gates():
    return [Rowsum()]
"""


def plugin_circuit(tmp_path: Path, outputs: str) -> tuple[str, str]:
    plugin = tmp_path / "gk_rowsum.py"
    plugin.write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    graph = tmp_path / "rows.yaml"
    graph.write_text(
        "inputs: {m: [[1.0, 2.0]]}\ngates:\n  r: {gate: rowsum, in: [m]}\n  e: {gate: exp, in: [m]}\n"
        "  d: {gate: mul, in: [r, 2]}\n"
        f"outputs: [{outputs}]\n",
        encoding="utf-8",
    )
    return str(plugin), str(graph)


def test_forward_mode_through_a_gate_without_jvp_is_refused(tmp_path: Path, capsys) -> None:
    plugin, graph = plugin_circuit(tmp_path, "r, e")
    assert main(["jacobian", graph, "-p", plugin]) == 0  # auto: reverse, since forward cannot
    gate = f"gate 'r' (rowsum, plugin '{plugin}:rowsum')"
    assert capsys.readouterr().out.splitlines()[1] == (
        "reverse mode: 3 passes, one per output element (forward mode would take 2, one per leaf element; "
        f"{gate} has no gate_jvp)"
    )
    assert failed(capsys, ["jacobian", graph, "-p", plugin, "--mode", "forward"]) == (
        f"error: {graph}:3:3: forward mode needs gate_jvp, which {gate} does not implement (a gate with "
        "gate_vjp gives its tangent only through it)"
    )


def test_a_gate_failing_in_a_pass_is_a_run_error(tmp_path: Path, capsys) -> None:
    plugin, graph = plugin_circuit(tmp_path, "e, d")  # d's reverse pass sends 2 back into rowsum
    assert failed(capsys, ["jacobian", graph, "-p", plugin, "--of", "d"], code=1) == (
        f"error: {graph}:3:3: gate 'r' (rowsum, plugin '{plugin}:rowsum') failed in gate_vjp: ValueError: "
        "an upstream gradient above 1"
    )
