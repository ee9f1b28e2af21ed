"""The builder a gate's ONNX lowering adds nodes to (:class:`GraphBuilder`), and the finished nodes.

It implements :class:`gatekit.plugin.lowering.OnnxBuilder`, recording nodes
as plain records; :meth:`GraphBuilder.protos` makes them ONNX ``NodeProto``
objects, in a topological order (Kahn's algorithm, ties in the order the
nodes were added), so that a constant made once and used again later, or a
module's call placed where its output was, still comes before every reader.

>>> b = GraphBuilder()
>>> b.shapes["x"] = (2,)
>>> y = b.node("Mul", ["x", b.constant(2.0)])
>>> [(n.op_type, n.inputs, n.outputs) for n in b.nodes]
[('Constant', [], ['const#1']), ('Mul', ['x', 'const#1'], ['#2'])]
>>> b.constant(2.0), b.constant_value("const#1")
('const#1', 2.0)
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["GraphBuilder", "Node"]


@dataclass(slots=True)
class Node:
    """One ONNX node as recorded: operator, input and output names, attributes, domain, metadata."""

    op_type: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    domain: str = ""
    #: the node's ``metadata_props`` (a gate's last node says which gate it ends)
    metadata: dict[str, str] = field(default_factory=dict)


class GraphBuilder:
    """Nodes, constants and known shapes of one ONNX graph or function body.

    ``prefix`` starts every name the builder makes (the exporter sets it to
    the gate being lowered, so a node's name says where it comes from);
    ``#`` then joins a number, and as no gatekit name holds ``#``, no made
    name is ever a node's of the circuit.
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        #: the shape of every name whose shape gatekit knows (``None``: a symbolic dimension)
        self.shapes: dict[str, tuple[int | None, ...]] = {}
        self.prefix = ""
        self._count = 0
        self._constants: dict[tuple[str, tuple[int, ...], bytes], str] = {}
        self._values: dict[str, np.ndarray] = {}

    def fresh(self, hint: str = "") -> str:
        """A new name: ``PREFIX#N`` or ``HINT#N``."""
        self._count += 1
        return f"{hint or self.prefix}#{self._count}"

    # -- the OnnxBuilder protocol ------------------------------------------------------

    def node(self, op_type: str, inputs: Sequence[str], **attrs: Any) -> str:
        """Add a node of the standard operator ``op_type``; return its (new) output's name."""
        output = self.fresh()
        self.nodes.append(Node(op_type, list(inputs), [output], dict(attrs)))
        return output

    def constant(self, value: float | Sequence[object]) -> str:
        """A float64 constant (a ``Constant`` node), made once per distinct value."""
        return self._constant(np.asarray(value, dtype=np.float64))

    def integers(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant, made once per distinct value."""
        return self._constant(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def shape(self, name: str) -> tuple[int | None, ...]:
        """The shape gatekit knows for ``name``.

        :raises KeyError: a name whose shape is not known (one a lowering made).
        """
        try:
            return self.shapes[name]
        except KeyError:
            raise KeyError(f"the shape of {name!r} is not known: only a gate's inputs, output and "
                           "upstream gradient have one") from None  # fmt: skip

    # -- what the exporter uses -------------------------------------------------------------

    def _constant(self, array: np.ndarray) -> str:
        key = (array.dtype.str, array.shape, array.tobytes())
        name = self._constants.get(key)
        if name is None:
            name = self._constants[key] = self.fresh("const")
            self.nodes.append(Node("Constant", [], [name], {"value": array}))
            self._values[name] = array
        return name

    def constant_value(self, name: str) -> float | None:
        """The number a constant made here holds, if ``name`` is a float64 constant of rank 0."""
        array = self._values.get(name)
        if array is None or array.shape != () or array.dtype != np.float64:
            return None
        return float(array)

    def add(self, node: Node) -> None:
        """Add a node made elsewhere (a module's call, an ``Identity`` naming a result)."""
        self.nodes.append(node)

    def rename(self, old: str, new: str, since: int) -> bool:
        """Give the value ``old``, made by one of the nodes from index ``since`` on, the name ``new``.

        Its readers among those nodes read ``new`` instead. False (nothing
        changed) if no node from ``since`` on makes ``old``.
        """
        made = [node for node in self.nodes[since:] if old in node.outputs]
        if not made or old in self._values:  # a constant stays what later uses of it find
            return False
        for node in self.nodes[since:]:
            node.inputs = [new if name == old else name for name in node.inputs]
            node.outputs = [new if name == old else name for name in node.outputs]
        if old in self.shapes:
            self.shapes[new] = self.shapes.pop(old)
        return True

    def protos(self, onnx: ModuleType, known: Sequence[str], outputs: Sequence[str]) -> list[Any]:
        """The nodes that ``outputs`` need, as ONNX ``NodeProto`` objects, each after those making its inputs.

        ``known`` are names given from outside (graph inputs, initializers,
        a function's inputs). A node nothing needs (the local gradient of a
        number constant, say) is left out.
        """
        return [_proto(onnx, node) for node in self._sorted(known, self._needed(outputs))]

    def _needed(self, outputs: Sequence[str]) -> list[Node]:
        """The nodes that ``outputs`` depend on, in the order they were added (a walk back from them)."""
        maker = {name: index for index, node in enumerate(self.nodes) for name in node.outputs}
        keep = [False] * len(self.nodes)
        stack = [maker[name] for name in outputs if name in maker]
        while stack:
            index = stack.pop()
            if keep[index]:
                continue
            keep[index] = True
            stack.extend(maker[name] for name in self.nodes[index].inputs if name in maker)
        return [node for node, kept in zip(self.nodes, keep, strict=True) if kept]

    def _sorted(self, known: Sequence[str], nodes: list[Node]) -> list[Node]:
        """``nodes`` in a topological order: Kahn's algorithm, ties in the order they were added."""
        maker = {name: index for index, node in enumerate(nodes) for name in node.outputs}
        waiting = [0] * len(nodes)
        readers: list[list[int]] = [[] for _ in nodes]
        given = set(known)
        for index, node in enumerate(nodes):
            for source in dict.fromkeys(node.inputs):
                if source and source not in given and source in maker:
                    waiting[index] += 1
                    readers[maker[source]].append(index)
        ready = [index for index, count in enumerate(waiting) if count == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            index = heapq.heappop(ready)
            order.append(nodes[index])
            for reader in readers[index]:
                waiting[reader] -= 1
                if waiting[reader] == 0:
                    heapq.heappush(ready, reader)
        if len(order) != len(nodes):  # pragma: no cover - a bug in a lowering or in gatekit
            raise AssertionError("the exported nodes form a cycle")
        return order


def _proto(onnx: ModuleType, node: Node) -> Any:
    attrs: Mapping[str, Any] = {
        key: onnx.numpy_helper.from_array(value) if isinstance(value, np.ndarray) else value
        for key, value in node.attrs.items()
    }
    # named after its output (unique too), so that a viewer (Netron) or a runtime's message says which node
    proto = onnx.helper.make_node(
        node.op_type, node.inputs, node.outputs, name=node.outputs[0], domain=node.domain or None, **attrs
    )
    for key, value in node.metadata.items():
        proto.metadata_props.add(key=key, value=value)
    return proto
