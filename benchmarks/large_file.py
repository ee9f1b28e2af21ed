"""Large circuit files: gatekit.load's time and peak memory against a bare parse of the same file.

Usage::

    .venv/bin/python benchmarks/large_file.py [--sizes 1e5,1e6] [--shapes chain,mlp] [--repeat N] [--quick]

For each shape and size the script writes one circuit twice, as YAML and as
JSON (the same format: JSON is YAML's subset), in a temporary folder:

* ``chain``: ``g0 = sin(x)``, ``g1 = sin(g0)``, ...: one gate a line, each
  reading the one before;
* ``mlp``: a micrograd-style scalar MLP, ``MLP(nin, [h, h, 1])`` with
  ``nin = h / 2``, gate by gate (a ``mul`` per weight, an ``add`` per
  neuron, a ``relu`` per hidden neuron), with as many params as gates.

Each measurement runs in a fresh Python process that imports gatekit, loads
a small circuit (so the plugins are registered), and then times one call:

* ``gatekit.load(path)``: read, validate and compile;
* the bare parse of the same file: ``yaml.load(text, Loader=yaml.CSafeLoader)``
  for the YAML form, ``json.loads(text)`` for the JSON form, the file read
  included, the garbage collector as a user's program has it.

Time is the best of ``--repeat`` processes, the contestants alternating;
peak memory is the process's peak resident size (Linux's ``VmHWM``) past
what it held before the call, per gate. The report gives gatekit's ratio to the bare
parse, and the YAML form's load time to the JSON form's. Both forms of a
circuit must compile to the same number of gates (checked). No figure is
asserted: the machines that run this are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("yaml", "json")
SHAPES = ("chain", "mlp")
#: the issue's targets for a 1e6-gate file (printed beside the figures, never asserted)
TARGET_SECONDS = 15.0
TARGET_BYTES_PER_GATE = 1024
TARGET_JSON_SPEEDUP = 3.0

Gate = tuple[str, str, tuple[str, ...]]  # (name, gate, inputs)


# -- the circuits --------------------------------------------------------------------


@dataclass
class Circuit:
    """One circuit as plain data, written as YAML or JSON by :func:`write`."""

    inputs: dict[str, float]
    params: dict[str, float]
    gates: list[Gate]
    output: str


def chain(n: int) -> Circuit:
    gates = [("g0", "sin", ("x",))]
    gates += [(f"g{i}", "sin", (f"g{i - 1}",)) for i in range(1, n)]
    return Circuit({"x": 0.5}, {}, gates, f"g{n - 1}")


def mlp_width(gates: int) -> int:
    """The hidden width ``h`` of ``MLP(h / 2, [h, h, 1])`` whose gate count is nearest ``gates``."""
    best = (math.inf, 2)
    for width in range(2, 100_000):
        count = mlp_gates(width)
        best = min(best, (abs(count - gates), width))
        if count > gates:
            break
    return best[1]


def mlp_gates(width: int) -> int:
    nin = max(2, width // 2)
    return sum(
        fan_out * (fan_in + 1 + hidden)
        for fan_in, fan_out, hidden in ((nin, width, 1), (width, width, 1), (width, 1, 0))
    )


def mlp(n: int, seed: int = 0) -> Circuit:
    width = mlp_width(n)
    rng = random.Random(seed)
    nin = max(2, width // 2)
    inputs = {f"x{i}": rng.uniform(-1.0, 1.0) for i in range(nin)}
    params: dict[str, float] = {}
    gates: list[Gate] = []
    active = list(inputs)
    for layer, size in enumerate((width, width, 1)):
        outs = []
        for j in range(size):
            bias = f"b{layer}_{j}"
            terms = [bias]
            for i, a in enumerate(active):
                weight = f"w{layer}_{j}_{i}"
                params[weight] = rng.uniform(-1.0, 1.0)
                gates.append((f"m{layer}_{j}_{i}", "mul", (weight, a)))
                terms.append(f"m{layer}_{j}_{i}")
            params[bias] = rng.uniform(-1.0, 1.0)
            gates.append((f"s{layer}_{j}", "add", tuple(terms)))
            if layer < 2:
                gates.append((f"r{layer}_{j}", "relu", (f"s{layer}_{j}",)))
            outs.append(gates[-1][0])
        active = outs
    return Circuit(inputs, params, gates, active[0])


def yaml_lines(circuit: Circuit) -> Iterator[str]:
    for section, leaves in (("inputs", circuit.inputs), ("params", circuit.params)):
        if leaves:
            yield f"{section}:\n"
            yield from (f"  {name}: {value!r}\n" for name, value in leaves.items())
    yield "gates:\n"
    for name, gate, inputs in circuit.gates:
        yield f"  {name}: {{gate: {gate}, in: [{', '.join(inputs)}]}}\n"
    yield f"outputs: [{circuit.output}]\n"


def json_lines(circuit: Circuit) -> Iterator[str]:
    """The JSON form, one entry a line (as ``json.dump(..., indent=1)`` would, but streamed)."""
    yield "{\n"
    for section, leaves in (("inputs", circuit.inputs), ("params", circuit.params)):
        if leaves:
            yield f' "{section}": {{\n'
            yield ",\n".join(f'  "{name}": {value!r}' for name, value in leaves.items())
            yield "\n },\n"
    yield ' "gates": {\n'
    yield ",\n".join(
        f'  "{name}": {{"gate": "{gate}", "in": [{", ".join(json.dumps(i) for i in inputs)}]}}'
        for name, gate, inputs in circuit.gates
    )
    yield f'\n }},\n "outputs": ["{circuit.output}"]\n}}\n'


def write(circuit: Circuit, path: Path) -> None:
    lines = yaml_lines(circuit) if path.suffix == ".yaml" else json_lines(circuit)
    with path.open("w", encoding="utf-8") as out:
        out.writelines(lines)


# -- one measurement, in a process of its own ----------------------------------------------


def peak_resident() -> float:
    """This process's peak resident size in bytes.

    Linux's ``VmHWM``, the high-water mark of this program's own memory:
    ``ru_maxrss`` would not do, since Linux carries it across ``exec`` from
    the process that forked this one (here the benchmark, which has just
    built a million-gate circuit to write it).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    import resource  # elsewhere: ru_maxrss (KiB on Linux and BSD, bytes on macOS)

    scale = 1.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def measure_here(how: str, path: str) -> dict[str, float]:
    """Time one call and its peak memory in this (fresh) process: ``how`` is gatekit or bare."""
    import gc

    import yaml

    import gatekit

    gatekit.loads("inputs: {x: 1.0}\ngates: {y: {gate: sin, in: [x]}}\noutputs: [y]")  # plugins in
    gc.collect()
    before = peak_resident()
    start = time.perf_counter()
    gates = -1
    if how == "gatekit":
        gates = len(gatekit.load(path).plan.forward)
    elif path.endswith(".json"):
        with open(path, encoding="utf-8") as file:
            json.loads(file.read())
    else:
        with open(path, encoding="utf-8") as file:
            yaml.load(file.read(), Loader=yaml.CSafeLoader)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_bytes": peak_resident() - before, "gates": gates}


