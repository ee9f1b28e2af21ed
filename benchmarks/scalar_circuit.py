"""Scalar circuits: gatekit against a hand-written tape and micrograd, same run.

Usage::

    .venv/bin/python benchmarks/scalar_circuit.py [--families mlp,chain,dag,dag-any,wide]
        [--sizes 1e3,1e4,1e5] [--repeat N] [--quick]

For each family and size the script generates a circuit of about that many
gates as a gatekit YAML file in a temporary folder, from a seeded generator:

* ``mlp``: a micrograd-style MLP, ``MLP(nin, [h, h, 1])``: each neuron is a
  variadic ``add`` of its bias and its ``w_i * x_i`` products (``mul``
  gates), then ``relu`` (except in the last layer); the loss is the output
  neuron itself;
* ``chain``: one deep chain from an input ``x``, ``sin``, ``mul`` by the
  constant 0.9, ``add`` of a param ``shift`` (one param read all along the
  chain), ``tanh``, again and again: every gate reads the one before, so
  nothing can run together, and the values stay within (-1, 1);
* ``dag``: a random DAG of 16 elementwise gate types (add of 2 or 3 inputs,
  mul, sub, div, max, min, neg, square, exp, log, sqrt, sin, cos, tanh,
  sigmoid, relu): each gate reads distinct earlier nodes, drawn from the
  :data:`DAG_WINDOW` nodes before it (or, one time in 20, a leaf), and fans
  out to the gates that draw it, as a program reads what it computed lately:
  deep, with few gates of one kind at one depth; a gate whose input is
  outside its safe domain or whose output is outside [-3, 3] is drawn again,
  so every value is finite and bounded; the loss is the ``add`` of every
  node nobody reads;
* ``dag-any``: the same, its inputs drawn from any node before it: shallow
  (a depth of a few dozen) and wide;
* ``wide``: a wide shallow circuit, thousands of small independent
  expressions over four inputs, each with its own params (``tanh(w * x +
  b)``, ``sigmoid(x - w) * x'``, ``exp(-(w * x)^2)`` in turn), summed by one
  ``add``.

It then measures, all in one Python process per family and size:

* ``gatekit.load(path)``: read, validate and compile, as one number; and a bare
  ``yaml.load(..., Loader=yaml.CSafeLoader)`` of the same file, with the
  garbage collector in its default state (also for an MLP of about 60k
  nodes, the "no slower than the bare parse" target); best of
  ``--load-repeat`` for the MLPs, once for the other families, for
  information;
* ``circuit.run()`` (forward and backward), batched where
  :mod:`gatekit.engine.batching` says it pays (``circuit.batched``: its
  groups and the gates in them are shown), and its two halves through
  ``gatekit.engine.scheduler`` (``forward_batched`` / ``backward_batched``
  on ``circuit.batched``, or ``forward`` / ``backward_floats`` on
  ``circuit.plan``); and ``circuit.run(batching=False)``, the per-gate
  loops, so that what batching gains (or loses) shows;
* reference (a): a flat Python tape of ``(op, input slots, output slot)`` over
  the same circuit, run by one loop with the ops written inline (one test
  tells the unary ops from the others, then a short if-chain: the MLP's
  ``mul``, ``add`` and ``relu`` come first);
* reference (b): micrograd's own ``MLP`` (``micrograd.nn``, built on
  ``micrograd.engine.Value``) with the same weights, when importable; for the
  MLPs only (micrograd's ``Value`` has no ``sin``, ``tanh`` or ``exp``).

Every reference's output and gradients, and those of the per-gate loops, are
checked against gatekit's run before any timing is reported; a mismatch
aborts with :class:`MismatchError`. Times are the best of N runs
(``time.perf_counter``), the contestants alternating round by round; nothing
is asserted about them, since the machines are shared and noisy. The
report ends with the ratios to the tape per family and a line on issue 14's
targets. The garbage collector is left in its default state for every timed
run (``gatekit.load`` pauses it inside itself, which is part of what it
costs); ``gc.collect()`` runs between runs, outside the timed region, so no
run pays for the previous one's garbage. The gc-paused figures for the bare
parse and for micrograd are printed beside, for information. Each family and
size is measured in a fresh Python process (``--in-process`` to not): see
:func:`worker`.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import functools
import gc
import io
import json
import math
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import gatekit
from gatekit.engine import scheduler

# Binary (and variadic) ops first, then the unary ones from RELU on: the tape
# tells them apart with one comparison, then walks a short if-chain.
MUL, ADD, SUB, DIV, MAX, MIN = range(6)
RELU, TANH, SIN, COS, EXP, LOG, SQRT, SQUARE, NEG, SIGMOID = range(6, 16)
FIRST_UNARY = RELU
OP_NAMES = {
    MUL: "mul",
    ADD: "add",
    SUB: "sub",
    DIV: "div",
    MAX: "max",
    MIN: "min",
    RELU: "relu",
    TANH: "tanh",
    SIN: "sin",
    COS: "cos",
    EXP: "exp",
    LOG: "log",
    SQRT: "sqrt",
    SQUARE: "square",
    NEG: "neg",
    SIGMOID: "sigmoid",
}
MICROGRAD_OPS = {MUL, ADD, SUB, DIV, RELU, SQUARE, NEG}  # what micrograd's Value can do
FAMILIES = ("mlp", "chain", "dag", "dag-any", "wide")
REL_TOL = 1e-9
TARGET_NODES = 60_000
MISMATCH_EXIT = 3  # a worker's exit status when a reference disagrees with gatekit

CHAIN_SCALE = 0.9  # the chain's mul constant
DAG_WINDOW = 100  # a DAG gate reads from this many nodes before it
DAG_LEAVES = 16  # the DAG's inputs and params, 8 of each
DAG_BOUND = 3.0  # every DAG value lies in [-DAG_BOUND, DAG_BOUND]
WIDE_INPUTS = 4

Gate = tuple[int, str, tuple[str | float, ...]]  # (op, output name, input names or number constants)


class MismatchError(AssertionError):
    """A reference disagrees with gatekit: no timing of it means anything."""


# -- the circuits -------------------------------------------------------------


@dataclass
class ScalarCircuit:
    """One circuit, as plain data from which the YAML, the tape and micrograd's model are made."""

    family: str
    shape: str  # what it is, in a few words: "MLP(40, [80, 80, 1])"
    inputs: dict[str, float]
    params: dict[str, float]  # an MLP's in micrograd's MLP.parameters() order: per neuron, w..., then b
    gates: list[Gate]  # topological (generation) order
    output: str
    nin: int = 0  # an MLP's shape, for micrograd's model
    width: int = 0

    @property
    def n_gates(self) -> int:
        return len(self.gates)

    @property
    def n_nodes(self) -> int:
        return len(self.inputs) + len(self.params) + len(self.gates)

    @property
    def ops(self) -> set[int]:
        return {op for op, _, _ in self.gates}


