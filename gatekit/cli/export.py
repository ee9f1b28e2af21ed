"""``gatekit export``: a circuit as an ONNX model (:func:`gatekit.onnx.export.to_onnx`).

The ``-o`` path is checked, and the onnx extra looked for, before the
circuit is read; the model is written atomically, so an existing file is
left as it was when anything fails.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from gatekit.cli.commands import _leaf_values, _load, _overrides
from gatekit.errors import Location, UsageError
from gatekit.io.atomic import check_output_path
from gatekit.onnx.export import OPSET, batch_axes_of, save_onnx, to_onnx
from gatekit.onnx.extra import require_onnx

__all__ = ["MODEL_TYPES", "export", "parse_batch_axes"]

MODEL_TYPES = (".onnx",)


def parse_batch_axes(items: Sequence[str]) -> tuple[int | None, dict[str, int]]:
    """The ``--batch-axis`` items: the axis for every array input (``AXIS``), and each ``NAME=AXIS``.

    >>> parse_batch_axes(["0", "y=1"])
    (0, {'y': 1})

    :raises UsageError: an axis that is not a whole number, or one given twice.
    """
    every: int | None = None
    named: dict[str, int] = {}
    for item in items:
        name, sep, text = item.rpartition("=")
        place = Location(f"--batch-axis {item}")
        try:
            axis = int(text)
        except ValueError:
            raise UsageError(
                "give an axis, a whole number: --batch-axis AXIS for every input that is an array, "
                "or --batch-axis NAME=AXIS for one",
                place,
            ) from None
        name = name.strip()
        if not sep:  # AXIS: every input that is an array
            if every is not None:
                raise UsageError("AXIS is given twice", place)
            every = axis
            continue
        if not name:
            raise UsageError("the input's name is missing: write --batch-axis NAME=AXIS", place)
        if name in named:
            raise UsageError(f"the batch axis of {name!r} is given twice", place)
        named[name] = axis
    return every, named


def _items(count: int, what: str) -> str:
    return f"{count} {what}" if count == 1 else f"{count} {what}s"


def export(args: argparse.Namespace) -> int:
    """``gatekit export GRAPH -o MODEL.onnx``: the flags and the path are checked before the file is read."""
    check_output_path(args.output, MODEL_TYPES, "an ONNX model")
    if args.of is not None and not args.with_gradients:
        raise UsageError("export: --of chooses the gradient the model computes: give --with-gradients too")
    every, named = parse_batch_axes(args.batch_axes)
    require_onnx("gatekit export")
    overrides = _overrides(args.overrides)
    circuit = _load(args)
    values = _leaf_values(args, circuit, overrides)
    axes = batch_axes_of(circuit, values, every) if every is not None else {}
    axes.update(batch_axes_of(circuit, values, named))
    model = to_onnx(
        circuit,
        values,
        with_gradients=args.with_gradients,
        of=args.of,
        batch_axes=axes,
        inline_modules=args.inline_modules,
    )
    save_onnx(model, args.output)
    graph = model.graph
    inputs = ", ".join(value.name for value in graph.input) or "none"
    outputs = ", ".join(value.name for value in graph.output)
    count = len(model.functions)
    functions = f", {_items(count, 'local function')}" if count else ""
    print(
        f"wrote {args.output}: {_items(len(graph.node), 'node')} (opset {OPSET}{functions}), "
        f"{_items(len(graph.initializer), 'initializer')}; inputs {inputs}; outputs {outputs}"
    )
    return 0
