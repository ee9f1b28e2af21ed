"""The training loop: run a minibatch forward and back, clip, step the optimizer, again.

The loss is the circuit's ``outputs[0]`` (a number); the params are what is
fitted (all of them, less the solver's ``freeze`` list); the inputs a data
file names are fed row by row (first axis), in minibatches; inputs it does
not name keep the file's values. Each step is one :meth:`Circuit.run
<gatekit.Circuit.run>`, so training gets every guarantee a run has: checked
plugins on the first step, read-only arrays, IEEE arithmetic.

A loss (or a gradient) that is not finite stops the run at once: the step is
run again with ``check_finite`` to name the first gate that produced the NaN
or infinity, and :class:`TrainingError` says both. A stop asked for between
steps (Ctrl-C in ``gatekit train``) ends the run after the step under way.

:class:`Trainer` keeps everything a resumed run needs (:meth:`Trainer.state`,
:meth:`Trainer.load_state`): params, the optimizer's state, the position in
the data and the shuffling generator, the step; so 100 steps equal 50, a
checkpoint, a resume and 50 more, bit for bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatekit.engine.circuit import Circuit, Result
from gatekit.engine.distributed import broadcast, compute, is_dask
from gatekit.errors import GraphError, Location, RunError, UsageError, describe_exception, quoted
from gatekit.training.checkpoint import array_text, text_array
from gatekit.training.data import Batches, rows_of
from gatekit.training.schedules import Warmup
from gatekit.training.solver import SolverConfig

__all__ = ["Step", "TrainResult", "Trainer", "TrainingError", "split_rows"]


class TrainingError(RunError):
    """The loss or a gradient stopped being finite: the step, and the first gate that made it so."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the history: its number and epoch (from 1), learning rate, loss and other outputs."""

    step: int
    epoch: int
    lr: float
    loss: float
    outputs: Mapping[str, float]
    #: the held-out figures when they were computed at this step: the loss and the other outputs
    eval: Mapping[str, float] | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class TrainResult:
    """What a run of :meth:`Trainer.train` did."""

    params: dict[str, Any]  # every param's value at the end (floats, or arrays of the file's shapes)
    history: list[Step]
    step: int  # the steps done in all (a resumed run counts those before it)
    total: int  # the steps the solver asks for
    stopped: bool = False  # a stop was asked for before the end
    best_eval: tuple[float, int] | None = None  # (loss, step)
    seconds_per_step: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _lazy_mean(value: Any) -> Any:
    """A Dask array's mean, still to compute (a tree reduction); any other value as it is."""
    return value.mean() if is_dask(value) and value.ndim else value


def _mean(value: Any) -> float:
    return float(np.mean(value)) if isinstance(value, np.ndarray) else float(value)