def shape_counts(nin: int, width: int) -> tuple[int, int]:
    """``(gates, nodes)`` of ``MLP(nin, [width, width, 1])``; nodes = leaves + gates."""
    gates = params = 0
    for fan_in, fan_out, nonlin in ((nin, width, True), (width, width, True), (width, 1, False)):
        gates += fan_out * (fan_in + 1 + nonlin)  # the products, the add, the relu
        params += fan_out * (fan_in + 1)  # the weights, the bias
    return gates, nin + params + gates


def choose_shape(target: int, by: str = "gates") -> tuple[int, int]:
    """``(nin, width)`` with ``nin = width // 2`` whose gate (or node) count is nearest ``target``."""
    index = 0 if by == "gates" else 1
    best: tuple[int, int, int] | None = None
    for width in range(2, 4096):
        nin = max(2, width // 2)
        count = shape_counts(nin, width)[index]
        if best is None or abs(count - target) < best[0]:
            best = (abs(count - target), nin, width)
        if count > 2 * target:
            break
    assert best is not None
    return best[1], best[2]


def build_mlp(nin: int, width: int, seed: int = 0) -> ScalarCircuit:
    rng = random.Random(seed)
    inputs = {f"x{i}": rng.uniform(-1.0, 1.0) for i in range(nin)}
    params: dict[str, float] = {}
    gates: list[Gate] = []
    sizes = [nin, width, width, 1]
    act = list(inputs)
    for layer in range(3):
        nonlin = layer < 2
        outs = []
        for j in range(sizes[layer + 1]):
            bias = f"b{layer}_{j}"
            # Bias first: micrograd's sum(products, self.b) adds in this order,
            # so all three compute bit-for-bit the same forward values.
            terms: list[str | float] = [bias]
            for i, a in enumerate(act):
                w = f"w{layer}_{j}_{i}"
                params[w] = rng.uniform(-1.0, 1.0)
                product = f"m{layer}_{j}_{i}"
                gates.append((MUL, product, (w, a)))
                terms.append(product)
            params[bias] = rng.uniform(-1.0, 1.0)
            total = f"s{layer}_{j}"
            gates.append((ADD, total, tuple(terms)))
            if nonlin:
                gates.append((RELU, f"r{layer}_{j}", (total,)))
                outs.append(f"r{layer}_{j}")
            else:
                outs.append(total)
        act = outs
    shape = f"MLP({nin}, [{width}, {width}, 1])"
    return ScalarCircuit("mlp", shape, inputs, params, gates, act[0], nin, width)


def build_chain(n: int, seed: int = 0) -> ScalarCircuit:
    """``n`` gates in one line: sin, mul by :data:`CHAIN_SCALE`, add ``shift``, tanh, and again."""
    rng = random.Random(seed)
    inputs = {"x": rng.uniform(-1.0, 1.0)}
    params = {"shift": rng.uniform(-0.1, 0.1)}
    cycle: list[tuple[int, tuple[str | float, ...]]] = [
        (SIN, ()),
        (MUL, (CHAIN_SCALE,)),
        (ADD, ("shift",)),
        (TANH, ()),
    ]
    gates: list[Gate] = []
    previous = "x"
    for i in range(n):
        op, more = cycle[i % len(cycle)]
        name = f"c{i}"
        gates.append((op, name, (previous, *more)))
        previous = name
    return ScalarCircuit("chain", "chain of sin, mul, add, tanh", inputs, params, gates, previous)


DAG_OPS = (ADD, MUL, SUB, DIV, MAX, MIN, RELU, TANH, SIN, COS, EXP, LOG, SQRT, SQUARE, NEG, SIGMOID)


def dag_value(op: int, xs: Sequence[float]) -> float | None:
    """What ``op`` gives on ``xs`` (as the tape computes it), or ``None`` outside its safe domain."""
    a = xs[0]
    if op == ADD:
        return sum(xs, 0.0)
    if op in (MUL, SUB, DIV, MAX, MIN):
        b = xs[1]
        if op == DIV:
            return a / b if abs(b) >= 0.5 else None
        return {MUL: a * b, SUB: a - b, MAX: a if a >= b else b, MIN: a if a <= b else b}[op]
    if op in (LOG, SQRT) and a < 0.25:  # local gradients 1/a and 0.5/sqrt(a) stay small
        return None
    return UNARY[op](a)


UNARY: dict[int, Callable[[float], float]] = {
    RELU: lambda a: a if a > 0.0 else 0.0,
    TANH: math.tanh,
    SIN: math.sin,
    COS: math.cos,
    EXP: math.exp,
    LOG: math.log,
    SQRT: math.sqrt,
    SQUARE: lambda a: a * a,
    NEG: lambda a: -a,
    SIGMOID: lambda a: 1.0 / (1.0 + math.exp(-a)) if a >= 0.0 else math.exp(a) / (1.0 + math.exp(a)),
}


def build_dag(n: int, seed: int = 0, window: int | None = DAG_WINDOW) -> ScalarCircuit:
    """``n - 1`` random gates of :data:`DAG_OPS` with fan-out, and the ``add`` of the nodes nobody reads.

    A gate's inputs are drawn from the ``window`` nodes before it (from any
    node before it where ``window`` is ``None``), or now and then a leaf.
    """
    rng = random.Random(seed)
    half = DAG_LEAVES // 2
    inputs = {f"x{i}": rng.uniform(-1.0, 1.0) for i in range(half)}
    params = {f"p{i}": rng.uniform(-1.0, 1.0) for i in range(half)}
    nodes = [*inputs, *params]
    values = [*inputs.values(), *params.values()]
    read = [False] * len(nodes)
    gates: list[Gate] = []
    for i in range(n - 1):
        start = 0 if window is None else max(0, len(nodes) - window)
        op, picked, value = draw_dag_gate(rng, values, start)
        name = f"g{i}"
        gates.append((op, name, tuple(nodes[at] for at in picked)))
        for at in picked:
            read[at] = True
        nodes.append(name)
        values.append(value)
        read.append(False)
    # Every node nobody reads, a leaf too (so that none is unused), goes into the loss.
    sinks = tuple(name for name, was_read in zip(nodes, read, strict=True) if not was_read)
    gates.append((ADD, "loss", sinks if len(sinks) > 1 else (*sinks, nodes[-2])))
    where = "any node before" if window is None else f"the {window} nodes before"
    shape = f"random DAG of {len(DAG_OPS)} gate types, inputs from {where}"
    return ScalarCircuit("dag-any" if window is None else "dag", shape, inputs, params, gates, "loss")


def draw_dag_gate(rng: random.Random, values: list[float], start: int) -> tuple[int, list[int], float]:
    """``(op, input positions, value)`` of a random gate on the nodes from ``start`` on, or on leaves.

    Drawn again until its inputs are in its safe domain and its value within
    ``DAG_BOUND``; after 20 draws, ``tanh``, which is safe anywhere.
    """
    picked: list[int] = []
    for _ in range(20):
        op = rng.choice(DAG_OPS)
        arity = rng.choice((2, 3)) if op == ADD else 2 if op < FIRST_UNARY else 1
        picked = []
        while len(picked) < arity:
            at = rng.randrange(DAG_LEAVES) if rng.random() < 0.05 else rng.randrange(start, len(values))
            if at not in picked:
                picked.append(at)
        value = dag_value(op, [values[at] for at in picked])
        if value is not None and abs(value) <= DAG_BOUND:
            return op, picked, value
    return TANH, picked[:1], math.tanh(values[picked[0]])


def build_wide(n: int, seed: int = 0) -> ScalarCircuit:
    """Small expressions over :data:`WIDE_INPUTS` inputs, 3 or 4 gates each, summed: about ``n`` gates."""
    rng = random.Random(seed)
    inputs = {f"x{i}": rng.uniform(-1.0, 1.0) for i in range(WIDE_INPUTS)}
    params: dict[str, float] = {}
    gates: list[Gate] = []
    terms: list[str | float] = []
    i = 0
    while len(gates) + 1 < n or len(terms) < 2:
        x, other = f"x{i % WIDE_INPUTS}", f"x{(i + 1) % WIDE_INPUTS}"
        w, b = f"w{i}", f"b{i}"
        params[w] = rng.uniform(-1.0, 1.0)
        kind = i % 3
        if kind == 0:  # tanh(w * x + b)
            params[b] = rng.uniform(-1.0, 1.0)
            gates += [
                (MUL, f"m{i}", (w, x)),
                (ADD, f"s{i}", (f"m{i}", b)),
                (TANH, f"t{i}", (f"s{i}",)),
            ]
        elif kind == 1:  # sigmoid(x - w) * x'
            gates += [
                (SUB, f"d{i}", (x, w)),
                (SIGMOID, f"g{i}", (f"d{i}",)),
                (MUL, f"t{i}", (f"g{i}", other)),
            ]
        else:  # exp(-(w * x)^2)
            gates += [
                (MUL, f"m{i}", (w, x)),
                (SQUARE, f"q{i}", (f"m{i}",)),
                (NEG, f"n{i}", (f"q{i}",)),
                (EXP, f"t{i}", (f"n{i}",)),
            ]
        terms.append(f"t{i}")
        i += 1
    gates.append((ADD, "total", tuple(terms)))
    shape = f"{i:,} expressions over {WIDE_INPUTS} inputs, summed"
    return ScalarCircuit("wide", shape, inputs, params, gates, "total")


def build(family: str, size: int, seed: int = 0) -> ScalarCircuit:
    """The circuit of ``family`` with about ``size`` gates."""
    if family == "mlp":
        return build_mlp(*choose_shape(size), seed)
    if family == "chain":
        return build_chain(size, seed)
    if family == "dag":
        return build_dag(size, seed)
    if family == "dag-any":
        return build_dag(size, seed, window=None)
    if family == "wide":
        return build_wide(size, seed)
    raise ValueError(f"no family {family!r} (known: {', '.join(FAMILIES)})")


def to_yaml(circuit: ScalarCircuit) -> str:
    lines = [
        "gatekit: 1",
        f"name: {circuit.family}_{circuit.n_gates}",
        f"doc: '{circuit.shape}, gate by gate'",
        "inputs:",
    ]
    lines += [f"  {name}: {value!r}" for name, value in circuit.inputs.items()]
    lines.append("params:")
    lines += [f"  {name}: {value!r}" for name, value in circuit.params.items()]
    lines.append("gates:")
    for op, out, ins in circuit.gates:
        wires = ", ".join(x if isinstance(x, str) else repr(x) for x in ins)
        lines.append(f"  {out}: {{gate: {OP_NAMES[op]}, in: [{wires}]}}")
    lines.append(f"outputs: [{circuit.output}]")
    return "\n".join(lines) + "\n"


# -- reference (a): a flat tape ------------------------------------------------


@dataclass
class Tape:
    steps: list[tuple[int, tuple[int, ...], int]]  # (op, input slots, output slot)
    initial: list[float]
    slots: dict[str, int]
    root: int


def build_tape(circuit: ScalarCircuit) -> Tape:
    """The circuit as a tape; each number constant gets a slot of its own, after the gates'."""
    names = [*circuit.inputs, *circuit.params, *(out for _, out, _ in circuit.gates)]
    slots = {name: i for i, name in enumerate(names)}
    constants: dict[float, int] = {}
    for _, _, ins in circuit.gates:
        for x in ins:
            if not isinstance(x, str):
                constants.setdefault(x, len(names) + len(constants))
    initial = [*circuit.inputs.values(), *circuit.params.values()] + [0.0] * len(circuit.gates)
    initial += list(constants)
    steps = [
        (op, tuple(slots[x] if isinstance(x, str) else constants[x] for x in ins), slots[out])
        for op, out, ins in circuit.gates
    ]
    return Tape(steps, initial, slots, slots[circuit.output])


def tape_forward(tape: Tape) -> list[float]:
    # Locals, not globals: each test in the loop is then one fast load.
    mul, add, sub, div, maximum, first_unary = MUL, ADD, SUB, DIV, MAX, FIRST_UNARY
    relu, tanh_, sin_, cos_, exp_, log_, sqrt_ = RELU, TANH, SIN, COS, EXP, LOG, SQRT
    square, neg = SQUARE, NEG
    tanh, sin, cos, exp, log, sqrt = math.tanh, math.sin, math.cos, math.exp, math.log, math.sqrt
    values = tape.initial.copy()
    for op, ins, out in tape.steps:
        if op >= first_unary:
            x = values[ins[0]]
            if op == relu:
                values[out] = x if x > 0.0 else 0.0
            elif op == tanh_:
                values[out] = tanh(x)
            elif op == sin_:
                values[out] = sin(x)
            elif op == cos_:
                values[out] = cos(x)
            elif op == exp_:
                values[out] = exp(x)
            elif op == log_:
                values[out] = log(x)
            elif op == sqrt_:
                values[out] = sqrt(x)
            elif op == square:
                values[out] = x * x
            elif op == neg:
                values[out] = -x
            elif x >= 0.0:  # sigmoid, as gatekit computes it: no overflow either side
                values[out] = 1.0 / (1.0 + exp(-x))
            else:
                e = exp(x)
                values[out] = e / (1.0 + e)
        elif op == mul:
            a, b = ins
            values[out] = values[a] * values[b]
        elif op == add:
            total = 0.0  # 0.0 + v == v: the same sums as gatekit's left-to-right add
            for i in ins:
                total += values[i]
            values[out] = total
        elif op == sub:
            a, b = ins
            values[out] = values[a] - values[b]
        elif op == div:
            a, b = ins
            values[out] = values[a] / values[b]
        else:
            a, b = ins
            x, y = values[a], values[b]
            if op == maximum:
                values[out] = x if x >= y else y
            else:
                values[out] = x if x <= y else y
    return values


def tape_backward(tape: Tape, values: list[float]) -> list[float]:
    # Locals, not globals: each test in the loop is then one fast load.
    mul, add, sub, div, maximum, first_unary = MUL, ADD, SUB, DIV, MAX, FIRST_UNARY
    relu, tanh_, sin_, cos_, exp_, log_, sqrt_ = RELU, TANH, SIN, COS, EXP, LOG, SQRT
    square, neg = SQUARE, NEG
    sin, cos = math.sin, math.cos
    grads = [0.0] * len(values)
    grads[tape.root] = 1.0
    for op, ins, out in reversed(tape.steps):
        upstream = grads[out]
        if op >= first_unary:
            a = ins[0]
            if op == relu:
                if values[a] > 0.0:
                    grads[a] += upstream
            elif op == tanh_:
                y = values[out]
                grads[a] += (1.0 - y * y) * upstream
            elif op == sin_:
                grads[a] += cos(values[a]) * upstream
            elif op == cos_:
                grads[a] -= sin(values[a]) * upstream
            elif op == exp_:
                grads[a] += values[out] * upstream
            elif op == log_:
                grads[a] += (1.0 / values[a]) * upstream
            elif op == sqrt_:
                grads[a] += (0.5 / values[out]) * upstream
            elif op == square:
                grads[a] += (2.0 * values[a]) * upstream
            elif op == neg:
                grads[a] -= upstream
            else:  # sigmoid
                y = values[out]
                grads[a] += y * (1.0 - y) * upstream
        elif op == mul:
            a, b = ins
            grads[a] += values[b] * upstream
            grads[b] += values[a] * upstream
        elif op == add:
            for i in ins:
                grads[i] += upstream
        elif op == sub:
            a, b = ins
            grads[a] += upstream
            grads[b] -= upstream
        elif op == div:
            a, b = ins
            inverse = 1.0 / values[b]
            grads[a] += inverse * upstream
            grads[b] += -values[out] * inverse * upstream
        elif op == maximum:  # max and min: all of it to the input chosen, a on a tie
            a, b = ins
            grads[a if values[a] >= values[b] else b] += upstream
        else:
            a, b = ins
            grads[a if values[a] <= values[b] else b] += upstream
    return grads


def tape_run(tape: Tape) -> tuple[list[float], list[float]]:
    values = tape_forward(tape)
    return values, tape_backward(tape, values)


# -- reference (b): micrograd ----------------------------------------------------


def import_micrograd() -> tuple[Any, Any] | str:
    """``(Value, MLP)``, or the reason micrograd cannot be used."""
    try:
        from micrograd.engine import Value
        from micrograd.nn import MLP
    except ImportError as exc:
        return f"micrograd is not importable ({exc}); pip install micrograd (the 'bench' extra)"
    return Value, MLP


class MicrogradModel:
    """micrograd's own ``MLP(nin, [h, h, 1])`` with the circuit's weights; inputs as ``Value``s."""

    def __init__(self, circuit: ScalarCircuit, value_cls: Any, mlp_cls: Any) -> None:
        self.model = mlp_cls(circuit.nin, [circuit.width, circuit.width, 1])
        parameters = self.model.parameters()
        if len(parameters) != len(circuit.params):
            raise MismatchError(
                f"micrograd has {len(parameters)} parameters, the circuit {len(circuit.params)}"
            )
        self.leaves: dict[str, Any] = {}
        for (name, value), p in zip(circuit.params.items(), parameters, strict=True):
            p.data = value
            self.leaves[name] = p
        self.xs = [value_cls(value) for value in circuit.inputs.values()]
        self.leaves.update(zip(circuit.inputs, self.xs, strict=True))
        # build_topo recurses once per node on the longest path.
        self.depth = circuit.nin + 2 * circuit.width + 16

    def zero_grad(self) -> None:
        for leaf in self.leaves.values():
            leaf.grad = 0

    def forward(self) -> Any:
        return self.model(self.xs)


@contextlib.contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


# -- checks ----------------------------------------------------------------------


def check_match(who: str, want: dict[str, float], got: dict[str, float]) -> float:
    """Raise :class:`MismatchError` unless ``got`` equals ``want`` to ``REL_TOL``; return the max error.

    The error is relative, with an absolute floor of ``REL_TOL * 1e-3`` times
    the largest gradient, for entries that cancel to (almost) zero, where a
    different but equally valid order of the ``+=`` on fan-out shows up.
    """
    if want.keys() != got.keys():
        missing = sorted(set(want) ^ set(got))[:5]
        raise MismatchError(f"{who}: not the same names as gatekit's grads (e.g. {missing})")
    scale = max((abs(v) for v in want.values()), default=1.0) or 1.0
    floor = REL_TOL * 1e-3 * scale
    worst = 0.0
    bad = []
    for name, w in want.items():
        g = got[name]
        error = abs(g - w) / max(abs(w), floor)
        worst = max(worst, error)
        if not math.isclose(g, w, rel_tol=REL_TOL, abs_tol=floor):
            bad.append(f"{name}: gatekit {w!r}, {who} {g!r}")
    if bad:
        raise MismatchError(
            f"{who} disagrees with gatekit on {len(bad)} of {len(want)}: " + "; ".join(bad[:5])
        )
    return worst


# -- timing ----------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> Callable[[], tuple[float]]:
    """``fn`` as a contestant of :func:`best_interleaved`: its wall time, not its result's freeing."""

    def contestant() -> tuple[float]:
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        del result
        return (elapsed,)

    return contestant


def best_interleaved(
    contestants: dict[str, Callable[[], tuple[float, ...]]], repeat: int
) -> dict[str, tuple[float, ...]]:
    """Each contestant's best times (per phase) over ``repeat`` rounds.

    A contestant times itself and returns its phases' times. The rounds
    alternate the contestants, so a slow spell of a shared machine hits all of
    them, not one; ``gc.collect()`` runs before each call, outside its timing.
    """
    best: dict[str, tuple[float, ...]] = {}
    for _ in range(repeat):
        for name, contestant in contestants.items():
            gc.collect()
            times = contestant()
            best[name] = tuple(map(min, best[name], times)) if name in best else times
    return best


def bare_parse(path: Path) -> Any:
    return yaml.load(open(path).read(), Loader=yaml.CSafeLoader)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the garbage collector for one call, as ``gatekit.load`` does inside itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def time_loads(path: Path, repeat: int) -> tuple[float, float, float, Any]:
    """Best of ``repeat``, interleaved: gatekit.load, the bare parse, the bare parse with gc paused.

    The last is for information only: ``gatekit.load`` pauses the collector
    inside itself, the bare parse (the target's yardstick) runs as users run it.
    """
    best_load = best_parse = best_parse_paused = math.inf
    circuit = None
    for _ in range(repeat):
        circuit = None
        gc.collect()
        start = time.perf_counter()
        circuit = gatekit.load(path)
        best_load = min(best_load, time.perf_counter() - start)
        gc.collect()
        start = time.perf_counter()
        bare_parse(path)
        best_parse = min(best_parse, time.perf_counter() - start)
        gc.collect()
        with collector_paused():
            start = time.perf_counter()
            bare_parse(path)
            best_parse_paused = min(best_parse_paused, time.perf_counter() - start)
    return best_load, best_parse, best_parse_paused, circuit


# -- one size ----------------------------------------------------------------------


@dataclass
class Row:
    label: str  # the size asked for, "1e4"
    family: str
    size: int
    shape: str
    gates: int
    nodes: int
    yaml_bytes: int
    load: float
    parse: float
    parse_paused: float
    nin: int = 0  # an MLP's shape
    width: int = 0
    groups: int = 0  # circuit.batched's groups; 0: the cost model keeps the per-gate loops
    batched_gates: int = 0  # the gates in those groups
    run: float = math.nan
    forward: float = math.nan
    backward: float = math.nan
    per_gate: float = math.nan  # circuit.run(batching=False)
    tape_total: float = math.nan
    tape_forward: float = math.nan
    tape_backward: float = math.nan
    micrograd_forward: float = math.nan
    micrograd_backward: float = math.nan
    micrograd_total: float = math.nan
    micrograd_paused: float = math.nan  # forward + backward with the collector paused
    micrograd_note: str = ""
    checks: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.family} {self.label}"

    @property
    def batching(self) -> str:
        """What the cost model chose: "7 groups of 10,000 gates" or "per-gate"."""
        if not self.groups:
            return "per-gate"
        return f"{self.groups:,} groups of {self.batched_gates:,} gates"


