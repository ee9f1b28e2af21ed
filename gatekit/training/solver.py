"""The solver, declared: a ``train:`` section (or a ``--solver`` file) read into a :class:`SolverConfig`.

As Caffe's solver sits next to its net, the solver sits next to the
circuit: a mapping of settings, flat, with PyTorch's names::

    train:
      optimizer: adam            # sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, or a plugin's
      lr: 0.01
      beta1: 0.9                 # the chosen optimizer's own settings, by name
      weight_decay: 0.0001
      schedule: {name: cosine}   # or a name: constant, step, exponential, cosine, linear
      warmup: 5                  # steps of linear warmup (or {steps: 5, start_factor: 0.1})
      steps: 200                 # or epochs: 10
      batch_size: 32             # absent: the whole data set each step
      shuffle: true
      seed: 0                    # absent: the file's seed
      clip_norm: 1.0             # the gradients' global norm, at most
      freeze: [b2]               # params not fitted
      eval: {split: 0.2, every: 10}   # or {data: held_out.csv, every: 10}
      log_every: 10              # a plain progress line every N steps (not on a terminal)
      checkpoint_every: 50       # with --checkpoint

Every bad key or value is a located error. Command-line flags override
single keys (:func:`read_solver`'s ``overrides``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from yaml.nodes import MappingNode, Node

from gatekit.errors import Location, PluginError, UsageError, describe_exception, quoted
from gatekit.format.yamlsource import Reader
from gatekit.training.optimizers import Optimizer
from gatekit.training.registry import Registry
from gatekit.training.schedules import Schedule, Warmup
from gatekit.training.settings import Setting

__all__ = ["Eval", "SolverConfig", "read_solver"]

#: The keys every solver takes (beside its optimizer's settings).
KEYS = (
    "optimizer",
    "lr",
    "schedule",
    "warmup",
    "steps",
    "epochs",
    "batch_size",
    "shuffle",
    "seed",
    "clip_norm",
    "freeze",
    "eval",
    "log_every",
    "checkpoint_every",
)


@dataclass(frozen=True, slots=True)
class Eval:
    """Held-out data: a file, or a fraction of the training rows, evaluated every ``every`` steps."""

    every: int
    data: str | None = None  # a data file (relative to the solver's file)
    split: float | None = None  # the fraction of the rows held out (the last ones, after a seeded shuffle)


@dataclass(frozen=True, slots=True)
class SolverConfig:
    """A checked solver: what to fit, how, and for how long."""

    optimizer: Optimizer
    lr: float
    schedule: Schedule | Warmup  # the learning rate of each step, warmup included
    steps: int | None  # one of steps and epochs is set
    epochs: int | None
    batch_size: int | None
    shuffle: bool
    seed: int
    clip_norm: float | None
    freeze: tuple[str, ...]
    eval: Eval | None
    log_every: int | None
    checkpoint_every: int | None
    #: where each setting was written, for messages that concern it later (a frozen name unknown;
    #: ``freeze/NAME`` is where NAME is written in the list)
    places: Mapping[str, Location] = field(default_factory=dict)

    def total_steps(self, steps_per_epoch: int) -> int:
        """How many steps the run takes."""
        return self.steps if self.steps is not None else (self.epochs or 1) * steps_per_epoch


def _whole(reader: Reader, node: Node, what: str, low: int = 1) -> int:
    number = reader.number(node, what)
    if not number.is_integer() or number < low or number >= 2**63:
        raise reader.error(node, f"{what} must be a whole number of at least {low}, got {node.value}")
    return int(number)


def _positive(reader: Reader, node: Node, what: str) -> float:
    number = reader.number(node, what)
    if not (math.isfinite(number) and number > 0):
        raise reader.error(node, f"{what} must be a finite number above 0, got {node.value}")
    return number


def _is_null(node: Node) -> bool:
    return node.tag.endswith(":null")


def _named(
    reader: Reader, node: Node, what: str, known: Registry[Any]
) -> tuple[type[Any], dict[str, tuple[Node, Node]]]:
    """``name`` or ``{name: NAME, SETTING: VALUE ...}``: the class, and its settings' nodes."""
    settings: dict[str, tuple[Node, Node]] = {}
    name_node = node
    if isinstance(node, MappingNode):
        found = None
        for key, key_node, value in reader.mapping(node, what):
            if key == "name":
                found = value
            else:
                settings[key] = (key_node, value)
        if found is None:
            raise reader.error(node, f"{what} has no 'name:' (one of {', '.join(known)})")
        name_node = found
    name = reader.text(name_node, what)
    try:
        return known.find(name), settings
    except ValueError as exc:  # unknown: the likely one, or the list
        raise reader.error(name_node, str(exc)) from None


