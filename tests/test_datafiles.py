"""Leaf values from data files (``--inputs``) and results to ``.npz`` (``--output``).

Every format, every error message (exactly), the CLI options, and the example
graphs with their data files against a direct NumPy computation.
"""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from test_fuzz import time_limit

import gatekit
from gatekit.cli import main
from gatekit.io.inputs import read_inputs
from gatekit.io.outputs import OUTPUT_TYPES, write_outputs

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"
NEURON = "graphs/neuron.yaml"  # the CLI runs from the repository root
KNOWN = "(inputs: x0, x1; params: w0, w1, w2)"
GRADS = {
    "x0": 0.3932238664829637,
    "x1": -0.5898357997244456,
    "w0": -0.19661193324148185,
    "w1": -0.3932238664829637,
    "w2": 0.19661193324148185,
}


@pytest.fixture(scope="module")
def neuron() -> gatekit.Circuit:
    return gatekit.load(GRAPHS / "neuron.yaml")


def close(value: object) -> object:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


def one_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI in-process; check it failed with exit 2 and one line; return the line."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("error: ")
    return line


# -- the three formats -------------------------------------------------------------


def test_csv_columns_become_float64_arrays(tmp_path, neuron):
    path = tmp_path / "batch.csv"
    path.write_text("x0, x1\n-1,-2\n0.5, 1e-3\n3,4\n\n\n", encoding="utf-8")  # blank lines at the end
    values = read_inputs(path, neuron)
    assert list(values) == ["x0", "x1"]
    for value in values.values():
        assert type(value) is np.ndarray
        assert (value.dtype, value.shape) == (np.float64, (3,))
    assert values["x0"].tolist() == [-1.0, 0.5, 3.0]
    assert values["x1"].tolist() == [-2.0, 0.001, 4.0]


def test_csv_with_bom_crlf_quotes_and_one_row(tmp_path, neuron):
    path = tmp_path / "one.csv"
    path.write_bytes(b'\xef\xbb\xbf"w0",x0\r\n"2.5",-1\r\n')
    values = read_inputs(path, neuron)
    assert {k: v.tolist() for k, v in values.items()} == {"w0": [2.5], "x0": [-1.0]}


def test_npz_arrays_by_leaf_name(tmp_path, neuron):
    path = tmp_path / "batch.npz"
    np.savez(path, x0=np.array([1, 2, 3]), x1=np.array([[0.5, 1.5]]), w2=np.float32(0.25))
    values = read_inputs(path, neuron)
    assert list(values) == ["x0", "x1", "w2"]
    assert values["x0"].dtype == np.float64 and values["x0"].tolist() == [1.0, 2.0, 3.0]
    assert values["x1"].shape == (1, 2)
    assert type(values["w2"]) is float and values["w2"] == 0.25  # a 0-d array is a number


def test_json_numbers_and_nested_lists(tmp_path, neuron):
    path = tmp_path / "values.json"
    path.write_text('{"x0": -1, "x1": [[1, 2.5], [3, 4]], "w0": 1e-3, "w1": [NaN, Infinity]}')
    values = read_inputs(path, neuron)
    assert type(values["x0"]) is float and values["x0"] == -1.0
    assert values["x1"].dtype == np.float64 and values["x1"].tolist() == [[1.0, 2.5], [3.0, 4.0]]
    assert values["w0"] == 0.001
    assert np.isnan(values["w1"][0]) and values["w1"][1] == np.inf


def test_values_run_as_overrides(tmp_path, neuron):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"x0": -1.0, "x1": -2.0}))
    result = neuron.run(**read_inputs(path, neuron))
    assert result.grads == {name: close(value) for name, value in GRADS.items()}


# -- every error, with its exact message ------------------------------------------

