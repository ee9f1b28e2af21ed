"""ONNX's own operator test cases through ``gatekit import``: each case's outcome, and the README's table.

ONNX ships a test case for each form of each operator (a model of one node,
or a function expanded into a few, with inputs and expected outputs):
``onnx.backend.test.loader.load_model_tests(kind="node")``. A case is
*ours* when every node's operator is one gatekit imports. Each is then

- **passed**: it imports, its outputs equal the expected ones at the case's
  tolerance, and gatekit's gradient check passes on the imported circuit;
- **skipped**: the import refuses it, with a reason (an element type, a form
  of the operator gatekit has no gate for);
- **failed**: anything else (a wrong number, a gradient that disagrees).

gatekit needs a shape or a reduction's axes when it imports the model; a
case that feeds them as a graph input is run with that input folded into an
initializer holding the case's value (what an exporter writes).

``python tests/onnx_conformance.py`` prints the table the README shows.
"""

from __future__ import annotations

import functools
import re
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import gatekit
from gatekit.errors import UsageError
from gatekit.onnx.importer import DEFAULT_DOMAINS, import_model
from gatekit.onnx.operators import OPERATORS
from gatekit.onnx.writer import circuit_text
from gatekit.testing import check_circuit

#: The README's table sits between these two lines.
BEGIN = "<!-- onnx conformance: begin (tests/onnx_conformance.py writes this table) -->"
END = "<!-- onnx conformance: end -->"

#: A skip's reason, from the import's message, as the README's table says it: (pattern, reason,
#: detail), the first match wins; the table lists each reason once with its details.
REASONS = (
    (r"has element type (u?int\d+)", "integer inputs", r"\1"),
    (r"has element type (\w+)", "inputs of another type", r"\1"),
    (r"is not a tensor \(it is an? (\w+)\)", "inputs that are not tensors", r"\1"),
    (r"empty", "empty tensors", ""),
    (r"attribute to=(\w+) not supported", "casts to other types", r"\1"),
)


@functools.cache
def cases() -> tuple[Any, ...]:
    """ONNX's node test cases whose every operator gatekit imports, by name."""
    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cases' own NumPy overflow warnings, making their data
        every = load_model_tests(kind="node")
    ours = [
        case for case in every if case.model.graph.node and all(_imported(n) for n in case.model.graph.node)
    ]
    return tuple(sorted(ours, key=lambda case: case.name))


def _imported(node: Any) -> bool:
    return node.domain in DEFAULT_DOMAINS and node.op_type in OPERATORS


def operator_of(case: Any) -> str:
    """The operator a case tests: its one node's, or "several" for a function expanded into nodes."""
    ops = sorted({node.op_type for node in case.model.graph.node})
    return ops[0] if len(ops) == 1 else "several"


def folded(model: Any, inputs: Sequence[np.ndarray]) -> tuple[Any, list[np.ndarray]]:
    """The model with each graph input that only gives a shape or axes made an initializer of its value."""
    import onnx

    static = set()
    data = set()
    for node in model.graph.node:
        operator = OPERATORS[node.op_type]
        for position, name in enumerate(node.input):
            (static if position in operator.static else data).add(name)
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    kept_inputs, kept_values = [], []
    for info, value in zip(list(graph.input), inputs, strict=True):
        if info.name in static and info.name not in data:
            graph.initializer.append(onnx.numpy_helper.from_array(np.asarray(value), info.name))
        else:
            kept_inputs.append(info)
            kept_values.append(value)
    del graph.input[:]
    graph.input.extend(kept_inputs)
    return model, kept_values


def _array(value: Any) -> Any:
    """A case's data: an array, or a ``TensorProto`` (some cases store theirs so) as its array."""
    import onnx

    return onnx.numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else value


@dataclass(frozen=True)
class Outcome:
    """What became of one case: ``passed``, ``skipped`` (with why) or ``failed`` (with what)."""

    status: str
    why: str = ""


def short_reason(message: str) -> tuple[str, str]:
    """A skip's reason as the README says it, and its detail (an element type; may be empty)."""
    for pattern, reason, detail in REASONS:
        found = re.search(pattern, message)
        if found:
            return reason, found.expand(detail)
    return message, ""


@functools.cache
def outcome(name: str) -> Outcome:
    """Import the case ``name``, run it on each of its data sets, check its outputs and gradients."""
    (case,) = [c for c in cases() if c.name == name]
    first_inputs = case.data_sets[0][0]
    model, _ = folded(case.model, first_inputs)
    try:
        imported = import_model(model, f"{case.name}.onnx")
    except UsageError as exc:
        return Outcome("skipped", str(exc))
    circuit = gatekit.loads(circuit_text(imported), f"{case.name}.yaml")
    for inputs, expected in case.data_sets:
        _, values = folded(case.model, inputs)
        kept = [info.name for info in model.graph.input]
        feed = {
            imported.input_names[n]: np.asarray(_array(v), dtype=np.float64)
            for n, v in zip(kept, values, strict=True)
            if n in imported.input_names  # not an input no node reads that gatekit cannot hold (empty)
        }
        result = circuit.run(feed)
        for info, expected_value in zip(model.graph.output, expected, strict=True):
            want = _array(expected_value)
            got = result.outputs[imported.output_names[info.name]]
            if np.shape(got) != np.shape(want):
                return Outcome(
                    "failed", f"output {info.name}: shape {np.shape(got)}, expected {np.shape(want)}"
                )
            close = np.allclose(got, np.asarray(want, dtype=np.float64), case.rtol, case.atol, equal_nan=True)
            if not close:  # nan equal to nan, as ONNX's own runner (assert_allclose) has it
                return Outcome("failed", f"output {info.name}: {got!r}, expected {want!r}")
        rows = check_circuit(circuit, feed, raise_on_failure=False)
        wrong = [row for row in rows if not row.ok]
        if wrong:
            return Outcome("failed", f"gradient check: {wrong[0]}")
    return Outcome("passed")


def table() -> str:
    """The README's table: per operator, the cases passed and skipped, and why they were skipped."""
    rows: dict[str, Counter[str]] = {}
    details: dict[tuple[str, str], set[str]] = {}
    passed: Counter[str] = Counter()
    for case in cases():
        result = outcome(case.name)
        op = operator_of(case)
        rows.setdefault(op, Counter())
        if result.status == "passed":
            passed[op] += 1
        elif result.status == "skipped":
            reason, detail = short_reason(result.why)
            rows[op][reason] += 1
            details.setdefault((op, reason), set()).update([detail] if detail else [])
        else:
            rows[op]["FAILED"] += 1
    lines = ["| operator | cases | passed | skipped, and why |", "| --- | --- | --- | --- |"]
    order = sorted(rows, key=lambda op: (op == "several", op))
    for op in order:
        skipped = rows[op]
        why = "; ".join(
            f"{count} {reason}"
            + (f" ({', '.join(sorted(details[op, reason]))})" if details.get((op, reason)) else "")
            for reason, count in sorted(skipped.items())
        )
        total = passed[op] + sum(skipped.values())
        label = "several (functions expanded into the operators above)" if op == "several" else f"`{op}`"
        lines.append(f"| {label} | {total} | {passed[op]} | {why or '-'} |")
    all_passed = sum(passed.values())
    all_cases = len(cases())
    lines.append(f"| **all** | {all_cases} | {all_passed} | {all_cases - all_passed} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - prints the README's table
    sys.stdout.write(f"{BEGIN}\n{table()}\n{END}\n")
