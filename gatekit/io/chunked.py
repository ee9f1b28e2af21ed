"""Data larger than memory: ``--inputs DATA --chunks N`` reads Dask arrays; ``--output`` writes them.

:func:`read_chunked` reads each input as a Dask array cut into ``N`` chunks
along axis 0 (the batch axis), without reading the data: the workers read
their chunks when the graph runs. It takes

- a Zarr store (``DATA.zarr``): a group whose arrays are named by leaf;
- a folder: ``NAME.npy`` (memory-mapped) or ``NAME/`` holding ``.npy``
  shards in name order (``00000.npy``, ``00001.npy``...), all of one dtype
  and of the same shape but for their rows;
- one ``NAME.npy`` (the leaf ``NAME``, memory-mapped);
- a ``.npz``, ``.csv`` or ``.json`` file, read whole into memory
  (:func:`gatekit.io.inputs.read_inputs`), then cut into chunks.

Params named in the data are read into memory (they are broadcast to every
chunk, not cut). These sources are the user's own large data, so
``GATEKIT_MAX_FILE_BYTES`` does not apply to them; ``.npy`` files are read
without pickles.

:func:`write_chunked` writes a chunked run's results: the per-sample ones
(outputs, gradients of inputs) chunk by chunk, by the workers, to a Zarr
store (``OUT.zarr``, arrays ``outputs/NAME`` and ``grads/NAME``) or to a
folder of ``.npy`` shards (``OUT/outputs/NAME/00000.npy``...); the small
ones (gradients of params, whole-batch outputs) whole, once computed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from gatekit.engine.circuit import Circuit
from gatekit.engine.distributed import DASK_EXTRA, check_chunks, chunk_rows, dask_module, require_dask
from gatekit.errors import Location, UsageError
from gatekit.io.inputs import INPUT_TYPES, check_leaf_names, read_inputs

__all__ = ["STORE_TYPES", "check_store_path", "read_chunked", "write_chunked", "write_small"]

#: what ``--output`` of a chunked run writes: a Zarr store, or (no extension) a folder of .npy shards
STORE_TYPES = (".zarr", "")


def _zarr() -> Any:
    try:
        import zarr  # noqa: PLC0415 - the dask extra, needed only for Zarr stores
    except ImportError:
        raise UsageError(f"Zarr stores need zarr: {DASK_EXTRA}") from None
    return zarr


def _suffix(path: str) -> str:
    return os.path.splitext(path.rstrip("/" + os.sep))[1].lower()


# -- reading -------------------------------------------------------------------


def read_chunked(path: str | os.PathLike[str], circuit: Circuit, chunks: int) -> dict[str, Any]:
    """The leaves in ``path`` for ``circuit``: inputs as Dask arrays in ``chunks`` chunks along axis 0.

    Arrays are float64 (other numbers converted as the chunks are read);
    0-d values are floats, params in memory (NumPy arrays or floats).

    :raises UsageError: ``chunks`` is not a count from 1 to the data's rows;
        the path does not exist or is of no type read here; a name is no
        input or param of ``circuit``; an array is not of numbers, a shard's
        shape or dtype differs from the first's, a folder of shards is empty;
        the inputs' arrays disagree on their rows.
    """
    file = os.fspath(path)
    check_chunks(chunks)
    dask_array = require_dask()
    suffix = _suffix(file)
    if not os.path.exists(file):
        raise UsageError("no such file, folder or Zarr store", Location(file))
    if suffix == ".zarr":
        found = _read_zarr(file)
    elif os.path.isdir(file):
        found = _read_folder(file)
    elif suffix == ".npy":
        found = {os.path.splitext(os.path.basename(file))[0]: _npy_source([file], file)}
    elif suffix in INPUT_TYPES:
        found = {name: _Source.of(value) for name, value in read_inputs(file, circuit).items()}
    else:
        kinds = ", ".join([".zarr", "a folder of .npy", ".npy", *INPUT_TYPES])
        raise UsageError(
            f"unsupported file type {suffix!r}; chunked inputs are read from {kinds}", Location(file)
        )
    check_leaf_names(circuit, found, "array", Location(file))
    params = set(circuit.params)
    rows = {name: source.shape[0] for name, source in found.items() if source.shape and name not in params}
    if len(set(rows.values())) > 1:
        shown = ", ".join(f"{name} {count:,}" for name, count in rows.items())
        raise UsageError(f"the inputs' arrays must have as many rows each, got {shown}", Location(file))
    size = 1
    if rows:
        total = next(iter(rows.values()))
        check_chunks(chunks, total)
        size = math.ceil(total / chunks)
    values: dict[str, Any] = {}
    for name, source in found.items():
        if name in rows:
            values[name] = chunk_rows(source.make(dask_array, size).astype(np.float64), chunks)
        else:  # a number, or a param: whole, in memory
            rows_of_it = source.shape[0] if source.shape else 1
            whole = np.asarray(source.make(dask_array, max(1, rows_of_it)).compute(), dtype=np.float64)
            values[name] = float(whole) if whole.ndim == 0 else whole
    return values


@dataclass(frozen=True, slots=True)
class _Source:
    """One leaf's array in the data: its shape, and how to make it a Dask array of chunks of some rows."""

    shape: tuple[int, ...]
    make: Callable[[Any, int], Any]  # (dask.array, rows per chunk) -> a Dask array

    @classmethod
    def of(cls, value: Any) -> _Source:
        """A value in memory (read from .npz, .csv, .json)."""
        array = np.asarray(value, dtype=np.float64)
        return cls(array.shape, partial(_in_memory, array))


