"""From a circuit definition to numbers: validation, the DAG, the plan, the run loops.

:mod:`~gatekit.engine.validate` resolves every gate against the installed
ones into a :class:`~gatekit.engine.validate.ValidCircuit`;
:mod:`~gatekit.engine.graph` builds the networkx DAG and its order;
:mod:`~gatekit.engine.compiler` lays out a flat :class:`~gatekit.engine.compiler.Plan`;
:mod:`~gatekit.engine.scheduler` runs it forward and backward (the one
place the chain rule is applied); :mod:`~gatekit.engine.guards` checks what
plugins return; :mod:`~gatekit.engine.circuit` is the object users run.
"""
