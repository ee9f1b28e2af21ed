"""Gates and circuits on other array libraries than NumPy, through the Python array API standard.

Every built-in gate, and every gate of the ``gatekit-activations`` plugin,
passes the gradient check of ``tests/test_gates.py`` on each backend below,
computing there (``array_api_strict`` refuses anything outside the standard),
and gives NumPy's numbers to 1e-12; every example circuit in ``graphs/`` runs
there with NumPy's outputs and gradients. The backends: ``array-api-strict``
(always, in CI), PyTorch on the CPU where PyTorch is installed, and PyTorch on
CUDA, CuPy and JAX where they are installed and have a device; the others are
skipped.
"""

from __future__ import annotations

import importlib.util
import itertools
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")

from test_gates import (
    ATOL,
    RTOL,
    SEED,
    SPECIAL,
    analytic_jacobians,
    domain_of,
    numeric_jacobian,
    rng_for,
    variants,
    vjp_cases,
)

import gatekit
from gatekit import GateSpec, RunError, SpecGate, UsageError, hookimpl
from gatekit import math as gm
from gatekit.arrays import is_foreign, to_numpy
from gatekit.engine import backends
from gatekit.engine.guards import checked
from gatekit.plugin.registry import Gate, GateRegistry, Hooks, plugin_manager
from gatekit.testing import check_gate, random_points

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = sorted((ROOT / "graphs").glob("*.yaml"))
NEURON = str(ROOT / "graphs" / "neuron.yaml")

#: the gates checked: gatekit's own, and the activations plugin's where it is installed
PLUGINS = ("gatekit_activations",) if importlib.util.find_spec("gatekit_activations") else ()
REGISTRY = gatekit.default_registry(PLUGINS, autoload=False)
ELEMENTWISE = [name for name in REGISTRY if REGISTRY[name].vjp is None]

