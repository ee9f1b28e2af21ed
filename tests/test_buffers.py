"""Buffers reused from run to run: never an array someone holds, always the same numbers.

A circuit run over arrays computes into arrays of its earlier results once
nobody holds them (``gatekit.engine.buffers``). These tests hold on to
results, single arrays, views, the leaves, and a plugin's own array, run
again and again, and require every number they hold to stay as it was and
every run to give what a fresh circuit gives.
"""

from __future__ import annotations

import gc
import resource
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from test_fuzz import REGISTRY, RandomCircuit, fuzz_settings, random_circuits

import gatekit
from gatekit.engine.buffers import MIN_SIZE
from gatekit.plugin.base import SpecGate
from gatekit.plugin.gatespec import GateSpec
from gatekit.plugin.hookspecs import hookimpl
from gatekit.plugin.registry import GateRegistry, default_registry, plugin_manager

NEURON = Path(__file__).resolve().parent.parent / "graphs" / "neuron.yaml"
B = MIN_SIZE  # the smallest batch the pool takes on


def batch(seed: int, size: int = B) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x0": rng.uniform(-2, 2, size), "x1": rng.uniform(-2, 2, size)}


def numbers(result: gatekit.Result) -> dict[str, Any]:
    """Copies of everything a result shows."""
    copy = {f"value {k}": np.copy(v) for k, v in result.values.items()}
    return copy | {f"grad {k}": np.copy(v) for k, v in result.grads.items()}


def assert_unchanged(result: gatekit.Result, before: dict[str, Any]) -> None:
    after = numbers(result)
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert np.array_equal(after[key], value), key


def test_a_loop_that_drops_its_results_computes_into_the_same_arrays() -> None:
    circuit = gatekit.load(NEURON)
    fresh = gatekit.load(NEURON)
    seen: list[set[int]] = []
    for seed in range(6):
        result = circuit.run(batch(seed))
        expected = fresh.run(batch(seed), batching=False)
        assert numbers(result).keys() == numbers(expected).keys()
        for key, value in numbers(expected).items():
            assert np.array_equal(numbers(result)[key], value), key  # bit for bit
        seen.append({id(v) for v in result.values.values() if isinstance(v, np.ndarray)})
        del result
    assert seen[-1] & seen[-2]  # the last run wrote into the arrays of the one before


def test_a_kept_result_is_never_written() -> None:
    circuit = gatekit.load(NEURON)
    kept = [circuit.run(batch(0))]
    before = [numbers(kept[0])]
    for seed in range(1, 8):
        kept.append(circuit.run(batch(seed)))
        before.append(numbers(kept[-1]))
    for result, copy in zip(kept, before, strict=True):
        assert_unchanged(result, copy)


def test_the_loop_that_keeps_its_last_result_never_writes_it() -> None:
    circuit = gatekit.load(NEURON)
    result = circuit.run(batch(0))
    for seed in range(1, 8):
        previous, copy = result, numbers(result)
        result = circuit.run(batch(seed))
        assert_unchanged(previous, copy)
        del previous


@pytest.mark.parametrize("held", ["output", "grad", "view", "grads", "values"])
def test_an_array_the_caller_kept_from_a_result_is_never_written(held: str) -> None:
    circuit = gatekit.load(NEURON)
    result = circuit.run(batch(0))
    keep: Any = {
        "output": result.outputs["f"],
        "grad": result.grads["x0"],
        "view": result.values["e"][::3],
        "grads": result.grads,
        "values": result.values,
    }[held]
    copy = {k: np.copy(v) for k, v in keep.items()} if isinstance(keep, dict) else np.copy(keep)
    del result
    for seed in range(1, 6):
        circuit.run(batch(seed))
    if isinstance(keep, dict):
        for key, value in copy.items():
            assert np.array_equal(keep[key], value), key
    else:
        assert np.array_equal(keep, copy)


