"""Training in one call: :func:`train`, and :func:`solver_for`, which finds and checks the solver.

>>> import gatekit
>>> circuit = gatekit.loads('''
... inputs: {x: [0.0, 1.0, 2.0, 3.0], y: [-1.0, 1.5, 4.0, 6.5]}
... params: {w: 0.0, b: 0.0}
... gates:
...   wx:   {gate: mul, in: [w, x]}
...   pred: {gate: add, in: [wx, b]}
...   err:  {gate: sub, in: [pred, y]}
...   sq:   {gate: square, in: [err]}
...   loss: {gate: mean, in: [sq]}
... outputs: [loss]
... ''')
>>> result = train(circuit, solver={"optimizer": "adam", "lr": 0.1, "steps": 500})
>>> round(result.params["w"], 6), round(result.params["b"], 6)
(2.5, -1.0)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from gatekit.engine.circuit import Circuit
from gatekit.errors import Location, UsageError
from gatekit.format.yamlsource import Reader
from gatekit.io.inputs import read_inputs
from gatekit.plugin.registry import GateRegistry, default_registry, plugin_manager
from gatekit.training.loop import Step, Trainer, TrainResult
from gatekit.training.optimizers import Optimizer
from gatekit.training.registry import Registry, optimizer_registry, schedule_registry
from gatekit.training.schedules import Schedule
from gatekit.training.solver import SolverConfig, read_solver

__all__ = ["held_out_data", "held_out_file", "own_data", "registries", "solver_for", "train"]


def registries(gates: GateRegistry | None = None) -> tuple[Registry[Optimizer], Registry[Schedule]]:
    """The optimizers and schedules of the plugins ``gates`` came from (default: the installed ones)."""
    gates = gates if gates is not None else default_registry()
    manager = gates.manager if gates.manager is not None else plugin_manager(autoload=False)
    return optimizer_registry(manager), schedule_registry(manager)


def solver_for(
    circuit: Circuit,
    solver: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    registry: GateRegistry | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[SolverConfig, str]:
    """The checked solver for ``circuit``, and the file it was read from (for paths written in it).

    :param solver: a solver file (YAML: the mapping a ``train:`` section
        holds), the settings themselves as a mapping of plain Python values,
        or ``None`` for the circuit's own ``train:`` section.
    :param overrides: ``steps``, ``epochs``, ``lr``, ``batch_size``,
        ``seed``, applied over the solver's (``None`` values are ignored).
    :raises GraphError: a bad key or value, located in its file.
    :raises UsageError: there is no solver, or an override is bad.
    """
    optimizers, schedules = registries(registry)
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    seed = circuit.definition.seed
    if isinstance(solver, Mapping):
        reader = Reader("<solver>")
        try:
            text = yaml.safe_dump(dict(solver), default_flow_style=True)
        except yaml.YAMLError as exc:
            raise UsageError(f"the solver's settings must be plain numbers, text and lists: {exc}") from None
        node = reader.compose(text)
        file = "<solver>"
    elif solver is not None:
        file = os.fspath(solver)
        reader = Reader(file)
        node = reader.read_file(file)
    elif circuit.definition.train is not None:
        node, reader = circuit.definition.train.node, circuit.definition.train.reader
        file = circuit.file
    elif "steps" in overrides or "epochs" in overrides:
        reader = Reader("<defaults>")
        node = reader.compose("{}")
        file = "<defaults>"
    else:
        raise UsageError(
            f"{circuit.file} has no train: section: add one, give a solver file (--solver FILE), "
            "or at least the number of steps (--steps N)"
        )
    config = read_solver(node, reader, optimizers, schedules, default_seed=seed, overrides=overrides)
    return config, file


def own_data(circuit: Circuit) -> dict[str, Any]:
    """The circuit's own array inputs, as the data set to train on when no data is given."""
    values = circuit.run().values
    return {name: values[name] for name in circuit.inputs if getattr(values[name], "ndim", 0)}


def held_out_file(solver: SolverConfig, file: str) -> str | None:
    """The data file ``eval: {data: FILE}`` names, relative to the solver's ``file``; ``None`` if none."""
    if solver.eval is None or solver.eval.data is None:
        return None
    folder = os.path.dirname(file) if not file.startswith("<") else ""
    return os.path.join(folder, solver.eval.data)


def held_out_data(solver: SolverConfig, file: str, circuit: Circuit) -> dict[str, Any] | None:
    """The held-out rows of the data file ``eval: {data: FILE}`` names (relative to the solver's file)."""
    path = held_out_file(solver, file)
    return read_inputs(path, circuit) if path is not None else None


def train(
    circuit: Circuit,
    data: Mapping[str, Any] | None = None,
    solver: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    *,
    eval_data: Mapping[str, Any] | None = None,
    resume: Mapping[str, Any] | None = None,
    registry: GateRegistry | None = None,
    progress: Callable[[Step, int], None] | None = None,
    **overrides: Any,
) -> TrainResult:
    """Fit ``circuit``'s params: its ``outputs[0]`` is the loss, ``data`` its inputs, row by row.

    :param data: ``{input: rows}`` (each array's first axis is the rows);
        absent, the circuit's own input values are the data set.
    :param solver: see :func:`solver_for`.
    :param eval_data: held-out rows, for a solver whose ``eval:`` names none.
    :param resume: a state saved from :meth:`Trainer.state` (or read with
        :func:`gatekit.training.checkpoint.read_checkpoint`) to continue from.
    :param overrides: ``steps=``, ``epochs=``, ``lr=``, ``batch_size=``, ``seed=``.
    :raises TrainingError: the loss or a gradient stopped being finite.
    """
    config, file = solver_for(circuit, solver, registry, overrides)
    path = held_out_file(config, file) if eval_data is None else None
    if path is not None:
        eval_data = read_inputs(path, circuit)
    data = own_data(circuit) if data is None else data
    trainer = Trainer(
        circuit, data, config, eval_data=eval_data, eval_place=Location(path) if path is not None else None
    )
    if resume is not None:
        trainer.load_state(resume)
    return trainer.train(progress=progress)