def ns_per(seconds: float, gates: int) -> float:
    return seconds / gates * 1e9


def yaml_path(folder: Path, circuit: ScalarCircuit) -> Path:
    return folder / f"{circuit.family}_{circuit.n_gates}.yaml"


def measure_load(
    label: str, size: int, circuit: ScalarCircuit, folder: Path, args: argparse.Namespace
) -> tuple[Row, Any]:
    path = yaml_path(folder, circuit)
    path.write_text(to_yaml(circuit))
    # The MLPs' loads are the yardstick; the other families' are for information, timed once.
    load, parse, parse_paused, loaded = time_loads(path, args.load_repeat if circuit.family == "mlp" else 1)
    check_counts(circuit, loaded)
    row = Row(
        label,
        circuit.family,
        size,
        circuit.shape,
        circuit.n_gates,
        circuit.n_nodes,
        path.stat().st_size,
        load,
        parse,
        parse_paused,
        circuit.nin,
        circuit.width,
    )
    return row, loaded


def check_counts(circuit: ScalarCircuit, loaded: gatekit.Circuit) -> None:
    if len(loaded.plan.forward) != circuit.n_gates or len(loaded.plan.slots) != circuit.n_nodes:
        raise MismatchError(
            f"gatekit compiled {len(loaded.plan.forward)} gates and {len(loaded.plan.slots)} nodes; "
            f"the generator wrote {circuit.n_gates} and {circuit.n_nodes}"
        )