def test_the_callers_leaves_are_never_written_nor_their_flags_changed() -> None:
    circuit = gatekit.load(NEURON)
    leaves = batch(0)
    copies = {k: v.copy() for k, v in leaves.items()}
    for _ in range(5):
        circuit.run(leaves)
    for name, value in leaves.items():
        assert np.array_equal(value, copies[name]) and value.flags.writeable


class Cached(SpecGate):
    """An elementwise gate that returns an array it keeps for itself (bad manners, but allowed)."""

    spec = GateSpec("cached", 1, "a constant made of ones", elementwise=True)

    def __init__(self) -> None:
        self.ones = np.ones(B)

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        return self.ones

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        return (0.0,)


class Careless(SpecGate):
    """Takes ``out`` and returns a float32 array instead: the first run with buffers says so."""

    spec = GateSpec("careless", 1, "a", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any], out: Any = None) -> Any:
        (a,) = inputs
        return a.astype(np.float32) if out is not None else a * 1.0

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        return (1.0,)


def with_gate(gate: SpecGate, name: str) -> gatekit.Circuit:
    pm = plugin_manager(autoload=False)
    pm.register(gate, name=name)
    text = f"inputs: {{x: 1.0}}\ngates:\n  c: {{gate: {name}, in: [x]}}\n  y: {{gate: mul, in: [c, x]}}\n"
    return gatekit.loads(text + "outputs: [y]\n", "g.yaml", registry=GateRegistry.from_manager(pm))


def test_an_array_a_plugin_keeps_for_itself_is_never_written() -> None:
    gate = Cached()
    circuit = with_gate(gate, "cached")
    for seed in range(5):
        circuit.run(x=np.random.default_rng(seed).uniform(size=B))
    assert np.array_equal(gate.ones, np.ones(B))


def test_another_batch_size_starts_afresh() -> None:
    circuit = gatekit.load(NEURON)
    fresh = gatekit.load(NEURON)
    for size in (B, B, 2 * B, B, 2 * B, 2 * B, 7, 7):
        result = circuit.run(batch(size, size))
        for key, value in numbers(fresh.run(batch(size, size))).items():
            assert np.array_equal(numbers(result)[key], value), key


def test_a_loop_over_large_batches_does_not_fault_its_memory_in_again() -> None:
    """The point of the pool: after the first runs, a run touches no new page (counts, not time)."""
    circuit = gatekit.load(NEURON)
    data = batch(0, 200_000)  # 1.6 MB per array: well above glibc's mmap threshold
    for _ in range(3):
        assert circuit.run(data).grads["w0"] != 0.0  # the gradients read, as a loop reads them
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        assert circuit.run(data).grads["w0"] != 0.0  # the gradients read, as a loop reads them
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    pages_per_array = 200_000 * 8 // 4096
    assert faults < 10 * pages_per_array  # fewer than one array's pages a run; without the pool, five


def test_small_batches_are_left_to_the_allocator() -> None:
    circuit = gatekit.load(NEURON)
    for seed in range(3):
        circuit.run(batch(seed, 1000))
    assert circuit.pool.shapes == {}  # never started: arrays this small cost the allocator nothing


# -- the backward pass over arrays: gradients reused within the run --------------------------------


class Silent:
    """An observer that records nothing: an observed run takes the general loops, without the pool."""

    def gate(self, step: Any, upstream: Any) -> None:
        pass

    def wire(self, step: Any, position: int, **told: Any) -> None:
        pass


def assert_general_loops_numbers(circuit: gatekit.Circuit, leaves: dict[str, Any]) -> None:
    """Runs with the pool (the first ones fill it) give the observed run's numbers, bit for bit."""
    reference = numbers(circuit.run(leaves, observer=Silent()))
    for _ in range(3):
        got = numbers(circuit.run(leaves))
        assert got.keys() == reference.keys()
        for key, value in reference.items():
            assert np.array_equal(got[key], value, equal_nan=True), key


GRAPHS = NEURON.parent


#: examples whose inputs are not a batch of samples: a robot arm's two angles and its chain matrix
NOT_A_BATCH = {"arm.yaml"}


