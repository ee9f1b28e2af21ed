"""A small base class for gates that keep their spec in a class attribute."""

from __future__ import annotations

from typing import ClassVar

from gatekit.gatespec import GateSpec
from gatekit.hookspecs import hookimpl


class SpecGate:
    """Answers ``gate_spec`` with the class attribute ``spec``.

    Subclasses add ``gate_forward`` and ``gate_local_grad`` (or ``gate_vjp``),
    each marked with :data:`gatekit.hookimpl`.
    """

    spec: ClassVar[GateSpec]

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return self.spec

    def __repr__(self) -> str:
        return f"<gate {self.spec.name}>"
