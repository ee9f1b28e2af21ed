"""The optional ``onnx`` extra: imported on first use, or a clear error naming it."""

from __future__ import annotations

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
    try:
        import onnx  # noqa: PLC0415 - optional: only ONNX export and import need it
    except ImportError:
        raise UsageError(f"{what} needs onnx, which is not installed: {INSTALL}") from None
    return onnx


def require_onnxruntime(what: str) -> ModuleType:
    """The ``onnxruntime`` module.

    :raises UsageError: onnxruntime is not installed (the message names the extra).
    """
    try:
        import onnxruntime  # noqa: PLC0415 - optional: only running exported models needs it
    except ImportError:
        raise UsageError(f"{what} needs onnxruntime, which is not installed: {INSTALL}") from None
    module: ModuleType = onnxruntime  # untyped: mypy sees Any
    return module
