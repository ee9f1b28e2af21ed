"""The seed's neuron over a batch: gatekit against hand-written NumPy (and PyTorch).

gatekit runs ``graphs/neuron.yaml`` unchanged, with ``x0`` and ``x1`` given
as arrays of B samples through ``Circuit.run``: forward and backward for the
whole batch at once, the weights' gradients summed over the batch. The
reference is the seed's own formulas written by hand in NumPy with in-place
operations into buffers allocated once, outside the timing (its best case);
PyTorch CPU autograd on one thread runs too when it is installed. Every
timing is the best of several runs in this process; the gradients of all
three must agree before anything is printed.

gatekit allocates a new array per gate and per gradient, and glibc's malloc
(default settings) hands large freed blocks back to the OS, so a run can
spend more time page-faulting fresh memory than computing. How much depends
on what the loop keeps alive: "gatekit" times the loop of a training script,
``result = circuit.run(...)``, where the previous result lives until the next
one exists; "dropped" discards each result at once, the allocator's worst
case. Setting ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` (for
example to 1000000000) in the environment makes both the same.

    python benchmarks/neuron_batch.py [--sizes 1e3,1e5,1e6] [--repeat 7]
"""

from __future__ import annotations

import argparse
import time
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


def agree(name: str, want: dict[str, Any], got: dict[str, Any]) -> None:
    for key, expected in want.items():
        value = np.asarray(got[key], dtype=np.float64)
        if not np.allclose(value, np.asarray(expected), rtol=1e-12, atol=1e-12 * max(1, value.size)):
            raise AssertionError(f"{name}: {key} differs from the hand-written NumPy result")


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e3,1e5,1e6", help="batch sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=7, help="runs per timing, best taken")
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
    print(f"gatekit {gatekit.__version__}, NumPy {np.__version__}; best of {args.repeat} runs")
    print(
        f"{'B':>9}  {'numpy ns/sample':>15}  {'gatekit':>8}  {'ratio':>6}  {'dropped':>8}  {'ratio':>6}"
        f"  {'torch':>8}  {'ratio':>6}"
    )
    for size in sizes:
        x0, x1 = rng.uniform(-2, 2, size), rng.uniform(-2, 2, size)
        buf = Buffers(size)
        reference = numpy_neuron(x0, x1, buf)
        reference = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in reference.items()}
        agree("gatekit", reference, gatekit_neuron(circuit, x0, x1))
        t_numpy = best(lambda: numpy_neuron(x0, x1, buf), args.repeat)  # noqa: B023
        t_gatekit = best(lambda: gatekit_neuron(circuit, x0, x1), args.repeat, hold=True)  # noqa: B023
        t_dropped = best(lambda: gatekit_neuron(circuit, x0, x1), args.repeat)  # noqa: B023
        row = {
            "B": size,
            "numpy": t_numpy / size * 1e9,
            "gatekit": t_gatekit / size * 1e9,
            "dropped": t_dropped / size * 1e9,
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
            f"{row['dropped'] / row['numpy']:5.2f}x  {torch_text}"
        )
        rows.append(row)
    print("(ns per sample, forward + backward; ratio: how many times the hand-written NumPy's time)")
    return rows


if __name__ == "__main__":
    main()
