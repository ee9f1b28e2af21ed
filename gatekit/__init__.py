"""gatekit: circuits of gates, and backpropagation through them.

Gates are pluggy plugins that each compute an output and its local gradients;
circuits are YAML files; the scheduler runs forward in topological order and
backpropagates in reverse, adding gradients where wires fan out.

The names here are the public API. For gate authors: :class:`GateSpec`,
:class:`Attr`, :data:`hookimpl`, :class:`SpecGate`, :func:`collect_gates`,
the float-or-array functions of :mod:`gatekit.math`, and the gradient checks
of :mod:`gatekit.testing`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gatekit import math
from gatekit.api import Circuit, Result, load, loads
from gatekit.errors import (
    CycleError,
    GatekitError,
    GraphError,
    LoadError,
    Location,
    PluginError,
    PluginWarning,
    RenderError,
    RunError,
    UsageError,
)
from gatekit.onnx import load as onnx_load
from gatekit.onnx.export import to_onnx
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import POSITIVE, REAL, Attr, GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.registry import GateRegistry, default_registry
from gatekit.training.api import train
from gatekit.training.loop import Trainer, TrainingError, TrainResult

if TYPE_CHECKING:
    import onnx

__version__ = "0.2.0"

__all__ = [
    "POSITIVE",
    "REAL",
    "Attr",
    "Circuit",
    "CycleError",
    "GateSpec",
    "GatekitError",
    "GraphError",
    "LoadError",
    "Location",
    "PluginError",
    "PluginWarning",
    "RenderError",
    "Result",
    "RunError",
    "SpecGate",
    "TrainResult",
    "Trainer",
    "TrainingError",
    "UsageError",
    "__version__",
    "collect_gates",
    "default_registry",
    "from_onnx",
    "hookimpl",
    "load",
    "loads",
    "math",
    "to_onnx",
    "train",
]


def from_onnx(
    source: str | os.PathLike[str] | onnx.ModelProto, registry: GateRegistry | None = None
) -> Circuit:
    """Import an ONNX model (a ``.onnx`` file or an ``onnx.ModelProto``) as a circuit, ready to run.

    What ``gatekit import`` writes, loaded: see :mod:`gatekit.onnx.importer`.
    Needs the onnx extra, imported only now.

    :raises UsageError: onnx is not installed, the file is not a readable
        ONNX model, or some node cannot be imported (one message lists them all).
    """
    return onnx_load.from_onnx(source, registry, Circuit)