@pytest.mark.parametrize(
    "name", sorted(path.name for path in GRAPHS.glob("*.yaml") if path.name not in NOT_A_BATCH)
)
def test_every_example_over_a_batch_gives_the_general_loops_numbers_bit_for_bit(name: str) -> None:
    circuit = gatekit.load(GRAPHS / name)
    rng = np.random.default_rng(0)
    inputs = {leaf: value for leaf, value in circuit.run().leaves.items() if leaf in circuit.inputs}
    leaves = {
        leaf: value * (1.0 + rng.uniform(-0.1, 0.1, B))
        for leaf, value in inputs.items()
        if type(value) is float
    }
    if not leaves:  # its samples are rows of arrays already: as many copies of them as make a batch
        leaves = {
            leaf: np.repeat(value, B // len(value), axis=0)
            * (
                1.0
                + rng.uniform(-0.1, 0.1, (B // len(value)) * len(value)).reshape(
                    -1, *([1] * (value.ndim - 1))
                )
            )
            for leaf, value in inputs.items()
            if isinstance(value, np.ndarray) and value.ndim
        }
    assert_general_loops_numbers(circuit, leaves)


@fuzz_settings(60)
@given(drawn=random_circuits())
def test_a_random_circuit_over_a_batch_gives_the_general_loops_numbers_bit_for_bit(
    drawn: RandomCircuit,
) -> None:
    """Fan-out, repeated inputs, scalars against the batch: every path of the reuse."""
    circuit = gatekit.loads(drawn.yaml(), "random.yaml", registry=REGISTRY)
    rng = np.random.default_rng(0)
    leaves = {
        name: value + offsets[0] * rng.uniform(0.0, 1.0, B)
        for name, (_, value) in drawn.leaves.items()
        if (offsets := drawn.offsets[name]) is not None
    }
    assert_general_loops_numbers(circuit, leaves)


class Hoarder(SpecGate):
    """``exp``, whose local gradient is an array it keeps, in one of three ways."""

    spec = GateSpec("hoarder", 1, "a", elementwise=True)

    def __init__(self, how: str) -> None:
        self.how = how
        self.kept: Any = None

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        return np.exp(inputs[0])

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        grad = np.array(output)  # a new array, as a hook makes one
        if self.how == "array":
            self.kept = grad
            return (grad,)
        if self.how == "tuple":
            self.kept = (grad,)
            return self.kept  # type: ignore[no-any-return]
        self.kept = np.concatenate([grad, grad])  # "view": the gradient is part of an array it keeps
        return (self.kept[: len(grad)],)


@pytest.mark.parametrize("how", ["array", "tuple", "view"])
def test_a_local_gradient_the_plugin_still_holds_is_never_written(how: str) -> None:
    """``y = hoarder(x) * x``: the product ``exp(x) * x`` must not go into the array the plugin holds."""
    gate = Hoarder(how)
    circuit = with_gate(gate, "hoarder")
    for seed in range(4):
        x = np.random.default_rng(seed).uniform(size=B)
        assert_general_loops_numbers(circuit, {"x": x})
        held = gate.kept[0] if how == "tuple" else gate.kept[:B]
        assert np.array_equal(held, np.exp(x)), seed  # as the hook returned it


class Window(SpecGate):
    """An identity whose ``gate_vjp`` returns the upstream gradient it is given, or a view of it."""

    spec = GateSpec("window", 1, "a")

    def __init__(self, how: str) -> None:
        self.how = how

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        return inputs[0] * 1.0

    @hookimpl
    def gate_vjp(self, inputs: Sequence[Any], output: Any, upstream: Any) -> Sequence[Any]:
        return (upstream if self.how == "itself" else upstream[...],)


@pytest.mark.parametrize("how", ["itself", "view"])
@pytest.mark.parametrize("first", [True, False])
def test_a_gradient_a_vjp_hook_saw_is_never_reused(how: str, first: bool) -> None:
    """``a`` gets the window's upstream back (read-only, maybe a view) and ``s``'s contribution,
    after it or before it (the backward pass runs the file's gates in reverse)."""
    pm = plugin_manager(autoload=False)
    pm.register(Window(how), name="window")
    registry = GateRegistry.from_manager(pm)
    window = "  w: {gate: window, in: [a]}\n  t: {gate: tanh, in: [w]}\n"
    sine = "  s: {gate: sin, in: [a]}\n"
    text = (
        "inputs: {x: 1.0}\ngates:\n  a: {gate: exp, in: [x]}\n"
        + (window + sine if first else sine + window)
        + "  y: {gate: add, in: [t, s]}\noutputs: [y]\n"
    )
    circuit = gatekit.loads(text, "g.yaml", registry=registry)
    x = np.random.default_rng(1).uniform(-1, 1, B)
    assert_general_loops_numbers(circuit, {"x": x})
    kept = circuit.run(x=x)
    before = numbers(kept)
    for seed in range(3):
        circuit.run(x=x + seed)
    assert_unchanged(kept, before)


@pytest.mark.parametrize("gate", ["add: [a, a, b]", "add: [b, a, a]", "mul: [a, a]", "mul: [a, b, a, b]"])
def test_a_gate_that_reads_one_wire_twice_sends_each_contribution(gate: str) -> None:
    """The upstream of ``u`` is the loop's own array; it goes to ``a`` twice, and must stay as it was."""
    name, inputs = gate.split(": ")
    text = (
        "inputs: {x: 1.0}\ngates:\n  a: {gate: exp, in: [x]}\n  b: {gate: sin, in: [x]}\n"
        f"  u: {{gate: {name}, in: {inputs}}}\n  y: {{gate: tanh, in: [u]}}\noutputs: [y]\n"
    )
    circuit = gatekit.loads(text, "g.yaml")
    assert_general_loops_numbers(circuit, {"x": np.random.default_rng(4).uniform(-1, 1, B)})


def test_the_callers_seed_gradient_is_never_written() -> None:
    circuit = gatekit.load(NEURON)
    seed = np.random.default_rng(2).uniform(size=B)
    copy = seed.copy()
    for _ in range(3):
        result = circuit.run(batch(0), seed_grad=seed)
    assert np.array_equal(seed, copy)
    assert np.array_equal(
        result.grads["x0"], circuit.run(batch(0), seed_grad=copy, observer=Silent()).grads["x0"]
    )


def test_a_deep_chain_backprops_in_a_few_arrays_not_one_per_gate() -> None:
    """Each gate's gradient is let go after its step and its array reused: counts, not time."""
    depth = 40
    lines = [f"  g{i}: {{gate: tanh, in: [{'x' if i == 0 else f'g{i - 1}'}]}}" for i in range(depth)]
    text = "inputs: {x: 0.5}\ngates:\n" + "\n".join(lines) + f"\noutputs: [g{depth - 1}]\n"
    circuit = gatekit.loads(text, "chain.yaml")
    x = np.random.default_rng(3).uniform(-1, 1, B)
    for _ in range(3):
        circuit.run(x=x)
    gc.collect()
    tracemalloc.start()
    try:
        result = circuit.run(x=x)
        held = tracemalloc.get_traced_memory()[1] / (B * 8)
    finally:
        tracemalloc.stop()
    assert result.grads["x"].shape == (B,)
    assert held < 6  # the hooks own few arrays at a time (tanh makes two), the pool has the rest
    del result
    circuit.run(x=x)
    watched = sum(len(generation) for generation in circuit.pool._lent)
    assert watched <= depth + 4  # the last run's values and a few gradients (one a gate, it was 2 * depth)


# -- local gradients computed into the pool's arrays ----------------------------------------------


def _gates_taking_out() -> list[str]:
    registry = default_registry()
    return sorted(name for name in registry if registry[name].bind_local_into({}) is not None)


#: how the inputs and the arrays lent look: the last input full, a number or of shape (1,)
#: (broadcast); the first input's array lent or not (None)
LAYOUTS = [("full", True), ("full", False), ("number", True), ("one", True), ("one", False)]


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        pytest.param(name, layout, id=f"{name}-{layout[0]}-{'lent' if layout[1] else 'none'}")
        for name in _gates_taking_out()
        for layout in LAYOUTS
        if layout[0] == "full" or default_registry()[name].spec.arity > 1  # one input: the output's shape
    ],
)
def test_a_gate_computing_its_local_gradient_into_out_gives_the_same_bits(
    name: str, layout: tuple[str, bool]
) -> None:
    last, first_lent = layout
    gate = default_registry()[name]
    rng = np.random.default_rng(5)
    inputs: list[Any] = [rng.uniform(0.1, 2.0, B) for _ in range(gate.spec.arity)]
    if last != "full":
        inputs[-1] = float(inputs[-1][0]) if last == "number" else inputs[-1][:1].copy()
    hooks = gate.bind({})
    output = hooks.forward(inputs)
    plain = hooks.backward(inputs, output)
    buffers: list[np.ndarray | None] = [np.empty(B) for _ in inputs]
    if not first_lent:
        buffers[0] = None
    into = gate.bind_local_into({})
    assert into is not None
    got = into(inputs, output, buffers)
    for position, (a, b) in enumerate(zip(plain, got, strict=True)):
        assert type(a) is type(b) and np.array_equal(a, b), position
        lent = buffers[position]
        made = isinstance(b, np.ndarray) and b.shape == output.shape and not any(b is x for x in inputs)
        if made and lent is not None:
            assert b is lent  # computed into the array it was given: no new array
        assert lent is None or not any(c is lent for c in got[:position] + got[position + 1 :]), position


