"""Leaf values from data files (``--inputs``) and results to ``.npz`` (``--output``).

Every format, every error message (exactly), hostile files (pipes, devices,
``.npz`` members crafted byte by byte, decompression bombs), the memory a
large file takes, the CLI options, and the example graphs with their data
files against a direct NumPy computation.
"""

from __future__ import annotations

import errno
import json
import os
import re
import struct
import time
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass, field
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
        "x0\n1\n" + "9" * 200_000 + "\n",
        "{file}:3: not a readable csv file (field larger than field limit (131072))",
        id="csv-cell-too-long",
    ),
    pytest.param(
        "d.csv",
        "x0\n" + "a" * 1000 + "\n",
        "{file}:2: column 'x0': expected a number, got " + repr("a" * 100) + "... (1,000 characters)",
        id="csv-long-text-cut-short",
    ),
    pytest.param(
        "d.csv",
        "x0\n" + "9" * 400 + "\n",
        "{file}:2: column 'x0': the number " + "9" * 100 + "... (400 characters) is too large for a float",
        id="csv-long-number-cut-short",
    ),
    pytest.param(
        "d.csv",
        "x0," + "x" * 200 + "\n1,2\n",
        "{file}:1: column "
        + repr("x" * 100)
        + f"... (200 characters) names no input or param of {{graph}} {KNOWN}",
        id="csv-long-name-cut-short",
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
    pytest.param(
        "d.json",
        '{"x0": [1, 1e400]}',
        "{file}: key 'x0': item [1] must be a number, got the number 1e400, too large for a float",
        id="json-item-too-large",
    ),
    pytest.param(
        "d.json",
        '{"x0": ' + "9" * 5000 + "}",
        "{file}: key 'x0': expected a number or a list of numbers, got the number "
        + "9" * 100
        + "... (5,000 characters), too large for a float",
        id="json-integer-of-5000-digits",
    ),
    pytest.param(
        "d.json",
        '{"x0": [[1], [null]]}',
        "{file}: key 'x0': item [1][0] must be a number, got null",
        id="json-item-null",
    ),
    pytest.param(
        "d.json",
        '{"x0": [[[1], [2]], [[3], 4]]}',
        "{file}: key 'x0': ragged list: item [1][1] is a number (4.0), expected a list of 1 item",
        id="json-ragged-number-deep",
    ),
    pytest.param(
        "d.json",
        '{"x1": [[7, 8], [9, 10]], "w0": NaN, "x0": [[1], 2]}',
        "{file}: key 'x0': ragged list: item [1] is a number (2.0), expected a list of 1 item",
        id="json-ragged-number-after-other-keys",
    ),
    pytest.param(
        "d.json",
        "5",
        "{file}: expected a JSON object mapping input and param names to values, got a number (5.0)",
        id="json-a-number",
    ),
    pytest.param(
        "d.json",
        '{"' + "k" * 1000 + '": 1}',
        "{file}: key "
        + repr("k" * 100)
        + f"... (1,000 characters) names no input or param of {{graph}} {KNOWN}",
        id="json-long-key-cut-short",
    ),
    pytest.param(
        "d.json",
        '{"x0": "' + "t" * 1000 + '"}',
        "{file}: key 'x0': expected a number or a list of numbers, got the text "
        + repr("t" * 100)
        + "... (1,000 characters)",
        id="json-long-text-cut-short",
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


def test_json_values_are_split_by_key_in_document_order(tmp_path, neuron):
    path = tmp_path / "values.json"
    path.write_text(
        '{"x1": [[1, 2.5], [3, 4]], "x0": 5, "w0": [NaN, -Infinity, 1e308], "w1": [[[7]]], "w2": -0.0}'
    )
    values = read_inputs(path, neuron)
    assert list(values) == ["x1", "x0", "w0", "w1", "w2"]
    assert values["x1"].tolist() == [[1.0, 2.5], [3.0, 4.0]]
    assert type(values["x0"]) is float and values["x0"] == 5.0
    assert np.isnan(values["w0"][0]) and values["w0"][1:].tolist() == [-np.inf, 1e308]
    assert values["w1"].shape == (1, 1, 1) and values["w1"].dtype == np.float64
    assert type(values["w2"]) is float and str(values["w2"]) == "-0.0"
    for value in values.values():
        if isinstance(value, np.ndarray):
            assert value.flags.owndata and value.flags.writeable  # no view of the parser's buffer


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


def npy_bytes(
    header: object = None,
    data: bytes | None = None,
    *,
    version: tuple[int, int] = (1, 0),
    text: bytes | None = None,
    length: int | None = None,
) -> bytes:
    """A ``.npy`` member as given: ``header`` (written as its repr; default one float64, 2.5)
    or the raw header ``text``, a header length field that may lie, then ``data``."""
    if header is None:
        header = {"descr": "<f8", "fortran_order": False, "shape": (1,)}
    if text is None:
        text = repr(header).encode("utf8" if version == (3, 0) else "latin1") + b"\n"
    width = 2 if version == (1, 0) else 4
    size = len(text) if length is None else length
    if data is None:
        data = np.float64(2.5).tobytes()
    return b"\x93NUMPY" + bytes(version) + size.to_bytes(width, "little") + text + data


def f8(shape: object, data: bytes = b"", **header: object) -> bytes:
    """A ``.npy`` member of float64 of ``shape`` (other header fields in ``header``)."""
    return npy_bytes({"descr": "<f8", "fortran_order": False, "shape": shape, **header}, data)


@dataclass
class Member:
    """One zip entry, every field settable, whatever zipfile itself would write."""

    name: str
    content: bytes = field(default_factory=npy_bytes)  # what the member inflates to
    method: int = zipfile.ZIP_STORED
    flags: int = 0
    raw: bytes | None = None  # the bytes stored (default: content, compressed by method)
    crc: int | None = None  # default: the CRC-32 of content
    size: int | None = None  # the uncompressed size declared (default: len(content))
    local_name: str | None = None  # the name in the local header (default: name)

    def stored(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.method == zipfile.ZIP_DEFLATED:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            return compressor.compress(self.content) + compressor.flush()
        return self.content


def zip_bytes(members: list[Member]) -> bytes:
    """A zip file of ``members`` (local headers, then the central directory), no zip64."""
    body = bytearray()
    directory = bytearray()
    for member in members:
        raw = member.stored()
        crc = zlib.crc32(member.content) if member.crc is None else member.crc
        size = len(member.content) if member.size is None else member.size
        name = member.name.encode("utf8")
        local = name if member.local_name is None else member.local_name.encode("utf8")
        entry = (member.flags | 0x800, member.method, 0, 0x21, crc, len(raw), size)  # 0x800: UTF-8 names
        directory += struct.pack(
            "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, *entry, len(name), 0, 0, 0, 0, 0, len(body)
        )
        directory += name
        body += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, *entry, len(local), 0) + local + raw
    count = len(members)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(body), 0)
    return bytes(body + directory + end)


def deflate_bomb(prefix: bytes, mebibytes: int) -> bytes:
    """Raw deflate data of ``prefix`` then ``mebibytes`` MiB of zeros, about 1 KiB a MiB.

    After a full flush the compressor's state is reset, so each MiB of zeros
    compresses to the same bytes, and they can be repeated instead of computed.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    return head + first + again * (mebibytes - 1) + compressor.flush()


def test_the_deflate_bomb_helper_inflates_as_it_says():
    inflated = zlib.decompress(deflate_bomb(b"head", 3), -15)
    assert inflated == b"head" + bytes(3 << 20)


ONE = npy_bytes()  # one float64, 2.5
ONE_DEFLATED = Member("x0.npy", method=zipfile.ZIP_DEFLATED).stored()
BAD_MEMBERS = [
    # the zip's entries
    pytest.param(
        [Member("x0.npy"), Member("x1.txt")],
        "member 'x1.txt' is not a .npy array (a .npz holds one NAME.npy member for each array)",
        id="not-npy",
    ),
    pytest.param([Member("x0.npy"), Member("x0.npy")], "member 'x0.npy' appears twice", id="duplicate"),
    pytest.param(
        [Member("x0.npy", flags=0x1)],
        "member 'x0.npy' is encrypted; only unencrypted members can be read",
        id="encrypted",
    ),
    pytest.param(
        [Member("x0.npy", method=zipfile.ZIP_BZIP2)],
        "member 'x0.npy' is compressed with method 12 (bzip2); only stored and deflated members "
        "(as numpy.savez and numpy.savez_compressed write them) can be read",
        id="bzip2",
    ),
    pytest.param(
        [Member("x0.npy", method=77)],
        "member 'x0.npy' is compressed with method 77 (unknown); only stored and deflated members "
        "(as numpy.savez and numpy.savez_compressed write them) can be read",
        id="unknown-method",
    ),
    pytest.param(
        [Member("x0.npy", crc=1234)],
        "member 'x0.npy' cannot be read: Bad CRC-32 for file 'x0.npy'",
        id="bad-crc",
    ),
    pytest.param(
        [Member("x0.npy", method=zipfile.ZIP_DEFLATED, crc=1234)],
        "member 'x0.npy' cannot be read: Bad CRC-32 for file 'x0.npy'",
        id="bad-crc-deflated",
    ),
    pytest.param(
        [Member("x0.npy", method=zipfile.ZIP_DEFLATED, raw=b"\xff" * 40)],
        "member 'x0.npy' cannot be read: Error -3 while decompressing data: invalid block type",
        id="corrupt-deflate",
    ),
    pytest.param(
        [Member("x0.npy", method=zipfile.ZIP_DEFLATED, raw=ONE_DEFLATED[:-8])],
        "member 'x0.npy' cannot be read: Bad CRC-32 for file 'x0.npy'",
        id="cut-deflate",
    ),
    pytest.param(
        [Member("x0.npy", raw=ONE[:-4], crc=zlib.crc32(ONE[:-4]))],
        "member 'x0.npy' is truncated: its data holds 4 of the 8 bytes its .npy header describes",
        id="truncated-with-its-crc",
    ),
    pytest.param(
        [Member("x0.npy", local_name="x1.npy")],
        "member 'x0.npy' cannot be read: File name in directory 'x0.npy' and header b'x1.npy' differ.",
        id="two-names",
    ),
    pytest.param(
        [Member("x0.npy", flags=0x20)],
        "member 'x0.npy' cannot be read: compressed patched data (flag bit 5)",
        id="patched-data",
    ),
    pytest.param(
        [Member("x0.npy", size=len(ONE) + 1)],
        "member 'x0.npy': its zip entry says it holds 75 bytes, its .npy header describes 74",
        id="size-too-large",
    ),
    pytest.param(
        [Member("x0.npy", size=2**32 - 1)],
        "member 'x0.npy': its zip entry says it holds 4,294,967,295 bytes, its .npy header describes 74",
        id="size-huge",
    ),
    # the .npy header
    pytest.param(
        [Member("x0.npy", content=b"\x93NUMPZ\x01\x00" + ONE[8:])],
        "array 'x0': not a .npy array (it does not start with NumPy's magic bytes)",
        id="not-npy-magic",
    ),
    pytest.param(
        [Member("x0.npy", content=npy_bytes(version=(4, 0)))],
        "array 'x0': .npy format version 4.0; versions 1.0, 2.0 and 3.0 can be read",
        id="version-4",
    ),
    pytest.param(
        [Member("x0.npy", content=b"\x93NUM")],
        "array 'x0': the .npy header is truncated",
        id="cut-in-the-magic",
    ),
    pytest.param(
        [Member("x0.npy", content=npy_bytes(length=200))],
        "array 'x0': the .npy header is truncated",
        id="header-longer-than-the-member",
    ),
    pytest.param(
        [Member("x0.npy", content=npy_bytes(length=60_000, version=(2, 0)))],
        "array 'x0': the .npy header is 60,000 bytes long; at most 10,000 are read "
        "(an array of numbers needs far fewer)",
        id="header-too-long",
    ),
    pytest.param(
        [Member("x0.npy", content=npy_bytes(text=b"{'descr': <f8}\n"))],
        "array 'x0': the .npy header is malformed (not a Python literal)",
        id="header-not-a-literal",
    ),
    pytest.param(
        [Member("x0.npy", content=npy_bytes(text=b"__import__('os').system('touch PWNED')\n"))],
        "array 'x0': the .npy header is malformed (not a Python literal)",
        id="header-is-code",
    ),
    pytest.param(
        [Member("x0.npy", content=npy_bytes(text=b"{'descr': '\xff'}\n", version=(3, 0)))],
        "array 'x0': the .npy header is malformed (not UTF-8 text)",
        id="header-3.0-not-utf8",
    ),
    pytest.param(
        [Member("x0.npy", content=npy_bytes([1, 2]))],
        "array 'x0': the .npy header is malformed "
        "(expected a dict with the keys 'descr', 'fortran_order' and 'shape', got [1, 2])",
        id="header-a-list",
    ),
    pytest.param(
        [Member("x0.npy", content=npy_bytes({"descr": "<f8", "shape": (1,)}))],
        "array 'x0': the .npy header is malformed "
        "(expected a dict with the keys 'descr', 'fortran_order' and 'shape', got keys 'descr', 'shape')",
        id="header-missing-key",
    ),
    pytest.param(
        [Member("x0.npy", content=f8((1,), np.float64(1).tobytes(), extra=1))],
        "array 'x0': the .npy header is malformed (expected a dict with the keys 'descr', "
        "'fortran_order' and 'shape', got keys 'descr', 'extra', 'fortran_order', 'shape')",
        id="header-extra-key",
    ),
    pytest.param(
        [Member("x0.npy", content=f8((1,), fortran_order=0))],
        "array 'x0': the .npy header is malformed (fortran_order is 0, expected True or False)",
        id="fortran-order-not-a-bool",
    ),
    pytest.param(
        [Member("x0.npy", content=f8([2]))],
        "array 'x0': the .npy header is malformed (shape is [2], expected a tuple of whole numbers)",
        id="shape-a-list",
    ),
    pytest.param(
        [Member("x0.npy", content=f8((2, -1)))],
        "array 'x0': the .npy header is malformed (shape is (2, -1), expected a tuple of whole numbers)",
        id="shape-negative",
    ),
    pytest.param(
        [Member("x0.npy", content=f8((True,)))],
        "array 'x0': the .npy header is malformed (shape is (True,), expected a tuple of whole numbers)",
        id="shape-a-bool",
    ),
    pytest.param(
        [Member("x0.npy", content=f8((2**63,)))],
        "array 'x0': the .npy header is malformed "
        "(shape is (9223372036854775808,), expected a tuple of whole numbers)",
        id="shape-beyond-numpy",
    ),
    pytest.param(
        [
            Member(
                "x0.npy",
                content=npy_bytes(
                    text=b"{'descr': '<f8', 'fortran_order': False, 'shape': (0x" + b"f" * 5000 + b",)}"
                ),
            )
        ],
        "array 'x0': the .npy header is malformed (shape is a tuple too large to show, "
        "expected a tuple of whole numbers)",
        id="shape-of-6000-digits",
    ),
    pytest.param(
        [Member("x0.npy", content=f8((1,) * 33, np.float64(1).tobytes()))],
        "array 'x0': 33 dimensions: an array has at most 32 dimensions",
        id="33-dimensions",
    ),
    pytest.param(
        [Member("x0.npy", content=f8((0, 2)))], "array 'x0': the array is empty (shape (0, 2))", id="empty"
    ),
    # the dtype: refused from the header, before anything is allocated
    pytest.param(
        [
            Member(
                "x0.npy", content=npy_bytes({"descr": [("a", "<f8")], "fortran_order": False, "shape": (1,)})
            )
        ],
        "array 'x0': expected numbers, got a structured array (a dtype with fields)",
        id="structured",
    ),
    *(
        pytest.param(
            [
                Member(
                    "x0.npy", content=npy_bytes({"descr": descr, "fortran_order": False, "shape": (1,)}, b"")
                )
            ],
            f"array 'x0': the .npy header is malformed (descr is {descr!r}, "
            "expected a NumPy dtype such as '<f8')",
            id=f"descr-{descr}",
        )
        for descr in ["f8,f8", "(2,)f8", "<U99999999999", "xyz", 8]
    ),
    *(
        pytest.param(
            [
                Member(
                    "x0.npy", content=npy_bytes({"descr": descr, "fortran_order": False, "shape": (1,)}, b"")
                )
            ],
            f"array 'x0': expected numbers, got an array of dtype {shown}",
            id=f"dtype-{shown}",
        )
        for descr, shown in [
            ("|S2000000000", "|S2000000000"),  # 2 GB a string, never allocated
            ("<U1", "<U1"),
            ("|V8", "|V8"),
            ("<M8[ns]", "datetime64[ns]"),
            ("|b1", "bool"),
            ("<c16", "complex128"),
        ]
    ),
    pytest.param(
        [
            Member(
                "x0.npy",
                content=npy_bytes({"descr": "|O", "fortran_order": False, "shape": (1,)}, b"\x80\x04"),
            )
        ],
        "array 'x0' holds Python objects (an object array); save numbers only, "
        "for example with .astype(float)",
        id="object",
    ),
]


@pytest.mark.parametrize(("members", "expected"), BAD_MEMBERS)
def test_bad_npz_member(tmp_path, neuron, members, expected):
    path = tmp_path / "d.npz"
    path.write_bytes(zip_bytes(members))
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, neuron)
    assert str(info.value) == f"{path}: {expected}"
    assert str(path) not in info.value.message
    assert not Path("PWNED").exists()


def test_compressed_data_that_runs_out_is_named_so(tmp_path, neuron, monkeypatch):
    # zipfile raises a bare EOFError (no message) when a member's compressed bytes run out early;
    # CPython 3.11's own checks (overlapping entries, CRC) usually come first, so it is simulated
    def read(self: object, size: int = -1) -> bytes:
        raise EOFError

    path = tmp_path / "d.npz"
    path.write_bytes(zip_bytes([Member("x0.npy", method=zipfile.ZIP_DEFLATED)]))
    monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, neuron)
    assert str(info.value) == f"{path}: member 'x0.npy' cannot be read: its compressed data ends early"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (npy_bytes(version=(2, 0)), [2.5]),
        (npy_bytes({"descr": "<f8", "fortran_order": False, "shape": ()}, version=(3, 0)), 2.5),
        (
            npy_bytes(
                {"descr": "<i2", "fortran_order": True, "shape": (2, 3)}, np.arange(6, dtype="<i2").tobytes()
            ),
            [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]],
        ),
        (
            npy_bytes(
                {"descr": ">i4", "fortran_order": False, "shape": (2,)}, np.array([1, -2], ">i4").tobytes()
            ),
            [1.0, -2.0],
        ),
        (npy_bytes({"descr": "|u1", "fortran_order": False, "shape": (2,)}, b"\x00\xff"), [0.0, 255.0]),
        (
            npy_bytes({"descr": "<f2", "fortran_order": False, "shape": (1,)}, np.float16(0.5).tobytes()),
            [0.5],
        ),
    ],
    ids=["version-2.0", "version-3.0-0d", "fortran-order", "big-endian", "uint8", "float16"],
)
def test_npz_members_numpy_may_write(tmp_path, neuron, content, expected):
    path = tmp_path / "d.npz"
    path.write_bytes(zip_bytes([Member("x0.npy", content=content, method=zipfile.ZIP_DEFLATED)]))
    value = read_inputs(path, neuron)["x0"]
    if isinstance(expected, float):
        assert type(value) is float and value == expected
    else:
        assert value.dtype == np.float64 and value.tolist() == expected


def test_numpy_written_versions_and_fortran_order_are_read(tmp_path, neuron):
    path = tmp_path / "d.npz"
    table = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    with zipfile.ZipFile(path, "w") as archive:
        for name, version in [("x0", (1, 0)), ("x1", (2, 0)), ("w0", (3, 0))]:
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, table, version=version)
    values = read_inputs(path, neuron)
    assert [value.tolist() for value in values.values()] == [table.tolist()] * 3


@pytest.mark.skipif(
    np.finfo(np.longdouble).max <= np.finfo(np.float64).max, reason="long double is a float64"
)
def test_a_long_double_too_large_for_a_float64_is_refused(tmp_path, neuron):
    big = np.array([1.0, np.longdouble(np.finfo(np.float64).max) * 16])
    path = tmp_path / "d.npz"
    np.savez(path, x0=big)
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, neuron)
    assert str(info.value) == f"{path}: array 'x0': a number is too large for a float64 (dtype {big.dtype})"


def test_an_array_of_33_dimensions_is_refused_at_load_through_the_cli(tmp_path, capsys):
    path = tmp_path / "deep.npz"
    np.savez(path, x0=np.ones((1,) * 33))  # NumPy 2 allows 64 dimensions
    assert one_error(capsys, ["run", NEURON, "--inputs", str(path)]) == (
        f"error: {path}: array 'x0': 33 dimensions: an array has at most 32 dimensions"
    )


def test_a_zip_of_too_many_members_is_refused_before_they_are_listed(tmp_path, neuron):
    # zipfile makes an object for every entry of the central directory before any can be checked
    entry = struct.pack(
        "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0x21, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0
    )
    directory = (entry + b"a") * 65_536
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory), 0, 0)
    path = tmp_path / "many.npz"
    path.write_bytes(directory + end)
    with pytest.raises(gatekit.UsageError) as info, time_limit(10):
        read_inputs(path, neuron)
    assert (
        str(info.value) == f"{path}: the zip has more than 65,535 members (a .npz needs one for each array)"
    )


def test_the_arrays_of_an_npz_together_are_held_to_the_file_limit(tmp_path, neuron, monkeypatch):
    # Each member alone is within the limit, and the file is far smaller: deflated zeros. Without a
    # bound on the sum, a file of 256 MB could inflate to 256 MB times the circuit's leaf count.
    members = [
        Member(f"{name}.npy", f8((50,), bytes(400)), zipfile.ZIP_DEFLATED) for name in ["x0", "x1", "w0"]
    ]
    path = tmp_path / "d.npz"
    path.write_bytes(zip_bytes(members))
    assert path.stat().st_size < 600
    monkeypatch.setenv("GATEKIT_MAX_FILE_BYTES", "1000")
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, neuron)
    assert str(info.value) == (
        f"{path}: array 'w0': the arrays' size in bytes (1,200 with this one, decompressed) exceeds the "
        "limit of 1,000 (set GATEKIT_MAX_FILE_BYTES to raise it)"
    )
    monkeypatch.setenv("GATEKIT_MAX_FILE_BYTES", "1200")
    assert [value.tolist() for value in read_inputs(path, neuron).values()] == [[0.0] * 50] * 3


@pytest.mark.parametrize("crc", ["of-what-is-read", "of-the-whole"])
def test_a_deflate_bomb_claiming_a_small_size_is_never_inflated_whole(tmp_path, neuron, crc):
    # The member says it holds one float64 (74 bytes) but inflates to 4 GiB: only 74 bytes are inflated.
    raw = deflate_bomb(ONE, 4096)
    member = Member("x0.npy", content=ONE, method=zipfile.ZIP_DEFLATED, raw=raw)
    if crc == "of-the-whole":
        member.crc = zlib.crc32(bytes(1 << 20), zlib.crc32(ONE))  # of more than those 74 bytes
    path = tmp_path / "bomb.npz"
    path.write_bytes(zip_bytes([member]))
    assert path.stat().st_size < 5_000_000
    tracemalloc.start()
    try:
        with time_limit(10):
            start = time.perf_counter()
            if crc == "of-what-is-read":
                assert read_inputs(path, neuron)["x0"].tolist() == [2.5]
            else:
                with pytest.raises(gatekit.UsageError) as info:
                    read_inputs(path, neuron)
                assert (
                    str(info.value) == f"{path}: member 'x0.npy' cannot be read: Bad CRC-32 for file 'x0.npy'"
                )
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 2  # inflating it all takes about 10 s
    assert peak < 30_000_000  # the file's bytes and a little


def test_a_deflate_bomb_claiming_a_huge_size_is_refused_from_its_header(tmp_path, neuron, monkeypatch):
    # 3 GiB of float64 declared in the header and the zip entry, from a 3 MB file
    header = f8((3 << 27,))  # and no data
    member = Member("x0.npy", content=header, method=zipfile.ZIP_DEFLATED, raw=deflate_bomb(header, 3 << 10))
    member.size = len(header) + (3 << 30)
    path = tmp_path / "bomb.npz"
    path.write_bytes(zip_bytes([member]))
    with pytest.raises(gatekit.UsageError) as info, time_limit(10):
        read_inputs(path, neuron)
    assert str(info.value) == (
        f"{path}: array 'x0': its element count (402,653,184, shape (402653184,)) exceeds the limit of "
        "100,000,000 (set GATEKIT_MAX_ARRAY_ELEMENTS to raise it)"
    )
    monkeypatch.setenv("GATEKIT_MAX_ARRAY_ELEMENTS", str(10**12))
    with pytest.raises(gatekit.UsageError) as info, time_limit(10):
        read_inputs(path, neuron)
    assert str(info.value) == (
        f"{path}: array 'x0': its size in bytes (3,221,225,472, decompressed) exceeds the limit of "
        "268,435,456 (set GATEKIT_MAX_FILE_BYTES to raise it)"
    )


# -- memory ---------------------------------------------------------------------------

LARGE = 350_000  # rows of 3 numbers: a csv or JSON file of about 20 MB
SIZES = [
    pytest.param(".csv", LARGE // 10, id="csv-2MB"),
    pytest.param(".json", LARGE // 10, id="json-2MB"),
    pytest.param(".csv", LARGE, id="csv-20MB", marks=pytest.mark.slow),  # 6 s under tracemalloc
    pytest.param(".json", LARGE, id="json-20MB", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("suffix", "rows"), SIZES)
def test_a_large_file_takes_memory_for_its_numbers_not_an_object_per_number(tmp_path, neuron, suffix, rows):
    # What is measured: the peak of the memory traced by tracemalloc (Python's and NumPy's allocations)
    # while read_inputs reads the file, less the file's own bytes (read whole, and held until they are
    # decoded); what is left, the decoded text included, must be at most 10 times the float64 size of
    # the numbers. At 20 MB it is about 2.5 times for csv, 5 times for JSON. Before, it was 16 and 30
    # times, and reading a 21 MB csv of 3 columns raised the process's peak RSS by 170 MB (a list of
    # rows of strings), a 22 MB JSON file by 323 MB (a float per number).
    table = np.random.default_rng(0).uniform(-1, 1, (rows, 3))  # 17 significant digits each
    text = json.dumps(table.tolist())
    path = tmp_path / f"large{suffix}"
    if suffix == ".csv":  # [[a, b, c], [d, e, f]] -> x0,x1,w0 / a,b,c / d,e,f
        path.write_text("x0,x1,w0\n" + text[2:-2].replace("], [", "\n").replace(", ", ",") + "\n")
    else:
        path.write_text(f'{{"x0": {text}}}')
    size = path.stat().st_size
    tracemalloc.start()
    try:
        values = read_inputs(path, neuron)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    read = np.stack(list(values.values()), axis=1) if suffix == ".csv" else values["x0"]
    assert np.array_equal(read, table)
    assert peak - size <= 10 * table.nbytes, f"peak {peak:,} B for {size:,} B holding {table.nbytes:,} B"


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


def test_a_name_of_millions_of_characters_is_refused_at_once(tmp_path, neuron):
    # difflib's ratio() against each leaf took about 0.35 s a million characters: minutes for a
    # 256 MB key; its quick upper bounds rule such a name out without comparing it
    path = tmp_path / "d.json"
    path.write_text('{"' + "x0" * 10_000_000 + '": 1}')
    start = time.perf_counter()
    with pytest.raises(gatekit.UsageError) as info, time_limit(30):
        read_inputs(path, neuron)
    assert time.perf_counter() - start < 2
    assert str(info.value) == (
        f"{path}: key {'x0' * 50!r}... (20,000,000 characters) "
        f"names no input or param of {neuron.file} {KNOWN}"
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