def _settings(
    reader: Reader, settings: Mapping[str, Setting], given: Mapping[str, tuple[Node, Node]], what: str
) -> dict[str, float]:
    """Every setting of an optimizer or schedule: given ones converted (located), defaults for the rest."""
    values = {}
    for key, setting in settings.items():
        if key in given:
            key_node, node = given[key]
            try:
                values[key] = setting.convert(reader.number(node, f"{key!r} of {what}"))
            except ValueError as exc:
                raise reader.error(node, f"{key!r} of {what}: {exc}") from None
        else:
            values[key] = setting.default
    for key, (key_node, _) in given.items():
        if key not in settings:
            accepted = ", ".join(settings) or "none"
            raise reader.error(key_node, f"{what} has no setting {quoted(key)} (it takes: {accepted})")
    return values


def read_solver(
    node: Node,
    reader: Reader,
    optimizers: Registry[Optimizer],
    schedules: Registry[Schedule],
    *,
    default_seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
) -> SolverConfig:
    """Check a solver mapping against the installed optimizers and schedules.

    :param overrides: single keys set on the command line (``steps``,
        ``epochs``, ``lr``, ``batch_size``, ``seed``), applied over the file's.
    :raises GraphError: a bad key or value, located in the file.
    :raises UsageError: a bad override.
    """
    entries = {key: (key_node, value) for key, key_node, value in reader.mapping(node, "the solver")}
    overrides = dict(overrides or {})
    optimizer_node = entries.get("optimizer", (None, None))[1]
    if optimizer_node is None:
        optimizer_class: type[Optimizer] = optimizers["sgd"]
        optimizer_settings: dict[str, tuple[Node, Node]] = {}
    else:
        optimizer_class, optimizer_settings = _named(reader, optimizer_node, "optimizer", optimizers)
    # the chosen optimizer's settings are written at the top level, beside the solver's own keys
    for key, entry in entries.items():
        if key not in KEYS:
            if key in optimizer_class.settings:
                optimizer_settings[key] = entry
            else:
                accepted = ", ".join((*KEYS, *optimizer_class.settings))
                raise reader.error(
                    entry[0], f"unknown solver key {quoted(key)} (expected one of: {accepted})"
                )
    optimizer = _made(
        optimizer_class,
        _settings(reader, optimizer_class.settings, optimizer_settings, f"optimizer {optimizer_class.name}"),
        optimizer_node if optimizer_node is not None else node,
        reader,
        "optimizer",
    )

    def value(key: str) -> Node | None:
        entry = entries.get(key)
        return None if entry is None or _is_null(entry[1]) else entry[1]

    places = {key: reader.location(key_node) for key, (key_node, _) in entries.items()}
    lr_node = value("lr")
    lr = _positive(reader, lr_node, "lr") if lr_node is not None else 0.01
    schedule_node = value("schedule")
    if schedule_node is None:
        main: Schedule = _made(schedules["constant"], {}, node, reader, "schedule")
    else:
        schedule_class, schedule_settings = _named(reader, schedule_node, "schedule", schedules)
        main = _made(
            schedule_class,
            _settings(reader, schedule_class.settings, schedule_settings, f"schedule {schedule_class.name}"),
            schedule_node,
            reader,
            "schedule",
        )
    schedule = _warmup(reader, value("warmup"), main)
    steps_node, epochs_node = value("steps"), value("epochs")
    if steps_node is not None and epochs_node is not None:
        raise reader.error(epochs_node, "give steps or epochs, not both")
    steps = _whole(reader, steps_node, "steps") if steps_node is not None else None
    epochs = _whole(reader, epochs_node, "epochs") if epochs_node is not None else None
    batch_node = value("batch_size")
    batch_size = _whole(reader, batch_node, "batch_size") if batch_node is not None else None
    shuffle_node = value("shuffle")
    shuffle = reader.boolean(shuffle_node, "shuffle") if shuffle_node is not None else True
    seed_node = value("seed")
    seed = _whole(reader, seed_node, "the solver's seed", low=0) if seed_node is not None else default_seed
    clip_node = value("clip_norm")
    clip_norm = _positive(reader, clip_node, "clip_norm") if clip_node is not None else None
    freeze_node = value("freeze")
    freeze_items = reader.sequence(freeze_node, "'freeze:'") if freeze_node is not None else []
    freeze = tuple(reader.text(item, "each param of 'freeze:'") for item in freeze_items)
    places |= {
        f"freeze/{name}": reader.location(item) for name, item in zip(freeze, freeze_items, strict=True)
    }
    log_node, checkpoint_node = value("log_every"), value("checkpoint_every")
    config = SolverConfig(
        optimizer=optimizer,
        lr=lr,
        schedule=schedule,
        steps=steps,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        clip_norm=clip_norm,
        freeze=freeze,
        eval=_eval(reader, value("eval")),
        log_every=_whole(reader, log_node, "log_every") if log_node is not None else None,
        checkpoint_every=_whole(reader, checkpoint_node, "checkpoint_every")
        if checkpoint_node is not None
        else None,
        places=places,
    )
    config = _overridden(config, overrides)
    if config.steps is None and config.epochs is None:
        raise reader.error(
            node, "the solver says neither steps: nor epochs: (how long to train); give one, or --steps"
        )
    return config