def split_rows(
    data: Mapping[str, np.ndarray], fraction: float, seed: int, place: Location | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` split into training rows and held-out rows (``fraction`` of them), after a seeded shuffle.

    :param place: where the split is asked for, for the message when it leaves no rows to train on.
    """
    rows = rows_of(data, "the data")
    held = max(1, round(rows * fraction))
    if held >= rows:
        raise UsageError(f"eval split {fraction} of {rows} rows leaves none to train on", place)
    order = np.random.default_rng([seed, 1]).permutation(rows)
    train, kept = order[: rows - held], order[rows - held :]
    return {k: _rows(v, train) for k, v in data.items()}, {k: _rows(v, kept) for k, v in data.items()}


def _rows(value: Any, rows: np.ndarray) -> Any:
    """``value``'s rows ``rows``: copied from a NumPy array, a lazy selection of a Dask array's."""
    return value[rows] if is_dask(value) else np.asarray(value)[rows]


def _check_names(circuit: Circuit, data: Mapping[str, Any], what: str, place: Location | None) -> None:
    """Refuse data that name a param (params are fitted) or anything but an input."""
    inputs, params = set(circuit.inputs), set(circuit.params)
    for name in data:
        if name in params:
            raise UsageError(
                f"{what} names {name!r}, a param: params are fitted, inputs are fed (as data)", place
            )
        if name not in inputs:
            raise UsageError(f"{what} names {name!r}, which is no input of {circuit.file}", place)


class Trainer:
    """Fits a circuit's params to its data, step by step."""

    def __init__(
        self,
        circuit: Circuit,
        data: Mapping[str, Any],
        solver: SolverConfig,
        *,
        eval_data: Mapping[str, Any] | None = None,
        fixed: Mapping[str, Any] | None = None,
        data_place: Location | None = None,
        eval_place: Location | None = None,
        client: Any = None,
    ) -> None:
        """
        :param data: ``{input: rows}``, fed in minibatches.
        :param solver: what :func:`gatekit.training.solver.read_solver` made.
        :param eval_data: held-out rows of the same inputs.
        :param fixed: values set for the whole run: an input's (the same at
            every step) or a param's starting value.
        :param data_place: where ``data`` came from (its file), for the messages about it.
        :param eval_place: where ``eval_data`` came from.
        :param client: a ``dask.distributed.Client`` whose cluster computes
            each step when ``data`` are Dask arrays (``gatekit train
            --chunks --scheduler``); ``None``: Dask's local threads.
        :raises UsageError: the data (or the held-out data) names a param or
            no input, or its arrays disagree on their rows; every param is frozen.
        :raises GraphError: the solver names an unknown param, or its warmup
            is as long as the run.
        """
        self.circuit = circuit
        self.solver = solver
        self.client = client
        #: whether the data are Dask arrays: each step is then one Dask graph, computed once
        self.chunked = any(is_dask(value) for value in data.values())
        self.loss_name = circuit.outputs[0]
        params = set(circuit.params)
        _check_names(circuit, data, "the data", data_place)
        if eval_data is not None:
            _check_names(circuit, eval_data, "the held-out data", eval_place)
            rows_of(eval_data, "the held-out data", eval_place)
        for name in solver.freeze:
            if name not in params:
                where = solver.places.get(f"freeze/{name}", solver.places.get("freeze"))
                raise GraphError(f"freeze: {name!r} is no param of {circuit.file}", where)
        self.trainable = [name for name in circuit.params if name not in solver.freeze]
        if not self.trainable:
            raise UsageError("every param is frozen: there is nothing to fit", solver.places.get("freeze"))
        if not data:
            raise UsageError("no data: give --inputs FILE with the inputs to feed")
        rows_of(data, "the training data", data_place)
        if solver.eval is not None and solver.eval.split is not None:
            data, eval_data = split_rows(data, solver.eval.split, solver.seed, solver.places.get("eval"))
        fixed = dict(fixed or {})
        self.fixed = {name: value for name, value in fixed.items() if name not in params}
        self.eval_data = {**self.fixed, **eval_data} if eval_data is not None else None
        self.batches = Batches(data, solver.batch_size, solver.shuffle, solver.seed)
        self.total = solver.total_steps(self.batches.steps_per_epoch)
        warmup = getattr(solver.schedule, "steps", 0) if isinstance(solver.schedule, Warmup) else 0
        if warmup >= self.total:
            raise GraphError(
                f"the warmup lasts {warmup} steps, the whole run {self.total}: it must be shorter",
                solver.places.get("warmup"),
            )
        # the params' starting values: the file's (or its initializers'), or those fixed
        file_values = circuit.run(self.fixed).values
        self.params: dict[str, np.ndarray] = {
            name: np.array(fixed.get(name, file_values[name]), dtype=np.float64) for name in circuit.params
        }
        self.step = 0

    # -- one step ----------------------------------------------------------------

    def learning_rate(self, step: int) -> float:
        """The learning rate of step number ``step`` (from 0): the schedule's, after any warmup.

        :raises RunError: the schedule raised, or gave no finite number of at least 0 (exit code 1).
        """
        schedule = self.solver.schedule
        try:
            lr = schedule.lr(step, self.solver.lr, self.total)
        except Exception as exc:  # a plugin's schedule: its fault, in one line (a failure while running)
            raise RunError(
                f"schedule {quoted(schedule.name)} failed at step {step + 1}: {describe_exception(exc)}",
                self.solver.places.get("schedule"),
            ) from None
        if isinstance(lr, bool) or not isinstance(lr, float | int) or not (math.isfinite(lr) and lr >= 0):
            raise RunError(
                f"schedule {quoted(schedule.name)} gave the learning rate {lr!r} at step {step + 1}: "
                "expected a finite number of at least 0",
                self.solver.places.get("schedule"),
            )
        return float(lr)

    def _values(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.fixed, **self.params, **batch}

    def _culprit(self, values: Mapping[str, Any], what: str) -> TrainingError:
        """The step again, with check_finite: the first gate that made ``what`` not finite.

        A chunked step is not run again (its batch may not fit in memory):
        the message says how to find the gate.
        """
        step = self.step + 1
        if self.chunked:
            return TrainingError(
                f"step {step}: {what} (a chunked step does not name the gate: train on these rows "
                "without --chunks to find it)"
            )
        try:
            self.circuit.run(values, check_finite=True)
        except RunError as exc:
            return TrainingError(f"step {step}: {what}; {exc.message}", exc.location, node=exc.node)
        return TrainingError(f"step {step}: {what}")  # pragma: no cover - a plugin that changed its mind

    def take_step(self) -> Step:
        """Take the next step (feed a batch, run, clip, update the params) and return its figures."""
        started = time.perf_counter()
        step = self.step
        lr = self.learning_rate(step)
        batch = self.batches.next()
        epoch = self.batches.epoch + 1  # counted from 1, as steps are
        values = self._values(batch)
        result = self.circuit.run(self._broadcast(values))
        loss, outputs, grads = self._figures(result)
        if isinstance(loss, np.ndarray):
            places = self.circuit.definition.output_locations
            raise UsageError(
                f"the loss, {self.loss_name!r} (outputs[0]), must be a number; it is an array of shape "
                f"{loss.shape}: average it with a mean gate",
                places[0] if places else None,
            )
        if not math.isfinite(loss):
            raise self._culprit(values, f"the loss {self.loss_name!r} is {loss}")
        if not all(np.isfinite(grad).all() for grad in grads.values()):
            bad = next(name for name, grad in grads.items() if not np.isfinite(grad).all())
            raise self._culprit(values, f"the gradient of {bad!r} is not finite")
        if self.solver.clip_norm is not None:
            _clip(grads, self.solver.clip_norm)
        optimizer = self.solver.optimizer
        try:
            optimizer.step({name: self.params[name] for name in self.trainable}, grads, lr)
        except Exception as exc:  # a plugin's optimizer: its fault, in one line (a failure while running)
            raise RunError(
                f"optimizer {quoted(optimizer.name)} failed at step {step + 1}: {describe_exception(exc)}",
                self.solver.places.get("optimizer"),
            ) from None
        self.step += 1
        others = {name: _mean(value) for name, value in outputs.items() if name != self.loss_name}
        figures = self.evaluate() if self._eval_due() else None
        return Step(self.step, epoch, lr, float(loss), others, figures, time.perf_counter() - started)

    def _broadcast(self, values: dict[str, Any]) -> dict[str, Any]:
        """A chunked step's params on every worker of the cluster, once (see :func:`broadcast`)."""
        if not self.chunked or self.client is None:
            return values
        return values | broadcast({name: values[name] for name in self.circuit.params}, self.client)

    def _figures(self, result: Result) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        """The step's loss, outputs and the trainable params' gradients, as numbers and NumPy arrays.

        A chunked step computes them together, in one pass of its graph over
        the batch's chunks: the gradients reduced across the chunks, the other
        outputs averaged there (only their means are reported).
        """
        if not self.chunked:
            grads = {name: np.asarray(result.grads[name], dtype=np.float64) for name in self.trainable}
            return result.outputs[self.loss_name], dict(result.outputs), grads
        lazy_loss = result.outputs[self.loss_name]
        if lazy_loss.ndim:  # refused by the caller: said without computing a value per row
            return np.broadcast_to(0.0, lazy_loss.shape), {}, {}
        outputs = {name: _lazy_mean(value) for name, value in result.outputs.items()}
        outputs[self.loss_name] = lazy_loss
        lazy = {name: result.grads[name] for name in self.trainable}
        got_outputs, got_grads = compute(self.client, outputs, lazy)
        loss = np.asarray(got_outputs[self.loss_name], dtype=np.float64)
        return (
            float(loss) if loss.ndim == 0 else loss,
            {name: np.asarray(value, dtype=np.float64) for name, value in got_outputs.items()},
            {name: np.asarray(value, dtype=np.float64) for name, value in got_grads.items()},
        )

    def _eval_due(self) -> bool:
        if self.eval_data is None:
            return False
        every = self.solver.eval.every if self.solver.eval is not None else 10
        return self.step % every == 0 or self.step == self.total

    def evaluate(self) -> dict[str, float]:
        """The loss and every other output on the held-out rows, with the params as they are."""
        if self.eval_data is None:
            raise UsageError("no held-out data (the solver has no eval:)")
        outputs = self.circuit.run(self._broadcast(self._values(self.eval_data))).outputs
        if any(is_dask(value) for value in outputs.values()):
            (outputs,) = compute(self.client, {name: _lazy_mean(value) for name, value in outputs.items()})
        return {name: _mean(value) for name, value in outputs.items()}

    # -- the run -------------------------------------------------------------------

    def train(
        self,
        *,
        stop: Callable[[], bool] | None = None,
        progress: Callable[[Step, int], None] | None = None,
    ) -> TrainResult:
        """Take the solver's steps (those not taken yet), then return what they did.

        :param stop: asked after each step; true ends the run there.
        :param progress: told each step, and the total.
        :raises TrainingError: the loss or a gradient was not finite.
        """
        history: list[Step] = []
        best: tuple[float, int] | None = None
        started = time.perf_counter()
        stopped = False
        with np.errstate(all="ignore"):
            while self.step < self.total:
                row = self.take_step()
                history.append(row)
                if row.eval is not None:
                    figure = row.eval[self.loss_name]
                    if best is None or figure < best[0]:
                        best = (figure, row.step)
                if progress is not None:
                    progress(row, self.total)
                if stop is not None and stop() and self.step < self.total:
                    stopped = True
                    break
        taken = len(history)
        return TrainResult(
            params=self.values(),
            history=history,
            step=self.step,
            total=self.total,
            stopped=stopped,
            best_eval=best,
            seconds_per_step=(time.perf_counter() - started) / taken if taken else 0.0,
        )

    def values(self) -> dict[str, Any]:
        """Every param's value now: a float for a number, an array of its shape otherwise (copies)."""
        return {
            name: float(value) if value.ndim == 0 else value.copy() for name, value in self.params.items()
        }

    # -- resuming ------------------------------------------------------------------

    def state(self) -> dict[str, np.ndarray]:
        """Everything a resumed run needs, as arrays (see :mod:`gatekit.training.checkpoint`)."""
        state: dict[str, np.ndarray] = {"step": np.array(self.step), "total": np.array(self.total)}
        state["meta/optimizer"] = text_array(self.solver.optimizer.name)
        state |= {f"params/{name}": value.copy() for name, value in self.params.items()}
        state |= {f"optimizer/{key}": value for key, value in self.solver.optimizer.state().items()}
        state |= {f"data/{key}": value for key, value in self.batches.state().items()}
        return state

    def load_state(self, state: Mapping[str, Any], place: Location | None = None) -> None:
        """Continue from :meth:`state` (or a checkpoint read back: numbers may come as floats).

        :raises UsageError: the state is not of this circuit, solver or data
            (its params, their shapes, the optimizer's state or the rows
            differ), or it is damaged; the message is placed at ``place``.
        """
        names = {key[len("params/") :] for key in state if key.startswith("params/")}
        if names != set(self.params):
            raise UsageError(
                f"the checkpoint holds the params {', '.join(sorted(names)) or 'none'}; "
                f"{self.circuit.file} has {', '.join(sorted(self.params))}",
                place,
            )
        saved = {name: np.array(state[f"params/{name}"], dtype=np.float64) for name in self.params}
        for name, value in self.params.items():
            if saved[name].shape != value.shape:
                raise UsageError(
                    f"param {name!r} has shape {saved[name].shape} in the checkpoint, {value.shape} here",
                    place,
                )
        step_array = np.asarray(state.get("step", -1))
        step = float(step_array) if step_array.shape == () else -1.0
        if not (step.is_integer() and step >= 0):
            raise UsageError("a damaged checkpoint: its 'step' is not a whole number", place)
        optimizer = self.solver.optimizer
        if "meta/optimizer" in state:
            try:
                saved_by = array_text(state["meta/optimizer"])
            except (ValueError, UnicodeDecodeError):
                raise UsageError("a damaged checkpoint: its meta/optimizer is not text", place) from None
            if saved_by != optimizer.name:
                raise UsageError(
                    f"the checkpoint was made with optimizer {quoted(saved_by)}, the solver now says "
                    f"{quoted(optimizer.name)}: resume with the optimizer it was made with",
                    place,
                )
        part = {
            key[len("optimizer/") :]: value for key, value in state.items() if key.startswith("optimizer/")
        }
        counted = np.asarray(part.get("step", ()))
        if counted.shape == () and float(counted).is_integer():
            part["step"] = counted.astype(np.int64)  # read back as a float; the optimizer refuses the rest
        try:
            optimizer.load_state(part)
        except Exception as exc:
            raise UsageError(
                f"the checkpoint does not fit optimizer {quoted(optimizer.name)}: {describe_exception(exc)}",
                place,
            ) from None
        try:
            self.batches.load_state({k[len("data/") :]: v for k, v in state.items() if k.startswith("data/")})
        except ValueError as exc:
            raise UsageError(f"the checkpoint does not fit the data: {exc}", place) from None
        for name, value in self.params.items():
            value[...] = saved[name]
        self.step = int(step)


def _clip(grads: dict[str, np.ndarray], max_norm: float) -> None:
    """Scale the gradients so their global norm is at most ``max_norm``, as torch's ``clip_grad_norm_``."""
    total = math.sqrt(sum(float(np.vdot(grad, grad)) for grad in grads.values()))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for name, grad in grads.items():
            grads[name] = grad * scale