def phase_timer(circuit: gatekit.Circuit) -> Callable[[], tuple[float, float]]:
    """A contestant timing the forward and backward halves of the loops ``circuit.run()`` takes.

    That is what ``Circuit.run`` does, less the overrides and the Result:
    the batched loops on ``circuit.batched`` where the cost model chose
    them, the per-gate loops on ``circuit.plan`` where not.
    """
    plan = circuit.plan
    batched = circuit.batched
    if batched is None:

        def per_gate() -> tuple[float, float]:
            start = time.perf_counter()
            values = plan.initial.copy()
            scheduler.forward(plan, values)
            middle = time.perf_counter()
            grads = scheduler.backward_floats(plan, values)
            end = time.perf_counter()
            del values, grads
            return middle - start, end - middle

        return per_gate

    initial = np.array(plan.initial, dtype=np.float64)

    def in_groups() -> tuple[float, float]:
        start = time.perf_counter()
        values = initial.copy()
        with np.errstate(all="ignore"):  # as Circuit.run
            scheduler.forward_batched(batched, values)
            middle = time.perf_counter()
            grads = scheduler.backward_batched(batched, values)
        end = time.perf_counter()
        del values, grads
        return middle - start, end - middle

    return in_groups


def measure(
    size: int,
    circuit: ScalarCircuit,
    folder: Path,
    args: argparse.Namespace,
    micrograd: tuple[Any, Any] | str,
) -> Row:
    # The tape is built first, while the heap is as a fresh program's: built
    # after the loads have churned it, its tuples and slot numbers scatter
    # over memory and its loop runs up to 2-3x slower (gatekit's run does not
    # move). The reference should be the strong one.
    gc.collect()
    tape = build_tape(circuit)
    label = label_of(size)
    row, loaded = measure_load(label, size, circuit, folder, args)
    names = [*circuit.inputs, *circuit.params]
    output = circuit.output

    # gatekit's result, batched where the cost model says it pays, is the yardstick of every check.
    result = loaded.run()
    want = dict(result.grads)
    want_out = result.outputs[output]
    del result
    batched = loaded.batched
    if batched is not None:
        row.groups, row.batched_gates = batched.groups, batched.batched_gates

    # The per-gate loops: the same numbers but for the order of a fanned-out
    # wire's sums and the last bit of NumPy's exp, tanh, ... against math's.
    result = loaded.run(batching=False)
    check_match("per-gate loops (output)", {output: want_out}, {output: result.outputs[output]})
    worst = check_match("per-gate loops", want, dict(result.grads))
    row.checks.append(f"per-gate loops: output and {len(names)} grads match (max rel. error {worst:.1e})")
    del result

    # (a) the tape: check it, then time it against gatekit, round by round.
    values, grads = tape_run(tape)
    check_match("tape (output)", {output: want_out}, {output: values[tape.root]})
    worst = check_match("tape", want, {n: grads[tape.slots[n]] for n in names})
    row.checks.append(f"tape: output and {len(names)} grads match (max rel. error {worst:.1e})")
    del values, grads

    def tape_phases() -> tuple[float, float]:
        start = time.perf_counter()
        values = tape_forward(tape)
        middle = time.perf_counter()
        grads = tape_backward(tape, values)
        end = time.perf_counter()
        del values, grads
        return middle - start, end - middle

    best = best_interleaved(
        {
            "run": timed(loaded.run),
            "per-gate": timed(functools.partial(loaded.run, batching=False)),
            "tape": timed(lambda: tape_run(tape)),
            "gatekit phases": phase_timer(loaded),
            "tape phases": tape_phases,
        },
        args.repeat,
    )
    (row.run,), (row.per_gate,), (row.tape_total,) = best["run"], best["per-gate"], best["tape"]
    row.forward, row.backward = best["gatekit phases"]
    row.tape_forward, row.tape_backward = best["tape phases"]

    # (b) micrograd: the expression is built anew by every forward, as micrograd requires.
    if isinstance(micrograd, str):
        row.micrograd_note = micrograd
        return row
    model = MicrogradModel(circuit, *micrograd)

    def micrograd_phases() -> tuple[float, float, float]:
        model.zero_grad()  # untimed: gatekit starts from fresh gradients too
        start = time.perf_counter()
        out = model.forward()
        middle = time.perf_counter()
        out.backward()
        end = time.perf_counter()
        return middle - start, end - middle, end - start

    def micrograd_paused() -> tuple[float, ...]:
        with collector_paused():
            return micrograd_phases()[2:]

    limit = model.depth + 1000
    try:
        with recursion_limit(limit):
            model.zero_grad()
            out = model.forward()
            out.backward()
            check_match("micrograd (output)", {output: want_out}, {output: out.data})
            worst = check_match("micrograd", want, {n: model.leaves[n].grad for n in names})
            row.checks.append(f"micrograd: output and {len(names)} grads match (max rel. error {worst:.1e})")
            del out
            best = best_interleaved({"gc on": micrograd_phases, "gc paused": micrograd_paused}, args.repeat)
    except RecursionError:
        row.micrograd_note = (
            f"micrograd skipped at {label}: its recursive topological sort overflowed "
            f"even with sys.setrecursionlimit({limit})"
        )
        return row
    row.micrograd_forward, row.micrograd_backward, row.micrograd_total = best["gc on"]
    (row.micrograd_paused,) = best["gc paused"]
    return row


