"""Training the two moons: gatekit against micrograd and PyTorch, steps per second.

The run is ``graphs/moons.yaml`` on ``graphs/data/moons.json`` (micrograd's
demo): a 2-16-16-1 ReLU perceptron on 100 points labelled -1 and +1, the loss
``mean(relu(1 - y * score)) + 1e-4 * (sum of the squares of every param)``,
SGD with a learning rate falling linearly from 1.0 to 0.1 over the run's 100
steps, the whole data set at each step. Three implementations train it, all
in this process and from the same starting weights (the file's, seeded):

* gatekit, through its Python API: :class:`gatekit.Trainer`, as ``gatekit
  train`` drives it (the solver is the file's ``train:`` section);
* micrograd, when importable: its own ``Value`` and ``MLP`` classes, the
  training loop of its demo notebook (scalar ``Value`` inputs built at every
  step, ``zero_grad``, ``backward``, ``p.data -= lr * p.grad``);
* PyTorch, when importable: ``nn.Linear`` and ``nn.ReLU`` layers in float64
  on one thread, ``torch.optim.SGD`` and ``lr_scheduler.LinearLR``, a plain
  loop (forward, loss, ``zero_grad``, ``backward``, ``step``).

The timed region is the loop of steps; the model, the optimizer and the data
are made before it. Each figure is the best of ``--repeat`` runs (micrograd's
of ``--micrograd-repeat``, one by default: a run of it takes minutes). The
final training accuracy (the fraction of points with ``y * score > 0``, with
the trained params) and the largest difference of each one's trained params
from gatekit's show that all three trained the same thing.

CI has no PyTorch, so ``benchmarks/reference/train_torch.json`` holds its
figure measured on one machine, written by this script::

    PYTHONPATH=. /tmp/torchenv/bin/python benchmarks/train.py --write-reference \\
        benchmarks/reference/train_torch.json

Without PyTorch the script prints that figure, labelled as the committed
reference with its date and version, and gatekit's ratio to it.

    python benchmarks/train.py [--repeat 7] [--steps 100] [--micrograd-steps N] [--no-micrograd]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.metadata
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import gatekit
from gatekit.io.inputs import read_inputs
from gatekit.training.api import solver_for

ROOT = Path(__file__).resolve().parent.parent
MOONS = ROOT / "graphs" / "moons.yaml"
DATA = ROOT / "graphs" / "data" / "moons.json"
REFERENCE = Path(__file__).resolve().parent / "reference" / "train_torch.json"
ALPHA = 1e-4  # the L2 penalty's weight, as graphs/moons.yaml's input alpha
LR, END_FACTOR = 1.0, 0.1  # the learning rate falls linearly from LR to LR * END_FACTOR
LAYERS = (("W1", "b1"), ("W2", "b2"), ("W3", "b3"))


@dataclass
class Figures:
    """One implementation's run: its speed, and what it trained."""

    name: str
    steps: int  # the steps timed
    seconds: float  # the best run's time for them
    accuracy: float  # the fraction of points right, with the trained params
    loss: float  # the loss at the last step
    params: dict[str, np.ndarray] = field(default_factory=dict)  # trained, in gatekit's shapes
    note: str = ""

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds


def lr_at(step: int, steps: int) -> float:
    """The learning rate of step ``step`` (from 0) of a run of ``steps``: gatekit's ``linear``."""
    return LR * (1.0 + (END_FACTOR - 1.0) * step / steps)


def best_of(repeat: int, run: Callable[[], tuple[float, Any]]) -> tuple[float, Any]:
    """The fastest of ``repeat`` calls of ``run`` (which times itself), and that call's result."""
    fastest: tuple[float, Any] = (float("inf"), None)
    for _ in range(repeat):
        gc.collect()  # outside the timed region: no run pays for the previous one's garbage
        seconds, result = run()
        if seconds < fastest[0]:
            fastest = (seconds, result)
    return fastest


