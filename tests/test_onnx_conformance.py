"""ONNX's own operator test cases through ``gatekit import``: every case of the operators gatekit imports.

Each case imports, runs to the expected outputs at the case's tolerance and
passes gatekit's gradient check, or the import refuses it and the case is
skipped with the import's reason. The README's table of counts is held to
what the cases do. See ``onnx_conformance`` for what a case is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("onnx")

import onnx_conformance

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("name", [case.name for case in onnx_conformance.cases()])
def test_case(name: str) -> None:
    result = onnx_conformance.outcome(name)
    if result.status == "skipped":
        pytest.skip(result.why)
    assert result.status == "passed", result.why


def test_the_cases_cover_every_operator() -> None:
    tested = {node.op_type for case in onnx_conformance.cases() for node in case.model.graph.node}
    from gatekit.onnx.operators import OPERATORS

    assert tested == set(OPERATORS)


def test_the_readme_gives_the_counts() -> None:
    text = README.read_text(encoding="utf-8")
    assert onnx_conformance.BEGIN in text, "the README has no conformance table"
    shown = text.split(onnx_conformance.BEGIN, 1)[1].split(onnx_conformance.END, 1)[0].strip()
    assert shown == onnx_conformance.table(), "run python tests/onnx_conformance.py and paste its table"
