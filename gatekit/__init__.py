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
from gatekit.onnx.export import to_onnx
from gatekit.plugin.base import SpecGate, collect_gates
from gatekit.plugin.gatespec import POSITIVE, REAL, Attr, GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.registry import default_registry
from gatekit.training.api import train
from gatekit.training.loop import Trainer, TrainingError, TrainResult

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
    "hookimpl",
    "load",
    "loads",
    "math",
    "to_onnx",
    "train",
]
