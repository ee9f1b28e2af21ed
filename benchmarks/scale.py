"""Rows per second as the data grows: NumPy in one memory, Dask on threads, a LocalCluster of 1 and 2 workers.

``graphs/neuron_batch.yaml`` (the seed's neuron over a batch: outputs and
gradients per sample, the weights' gradients summed) runs forward and
backward on N rows of ``x0``, ``x1``, written as ``.npy`` shards to a
temporary folder one shard at a time. Each way reads them itself:

- NumPy: the shards loaded whole and concatenated, one ``Circuit.run``
  (only up to ``--numpy-max`` rows: beyond, it would not fit);
- Dask threaded: ``gatekit run --chunks`` as a library call
  (:func:`gatekit.io.chunked.read_chunked`, then
  :func:`gatekit.engine.distributed.run_chunked`) on Dask's local threads;
- LocalCluster with 1 and 2 worker processes (one thread each, each limited
  to ``--memory-limit``): the same, through ``dask.distributed``.

Dask computes what the params' gradients need, and does not keep the
per-sample results (NumPy makes them all): no ``--output``, so the figures
are the engine's, not the disk's. Each figure is the best of ``--repeat``
runs (NumPy's first run is also the circuit's first, which checks what
every gate returns: one run alone would count that); the params' gradients
of every Dask run must equal NumPy's (to 1e-12) wherever NumPy ran. Peak
memory: NumPy's and the threaded run's are this process's peak resident
size during the run (sampled every 5 ms) less what it held before; a
cluster's is each worker process's peak resident size (``ru_maxrss``),
interpreter and libraries included. The overhead of Dask is its time over
NumPy's at the largest size both ran.

    python benchmarks/scale.py [--sizes 1e6,1e7] [--chunk-rows 1e6] [--workers 1,2] [--repeat 3]
    python benchmarks/scale.py --sizes 1e6,1e7,1e8 --numpy-max 1e7    # 1e8 rows: 1.6 GB of shards
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

import gatekit
from gatekit.engine.distributed import run_chunked
from gatekit.io.chunked import read_chunked

GRAPH = Path(__file__).resolve().parent.parent / "graphs" / "neuron_batch.yaml"
SHARD_ROWS = 1_000_000
PARAMS = ("w0", "w1", "w2")


@dataclass
class Row:
    """One way of running at one size: seconds, rows per second, peak memory (bytes; per worker)."""

    way: str
    rows: int
    seconds: float
    peak: list[int] = field(default_factory=list)
    grads: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def write_shards(folder: Path, rows: int, seed: int = 0) -> None:
    """``x0/`` and ``x1/``: ``rows`` rows as shards of :data:`SHARD_ROWS`, one in memory at a time."""
    rng = np.random.default_rng(seed)
    for name in ("x0", "x1"):
        (folder / name).mkdir(parents=True)
        for i, start in enumerate(range(0, rows, SHARD_ROWS)):
            np.save(folder / name / f"{i:05d}.npy", rng.uniform(-2, 2, min(SHARD_ROWS, rows - start)))


@contextmanager
def peak_rss() -> Iterator[list[int]]:
    """This process's peak resident memory above its level at the start, sampled every 5 ms."""
    process = psutil.Process()
    start = process.memory_info().rss
    found = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            found[0] = max(found[0], process.memory_info().rss - start)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        done.set()
        thread.join()


def best(repeat: int, run: Callable[[], dict[str, float]]) -> tuple[float, dict[str, float]]:
    """The fastest of ``repeat`` runs, and the gradients it gave."""
    fastest, grads = math.inf, {}
    for _ in range(repeat):
        started = time.perf_counter()
        grads = run()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest, grads


def numpy_run(circuit: Any, folder: Path) -> dict[str, float]:
    data = {
        name: np.concatenate([np.load(p) for p in sorted((folder / name).iterdir())]) for name in ("x0", "x1")
    }
    grads = circuit.run(data).grads
    return {name: float(grads[name]) for name in PARAMS}


def dask_run(circuit: Any, folder: Path, chunks: int, client: Any) -> dict[str, float]:
    done = run_chunked(circuit, read_chunked(folder, circuit, chunks), client)
    return {name: float(done.grads[name]) for name in PARAMS}