BAD_FILES = [
    # csv
    pytest.param(
        "d.csv",
        "x0,xl\n1,2\n",
        f"{{file}}:1: column 'xl' names no input or param of {{graph}}; did you mean 'x0' or 'x1'? {KNOWN}",
        id="csv-unknown-column",
    ),
    pytest.param(
        "d.csv",
        "x0,speed\n1,2\n",
        f"{{file}}:1: column 'speed' names no input or param of {{graph}} {KNOWN}",
        id="csv-unknown-column-no-match",
    ),
    pytest.param(
        "d.csv",
        "x0,dot\n1,2\n",
        f"{{file}}:1: column 'dot' names a gate of {{graph}}, not an input or param {KNOWN}",
        id="csv-gate-column",
    ),
    pytest.param(
        "d.csv", "x0,x1\n1,2\n3,4,5\n", "{file}:3: expected 2 cells (x0, x1), got 3", id="csv-long-row"
    ),
    pytest.param(
        "d.csv", "x0,x1\n1,2\n3,4\n5\n", "{file}:4: expected 2 cells (x0, x1), got 1", id="csv-short-row"
    ),
    pytest.param(
        "d.csv",
        "x0,x1\n1,2\n3,four\n",
        "{file}:3: column 'x1': expected a number, got 'four'",
        id="csv-not-a-number",
    ),
    pytest.param(
        "d.csv", "x0,x1\n1,\n", "{file}:2: column 'x1': expected a number, got ''", id="csv-empty-cell"
    ),
    pytest.param(
        "d.csv",
        "x0\n1e400\n",
        "{file}:2: column 'x0': the number 1e400 is too large for a float",
        id="csv-too-large",
    ),
    pytest.param(
        "d.csv",
        'x0,x1\n1,2\n"3\n",4\n5,six\n',
        "{file}:5: column 'x1': expected a number, got 'six'",
        id="csv-line-after-a-multiline-cell",
    ),
    pytest.param(
        "d.csv",
        "x0,x1\n1,2\n\n3,4\n",
        "{file}:3: a blank line inside the data (only the end may have blank lines)",
        id="csv-blank-line-inside",
    ),
    pytest.param("d.csv", "", "{file}: the file is empty", id="csv-empty"),
    pytest.param("d.csv", "\n\n", "{file}: the file is empty", id="csv-blank-lines-only"),
    pytest.param(
        "d.csv",
        "1,2\n3,4\n",
        "{file}:1: missing header: the first row must name the columns "
        "(inputs and params, for example x0,x1), got numbers",
        id="csv-missing-header",
    ),
    pytest.param(
        "d.csv",
        "\nx0\n1\n",
        "{file}:1: missing header: the first line is blank, expected the column names",
        id="csv-blank-first-line",
    ),
    pytest.param("d.csv", "x0,x1\n", "{file}: no data rows after the header", id="csv-header-only"),
    pytest.param("d.csv", "x0,,x1\n1,2,3\n", "{file}:1: column 2 has no name", id="csv-unnamed-column"),
    pytest.param(
        "d.csv",
        "x0,x1,x0\n1,2,3\n",
        "{file}:1: column 'x0' appears twice (columns 1 and 3)",
        id="csv-duplicate-column",
    ),
    pytest.param(
        "d.csv",
        b"x0\n\xe9\n",
        "{file}: the file is not UTF-8 text (invalid continuation byte)",
        id="csv-not-utf8",
    ),
    pytest.param(
        "d.csv",
        "x0,x1\n1,2\n\r\n\r3,4\n",
        "{file}:3: a blank line inside the data (only the end may have blank lines)",
        id="csv-blank-lines-of-every-ending",
    ),
    # json
    pytest.param(
        "d.json",
        '{"x0": 1,\n "x1": }',
        "{file}:2:8: invalid JSON: Expecting value",
        id="json-invalid",
    ),
    pytest.param("d.json", " \n", "{file}: the file is empty", id="json-empty"),
    pytest.param(
        "d.json",
        "[1, 2]",
        "{file}: expected a JSON object mapping input and param names to values, got a list",
        id="json-not-an-object",
    ),
    pytest.param(
        "d.json",
        "{}",
        "{file}: the JSON object is empty; give at least one input or param",
        id="json-empty-object",
    ),
    pytest.param("d.json", '{"x0": 1, "x0": 2}', "{file}: key 'x0' appears twice", id="json-duplicate-key"),
    pytest.param(
        "d.json",
        '{"w3": 1}',
        "{file}: key 'w3' names no input or param of {graph}; "
        f"did you mean 'w0' or 'w1' or 'w2'? {KNOWN}",
        id="json-unknown-key",
    ),
    pytest.param(
        "d.json",
        '{"f": 1}',
        f"{{file}}: key 'f' names a gate of {{graph}}, not an input or param {KNOWN}",
        id="json-gate-key",
    ),
    pytest.param(
        "d.json",
        '{"x0": "1.5"}',
        "{file}: key 'x0': expected a number or a list of numbers, got the text '1.5'",
        id="json-text",
    ),
    pytest.param(
        "d.json",
        '{"x0": true}',
        "{file}: key 'x0': expected a number or a list of numbers, got a boolean (true)",
        id="json-boolean",
    ),
    pytest.param(
        "d.json",
        '{"x0": null}',
        "{file}: key 'x0': expected a number or a list of numbers, got null",
        id="json-null",
    ),
    pytest.param(
        "d.json",
        '{"x0": {"a": 1}}',
        "{file}: key 'x0': expected a number or a list of numbers, got an object",
        id="json-object",
    ),
    pytest.param(
        "d.json",
        '{"x0": 1e400}',
        "{file}: key 'x0': expected a number or a list of numbers, "
        "got the number 1e400, too large for a float",
        id="json-too-large",
    ),
    pytest.param(
        "d.json",
        '{"x0": [1, "2"]}',
        "{file}: key 'x0': item [1] must be a number, got the text '2'",
        id="json-item-text",
    ),
    pytest.param(
        "d.json",
        '{"x0": [[1, 2], [3]]}',
        "{file}: key 'x0': ragged list: item [1] is a list of 1 item, expected a list of 2 items",
        id="json-ragged-lengths",
    ),
    pytest.param(
        "d.json",
        '{"x0": [[1, 2], 3]}',
        "{file}: key 'x0': ragged list: item [1] is a number (3.0), expected a list of 2 items",
        id="json-ragged-number",
    ),
    pytest.param(
        "d.json",
        '{"x0": [1, [2]]}',
        "{file}: key 'x0': ragged list: item [1] is a list, expected a number",
        id="json-ragged-list",
    ),
    pytest.param("d.json", '{"x0": []}', "{file}: key 'x0': the list is empty", id="json-empty-list"),
    pytest.param(
        "d.json", '{"x0": [[], []]}', "{file}: key 'x0': item [0] is an empty list", id="json-nested-empty"
    ),
    # extensions
    pytest.param(
        "d.txt",
        "x0\n1\n",
        "{file}: unsupported file type '.txt'; inputs can be read from .npz, .csv, .json",
        id="unsupported-extension",
    ),
    pytest.param(
        "data",
        "x0\n1\n",
        "{file}: no file extension; inputs can be read from .npz, .csv, .json",
        id="no-extension",
    ),
]


