"""Circuits over Dask arrays: data chunked along the batch axis, one graph, computed once.

The engine needs nothing of its own to run on Dask: gates compute with their
inputs' namespace (:mod:`gatekit.arrays`), so a :meth:`Circuit.run
<gatekit.Circuit.run>` whose inputs are Dask arrays *builds* the forward and
backward passes as one Dask graph without computing anything, and a param's
gradient, the sum of its chunks' gradients, is Dask's ``sum``: a tree
reduction. What this module adds is the rest of a chunked run:

- :func:`require_dask` imports Dask or says what to install;
- :func:`connect`: the local threaded scheduler, or a
  ``dask.distributed.Client`` for a cluster's address;
- :func:`chunk_rows`: an array cut into ``N`` chunks along axis 0;
- :func:`broadcast`: the params, sent to every worker of a cluster once
  (``client.scatter(..., broadcast=True)``), so that each chunk's tasks read
  the worker's own copy; on threads they stay graph constants (one key each,
  shared by every chunk, never copied);
- :func:`compute`: everything asked for (outputs, gradients, the writes of
  per-sample arrays) computed together, in one pass over the data.

>>> import numpy as np
>>> chunk_rows(require_dask().from_array(np.arange(10.0)), 3).chunks
((4, 4, 2),)
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit.arrays import is_foreign
from gatekit.engine.circuit import Circuit
from gatekit.errors import Location, UsageError, describe_exception

__all__ = [
    "CONNECT_TIMEOUT",
    "DASK_EXTRA",
    "MAX_CHUNKS",
    "ChunkedRun",
    "broadcast",
    "check_chunks",
    "chunk_rows",
    "compute",
    "connect",
    "dask_module",
    "is_dask",
    "require_dask",
    "require_distributed",
    "run_chunked",
]

#: what to install for chunked runs and clusters
DASK_EXTRA = "pip install 'gatekit-circuits[dask]'"

#: how long :func:`connect` waits for a scheduler to answer
CONNECT_TIMEOUT = "10s"

#: the most chunks a run may be cut into (each is a few tasks per gate)
MAX_CHUNKS = 1_000_000


def require_dask() -> Any:
    """The ``dask.array`` module, or a :class:`~gatekit.UsageError` saying what to install."""
    try:
        import dask.array  # noqa: PLC0415 - the dask extra, needed only for chunked runs
    except ImportError:
        raise UsageError(f"--chunks needs Dask: {DASK_EXTRA}") from None
    return dask.array


def dask_module() -> Any:
    """The ``dask`` module itself (``compute``, ``delayed``), after :func:`require_dask`."""
    require_dask()
    return importlib.import_module("dask")  # typed as Any: its functions carry no annotations


def require_distributed() -> Any:
    """The ``distributed`` module (``dask.distributed``), or a :class:`~gatekit.UsageError`."""
    try:
        import distributed  # noqa: PLC0415 - the dask extra, needed only for clusters
    except ImportError:
        raise UsageError(f"--scheduler needs dask.distributed: {DASK_EXTRA}") from None
    return distributed


def is_dask(value: Any) -> bool:
    """Whether ``value`` is a Dask array (without importing Dask for any other value)."""
    return is_foreign(value) and type(value).__module__.startswith("dask.")


def check_chunks(chunks: int, rows: int | None = None) -> None:
    """Refuse a chunk count below 1, above :data:`MAX_CHUNKS` or above the data's ``rows``."""
    if not 1 <= chunks <= MAX_CHUNKS:
        raise UsageError(f"--chunks: give a whole number from 1 to {MAX_CHUNKS:,}, got {chunks:,}")
    if rows is not None and chunks > rows:
        raise UsageError(
            f"--chunks {chunks:,}: the data has only {rows:,} rows (one chunk holds one or more)"
        )


def chunk_rows(array: Any, chunks: int) -> Any:
    """``array`` (a Dask array) in ``chunks`` chunks along axis 0, as equal as they come; other axes whole."""
    rows = int(array.shape[0])
    size = max(1, math.ceil(rows / chunks))
    return array.rechunk({0: size, **dict.fromkeys(range(1, array.ndim), -1)})


@contextlib.contextmanager
def connect(address: str | None) -> Iterator[Any]:
    """The scheduler of a chunked run: ``None`` (Dask's local threads), or a client of ``address``.

    The client is closed at the end; the cluster is left running.

    :raises UsageError: dask.distributed is not installed, or no scheduler answers at ``address``.
    """
    if address is None:
        yield None
        return
    distributed = require_distributed()
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(
            f"no Dask scheduler answers there ({describe_exception(exc)})",
            Location(f"--scheduler {address}"),
        ) from None
    try:
        yield client
    finally:
        client.close()