#: NumPy's numbers against the backend's: the same formulas, so only the libraries' last bits part them
SAME_RTOL = 1e-12
SAME_ATOL = 1e-15


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _torch_cuda() -> bool:
    if not _installed("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


BACKEND_PARAMS = [
    pytest.param(("array-api-strict", None), id="array-api-strict"),
    pytest.param(
        ("torch", "cpu"), id="torch-cpu", marks=pytest.mark.skipif(not _installed("torch"), reason="no torch")
    ),
    pytest.param(
        ("torch", "cuda"),
        id="torch-cuda",
        marks=pytest.mark.skipif(not _torch_cuda(), reason="no CUDA device"),
    ),
    pytest.param(
        ("cupy", None), id="cupy", marks=pytest.mark.skipif(not _installed("cupy"), reason="no cupy")
    ),
    pytest.param(("jax", None), id="jax", marks=pytest.mark.skipif(not _installed("jax"), reason="no jax")),
]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> backends.Backend:
    name, device = request.param
    return backends.load(name, device)


def _fault(name: str) -> Callable[[str], RunError]:
    return lambda message: RunError(f"gate {name!r} {message}")


def _back(value: Any) -> Any:
    """A backend's value as NumPy's (a 0-d array as a float), checking it is the backend's."""
    if type(value) is float:
        return value
    assert is_foreign(value), f"a NumPy value came back: {value!r}"
    array = to_numpy(value)
    return float(array) if array.ndim == 0 else array


def on_backend(gate: Gate, attrs: dict[str, Any], backend: backends.Backend) -> Any:
    """``gate.bind(attrs)``, computing on ``backend`` behind NumPy in and out, through the guards' checks.

    So ``tests/test_gates.py``'s Jacobians and central differences apply as
    they are, while every call of the gate gets and gives the backend's
    arrays (floats stay floats: constants), float64 of the right shapes.
    """
    forward, backward, is_vjp = gate.bind(attrs)
    hooks = checked(Hooks(forward, backward, is_vjp), _fault(gate.name))
    put = backend.asarray

    def moved(values: Sequence[Any]) -> list[Any]:
        return [x if type(x) is float else put(x) for x in values]

    def forward_on(inputs: Sequence[Any]) -> Any:
        return _back(hooks.forward(moved(inputs)))

    def backward_on(inputs: Sequence[Any], output: Any, *upstream: Any) -> Any:
        grads = hooks.backward(moved(inputs), *moved([output, *upstream]))
        return [_back(g) for g in grads]

    return forward_on, backward_on, is_vjp


def assert_same(got: Any, want: Any, what: str) -> None:
    np.testing.assert_allclose(got, want, rtol=SAME_RTOL, atol=SAME_ATOL, err_msg=what)


# -- every gate: the gradient check, and NumPy's numbers ---------------------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_gate_passes_the_gradient_check_on_the_backend(
    name: str, backend: backends.Backend
) -> None:
    gate = REGISTRY[name]
    domain = domain_of(name)
    rng = rng_for(name, "array api")
    for (attrs, arity), shape in itertools.product(variants(gate), ((3,), (2, 3))):
        bound = gate.bind(attrs)
        there = on_backend(gate, attrs, backend)
        for _ in range(3):
            inputs = domain.sample(rng, arity, shape)
            analytic = analytic_jacobians(there, inputs)
            assert_same(there[0](inputs), bound[0](inputs), f"{name}{attrs}: forward")
            for k, want in enumerate(analytic_jacobians(bound, inputs)):
                np.testing.assert_allclose(
                    analytic[k], numeric_jacobian(there[0], inputs, k), rtol=RTOL, atol=ATOL, err_msg=name
                )
                assert_same(analytic[k], want, f"{name}{attrs}: d/d input {k}")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_gate_gives_numpy_s_ieee_results_at_special_values_on_the_backend(
    name: str, backend: backends.Backend
) -> None:
    """Zeros, huge and tiny values, infinities and nan: the same inf and nan as NumPy, never an error.

    Where the formulas meet inf - inf or 0 * inf, both give nan; elsewhere the
    same numbers to 1e-12.
    """
    gate = REGISTRY[name]
    for attrs, arity in variants(gate):
        if arity > 3:
            continue
        points = list(itertools.product(SPECIAL, repeat=arity))
        inputs = [np.array(column) for column in zip(*points, strict=True)]
        bound = gate.bind(attrs)
        there = on_backend(gate, attrs, backend)
        with np.errstate(all="ignore"):
            output = bound[0](inputs)
            want = [np.broadcast_to(g, output.shape) for g in bound[1](inputs, output)]
        with np.errstate(all="ignore"):  # array-api-strict computes with NumPy, which warns
            got_output = there[0](inputs)
            got_grads = there[1](inputs, output)
        np.testing.assert_allclose(
            got_output, output, rtol=SAME_RTOL, atol=SAME_ATOL, err_msg=f"{name} forward"
        )
        for k, (got, expected) in enumerate(zip(got_grads, want, strict=True)):
            np.testing.assert_allclose(
                np.broadcast_to(got, output.shape),
                expected,
                rtol=SAME_RTOL,
                atol=SAME_ATOL,
                err_msg=f"{name} gradient {k}",
            )


@pytest.mark.parametrize("name", [name for name in ELEMENTWISE if REGISTRY[name].spec.arity >= 2])
def test_elementwise_gate_takes_a_number_beside_the_backend_s_arrays(
    name: str, backend: backends.Backend
) -> None:
    """A constant (a Python float) broadcasts against the backend's arrays, in either position."""
    gate = REGISTRY[name]
    rng = rng_for(name, "array api mixed")
    for attrs, arity in variants(gate):
        bound = gate.bind(attrs)
        there = on_backend(gate, attrs, backend)
        for position in range(arity):
            inputs: list[Any] = domain_of(name).sample(rng, arity, (4,))
            inputs[position] = float(inputs[position][0])
            output = bound[0](inputs)
            assert_same(there[0](inputs), output, f"{name}: forward with input {position} a number")
            upstream = rng.uniform(0.5, 1.5, np.shape(output))
            for got, want in zip(there[1](inputs, output), bound[1](inputs, output), strict=True):
                assert_same(np.asarray(got) * upstream, np.asarray(want) * upstream, f"{name}: gradients")