def _made(kind: type[Any], values: Mapping[str, float], node: Node, reader: Reader, what: str) -> Any:
    """An optimizer or schedule made from its settings; a plugin class that raises is named."""
    try:
        return kind(values)
    except Exception as exc:  # a plugin's constructor: its fault, said in one line
        raise PluginError(
            f"{what} {quoted(kind.name)} failed to start: {describe_exception(exc)}", reader.location(node)
        ) from None


def _warmup(reader: Reader, node: Node | None, main: Schedule) -> Schedule | Warmup:
    """``main``, behind any warmup ``node`` asks for: ``5`` (steps), ``{steps: 5, start_factor: 0.1}``."""
    if node is None:
        return main
    if isinstance(node, MappingNode):
        given = {key: (key_node, value) for key, key_node, value in reader.mapping(node, "'warmup:'")}
        if "steps" not in given:
            raise reader.error(node, "'warmup:' has no 'steps:' (how many steps it lasts)")
    else:
        given = {"steps": (node, node)}
    values = _settings(reader, Warmup.settings, given, "warmup")
    return Warmup(main, values) if values["steps"] else main


def _eval(reader: Reader, node: Node | None) -> Eval | None:
    if node is None:
        return None
    entries = {key: (key_node, value) for key, key_node, value in reader.mapping(node, "'eval:'")}
    for key, (key_node, _) in entries.items():
        if key not in ("data", "split", "every"):
            raise reader.error(
                key_node, f"'eval:' has no setting {quoted(key)} (it takes: data, split, every)"
            )
    if ("data" in entries) == ("split" in entries):
        raise reader.error(
            node, "'eval:' takes either data: (a file of held-out rows) or split: (a fraction)"
        )
    every = _whole(reader, entries["every"][1], "eval every") if "every" in entries else 10
    if "data" in entries:
        return Eval(every, data=reader.text(entries["data"][1], "eval data (a file)"))
    split_node = entries["split"][1]
    split = reader.number(split_node, "eval split")
    if not 0 < split < 1:
        raise reader.error(
            split_node, f"eval split must be a fraction above 0 and below 1, got {split_node.value}"
        )
    return Eval(every, split=split)


#: Command-line flags that override one solver key each, and what each must be.
OVERRIDES = {
    "steps": "whole",
    "epochs": "whole",
    "batch_size": "whole",
    "seed": "seed",
    "lr": "positive",
    "checkpoint_every": "whole",
}


def _overridden(config: SolverConfig, overrides: Mapping[str, Any]) -> SolverConfig:
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        kind = OVERRIDES.get(key)
        if kind is None:
            raise UsageError(f"unknown override {quoted(key)} (the overrides: {', '.join(OVERRIDES)})")
        flag = f"--{key.replace('_', '-')}"
        if kind == "positive":
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise UsageError(f"{flag}: give a number, got {value!r}")
            number = float(value)
            if not (math.isfinite(number) and number > 0):
                raise UsageError(f"{flag}: give a finite number above 0, got {value}")
            changes[key] = number
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise UsageError(f"{flag}: give a whole number, got {value!r}")
        whole = int(value)
        if kind == "whole" and whole < 1:
            raise UsageError(f"{flag}: give a whole number of at least 1, got {value}")
        if kind == "seed" and not 0 <= whole < 2**63:
            raise UsageError(f"{flag}: give a whole number from 0 to 2**63 - 1, got {value}")
        changes[key] = whole
    if "steps" in changes:
        changes["epochs"] = None
    elif "epochs" in changes:
        changes["steps"] = None
    return replace(config, **changes)
