"""Seeing a run: its steps recorded (trace), written out (explain), drawn (draw).

:mod:`~gatekit.views.trace` records a run's every step with the engine's
observer; :mod:`~gatekit.views.explain` writes the steps as text and JSON;
:mod:`~gatekit.views.draw` draws the circuit with Graphviz;
:mod:`~gatekit.views.text` and :mod:`~gatekit.views.report` format the
numbers and tables the command line prints.
"""