@pytest.mark.parametrize(("name", "content", "expected"), BAD_FILES)
def test_bad_data_file(tmp_path, neuron, name, content, expected):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, neuron)
    assert str(info.value) == expected.format(file=path, graph=neuron.file)
    assert info.value.exit_code == 2


def _npz(path: Path, **arrays: object) -> None:
    np.savez(path, **arrays)


BAD_NPZ = [
    pytest.param(
        {"x0": np.ones(2), "xx": np.ones(2)},
        f"{{file}}: array 'xx' names no input or param of {{graph}}; did you mean 'x0' or 'x1'? {KNOWN}",
        id="unknown-array",
    ),
    pytest.param(
        {"wx0": np.ones(2)},
        f"{{file}}: array 'wx0' names a gate of {{graph}}, not an input or param {KNOWN}",
        id="gate-array",
    ),
    pytest.param(
        {"x0": np.array([1, "a"], dtype=object)},
        "{file}: array 'x0' holds Python objects (an object array); save numbers only, "
        "for example with .astype(float)",
        id="object-array",
    ),
    pytest.param(
        {"x0": np.array(["1", "2"])},
        "{file}: array 'x0': expected numbers, got an array of dtype <U1",
        id="text-array",
    ),
    pytest.param(
        {"x0": np.array([True, False])},
        "{file}: array 'x0': expected numbers, got an array of dtype bool",
        id="boolean-array",
    ),
    pytest.param(
        {"x0": np.array([1j])},
        "{file}: array 'x0': expected numbers, got an array of dtype complex128",
        id="complex-array",
    ),
    pytest.param(
        {"x0": np.zeros((0, 2))}, "{file}: array 'x0': the array is empty (shape (0, 2))", id="empty-array"
    ),
    pytest.param({}, "{file}: the file holds no arrays", id="no-arrays"),
]


