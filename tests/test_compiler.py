"""The compiled plan: one form of each step, named records made as they are read, and its size."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import gatekit
from gatekit.engine.compiler import BINARY, MANY, SINK, UNARY, VJP, BackwardStep, ForwardStep, Steps

MIXED = """
inputs: {x: 0.5, y: -1.5}
params: {w: 2.0, v: [1.0, 2.0]}
gates:
  a: {gate: sin, in: [x]}
  b: {gate: mul, in: [a, w]}
  c: {gate: add, in: [a, b, y, 3]}
  d: {gate: sum, in: [v]}
  e: {gate: mul, in: [c, d]}
  k: {gate: exp, in: [2]}
outputs: [e]
"""


@pytest.fixture(scope="module")
def plan() -> gatekit.engine.compiler.Plan:
    return gatekit.loads(MIXED).plan


def test_records_are_made_from_the_tuples_the_loops_read(plan) -> None:
    forward = list(plan.forward)
    assert [type(step) for step in forward] == [ForwardStep] * len(plan.forward_loop)
    for record, step in zip(forward, plan.forward_loop, strict=True):
        assert tuple(record[:6]) == (*step[:4], record.gather, step[5])
        assert record.into is step[6]
    values = [float(i) for i in range(len(plan.initial))]
    for record in forward:  # every record gathers its own inputs, whatever the lean loop needs
        assert list(record.gather(values)) == [values[slot] for slot in record.slots]
    kinds = {plan.gates[record.out].name: record.kind for record in forward}
    assert kinds == {"a": UNARY, "b": BINARY, "c": MANY, "d": UNARY, "e": BINARY, "k": UNARY}
    assert plan.forward[2].slots == plan.many[plan.forward[2].out]


def test_backward_records_name_where_each_gradient_goes(plan) -> None:
    backward = {plan.gates[step.out].name: step for step in plan.backward}
    assert list(backward) == ["e", "d", "c", "b", "a"]  # reversed; k depends on no leaf
    assert all(type(step) is BackwardStep for step in backward.values())
    c = backward["c"]
    assert c.kind == MANY and c.targets[-1] == SINK  # the constant 3's gradient is not kept
    assert backward["d"].kind == VJP and backward["d"].targets == (plan.slots["v"],)
    b = backward["b"]
    assert b.targets == (b.to_a, b.to_b) == (plan.slots["a"], plan.slots["w"])
    values = [float(i) for i in range(len(plan.initial))]
    assert list(b.gather(values)) == [values[plan.slots["a"]], values[plan.slots["w"]]]


def _fields(step: ForwardStep) -> tuple[object, ...]:
    """A record's fields but its gather (a new function each time a record is made)."""
    return step[:4] + step[5:]


def test_steps_read_like_a_sequence(plan) -> None:
    steps = plan.forward
    assert isinstance(steps, Steps)
    assert len(steps) == 6
    whole = [_fields(step) for step in steps]
    assert _fields(steps[-1]) == whole[-1]
    assert [_fields(step) for step in steps[1:3]] == whole[1:3]
    assert [_fields(step) for step in reversed(steps)] == whole[::-1]
    assert repr(steps) == "<6 steps>"


def test_a_large_chain_s_plan_holds_a_few_hundred_bytes_a_gate() -> None:
    """Counts, not time: the plan keeps one tuple a step (and a slot), no records beside them."""
    n = 20_000
    lines = ["inputs: {x: 0.5}", "gates:", "  g0: {gate: sin, in: [x]}"]
    lines += [f"  g{i}: {{gate: sin, in: [g{i - 1}]}}" for i in range(1, n)]
    text = "\n".join([*lines, f"outputs: [g{n - 1}]", ""])
    circuit = gatekit.loads(text)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        plan = gatekit.engine.compiler.compile_plan(circuit.valid, circuit._dag)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(plan.forward_loop) == len(plan.backward_loop) == n
    # a forward tuple (112 B), a backward tuple (128 B), the slot dict's entry, an int a slot:
    # some 320 B; the NamedTuple copies and per-step gathers made it 750, a gates dict 35 more
    assert held < 400 * n


def test_the_gates_by_slot_are_the_validated_gates_at_their_slots() -> None:
    circuit = gatekit.loads(MIXED)
    plan = circuit.plan
    expected = {plan.slots[name]: bound for name, bound in circuit.valid.gates.items()}
    assert dict(plan.gates) == expected
    assert list(plan.gates) == [step.out for step in plan.forward]  # topological, as the steps
    assert len(plan.gates) == len(plan.forward_loop) == 6
    assert plan.gates[np.int64(plan.slots["c"])] is circuit.valid.gates["c"]
    constant = len(plan.slots) + 1  # the first number constant's slot, after the nodes'
    for slot in (SINK, plan.slots["x"], plan.slots["v"], constant, -1, 10**6, "c", 2.0):
        assert slot not in plan.gates
        assert plan.gates.get(slot) is None