# -- report ------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def fmt(x: float, digits: int = 1) -> str:
    return "-" if math.isnan(x) else f"{x:,.{digits}f}"


def ratio(a: float, b: float, digits: int = 2) -> str:
    return "-" if math.isnan(a) or math.isnan(b) else f"{a / b:.{digits}f}x"


def report(rows: list[Row], target: Row | None) -> str:
    parts = [
        "Load: gatekit.load (read + validate + compile) vs a bare yaml.load(CSafeLoader) of the same file"
    ]
    parts.append(
        table(
            [
                "circuit",
                "gates",
                "nodes",
                "MB",
                "load ms",
                "ns/gate",
                "parse ms",
                "load/parse",
                "parse gc-off ms",
            ],
            [
                [
                    r.name,
                    f"{r.gates:,}",
                    f"{r.nodes:,}",
                    f"{r.yaml_bytes / 1e6:.2f}",
                    fmt(r.load * 1e3),
                    fmt(ns_per(r.load, r.gates), 0),
                    fmt(r.parse * 1e3),
                    ratio(r.load, r.parse),
                    fmt(r.parse_paused * 1e3),
                ]
                for r in [*rows, *([target] if target else [])]
            ],
        )
    )
    parts.append(
        "(parse: gc in its default state, the yardstick; gatekit.load pauses gc inside itself; "
        "'parse gc-off' is the same parse with gc paused, for information; the MLPs: best of each, "
        "the other families: timed once)"
    )
    if target is not None:
        verdict = "meets" if target.load <= target.parse else "misses"
        parts.append(
            f"target (gatekit.load of a ~{TARGET_NODES // 1000}k-node circuit no slower than the bare "
            f"parse): {target.nodes:,} nodes, load/parse = {target.load / target.parse:.2f}x -> {verdict} it "
            f"(vs the gc-paused parse: {target.load / target.parse_paused:.2f}x)"
        )
    if not rows:
        return "\n".join(parts)
    parts.append("")
    parts.append("Run: circuit.run() (forward + backward) vs the hand-written tape, ns per gate")
    parts.append(
        table(
            [
                "circuit",
                "gates",
                "batching",
                "run",
                "fwd",
                "bwd",
                "per-gate",
                "tape",
                "tape fwd",
                "tape bwd",
                "gatekit/tape",
                "per-gate/tape",
                "per-gate/run",
            ],
            [
                [
                    r.name,
                    f"{r.gates:,}",
                    r.batching,
                    fmt(ns_per(r.run, r.gates)),
                    fmt(ns_per(r.forward, r.gates)),
                    fmt(ns_per(r.backward, r.gates)),
                    fmt(ns_per(r.per_gate, r.gates)),
                    fmt(ns_per(r.tape_total, r.gates)),
                    fmt(ns_per(r.tape_forward, r.gates)),
                    fmt(ns_per(r.tape_backward, r.gates)),
                    ratio(r.run, r.tape_total),
                    ratio(r.per_gate, r.tape_total),
                    ratio(r.per_gate, r.run),
                ]
                for r in rows
            ],
        )
    )
    parts.append(
        "(batching: circuit.batched, the groups that run as one call each and the gates in them, or "
        "'per-gate' where the cost model keeps the per-gate loops; fwd/bwd: the halves of the loops run() "
        "takes, through gatekit.engine.scheduler, best of each; per-gate: circuit.run(batching=False); "
        "gatekit/tape: how many times slower gatekit's run is than the tape; per-gate/run: how many times "
        "faster batching makes the run, about 1.00x where it is not batched)"
    )
    mlps = [r for r in rows if r.family == "mlp"]
    if mlps:
        parts.append("")
        parts.append("micrograd: its own MLP with the same weights, ns per gatekit gate")
        parts.append(
            table(
                [
                    "circuit",
                    "gates",
                    "mg fwd",
                    "mg bwd",
                    "mg total",
                    "gatekit run",
                    "micrograd/gatekit",
                    "mg gc-off",
                ],
                [
                    [
                        r.name,
                        f"{r.gates:,}",
                        fmt(ns_per(r.micrograd_forward, r.gates)),
                        fmt(ns_per(r.micrograd_backward, r.gates)),
                        fmt(ns_per(r.micrograd_total, r.gates)),
                        fmt(ns_per(r.run, r.gates)),
                        ratio(r.micrograd_total, r.run, 1),
                        f"{fmt(ns_per(r.micrograd_paused, r.gates))} ({ratio(r.micrograd_paused, r.run, 1)})",
                    ]
                    for r in mlps
                ],
            )
        )
        parts.append(
            "(fwd = building the Value graph, bwd = .backward(); micrograd's graph has a binary add per "
            "product where gatekit has one variadic add per neuron; micrograd/gatekit: how many times "
            "faster gatekit is, both with gc in its default state; 'mg gc-off': micrograd total with gc "
            "paused, for information)"
        )
    notes = [r.micrograd_note for r in rows if r.micrograd_note]
    parts += [f"note: {n}" for n in dict.fromkeys(notes)]
    parts.append("")
    parts.append("gatekit/tape by family (the per-gate loops/tape in brackets):")
    for family in dict.fromkeys(r.family for r in rows):
        figures = [
            f"{r.label} {ratio(r.run, r.tape_total)} ({ratio(r.per_gate, r.tape_total)})"
            for r in rows
            if r.family == family
        ]
        parts.append(f"  {family}: " + ", ".join(figures))
    parts.append(targets(rows))
    return "\n".join(parts)