def measure(
    rows: int, folder: Path, args: argparse.Namespace, circuit: Any, clusters: dict[int, Any]
) -> list[Row]:
    chunks = max(1, math.ceil(rows / args.chunk_rows))
    found = []
    if rows <= args.numpy_max:
        with peak_rss() as peak:
            seconds, grads = best(args.repeat, lambda: numpy_run(circuit, folder))
        found.append(Row("numpy", rows, seconds, [peak[0]], grads))
    with peak_rss() as peak:
        seconds, grads = best(args.repeat, lambda: dask_run(circuit, folder, chunks, None))
    found.append(Row("dask threads", rows, seconds, [peak[0]], grads))
    for workers, client in clusters.items():
        seconds, grads = best(args.repeat, lambda c=client: dask_run(circuit, folder, chunks, c))
        # each worker's peak resident size (Linux counts ru_maxrss in KiB); a function of the
        # standard library, which the workers can unpickle (not one of this script's)
        usage = client.run(resource.getrusage, resource.RUSAGE_SELF)
        peaks = sorted(used.ru_maxrss * 1024 for used in usage.values())
        found.append(
            Row(f"cluster {workers} worker{'s' if workers > 1 else ''}", rows, seconds, peaks, grads)
        )
    reference = found[0].grads if found[0].way == "numpy" else None
    for row in found[1:]:
        if reference is not None:
            for name in PARAMS:
                if not math.isclose(row.grads[name], reference[name], rel_tol=1e-12):
                    got, want = row.grads[name], reference[name]
                    raise SystemExit(f"{row.way} at {rows:,} rows: d{name} {got!r}, NumPy's {want!r}")
    return found


@contextmanager
def started(workers: Sequence[int], memory_limit: str) -> Iterator[dict[int, Any]]:
    """A LocalCluster and its client for each worker count (one thread per worker)."""
    import distributed

    clusters: dict[int, Any] = {}
    opened = []
    try:
        for count in workers:
            cluster = distributed.LocalCluster(
                n_workers=count,
                threads_per_worker=1,
                processes=True,
                memory_limit=memory_limit,
                dashboard_address=":0",
                silence_logs=40,
            )
            opened.append(cluster)
            client = distributed.Client(cluster, set_as_default=False)
            opened.append(client)
            clusters[count] = client
        yield clusters
    finally:
        for thing in reversed(opened):
            thing.close()


def _mb(value: float) -> str:
    return f"{value / 1e6:,.0f} MB"


def report(rows: list[Row]) -> list[str]:
    lines = [f"{'rows':>13}  {'way':<17} {'seconds':>8} {'rows/s':>13}  peak memory (per worker)"]
    for row in rows:
        peaks = ", ".join(_mb(peak) for peak in row.peak)
        lines.append(f"{row.rows:>13,}  {row.way:<17} {row.seconds:>8.3f} {row.rate:>13,.0f}  {peaks}")
    both = [row.rows for row in rows if row.way == "numpy"]
    if both:
        size = max(both)
        at = {row.way: row for row in rows if row.rows == size}
        base = at["numpy"].seconds
        lines.append(f"overhead at {size:,} rows (time / NumPy's):")
        lines += [f"  {way}: {row.seconds / base:.2f}x" for way, row in at.items() if way != "numpy"]
    scale = {row.rows: row for row in rows if row.way == "cluster 1 worker"}
    pairs = [(row, scale[row.rows]) for row in rows if row.way == "cluster 2 workers" and row.rows in scale]
    for two, one in pairs:
        lines.append(
            f"1 -> 2 workers at {two.rows:,} rows: {one.seconds / two.seconds:.2f}x the rows per second"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,1e7", help="rows, comma-separated (default 1e6,1e7)")
    parser.add_argument("--chunk-rows", type=float, default=1e6, help="rows per chunk (default 1,000,000)")
    parser.add_argument("--numpy-max", type=float, default=1e7, help="NumPy runs up to this many rows")
    parser.add_argument(
        "--workers", default="1,2", help="LocalCluster worker counts (default 1,2; '' for none)"
    )
    parser.add_argument("--memory-limit", default="1GB", help="each worker's memory limit (default 1GB)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts (default 3)")
    args = parser.parse_args(argv)
    args.chunk_rows, args.numpy_max = int(args.chunk_rows), int(args.numpy_max)
    sizes = [int(float(size)) for size in args.sizes.split(",")]
    workers = [int(count) for count in args.workers.split(",") if count.strip()]
    circuit = gatekit.load(GRAPH)
    rows: list[Row] = []
    with started(workers, args.memory_limit) as clusters, tempfile.TemporaryDirectory() as temporary:
        for size in sizes:
            folder = Path(temporary) / f"rows-{size}"
            write_shards(folder, size)
            rows += measure(size, folder, args, circuit, clusters)
            for name in ("x0", "x1"):  # the disk back before the next size
                for shard in (folder / name).iterdir():
                    os.remove(shard)
    cores = os.cpu_count()
    print(f"neuron_batch.yaml forward and backward, {args.chunk_rows:,} rows per chunk, {cores} cores")
    print("\n".join(report(rows)))
    return rows


if __name__ == "__main__":
    main()
