"""Learning-rate schedules: the :class:`Schedule` contract, the built-ins and :class:`Warmup`.

A schedule says what learning rate each step gets, from the base learning
rate and the number of steps in the run. It is a pure function of the step
number, so a resumed run needs no schedule state: step ``n`` of a resumed
run gets what step ``n`` of an uninterrupted one would.

Each built-in is one of PyTorch's ``torch.optim.lr_scheduler`` classes,
computed in the closed form PyTorch itself uses when it is given the epoch
(its ``_get_closed_form_lr``), with ``last_epoch`` = gatekit's step number
(0 at the first step: the learning rate of the first ``optimizer.step()``)
and every length that PyTorch asks for set to the run's steps. When it is
stepped, PyTorch computes most of them recursively instead (the *chainable*
form: each learning rate from the one before); the two agree to about 1e-15
over the short runs ``tests/reference`` records, and the comment on each
class says where they drift apart on long ones.

:class:`Warmup` puts a linear warmup in front of any schedule, as PyTorch's
``SequentialLR([LinearLR(...), main], milestones=[steps])`` does.

Examples
--------
>>> cosine = Cosine({"eta_min": 0.0})
>>> [round(cosine.lr(step, 0.1, 4), 6) for step in range(4)]
[0.1, 0.085355, 0.05, 0.014645]
>>> warm = Warmup(cosine, {"steps": 2, "start_factor": 0.5})
>>> [round(warm.lr(step, 0.1, 6), 6) for step in range(6)]
[0.05, 0.075, 0.1, 0.085355, 0.05, 0.014645]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from gatekit.plugin.hookspecs import hookimpl
from gatekit.training.settings import Setting, resolve

__all__ = [
    "Constant",
    "Cosine",
    "Exponential",
    "Linear",
    "Schedule",
    "Step",
    "Warmup",
    "gatekit_register_schedules",
]


class Schedule:
    """The contract every schedule, built-in or from a plugin, fulfils.

    A subclass declares ``name``, ``doc`` (one line) and ``settings`` (each
    a :class:`~gatekit.training.settings.Setting`), and implements :meth:`lr`.
    """

    name: ClassVar[str]
    doc: ClassVar[str]
    settings: ClassVar[Mapping[str, Setting]] = MappingProxyType({})

    def __init__(self, settings: Mapping[str, float]) -> None:
        """Take the setting values, every one present (as :func:`~.settings.resolve` gives them).

        :raises ValueError: a setting missing, unknown or out of its bounds.
        """
        owner = f"schedule {getattr(type(self), 'name', type(self).__name__)!r}"
        #: the setting values, by name
        self.values: dict[str, float] = resolve(type(self).settings, settings, owner, fill_defaults=False)

    def lr(self, step: int, base_lr: float, total_steps: int) -> float:
        """The learning rate of step number ``step`` (0 = the first step) of a run of ``total_steps``.

        A pure function: the same arguments always give the same rate. The
        trainer calls it with ``0 <= step < total_steps``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement lr")


def _declare(**settings: Setting) -> Mapping[str, Setting]:
    """A class's settings, in the order written, read-only."""
    return MappingProxyType(settings)


class Constant(Schedule):
    """The base learning rate at every step (PyTorch: no scheduler, or ``LambdaLR(lambda t: 1.0)``)."""

    name = "constant"
    doc = "The same learning rate at every step."

    def lr(self, step: int, base_lr: float, total_steps: int) -> float:
        return base_lr


class Step(Schedule):
    """``torch.optim.lr_scheduler.StepLR``: ``lr = base_lr * gamma ** (step // step_size)``.

    PyTorch's StepLR needs ``step_size``; gatekit's default, 30, is the one
    its documentation's example uses.

    Drift: stepped, PyTorch multiplies the rate by ``gamma`` at each multiple
    of ``step_size``, rounding once per decay; the closed form raises
    ``gamma`` to the number of decays. They differ by about one rounding
    (1e-16, relative) per decay.
    """

    name = "step"
    doc = "Multiply the learning rate by gamma every step_size steps."
    settings = _declare(
        step_size=Setting(30, "decay every this many steps", 1, integer=True),
        gamma=Setting(0.1, "the factor of each decay", 0.0),
    )

    def __init__(self, settings: Mapping[str, float]) -> None:
        super().__init__(settings)
        self.step_size = int(self.values["step_size"])
        self.gamma = self.values["gamma"]

    def lr(self, step: int, base_lr: float, total_steps: int) -> float:
        return base_lr * self.gamma ** (step // self.step_size)


class Exponential(Schedule):
    """``torch.optim.lr_scheduler.ExponentialLR``: ``lr = base_lr * gamma ** step``.

    PyTorch's ExponentialLR needs ``gamma``; gatekit's default, 0.95, is the
    one its documentation's example uses.

    Drift: stepped, PyTorch multiplies the rate by ``gamma`` at every step,
    one rounding each; after ``t`` steps the two differ by up to about
    ``t * 1e-16`` relative (1e-12 after some ten thousand steps).
    """

    name = "exponential"
    doc = "Multiply the learning rate by gamma at every step."
    settings = _declare(gamma=Setting(0.95, "the factor of each step", 0.0))

    def __init__(self, settings: Mapping[str, float]) -> None:
        super().__init__(settings)
        self.gamma = self.values["gamma"]

    def lr(self, step: int, base_lr: float, total_steps: int) -> float:
        return base_lr * self.gamma**step


class Cosine(Schedule):
    """``torch.optim.lr_scheduler.CosineAnnealingLR`` with ``T_max`` = the run's steps.

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * step / total_steps)) / 2``:
    from ``base_lr`` at the first step towards ``eta_min`` (a learning rate,
    not a factor), which the step after the last would reach.

    Drift: stepped, PyTorch multiplies ``lr - eta_min`` by the ratio
    ``(1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T))`` at every step. Near
    the end both terms of the ratio come close to 0 while the cosines keep an
    absolute rounding of about 1e-16, so the ratio's relative error grows
    like ``T**2 * 5e-18``: negligible for the short runs the reference
    records, about 1e-9 over the last steps of a run of 10,000 (and carried
    forward). The closed form has no such error.
    """

    name = "cosine"
    doc = "Anneal the learning rate along a half cosine, from lr to eta_min over the run."
    settings = _declare(eta_min=Setting(0.0, "the learning rate the cosine anneals to", 0.0))

    def __init__(self, settings: Mapping[str, float]) -> None:
        super().__init__(settings)
        self.eta_min = self.values["eta_min"]

    def lr(self, step: int, base_lr: float, total_steps: int) -> float:
        eta_min = self.eta_min
        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step / total_steps)) / 2


