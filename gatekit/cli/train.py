"""``gatekit train``: the command-line face of :class:`gatekit.Trainer`.

Everything the command writes (the trained circuit, the checkpoint, the
log, the plot) is checked before the first step and written atomically at
the end; ``--checkpoint`` is also written every ``checkpoint_every`` steps.
Ctrl-C asks the run to stop after the step under way: the files are then
written as at the end, and the command exits 130 with one line saying where
they are. A loss or gradient that stops being finite ends the run with exit
1, naming the step and the gate, and writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gatekit.api import Circuit
from gatekit.cli.chunked import check_flags
from gatekit.cli.commands import STDIN, _overrides, _registry
from gatekit.engine.distributed import connect
from gatekit.errors import LoadError, Location, UsageError
from gatekit.format.document import read_text
from gatekit.format.yamlsource import Reader
from gatekit.io.atomic import check_output_path, write_atomically
from gatekit.io.chunked import read_chunked
from gatekit.io.inputs import check_leaf_names, read_inputs
from gatekit.limits import read_bounded, read_stream
from gatekit.training import api as training
from gatekit.training.checkpoint import read_checkpoint, write_checkpoint
from gatekit.training.log import check_log_path, write_log
from gatekit.training.loop import Step, Trainer, TrainResult
from gatekit.training.plot import check_plot_path, write_plot
from gatekit.training.progress import Progress
from gatekit.training.trained_file import moved_imports, trained_text
from gatekit.views.text import full, json_text, table

__all__ = ["train"]

TRAINED_TYPES = (".yaml", ".yml")


def _source(graph: str) -> tuple[str, str]:
    """The circuit file's name and its text (read once: the trained file is made from the same text)."""
    if graph == STDIN:
        data = read_stream(sys.stdin.buffer, Location("<stdin>"), LoadError)
        file = "<stdin>"
    else:
        data = read_bounded(graph, LoadError)
        file = graph
    try:
        return file, data.decode("utf-8-sig")
    except UnicodeDecodeError:
        Reader(file).read_bytes(data)  # raises the located error
        raise  # pragma: no cover


@dataclass(frozen=True, slots=True)
class _Outputs:
    """The files the run writes, checked before it starts."""

    trained: str | None
    checkpoint: str | None
    log: str | None
    plot: str | None

    def written(self) -> list[str]:
        return [path for path in (self.trained, self.checkpoint, self.log, self.plot) if path is not None]


def _check_outputs(args: argparse.Namespace) -> _Outputs:
    if args.output is not None:
        check_output_path(args.output, TRAINED_TYPES, "the trained circuit")
    if args.checkpoint is not None:
        check_output_path(args.checkpoint, (".npz",), "the checkpoint")
    if args.log is not None:
        check_log_path(args.log)
    if args.plot is not None:
        check_plot_path(args.plot)
    paths = [(flag, path) for flag, path in (("-o", args.output), ("--checkpoint", args.checkpoint),
             ("--log", args.log), ("--plot", args.plot)) if path is not None]  # fmt: skip
    seen: dict[str, str] = {}
    for flag, path in paths:
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"{flag} and {seen[real]} name the same file", Location(path))
        seen[real] = flag
    return _Outputs(args.output, args.checkpoint, args.log, args.plot)


@contextlib.contextmanager
def _interruptible() -> Iterator[list[bool]]:
    """While training, Ctrl-C sets a flag (the run stops after its step); a second one stops at once."""
    asked = [False]

    def handler(signum: int, frame: object) -> None:
        if asked[0]:
            raise KeyboardInterrupt
        asked[0] = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: Ctrl-C keeps its usual meaning
        yield asked
        return
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)


def _save(trainer: Trainer, result_history: list[Step], outputs: _Outputs, text: str, *, final: bool) -> None:
    """Write the checkpoint, and at the end the trained circuit, log and plot."""
    if outputs.checkpoint is not None:
        write_checkpoint(outputs.checkpoint, trainer.state(), trainer.circuit.file)
    if not final:
        return
    loss = trainer.loss_name
    if outputs.trained is not None:
        definition = trainer.circuit.definition
        spans = {name: leaf.span for name, leaf in definition.leaves.items() if leaf.span}
        imports = [path for path, _ in definition.imports]
        source = definition.file if definition.file != "<stdin>" else os.path.join(os.getcwd(), "-")
        moved = moved_imports(imports, definition.import_spans, source, outputs.trained)
        data = trained_text(text, spans, trainer.values(), moved).encode()
        write_atomically(outputs.trained, lambda stream: stream.write(data))
    if outputs.log is not None:
        write_log(outputs.log, result_history, loss)
    if outputs.plot is not None and result_history:
        write_plot(outputs.plot, result_history, loss, trainer.circuit.name or trainer.circuit.file)


