"""Fuzzing data files: random and mutated ``.csv``, ``.json`` and ``.npz`` files read by ``--inputs``.

Every file is fed to :func:`gatekit.io.inputs.read_inputs` against a small
circuit whose three leaves take any shape (now and then under limits low
enough for small files to reach): it either returns Python floats
or float64 arrays (by leaf name), or raises a :class:`gatekit.UsageError`
placed at the file, on one line, the file's name in the place and not in the
message. Nothing else escapes, and nothing takes more than a few seconds. A
sample goes through ``gatekit run GRAPH --inputs FILE``: exit 0, or exit 2
with exactly one ``error:`` line.

- csv: a header of leaf names (or gate names, odd names, blanks, numbers),
  rows of cells written in every way a number can be (and ways it cannot),
  quoting, each line ending, a byte order mark; then bytes mutated.
- json: regular nested lists of numbers by leaf name (or any JSON value:
  ragged and empty lists, null, text, booleans, objects, huge integers), then
  tokens inserted (brackets, null, text, NaN, 1e400, deep nesting...), spans
  deleted, the end cut off.
- npz: zips built byte by byte (``tests/test_datafiles.py``) of members
  holding a leaf's array, each with none or a few drawn defects: the name
  (not ``.npy``, twice, another one in the local header), the compression
  method, the flag bits, the CRC, the declared size, the stored bytes
  mutated; the ``.npy`` header's version, length field, text, descr (every
  dtype kind), fortran_order, shape (negative, huge, 33 dimensions) and keys,
  the data's length; ``numpy.savez`` files; zips that :mod:`zipfile` writes
  (zip64 extra fields, a comment, every ``.npy`` version); noise after a zip
  signature. Then, now and then, the whole file's bytes mutated.

The settings are those of ``tests/test_fuzz.py``: a fixed, derandomized set
in CI; ``GATEKIT_FUZZ_EXAMPLES=N`` runs a campaign of N random examples (the
CLI property a tenth of that)::

    GATEKIT_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz_datafiles.py
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from test_datafiles import Member, npy_bytes, zip_bytes
from test_fuzz import fuzz_settings, time_limit

import gatekit
from gatekit import UsageError
from gatekit.cli import main
from gatekit.io.inputs import read_inputs

GRAPH = """\
inputs: {x: 1.0, y: [1.0, 2.0]}
params: {w: 0.5}
gates:
  a: {gate: neg, in: [x]}
  b: {gate: neg, in: [y]}
  c: {gate: neg, in: [w]}
outputs: [a, b, c]
"""
LEAVES = ("x", "y", "w")


def mostly(good: st.SearchStrategy[object], odd: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """``good`` four times in five, else ``odd``.

    Each field of a file is more often right than wrong, so that the checks
    after the first one are reached too.
    """
    return st.one_of(*[good] * 4, odd)


#: Names a file may give: mostly the leaves.
NAMES = mostly(
    st.sampled_from(LEAVES), st.sampled_from(["a", "z", "", " x", "X", "x\n", "é", "outputs/a", "x" * 300])
)
#: How a number may be written, and (one time in five) what is not one.
CELLS = mostly(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(-(10**20), 10**20).map(str),
        st.floats(-1e6, 1e6).map(lambda value: f"{value:.3e}"),
        st.sampled_from([" 1 ", "1_0", "-0", "nan", "inf", "-Infinity", "1e-400", "\u0661"]),
    ),
    st.sampled_from(["", "0x10", "1e400", "-1e400", "1,5", "two", "9" * 400, '"', "\x00", "\ufeff1", "1\n2"]),
)
#: Tokens to drop into a JSON document.
JSON_TOKENS = [
    "[", "]", "{", "}", ",", ":", " ", "null", "true", "false", '"x"', '"y":', "NaN", "-Infinity",
    "1e400", "9" * 400, "-", ".5", "[" * 40, "]" * 40, "\\u0000", "\x00", '"\ud800"', "\ufeff", "{}", "[]",
    '"x": 1, ', '"y": [[1], 2], ', '"w": [1, [2]], ', "[[], []]", "[1e400]",
]  # fmt: skip
#: The descrs of the numbers numpy writes; every other kind, and nonsense.
NUMERIC_DESCRS = ["<f8", "<f4", "<f2", "<f16", ">f8", "<i8", "|i1", "<u4", ">i2", "|u1"]
ODD_DESCRS = [
    "|b1", "<c16", "|O", "<U3", "|S2000000000", "|V8", "<M8[ns]", "<m8", "f8,f8", "(2,)f8", "", "xyz", "<f3",
    "<U99999999999", "O", "?", "=f8", "|f8", "<f0", [("a", "<f8")], 8, None, b"<f8", ["<f8"],
]  # fmt: skip
VERSIONS = [(1, 0), (2, 0), (3, 0)]
#: What can be wrong with a ``.npz`` member: each is drawn alone or with others.
DEFECTS = [
    "name", "method", "flags", "crc", "size", "local-name", "stored-bytes", "version", "length", "text",
    "descr", "fortran-order", "shape", "keys", "data-size", "npy-bytes",
]  # fmt: skip


@dataclass(frozen=True)
class DataFile:
    """A drawn file: its suffix and its bytes."""

    suffix: str
    data: bytes


#: Limits low enough for small files to reach (GATEKIT_MAX_ARRAY_ELEMENTS, GATEKIT_MAX_FILE_BYTES).
LIMITS = st.one_of(
    st.just({}),
    st.fixed_dictionaries({"GATEKIT_MAX_ARRAY_ELEMENTS": st.integers(1, 12).map(str)}),
    st.fixed_dictionaries({"GATEKIT_MAX_FILE_BYTES": st.integers(1, 600).map(str)}),
)


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """``variables`` set in ``os.environ`` for the block (the limits are read at each check)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


