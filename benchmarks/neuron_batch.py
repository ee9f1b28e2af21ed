"""The seed's neuron over a batch: gatekit against hand-written NumPy (and PyTorch).

gatekit runs ``graphs/neuron.yaml`` unchanged, with ``x0`` and ``x1`` given
as arrays of B samples through ``Circuit.run``: forward and backward for the
whole batch at once, the weights' gradients summed over the batch. The
reference is the seed's own formulas written by hand in NumPy with in-place
operations into buffers allocated once, outside the timing (its best case);
PyTorch CPU autograd on one thread runs too when it is installed. Every
timing is the best of several runs in this process, taken in rounds: each
round runs every contestant a few times in a row (its own steady state),
the contestants in turn, so that a shared machine's slow spell falls on all
of them, not on one block; the gradients of all three must agree before
anything is printed.

Two calling patterns are timed, because they leave the allocator different
work: "kept" is the loop of a training script, ``result = circuit.run(...)``,
where the previous result lives until the next one exists; "dropped"
discards each result at once. gatekit computes into the arrays of results
nobody holds any more (``gatekit.engine.buffers``), so that neither pattern
faults its memory in again at every run, with no allocator settings. For
each, the table also gives the pages faulted in per run (``ru_minflt``, as
arrays of B float64: a fresh array is B / 512 pages) and the peak of memory
allocated during one run (``tracemalloc``, which NumPy reports to), in
arrays of B float64; the hand-written version allocates none.

    python benchmarks/neuron_batch.py [--sizes 1e3,1e5,1e6] [--repeat 7] [--rounds 3]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import gatekit

NEURON = Path(__file__).resolve().parent.parent / "graphs" / "neuron.yaml"
W = (2.0, -3.0, -3.0)


class Buffers:
    """Arrays the hand-written version reuses from run to run."""

    def __init__(self, size: int) -> None:
        self.dot, self.tmp, self.f, self.ddot, self.dx0, self.dx1 = (np.empty(size) for _ in range(6))


def numpy_neuron(x0: np.ndarray, x1: np.ndarray, buf: Buffers) -> dict[str, Any]:
    """The seed's forward and backward pass, in place: dot, f, ddot, dx, dw."""
    w0, w1, w2 = W
    dot, tmp, f, ddot = buf.dot, buf.tmp, buf.f, buf.ddot
    np.multiply(x0, w0, out=dot)
    np.multiply(x1, w1, out=tmp)
    dot += tmp
    dot += w2
    np.negative(dot, out=f)
    np.exp(f, out=f)
    f += 1.0
    np.reciprocal(f, out=f)  # f = 1 / (1 + exp(-dot))
    np.subtract(1.0, f, out=ddot)
    ddot *= f  # ddot = (1 - f) * f
    np.multiply(ddot, w0, out=buf.dx0)
    np.multiply(ddot, w1, out=buf.dx1)
    return {
        "f": f,
        "x0": buf.dx0,
        "x1": buf.dx1,
        "w0": float(np.dot(x0, ddot)),
        "w1": float(np.dot(x1, ddot)),
        "w2": float(ddot.sum()),
    }


def gatekit_neuron(circuit: gatekit.Circuit, x0: np.ndarray, x1: np.ndarray) -> dict[str, Any]:
    result = circuit.run(x0=x0, x1=x1)
    return {"f": result.outputs["f"], **result.grads}


def torch_neuron(torch: Any, x0: Any, x1: Any) -> dict[str, Any]:
    w = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in W]
    x0.grad = x1.grad = None
    f = 1.0 / (1.0 + torch.exp(-(w[0] * x0 + w[1] * x1 + w[2])))
    f.sum().backward()
    grads = {"x0": x0.grad, "x1": x1.grad, **{f"w{i}": w[i].grad.item() for i in range(3)}}
    return {"f": f.detach(), **grads}


def best(fn: Callable[[], Any], repeat: int, hold: bool = False) -> float:
    """The fastest of ``repeat`` calls; ``hold`` keeps each result until the next exists."""
    fastest = float("inf")
    kept = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        fastest = min(fastest, time.perf_counter() - start)
        kept = result if hold else None
        del result
    del kept
    return fastest


