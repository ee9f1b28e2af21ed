"""The built-in gates: ordinary plugins, registered like any third-party one.

Each module is a plugin implementing ``gatekit_register_gates``
(:func:`gatekit.collect_gates`); :data:`gatekit.plugin.registry.default_plugins`
lists them in registration order, by name, and any of them can be blocked with
``-p no:NAME`` (for example ``-p no:gatekit.gates.activations``).
"""
