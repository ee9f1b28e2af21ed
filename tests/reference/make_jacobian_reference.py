"""Write ``jacobian_torch.json``: PyTorch's Jacobian of ``graphs/arm.yaml`` at the file's own values.

Run it where torch is installed (never in gatekit's environment, which does
not depend on torch)::

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy pyyaml
    /tmp/torchenv/bin/python tests/reference/make_jacobian_reference.py

The arm's three outputs are written out in torch op for op as the circuit's
gates compute them (:func:`arm`: ``matmul``, ``cos``, ``sin``, ``dot``,
``sum``), in float64, and ``torch.autograd.functional.jacobian``
differentiates them with respect to every leaf. The leaves' values are read
from the circuit file (with a safe YAML loader) and written into the JSON
with the outputs, so that ``tests/test_jacobian.py`` can tell when the file
changed under the reference.
"""

from __future__ import annotations

import datetime
import json
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAPH = "graphs/arm.yaml"
OUT = Path(__file__).with_name("jacobian_torch.json")
COMMAND = "/tmp/torchenv/bin/python tests/reference/make_jacobian_reference.py"
#: what :func:`arm` computes and takes, in the circuit's order
OUTPUTS = ["x", "y", "heading"]
LEAVES = ["theta", "chain", "lengths"]


def arm(torch: Any, theta: Any, chain: Any, lengths: Any) -> tuple[Any, Any, Any]:
    """Where the hand of the two-link arm is, and which way it points: the circuit's gates."""
    phi = torch.matmul(chain, theta)
    x = torch.dot(lengths, torch.cos(phi))
    y = torch.dot(lengths, torch.sin(phi))
    heading = torch.sum(theta)
    return x, y, heading


def leaf_values() -> dict[str, Any]:
    """The leaves' values as the circuit file gives them, in the file's order (inputs, then params)."""
    circuit = yaml.safe_load((ROOT / GRAPH).read_text(encoding="utf-8"))
    if circuit["outputs"] != OUTPUTS or [*circuit["inputs"], *circuit["params"]] != LEAVES:
        raise SystemExit(f"{GRAPH} no longer has the outputs {OUTPUTS} and leaves {LEAVES}: update arm()")
    return {**circuit["inputs"], **circuit["params"]}


def main() -> None:
    import torch

    values = leaf_values()
    leaves = tuple(torch.tensor(values[name], dtype=torch.float64) for name in LEAVES)
    outputs = arm(torch, *leaves)
    blocks = torch.autograd.functional.jacobian(lambda *xs: arm(torch, *xs), leaves)
    jacobian = {
        f"d {out} / d {leaf}": blocks[i][j].tolist()
        for i, out in enumerate(OUTPUTS)
        for j, leaf in enumerate(LEAVES)
    }
    reference = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "date": datetime.date.today().isoformat(),
        "made_by": "tests/reference/make_jacobian_reference.py",
        "command": COMMAND,
        "graph": GRAPH,
        "function": "torch.autograd.functional.jacobian, float64",
        "values": values,
        "outputs": {name: float(value) for name, value in zip(OUTPUTS, outputs, strict=True)},
        "jacobian": jacobian,
    }
    lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in reference.items()]
    OUT.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    print(f"wrote {OUT} (torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
