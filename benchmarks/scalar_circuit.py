"""Scalar circuits: gatekit against a hand-written tape and micrograd, same run.

Usage::

    .venv/bin/python benchmarks/scalar_circuit.py [--sizes 1e3,1e4,1e5] [--repeat N] [--quick]

For each size the script generates a micrograd-style MLP, ``MLP(nin, [h, h, 1])``,
as a gatekit YAML file in a temporary folder: each neuron is a variadic ``add``
of its bias and its ``w_i * x_i`` products (``mul`` gates), then ``relu``
(except in the last layer); the loss is the output neuron itself. Weights,
biases (``params``) and inputs are drawn from a seeded generator.

It then measures, all in one Python process per size:

* ``gatekit.load(path)``: read, validate and compile, as one number; and a bare
  ``yaml.load(..., Loader=yaml.CSafeLoader)`` of the same file, with the
  garbage collector in its default state (also for a circuit of about 60k
  nodes, the "no slower than the bare parse" target);
* ``circuit.run()`` (forward and backward), and its two halves through
  ``gatekit.engine.scheduler.forward`` / ``backward_floats`` on ``circuit.plan``;
* reference (a): a flat Python tape of ``(op, input slots, output slot)`` over
  the same circuit, run by one loop with the ops written inline;
* reference (b): micrograd's own ``MLP`` (``micrograd.nn``, built on
  ``micrograd.engine.Value``) with the same weights, when importable.

Every reference's output and gradients are checked against gatekit's before
any timing is reported; a mismatch aborts with :class:`MismatchError`. Times
are the best of N runs (``time.perf_counter``), the contestants alternating
round by round; nothing is asserted about them, since the machines are shared
and noisy. The garbage collector is left in its default state for every timed
run (``gatekit.load`` pauses it inside itself, which is part of what it
costs); ``gc.collect()`` runs between runs, outside the timed region, so no
run pays for the previous one's garbage. The gc-paused figures for the bare
parse and for micrograd are printed beside, for information. Each size is
measured in a fresh Python process (``--in-process`` to not): see :func:`worker`.
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

import yaml

import gatekit
from gatekit.engine import scheduler

MUL, ADD, RELU = 0, 1, 2
OP_NAMES = {MUL: "mul", ADD: "add", RELU: "relu"}
REL_TOL = 1e-9
TARGET_NODES = 60_000
MISMATCH_EXIT = 3  # a worker's exit status when a reference disagrees with gatekit

Gate = tuple[int, str, tuple[str, ...]]  # (op, output name, input names)


class MismatchError(AssertionError):
    """A reference disagrees with gatekit: no timing of it means anything."""


# -- the circuit -------------------------------------------------------------


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


@dataclass
class MLPCircuit:
    """One MLP, as plain data from which the YAML, the tape and micrograd's model are made."""

    nin: int
    width: int
    inputs: dict[str, float]
    params: dict[str, float]  # in micrograd's MLP.parameters() order: per neuron, w..., then b
    gates: list[Gate]  # topological (generation) order
    output: str
    neurons: list[list[tuple[list[str], str]]] = field(default_factory=list)  # per layer: (ws, b)

    @property
    def n_gates(self) -> int:
        return len(self.gates)

    @property
    def n_nodes(self) -> int:
        return len(self.inputs) + len(self.params) + len(self.gates)


def build_mlp(nin: int, width: int, seed: int = 0) -> MLPCircuit:
    rng = random.Random(seed)
    inputs = {f"x{i}": rng.uniform(-1.0, 1.0) for i in range(nin)}
    params: dict[str, float] = {}
    gates: list[Gate] = []
    neurons: list[list[tuple[list[str], str]]] = []
    sizes = [nin, width, width, 1]
    act = list(inputs)
    for layer in range(3):
        nonlin = layer < 2
        layer_neurons = []
        outs = []
        for j in range(sizes[layer + 1]):
            ws = []
            bias = f"b{layer}_{j}"
            # Bias first: micrograd's sum(products, self.b) adds in this order,
            # so all three compute bit-for-bit the same forward values.
            terms = [bias]
            for i, a in enumerate(act):
                w = f"w{layer}_{j}_{i}"
                params[w] = rng.uniform(-1.0, 1.0)
                ws.append(w)
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
            layer_neurons.append((ws, bias))
        neurons.append(layer_neurons)
        act = outs
    return MLPCircuit(nin, width, inputs, params, gates, act[0], neurons)


