"""The built-in gates: ordinary plugins, registered like any third-party one.

``default_plugins`` lists their modules in registration order; each module
implements ``gatekit_register_gates``. Any of them can be blocked with
``-p no:NAME`` (for example ``-p no:gatekit.gates.activations``).
"""

from __future__ import annotations

default_plugins: tuple[str, ...] = (
    "gatekit.gates.arithmetic",
    "gatekit.gates.elementary",
    "gatekit.gates.activations",
    "gatekit.gates.reductions",
)
