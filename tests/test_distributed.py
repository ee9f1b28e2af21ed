"""``--scheduler``: chunked runs and training on a ``dask.distributed`` cluster, larger than its memory.

One LocalCluster for the module: 2 worker processes, one thread each, each
limited to :data:`LIMIT` bytes. The data set is written to disk shard by
shard (never whole in memory) and is more than 4 times one worker's limit;
the run and the training go through the command line, as a user's would,
and their numbers are checked against NumPy's: per-sample results on a
sample of rows, the params' gradients and trained values computed shard by
shard. Each worker's peak memory (its process's maximum resident size)
stays under the limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gatekit
from gatekit.cli import main

distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")

ROOT = Path(__file__).resolve().parent.parent
LINEAR = str(ROOT / "graphs" / "linear_regression.yaml")

LIMIT = 150_000_000  #: each worker's memory limit, bytes
SHARDS = 15
SHARD_ROWS = 2_500_000  #: 20 MB per shard of each input
ROWS = SHARDS * SHARD_ROWS  #: 37.5 million rows: 2 inputs of 300 MB, 600 MB in all
CHUNKS = 150  #: 250,000 rows (2 MB of each input) per chunk (at 6 MB a worker dies: the limit holds)


def _peaks(client: Any) -> list[int]:
    """Each worker's peak resident memory in bytes: Linux's ``VmHWM`` of the worker's own process.

    Not ``ru_maxrss``, which Linux carries across ``exec`` from the process
    that started the worker (pytest, which may have held gigabytes for the
    million-gate test before). The reading is a method of the standard
    library's, which workers unpickle; the text is parsed here.
    """
    status = client.run(Path("/proc/self/status").read_text)
    peaks = []
    for text in status.values():
        (line,) = [line for line in text.splitlines() if line.startswith("VmHWM:")]
        peaks.append(int(line.split()[1]) * 1024)  # kB
    return peaks


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit=LIMIT,
            dashboard_address=":0",
            silence_logs=40,
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``x/`` and ``y/``: :data:`SHARDS` ``.npy`` shards each, written one at a time."""
    folder = tmp_path_factory.mktemp("large") / "data"
    rng = np.random.default_rng(7)
    for name in ("x", "y"):
        (folder / name).mkdir(parents=True)
        for i in range(SHARDS):
            np.save(folder / name / f"{i:05d}.npy", rng.uniform(-2, 2, SHARD_ROWS))
    return folder


def _shard(folder: Path, name: str, i: int) -> np.ndarray:
    return np.load(folder / name / f"{i:05d}.npy", mmap_mode="r")


@pytest.mark.slow
def test_the_data_set_is_more_than_4_times_a_workers_limit(shards: Path) -> None:
    size = sum(path.stat().st_size for path in shards.rglob("*.npy"))
    assert size > 4 * LIMIT


def _sample(folder: Path, name: str, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` of the sharded input ``name``, read one by one from the memory-mapped shards."""
    return np.array([_shard(folder, name, row // SHARD_ROWS)[row % SHARD_ROWS] for row in rows])


def _numpy_step(circuit: Any, folder: Path, params: dict[str, float]) -> tuple[float, dict[str, float]]:
    """NumPy's full-batch loss and param gradients at ``params``, shard by shard (each a mean: weighted)."""
    loss, grads = 0.0, dict.fromkeys(params, 0.0)
    for i in range(SHARDS):
        shard = {"x": np.array(_shard(folder, "x", i)), "y": np.array(_shard(folder, "y", i))}
        result = circuit.run({**shard, **params})
        loss += result.outputs["loss"] * SHARD_ROWS / ROWS
        for name in grads:
            grads[name] += result.grads[name] * SHARD_ROWS / ROWS
    return loss, grads


@pytest.mark.slow  # about a minute on 2 shared cores: 600 MB through a run and 2 training steps
def test_runs_and_training_larger_than_a_workers_memory_give_numpys_numbers(
    cluster: Any, shards: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    circuit = gatekit.load(LINEAR)
    address = cluster.scheduler.address
    chunked = ["--inputs", str(shards), "--chunks", str(CHUNKS), "--scheduler", address]
    out = tmp_path / "out"  # .npy shards: what a worker writes, chunk by chunk
    assert main(["run", LINEAR, *chunked, "--output", str(out), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["rows"] == ROWS
    assert shown["chunks"] == CHUNKS

    loss, grads = _numpy_step(circuit, shards, {"w": 1.0, "b": 0.0})
    assert shown["outputs"]["loss"] == pytest.approx(loss, rel=1e-12)
    for name, value in grads.items():
        assert shown["grads"][name] == pytest.approx(value, rel=1e-12)

    rows = np.sort(np.random.default_rng(0).choice(ROWS, 100, replace=False))
    on_sample = circuit.run({"x": _sample(shards, "x", rows), "y": _sample(shards, "y", rows)})
    size = -(-ROWS // CHUNKS)
    for key, want in (
        ("outputs/pred", on_sample.outputs["pred"]),
        ("grads/x", on_sample.grads["x"] * len(rows) / ROWS),  # a mean's gradient: 1/rows each
        ("grads/y", on_sample.grads["y"] * len(rows) / ROWS),
    ):
        written = [np.load(out / key / f"{row // size:05d}.npy", mmap_mode="r")[row % size] for row in rows]
        np.testing.assert_allclose(written, want, rtol=1e-12)

    assert main(["train", LINEAR, *chunked, "--steps", "2", "--lr", "0.1", "--json", "-q"]) == 0
    trained = json.loads(capsys.readouterr().out)
    params = {"w": 1.0, "b": 0.0}
    for _ in range(2):  # NumPy's SGD, each step's gradient summed shard by shard
        params = {name: params[name] - 0.1 * grads[name] for name in params}
        loss, grads = _numpy_step(circuit, shards, params)
    for name, value in params.items():
        assert trained["params"][name] == pytest.approx(value, rel=1e-12)

    peaks = _peaks(cluster)
    assert len(peaks) == 2
    assert all(peak < LIMIT for peak in peaks), peaks  # no worker ever held the data


@pytest.mark.parametrize("solver", [["--batch-size", "300", "--seed", "4", "--steps", "6"], ["--steps", "3"]])
def test_training_on_the_cluster_takes_numpys_steps(
    solver: list[str], cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=2000)
    np.savez(tmp_path / "lr.npz", x=x, y=3 * x + 0.5 + rng.normal(scale=0.2, size=2000))
    plain = ["train", LINEAR, "--inputs", str(tmp_path / "lr.npz"), "--json", "-q", *solver]
    assert main(plain) == 0
    want = json.loads(capsys.readouterr().out)
    assert main([*plain, "--chunks", "4", "--scheduler", cluster.scheduler.address]) == 0
    got = json.loads(capsys.readouterr().out)
    for name in ("w", "b"):
        assert got["params"][name] == pytest.approx(want["params"][name], rel=1e-12)
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-12)


def test_params_are_scattered_to_every_worker_once(cluster: Any) -> None:
    from gatekit.engine.distributed import broadcast

    sent = broadcast({"w": 2.0, "W": np.arange(3.0)}, cluster)
    keys = [array.dask.dependencies for array in sent.values()]  # each a one-chunk array of a future
    assert all(len(layers) >= 1 for layers in keys)
    who = cluster.who_has()
    scattered = [key for key, workers in who.items() if len(workers) == 2]
    assert len(scattered) >= 2  # both params, on both workers
    assert float(sent["w"].compute()) == 2.0
    assert broadcast({"w": 2.0}, None) == {"w": 2.0}  # threads: the values as they are