@st.composite
def mutated(draw: st.DrawFn, data: bytes, tokens: list[bytes], often: bool = True) -> bytes:
    """``data`` with a few spans deleted, duplicated or replaced by ``tokens``, bytes flipped, or cut.

    Half the time ``data`` is left as it is; seven times in nine unless ``often``.
    """
    for _ in range(draw(st.sampled_from([0, 0, 1, 2] if often else [0] * 7 + [1, 2]))):
        if not data:
            break
        start = draw(st.integers(0, len(data) - 1))
        end = draw(st.integers(start, min(len(data), start + 16)))
        operation = draw(st.sampled_from(["delete", "duplicate", "insert", "flip", "cut"]))
        if operation == "delete":
            data = data[:start] + data[end:]
        elif operation == "duplicate":
            data = data[:end] + data[start:end] + data[end:]
        elif operation == "insert":
            data = data[:start] + draw(st.sampled_from(tokens)) + data[start:]
        elif operation == "flip":
            data = data[:start] + bytes([data[start] ^ draw(st.integers(1, 255))]) + data[start + 1 :]
        else:
            data = data[:start]
    return data


def sometimes(draw: st.DrawFn, one_in: int) -> bool:
    """True one time in ``one_in`` (False first: hypothesis favours the first choice)."""
    return draw(st.sampled_from([False] * (one_in - 1) + [True]))


@st.composite
def csv_files(draw: st.DrawFn) -> DataFile:
    leaves = st.lists(st.sampled_from(LEAVES), min_size=1, max_size=3, unique=True)
    columns = draw(mostly(leaves, st.lists(NAMES, min_size=1, max_size=4, unique=True)))
    width = len(columns)
    rows = draw(
        st.lists(
            st.one_of(st.lists(CELLS, min_size=width, max_size=width), st.lists(CELLS, max_size=width + 1)),
            max_size=5,
        )
    )
    buffer = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    writer = csv.writer(buffer, quoting=quoting, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
    writer.writerow(columns)
    writer.writerows(rows)
    text = buffer.getvalue() + draw(st.sampled_from(["", "\n", "\n\n"]))
    data = draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + text.encode("utf8")
    tokens = [b",", b"\n", b"\r", b'"', b"", b"\xff", b"1e400", b"x", b"a", b"9" * 200_000]
    return DataFile(".csv", draw(mutated(data, tokens)))


def _nested(values: list[float], shape: tuple[int, ...]) -> object:
    return np.array(values, dtype=np.float64).reshape(shape).tolist()


@st.composite
def json_files(draw: st.DrawFn) -> DataFile:
    """A JSON object of regular nested lists of numbers, or (one time in five) of any JSON values."""
    document: dict[str, object] = {}
    for name in draw(st.lists(NAMES, max_size=3, unique=True)):
        shape = tuple(draw(st.lists(st.integers(1, 3), max_size=3)))
        count = int(np.prod(shape))
        numbers = draw(
            st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=count, max_size=count)
        )
        document[name] = draw(mostly(st.just(numbers[0] if not shape else _nested(numbers, shape)), ANY_JSON))
    text = json.dumps(document, indent=draw(st.sampled_from([None, 1])))
    if sometimes(draw, 5):  # what json.dumps never writes
        text = text.replace("Infinity", draw(st.sampled_from(["1e400", "9" * 400]))).replace("NaN", "null")
    tokens = [token.encode("utf8", "surrogatepass") for token in JSON_TOKENS]
    return DataFile(".json", draw(mutated(text.encode("utf8"), tokens)))


