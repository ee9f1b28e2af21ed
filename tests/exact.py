"""Exact comparison of runs: same numbers, bit for bit (signs of zero and NaN included), same types.

Shared by the scheduler tests (every example graph) and the fuzz tests
(random circuits): a run recorded with an observer (``gatekit explain``,
``gatekit draw``) must give exactly what the plain run gives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

import gatekit
from gatekit.views.trace import trace


def assert_identical(got: Any, want: Any, what: str) -> None:
    """``got`` is ``want``: the same type and the same bits."""
    assert type(got) is type(want), f"{what}: {type(got).__name__} against {type(want).__name__}"
    if isinstance(want, np.ndarray):
        assert got.shape == want.shape and got.dtype == want.dtype, what
        same = (got == want) | (np.isnan(got) & np.isnan(want))
        assert np.all(same) and np.array_equal(np.signbit(got), np.signbit(want)), what
    else:
        assert got == want or (math.isnan(got) and math.isnan(want)), f"{what}: {got!r} against {want!r}"
        assert math.copysign(1.0, got) == math.copysign(1.0, want), f"{what}: {got!r} against {want!r}"


def assert_traced_run_is_the_run(circuit: gatekit.Circuit, values: Mapping[str, Any] | None = None) -> None:
    """A run with the recorder gives exactly the plain run's outputs and gradients, and so do its wires.

    The last ``after`` recorded on a leaf's wires is the gradient the run
    gives it (for an array leaf, spread over its shape where it is a number
    standing for every element).
    """
    plain = circuit.run(values or {})
    traced = trace(circuit, values)
    for name, value in plain.outputs.items():
        assert_identical(traced.result.outputs[name], value, f"output {name}")
    for name, grad in plain.grads.items():
        assert_identical(traced.result.grads[name], grad, f"grad {name}")
        if name in traced.grads:
            last = traced.grads[name]
            if isinstance(grad, np.ndarray):
                last = np.array(np.broadcast_to(last, grad.shape))
            assert_identical(last, grad, f"the last wire into {name}")