@pytest.mark.parametrize(("name", "attrs", "shapes"), vjp_cases())
def test_vjp_gate_passes_the_gradient_check_on_the_backend(
    name: str, attrs: dict[str, Any], shapes: Any, backend: backends.Backend
) -> None:
    """Numbers become 0-d arrays of the backend here, so its 0-d results are checked too."""
    gate = REGISTRY[name]
    bound_attrs = {key: attr.default for key, attr in gate.spec.attrs.items()} | {
        key: gate.spec.attrs[key].convert(value) for key, value in attrs.items()
    }
    bound = gate.bind(bound_attrs)
    there = on_backend(gate, bound_attrs, backend)
    zero_d = (lambda inputs: there[0]([backend.asarray(x) for x in inputs]), *there[1:])
    for inputs in random_points(gate, 2, shapes=shapes, seed=SEED):
        assert_same(zero_d[0](inputs), bound[0](inputs), f"{name}{attrs}: forward")
        analytic = analytic_jacobians(there, inputs)
        for k, want in enumerate(analytic_jacobians(bound, inputs)):
            np.testing.assert_allclose(
                analytic[k], numeric_jacobian(zero_d[0], inputs, k), rtol=RTOL, atol=ATOL, err_msg=name
            )
            assert_same(analytic[k], want, f"{name}{attrs}: d/d input {k}")


@pytest.mark.parametrize(("name", "attrs", "shapes"), vjp_cases())
def test_vjp_gate_forward_mode_on_the_backend(
    name: str, attrs: dict[str, Any], shapes: Any, backend: backends.Backend
) -> None:
    gate = REGISTRY[name]
    bound_attrs = {key: attr.default for key, attr in gate.spec.attrs.items()} | {
        key: gate.spec.attrs[key].convert(value) for key, value in attrs.items()
    }
    hook = gate.bind_tangent(bound_attrs)
    assert hook is not None and hook[1]
    forward = gate.bind(bound_attrs)[0]
    rng = rng_for(name, "array api tangents")
    for inputs in random_points(gate, 2, shapes=shapes, seed=SEED):
        output = forward(inputs)
        tangents = [rng.uniform(-1.0, 1.0, np.shape(x)) for x in inputs]
        moved = [backend.asarray(x) for x in inputs]
        there = hook[0](moved, forward(moved), [backend.asarray(t) for t in tangents])
        assert_same(_back(there), hook[0](inputs, output, tangents), f"{name}{attrs}: gate_jvp")


def test_class_labels_on_the_backend(backend: backends.Backend) -> None:
    """softmax_cross_entropy's label form: NumPy's loss and gradients; a bad label, NumPy's message."""
    forward, backward, _ = REGISTRY["softmax_cross_entropy"].bind({"axis": -1, "reduction": "mean"})
    z = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 0.5]])
    labels = np.array([0.0, 2.0])
    put = backend.asarray
    assert_same(_back(forward([put(z), put(labels)])), forward([z, labels]), "loss")
    grads = backward([put(z), put(labels)], forward([put(z), put(labels)]), 1.0)
    for got, want in zip(grads, backward([z, labels], forward([z, labels]), 1.0), strict=True):
        assert_same(_back(got), want, "gradients")
    with pytest.raises(ValueError) as numpy_error:
        forward([z, np.array([0.0, 3.0])])
    with pytest.raises(ValueError, match="class labels must be whole numbers") as there:
        forward([put(z), put(np.array([0.0, 3.0]))])
    assert str(there.value) == str(numpy_error.value)


# -- whole circuits ----------------------------------------------------------------------------------


def _leaf_values(circuit: gatekit.Circuit, backend: backends.Backend) -> dict[str, Any]:
    plan = circuit.plan
    return {name: backend.asarray(plan.initial[slot]) for name, slot in plan.leaves.items()}


def assert_results_agree(got: gatekit.Result, want: gatekit.Result) -> None:
    for section in ("outputs", "grads", "values"):
        ours, theirs = getattr(got, section), getattr(want, section)
        assert list(ours) == list(theirs)
        for name, value in ours.items():
            assert is_foreign(value) or type(value) is float, (section, name, type(value))
            assert np.shape(_back(value)) == np.shape(theirs[name]), (section, name)
            assert_same(_back(value), theirs[name], f"{section} {name}")