#: Any JSON value: ragged lists, empty ones, null, text, booleans, objects, huge integers.
ANY_JSON = st.recursive(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(10**30), 10**30),
        st.none(),
        st.booleans(),
        st.text(max_size=3),
    ),
    lambda items: st.one_of(
        st.lists(items, max_size=3), st.dictionaries(st.text(max_size=2), items, max_size=2)
    ),
    max_leaves=12,
)


ODD_SHAPES = st.one_of(
    st.lists(st.integers(-2, 3), max_size=3).map(tuple),
    st.integers(31, 34).map(lambda n: (1,) * n),
    st.sampled_from([(2**62, 4), (2**63,), [2], (True,), 5, (1.5,), (10**9,), (0,), (2, 0)]),
)


@st.composite
def zip_members(draw: st.DrawFn) -> Member:
    """A ``.npz`` member of a leaf's name holding a ``.npy`` array, with a few :data:`DEFECTS` (or none)."""
    defects = set(draw(st.lists(st.sampled_from(DEFECTS), max_size=3)))
    header: dict[str, object] = {
        "descr": draw(st.sampled_from(ODD_DESCRS if "descr" in defects else NUMERIC_DESCRS)),
        "fortran_order": draw(
            st.sampled_from([0, 1, None, "no"]) if "fortran-order" in defects else st.booleans()
        ),
        "shape": draw(
            ODD_SHAPES if "shape" in defects else st.lists(st.integers(1, 3), max_size=3).map(tuple)
        ),
    }
    if "keys" in defects:
        if draw(st.booleans()):
            del header[draw(st.sampled_from(sorted(header)))]
        else:
            header["extra"] = 1
    try:
        itemsize = np.dtype(header["descr"]).itemsize
    except (KeyError, TypeError, ValueError):
        itemsize = 8
    shape = header.get("shape")
    count = int(np.prod(shape)) if isinstance(shape, tuple) and all(type(n) is int for n in shape) else 1
    size = min(max(count, 0) * itemsize, 4096)
    if "data-size" in defects:
        size = max(size + draw(st.sampled_from([-1, 1, -8, 8])), 0)
    odd_versions = [(4, 0), (0, 0), (1, 1), (255, 255)]
    version = draw(st.sampled_from(odd_versions if "version" in defects else VERSIONS))
    length = None
    if "length" in defects:  # a length field that lies
        length = draw(st.sampled_from([0, 3, 2**16 - 1] + ([] if version == (1, 0) else [70_000, 2**32 - 1])))
    text = None
    if "text" in defects:
        text = draw(
            st.sampled_from([b"{", b"{'descr': '<f8'", b"[1, 2]\n", b"\xff\xfe", b"1" * 5000, b"(" * 300])
        )
    content = npy_bytes(
        header, draw(st.binary(min_size=size, max_size=size)), version=version, text=text, length=length
    )
    if "npy-bytes" in defects:
        content = draw(mutated(content, [b"\x00", b"'", b"(", b"\xff"]))
    name = draw(st.sampled_from(LEAVES)) + ".npy"
    if "name" in defects:
        name = draw(NAMES) + draw(st.sampled_from([".npy", ".NPY", "", ".txt", "/"]))
    methods = [12, 14, 99] if "method" in defects else [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]
    member = Member(name, content, method=draw(st.sampled_from(methods)))
    if "flags" in defects:
        member.flags = draw(st.sampled_from([0x1, 0x8, 0x20, 0x40, 0x1 | 0x40]))
    if "crc" in defects:
        member.crc = draw(st.integers(0, 2**32 - 1))
    if "size" in defects:
        member.size = draw(st.one_of(st.integers(0, 200), st.just(2**32 - 1)))
    if "local-name" in defects:
        member.local_name = draw(NAMES) + ".npy"
    if "stored-bytes" in defects:
        member.raw = draw(mutated(member.stored(), [b"\x00", b"\xff" * 4]))
    return member


