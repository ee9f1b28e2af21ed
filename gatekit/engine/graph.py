"""The circuit as a DAG: cycle check, topological order, reach; the networkx ``DiGraph`` on demand.

The order and the reach are computed on the circuit's own records (each
gate lists its inputs), without a graph object: a networkx ``DiGraph``
costs about 800 bytes a node, more than everything a compiled circuit keeps
of it, and running a circuit needs none. :attr:`CircuitGraph.graph` builds
the ``DiGraph`` the first time someone asks for it (the views, a user, a
cycle's message), with the same nodes, edges and attributes as before.

In that ``DiGraph``, nodes are the circuit's names in file order; each
carries ``kind`` (input, param or gate), ``location``, and for gates
``gate`` and ``attrs``. An edge ``u -> v`` means ``v`` reads ``u``. Number
constants are not nodes: they are part of the gate that uses them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet

import networkx as nx

from gatekit.engine.validate import ValidCircuit
from gatekit.errors import CycleError
from gatekit.format.parse import GateUse

__all__ = ["CircuitGraph", "build_graph", "cone_of", "dag_of"]


class CircuitGraph:
    """What the compiler needs of the DAG, and the DAG itself on first use."""

    __slots__ = ("_graph", "_valid", "order", "root_cone", "unused")

    def __init__(self, valid: ValidCircuit, order: list[str], unused: list[str], root_cone: AbstractSet[str]):
        self._valid = valid
        self._graph: nx.DiGraph[str] | None = None
        #: every node, topological (depth first, file order), deterministic
        self.order = order
        #: gates no output depends on, in file order
        self.unused = unused
        #: outputs[0] and every node it depends on (a set no one changes: not copied to a frozenset)
        self.root_cone = root_cone

    @property
    def graph(self) -> nx.DiGraph[str]:
        """The networkx DAG (built on first use, then kept)."""
        if self._graph is None:
            self._graph = dag_of(self._valid)
        return self._graph


def dag_of(valid: ValidCircuit) -> nx.DiGraph[str]:
    """The circuit's networkx ``DiGraph`` (see the module's docstring for its attributes)."""
    circuit = valid.definition
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(
        (leaf.name, {"kind": leaf.kind, "location": leaf.location}) for leaf in circuit.leaves.values()
    )
    graph.add_nodes_from(
        (
            bound.name,
            {"kind": "gate", "location": bound.location, "gate": bound.gate.name, "attrs": bound.attrs},
        )
        for bound in valid.gates.values()
    )
    graph.add_edges_from(
        (source, use.name)
        for use in circuit.gates.values()
        for source in use.inputs
        if isinstance(source, str)
    )
    return graph


def build_graph(valid: ValidCircuit) -> CircuitGraph:
    """Order a validated circuit and find what each output depends on.

    :raises CycleError: the wires form a cycle; the message names it
        (``a -> b -> a``) and points at the reference that closes it.
    """
    circuit = valid.definition
    order = _depth_first_order(circuit.leaves, circuit.gates)
    if order is None:
        raise _cycle_error(valid, dag_of(valid))
    root_cone = _cone(order, circuit.gates, {circuit.outputs[0]})
    needed = root_cone
    if any(output not in root_cone for output in circuit.outputs[1:]):
        needed = _cone(order, circuit.gates, set(circuit.outputs))
    if len(needed) == len(circuit.leaves) + len(circuit.gates):  # every node is needed
        unused = []
    else:
        unused = [name for name in circuit.gates if name not in needed]
    return CircuitGraph(valid, order, unused, root_cone)


_OPEN, _DONE = 1, 2


def _depth_first_order(leaves: Mapping[str, object], gates: Mapping[str, GateUse]) -> list[str] | None:
    """A topological order that keeps the file's order where it can; ``None`` if there is a cycle.

    The leaves in file order, then depth first from each gate in file order,
    every gate's inputs before the gate (the postorder of the reversed
    graph): the order a tape records when the expression is evaluated. A
    file already written in order comes out as written. Unlike a
    breadth-first order (all of a layer's products, then all of its sums),
    it keeps each gate next to the gates that read it, which makes a large
    circuit's run loop about twice as fast. It is the order networkx's
    ``dfs_postorder_nodes`` gives on the reversed ``DiGraph``; a test holds
    the two to each other.
    """
    order = list(leaves)
    state = dict.fromkeys(order, _DONE)
    for start, use in gates.items():
        if start in state:
            continue
        for source in use.inputs:  # a file written in order: every input done, the gate is next
            if type(source) is str and state.get(source) != _DONE:
                break
        else:
            state[start] = _DONE
            order.append(start)
            continue
        state[start] = _OPEN
        stack: list[tuple[str, Iterator[str | float]]] = [(start, iter(use.inputs))]
        while stack:
            name, inputs = stack[-1]
            for source in inputs:
                if type(source) is not str:  # a number constant
                    continue
                seen = state.get(source)
                if seen is None:
                    state[source] = _OPEN
                    stack.append((source, iter(gates[source].inputs)))
                    break
                if seen == _OPEN:  # on the path being walked: a cycle
                    return None
            else:
                stack.pop()
                state[name] = _DONE
                order.append(name)
    return order


def cone_of(valid: ValidCircuit, order: list[str], node: str) -> set[str]:
    """``node`` and every node it depends on, ``order`` being the circuit's (topological)."""
    return _cone(order, valid.definition.gates, {node})


def _cone(order: list[str], gates: Mapping[str, GateUse], outputs: set[str]) -> set[str]:
    """``outputs`` and every node they depend on: the order walked back, each needed gate's inputs added."""
    needed = outputs
    for name in reversed(order):
        if name in needed:
            use = gates.get(name)
            if use is not None:
                for source in use.inputs:
                    if type(source) is str:
                        needed.add(source)
    return needed


def _cycle_error(valid: ValidCircuit, graph: nx.DiGraph[str]) -> CycleError:
    circuit = valid.definition
    edges = nx.find_cycle(graph)
    names = [source for source, _ in edges]
    # Start the cycle at the node defined first in the file, so the message
    # does not depend on where the search happened to begin.
    rank = {name: i for i, name in enumerate(circuit.defined_at)}
    start = min(range(len(names)), key=lambda i: rank[names[i]])
    names = names[start:] + names[:start]
    closing_source, closing_gate = names[0], names[1 % len(names)]
    use = circuit.gates[closing_gate]
    location = use.input_locations[use.inputs.index(closing_source)]
    path = " -> ".join([*names, names[0]])
    return CycleError(f"the circuit has a cycle: {path}", location, names)