def _in_memory(array: np.ndarray, dask_array: Any, size: int) -> Any:
    return dask_array.from_array(array, chunks=(size, *array.shape[1:]) if array.ndim else ())


def _read_zarr(file: str) -> dict[str, _Source]:
    zarr = _zarr()
    try:
        group = zarr.open_group(file, mode="r")
    except Exception as exc:  # zarr says it its own way (not a group, a damaged store)
        raise UsageError(f"not a Zarr group of arrays ({exc})", Location(file)) from None
    found = {}
    for name, member in sorted(group.arrays()):
        _check_dtype(member.dtype, f"array {name!r}", file)
        shape = tuple(int(n) for n in member.shape)
        found[name] = _Source(shape, partial(_zarr_array, file, name, shape))
    if not found:
        raise UsageError("the Zarr group holds no arrays", Location(file))
    return found


def _zarr_array(file: str, name: str, shape: tuple[int, ...], dask_array: Any, size: int) -> Any:
    """The Zarr array ``name`` in chunks of ``size`` rows (each read from the Zarr chunks that hold it)."""
    chunks = (size, *shape[1:]) if shape else ()
    return dask_array.from_zarr(file, component=name, chunks=chunks)


def _read_folder(file: str) -> dict[str, _Source]:
    found = {}
    for entry in sorted(os.listdir(file)):
        if entry.startswith("."):
            continue
        inner = os.path.join(file, entry)
        name, suffix = os.path.splitext(entry)
        if os.path.isdir(inner):
            shards = sorted(part for part in os.listdir(inner) if part.lower().endswith(".npy"))
            if not shards:
                raise UsageError("a folder of shards holds no .npy files", Location(inner))
            found[entry] = _npy_source([os.path.join(inner, part) for part in shards], inner)
        elif suffix.lower() == ".npy":
            found[name] = _npy_source([inner], inner)
        else:
            raise UsageError("not a .npy file or a folder of .npy shards", Location(inner))
    if not found:
        raise UsageError("the folder holds no .npy files or folders of shards", Location(file))
    return found


def _npy_source(files: list[str], place: str) -> _Source:
    """``.npy`` files (one, or shards in order) as one array along axis 0; only their headers read here."""
    headers = [_header(file) for file in files]
    shape, dtype = headers[0]
    for file, (other, kind) in zip(files, headers, strict=True):
        if not other or other[1:] != shape[1:] or kind != dtype:
            first = os.path.basename(files[0])
            raise UsageError(
                f"shard {os.path.basename(file)} holds {kind}{list(other)}; the first, {first}, "
                f"{dtype}{list(shape)}: shards differ in their rows only",
                Location(place),
            )
    if not shape:
        return _Source((), lambda da, size: da.from_array(np.load(files[0], allow_pickle=False)))
    rows = sum(other[0] for other, _ in headers)
    return _Source((rows, *shape[1:]), partial(_npy_array, files, headers))


