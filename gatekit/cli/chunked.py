"""``gatekit run --chunks N [--scheduler ADDRESS]``: a run over data cut into Dask chunks.

The inputs are read as Dask arrays (:func:`gatekit.io.chunked.read_chunked`),
the circuit's forward and backward passes become one Dask graph, and it is
computed once (:func:`gatekit.engine.distributed.run_chunked`), on Dask's
local threads or on the cluster at ``--scheduler``. The small results print
as ``gatekit run`` prints them; the per-sample ones (a value per row) are
written chunk by chunk to ``--output OUT.zarr`` (or ``.npy`` shards in a
folder), never gathered into one memory.
"""

from __future__ import annotations

import argparse
from typing import Any

from gatekit.cli import commands
from gatekit.engine.distributed import ChunkedRun, check_chunks, connect, require_dask, run_chunked
from gatekit.errors import UsageError
from gatekit.io.chunked import check_store_path, read_chunked, write_chunked, write_small
from gatekit.io.inputs import check_leaf_names
from gatekit.views.text import full, json_text, table

__all__ = ["run"]

#: the run flags a chunked run does not take, and what each does instead
_REFUSED = (
    ("tangents", "--tangent"),
    ("of", "--of"),
    ("seed_grad", "--seed-grad"),
    ("check_finite", "--check-finite"),
)


def run(args: argparse.Namespace) -> int:
    """``gatekit run``: chunked with ``--chunks`` (or ``--scheduler``); else :func:`commands.run`."""
    if args.chunks is None and args.scheduler is None:
        return commands.run(args)
    check_flags(args, "run")
    for attribute, flag in _REFUSED:
        if getattr(args, attribute):
            raise UsageError(f"run --chunks: {flag} is not supported on a chunked run; leave it out")
    if args.backend not in ("numpy", "dask") or args.device is not None:
        raise UsageError("run --chunks: the chunks are Dask arrays; leave --backend and --device out")
    if args.output is not None:
        check_store_path(args.output)
    overrides = commands._overrides(args.overrides)
    circuit = commands._load(args)
    for name, (_, place) in overrides.items():
        check_leaf_names(circuit, [name], "name", place)
    values = read_chunked(args.inputs, circuit, args.chunks)
    values |= {name: value for name, (value, _) in overrides.items()}
    output = args.output

    def write(arrays: dict[str, Any]) -> list[Any]:
        return write_chunked(output, arrays) if output is not None else []

    with connect(args.scheduler) as client:
        done = run_chunked(circuit, values, client, write if output is not None else None)
    if output is not None:
        small = {f"{section}/{name}": value for section, numbers in (("outputs", done.outputs),
                 ("grads", done.grads)) for name, value in numbers.items() if value is not None}  # fmt: skip
        write_small(output, small)
    if args.json:
        print(json_text(_json(done, output)))
    else:
        print("\n".join(_lines(circuit.outputs[0], done, output, circuit.params)))
    return 0


def check_flags(args: argparse.Namespace, command: str) -> None:
    """Refuse ``--scheduler`` without ``--chunks``, a chunk count out of range, no ``--inputs``; need Dask.

    :raises UsageError: one of those, or Dask is not installed (the message says what to install).
    """
    if args.chunks is None:
        raise UsageError(f"{command}: --scheduler runs chunks on a cluster: give --chunks N too")
    check_chunks(args.chunks)
    if not args.inputs:
        raise UsageError(f"{command} --chunks: give --inputs DATA, the data to cut into chunks")
    require_dask()


def _shown(key: str, done: ChunkedRun, output: str | None) -> str:
    rows = f"{done.per_sample[key][0]:,} rows"
    return f"({rows}, written to {output}/{key})" if output else f"({rows}, not kept: give --output OUT.zarr)"


def _lines(of: str, done: ChunkedRun, output: str | None, params: list[str]) -> list[str]:
    """The table ``gatekit run`` prints, per-sample results named by where they went."""

    def cell(section: str, name: str, value: Any) -> str:
        if value is None:
            return _shown(f"{section}/{name}", done, output)
        text = full(value)  # a number with room for a sign, as gatekit run aligns them
        return text if text.startswith("-") or not isinstance(value, float) else " " + text

    lines = [f"{done.rows:,} rows in {done.chunks:,} chunks", "outputs"]
    lines += table([(name, cell("outputs", name, value)) for name, value in done.outputs.items()])
    lines.append(f"gradients of {of}")
    lines += table(
        [
            (name, "param" if name in params else "input", cell("grads", name, value))
            for name, value in done.grads.items()
        ]
    )
    return lines


def _json(done: ChunkedRun, output: str | None) -> dict[str, Any]:
    """``--json``: the small results, and where each per-sample one went (``null``: not kept)."""
    return {
        "rows": done.rows,
        "chunks": done.chunks,
        "outputs": {name: value for name, value in done.outputs.items() if value is not None},
        "grads": {name: value for name, value in done.grads.items() if value is not None},
        "per_sample": {
            key: {"shape": list(shape), "written": f"{output}/{key}" if output else None}
            for key, shape in done.per_sample.items()
        },
    }