@pytest.mark.parametrize(("arrays", "expected"), BAD_NPZ)
def test_bad_npz(tmp_path, neuron, arrays, expected):
    path = tmp_path / "d.npz"
    _npz(path, **arrays)
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, neuron)
    assert str(info.value) == expected.format(file=path, graph=neuron.file)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "{file}: the file is empty"),
        (b"x0,x1\n1,2\n", "{file}: not a .npz file (a zip of NumPy arrays, as numpy.savez writes)"),
        (b"PK\x03\x04broken", "{file}: not a readable .npz file (File is not a zip file)"),
    ],
    ids=["empty", "not-a-zip", "broken-zip"],
)
def test_unreadable_npz(tmp_path, neuron, content, expected):
    path = tmp_path / "d.npz"
    path.write_bytes(content)
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, neuron)
    assert str(info.value) == expected.format(file=path)


# -- hostile files -------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz"])
@pytest.mark.parametrize("kind", ["pipe", "device"])
def test_a_pipe_or_a_device_is_refused_before_it_is_read(tmp_path, neuron, suffix, kind):
    # A pipe waits for a writer and /dev/zero never ends: both were read (or waited on) forever.
    path = tmp_path / f"{kind}{suffix}"
    if kind == "pipe":
        os.mkfifo(path)
    else:
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero here")
        path.symlink_to("/dev/zero")
    with pytest.raises(gatekit.UsageError) as info, time_limit(10):
        read_inputs(path, neuron)
    assert (
        str(info.value) == f"{path}: cannot read the file: not a regular file (a pipe, a device or a folder)"
    )


def test_dev_zero_itself_is_refused_by_its_name(neuron):
    with pytest.raises(gatekit.UsageError) as info, time_limit(10):
        read_inputs("/dev/zero", neuron)
    assert str(info.value) == "/dev/zero: no file extension; inputs can be read from .npz, .csv, .json"


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".json"])
def test_missing_file(tmp_path, neuron, suffix):
    path = tmp_path / f"missing{suffix}"
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, neuron)
    assert str(info.value) == f"{path}: cannot read the file: No such file or directory"


def test_a_folder_is_unreadable(tmp_path, neuron):
    # refused before it is opened, by the reader every file goes through (gatekit.limits.read_bounded)
    path = tmp_path / "folder.csv"
    path.mkdir()
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, neuron)
    assert (
        str(info.value) == f"{path}: cannot read the file: not a regular file (a pipe, a device or a folder)"
    )


def test_a_circuit_without_leaves_says_so(tmp_path):
    circuit = gatekit.loads("gates:\n  y: {gate: neg, in: [2]}\noutputs: [y]\n", file="c.yaml")
    path = tmp_path / "d.json"
    path.write_text('{"x": 1}')
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, circuit)
    assert (
        str(info.value)
        == f"{path}: key 'x' names no input or param of c.yaml (the circuit has no inputs or params)"
    )


# -- --inputs through the CLI -------------------------------------------------------