def best_in_rounds(
    contestants: dict[str, tuple[Callable[[], Any], bool]], repeat: int, rounds: int
) -> dict[str, float]:
    """Each contestant's fastest call: ``rounds`` rounds of ``repeat`` calls of each, in turn.

    ``contestants`` maps a name to ``(fn, hold)``, as :func:`best` takes them.
    """
    fastest = dict.fromkeys(contestants, float("inf"))
    per_round = max(1, -(-repeat // rounds))  # the calls a round gives each, rounded up
    for _ in range(rounds):
        for name, (fn, hold) in contestants.items():
            fastest[name] = min(fastest[name], best(fn, per_round, hold))
    return fastest


def footprint(fn: Callable[[], Any], size: int, hold: bool, runs: int = 5) -> tuple[float, float]:
    """Pages faulted in per run, and the peak allocated during a run, both in arrays of ``size`` floats.

    The peak is measured on one more run, with tracemalloc on (it slows the
    run; no time is taken from it).
    """
    kept = fn()  # the pattern's steady state: one result alive for "kept", none for "dropped"
    if not hold:
        del kept
        kept = None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(runs):
        result = fn()
        kept = result if hold else None
        del result
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / runs
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] - start
    tracemalloc.stop()
    del result, kept
    array = size * 8
    return faults * resource.getpagesize() / array, peak / array


def agree(name: str, want: dict[str, Any], got: dict[str, Any]) -> None:
    for key, expected in want.items():
        value = np.asarray(got[key], dtype=np.float64)
        if not np.allclose(value, np.asarray(expected), rtol=1e-12, atol=1e-12 * max(1, value.size)):
            raise AssertionError(f"{name}: {key} differs from the hand-written NumPy result")


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e3,1e5,1e6", help="batch sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=9, help="runs per timing, best taken")
    parser.add_argument("--rounds", type=int, default=3, help="rounds the runs of each timing are split into")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    circuit = gatekit.load(NEURON)
    rng = np.random.default_rng(0)
    rows = []
    print(
        f"gatekit {gatekit.__version__}, NumPy {np.__version__}; best of {args.repeat} runs "
        f"in {args.rounds} rounds, the contestants in turn"
    )
    print(
        f"{'B':>9}  {'numpy ns/sample':>15}  {'kept':>8}  {'ratio':>6}  {'dropped':>8}  {'ratio':>6}"
        f"  {'torch':>8}  {'ratio':>6}  {'faults kept/dropped':>19}  {'peak kept/dropped':>17}"
    )
    for size in sizes:
        x0, x1 = rng.uniform(-2, 2, size), rng.uniform(-2, 2, size)
        buf = Buffers(size)
        reference = numpy_neuron(x0, x1, buf)
        reference = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in reference.items()}
        agree("gatekit", reference, gatekit_neuron(circuit, x0, x1))
        times = best_in_rounds(
            {
                "numpy": (lambda: numpy_neuron(x0, x1, buf), False),  # noqa: B023
                "kept": (lambda: gatekit_neuron(circuit, x0, x1), True),  # noqa: B023
                "dropped": (lambda: gatekit_neuron(circuit, x0, x1), False),  # noqa: B023
            },
            args.repeat,
            args.rounds,
        )
        t_numpy, t_gatekit, t_dropped = times["numpy"], times["kept"], times["dropped"]
        faults_kept, peak_kept = footprint(lambda: gatekit_neuron(circuit, x0, x1), size, hold=True)  # noqa: B023
        faults_dropped, peak_dropped = footprint(lambda: gatekit_neuron(circuit, x0, x1), size, hold=False)  # noqa: B023
        row = {
            "B": size,
            "numpy": t_numpy / size * 1e9,
            "gatekit": t_gatekit / size * 1e9,
            "dropped": t_dropped / size * 1e9,
            "faults_kept": faults_kept,
            "faults_dropped": faults_dropped,
            "peak_kept": peak_kept,
            "peak_dropped": peak_dropped,
        }
        torch_text = f"{'-':>8}  {'-':>6}"
        if torch is not None:
            t0 = torch.tensor(x0, requires_grad=True)
            t1 = torch.tensor(x1, requires_grad=True)
            agree(
                "torch",
                reference,
                {k: v.numpy() if hasattr(v, "numpy") else v for k, v in torch_neuron(torch, t0, t1).items()},
            )
            t_torch = best(lambda: torch_neuron(torch, t0, t1), args.repeat)  # noqa: B023
            row["torch"] = t_torch / size * 1e9
            torch_text = f"{row['torch']:8.2f}  {row['torch'] / row['numpy']:5.2f}x"
        print(
            f"{size:>9,}  {row['numpy']:15.2f}  {row['gatekit']:8.2f}  "
            f"{row['gatekit'] / row['numpy']:5.2f}x  {row['dropped']:8.2f}  "
            f"{row['dropped'] / row['numpy']:5.2f}x  {torch_text}  "
            f"{faults_kept:9.2f}/{faults_dropped:<9.2f}  {peak_kept:8.1f}/{peak_dropped:<8.1f}"
        )
        rows.append(row)
    print(
        "(ns per sample, forward + backward; ratio: how many times the hand-written NumPy's time; "
        "faults: pages faulted in per run, peak: most memory allocated during a run, both in arrays of B "
        "float64; target: kept and dropped at most 1.2x at B = 1e6)"
    )
    return rows


if __name__ == "__main__":
    main()
