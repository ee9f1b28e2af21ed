"""A circuit built from modules against the same circuit written out.

Modules are expanded when a circuit is compiled, so both files compile to the
same plan: the run times should match, and loading costs only the expansion.
The circuit is a stack of ``layers`` layers of ``width`` tanh neurons over
``width`` inputs; the modular file defines the neuron once and uses it
``layers * width`` times. The gradients must agree before anything is timed.

    python benchmarks/modules.py [--width 16] [--layers 8] [--repeat 9]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gatekit


def neuron_lines(name: str, inputs: list[str], weights: list[str], bias: str, prefix: str = "") -> list[str]:
    """One tanh neuron written out: products, their sum with the bias, tanh."""
    lines = []
    products = []
    for i, (x, w) in enumerate(zip(inputs, weights, strict=True)):
        product = f"{prefix}{name}_p{i}"
        lines.append(f"  {product}: {{gate: mul, in: [{w}, {x}]}}")
        products.append(product)
    lines.append(f"  {prefix}{name}_s: {{gate: add, in: [{', '.join([*products, bias])}]}}")
    lines.append(f"  {name}: {{gate: tanh, in: [{prefix}{name}_s]}}")
    return lines


def circuits(width: int, layers: int) -> tuple[str, str]:
    """(written out, with a module): the same network, as two YAML texts."""
    inputs = [f"x{i}" for i in range(width)]
    leaves = ["inputs:"] + [f"  {x}: {0.1 * (i + 1) - 0.5!r}" for i, x in enumerate(inputs)] + ["params:"]
    flat, modular = ["gates:"], ["gates:"]
    previous = inputs
    for layer in range(layers):
        current = []
        for j in range(width):
            weights = [f"w{layer}_{j}_{i}" for i in range(width)]
            bias = f"b{layer}_{j}"
            leaves += [f"  {w}: {((i * 7 + j * 3 + layer) % 11 - 5) / 10!r}" for i, w in enumerate(weights)]
            leaves.append(f"  {bias}: 0.1")
            name = f"h{layer}_{j}"
            flat += neuron_lines(name, previous, weights, bias, prefix="")
            modular.append(f"  {name}: {{gate: neuron, in: [{', '.join([*previous, *weights, bias])}]}}")
            current.append(name)
        previous = current
    outputs = [f"outputs: [{previous[0]}]"]
    formal = [f"x{i}" for i in range(width)]
    formal_w = [f"w{i}" for i in range(width)]
    module = [
        "modules:",
        "  neuron:",
        f"    inputs: [{', '.join([*formal, *formal_w, 'b'])}]",
        "    gates:",
        *("    " + line for line in neuron_lines("out", formal, formal_w, "b")),
        "    outputs: [out]",
    ]
    return "\n".join(leaves + flat + outputs), "\n".join(module + leaves + modular + outputs)


def best(fn: Callable[[], Any], repeat: int) -> float:
    fastest = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    flat_text, modular_text = circuits(args.width, args.layers)
    with tempfile.TemporaryDirectory() as folder:
        flat_path, modular_path = Path(folder, "flat.yaml"), Path(folder, "modular.yaml")
        flat_path.write_text(flat_text)
        modular_path.write_text(modular_text)
        flat, modular = gatekit.load(flat_path), gatekit.load(modular_path)
        if flat.run().grads != modular.run().grads:
            raise AssertionError("the modular circuit's gradients differ from the written-out one's")
        gates = len(flat.plan.forward)
        figures = {
            "gates": gates,
            "load_flat": best(lambda: gatekit.load(flat_path), max(1, args.repeat // 3)),
            "load_modular": best(lambda: gatekit.load(modular_path), max(1, args.repeat // 3)),
            "run_flat": best(flat.run, args.repeat),
            "run_modular": best(modular.run, args.repeat),
        }
    print(f"{args.layers} layers of {args.width} tanh neurons: {gates:,} gates; best of {args.repeat} runs")
    print(f"{'':10}{'written out':>14}{'modules':>14}{'ratio':>8}")
    for what in ("load", "run"):
        flat_s, modular_s = figures[f"{what}_flat"], figures[f"{what}_modular"]
        print(f"{what:10}{flat_s * 1e3:11.2f} ms{modular_s * 1e3:11.2f} ms{modular_s / flat_s:7.2f}x")
    return figures


if __name__ == "__main__":
    main()
