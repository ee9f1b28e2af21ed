"""An ONNX model as a circuit: graph inputs, initializers and nodes become inputs, params and gates.

:func:`read_model` reads and checks a model file; :func:`import_model` turns
the model into an :class:`Imported` circuit (what :mod:`gatekit.onnx.writer`
writes as a circuit file), or raises one :class:`~gatekit.UsageError` that
lists every node it cannot import, with the reason.

What becomes what:

- a graph input becomes an input holding zeros of its declared shape (a
  symbolic dimension taken as 1; the file's ``doc`` says so);
- an initializer that a gate reads becomes a param (trainable), unless it
  is a single number (0-d), which becomes a number in the gates' ``in:``
  lists: exporters write constants such as ``Pow``'s exponent as
  initializers, and a constant must not be trained (but in a model gatekit
  exported, which writes its constants as ``Constant`` nodes, every
  initializer is a param, numbers too); a boolean one becomes
  an input (a mask: data, never trained); one that only gives a shape or
  axes becomes that gate's attribute;
- a ``Constant`` becomes a number in the gate's ``in:`` list (a scalar), an
  input (a tensor: data, never trained) or an attribute (a shape);
- every other node becomes one gate, or a few (see :mod:`gatekit.onnx.operators`);
- a boolean tensor (a graph input, an initializer, a Constant, a node's
  result) is a mask of 1.0 and 0.0, where an operator that takes booleans
  reads it (a comparison's result into ``Where``, ``And``, ``Cast``...);
- a model with local functions (an exporter's modules) has them inlined
  first (``onnx.inliner.inline_local_functions``), so its nodes are those
  of the functions' bodies;
- in a model ``gatekit export`` wrote, the nodes of one gate (its last
  node says which, see :mod:`gatekit.onnx.export`) become that gate again,
  where it is one of ``gates`` and its nodes are as the export wrote them
  (named after the gate's output, reading only the gate's inputs, constants
  and one another, read by nothing else): so the circuit computes its
  gradient with the gate's own rule, not through the nodes of its formula;
- the graph outputs become the outputs.

Names are kept where they are valid gatekit names (:mod:`gatekit.names`):
a gate takes the name of the graph output it computes, else its node's
name, else its output's; a name that is not valid is made into one
(``/fc1/Gemm`` into ``fc1_Gemm``), with ``_2``, ``_3``... where two meet.
The graph is a topologically sorted list of nodes, read in one loop.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gatekit.errors import Location, UsageError
from gatekit.limits import read_bounded
from gatekit.names import MAX_LENGTH, is_name
from gatekit.onnx.extra import require_onnx
from gatekit.onnx.operators import OPERATORS, Operator, Ref, Unsupported

if TYPE_CHECKING:
    import onnx

__all__ = ["GateLine", "Imported", "check_model", "import_model", "parse_model", "read_model"]

#: ONNX element types gatekit reads (as float64): FLOAT, FLOAT16, DOUBLE
FLOAT_TYPES = {1: "float", 10: "float16", 11: "double"}
#: ONNX's BOOL: read as a mask of 1.0 and 0.0 where an operator takes booleans
BOOL = 9
#: the end of the message for a tensor of another element type
FLOATS_ONLY = "gatekit computes in float64 (from float, float16, double)"
DEFAULT_DOMAINS = ("", "ai.onnx")
#: the ``producer_name`` of the models ``gatekit export`` writes
GATEKIT_PRODUCER = "gatekit"
#: the ``metadata_props`` keys of a gate's last node in a model gatekit exported (as export.py writes them)
GATE_KEY, INPUTS_KEY, ATTRS_KEY = "gatekit.gate", "gatekit.inputs", "gatekit.attrs"
#: what a value that is not a tensor is, by the name of its type's field
_KINDS = {
    None: "a value of no type",
    "sequence_type": "a sequence",
    "optional_type": "an optional",
    "map_type": "a map",
    "sparse_tensor_type": "a sparse tensor",
}


@dataclass(frozen=True, slots=True)
class GateLine:
    """One gate of the imported circuit, and the node it comes from (``node 3 'fc1' (Gemm)``)."""

    name: str
    gate: str
    inputs: tuple[Ref, ...]
    attrs: Mapping[str, Any]
    node: str


@dataclass(slots=True)
class Imported:
    """A model as a circuit: what the circuit file holds, and how the model's names map to it."""

    name: str | None
    doc: str
    inputs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    gates: list[GateLine] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    #: each graph input's name in the circuit, by its name in the model
    input_names: dict[str, str] = field(default_factory=dict)
    #: each graph output's name in the circuit, by its name in the model
    output_names: dict[str, str] = field(default_factory=dict)