def targets(rows: list[Row]) -> str:
    """Issue 14's run targets, met or missed by this run's figures (which are noisy: nothing is asserted)."""
    lines = ["targets (issue 14; this run's best-of figures):"]
    mlps = [r for r in rows if r.family == "mlp" and 10_000 <= r.size <= 100_000]
    figures = []
    met = True
    for r in mlps:
        met = met and r.run <= 0.5 * r.tape_total
        if math.isnan(r.micrograd_total):
            figures.append(f"{r.label} {ratio(r.run, r.tape_total)} the tape, micrograd not measured")
            continue
        met = met and r.micrograd_total >= 100 * r.run
        speedup = ratio(r.micrograd_total, r.run, 0)
        figures.append(f"{r.label} {ratio(r.run, r.tape_total)} the tape, {speedup} faster than micrograd")
    measured = "; ".join(figures) + (" -> met" if met else " -> missed") if mlps else "none measured"
    goal = "MLPs of 1e4 to 1e5 gates at most 0.5x the tape and at least 100x faster than micrograd"
    lines.append(f"  {goal}: {measured}")
    deep = [r for r in rows if r.family in ("chain", "dag", "dag-any")]
    over = [r for r in deep if not r.run <= 2 * r.tape_total]
    if not deep:
        measured = "none measured"
    elif over:
        measured = "missed by " + ", ".join(f"{r.name} ({ratio(r.run, r.tape_total)})" for r in over)
    else:
        measured = f"met (at most {max(r.run / r.tape_total for r in deep):.2f}x)"
    lines.append(f"  chains and random DAGs at most 2x the tape: {measured}")
    return "\n".join(lines)