def to_yaml(circuit: MLPCircuit) -> str:
    lines = [
        "gatekit: 1",
        f"name: mlp_{circuit.nin}_{circuit.width}_{circuit.width}_1",
        f"doc: micrograd-style MLP({circuit.nin}, [{circuit.width}, {circuit.width}, 1]), gate by gate",
        "inputs:",
    ]
    lines += [f"  {name}: {value!r}" for name, value in circuit.inputs.items()]
    lines.append("params:")
    lines += [f"  {name}: {value!r}" for name, value in circuit.params.items()]
    lines.append("gates:")
    lines += [f"  {out}: {{gate: {OP_NAMES[op]}, in: [{', '.join(ins)}]}}" for op, out, ins in circuit.gates]
    lines.append(f"outputs: [{circuit.output}]")
    return "\n".join(lines) + "\n"


# -- reference (a): a flat tape ------------------------------------------------


@dataclass
class Tape:
    steps: list[tuple[int, tuple[int, ...], int]]  # (op, input slots, output slot)
    initial: list[float]
    slots: dict[str, int]
    root: int


def build_tape(circuit: MLPCircuit) -> Tape:
    names = [*circuit.inputs, *circuit.params, *(out for _, out, _ in circuit.gates)]
    slots = {name: i for i, name in enumerate(names)}
    initial = [*circuit.inputs.values(), *circuit.params.values()] + [0.0] * len(circuit.gates)
    steps = [(op, tuple(slots[n] for n in ins), slots[out]) for op, out, ins in circuit.gates]
    return Tape(steps, initial, slots, slots[circuit.output])


def tape_forward(tape: Tape) -> list[float]:
    mul, add = MUL, ADD
    values = tape.initial.copy()
    for op, ins, out in tape.steps:
        if op == mul:
            a, b = ins
            values[out] = values[a] * values[b]
        elif op == add:
            total = 0.0  # 0.0 + v == v: the same sums as gatekit's left-to-right add
            for i in ins:
                total += values[i]
            values[out] = total
        else:
            x = values[ins[0]]
            values[out] = x if x > 0.0 else 0.0
    return values


def tape_backward(tape: Tape, values: list[float]) -> list[float]:
    mul, add = MUL, ADD
    grads = [0.0] * len(values)
    grads[tape.root] = 1.0
    for op, ins, out in reversed(tape.steps):
        upstream = grads[out]
        if op == mul:
            a, b = ins
            grads[a] += values[b] * upstream
            grads[b] += values[a] * upstream
        elif op == add:
            for i in ins:
                grads[i] += upstream
        elif values[ins[0]] > 0.0:
            grads[ins[0]] += upstream
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

    def __init__(self, circuit: MLPCircuit, value_cls: Any, mlp_cls: Any) -> None:
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
    label: str
    nin: int
    width: int
    gates: int
    nodes: int
    yaml_bytes: int
    load: float
    parse: float
    parse_paused: float
    run: float = math.nan
    forward: float = math.nan
    backward: float = math.nan
    tape_total: float = math.nan
    tape_forward: float = math.nan
    tape_backward: float = math.nan
    micrograd_forward: float = math.nan
    micrograd_backward: float = math.nan
    micrograd_total: float = math.nan
    micrograd_paused: float = math.nan  # forward + backward with the collector paused
    micrograd_note: str = ""
    checks: list[str] = field(default_factory=list)


def ns_per(seconds: float, gates: int) -> float:
    return seconds / gates * 1e9


def yaml_path(folder: Path, mlp: MLPCircuit) -> Path:
    return folder / f"mlp_{mlp.nin}_{mlp.width}.yaml"


def measure_load(label: str, mlp: MLPCircuit, folder: Path, args: argparse.Namespace) -> tuple[Row, Any]:
    path = yaml_path(folder, mlp)
    path.write_text(to_yaml(mlp))
    load, parse, parse_paused, circuit = time_loads(path, args.load_repeat)
    check_counts(mlp, circuit)
    row = Row(
        label, mlp.nin, mlp.width, mlp.n_gates, mlp.n_nodes, path.stat().st_size, load, parse, parse_paused
    )
    return row, circuit


def check_counts(mlp: MLPCircuit, circuit: gatekit.Circuit) -> None:
    if len(circuit.plan.forward) != mlp.n_gates or len(circuit.plan.slots) != mlp.n_nodes:
        raise MismatchError(
            f"gatekit compiled {len(circuit.plan.forward)} gates and {len(circuit.plan.slots)} nodes; "
            f"the generator wrote {mlp.n_gates} and {mlp.n_nodes}"
        )


