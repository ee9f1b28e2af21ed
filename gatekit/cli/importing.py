"""``gatekit import MODEL.onnx -o CIRCUIT.yaml``: an ONNX model as a circuit file.

The output path is checked before any work; the circuit is checked as
``validate`` checks a file (so what is written loads), then written in one
step: an existing file is replaced whole or left as it was.
"""

from __future__ import annotations

import argparse

from gatekit.api import Circuit
from gatekit.cli.commands import _count, _registry
from gatekit.io.atomic import check_output_path, write_atomically
from gatekit.onnx.load import imported_text

__all__ = ["import_model"]

#: what the command writes
CIRCUIT_TYPES = (".yaml", ".yml")


def import_model(args: argparse.Namespace) -> int:
    """Read the model, write its circuit; print what the circuit holds."""
    check_output_path(args.output, CIRCUIT_TYPES, "an imported circuit")
    registry = _registry(args)
    text = imported_text(args.model, list(registry))
    circuit = Circuit.from_text(text, args.output, registry)
    write_atomically(args.output, lambda f: f.write(text.encode("utf-8")))
    counts = ", ".join([
        _count(len(circuit.inputs), "input", "inputs"),
        _count(len(circuit.params), "param", "params"),
        _count(len(circuit.plan.forward), "gate", "gates"),
    ])  # fmt: skip
    print(f"wrote {args.output}: {counts}, outputs: {', '.join(circuit.outputs)}")
    return 0