def read_model(path: str | os.PathLike[str]) -> onnx.ModelProto:
    """The ONNX model in the file at ``path``, read within the file-size limit and checked.

    :raises UsageError: the file cannot be read, is larger than
        ``GATEKIT_MAX_FILE_BYTES``, is not an ONNX model, or onnx is not
        installed (the message names the extra).
    """
    onnx = require_onnx("gatekit import")
    file = os.fspath(path)
    data = read_bounded(file)
    return parse_model(onnx, data, file)


def parse_model(onnx: Any, data: bytes, file: str) -> onnx.ModelProto:
    """The model serialized in ``data``, checked; ``file`` names it in messages."""
    place = Location(file)
    try:
        model = onnx.ModelProto.FromString(data)
    except Exception as exc:  # protobuf's DecodeError, and whatever a damaged file provokes
        raise UsageError(f"not an ONNX model: cannot parse it ({type(exc).__name__}: {exc})", place) from None
    return check_model(onnx, model, file)


def check_model(onnx: Any, model: onnx.ModelProto, file: str) -> onnx.ModelProto:
    """``model``, if it has a graph and ONNX's checker finds it valid."""
    place = Location(file)
    if not model.HasField("graph"):
        raise UsageError("not an ONNX model: it holds no graph", place)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"not a valid ONNX model: {first}", place) from None
    return model


@dataclass(frozen=True, slots=True)
class _Tensor:
    """What the importer knows of a tensor of the graph, by its name."""

    source: str  # "graph input 'x'", "initializer 'W'", "node 3"
    shape: tuple[int | None, ...] | None = None
    value: np.ndarray | None = None  # known at import: initializers and Constants
    problem: str | None = None  # why a gate cannot read it
    boolean: bool = False  # a mask of 1.0 and 0.0: only operators that take booleans read it


def _gate_of(node: Any) -> tuple[str, list[str], dict[str, Any]] | None:
    """The gate, inputs and attributes a gatekit model's node says it ends, if it says so readably."""
    props = {prop.key: prop.value for prop in node.metadata_props}
    if GATE_KEY not in props:
        return None
    try:
        inputs = json.loads(props.get(INPUTS_KEY, ""))
        attrs = json.loads(props.get(ATTRS_KEY, ""))
    except ValueError:
        return None
    if not isinstance(inputs, list) or not all(isinstance(name, str) for name in inputs):
        return None
    if not isinstance(attrs, dict) or not is_name(props[GATE_KEY]):
        return None
    return props[GATE_KEY], inputs, attrs


class _Names:
    """Unique valid names, handed out in a fixed order."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, *candidates: str, fallback: str = "node") -> str:
        """The first candidate that is a valid name not taken, else one made from the first given.

        ``fallback`` is the name made when no candidate is given (all empty).
        """
        for candidate in candidates:
            if is_name(candidate) and candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
        base = _valid(next((c for c in candidates if c), fallback))
        name, count = base, 2
        while name in self.taken:
            name = f"{base}_{count}"
            count += 1
        self.taken.add(name)
        return name


def _valid(text: str) -> str:
    """``text`` made into a valid name: runs of other characters as ``_``, a letter first.

    >>> _valid("/fc1/Gemm_output_0"), _valid("0"), _valid("x:0")
    ('fc1_Gemm_output_0', 'n_0', 'x_0')
    """
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    if not name or name[0].isdigit():
        name = f"n_{name}"
    return name[: MAX_LENGTH - 12]  # room for a _2 suffix and an intermediate gate's part


def _shape(value_type: Any) -> tuple[int | None, ...] | None:
    """A tensor type's shape, None for a size not known, or None when the rank is not known."""
    tensor = value_type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def _type_problem(onnx: Any, value_type: Any) -> str | None:
    """Why a gate cannot read a tensor of this type (None: it can)."""
    kind = value_type.WhichOneof("value")
    if kind != "tensor_type":
        return f"is not a tensor (it is {_KINDS.get(kind, f'a {kind}')})"
    elem = value_type.tensor_type.elem_type
    if elem not in FLOAT_TYPES and elem != BOOL:
        return f"has element type {_type_name(onnx, elem)}; {FLOATS_ONLY}"
    return None


