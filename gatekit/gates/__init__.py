"""The built-in gates: ordinary plugins, registered like any third-party one.

Each module is a plugin implementing ``gatekit_register_gates``
(:func:`gatekit.collect_gates`); :data:`gatekit.plugin.registry.default_plugins`
lists them in registration order, by name, and any of them can be blocked with
``-p no:NAME`` (for example ``-p no:gatekit.gates.activations``).

Their arithmetic is :mod:`gatekit.math`'s, which takes Python floats and
arrays alike. Many hooks first write out the plain case of Python floats
themselves (``if type(a) is float and a > 0.0: return math.log(a)``): a
scalar circuit runs one hook call a gate, and a call more into
:mod:`gatekit.math` would be a third of its time. Everything else (arrays,
and the edges, such as zeros, infinities and nan, that are not the plain
case) goes to :mod:`gatekit.math`; ``tests/test_gates.py`` requires both
paths to give the same numbers, special values included.
"""