@st.composite
def npz_files(draw: st.DrawFn) -> DataFile:
    kind = draw(st.sampled_from(["built", "built", "numpy", "zipfile", "noise"]))
    arrays = {
        name: draw(
            st.sampled_from(
                [np.arange(3.0), np.float32(2.5), np.ones((2, 2), "<i2"), np.array([True]), np.zeros(0)]
            )
        )
        for name in draw(st.lists(NAMES, max_size=3, unique=True))
    }
    buffer = io.BytesIO()
    if kind == "numpy":  # as numpy.savez and savez_compressed write them
        (np.savez_compressed if draw(st.booleans()) else np.savez)(buffer, **arrays)
    elif kind == "zipfile":  # zip64 extra fields, a comment, every .npy version
        method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
        with zipfile.ZipFile(buffer, "w", compression=method) as archive:
            for name, value in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=draw(st.booleans())) as member:
                    np.lib.format.write_array(
                        member, np.asarray(value), version=draw(st.sampled_from(VERSIONS))
                    )
            archive.comment = draw(st.binary(max_size=20))
    elif kind == "noise":
        buffer.write(b"PK\x03\x04" + draw(st.binary(max_size=300)))
    else:  # byte by byte, with defects
        members = draw(st.lists(zip_members(), min_size=1, max_size=3, unique_by=lambda member: member.name))
        if sometimes(draw, 10):
            members.append(members[0])  # two entries of one name
        buffer.write(zip_bytes(members))
    tokens = [b"PK\x03\x04", b"PK\x01\x02", b"\x00" * 4, b"\xff" * 4]
    return DataFile(".npz", draw(mutated(buffer.getvalue(), tokens, often=False)))


DATA_FILES = st.one_of(csv_files(), json_files(), npz_files())


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-data")
    (path / "graph.yaml").write_text(GRAPH, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def circuit(folder: Path) -> gatekit.Circuit:
    return gatekit.load(folder / "graph.yaml")


def written(folder: Path, drawn: DataFile) -> Path:
    path = folder / f"data{drawn.suffix}"
    path.write_bytes(drawn.data)
    return path


def assert_clean(error: UsageError, path: Path) -> None:
    """One line, placed at the file, the file named in the place and not in the message."""
    assert error.location is not None, error
    assert error.location.file == str(path), error
    assert str(error).startswith(f"{path}"), error
    assert "\n" not in str(error) and "\r" not in str(error), repr(str(error))
    assert str(path) not in error.message, error
    assert error.exit_code == 2


@fuzz_settings(500)
@given(drawn=DATA_FILES, limits=LIMITS)
def test_a_data_file_gives_numbers_or_one_located_error(
    folder: Path, circuit: gatekit.Circuit, drawn: DataFile, limits: dict[str, str]
) -> None:
    path = written(folder, drawn)
    try:
        with time_limit(10), environment(limits):
            values = read_inputs(path, circuit)
    except UsageError as error:
        assert_clean(error, path)
        return
    assert values and set(values) <= set(LEAVES)
    for value in values.values():
        if type(value) is not float:
            assert type(value) is np.ndarray, type(value)
            assert value.dtype == np.float64 and value.size > 0 and value.ndim <= 32


@fuzz_settings(50, HealthCheck.function_scoped_fixture, share=0.1)  # each one a whole command
@given(drawn=DATA_FILES)
def test_a_data_file_through_the_cli_exits_0_or_2_with_one_error_line(
    folder: Path, drawn: DataFile, capsys: pytest.CaptureFixture[str]
) -> None:
    path = written(folder, drawn)
    capsys.readouterr()
    with time_limit(10), warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be lines on stderr: pytest would hide them
        code = main(["run", str(folder / "graph.yaml"), "--inputs", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if code == 0:
        assert err == ""
    else:
        assert code == 2, err
        [line] = err.splitlines()
        assert line.startswith(f"error: {path}"), line


# -- regressions: what the fuzzers found ----------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "shown"),
    [
        (["1.7e308"] * 7, "min -1.7e+308  mean -inf  max -1.7e+308"),  # the sum overflows
        (["inf", "-inf"] * 4, "min -inf  mean nan  max inf"),  # inf - inf
    ],
    ids=["sum-overflows", "inf-and-minus-inf"],
)
def test_the_summary_of_an_array_read_prints_no_warning(
    folder: Path, capsys: pytest.CaptureFixture[str], column: list[str], shown: str
) -> None:
    # The mean in `gatekit run`'s table of an array over 6 elements made NumPy print a RuntimeWarning,
    # two lines on stderr after exit 0 ("overflow encountered in reduce", "invalid value ...").
    path = folder / "huge.csv"
    path.write_text("x\n" + "\n".join(column) + "\n")
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["run", str(folder / "graph.yaml"), "--inputs", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert f"  a  array({len(column)},)  {shown}" in out.replace("-nan", "nan")