def test_run_inputs_csv(tmp_path, capsys):
    path = tmp_path / "batch.csv"
    path.write_text("x0,x1\n-1,-2\n2,-2\n")
    assert main(["run", NEURON, "--inputs", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    data = json.loads(captured.out)
    x0, x1 = np.array([-1.0, 2.0]), np.array([-2.0, -2.0])
    f = 1.0 / (1.0 + np.exp(-(2.0 * x0 - 3.0 * x1 - 3.0)))
    slope = (1.0 - f) * f
    assert data["outputs"]["f"] == close(f.tolist())
    assert data["grads"]["x0"] == close((2.0 * slope).tolist())
    assert data["grads"]["w0"] == close(float(np.sum(x0 * slope)))
    assert data["grads"]["w2"] == close(float(np.sum(slope)))


@pytest.mark.parametrize("suffix", [".json", ".npz", ".csv"])
def test_set_overrides_inputs(tmp_path, capsys, suffix):
    path = tmp_path / f"seed{suffix}"
    if suffix == ".json":
        path.write_text('{"x0": 5, "x1": -2, "w0": 7}')
    elif suffix == ".npz":
        np.savez(path, x0=np.float64(5.0), x1=np.float64(-2.0), w0=np.float64(7.0))
    else:
        path.write_text("x0,x1,w0\n5,-2,7\n")
    argv = ["run", NEURON, "--set", "x0=-1", "--inputs", str(path), "--set", "w0=2", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    # --set wins whatever the order on the command line: the seed's numbers again
    assert data["values"]["x0"] == -1.0
    f = data["outputs"]["f"]
    assert (f[0] if suffix == ".csv" else f) == close(0.7310585786300049)
    assert data["grads"]["w0"] == close(GRADS["w0"])


def test_inputs_error_through_the_cli(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("x0,x1\n1,2\n3,x\n")
    assert one_error(capsys, ["run", NEURON, "--inputs", str(path)]) == (
        f"error: {path}:3: column 'x1': expected a number, got 'x'"
    )


def test_inputs_error_in_a_subprocess(cli, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"x0": [[1], [2, 3]]}')
    proc = cli("run", NEURON, "--inputs", path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        f"error: {path}: key 'x0': ragged list: item [1] is a list of 2 items, expected a list of 1 item\n"
    )


def test_check_graph_takes_inputs(tmp_path, capsys):
    path = tmp_path / "batch.csv"
    path.write_text("x0,x1\n-1,-2\n0.5,1\n2,-0.5\n")
    assert main(["check", NEURON, "--inputs", str(path)]) == 0
    out = capsys.readouterr().out
    assert "end to end: df/dx0" in out
    assert out.splitlines()[-1].endswith(" 0 failed")


def test_check_gate_refuses_inputs(tmp_path, capsys):
    assert one_error(capsys, ["check", "--gate", "exp", "--inputs", "x.csv"]) == (
        "error: check --gate: --set and --inputs apply to a circuit (check GRAPH)"
    )


# -- --output -----------------------------------------------------------------------


def test_output_npz_holds_outputs_grads_and_values(tmp_path, capsys):
    out = tmp_path / "result.npz"
    assert main(["run", NEURON, "--json", "--output", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)  # stdout is unchanged: one JSON object
    with np.load(out, allow_pickle=False) as saved:
        names = ["x0", "x1", "w0", "w1", "w2", "wx0", "wx1", "dot", "neg", "e", "den", "f"]
        assert saved.files == [
            "outputs/f",
            *(f"grads/{leaf}" for leaf in ["x0", "x1", "w0", "w1", "w2"]),
            *(f"values/{name}" for name in names),
        ]
        assert all(saved[key].dtype == np.float64 for key in saved.files)
        assert saved["outputs/f"].shape == ()
        assert float(saved["outputs/f"]) == printed["outputs"]["f"]
        for leaf, grad in GRADS.items():
            assert float(saved[f"grads/{leaf}"]) == close(grad)
        assert float(saved["values/dot"]) == 1.0
    assert os.listdir(tmp_path) == ["result.npz"]  # no temporary file left behind


def test_output_with_a_batch(tmp_path, capsys):
    out = tmp_path / "batch.npz"
    data = GRAPHS / "data" / "neuron_batch.csv"
    assert main(["run", str(GRAPHS / "neuron_batch.yaml"), "--inputs", str(data), "--output", str(out)]) == 0
    table = capsys.readouterr().out
    assert "f  array(200,)  min " in table  # the table summarizes long arrays
    with np.load(out) as saved:
        assert saved["outputs/f"].shape == saved["grads/x0"].shape == saved["values/x1"].shape == (200,)
        assert saved["grads/w0"].shape == ()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("out.csv", "{file}: unsupported file type '.csv'; results can be written to .npz only"),
        ("out", "{file}: no file extension; results can be written to .npz only"),
        ("missing/out.npz", "{file}: cannot write the file: the folder '{folder}' does not exist"),
        ("folder.npz", "{file}: is a folder, not a file"),
    ],
    ids=["csv", "no-extension", "missing-folder", "a-folder"],
)
def test_bad_output_path_fails_before_running(tmp_path, capsys, name, expected):
    (tmp_path / "folder.npz").mkdir()
    path = tmp_path / name
    line = one_error(capsys, ["run", NEURON, "--output", str(path)])
    assert line == "error: " + expected.format(file=path, folder=path.parent)
    assert sorted(os.listdir(tmp_path)) == ["folder.npz"]


def test_failed_write_leaves_the_existing_file_untouched(tmp_path, capsys, monkeypatch):
    out = tmp_path / "result.npz"
    out.write_bytes(b"the previous results")

    def savez(file: object, **arrays: object) -> None:
        file.write(b"half of the new")  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", savez)
    line = one_error(capsys, ["run", NEURON, "--output", str(out)])
    assert line == f"error: {out}: cannot write the file: No space left on device"
    assert out.read_bytes() == b"the previous results"
    assert os.listdir(tmp_path) == ["result.npz"]  # the temporary file is gone


def test_write_outputs_replaces_an_existing_file(tmp_path, neuron):
    out = tmp_path / "result.npz"
    out.write_bytes(b"old")
    write_outputs(out, neuron.run(x0=3.0))
    with np.load(out) as saved:
        assert float(saved["values/x0"]) == 3.0
    assert os.listdir(tmp_path) == ["result.npz"]


def test_write_outputs_refuses_other_types(tmp_path, neuron):
    with pytest.raises(gatekit.UsageError, match=r"results can be written to \.npz only"):
        write_outputs(tmp_path / "r.json", neuron.run())
    assert OUTPUT_TYPES == (".npz",)


# -- the example graphs with their data ---------------------------------------------


def _sigmoid_neuron(x0: np.ndarray, x1: np.ndarray, w: tuple[float, float, float]) -> dict[str, object]:
    """The seed's closed form: f, dx = w * (1 - f) * f, dw summed over the batch."""
    w0, w1, w2 = w
    f = 1.0 / (1.0 + np.exp(-(w0 * x0 + w1 * x1 + w2)))
    slope = (1.0 - f) * f
    grads = {
        "x0": w0 * slope,
        "x1": w1 * slope,
        "w0": np.sum(x0 * slope),
        "w1": np.sum(x1 * slope),
        "w2": np.sum(slope),
    }
    return {"f": f, "grads": grads}


def test_neuron_batch_with_its_data_matches_the_closed_form():
    circuit = gatekit.load(GRAPHS / "neuron_batch.yaml")
    data = read_inputs(GRAPHS / "data" / "neuron_batch.csv", circuit)
    assert list(data) == ["x0", "x1"]
    assert data["x0"].shape == (200,)
    result = circuit.run(**data)
    expected = _sigmoid_neuron(data["x0"], data["x1"], (2.0, -3.0, -3.0))
    np.testing.assert_allclose(result.outputs["f"], expected["f"], rtol=1e-12, atol=1e-15)
    for name, grad in expected["grads"].items():  # type: ignore[attr-defined]
        assert np.shape(result.grads[name]) == np.shape(grad), name
        np.testing.assert_allclose(result.grads[name], grad, rtol=1e-11, atol=1e-14, err_msg=name)


def test_neuron_batch_runs_alone_and_starts_with_the_seed():
    circuit = gatekit.load(GRAPHS / "neuron_batch.yaml")
    seed = gatekit.load(GRAPHS / "neuron.yaml")
    assert list(circuit.graph.nodes) == list(seed.graph.nodes)  # the same gates and names
    result = circuit.run()
    assert result.outputs["f"][0] == close(0.7310585786300049)
    assert result.grads["x0"][0] == close(GRADS["x0"])
    assert result.grads["x1"][0] == close(GRADS["x1"])
    x0, x1 = result.values["x0"], result.values["x1"]
    expected = _sigmoid_neuron(x0, x1, (2.0, -3.0, -3.0))
    for name in ["w0", "w1", "w2"]:
        assert result.grads[name] == close(float(expected["grads"][name]))  # type: ignore[index]


def test_neuron_batch_header_says_how_to_run_it():
    assert "--inputs graphs/data/neuron_batch.csv" in (GRAPHS / "neuron_batch.yaml").read_text()


def _regression(x: np.ndarray, y: np.ndarray, w: float, b: float) -> dict[str, object]:
    """Mean squared error of w*x + b against y, and its gradients, by hand."""
    n = x.size
    residual = w * x + b - y
    return {
        "loss": np.mean(residual**2),
        "grads": {
            "x": 2.0 * residual * w / n,
            "y": -2.0 * residual / n,
            "w": np.mean(2.0 * residual * x),
            "b": np.mean(2.0 * residual),
        },
    }


needs_mean = pytest.mark.skipif(
    "mean" not in gatekit.default_registry(), reason="graphs/linear_regression.yaml needs the 'mean' gate"
)


@needs_mean
@pytest.mark.parametrize("with_data", [True, False], ids=["csv", "defaults"])
def test_linear_regression_matches_numpy(with_data):
    circuit = gatekit.load(GRAPHS / "linear_regression.yaml")
    assert (circuit.inputs, circuit.params) == (["x", "y"], ["w", "b"])
    data = read_inputs(GRAPHS / "data" / "linear_regression.csv", circuit) if with_data else {}
    result = circuit.run(**data)
    x, y = result.values["x"], result.values["y"]
    w, b = result.values["w"], result.values["b"]
    expected = _regression(x, y, w, b)
    loss = result.outputs[circuit.outputs[0]]
    assert np.shape(loss) == ()
    assert float(loss) == close(float(expected["loss"]))  # type: ignore[arg-type]
    for name, grad in expected["grads"].items():  # type: ignore[attr-defined]
        assert np.shape(result.grads[name]) == np.shape(grad), name
        np.testing.assert_allclose(result.grads[name], grad, rtol=1e-12, atol=1e-14, err_msg=name)


@needs_mean
def test_example_graphs_run_through_the_cli(cli):
    for graph, data in [
        ("graphs/neuron_batch.yaml", "graphs/data/neuron_batch.csv"),
        ("graphs/linear_regression.yaml", "graphs/data/linear_regression.csv"),
    ]:
        proc = cli("run", graph, "--inputs", data, "--json")
        assert (proc.returncode, proc.stderr) == (0, ""), graph
        assert set(json.loads(proc.stdout)) == {"outputs", "grads", "values"}


def _tokens(line: str) -> list[object]:
    """A table line's cells, numbers as approximate floats (sums may differ in the last bits)."""
    cells: list[object] = []
    for cell in line.split():
        try:
            cells.append(pytest.approx(float(cell), rel=1e-9))
        except ValueError:
            cells.append(cell)
    return cells


def test_the_batch_output_shown_in_the_readme_is_what_run_prints(cli):
    readme = (ROOT / "README.md").read_text()
    command = "gatekit run graphs/neuron_batch.yaml --inputs graphs/data/neuron_batch.csv"
    match = re.search(rf"```console\n\$ {re.escape(command)}\n(.*?)```", readme, re.S)
    assert match, "the README shows no run of the batch example"
    proc = cli(*command.split()[1:])
    assert (proc.returncode, proc.stderr) == (0, "")
    shown = match.group(1).splitlines()
    printed = proc.stdout.splitlines()
    assert len(printed) == len(shown)
    for got, expected in zip(printed, shown, strict=True):
        assert _tokens(got) == _tokens(expected)
