"""The gates of gatekit-activations in ONNX: exported, run in onnxruntime and ONNX's reference evaluator.

Each gate's ``gate_onnx`` and ``gate_onnx_local_grad`` must give the numbers
its ``gate_forward`` and ``gate_local_grad`` give, to 1e-12 relative, at
ordinary points and far out (where a plain ``log(1 + x)`` or ``exp(x) - 1``
would lose every digit).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import gatekit
from gatekit.onnx.check import check_onnx
from gatekit.plugin.registry import GateRegistry
from gatekit_activations import gatekit_register_gates

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

NAMES = [gate.spec.name for gate in gatekit_register_gates()]
VARIANTS = {"elu": [{"alpha": 0.5}, {"alpha": 2.0}], "hard_tanh": [{"low": -0.5, "high": 2.0}]}
POINTS = [-745.0, -50.0, -30.0, -3.0, -1.0, -1e-9, -1e-300, 0.0, 1e-300, 1e-9, 0.5, 1.0, 3.0, 30.0, 50.0]


@pytest.fixture(scope="module")
def registry() -> GateRegistry:
    registry = gatekit.default_registry(autoload=True)
    if "gelu" not in registry:
        pytest.skip("gatekit-activations is not installed (pip install -e plugins/activations)")
    return registry


def _circuit(registry: GateRegistry, gate: str, value: Any, attrs: dict[str, Any]) -> Any:
    text = json.dumps(
        {
            "params": {"a": value},
            "gates": {
                "y": {"gate": gate, "in": ["a"], "attrs": attrs},
                "yy": {"gate": "mul", "in": ["y", "y"]},
            },
            "outputs": ["yy", "y"],
        }
    )
    return gatekit.loads(text, f"{gate}.yaml", registry=registry)


def _cases() -> list[Any]:
    return [
        pytest.param(name, attrs, id=f"{name}-{json.dumps(attrs) if attrs else 'defaults'}")
        for name in NAMES
        for attrs in [{}, *VARIANTS.get(name, [])]
    ]


@pytest.mark.parametrize(("gate", "attrs"), _cases())
def test_each_gate_in_onnx_gives_its_own_numbers(
    registry: GateRegistry, gate: str, attrs: dict[str, Any]
) -> None:
    rng = np.random.default_rng(0)
    for value in (0.7, rng.uniform(-3, 3, size=(2, 3)).tolist(), POINTS):
        worst = check_onnx(_circuit(registry, gate, value, attrs))
        assert max(worst.values()) <= 1e-12, (value, worst)


def test_every_gate_has_both_lowerings(registry: GateRegistry) -> None:
    for name in NAMES:
        assert registry[name].onnx is not None and registry[name].onnx_local_grad is not None, name