def _summary(trainer: Trainer, result: TrainResult) -> list[str]:
    last = result.history[-1] if result.history else None
    done = len(result.history)
    before = f", from step {result.step - done} of {result.total}" if result.step - done else ""
    lines = [f"trained {trainer.circuit.file}: {done} steps{before}"]
    if last is not None:
        figures = [f"loss {last.loss:.6g}", *(f"{name} {value:.6g}" for name, value in last.outputs.items())]
        lines.append(f"step {last.step}: " + ", ".join(figures))
    if result.best_eval is not None:
        lines.append(f"best eval loss {result.best_eval[0]:.6g}, at step {result.best_eval[1]}")
    lines.append(f"{result.seconds_per_step * 1e3:.3g} ms per step")
    lines.append("params")
    lines += table([(name, full(value)) for name, value in result.params.items()])
    return lines


def _summary_json(trainer: Trainer, result: TrainResult) -> dict[str, Any]:
    last = result.history[-1] if result.history else None
    return {
        "file": trainer.circuit.file,
        "step": result.step,
        "total": result.total,
        "steps_this_run": len(result.history),
        "stopped": result.stopped,
        "seconds_per_step": result.seconds_per_step,
        "loss": None if last is None else last.loss,
        "outputs": {} if last is None else dict(last.outputs),
        "best_eval": None
        if result.best_eval is None
        else {"loss": result.best_eval[0], "step": result.best_eval[1]},
        "params": result.params,
    }


def train(args: argparse.Namespace) -> int:
    if args.chunks is not None or args.scheduler is not None:
        check_flags(args, "train")
    outputs = _check_outputs(args)
    with connect(args.scheduler) as client:  # None: no cluster (NumPy, or Dask's local threads)
        return _train(args, outputs, client)


def _train(args: argparse.Namespace, outputs: _Outputs, client: Any) -> int:
    """The run: the circuit, the solver, the data (chunked with ``--chunks``), the steps, the files."""
    _overrides(args.overrides)  # a malformed --set fails before the circuit is read
    file, text = _source(args.graph)
    registry = _registry(args)
    circuit = Circuit.from_document(read_text(text, file), registry)
    overrides = {"steps": args.steps, "epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
                 "seed": args.seed, "checkpoint_every": args.checkpoint_every}  # fmt: skip
    solver, solver_file = training.solver_for(circuit, args.solver, registry, overrides)
    fixed = {name: value for name, (value, _) in _overrides(args.overrides).items()}
    for name, (_, place) in _overrides(args.overrides).items():
        check_leaf_names(circuit, [name], "name", place)
    if args.chunks is not None:
        data = read_chunked(args.inputs, circuit, args.chunks)
    else:
        data = read_inputs(args.inputs, circuit) if args.inputs else training.own_data(circuit)
    eval_file = training.held_out_file(solver, solver_file)
    eval_data = read_inputs(eval_file, circuit) if eval_file is not None else None
    trainer = Trainer(
        circuit,
        data,
        solver,
        eval_data=eval_data,
        fixed=fixed,
        data_place=Location(args.inputs) if args.inputs else None,
        eval_place=Location(eval_file) if eval_file is not None else None,
        client=client,
    )
    if args.resume is not None:
        trainer.load_state(read_checkpoint(args.resume), Location(args.resume))
    every = solver.checkpoint_every
    history: list[Step] = []
    progress = Progress(trainer.total, trainer.loss_name, sys.stderr, every=solver.log_every,
                        start=trainer.step, quiet=args.quiet)  # fmt: skip

    def told(step: Step, total: int) -> None:
        history.append(step)
        progress.update(step, total)
        if every is not None and outputs.checkpoint is not None and step.step % every == 0:
            write_checkpoint(outputs.checkpoint, trainer.state(), circuit.file)

    with _interruptible() as asked:
        try:
            result = trainer.train(stop=lambda: asked[0], progress=told)
        finally:
            progress.close()
    _save(trainer, result.history, outputs, text, final=True)
    if args.json:
        print(json_text(_summary_json(trainer, result)))
    else:
        print("\n".join(_summary(trainer, result)))
        if outputs.written() and not result.stopped:
            print(f"wrote {', '.join(outputs.written())}")
    if result.stopped:
        where = ", ".join(outputs.written()) or "nothing saved (give --checkpoint or -o)"
        resume = f"; continue with --resume {outputs.checkpoint}" if outputs.checkpoint else ""
        print(
            f"error: interrupted after step {result.step} of {result.total}: {where}{resume}", file=sys.stderr
        )
        return 130
    return 0