def profile(path: Path) -> str:
    """cProfile of gatekit.load and of circuit.run on one file: top 15 by tottime."""
    out = io.StringIO()
    for what in ("load", "run"):
        circuit = gatekit.load(path) if what == "run" else None
        profiler = cProfile.Profile()
        profiler.enable()
        if circuit is None:
            gatekit.load(path)
        else:
            circuit.run()
        profiler.disable()
        out.write(f"\ncProfile of gatekit.{what} ({path.name}), top 15 by tottime\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


# -- main ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--families", help=f"circuit families, comma-separated (default all: {','.join(FAMILIES)})"
    )
    parser.add_argument(
        "--sizes", help="approximate gate counts, comma-separated, for every family (default 1e3,1e4,1e5)"
    )
    parser.add_argument("--repeat", type=int, help="runs per timing, best taken (default 5; --quick 2)")
    parser.add_argument(
        "--load-repeat",
        type=int,
        help="loads of each MLP per timing, best taken (default 3; --quick 1); the other families: one",
    )
    parser.add_argument(
        "--target-nodes",
        type=int,
        help=f"also compare loads on an MLP of about this many nodes (default {TARGET_NODES}; "
        "--quick 0; 0 skips it)",
    )
    parser.add_argument("--quick", action="store_true", help="1e3 and 1e4 gates, few repeats: a smoke test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-micrograd", action="store_true", help="skip reference (b)")
    parser.add_argument("--profile", action="store_true", help="cProfile load and run of the last circuit")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="measure every circuit in this process (by default each gets a fresh one: see worker())",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # "FAMILY:N" or "nodes:N": one row as JSON
    args = parser.parse_args(argv)
    args.families = FAMILIES if args.families is None else tuple(args.families.split(","))
    unknown = [family for family in args.families if family not in FAMILIES]
    if unknown:
        parser.error(f"unknown families: {', '.join(unknown)} (known: {', '.join(FAMILIES)})")
    if args.sizes is None:
        args.sizes = "1e3,1e4" if args.quick else "1e3,1e4,1e5"
    args.sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    if args.repeat is None:
        args.repeat = 2 if args.quick else 5
    if args.load_repeat is None:
        args.load_repeat = 1 if args.quick else 3
    if args.target_nodes is None:
        args.target_nodes = 0 if args.quick else TARGET_NODES
    if args.repeat < 1 or args.load_repeat < 1 or any(s < 10 for s in args.sizes):
        parser.error("repeats must be at least 1 and sizes at least 10")
    return args