def measure(how: str, path: Path) -> dict[str, float]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", how, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measuring {how} on {path.name} failed (exit {done.returncode}):\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the report -------------------------------------------------------------------------


@dataclass
class Row:
    shape: str
    size: int
    form: str  # yaml or json
    gates: int
    file_bytes: int
    load: float  # gatekit.load, seconds (best)
    parse: float  # the bare parse, seconds (best)
    load_peak: float  # bytes past the baseline, at peak (least)
    parse_peak: float

    @property
    def per_gate(self) -> float:
        return self.load_peak / self.gates

    @property
    def ratio(self) -> float:
        return self.load / self.parse


def measure_row(shape: str, size: int, form: str, path: Path, repeat: int) -> Row:
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeat):
        for how in ("gatekit", "bare"):
            got = measure(how, path)
            if how in best:
                got = {key: min(value, best[how][key]) for key, value in got.items()}
            best[how] = got
    return Row(
        shape,
        size,
        form,
        int(best["gatekit"]["gates"]),
        path.stat().st_size,
        best["gatekit"]["seconds"],
        best["bare"]["seconds"],
        best["gatekit"]["peak_bytes"],
        best["bare"]["peak_bytes"],
    )


def report(rows: Sequence[Row]) -> None:
    print(
        f"{'circuit':<14}{'form':<6}{'gates':>11}{'file MB':>9}{'load s':>9}{'bare s':>9}"
        f"{'load/bare':>11}{'B/gate':>9}{'bare B/gate':>13}"
    )
    for row in rows:
        bare = "CSafeLoader" if row.form == "yaml" else "json.loads"
        name = f"{row.shape} {label(row.size)}"
        print(
            f"{name:<14}{row.form:<6}{row.gates:>11,}{row.file_bytes / 1e6:>9.1f}"
            f"{row.load:>9.2f}{row.parse:>9.2f}{row.ratio:>10.2f}x{row.per_gate:>9.0f}"
            f"{row.parse_peak / row.gates:>13.0f}  ({bare})"
        )
    print()
    for shape, size in dict.fromkeys((row.shape, row.size) for row in rows):
        forms = {row.form: row for row in rows if (row.shape, row.size) == (shape, size)}
        if set(forms) == set(FORMATS):
            speedup = forms["yaml"].load / forms["json"].load
            print(f"{shape} {label(size)}: the JSON form loads {speedup:.2f}x faster than the YAML form")
    print(
        f"\ntargets at 1e6 gates: load within {TARGET_SECONDS:g} s, at most {TARGET_BYTES_PER_GATE} bytes "
        f"a gate at peak, JSON at least {TARGET_JSON_SPEEDUP:g}x faster than YAML (not asserted)"
    )


