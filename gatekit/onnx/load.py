"""``gatekit.from_onnx``: an ONNX model (a file or a ``ModelProto``) as a runnable circuit."""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any, TypeVar

from gatekit.engine.circuit import Circuit
from gatekit.onnx.extra import require_onnx
from gatekit.onnx.importer import check_model, import_model, read_model
from gatekit.onnx.writer import circuit_text
from gatekit.plugin.registry import GateRegistry, default_registry

__all__ = ["from_onnx", "imported_text"]

C = TypeVar("C", bound=Circuit)


def imported_text(source: str | os.PathLike[str] | Any, gates: Collection[str] = ()) -> str:
    """The circuit file of an ONNX model: a path to a ``.onnx`` file, or a ``onnx.ModelProto``.

    ``gates`` are the installed gates, which a model gatekit exported is made
    of again (:func:`~gatekit.onnx.importer.import_model`).

    :raises UsageError: the file cannot be read or is not an ONNX model, a
        node cannot be imported (one message lists them all), or onnx is not
        installed.
    """
    onnx = require_onnx("gatekit import")
    if isinstance(source, onnx.ModelProto):
        return circuit_text(import_model(check_model(onnx, source, "<model>"), "<model>", gates))
    file = os.fspath(source)
    return circuit_text(import_model(read_model(file), file, gates))


def from_onnx(source: str | os.PathLike[str] | Any, registry: GateRegistry | None, kind: type[C]) -> C:
    """The ONNX model ``source`` (a path or a ``ModelProto``) imported, validated and compiled.

    :param kind: the circuit class to make (:class:`gatekit.Circuit`, from the package).
    """
    onnx = require_onnx("gatekit import")
    name = "<model>" if isinstance(source, onnx.ModelProto) else os.fspath(source)
    gates = list(registry if registry is not None else default_registry())
    return kind.from_text(imported_text(source, gates), f"<imported from {name}>", registry)
