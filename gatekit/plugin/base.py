"""Building blocks for gate classes: :class:`SpecGate` and :func:`collect_gates`.

A gate is any object with the gate hooks (see :mod:`gatekit.plugin.hookspecs`).
Most gates are a class with a fixed spec, and these two pieces make such a
class short to write and its module short to register::

    from gatekit import GateSpec, SpecGate, collect_gates, hookimpl


    class Cube(SpecGate):
        spec = GateSpec("cube", 1, "a ** 3", symbol="x³")

        @hookimpl
        def gate_forward(self, inputs):
            (a,) = inputs
            return a * a * a

        @hookimpl
        def gate_local_grad(self, inputs, output):
            (a,) = inputs
            return (3.0 * a * a,)


    gatekit_register_gates = collect_gates(__name__)  # every SpecGate above, in order

The built-in gates are written exactly this way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import ClassVar

from gatekit.plugin.gatespec import GateSpec
from gatekit.plugin.hookspecs import hookimpl

__all__ = ["SpecGate", "collect_gates"]


class SpecGate:
    """A gate whose spec is the class attribute ``spec``: it answers ``gate_spec`` with it.

    Subclasses add ``gate_forward`` and ``gate_local_grad`` (or ``gate_vjp``),
    each marked with :data:`gatekit.hookimpl`.
    """

    spec: ClassVar[GateSpec]

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return self.spec

    def __repr__(self) -> str:
        return f"<gate {self.spec.name}>"


def collect_gates(module: str) -> Callable[[], list[SpecGate]]:
    """A ``gatekit_register_gates`` hook returning one of each gate class defined in ``module``.

    The classes are the :class:`SpecGate` subclasses defined in the module
    (not imported into it) that have a ``spec``, in the order the module
    defines them; they are looked up when the hook is called, so a module
    assigns the result to ``gatekit_register_gates`` on its last line.

    >>> from gatekit.plugin import base
    >>> class Double(SpecGate):
    ...     spec = GateSpec("double", 1, "2 * a")
    >>> Double.__module__ = "gatekit.plugin.base"  # as if defined there
    >>> base.Double = Double
    >>> collect_gates("gatekit.plugin.base")()
    [<gate double>]
    >>> del base.Double
    """

    @hookimpl
    def gatekit_register_gates() -> list[SpecGate]:
        namespace = vars(sys.modules[module])
        return [
            kind()
            for kind in namespace.values()
            if isinstance(kind, type)
            and issubclass(kind, SpecGate)
            and kind.__module__ == module
            and "spec" in vars(kind)
        ]

    gatekit_register_gates.__doc__ = f"One of each gate class of {module}, in the order it defines them."
    return gatekit_register_gates