def _type_name(onnx: Any, elem: int) -> str:
    """An element type's name as ONNX spells it, in lower case (``int64``, ``float16``)."""
    try:
        return str(onnx.TensorProto.DataType.Name(elem)).lower()
    except ValueError:
        return f"number {elem}"


def _array_problem(array: np.ndarray) -> str | None:
    """Why a gate cannot read this value (None: it can)."""
    if array.dtype.kind == "b":
        return None if 0 not in array.shape else f"is empty (shape {list(array.shape)})"
    if array.dtype.kind != "f" or array.dtype.itemsize not in (2, 4, 8):
        return f"has element type {array.dtype}; {FLOATS_ONLY}"
    if 0 in array.shape:
        return f"is empty (shape {list(array.shape)})"
    return None


def _value(array: np.ndarray) -> Any:
    """An array as a circuit value: a float for a scalar, else float64."""
    values = np.asarray(array, dtype=np.float64)
    return float(values) if values.ndim == 0 else values


def _describe(index: int, node: Any) -> str:
    """A node as messages and comments name it: ``node 3 'fc1' (Gemm)``."""
    name = f" '{node.name}'" if node.name else ""
    op = node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"
    return f"node {index}{name} ({op})"


class _Node:
    """One node being imported: the :class:`~gatekit.onnx.operators.NodeContext` its operator sees."""

    def __init__(
        self, importer: _Importer, index: int, node: Any, operator: Operator, attrs: Mapping[str, Any]
    ) -> None:
        self.importer = importer
        self.operator = operator
        self.node = node
        self.index = index
        self.attrs = attrs
        self.inputs = list(node.input)
        while self.inputs and not self.inputs[-1]:
            self.inputs.pop()
        self.name = ""  # the result's name, chosen when the first gate is added
        self.lines: list[GateLine] = []

    @property
    def opset(self) -> int:
        return self.importer.opset

    def count(self) -> int:
        return len(self.inputs)

    def given(self, position: int) -> bool:
        return position < len(self.inputs) and bool(self.inputs[position])

    def _tensor(self, position: int) -> tuple[str, _Tensor]:
        if not self.given(position):
            raise Unsupported(f"its input {position} is missing")
        name = self.inputs[position]
        return name, self.importer.tensors.get(name, _Tensor("a tensor nothing makes"))

    def data(self, position: int) -> Ref:
        name, tensor = self._tensor(position)
        if tensor.problem is not None:
            raise Unsupported(f"input '{name}' {tensor.problem}")
        if tensor.boolean and position not in self.operator.booleans:
            raise Unsupported(f"input '{name}' is a boolean tensor, which {self.node.op_type} does not take")
        return self.importer.refs.get(name, name)  # a tensor of a node that failed: never written

    def boolean(self, position: int) -> bool:
        return self._tensor(position)[1].boolean

    def type_name(self, elem: int) -> str:
        return _type_name(self.importer.onnx, elem)

    def static(self, position: int) -> np.ndarray:
        name, tensor = self._tensor(position)
        if tensor.value is None:
            raise Unsupported(
                f"its input '{name}' must be known at import (an initializer or a Constant), "
                f"not {tensor.source}"
            )
        return tensor.value

    def shape(self, position: int) -> tuple[int | None, ...] | None:
        return self._tensor(position)[1].shape

    def rank(self, position: int) -> int | None:
        shape = self.shape(position)
        return None if shape is None else len(shape)

    def attr(self, name: str, default: Any) -> Any:
        return self.attrs.get(name, default)

    def _name(self) -> str:
        if not self.name:
            output = self.node.output[0]
            graph_output = [output] if output in self.importer.graph_outputs else []
            fallback = f"{self.node.op_type.lower()}_{self.index}"
            self.name = self.importer.names.take(*graph_output, self.node.name, output, fallback=fallback)
        return self.name

    def gate(self, gate: str, inputs: Sequence[Ref], attrs: Mapping[str, Any] | None, part: str) -> str:
        name = self.importer.names.take(f"{self._name()}_{part}")
        self._add(name, gate, inputs, attrs)
        return name

    def result(self, gate: str, inputs: Sequence[Ref], attrs: Mapping[str, Any] | None = None) -> None:
        self._add(self._name(), gate, inputs, attrs)

    def _add(self, name: str, gate: str, inputs: Sequence[Ref], attrs: Mapping[str, Any] | None) -> None:
        node = _describe(self.index, self.node)
        self.lines.append(GateLine(name, gate, tuple(inputs), dict(attrs or {}), node))