def broadcast(params: Mapping[str, Any], client: Any) -> dict[str, Any]:
    """The params as a run on ``client``'s cluster reads them: on every worker, once.

    With a client, each value (a float or a NumPy array) is scattered to
    every worker (``broadcast=True``) and given back as a one-chunk Dask
    array of the scattered data: the graph refers to it by key, so a chunk's
    task reads its worker's copy and nothing is sent per chunk. Without one
    (the threaded scheduler, one memory) the values are returned as they
    are: the engine makes a NumPy array one graph constant that every chunk
    shares, and a float is a number in each task.
    """
    if client is None or not params:
        return dict(params)
    dask_array = require_dask()
    arrays = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    # a list, not the dict: a dict's keys would name the data, the same names at every step
    futures = client.scatter(list(arrays.values()), broadcast=True, hash=False)
    return {
        name: dask_array.from_delayed(future, shape=array.shape, dtype=np.float64)
        for (name, array), future in zip(arrays.items(), futures, strict=True)
    }


@dataclass(frozen=True, slots=True)
class ChunkedRun:
    """A chunked run's results: the small ones computed, the per-sample ones' shapes (kept as chunks)."""

    rows: int
    chunks: int
    #: each output, a float or NumPy array, or ``None`` for a per-sample one (see ``per_sample``)
    outputs: dict[str, Any]
    #: the gradient of ``outputs[0]`` with respect to each leaf, likewise
    grads: dict[str, Any]
    #: ``{"outputs/f": shape}`` for the per-sample results: written by the run's writer, or not kept
    per_sample: dict[str, tuple[int, ...]]


def run_chunked(
    circuit: Circuit,
    values: Mapping[str, Any],
    client: Any = None,
    write: Callable[[dict[str, Any]], list[Any]] | None = None,
) -> ChunkedRun:
    """Run ``circuit`` on ``values`` (Dask arrays chunked along axis 0 among them): one graph, computed once.

    The run builds the graph (nothing is computed while the gates run);
    results with the data's rows along axis 0 are per-sample and stay
    chunked: ``write`` (``{"outputs/f": array}`` to Dask tasks writing their
    chunks) is given them, and its writes are computed with the rest. The
    other results (the params' gradients, reduced across the chunks by
    tree sums, and whole-batch outputs such as a mean loss) are computed
    into memory. Without ``write`` the per-sample results are not kept.
    """
    chunked = [value for value in values.values() if is_dask(value) and value.ndim]
    rows = int(chunked[0].shape[0]) if chunked else 1
    chunks = len(chunked[0].chunks[0]) if chunked else 1
    params = set(circuit.params)
    result = circuit.run(values)
    small: dict[str, Any] = {}
    large: dict[str, Any] = {}
    for section, numbers in (("outputs", result.outputs), ("grads", result.grads)):
        for name, value in numbers.items():
            key = f"{section}/{name}"
            per_sample = chunked and is_dask(value) and value.ndim and value.shape[0] == rows
            if per_sample and not (section == "grads" and name in params):
                large[key] = value
            else:
                small[key] = value
    writes = write(large) if write is not None and large else []
    computed, _ = compute(client, small, writes)
    numbers = {key: _number(value) for key, value in computed.items()}
    split: dict[str, dict[str, Any]] = {"outputs": {}, "grads": {}}
    for section, names in (("outputs", result.outputs), ("grads", result.grads)):
        for name in names:
            split[section][name] = numbers.get(f"{section}/{name}")
    shapes = {key: tuple(int(n) for n in value.shape) for key, value in large.items()}
    return ChunkedRun(rows, chunks, split["outputs"], split["grads"], shapes)


def _number(value: Any) -> Any:
    """A computed value as the engine gives NumPy results: a float for 0-d, else a float64 array."""
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else array


def compute(client: Any, *collections: Any) -> tuple[Any, ...]:
    """``collections`` computed together, as one graph: on ``client``'s cluster, or on local threads.

    Intermediate values that several of them need (the forward pass, for the
    outputs and every gradient) are computed once.
    """
    dask = dask_module()
    if client is None:
        return tuple(dask.compute(*collections, scheduler="threads"))
    return tuple(dask.compute(*collections, scheduler=client))