class Crossed(SpecGate):
    """``a + b`` whose ``gate_local_grad`` fills one array it was given and returns it for both inputs."""

    spec = GateSpec("crossed", 2, "a + b", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        return inputs[0] + inputs[1]

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any, out: Any = None) -> Sequence[Any]:
        if out is None or out[1] is None:
            return (1.0, 1.0)
        out[1].fill(1.0)
        return (out[1], out[1])


def test_an_array_lent_to_a_hook_and_returned_elsewhere_is_never_written() -> None:
    pm = plugin_manager(autoload=False)
    pm.register(Crossed(), name="crossed")
    text = (
        "inputs: {x: 1.0}\ngates:\n  a: {gate: exp, in: [x]}\n  b: {gate: sin, in: [x]}\n"
        "  c: {gate: crossed, in: [a, b]}\n  y: {gate: tanh, in: [c]}\noutputs: [y]\n"
    )
    circuit = gatekit.loads(text, "g.yaml", registry=GateRegistry.from_manager(pm))
    assert_general_loops_numbers(circuit, {"x": np.random.default_rng(6).uniform(-1, 1, B)})


class CarelessGrad(SpecGate):
    """Takes ``out`` in ``gate_local_grad`` and returns a float32 array instead: the first run with
    buffers says so."""

    spec = GateSpec("careless_grad", 1, "2 a", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        return inputs[0] * 2.0

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any, out: Any = None) -> Sequence[Any]:
        (a,) = inputs
        return (np.full(np.shape(a), 2.0, dtype=np.float32) if out is not None else 2.0,)


@pytest.mark.parametrize(
    ("gate", "hook"),
    [(Careless(), "gate_forward"), (CarelessGrad(), "gate_local_grad")],
    ids=["forward", "local"],
)
def test_the_first_run_with_buffers_checks_what_a_hook_returns_into_them(gate: SpecGate, hook: str) -> None:
    name = gate.spec.name
    circuit = with_gate(gate, name)
    circuit.run(x=np.ones(B))  # no buffers yet
    with pytest.raises(gatekit.RunError) as info:
        circuit.run(x=np.ones(B))
    assert str(info.value) == (
        f"g.yaml:3:3: gate 'c' ({name}, plugin '{name}') returned an array of dtype float32 from {hook}; "
        "a gate returns float64: a number or a float64 array"
    )