class _Importer:
    """The state of one import: the tensors known so far, the names taken, the problems found."""

    def __init__(self, onnx: Any, model: Any, file: str) -> None:
        self.onnx = onnx
        self.file = file
        self.graph = model.graph
        versions = [o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS]
        self.opset = max(versions, default=1)
        self.names = _Names()
        self.tensors: dict[str, _Tensor] = {}
        self.refs: dict[str, Ref] = {}
        self.problems: list[str] = []
        self.graph_outputs = [o.name for o in self.graph.output]
        self.symbolic: list[str] = []
        self.masks: list[str] = []  # the inputs made of boolean initializers
        self.shapes: dict[str, tuple[int | None, ...] | None] = {}
        self.booleans: set[str] = set()  # the tensors shape inference finds boolean
        self._infer(model)
        self.data_uses = self._data_uses()
        self.producer = f", made by {model.producer_name}" if model.producer_name else ""
        #: gatekit's export writes constants as Constant nodes: its initializers are all params
        self.all_params = model.producer_name == GATEKIT_PRODUCER
        #: the gates :meth:`gates` found: the node each ends at, and the nodes before it
        self.rebuilt: dict[int, tuple[str, list[str], dict[str, Any]]] = {}
        self.inside: set[int] = set()
        self.result = Imported(self.graph.name if is_name(self.graph.name) else None, "")

    def _infer(self, model: Any) -> None:
        """Each tensor's shape and whether it is boolean, as ONNX's shape inference finds them.

        None are known where inference fails.
        """
        try:
            inferred = self.onnx.shape_inference.infer_shapes(model)
        except Exception:  # shape inference is a help: a model it fails on may still import
            inferred = model
        graph = inferred.graph
        # what inference found wins over what the graph declares (a graph output's shape may be loose)
        for info in [*graph.output, *graph.input, *graph.value_info]:
            self.shapes[info.name] = _shape(info.type)
            if info.type.tensor_type.elem_type == BOOL:
                self.booleans.add(info.name)

    def _data_uses(self) -> set[str]:
        """The tensors some gate reads as data (not as a shape or axes), and the graph outputs."""
        uses = set(self.graph_outputs)
        for node in self.graph.node:
            operator = OPERATORS.get(node.op_type) if node.domain in DEFAULT_DOMAINS else None
            static = operator.static if operator is not None else ()
            uses.update(name for position, name in enumerate(node.input) if name and position not in static)
        return uses

    def leaves(self) -> None:
        """Graph inputs to inputs, initializers that gates read to params."""
        onnx = self.onnx
        initializers = {init.name: init for init in self.graph.initializer}
        for info in self.graph.input:
            if info.name in initializers:  # an old model lists its initializers as inputs too
                continue
            source = f"the graph input '{info.name}'"
            problem = _type_problem(onnx, info.type)
            shape = _shape(info.type) if problem is None else None
            if problem is None and shape is not None and 0 in shape:
                problem = f"is empty (shape {list(shape)})"
            boolean = info.type.tensor_type.elem_type == BOOL
            self.tensors[info.name] = _Tensor(source, shape, problem=problem, boolean=boolean)
            if problem is not None:
                continue
            dims = shape or ()
            for d in info.type.tensor_type.shape.dim:
                if not d.HasField("dim_value"):
                    self.symbolic.append(f"{info.name}: {d.dim_param or '?'}")
            name = self.names.take(info.name)
            value = np.zeros(tuple(1 if size is None else size for size in dims))
            self.result.inputs[name] = _value(value)
            self.result.input_names[info.name] = name
            self.refs[info.name] = name
        for init in self.graph.initializer:
            source = f"the initializer '{init.name}'"
            if init.data_location == onnx.TensorProto.EXTERNAL:
                problem = "keeps its data in another file (external data); not supported"
                self.tensors[init.name] = _Tensor(source, tuple(init.dims), problem=problem)
                continue
            array = onnx.numpy_helper.to_array(init)
            boolean = array.dtype.kind == "b"
            self.tensors[init.name] = _Tensor(source, array.shape, array, _array_problem(array), boolean)
            if init.name in self.data_uses and self.tensors[init.name].problem is None:
                if array.ndim == 0 and init.name not in self.graph_outputs and not self.all_params:
                    # a number (Pow's exponent 2, a scale): exporters write constants as
                    # initializers too, and a constant must not be trained
                    self.refs[init.name] = float(array)
                    continue
                name = self.names.take(init.name)
                if boolean:  # a mask is data: never trained
                    self.result.inputs[name] = _value(array)
                    self.masks.append(name)
                else:
                    self.result.params[name] = _value(array)
                self.refs[init.name] = name

    def constant(self, index: int, node: Any, attrs: Mapping[str, Any]) -> None:
        """A Constant node: a value known at import, and where a gate reads it, a number or an input."""
        onnx = self.onnx
        output = node.output[0]
        source = f"the Constant of node {index}"
        if len(attrs) != 1 or next(iter(attrs)) not in ("value", "value_float", "value_floats"):
            given = ", ".join(attrs) or "no value"
            if next(iter(attrs), "") in ("value_int", "value_ints"):
                array = np.asarray(next(iter(attrs.values())), dtype=np.int64)
                problem = "is an integer Constant; gatekit computes in float64"
                self.tensors[output] = _Tensor(source, array.shape, array, problem)
                return
            raise Unsupported(f"attribute {given} not supported (value, value_float, value_floats)")
        (key, given_value) = next(iter(attrs.items()))
        if key == "value":
            array = onnx.numpy_helper.to_array(given_value)
        else:
            array = np.asarray(given_value, dtype=np.float32)
        why = _array_problem(array)
        self.tensors[output] = _Tensor(source, array.shape, array, why, array.dtype.kind == "b")
        if output not in self.data_uses or why is not None:
            return
        if array.ndim == 0 and output not in self.graph_outputs:
            self.refs[output] = float(array)  # a number in the gates' in: lists
            return
        graph_output = [output] if output in self.graph_outputs else []
        name = self.names.take(*graph_output, node.name, output, fallback=f"constant_{index}")
        self.result.inputs[name] = _value(array)
        self.refs[output] = name

    def gates(self, known: Collection[str]) -> None:
        """Find the nodes of each gate of a model gatekit exported, for :meth:`nodes` to make that gate again.

        Only gates in ``known`` (installed), and only where the nodes are as
        the export wrote them; any other node is imported as it is.
        """
        if not self.all_params:
            return
        nodes = list(self.graph.node)
        makers = {name: index for index, node in enumerate(nodes) for name in node.output if name}
        constants = {name for node in nodes if node.op_type == "Constant" for name in node.output}
        given = {*(info.name for info in self.graph.input), *(init.name for init in self.graph.initializer)}
        outputs = set(self.graph_outputs)
        readers: dict[str, set[int]] = {}
        parts: dict[str, list[int]] = {}  # the nodes named OUTPUT#N, by OUTPUT: a gate's other nodes
        for index, node in enumerate(nodes):
            for name in node.input:
                readers.setdefault(name, set()).add(index)
            if "#" in node.name:
                parts.setdefault(node.name.rsplit("#", 1)[0], []).append(index)
        for index, node in enumerate(nodes):
            found = _gate_of(node)
            if found is None or found[0] not in known or len(node.output) != 1:
                continue
            gate_inputs = found[1]
            inside = {*parts.get(node.output[0], ()), index}
            inner = {name for i in inside for name in nodes[i].output} - {node.output[0]}
            read = {name for i in inside for name in nodes[i].input if name}
            made_before = all(name in given or makers.get(name, index) < index for name in gate_inputs)
            sealed = read <= inner | set(gate_inputs) | constants  # its inputs, constants, its own values
            private = not inner & outputs and all(readers.get(name, set()) <= inside for name in inner)
            if made_before and sealed and private:
                self.rebuilt[index] = found
                self.inside |= inside - {index}

    def nodes(self) -> None:
        """Every node, in the graph's (topological) order."""
        helper = self.onnx.helper
        for index, node in enumerate(self.graph.node):
            operator = OPERATORS.get(node.op_type) if node.domain in DEFAULT_DOMAINS else None
            for output in node.output:
                if output:
                    boolean = output in self.booleans
                    self.tensors[output] = _Tensor(f"node {index}", self.shapes.get(output), boolean=boolean)
            if index in self.inside:
                continue  # a node of a gate made again below, at its last node
            if index in self.rebuilt:
                self._gate(index, node, *self.rebuilt[index])
                continue
            try:
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                self._node(index, node, operator, attrs)
            except Unsupported as exc:
                self.problems.append(f"{_describe(index, node)}: {exc}")

    def _gate(self, index: int, node: Any, gate: str, inputs: list[str], attrs: dict[str, Any]) -> None:
        """The gate that the nodes ending at ``node`` compute, as the export said."""
        refs = [self.refs.get(name, name) for name in inputs]
        name = self.names.take(node.output[0], fallback=f"{gate}_{index}")
        where = f"{_describe(index, node)}, gatekit's {gate}"
        self.result.gates.append(GateLine(name, gate, tuple(refs), attrs, where))
        self.refs[node.output[0]] = name

    def _node(self, index: int, node: Any, operator: Operator | None, attrs: Mapping[str, Any]) -> None:
        if operator is None:
            domain = f" (domain '{node.domain}')" if node.domain not in DEFAULT_DOMAINS else ""
            raise Unsupported(f"operator not supported{domain}")
        unknown = [name for name in attrs if name not in operator.attrs]
        if unknown:
            raise Unsupported(f"attribute {', '.join(unknown)} not supported")
        if node.op_type == "Constant":
            self.constant(index, node, attrs)
            return
        context = _Node(self, index, node, operator, attrs)
        operator.convert(context)
        self.result.gates += context.lines
        self.refs[node.output[0]] = context.name

    def outputs(self) -> None:
        """The graph outputs, as the circuit's outputs."""
        for output in self.graph_outputs:
            tensor = self.tensors.get(output, _Tensor("a tensor nothing makes"))
            if tensor.problem is not None:
                self.problems.append(f"graph output '{output}': {tensor.problem}")
                continue
            ref = self.refs.get(output)
            if isinstance(ref, str):
                self.result.outputs.append(ref)
                self.result.output_names[output] = ref

    def doc(self, model: Any) -> str:
        """The circuit's ``doc``: where it came from, and what its inputs hold."""
        parts = [
            f"Imported from the ONNX model {os.path.basename(self.file)} (opset {self.opset}{self.producer})."
        ]
        if self.result.input_names:
            zeros = "Its inputs hold zeros of the model's input shapes"
            if self.symbolic:
                zeros += f", each symbolic dimension taken as 1 ({', '.join(self.symbolic)})"
            parts.append(zeros + ": give data with --inputs or --set.")
        made = {*self.result.input_names.values(), *self.masks}
        constants = [name for name in self.result.inputs if name not in made]
        if constants:
            parts.append(
                f"Inputs {', '.join(constants)} are the model's Constant tensors (data, never trained)."
            )
        if self.masks:
            parts.append(
                f"Inputs {', '.join(self.masks)} are the model's boolean initializers (masks of 1.0 and 0.0: "
                "data, never trained)."
            )
        if model.graph.doc_string.strip():
            parts.append(" ".join(model.graph.doc_string.split()))
        return " ".join(parts)