class Linear(Schedule):
    """``torch.optim.lr_scheduler.LinearLR`` with ``total_iters`` = the run's steps.

    ``lr = base_lr * (start_factor + (end_factor - start_factor) * step / total_steps)``:
    the factor moves in a straight line from ``start_factor`` at the first
    step towards ``end_factor``, which the step after the last would reach.
    The bounds are PyTorch's: ``0 < start_factor <= 1``, ``0 <= end_factor <= 1``.

    Drift: stepped, PyTorch multiplies the rate at each step by
    ``1 + (end - start) / (T * start + (t - 1) * (end - start))``, one
    rounding each (about ``t * 1e-16`` relative after ``t`` steps); a factor
    that falls towards an ``end_factor`` of 0 makes the rates small and that
    rounding large against them (the absolute error stays about 1e-16 of
    ``base_lr``).
    """

    name = "linear"
    doc = "Change the learning rate in a straight line, from start_factor * lr to end_factor * lr."
    settings = _declare(
        start_factor=Setting(1 / 3, "the learning rate's factor at the first step", 0, 1, low_open=True),
        end_factor=Setting(1.0, "the factor the line reaches after the last step", 0.0, 1.0),
    )

    def __init__(self, settings: Mapping[str, float]) -> None:
        super().__init__(settings)
        self.start_factor = self.values["start_factor"]
        self.end_factor = self.values["end_factor"]

    def lr(self, step: int, base_lr: float, total_steps: int) -> float:
        start, end = self.start_factor, self.end_factor
        return base_lr * (start + (end - start) * min(total_steps, step) / total_steps)


class Warmup:
    """A linear warmup of ``steps`` steps in front of another schedule (``main``).

    It is what PyTorch's ``SequentialLR([LinearLR(optimizer,
    start_factor=F, end_factor=1.0, total_iters=W), main], milestones=[W])``
    gives, worked out step by step (``tests/reference`` holds PyTorch's
    numbers). With ``W`` = ``steps`` and ``F`` = ``start_factor``:

    - steps ``0 .. W-1`` get ``base_lr * (F + (1 - F) * step / W)``: from
      ``F * base_lr`` up, in equal steps, to one step short of ``base_lr``
      (the warmup never itself reaches the full rate);
    - step ``W`` and after get the main schedule started afresh: step
      ``W + k`` gets what step ``k`` of a run of ``total_steps - W`` steps
      gets (at the milestone PyTorch restarts ``main`` at its epoch 0, in its
      closed form). So a cosine anneals over the steps left after the warmup,
      as ``CosineAnnealingLR(T_max=total_steps - W)`` in the sequence would.

    With ``W = 0`` it is the main schedule itself, whatever ``F`` is.

    Drift: stepped, PyTorch's LinearLR multiplies the rate by
    ``1 + (1 - F) / (W * F + (t - 1) * (1 - F))`` at each warmup step, about
    one rounding (1e-16, relative) per step away from this closed form.
    """

    name: ClassVar[str] = "warmup"
    doc: ClassVar[str] = (
        "Rise linearly from start_factor * lr over the first steps, then follow the schedule."
    )
    settings: ClassVar[Mapping[str, Setting]] = _declare(
        steps=Setting(0, "how many steps the warmup lasts (0: none)", 0, integer=True),
        start_factor=Setting(1 / 3, "the learning rate's factor at the first step", 0, 1, low_open=True),
    )

    def __init__(self, main: Schedule, settings: Mapping[str, float]) -> None:
        """Put a warmup with these settings (every one present) in front of ``main``.

        :raises ValueError: a setting missing, unknown or out of its bounds.
        """
        self.main = main
        #: the setting values, by name
        self.values = resolve(self.settings, settings, "warmup", fill_defaults=False)
        self.steps = int(self.values["steps"])
        self.start_factor = self.values["start_factor"]

    def lr(self, step: int, base_lr: float, total_steps: int) -> float:
        """The learning rate of step number ``step`` (0 = the first) of a run of ``total_steps``.

        :raises ValueError: ``step`` is not one of the run's steps.
        """
        if not 0 <= step < total_steps:
            raise ValueError(
                f"step {step} is not one of the run's {total_steps} steps (0 to {total_steps - 1})"
            )
        warmup, start = self.steps, self.start_factor
        if step < warmup:  # LinearLR's closed form, end_factor 1: start + (end - start) * step / total_iters
            return base_lr * (start + (1.0 - start) * step / warmup)
        return self.main.lr(step - warmup, base_lr, total_steps - warmup)


@hookimpl
def gatekit_register_schedules() -> list[type[Schedule]]:
    """The built-in schedules, through the hook a plugin's schedules come in by."""
    return [Constant, Step, Exponential, Cosine, Linear]