def measure(
    label: str,
    shape: tuple[int, int],
    folder: Path,
    args: argparse.Namespace,
    micrograd: tuple[Any, Any] | str,
) -> Row:
    mlp = build_mlp(*shape, args.seed)
    # The tape is built first, while the heap is as a fresh program's: built
    # after the loads have churned it, its tuples and slot numbers scatter
    # over memory and its loop runs up to 2-3x slower (gatekit's run does not
    # move). The reference should be the strong one.
    gc.collect()
    tape = build_tape(mlp)
    row, circuit = measure_load(label, mlp, folder, args)
    names = [*mlp.inputs, *mlp.params]

    # gatekit's result is the yardstick of every check.
    result = circuit.run()
    want = dict(result.grads)
    want_out = result.outputs[mlp.output]
    del result

    # (a) the tape: check it, then time it against gatekit, round by round.
    values, grads = tape_run(tape)
    check_match("tape (output)", {mlp.output: want_out}, {mlp.output: values[tape.root]})
    worst = check_match("tape", want, {n: grads[tape.slots[n]] for n in names})
    row.checks.append(f"tape: output and {len(names)} grads match (max rel. error {worst:.1e})")
    del values, grads
    plan = circuit.plan

    def gatekit_phases() -> tuple[float, float]:
        # What Circuit.run does, less the overrides and the Result.
        start = time.perf_counter()
        values = plan.initial.copy()
        scheduler.forward(plan, values)
        middle = time.perf_counter()
        grads = scheduler.backward_floats(plan, values)
        end = time.perf_counter()
        del values, grads
        return middle - start, end - middle

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
            "run": timed(circuit.run),
            "tape": timed(lambda: tape_run(tape)),
            "gatekit phases": gatekit_phases,
            "tape phases": tape_phases,
        },
        args.repeat,
    )
    (row.run,), (row.tape_total,) = best["run"], best["tape"]
    row.forward, row.backward = best["gatekit phases"]
    row.tape_forward, row.tape_backward = best["tape phases"]

    # (b) micrograd: the expression is built anew by every forward, as micrograd requires.
    if isinstance(micrograd, str):
        row.micrograd_note = micrograd
        return row
    model = MicrogradModel(mlp, *micrograd)

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
            check_match("micrograd (output)", {mlp.output: want_out}, {mlp.output: out.data})
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
                    r.label,
                    f"{r.gates:,}",
                    f"{r.nodes:,}",
                    f"{r.yaml_bytes / 1e6:.2f}",
                    fmt(r.load * 1e3),
                    fmt(ns_per(r.load, r.gates), 0),
                    fmt(r.parse * 1e3),
                    f"{r.load / r.parse:.2f}x",
                    fmt(r.parse_paused * 1e3),
                ]
                for r in [*rows, *([target] if target else [])]
            ],
        )
    )
    parts.append(
        "(parse: gc in its default state, the yardstick; gatekit.load pauses gc inside itself; "
        "'parse gc-off' is the same parse with gc paused, for information)"
    )
    if target is not None:
        verdict = "meets" if target.load <= target.parse else "misses"
        parts.append(
            f"target (gatekit.load of a ~{TARGET_NODES // 1000}k-node circuit no slower than the bare "
            f"parse): {target.nodes:,} nodes, load/parse = {target.load / target.parse:.2f}x -> {verdict} it "
            f"(vs the gc-paused parse: {target.load / target.parse_paused:.2f}x)"
        )
    parts.append("")
    parts.append("Run: circuit.run() (forward + backward) vs the hand-written tape, ns per gate")
    parts.append(
        table(
            ["circuit", "gates", "run", "fwd", "bwd", "tape", "tape fwd", "tape bwd", "gatekit/tape"],
            [
                [
                    r.label,
                    f"{r.gates:,}",
                    fmt(ns_per(r.run, r.gates)),
                    fmt(ns_per(r.forward, r.gates)),
                    fmt(ns_per(r.backward, r.gates)),
                    fmt(ns_per(r.tape_total, r.gates)),
                    fmt(ns_per(r.tape_forward, r.gates)),
                    fmt(ns_per(r.tape_backward, r.gates)),
                    f"{r.run / r.tape_total:.2f}x",
                ]
                for r in rows
            ],
        )
    )
    parts.append(
        "(fwd/bwd: gatekit.engine.scheduler.forward/backward_floats on circuit.plan, best of each; "
        "gatekit/tape: how many times slower gatekit's run is than the tape)"
    )
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
                    r.label,
                    f"{r.gates:,}",
                    fmt(ns_per(r.micrograd_forward, r.gates)),
                    fmt(ns_per(r.micrograd_backward, r.gates)),
                    fmt(ns_per(r.micrograd_total, r.gates)),
                    fmt(ns_per(r.run, r.gates)),
                    "-" if math.isnan(r.micrograd_total) else f"{r.micrograd_total / r.run:.1f}x",
                    "-"
                    if math.isnan(r.micrograd_paused)
                    else f"{fmt(ns_per(r.micrograd_paused, r.gates))} ({r.micrograd_paused / r.run:.1f}x)",
                ]
                for r in rows
            ],
        )
    )
    parts.append(
        "(fwd = building the Value graph, bwd = .backward(); micrograd's graph has a binary add per "
        "product where gatekit has one variadic add per neuron; micrograd/gatekit: how many times faster "
        "gatekit is, both with gc in its default state; 'mg gc-off': micrograd total with gc paused, "
        "for information)"
    )
    notes = [r.micrograd_note for r in rows if r.micrograd_note]
    parts += [f"note: {n}" for n in dict.fromkeys(notes)]
    return "\n".join(parts)


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
    parser.add_argument("--sizes", help="approximate gate counts, comma-separated (default 1e3,1e4,1e5)")
    parser.add_argument("--repeat", type=int, help="runs per timing, best taken (default 5; --quick 2)")
    parser.add_argument("--load-repeat", type=int, help="loads per timing, best taken (default 3; --quick 1)")
    parser.add_argument(
        "--target-nodes",
        type=int,
        help=f"also compare loads on a circuit of about this many nodes (default {TARGET_NODES}; "
        "--quick 0; 0 skips it)",
    )
    parser.add_argument("--quick", action="store_true", help="1e3 and 1e4 gates, few repeats: a smoke test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-micrograd", action="store_true", help="skip reference (b)")
    parser.add_argument("--profile", action="store_true", help="cProfile load and run at the largest size")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="measure every size in this process (by default each gets a fresh one: see worker())",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # "gates:N" or "nodes:N": one row as JSON
    args = parser.parse_args(argv)
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
    """One row: a full one for ``kind == "gates"``, the load comparison alone for ``"nodes"``."""
    gatekit.default_registry()  # build the plugin registry once, outside the timings
    with tempfile.TemporaryDirectory(prefix="gatekit-bench-") as tmp:
        folder = Path(tmp)
        if kind == "gates":
            micrograd = "micrograd skipped (--no-micrograd)" if args.no_micrograd else import_micrograd()
            return measure(label_of(count), choose_shape(count), folder, args, micrograd)
        mlp = build_mlp(*choose_shape(count, by="nodes"), args.seed)
        row, _ = measure_load(f"~{count // 1000}k nodes", mlp, folder, args)
        return row