def label_of(size: int) -> str:
    exponent = math.log10(size)
    return f"1e{int(exponent)}" if exponent.is_integer() else f"{size:,}"


def measure_one(kind: str, count: int, args: argparse.Namespace) -> Row:
    """One row: a full one for a family, the load comparison alone for ``kind == "nodes"``."""
    gatekit.default_registry()  # build the plugin registry once, outside the timings
    with tempfile.TemporaryDirectory(prefix="gatekit-bench-") as tmp:
        folder = Path(tmp)
        if kind == "nodes":
            mlp = build_mlp(*choose_shape(count, by="nodes"), args.seed)
            row, _ = measure_load(f"~{count // 1000}k nodes", count, mlp, folder, args)
            return row
        circuit = build(kind, count, args.seed)
        micrograd: tuple[Any, Any] | str
        if kind != "mlp":
            missing = ", ".join(sorted(OP_NAMES[op] for op in circuit.ops - MICROGRAD_OPS))
            micrograd = f"micrograd: n/a for {kind} (its Value has no {missing})"
        elif args.no_micrograd:
            micrograd = "micrograd skipped (--no-micrograd)"
        else:
            micrograd = import_micrograd()
        return measure(count, circuit, folder, args, micrograd)


def worker(kind: str, count: int, args: argparse.Namespace) -> Row:
    """Measure one row in a fresh Python process and return it.

    Each circuit gets a process of its own because the tape's speed depends
    on the heap it is built in: after a previous size's loads and micrograd
    graphs have churned the heap, the tape runs up to 2-3x slower (its
    tuples and slot numbers land scattered over memory), while gatekit's run
    hardly moves, which would flatter gatekit.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", f"{kind}:{count}"]
    command += [
        "--seed",
        str(args.seed),
        "--repeat",
        str(args.repeat),
        "--load-repeat",
        str(args.load_repeat),
    ]
    if args.no_micrograd:
        command.append("--no-micrograd")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode == MISMATCH_EXIT:
        raise MismatchError(done.stderr.strip())
    if done.returncode != 0:
        raise RuntimeError(f"the worker for {kind}:{count} failed (exit {done.returncode}):\n{done.stderr}")
    return Row(**json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: Sequence[str] | None = None) -> list[Row]:
    """Run the benchmark and print its report; return its rows (for tests)."""
    args = parse_args(argv)
    if args.worker:
        kind, _, count = args.worker.partition(":")
        try:
            row = measure_one(kind, int(count), args)
        except MismatchError as exc:
            print(exc, file=sys.stderr)
            raise SystemExit(MISMATCH_EXIT) from None
        print(json.dumps(dataclasses.asdict(row)))
        return [row]
    started = time.perf_counter()
    one = functools.partial(measure_one if args.in_process else worker, args=args)
    micrograd = "micrograd skipped (--no-micrograd)" if args.no_micrograd else import_micrograd()
    print(
        f"gatekit {gatekit.__version__}, PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__}), "
        f"Python {sys.version.split()[0]}; best of {args.repeat} runs, {args.load_repeat} loads of an MLP; "
        f"gc {'on' if gc.isenabled() else 'off'}; "
        + ("every circuit in this process" if args.in_process else "each circuit in a fresh process")
    )
    if "mlp" in args.families and isinstance(micrograd, str):
        print(f"note: micrograd reference: {micrograd}")
    rows: list[Row] = []
    for family in args.families:
        for size in args.sizes:
            row = one(family, size)
            rows.append(row)
            print(
                f"{row.name}: {row.shape} = {row.gates:,} gates, {row.nodes:,} nodes; "
                f"load {row.load * 1e3:.1f} ms, run {row.run * 1e3:.2f} ms ({row.batching}); "
                + "; ".join(row.checks)
            )
    target = None
    if args.target_nodes:
        target = one("nodes", args.target_nodes)
        print(
            f"{target.label}: {target.shape} = {target.gates:,} gates, {target.nodes:,} nodes; "
            f"load {target.load * 1e3:.1f} ms, parse {target.parse * 1e3:.1f} ms"
        )
    if args.profile and rows:
        with tempfile.TemporaryDirectory(prefix="gatekit-bench-") as tmp:
            circuit = build(rows[-1].family, rows[-1].size, args.seed)
            path = yaml_path(Path(tmp), circuit)
            path.write_text(to_yaml(circuit))
            del circuit
            print(profile(path))
    print()
    print(report(rows, target))
    print(f"\n(total {time.perf_counter() - started:.1f} s)")
    return rows


if __name__ == "__main__":
    main()
