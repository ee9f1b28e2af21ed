"""The plugin contract and its registry: hook specs, gate specs, the plugin manager.

:mod:`~gatekit.plugin.hookspecs` is the contract every gate plugin answers;
:mod:`~gatekit.plugin.gatespec` what a gate declares about itself;
:mod:`~gatekit.plugin.base` the building blocks for gate classes;
:mod:`~gatekit.plugin.lowering` what a gate's ONNX lowering is given; and
:mod:`~gatekit.plugin.registry` finds the plugins (built-ins, entry points,
``-p``) and resolves each gate's hooks once.
"""
