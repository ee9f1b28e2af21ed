"""Bounds: small files that would make huge work are refused, with a located error and a way out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gatekit
from gatekit.io.inputs import read_inputs
from gatekit.limits import limit

NEURON = Path(__file__).resolve().parent.parent / "graphs" / "neuron.yaml"


def test_a_file_larger_than_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("inputs: {x: 1.0}\noutputs: [x]\n" + "# padding\n" * 100)
    monkeypatch.setenv("GATEKIT_MAX_FILE_BYTES", "100")
    with pytest.raises(gatekit.LoadError) as info:
        gatekit.load(path)
    assert str(info.value) == (
        f"{path}: the file's size in bytes exceeds the limit of 100 (set GATEKIT_MAX_FILE_BYTES to raise it)"
    )
    monkeypatch.setenv("GATEKIT_MAX_FILE_BYTES", "100000")
    assert gatekit.load(path).run().outputs["x"] == 1.0


def test_a_device_is_refused_before_it_is_read() -> None:
    with pytest.raises(gatekit.LoadError) as info:
        gatekit.load("/dev/zero")
    assert (
        str(info.value)
        == "/dev/zero: cannot read the file: not a regular file (a pipe, a device or a folder)"
    )


def test_a_file_is_read_only_up_to_the_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GATEKIT_MAX_FILE_BYTES", "1000")
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * 200 + "inputs: {x: 1}\noutputs: [x]\n")
    with pytest.raises(gatekit.LoadError, match="the file's size in bytes exceeds the limit of 1,000"):
        gatekit.load(big)


def test_a_limit_of_many_gigabytes_allocates_nothing_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "GATEKIT_MAX_FILE_BYTES", str(2**70)
    )  # was a MemoryError, and past 2**63 an OverflowError
    assert gatekit.load(NEURON).run().outputs["f"] == pytest.approx(0.7310585786300049, abs=1e-12)


def test_too_many_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEKIT_MAX_NODES", "10")
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.load(NEURON)
    assert info.value.location is not None
    assert (info.value.location.line, info.value.location.column) == (3, 1)
    assert "the circuit's node count exceeds the limit of 10 (set GATEKIT_MAX_NODES to raise it)" in str(
        info.value
    )


def test_modules_that_multiply_are_counted_before_they_are_expanded(tmp_path: Path) -> None:
    # m0 is one gate; each m(k+1) uses m(k) nine times, plus an add: m9 would be some 4.3e8 gates from
    # 60 lines. The count is a product over the uses, made without building anything (the default limit).
    lines = ["modules:", "  m0:", "    inputs: [x]", "    gates:", "      out: {gate: neg, in: [x]}"]
    lines.append("    outputs: [out]")
    for k in range(1, 10):
        lines += [f"  m{k}:", "    inputs: [x]", "    gates:"]
        lines += [f"      g{i}: {{gate: m{k - 1}, in: [x]}}" for i in range(9)]
        lines += [
            f"      out: {{gate: add, in: [{', '.join(f'g{i}' for i in range(9))}]}}",
            "    outputs: [out]",
        ]
    lines += ["inputs: {x: 1.0}", "gates:", "  y: {gate: m9, in: [x]}", "outputs: [y]"]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.load(path)  # were the uses expanded first, this would take hours and all the memory
    size = sum(9**k for k in range(10))  # 9 uses per level, one add per module use
    assert str(info.value) == (
        f"{path}:{len(lines) - 1}:13: gate 'y' uses module 'm9', which expands to {size:,} gates: "
        "the circuit's node count exceeds the limit of 5,000,000 (set GATEKIT_MAX_NODES to raise it)"
    )


def test_an_array_value_with_too_many_elements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEKIT_MAX_ARRAY_ELEMENTS", "5")
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.loads("inputs: {x: [[1, 2, 3], [4, 5, 6]]}\noutputs: [x]", file="a.yaml")
    assert str(info.value) == (
        "a.yaml:1:13: input 'x': its element count exceeds the limit of 5 "
        "(set GATEKIT_MAX_ARRAY_ELEMENTS to raise it)"
    )


def test_a_compressed_npz_is_measured_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, x0=np.zeros(10_000))
    monkeypatch.setenv("GATEKIT_MAX_ARRAY_ELEMENTS", "1000")
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, gatekit.load(NEURON))
    assert str(info.value) == (
        f"{path}: array 'x0': its element count (10,000, shape (10000,)) exceeds the limit of 1,000 "
        "(set GATEKIT_MAX_ARRAY_ELEMENTS to raise it)"
    )


def test_a_bad_limit_in_the_environment_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEKIT_MAX_NODES", "lots")
    with pytest.raises(
        gatekit.UsageError, match="GATEKIT_MAX_NODES='lots': expected a positive whole number"
    ):
        limit("GATEKIT_MAX_NODES")
    monkeypatch.setenv("GATEKIT_MAX_NODES", "1_000")
    assert limit("GATEKIT_MAX_NODES") == 1000


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("d.csv", b"x0\n" + b"1\n" * 100),
        ("d.json", b'{"x0": [' + b"1, " * 100 + b"1]}"),
        ("d.npz", b"PK" * 100),
    ],
)
def test_a_data_file_larger_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    circuit = gatekit.load(NEURON)  # before the limit: the circuit file is larger than 100 bytes
    monkeypatch.setenv("GATEKIT_MAX_FILE_BYTES", "100")
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, circuit)
    assert str(info.value) == (
        f"{path}: the file's size in bytes exceeds the limit of 100 (set GATEKIT_MAX_FILE_BYTES to raise it)"
    )


def test_a_csv_table_with_too_many_elements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # rows x columns, counted as the rows are read: the row that goes past the limit is named
    path = tmp_path / "d.csv"
    path.write_text("x0,x1\n1,2\n3,4\n5,6\n7,8\n")
    monkeypatch.setenv("GATEKIT_MAX_ARRAY_ELEMENTS", "5")
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, gatekit.load(NEURON))
    assert str(info.value) == (
        f"{path}:4: the table's element count (rows x columns, 3 x 2 up to this row) exceeds the limit of 5 "
        "(set GATEKIT_MAX_ARRAY_ELEMENTS to raise it)"
    )
    monkeypatch.setenv("GATEKIT_MAX_ARRAY_ELEMENTS", "8")
    assert read_inputs(path, gatekit.load(NEURON))["x1"].tolist() == [2.0, 4.0, 6.0, 8.0]


def test_a_json_value_with_too_many_elements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"x1": [1, 2, 3], "x0": [[1, 2, 3], [4, 5, 6]]}')
    monkeypatch.setenv("GATEKIT_MAX_ARRAY_ELEMENTS", "5")
    with pytest.raises(gatekit.UsageError) as info:
        read_inputs(path, gatekit.load(NEURON))
    assert str(info.value) == (
        f"{path}: key 'x0': its element count exceeds the limit of 5 "
        "(set GATEKIT_MAX_ARRAY_ELEMENTS to raise it)"
    )