def _header(file: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """A ``.npy`` file's shape and dtype, from its header (memory-mapped: nothing else is read)."""
    try:
        array = np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"not a readable .npy array ({exc})", Location(file)) from None
    _check_dtype(array.dtype, "the array", file)
    return tuple(int(n) for n in array.shape), array.dtype


def _npy_array(
    files: list[str], headers: list[tuple[tuple[int, ...], Any]], dask_array: Any, size: int
) -> Any:
    """The ``.npy`` files as one Dask array: a task per ``size`` rows of each, reading only those rows.

    The graph holds file names, never the data: a worker opens the file
    (memory-mapped) and copies its rows, so a cluster's workers read their
    own chunks from a shared file system.
    """
    dask = dask_module()
    pieces = []
    for file, (shape, dtype) in zip(files, headers, strict=True):
        for start in range(0, shape[0], size):
            stop = min(start + size, shape[0])
            rows = dask.delayed(_rows, pure=True)(file, start, stop)
            pieces.append(dask_array.from_delayed(rows, shape=(stop - start, *shape[1:]), dtype=dtype))
    return dask_array.concatenate(pieces) if len(pieces) > 1 else pieces[0]


def _rows(file: str, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of the ``.npy`` file, copied into memory."""
    return np.array(np.load(file, mmap_mode="r", allow_pickle=False)[start:stop])


def _check_dtype(dtype: Any, what: str, file: str) -> None:
    if np.dtype(dtype).kind not in "iuf":
        raise UsageError(f"{what} holds {dtype}, not numbers", Location(file))


# -- writing -------------------------------------------------------------------


def check_store_path(path: str | os.PathLike[str]) -> str:
    """Refuse, before anything runs, a chunked run's ``--output`` that cannot be written; return its type.

    :raises UsageError: it is neither ``OUT.zarr`` nor a name without an
        extension (a folder of shards), it exists already, or its folder does not.
    """
    file = os.fspath(path)
    suffix = _suffix(file)
    if suffix not in STORE_TYPES:
        raise UsageError(
            f"unsupported type {suffix!r}; a chunked run writes a Zarr store (OUT.zarr) or a folder of "
            ".npy shards (OUT, no extension)",
            Location(file),
        )
    if os.path.lexists(file):
        raise UsageError(
            "exists already: a chunked run writes a new store; remove it or name another", Location(file)
        )
    folder = os.path.dirname(os.path.abspath(file))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write there: the folder {folder!r} does not exist", Location(file))
    if suffix == ".zarr":
        _zarr()
    return suffix


def write_chunked(path: str | os.PathLike[str], arrays: Mapping[str, Any]) -> list[Any]:
    """The writes of ``arrays`` (``{"outputs/f": dask array}``), chunk by chunk, as Dask tasks (not run).

    :func:`gatekit.engine.distributed.compute` runs them with the rest of
    the graph; each chunk is written by the worker that computed it.
    """
    file = os.fspath(path)
    dask_array = require_dask()
    if _suffix(file) == ".zarr":
        return [
            dask_array.to_zarr(array, file, component=key, compute=False, overwrite=False)
            for key, array in arrays.items()
        ]
    dask = dask_module()
    writes = []
    for key, array in arrays.items():
        folder = os.path.join(file, *key.split("/"))
        os.makedirs(folder)
        blocks = array.to_delayed().reshape(-1)  # one per chunk along axis 0: the other axes are whole
        writes += [dask.delayed(_save)(os.path.join(folder, f"{i:05d}.npy"), b) for i, b in enumerate(blocks)]
    return writes


def _save(file: str, block: np.ndarray) -> None:
    np.save(file, np.asarray(block, dtype=np.float64), allow_pickle=False)


def write_small(path: str | os.PathLike[str], arrays: Mapping[str, Any]) -> None:
    """Write computed values (``{"grads/w": value}``) whole, beside :func:`write_chunked`'s."""
    file = os.fspath(path)
    if _suffix(file) == ".zarr":
        zarr = _zarr()
        for key, value in arrays.items():
            zarr.create_array(store=file, name=key, data=np.asarray(value, dtype=np.float64))
        return
    for key, value in arrays.items():
        target = os.path.join(file, *key.split("/")) + ".npy"
        os.makedirs(os.path.dirname(target), exist_ok=True)
        np.save(target, np.asarray(value, dtype=np.float64), allow_pickle=False)