@pytest.mark.parametrize("path", GRAPHS, ids=[path.name for path in GRAPHS])
def test_every_example_circuit_runs_on_the_backend_as_on_numpy(path: Path, backend: backends.Backend) -> None:
    circuit = gatekit.Circuit.from_file(path, REGISTRY)
    want = circuit.run()
    values = _leaf_values(circuit, backend)
    for _ in range(2):  # the first run is guarded, the second takes the bare plan
        assert_results_agree(circuit.run(values), want)
    host = circuit.run(values).on_host()
    assert all(not is_foreign(v) for v in (*host.outputs.values(), *host.grads.values()))


def test_a_run_given_some_of_the_backend_s_arrays_moves_the_file_s_arrays_there(
    backend: backends.Backend,
) -> None:
    circuit = gatekit.load(ROOT / "graphs" / "neuron_batch.yaml")
    want = circuit.run()
    plan = circuit.plan
    first = next(name for name, slot in plan.leaves.items() if type(plan.initial[slot]) is np.ndarray)
    got = circuit.run({first: backend.asarray(plan.initial[plan.leaves[first]])})
    assert_results_agree(got, want)


def test_forward_mode_and_another_root_on_the_backend(backend: backends.Backend) -> None:
    circuit = gatekit.load(ROOT / "graphs" / "neuron_batch.yaml")
    values = _leaf_values(circuit, backend)
    leaf = circuit.inputs[0]
    want = circuit.run(tangents={leaf: 1.0})
    got = circuit.run(values, tangents={leaf: 1.0})
    for name, tangent in got.tangents.items():
        assert is_foreign(tangent)
        assert_same(_back(tangent), want.tangents[name], f"tangent of {name}")
    gate = list(circuit.plan.slots)[-2]
    assert_results_agree(circuit.run(values, of=gate), circuit.run(of=gate))


def test_integer_and_float32_arrays_become_float64_and_booleans_are_refused() -> None:
    import array_api_strict as xp

    circuit = gatekit.Circuit.from_text(
        "inputs: {x: [1.0, 2.0]}\ngates: {y: {gate: square, in: [x]}}\noutputs: [y]"
    )
    for dtype in (xp.int32, xp.float32):
        result = circuit.run(x=xp.asarray([1, 2], dtype=dtype))
        assert result.outputs["y"].dtype == xp.float64
        assert to_numpy(result.grads["x"]).tolist() == [2.0, 4.0]
    with pytest.raises(UsageError) as refused:
        circuit.run(x=xp.asarray([True, False]))
    assert refused.value.message == (
        "the value for 'x' must be a number or an array of numbers, got an array of dtype bool "
        "(array_api_strict.Array)"
    )


def _other_library() -> Any:
    """An array of a made-up second library: its own namespace, float64 dtype, shape (2,)."""
    namespace = types.ModuleType("other")
    namespace.float64 = "f8"  # type: ignore[attr-defined]

    class Other:
        dtype = "f8"
        shape = (2,)
        ndim = 1

        def __array_namespace__(self, api_version: str | None = None) -> Any:
            return namespace

    return Other()


def test_the_arrays_of_one_run_are_of_one_library() -> None:
    import array_api_strict as xp

    circuit = gatekit.Circuit.from_text(
        "inputs: {x: [1.0, 2.0], w: 1.0}\ngates: {y: {gate: mul, in: [x, w]}}\noutputs: [y]"
    )
    with pytest.raises(UsageError) as refused:
        circuit.run(x=xp.asarray([1.0, 2.0], dtype=xp.float64), w=_other_library())
    assert refused.value.message == (
        "the value for 'w' is a test_array_api.Other, another leaf's a array_api_strict.Array: the arrays "
        "of one run are of one library"
    )


def test_a_seed_gradient_of_another_library_than_the_leaves_is_refused() -> None:
    import array_api_strict as xp

    circuit = gatekit.Circuit.from_text(
        "inputs: {x: [1.0, 2.0]}\ngates: {y: {gate: square, in: [x]}}\noutputs: [y]"
    )
    with pytest.raises(UsageError) as refused:
        circuit.run(seed_grad=xp.asarray([1.0, 1.0], dtype=xp.float64))
    assert refused.value.message == (
        "the seed gradient is a array_api_strict.Array, the leaves NumPy's: give it as a NumPy array, or "
        "the leaves as arrays of its library"
    )
    got = circuit.run(x=xp.asarray([1.0, 2.0], dtype=xp.float64), seed_grad=np.array([1.0, 0.5]))
    assert to_numpy(got.grads["x"]).tolist() == [2.0, 2.0]


