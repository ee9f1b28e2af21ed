"""``gatekit run --chunks`` and ``train --chunks`` on Dask's local threads: sources, numbers, errors.

The chunked run must give NumPy's numbers (outputs and gradients to 1e-12:
only the order of the sums differs), build its graph without computing
anything and compute it once, and write its per-sample results chunk by
chunk. Every error is one line with exit 2. The cluster runs are in
``tests/test_distributed.py``.
"""

from __future__ import annotations

import builtins
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gatekit
from gatekit.cli import main
from gatekit.io.chunked import read_chunked

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")
from dask.callbacks import Callback  # noqa: E402 - after the skip: Dask may be missing

ROOT = Path(__file__).resolve().parent.parent
NEURON = str(ROOT / "graphs" / "neuron_batch.yaml")
LINEAR = str(ROOT / "graphs" / "linear_regression.yaml")
ROWS = 1000


def refused(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    """The one error line of a command that exits 2, nothing on stdout."""
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, captured.err
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    return errors[0]


def columns(rows: int = ROWS, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x0": rng.normal(size=rows), "x1": rng.normal(size=rows)}


def write_source(kind: str, folder: Path, data: dict[str, np.ndarray]) -> Path:
    """``data`` written as a chunked source of ``kind``."""
    if kind == "zarr":
        path = folder / "data.zarr"
        group = zarr.open_group(str(path), mode="w")
        for name, array in data.items():
            group.create_array(name, data=array, chunks=(300,))
        return path
    if kind == "shards":
        path = folder / "shards"
        for name, array in data.items():
            (path / name).mkdir(parents=True)
            for i, part in enumerate(np.array_split(array, 3)):
                np.save(path / name / f"{i:05d}.npy", part)
        return path
    if kind == "npy":
        path = folder / "npy"
        path.mkdir()
        for name, array in data.items():
            np.save(path / f"{name}.npy", array.astype(np.float32) if name == "x1" else array)
        return path
    if kind == "npz":
        path = folder / "data.npz"
        np.savez(path, **data)
        return path
    path = folder / "data.csv"
    names = list(data)
    rows = np.column_stack([data[name] for name in names])
    np.savetxt(path, rows, delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    return path


SOURCES = ["zarr", "shards", "npy", "npz", "csv"]


@pytest.mark.parametrize("kind", SOURCES)
def test_run_on_chunks_gives_numpys_numbers(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = columns()
    if kind == "npy":
        data["x1"] = data["x1"].astype(np.float32).astype(np.float64)  # saved as float32, read as float64
    source = write_source(kind, tmp_path, data)
    out = tmp_path / "out.zarr"
    assert (
        main(["run", NEURON, "--inputs", str(source), "--chunks", "7", "--output", str(out), "--json"]) == 0
    )
    shown = json.loads(capsys.readouterr().out)
    want = gatekit.load(NEURON).run(data)
    assert shown["rows"] == ROWS
    assert shown["chunks"] == 7
    for name in ("w0", "w1", "w2"):
        assert shown["grads"][name] == pytest.approx(want.grads[name], rel=1e-12)
    assert shown["per_sample"]["outputs/f"] == {"shape": [ROWS], "written": f"{out}/outputs/f"}
    group = zarr.open_group(str(out), mode="r")
    np.testing.assert_allclose(group["outputs/f"][:], want.outputs["f"], rtol=1e-12)
    np.testing.assert_allclose(group["grads/x0"][:], want.grads["x0"], rtol=1e-12)
    assert group["outputs/f"].chunks == (math.ceil(ROWS / 7),)  # written chunk by chunk
    assert float(group["grads/w1"][()]) == pytest.approx(want.grads["w1"], rel=1e-12)


def test_run_writes_npy_shards_and_prints_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = columns()
    source = write_source("shards", tmp_path, data)
    out = tmp_path / "out"
    assert main(["run", NEURON, "--inputs", str(source), "--chunks", "4", "--output", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1,000 rows in 4 chunks"
    assert f"  f  (1,000 rows, written to {out}/outputs/f)" in lines
    shards = sorted(os.listdir(out / "outputs" / "f"))
    assert shards == ["00000.npy", "00001.npy", "00002.npy", "00003.npy"]
    want = gatekit.load(NEURON).run(data)
    written = np.concatenate([np.load(out / "outputs" / "f" / shard) for shard in shards])
    np.testing.assert_allclose(written, want.outputs["f"], rtol=1e-12)
    assert float(np.load(out / "grads" / "w0.npy")) == pytest.approx(want.grads["w0"], rel=1e-12)


def test_without_output_the_per_sample_results_are_not_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_source("npz", tmp_path, columns())
    assert main(["run", NEURON, "--inputs", str(source), "--chunks", "2", "--set", "w0=1.5"]) == 0
    out = capsys.readouterr().out
    assert "  f  (1,000 rows, not kept: give --output OUT.zarr)" in out
    want = gatekit.load(NEURON).run(columns(), w0=1.5)
    shown = next(line.split() for line in out.splitlines() if line.strip().startswith("w0"))
    assert shown[:2] == ["w0", "param"]
    assert float(shown[2]) == pytest.approx(want.grads["w0"], rel=1e-12)


def test_a_whole_batch_output_prints_as_a_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    data = {"x": rng.normal(size=500), "y": rng.normal(size=500)}
    path = tmp_path / "lr.npz"
    np.savez(path, **data)
    assert main(["run", LINEAR, "--inputs", str(path), "--chunks", "3", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    want = gatekit.load(LINEAR).run(data)
    assert shown["outputs"]["loss"] == pytest.approx(want.outputs["loss"], rel=1e-12)
    assert shown["grads"]["w"] == pytest.approx(want.grads["w"], rel=1e-12)
    assert set(shown["per_sample"]) == {"outputs/pred", "grads/x", "grads/y"}


class _Computes(Callback):  # type: ignore[misc]
    """Counts the graphs Dask's local schedulers compute."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _start(self, dsk: Any) -> None:
        self.count += 1


def test_the_graph_is_built_lazily_and_computed_once(tmp_path: Path) -> None:
    from gatekit.engine.distributed import run_chunked

    circuit = gatekit.load(NEURON)
    source = write_source("zarr", tmp_path, columns())
    with _Computes() as computes:
        values = read_chunked(source, circuit, 5)
        assert computes.count == 0
        result = circuit.run(values)  # the engine builds the graph: nothing computed
        assert computes.count == 0
        assert isinstance(result.grads["w0"], da.Array)
        assert result.grads["w0"].ndim == 0
        done = run_chunked(circuit, values)
        assert computes.count == 1
    assert done.chunks == 5
    assert done.per_sample == {"outputs/f": (ROWS,), "grads/x0": (ROWS,), "grads/x1": (ROWS,)}


def test_a_param_in_the_data_is_read_whole(tmp_path: Path) -> None:
    circuit = gatekit.load(NEURON)
    np.savez(tmp_path / "d.npz", **columns(), w0=np.float64(0.5))
    values = read_chunked(tmp_path / "d.npz", circuit, 3)
    assert values["w0"] == 0.5
    assert values["x0"].chunks == ((334, 334, 332),)


# -- training ------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--steps", "12", "--batch-size", "64", "--seed", "5"],  # shuffled minibatches
        ["--steps", "4"],  # the whole data set at each step
    ],
)
def test_train_on_chunks_gives_numpys_params(
    flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=400)
    data = {"x": x, "y": 2.5 * x - 1 + rng.normal(scale=0.1, size=400)}
    np.savez(tmp_path / "lr.npz", **data)
    (tmp_path / "shards").mkdir()
    write = {"x": data["x"], "y": data["y"]}
    for name, array in write.items():
        np.save(tmp_path / "shards" / f"{name}.npy", array)
    assert main(["train", LINEAR, "--inputs", str(tmp_path / "lr.npz"), "--json", "-q", *flags]) == 0
    want = json.loads(capsys.readouterr().out)
    args = ["train", LINEAR, "--inputs", str(tmp_path / "shards"), "--chunks", "3", "--json", "-q", *flags]
    assert main(args) == 0
    got = json.loads(capsys.readouterr().out)
    for name in ("w", "b"):
        assert got["params"][name] == pytest.approx(want["params"][name], rel=1e-12, abs=1e-15)
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-12)
    assert got["outputs"]["pred"] == pytest.approx(want["outputs"]["pred"], rel=1e-12)


def test_train_on_chunks_with_a_held_out_split(tmp_path: Path) -> None:
    circuit = gatekit.load(LINEAR)
    rng = np.random.default_rng(3)
    data = {"x": rng.normal(size=300), "y": rng.normal(size=300)}
    solver = {
        "optimizer": "momentum",
        "lr": 0.1,
        "steps": 5,
        "batch_size": 50,
        "eval": {"split": 0.2, "every": 5},
    }
    config, _ = gatekit.training.api.solver_for(circuit, solver)
    plain = gatekit.Trainer(circuit, data, config).train()
    config, _ = gatekit.training.api.solver_for(circuit, solver)
    lazy = {k: da.from_array(v, chunks=100) for k, v in data.items()}
    chunked = gatekit.Trainer(circuit, lazy, config).train()
    assert chunked.best_eval is not None and plain.best_eval is not None
    assert chunked.best_eval[0] == pytest.approx(plain.best_eval[0], rel=1e-12)
    for name in ("w", "b"):
        assert chunked.params[name] == pytest.approx(plain.params[name], rel=1e-12)


def test_a_chunked_step_that_is_not_finite_says_how_to_find_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.savez(tmp_path / "bad.npz", x=np.array([1.0, np.inf, 2.0]), y=np.array([1.0, 2.0, 3.0]))
    assert main(["train", LINEAR, "--inputs", str(tmp_path / "bad.npz"), "--chunks", "2", "-q"]) == 1
    err = capsys.readouterr().err
    assert "step 1: the loss 'loss' is" in err
    assert "a chunked step does not name the gate: train on these rows without --chunks to find it" in err


# -- errors --------------------------------------------------------------------


def test_error_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = columns(20)
    good = write_source("npz", tmp_path, data)
    run = ["run", NEURON, "--inputs", str(good)]
    cases: list[tuple[list[str], str]] = [
        ([*run, "--chunks", "0"], "--chunks: give a whole number from 1 to 1,000,000, got 0"),
        ([*run, "--chunks", "21"], "--chunks 21: the data has only 20 rows (one chunk holds one or more)"),
        (["run", NEURON, "--chunks", "2"], "run --chunks: give --inputs DATA, the data to cut into chunks"),
        (
            [*run, "--scheduler", "tcp://x:1"],
            "run: --scheduler runs chunks on a cluster: give --chunks N too",
        ),
        ([*run, "--chunks", "2", "--tangent", "x0=1"], "--tangent is not supported on a chunked run"),
        ([*run, "--chunks", "2", "--of", "dot"], "--of is not supported on a chunked run"),
        ([*run, "--chunks", "2", "--seed-grad", "2"], "--seed-grad is not supported on a chunked run"),
        ([*run, "--chunks", "2", "--check-finite"], "--check-finite is not supported on a chunked run"),
        ([*run, "--chunks", "2", "--backend", "array-api-strict"], "leave --backend and --device out"),
        (
            ["run", NEURON, "--inputs", str(tmp_path / "nope.zarr"), "--chunks", "2"],
            "nope.zarr: no such file",
        ),
        (
            ["run", NEURON, "--inputs", str(tmp_path / "x.txt"), "--chunks", "2"],
            "unsupported file type '.txt'",
        ),
        (
            [*run, "--chunks", "2", "--output", str(tmp_path / "o.npz")],
            "unsupported type '.npz'; a chunked run",
        ),
        (
            [*run, "--chunks", "2", "--output", str(tmp_path)],
            "exists already: a chunked run writes a new store",
        ),
        ([*run, "--chunks", "2", "--output", str(tmp_path / "no" / "o.zarr")], "the folder"),
        (["train", LINEAR, "--chunks", "2"], "train --chunks: give --inputs DATA"),
        (["train", LINEAR, "--inputs", str(good), "--scheduler", "tcp://x:1"], "give --chunks N too"),
    ]
    (tmp_path / "x.txt").write_text("x0\n1\n")
    for args, message in cases:
        assert message in refused(capsys, args), args


def test_errors_in_the_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run(path: Path) -> str:
        return refused(capsys, ["run", NEURON, "--inputs", str(path), "--chunks", "2"])

    shards = tmp_path / "shards"
    (shards / "x0").mkdir(parents=True)
    np.save(shards / "x0" / "00000.npy", np.zeros(4))
    np.save(shards / "x0" / "00001.npy", np.zeros((4, 2)))
    assert "shard 00001.npy holds float64[4, 2]; the first, 00000.npy, float64[4]" in run(shards)
    np.save(shards / "x0" / "00001.npy", np.zeros(4, dtype=np.float32))
    assert "shard 00001.npy holds float32[4]; the first, 00000.npy, float64[4]: shards differ" in run(shards)

    empty = tmp_path / "empty"
    (empty / "x0").mkdir(parents=True)
    assert "a folder of shards holds no .npy files" in run(empty)
    assert "the folder holds no .npy files or folders of shards" in run(tmp_path / "empty" / "x0")

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("hi")
    assert "notes.txt: not a .npy file or a folder of .npy shards" in run(other)

    text = tmp_path / "text"
    text.mkdir()
    np.save(text / "x0.npy", np.array(["a", "b"]))
    assert "the array holds <U1, not numbers" in run(text)
    (text / "x0.npy").write_bytes(b"not an array")
    assert "not a readable .npy array" in run(text)

    rows = tmp_path / "rows"
    rows.mkdir()
    np.save(rows / "x0.npy", np.zeros(4))
    np.save(rows / "x1.npy", np.zeros(5))
    assert "the inputs' arrays must have as many rows each, got x0 4, x1 5" in run(rows)

    named = tmp_path / "named"
    named.mkdir()
    np.save(named / "x9.npy", np.zeros(4))
    assert "array 'x9' names no input or param" in run(named)

    store = tmp_path / "bad.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{")
    assert "bad.zarr: not a Zarr group of arrays" in run(store)
    zarr.open_group(str(tmp_path / "void.zarr"), mode="w")
    assert "void.zarr: the Zarr group holds no arrays" in run(tmp_path / "void.zarr")
    group = zarr.open_group(str(tmp_path / "words.zarr"), mode="w")
    group.create_array("x0", shape=(2,), dtype="bool")
    assert "array 'x0' holds bool, not numbers" in run(tmp_path / "words.zarr")


@pytest.mark.parametrize(
    ("missing", "args", "message"),
    [
        ("dask", ["--chunks", "2"], "--chunks needs Dask: pip install 'gatekit-circuits[dask]'"),
        (
            "distributed",
            ["--chunks", "2", "--scheduler", "tcp://127.0.0.1:1"],
            "--scheduler needs dask.distributed: pip install 'gatekit-circuits[dask]'",
        ),
        (
            "zarr",
            ["--chunks", "2", "--output", "OUT.zarr"],
            "Zarr stores need zarr: pip install 'gatekit-circuits[dask]'",
        ),
    ],
)
def test_the_dask_extra_missing_says_what_to_install(
    missing: str,
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = builtins.__import__

    def without(name: str, *rest: Any, **kw: Any) -> Any:
        if name == missing or name.startswith(f"{missing}."):
            raise ImportError(f"No module named {name!r}")
        return real(name, *rest, **kw)

    monkeypatch.setattr(builtins, "__import__", without)
    monkeypatch.chdir(tmp_path)
    good = write_source("npz", tmp_path, columns(20))
    assert message in refused(capsys, ["run", NEURON, "--inputs", str(good), *args])


def test_no_scheduler_at_the_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatekit.engine import distributed

    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", "0.5s")
    good = write_source("npz", tmp_path, columns(20))
    line = refused(
        capsys, ["run", NEURON, "--inputs", str(good), "--chunks", "2", "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert line.startswith("error: --scheduler tcp://127.0.0.1:9: no Dask scheduler answers there (")


def test_a_chunked_loss_per_row_is_refused_before_it_is_computed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.savez(tmp_path / "d.npz", **columns(50))
    line = refused(
        capsys, ["train", NEURON, "--inputs", str(tmp_path / "d.npz"), "--chunks", "2", "--steps", "1", "-q"]
    )
    assert "the loss, 'f' (outputs[0]), must be a number; it is an array of shape (50,)" in line