def label(size: int) -> str:
    exponent = round(math.log10(size))
    return f"1e{exponent}" if 10**exponent == size else f"{size:,}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", help="gate counts, comma-separated (default 1e5,1e6; --quick 2e3)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="chain, mlp or both (default both)")
    parser.add_argument("--repeat", type=int, help="processes per timing, best taken (default 3; --quick 1)")
    parser.add_argument("--quick", action="store_true", help="a small size, once: a smoke test")
    parser.add_argument("--keep", type=Path, help="write the circuit files to this folder and keep them")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)  # HOW PATH: one measurement as JSON
    args = parser.parse_args(argv)
    sizes = args.sizes or ("2e3" if args.quick else "1e5,1e6")
    args.sizes = [int(float(text)) for text in sizes.split(",")]
    args.shapes = args.shapes.split(",")
    if unknown := set(args.shapes) - set(SHAPES):
        parser.error(f"unknown shape(s): {', '.join(sorted(unknown))} (known: {', '.join(SHAPES)})")
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    return args


def main(argv: Sequence[str] | None = None) -> list[Row]:
    """Run the benchmark and print its report; return its rows (for tests)."""
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(measure_here(*args.worker)))
        return []
    rows = []
    with tempfile.TemporaryDirectory(prefix="gatekit-large-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for shape in args.shapes:
            for size in args.sizes:
                circuit = chain(size) if shape == "chain" else mlp(size)
                paths = {form: folder / f"{shape}_{size}.{form}" for form in FORMATS}
                for path in paths.values():
                    write(circuit, path)
                del circuit
                pair = [measure_row(shape, size, form, path, args.repeat) for form, path in paths.items()]
                if pair[0].gates != pair[1].gates:
                    raise RuntimeError(f"{shape} {label(size)}: the YAML and JSON forms compiled differently")
                rows += pair
                print(f"measured {shape} {label(size)}", file=sys.stderr)
    report(rows)
    return rows


if __name__ == "__main__":
    main()