# -- a plugin written with np. rather than gatekit.math ---------------------------------------------


class NumpyExp(SpecGate):
    """``np.exp``: on another library's arrays NumPy answers with NumPy's (or fails)."""

    spec = GateSpec("numpy_exp", 1, "e ** a, computed with NumPy.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        return np.exp(inputs[0])

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        return (output,)


class NumpyCopy(SpecGate):
    """``a.copy()``: a NumPy method, which ``array_api_strict`` arrays lack."""

    spec = GateSpec("numpy_copy", 1, "a copy of a, with NumPy's method.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        return inputs[0].copy() if isinstance(inputs[0], np.ndarray) or is_foreign(inputs[0]) else inputs[0]

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        return (1.0,)


def _numpy_only_circuit(gate: SpecGate) -> gatekit.Circuit:
    pm = plugin_manager(autoload=False)
    pm.register(gate, name=gate.spec.name)
    text = f"inputs: {{x: [1.0, 2.0]}}\ngates: {{y: {{gate: {gate.spec.name}, in: [x]}}}}\noutputs: [y]"
    return gatekit.loads(text, file="numpy_only.yaml", registry=GateRegistry.from_manager(pm))


@pytest.mark.parametrize(("gate", "name"), [(NumpyExp(), "numpy_exp"), (NumpyCopy(), "numpy_copy")])
def test_a_gate_written_with_numpy_says_so_on_another_library(gate: SpecGate, name: str) -> None:
    import array_api_strict as xp

    circuit = _numpy_only_circuit(gate)
    assert circuit.run().outputs["y"] is not None  # on NumPy it works
    with pytest.raises(RunError) as failed:
        circuit.run(x=xp.asarray([1.0, 2.0], dtype=xp.float64))
    raised = {
        "numpy_exp": "",
        "numpy_copy": " (there it raised AttributeError: 'Array' object has no attribute 'copy')",
    }
    assert failed.value.message == (
        f"gate 'y' ({name}, plugin '{name}') works only on NumPy arrays; given array_api_strict.Array"
        + raised[name]
    )


class Float32(SpecGate):
    """Returns its input as float32: refused on any library, named as that library's array."""

    spec = GateSpec("float32", 1, "a as float32.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        (a,) = inputs
        xp = gm.namespace(a)
        return xp.astype(a, xp.float32)

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        return (1.0,)


def test_a_gate_returning_another_dtype_of_the_library_is_named() -> None:
    import array_api_strict as xp

    circuit = _numpy_only_circuit(Float32())
    with pytest.raises(RunError) as failed:
        circuit.run(x=xp.asarray([1.0, 2.0], dtype=xp.float64))
    assert failed.value.message == (
        "gate 'y' (float32, plugin 'float32') returned an array of dtype float32 (array_api_strict.Array) "
        "from gate_forward; a gate returns float64: a number or a float64 array"
    )


def test_check_finite_on_the_backend_names_the_gate_and_its_inputs() -> None:
    import array_api_strict as xp

    circuit = gatekit.loads("inputs: {x: [1.0, -2.0]}\ngates: {y: {gate: log, in: [x]}}\noutputs: [y]")
    with pytest.raises(RunError) as failed:
        circuit.run(x=xp.asarray([1.0, -2.0], dtype=xp.float64), check_finite=True)
    assert failed.value.message == (
        "gate 'y' (log, plugin 'gatekit.gates.elementary:log') produced nan in the forward pass, "
        "from inputs ([1.0, -2.0])"
    )
    with pytest.raises(RunError) as failed:
        circuit.run(x=xp.asarray([0.0, 2.0], dtype=xp.float64), check_finite=True)
    assert "produced inf in the forward pass" in failed.value.message


@pytest.mark.parametrize("name", list(REGISTRY))
def test_check_gate_on_the_backend(name: str, backend: backends.Backend) -> None:
    """``gatekit.testing.check_gate(..., backend=)``, as plugin authors check theirs: every gate passes."""
    rows = check_gate(REGISTRY[name], count=2, backend=backend)
    on = [row for row in rows if row.where.endswith(f" on {backend.library.name}")]
    assert on and all(row.ok for row in rows)
