"""The graph file format: YAML text to a flat, immutable circuit definition.

:mod:`~gatekit.format.yamlsource` reads YAML safely, keeping every node's
place; :mod:`~gatekit.format.parse` checks the form of a circuit file (keys,
names, values) into a :class:`~gatekit.format.parse.CircuitDef`;
:mod:`~gatekit.format.modules` brings in imported module libraries and
expands module uses into plain gates. Nothing here knows which gates are
installed: that is the engine's first step.
"""