def accuracy_of(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of points with ``y * score > 0``, computed in NumPy from ``params``."""
    h = np.maximum(X @ params["W1"] + params["b1"], 0.0)
    h = np.maximum(h @ params["W2"] + params["b2"], 0.0)
    score = h @ params["W3"] + params["b3"]
    return float(np.mean(y * score > 0))


# -- gatekit -------------------------------------------------------------------------


def gatekit_run(circuit: gatekit.Circuit, data: dict[str, Any], steps: int, repeat: int) -> Figures:
    """The best of ``repeat`` runs of :meth:`gatekit.Trainer.train`, each on a fresh trainer."""

    def run() -> tuple[float, gatekit.TrainResult]:
        solver, _ = solver_for(circuit, overrides={"steps": steps})  # a fresh optimizer each run
        trainer = gatekit.Trainer(circuit, data, solver)
        started = time.perf_counter()
        result = trainer.train()
        return time.perf_counter() - started, result

    seconds, result = best_of(repeat, run)
    params = {name: np.asarray(value, dtype=np.float64) for name, value in result.params.items()}
    outputs = circuit.run({**data, **params}).outputs
    return Figures("gatekit", steps, seconds, float(outputs["accuracy"]), result.history[-1].loss, params)


def gatekit_whole_call(circuit: gatekit.Circuit, data: dict[str, Any], steps: int, repeat: int) -> float:
    """The best time of the whole ``gatekit.train(...)`` call: the solver and the trainer made too."""

    def run() -> tuple[float, None]:
        started = time.perf_counter()
        gatekit.train(circuit, data, steps=steps)
        return time.perf_counter() - started, None

    return best_of(repeat, run)[0]


# -- micrograd -------------------------------------------------------------------------


def import_micrograd() -> Any:
    """micrograd's ``engine`` and ``nn`` modules, or a line saying why not."""
    try:
        from micrograd import engine, nn
    except ImportError as exc:
        return f"micrograd is not installed ({exc}; pip install micrograd)"
    return engine, nn


def micrograd_run(
    micrograd: Any,
    *,
    start: dict[str, np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    steps: int,
    timed: int,
    repeat: int,
) -> Figures:
    """micrograd's demo loop for the first ``timed`` of ``steps`` steps, best of ``repeat`` runs."""
    engine, nn = micrograd
    Value = engine.Value
    rows = [list(map(float, row)) for row in X]
    labels = [float(label) for label in y]

    def loss_of(model: Any) -> Any:  # the notebook's loss(), on the whole data set
        inputs = [list(map(Value, row)) for row in rows]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(labels, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in model.parameters())
        return data_loss + reg_loss

    def run() -> tuple[float, tuple[Any, float]]:
        model = nn.MLP(2, [16, 16, 1])
        for layer, (w, b) in zip(model.layers, LAYERS, strict=True):
            weights = start[w].reshape(len(layer.neurons[0].w), len(layer.neurons))
            for j, neuron in enumerate(layer.neurons):
                for i, value in enumerate(neuron.w):
                    value.data = float(weights[i, j])
                neuron.b.data = float(np.reshape(start[b], -1)[j])
        started = time.perf_counter()
        for k in range(timed):
            total_loss = loss_of(model)
            model.zero_grad()
            total_loss.backward()
            learning_rate = lr_at(k, steps)  # the notebook's 1.0 - 0.9 * k / 100
            for p in model.parameters():
                p.data -= learning_rate * p.grad
        return time.perf_counter() - started, (model, total_loss.data)

    seconds, (model, loss) = best_of(repeat, run)
    params: dict[str, np.ndarray] = {}
    for layer, (w, b) in zip(model.layers, LAYERS, strict=True):
        params[w] = np.array([[v.data for v in neuron.w] for neuron in layer.neurons]).T.reshape(
            start[w].shape
        )
        params[b] = np.array([neuron.b.data for neuron in layer.neurons]).reshape(start[b].shape)
    note = "" if timed == steps else f"first {timed} of {steps} steps"
    return Figures("micrograd", timed, seconds, accuracy_of(params, X, y), loss, params, note)


# -- PyTorch ---------------------------------------------------------------------------


def import_torch() -> Any:
    """The ``torch`` module on one thread, or ``None``."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def torch_run(
    torch: Any, *, start: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, steps: int, repeat: int
) -> Figures:
    """A plain PyTorch loop of ``steps`` steps, best of ``repeat`` runs."""
    nn = torch.nn
    inputs = torch.tensor(X, dtype=torch.float64)
    labels = torch.tensor(y, dtype=torch.float64)

    def run() -> tuple[float, tuple[Any, float]]:
        model = nn.Sequential(
            nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1)
        ).double()
        with torch.no_grad():
            for linear, (w, b) in zip(model[::2], LAYERS, strict=True):
                linear.weight.copy_(torch.tensor(start[w].reshape(linear.in_features, -1).T))
                linear.bias.copy_(torch.tensor(np.reshape(start[b], -1)))
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        schedule = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, END_FACTOR, total_iters=steps)
        started = time.perf_counter()
        for _ in range(steps):
            score = model(inputs).squeeze(1)
            data_loss = torch.relu(1.0 - labels * score).mean()
            loss = data_loss + ALPHA * sum((p * p).sum() for p in model.parameters())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        return time.perf_counter() - started, (model, loss.item())

    seconds, (model, loss) = best_of(repeat, run)
    params: dict[str, np.ndarray] = {}
    for linear, (w, b) in zip(model[::2], LAYERS, strict=True):
        params[w] = linear.weight.detach().numpy().T.reshape(start[w].shape).copy()
        params[b] = linear.bias.detach().numpy().reshape(start[b].shape).copy()
    return Figures("torch", steps, seconds, accuracy_of(params, X, y), loss, params)


def read_reference(path: Path) -> dict[str, Any] | str:
    """The committed PyTorch figure, or a line saying why there is none."""
    try:
        reference: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return f"no committed reference ({exc})"
    return reference


def write_reference(
    path: Path, torch: Any, figures: Figures, mine: Figures, args: argparse.Namespace
) -> None:
    """Write PyTorch's figure, where and how it was measured, as JSON."""
    command = shlex.join([sys.executable, "benchmarks/train.py", *args.argv])
    if os.environ.get("PYTHONPATH"):
        command = f"PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])} {command}"
    reference = {
        "what": "graphs/moons.yaml trained in PyTorch as benchmarks/train.py does: steps per second",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "command": command,
        "steps": figures.steps,
        "repeat": args.repeat,
        "steps_per_second": round(figures.steps_per_second, 1),
        "accuracy": figures.accuracy,
        "gatekit": gatekit.__version__,
        "gatekit_steps_per_second": round(mine.steps_per_second, 1),  # in the same process
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference, indent=2) + "\n")
    print(f"wrote {path}")


# -- the report ----------------------------------------------------------------------------


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def row(figures: Figures, mine: Figures) -> str:
    diff = "-"
    if figures is not mine:
        diff = f"{max(float(np.max(np.abs(figures.params[k] - mine.params[k]))) for k in mine.params):.1e}"
    note = f"  ({figures.note})" if figures.note else ""
    return (
        f"{figures.name:<10}  {figures.steps_per_second:10.1f}  "
        f"{figures.seconds / figures.steps * 1e3:9.3f}  {figures.accuracy:8.2f}  "
        f"{figures.loss:10.6f}  {diff:>17}{note}"
    )


def ratio(mine: Figures, other: float, name: str, target: str) -> str:
    times = mine.steps_per_second / other
    shown = f"{times:,.0f}" if times >= 100 else f"{times:.2f}"
    return f"gatekit vs {name}: {shown}x the steps per second ({target})"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per timing, best taken (default 7)")
    parser.add_argument("--steps", type=int, default=100, help="steps of the run (default 100, the file's)")
    parser.add_argument(
        "--micrograd-steps", type=int, help="time only micrograd's first N steps (default: all of them)"
    )
    parser.add_argument("--micrograd-repeat", type=int, default=1, help="micrograd's runs (default 1)")
    parser.add_argument("--no-micrograd", action="store_true", help="skip micrograd")
    parser.add_argument("--reference", type=Path, default=REFERENCE, help="the committed PyTorch figure")
    parser.add_argument(
        "--write-reference", type=Path, metavar="PATH", help="write PyTorch's figure to PATH (needs torch)"
    )
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.repeat < 1 or args.steps < 1 or args.micrograd_repeat < 1:
        parser.error("--repeat, --steps and --micrograd-repeat must be at least 1")
    if args.micrograd_steps is None:
        args.micrograd_steps = args.steps
    if not 1 <= args.micrograd_steps <= args.steps:
        parser.error("--micrograd-steps must be between 1 and --steps")
    if args.write_reference is not None and import_torch() is None:
        parser.error("--write-reference needs PyTorch (run it under the Python that has torch)")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Figures]:
    """Train with each implementation available, print the report; return the figures (for tests)."""
    args = parse_args(argv)
    torch = import_torch()
    micrograd = "skipped (--no-micrograd)" if args.no_micrograd else import_micrograd()
    circuit = gatekit.load(MOONS)
    data = read_inputs(DATA, circuit)
    X, y = np.asarray(data["X"]), np.asarray(data["y"])
    start = {name: np.asarray(circuit.run().values[name], dtype=np.float64) for name in circuit.params}
    versions = [
        f"gatekit {gatekit.__version__}",
        f"NumPy {np.__version__}",
        f"Python {platform.python_version()}",
    ]
    if not isinstance(micrograd, str):
        versions.append(f"micrograd {version('micrograd')}")
    if torch is not None:
        versions.append(f"torch {torch.__version__} (1 thread)")
    print(", ".join(versions))
    print(
        f"moons: MLP 2-16-16-1 ReLU on {len(y)} points, hinge loss + {ALPHA:g} L2, SGD, lr {LR:g} falling "
        f"linearly to {LR * END_FACTOR:g} over {args.steps} steps, full batch; best of {args.repeat} runs "
        f"(micrograd: {args.micrograd_repeat}); {os.cpu_count()} cores"
    )
    runs = {"gatekit": gatekit_run(circuit, data, args.steps, args.repeat)}
    mine = runs["gatekit"]
    whole = gatekit_whole_call(circuit, data, args.steps, args.repeat)
    if not isinstance(micrograd, str):
        runs["micrograd"] = micrograd_run(
            micrograd,
            start=start,
            X=X,
            y=y,
            steps=args.steps,
            timed=args.micrograd_steps,
            repeat=args.micrograd_repeat,
        )
    if torch is not None:
        runs["torch"] = torch_run(torch, start=start, X=X, y=y, steps=args.steps, repeat=args.repeat)
    print()
    print(
        f"{'':<10}  {'steps/s':>10}  {'ms/step':>9}  {'accuracy':>8}  {'last loss':>10}  "
        f"{'params vs gatekit':>17}"
    )
    for figures in runs.values():
        print(row(figures, mine))
    print(
        f"(gatekit.train(), the whole call, the solver and the trainer made too: "
        f"{args.steps / whole:.1f} steps/s; params vs gatekit: the largest difference of a trained "
        "param from gatekit's)"
    )
    print()
    if "micrograd" in runs:
        print(ratio(mine, runs["micrograd"].steps_per_second, "micrograd", "target: at least 20x"))
    else:
        print(f"micrograd: {micrograd}")
    if "torch" in runs:
        print(ratio(mine, runs["torch"].steps_per_second, "torch", "target: at least 0.5x, within 2x"))
        if args.write_reference is not None:
            write_reference(args.write_reference, torch, runs["torch"], mine, args)
    else:
        reference = read_reference(args.reference)
        if isinstance(reference, str):
            print(f"torch: not installed, and {reference}")
        else:
            print(
                f"torch: not installed; the committed reference: {reference['steps_per_second']:.1f} steps/s "
                f"(torch {reference['torch']}, {reference['date']}, {reference['machine']}; "
                f"gatekit {reference['gatekit_steps_per_second']:.1f} in the same run; {args.reference.name})"
            )
            print(
                ratio(
                    mine,
                    reference["steps_per_second"],
                    "torch",
                    "vs the committed reference, not measured here; target: at least 0.5x",
                )
            )
    return runs


if __name__ == "__main__":
    main()