def import_model(model: onnx.ModelProto, file: str = "<model>", gates: Collection[str] = ()) -> Imported:
    """The circuit of ``model``: its inputs, params, gates and outputs, and the model's names of them.

    :param file: the model's file, for messages and the circuit's doc.
    :param gates: the installed gates: in a model gatekit exported, the
        nodes of each of these become that gate again.
    :raises UsageError: some node has an operator, attribute value or
        element type gatekit cannot import; one message lists every such node.
    """
    onnx = require_onnx("gatekit import")
    if model.functions:  # an exporter's modules: the nodes of their bodies, where they are called
        from onnx import inliner  # noqa: PLC0415 - part of the optional onnx

        model = inliner.inline_local_functions(model)
    importer = _Importer(onnx, model, file)
    importer.leaves()
    importer.gates(gates)
    importer.nodes()
    importer.outputs()
    problems = importer.problems
    if problems:
        nodes = all(problem.startswith("node ") for problem in problems)
        count = f"{len(problems)} node{'s' if len(problems) != 1 else ''}" if nodes else "the model"
        raise UsageError(f"cannot import {count}: {'; '.join(problems)}", Location(file))
    if not importer.result.outputs:
        raise UsageError("cannot import the model: it has no output", Location(file))
    importer.result.doc = importer.doc(model)
    return importer.result
