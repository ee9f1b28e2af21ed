"""The optional ``onnx`` extra: imported on first use, or a clear error naming it."""

from __future__ import annotations

import importlib
from types import ModuleType

from gatekit.errors import UsageError

__all__ = ["INSTALL", "require_onnx", "require_onnxruntime"]

#: what to run to get the extra (the distribution is gatekit-circuits: README, "Why the distribution ...")
INSTALL = "pip install 'gatekit-circuits[onnx]'"


def require_onnx(what: str) -> ModuleType:
    """The ``onnx`` module.

    :param what: what needs it, for the message (``"gatekit export"``).
    :raises UsageError: onnx is not installed (the message names the extra).
    """
    return _module("onnx", what)


def require_onnxruntime(what: str) -> ModuleType:
    """The ``onnxruntime`` module.

    :raises UsageError: onnxruntime is not installed (the message names the extra).
    """
    return _module("onnxruntime", what)


def _module(name: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(name)  # optional: imported the first time it is needed
    except ImportError:
        raise UsageError(f"{what} needs {name}, which is not installed: {INSTALL}") from None
