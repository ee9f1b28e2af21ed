"""gatekit: circuits of gates, and backpropagation through them.

Gates are pluggy plugins that each compute an output and its local gradients;
circuits are YAML files; the scheduler runs forward in topological order and
backpropagates in reverse, adding gradients where wires fan out.
"""

from __future__ import annotations

from gatekit.circuit import Circuit, Result, default_registry, load, loads
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
from gatekit.gatespec import POSITIVE, REAL, Attr, GateSpec
from gatekit.hookspecs import hookimpl

__version__ = "0.1.0"

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
    "UsageError",
    "__version__",
    "default_registry",
    "hookimpl",
    "load",
    "loads",
]