def worker(kind: str, count: int, args: argparse.Namespace) -> Row:
    """Measure one row in a fresh Python process and return it.

    Each size gets a process of its own because the tape's speed depends on
    the heap it is built in: after a previous size's loads and micrograd
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
        f"Python {sys.version.split()[0]}; best of {args.repeat} runs, {args.load_repeat} loads; "
        f"gc {'on' if gc.isenabled() else 'off'}; "
        + ("every size in this process" if args.in_process else "each size in a fresh process")
    )
    if isinstance(micrograd, str):
        print(f"note: micrograd reference: {micrograd}")
    rows: list[Row] = []
    for size in args.sizes:
        row = one("gates", size)
        rows.append(row)
        print(
            f"{row.label}: MLP({row.nin}, [{row.width}, {row.width}, 1]) = {row.gates:,} gates, "
            f"{row.nodes:,} nodes; load {row.load * 1e3:.1f} ms, run {row.run * 1e3:.2f} ms; "
            + "; ".join(row.checks)
        )
    target = None
    if args.target_nodes:
        target = one("nodes", args.target_nodes)
        print(
            f"{target.label}: MLP({target.nin}, [{target.width}, {target.width}, 1]) = "
            f"{target.gates:,} gates, {target.nodes:,} nodes; load {target.load * 1e3:.1f} ms, "
            f"parse {target.parse * 1e3:.1f} ms"
        )
    if args.profile and rows:
        with tempfile.TemporaryDirectory(prefix="gatekit-bench-") as tmp:
            mlp = build_mlp(rows[-1].nin, rows[-1].width, args.seed)
            path = yaml_path(Path(tmp), mlp)
            path.write_text(to_yaml(mlp))
            del mlp
            print(profile(path))
    print()
    print(report(rows, target))
    print(f"\n(total {time.perf_counter() - started:.1f} s)")
    return rows


if __name__ == "__main__":
    main()
