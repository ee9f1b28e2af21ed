"""Checking an exported model against gatekit: :func:`check_onnx`.

The model is checked by ONNX's own checker (``full_check``, shape inference
included), then run in onnxruntime and in ONNX's reference evaluator
(``onnx.reference.ReferenceEvaluator``, pure NumPy: every operator, float64
throughout), and each output and gradient is compared with what
:meth:`Circuit.run` gives for the same values. The tests of gatekit and of
its first-party plugins check every gate this way; a plugin author can check
a gate's lowering the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gatekit.engine.circuit import Circuit
from gatekit.onnx.export import GRAD_PREFIX, to_onnx
from gatekit.onnx.extra import require_onnx, require_onnxruntime

__all__ = ["RUNTIMES", "check_onnx", "relative_error", "run_model"]

#: the runtimes :func:`check_onnx` runs a model in
RUNTIMES = ("onnxruntime", "reference")


def relative_error(got: Any, want: Any, atol: float = 0.0) -> float:
    """The largest ``|got - want| / |want|`` over the elements (``|got - want|`` where ``want`` is 0).

    Elements that differ by at most ``atol`` count as equal; so do two nans,
    and two infinities of the same sign. Values of different shapes are
    infinitely far apart.

    >>> relative_error([1.0, 3.0, 0.5], [1.0, 2.0, 0.0])
    0.5
    >>> relative_error([1e-17], [2e-17], atol=1e-16)
    0.0
    """
    g = np.asarray(got, dtype=np.float64)
    w = np.asarray(want, dtype=np.float64)
    if g.shape != w.shape:
        return float("inf")
    with np.errstate(all="ignore"):
        difference = np.abs(g - w)
        same = (g == w) | (np.isnan(g) & np.isnan(w)) | (difference <= atol)
        errors = np.where(same, 0.0, difference / np.where(w == 0.0, 1.0, np.abs(w)))
    errors = np.where(np.isnan(errors), np.inf, errors)
    return float(np.max(errors)) if errors.size else 0.0


def run_model(model: Any, feeds: Mapping[str, Any], runtime: str) -> dict[str, np.ndarray]:
    """Run ``model`` on ``feeds`` in ``runtime`` (one of :data:`RUNTIMES`): ``{output: value}``."""
    require_onnx("running an ONNX model")
    names = [value.name for value in model.graph.output]
    arrays = {name: np.asarray(value, dtype=np.float64) for name, value in feeds.items()}
    if runtime == "onnxruntime":
        ort = require_onnxruntime("running an ONNX model")
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        results = session.run(None, arrays)
    else:
        from onnx.reference import ReferenceEvaluator  # noqa: PLC0415 - part of the optional onnx

        with np.errstate(all="ignore"):  # a Where's unused branch may divide 0 by 0, as NumPy's does
            results = ReferenceEvaluator(model).run(None, arrays)
    return {name: np.asarray(value) for name, value in zip(names, results, strict=True)}


def check_onnx(
    circuit: Circuit,
    values: Mapping[str, Any] | None = None,
    *,
    with_gradients: bool = True,
    of: str | None = None,
    batch_axes: Mapping[str, int] | int | None = None,
    inline_modules: bool = False,
    runs: Sequence[Mapping[str, Any]] = ({},),
    runtimes: Sequence[str] = RUNTIMES,
    atol: float = 0.0,
) -> dict[str, float]:
    """Export ``circuit``, check the model, run it and compare it with gatekit; the worst error per runtime.

    :param values: as :func:`~gatekit.onnx.export.to_onnx` takes them (the
        export's, and the runs' starting values).
    :param runs: leaf values the model runs on, each on top of ``values``
        (inputs only: params are the model's; other batch sizes, with
        ``batch_axes``).
    :param atol: differences this small count as none (:func:`relative_error`).
    :return: ``{runtime: the largest relative error}`` over every output and
        gradient of every run (see :func:`relative_error`).
    """
    onnx = require_onnx("checking an ONNX model")
    model = to_onnx(
        circuit,
        values,
        with_gradients=with_gradients,
        of=of,
        batch_axes=batch_axes,
        inline_modules=inline_modules,
    )
    onnx.checker.check_model(model, full_check=True)
    worst = dict.fromkeys(runtimes, 0.0)
    for run in runs:
        result = circuit.run({**(values or {}), **run}, of=of)
        leaves = result.leaves
        feeds = {name: leaves[name] for name in circuit.inputs}
        for runtime in runtimes:
            for name, got in run_model(model, feeds, runtime).items():
                if name.startswith(GRAD_PREFIX) and name not in result.outputs:
                    want = result.grads[name[len(GRAD_PREFIX) :]]
                else:
                    want = result.outputs[name]
                worst[runtime] = max(worst[runtime], relative_error(got, want, atol))
    return worst
