"""Write ``optimizers_torch.json``: PyTorch's own numbers for every optimizer and schedule.

Run it where torch is installed (never in gatekit's environment, which does
not depend on torch)::

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchenv/bin/python tests/reference/make_optimizer_reference.py

Optimizers: each case runs 20 steps of a ``torch.optim`` optimizer (the
single-tensor code, ``foreach=False``) in float64 on a fixed small problem
(:data:`INITIAL`, :func:`gradients`): three parameters of different shapes,
a matrix, a vector and a scalar, whose gradients are a smooth function of
all of them, so that each step's path depends on every update before it;
the learning rate changes from step to step (:func:`learning_rates`). The
gradients are computed here with NumPy, exactly as ``tests/test_optimizers.py``
computes them, so that the only arithmetic that differs is the optimizer's.

Schedules: each case records the learning rate of each of 20 steps of a
``torch.optim.lr_scheduler`` scheduler (base rate 0.1), alone or after a
warmup as ``SequentialLR([LinearLR(start_factor=F, end_factor=1.0,
total_iters=W), main], milestones=[W])``, the main scheduler's length being
the steps left after the warmup.

The settings recorded are the ones torch used, read back from the
optimizer's ``defaults`` or the scheduler's attributes; a case marked
``"defaults": true`` passed torch nothing but what selects the variant, so
its settings are torch's defaults.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).with_name("optimizers_torch.json")
STEPS = 20
BASE_LR = 0.1

#: The parameters the optimizers start from: a 3x2 matrix, a vector of 2, a scalar.
INITIAL: dict[str, Any] = {
    "W": [[0.5, -1.2], [1.5, 0.3], [-0.7, 2.0]],
    "b": [0.2, -0.4],
    "c": 1.3,
}
A = np.array([[1.0, 2.0], [0.5, 3.0], [1.5, 0.8]])
B = np.array([2.0, 0.7])


def gradients(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The gradient of ``f`` at ``params``, where (sums over every element)

    ``f = sum(A W**2) / 2 + sum(sin(W) b) + sum(B b**2) / 2 - 0.3 sum(b)
    + c**2 / 2 + cos(c) / 2 + 0.2 c sum(b)``:

    a quadratic bowl with sine terms that couple the parameters.
    """
    W, b, c = params["W"], params["b"], params["c"]
    grads = {
        "W": A * W + np.cos(W) * b,
        "b": B * b + np.sin(W).sum(axis=0) - 0.3 + 0.2 * c,
        "c": c - 0.5 * np.sin(c) + 0.2 * b.sum(),
    }
    return {name: np.asarray(grad, dtype=np.float64) for name, grad in grads.items()}


def initial_params() -> dict[str, np.ndarray]:
    return {name: np.array(value, dtype=np.float64) for name, value in INITIAL.items()}


def learning_rates() -> list[float]:
    """The learning rate of each step: around 0.05, different at every step."""
    return [0.05 * (1 + 0.5 * math.sin(step)) for step in range(STEPS)]


# -- optimizers ---------------------------------------------------------------------------------

#: (label, gatekit optimizer, torch class name, torch arguments, whether those are torch's defaults)
OPTIMIZER_CASES: list[tuple[str, str, str, dict[str, Any], bool]] = [
    ("sgd", "sgd", "SGD", {}, True),
    ("sgd weight_decay", "sgd", "SGD", {"weight_decay": 0.1}, False),
    ("momentum", "momentum", "SGD", {"momentum": 0.9}, True),
    ("momentum weight_decay", "momentum", "SGD", {"momentum": 0.9, "weight_decay": 0.1}, False),
    ("momentum dampening", "momentum", "SGD", {"momentum": 0.7, "dampening": 0.3}, False),
    ("nesterov", "nesterov", "SGD", {"momentum": 0.9, "nesterov": True}, True),
    (
        "nesterov weight_decay",
        "nesterov",
        "SGD",
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
        False,
    ),
    ("adam", "adam", "Adam", {}, True),
    ("adam weight_decay", "adam", "Adam", {"weight_decay": 0.1}, False),
    ("adam small beta1", "adam", "Adam", {"betas": (0.3, 0.9), "eps": 1e-6}, False),  # lerp's other form
    ("adamw", "adamw", "AdamW", {}, True),
    ("adamw weight_decay", "adamw", "AdamW", {"weight_decay": 0.1}, False),
    ("rmsprop", "rmsprop", "RMSprop", {}, True),
    ("rmsprop weight_decay", "rmsprop", "RMSprop", {"weight_decay": 0.1}, False),
    ("rmsprop momentum", "rmsprop", "RMSprop", {"momentum": 0.5}, False),
    ("rmsprop centered", "rmsprop", "RMSprop", {"centered": True}, False),
    (
        "rmsprop centered momentum weight_decay",
        "rmsprop",
        "RMSprop",
        {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "alpha": 0.9},
        False,
    ),
    ("adagrad", "adagrad", "Adagrad", {}, True),
    ("adagrad weight_decay", "adagrad", "Adagrad", {"weight_decay": 0.1}, False),
    ("adagrad lr_decay", "adagrad", "Adagrad", {"lr_decay": 0.05, "initial_accumulator_value": 0.1}, False),
]


def gatekit_settings(optimizer: str, defaults: Mapping[str, Any]) -> dict[str, float]:
    """The gatekit settings of a torch optimizer's ``defaults``."""
    wd = float(defaults["weight_decay"])
    if optimizer == "sgd":
        return {"weight_decay": wd}
    if optimizer == "momentum":
        return {"momentum": defaults["momentum"], "dampening": defaults["dampening"], "weight_decay": wd}
    if optimizer == "nesterov":
        return {"momentum": defaults["momentum"], "weight_decay": wd}
    if optimizer in ("adam", "adamw"):
        beta1, beta2 = defaults["betas"]
        return {"beta1": beta1, "beta2": beta2, "eps": defaults["eps"], "weight_decay": wd}
    if optimizer == "rmsprop":
        return {
            "alpha": defaults["alpha"],
            "eps": defaults["eps"],
            "weight_decay": wd,
            "momentum": defaults["momentum"],
            "centered": float(defaults["centered"]),
        }
    if optimizer == "adagrad":
        return {
            "lr_decay": defaults["lr_decay"],
            "eps": defaults["eps"],
            "weight_decay": wd,
            "initial_accumulator_value": defaults["initial_accumulator_value"],
        }
    raise ValueError(optimizer)


def optimizer_case(
    torch: Any, label: str, optimizer: str, kind: str, kwargs: dict[str, Any], defaults: bool
) -> dict[str, Any]:
    tensors = {
        name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in INITIAL.items()
    }
    lrs = learning_rates()
    opt = getattr(torch.optim, kind)(list(tensors.values()), lr=lrs[0], foreach=False, **kwargs)
    path = []
    for step in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = lrs[step]
        grads = gradients({name: t.detach().numpy() for name, t in tensors.items()})
        for name, t in tensors.items():
            t.grad = torch.from_numpy(np.array(grads[name], dtype=np.float64))
        opt.step()
        path.append({name: t.detach().numpy().tolist() for name, t in tensors.items()})
    settings = {key: float(value) for key, value in gatekit_settings(optimizer, opt.defaults).items()}
    return {
        "label": label,
        "optimizer": optimizer,
        "settings": settings,
        "defaults": defaults,
        "params": path,
    }


# -- schedules ----------------------------------------------------------------------------------

#: (label, gatekit schedule, its settings (None: torch's defaults), warmup (W, F; F None: torch's default))
SCHEDULE_CASES: list[tuple[str, str, dict[str, float] | None, tuple[int, float | None] | None]] = [
    ("constant", "constant", {}, None),
    ("constant warmup", "constant", {}, (5, 0.1)),
    ("step", "step", None, None),
    ("step every 3", "step", {"step_size": 3, "gamma": 0.5}, None),
    ("step every 3 warmup", "step", {"step_size": 3, "gamma": 0.5}, (5, 0.1)),
    ("exponential", "exponential", {"gamma": 0.95}, None),
    ("exponential warmup", "exponential", {"gamma": 0.8}, (4, 0.25)),
    ("cosine", "cosine", None, None),
    ("cosine eta_min", "cosine", {"eta_min": 0.01}, None),
    ("cosine warmup", "cosine", None, (5, 0.1)),
    ("cosine warmup of 0 steps", "cosine", {"eta_min": 0.01}, (0, 0.5)),
    ("cosine warmup of 1 step", "cosine", None, (1, 0.2)),
    ("cosine warmup default start_factor", "cosine", {"eta_min": 0.001}, (3, None)),
    ("linear", "linear", None, None),
    ("linear decay", "linear", {"start_factor": 1.0, "end_factor": 0.05}, None),
    ("linear decay warmup", "linear", {"start_factor": 1.0, "end_factor": 0.0}, (5, 0.1)),
]


def main_scheduler(
    torch: Any, opt: Any, schedule: str, settings: dict[str, float] | None, length: int
) -> Any:
    """The torch scheduler of a gatekit schedule of ``length`` steps (settings ``None``: torch's defaults)."""
    lr_scheduler = torch.optim.lr_scheduler
    given = settings or {}
    if schedule == "constant":
        return lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    if schedule == "step":
        return lr_scheduler.StepLR(
            opt, step_size=int(given.get("step_size", 30)), **_without(given, "step_size")
        )
    if schedule == "exponential":
        return lr_scheduler.ExponentialLR(opt, **given)
    if schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(opt, T_max=length, **given)
    if schedule == "linear":
        return lr_scheduler.LinearLR(opt, total_iters=length, **given)
    raise ValueError(schedule)


def _without(settings: Mapping[str, float], key: str) -> dict[str, float]:
    return {k: v for k, v in settings.items() if k != key}


def settings_of(schedule: str, scheduler: Any) -> dict[str, float]:
    """The gatekit settings a torch scheduler was built with."""
    names = {
        "constant": [],
        "step": ["step_size", "gamma"],
        "exponential": ["gamma"],
        "cosine": ["eta_min"],
        "linear": ["start_factor", "end_factor"],
    }[schedule]
    return {name: float(getattr(scheduler, name)) for name in names}


def schedule_case(
    torch: Any,
    label: str,
    schedule: str,
    settings: dict[str, float] | None,
    warmup: tuple[int, float | None] | None,
) -> dict[str, Any]:
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([param], lr=BASE_LR)
    recorded_warmup = None
    if warmup is None:
        main = scheduler = main_scheduler(torch, opt, schedule, settings, STEPS)
    else:
        steps, start_factor = warmup
        factor = {} if start_factor is None else {"start_factor": start_factor}
        linear = torch.optim.lr_scheduler.LinearLR(opt, end_factor=1.0, total_iters=steps, **factor)
        main = main_scheduler(torch, opt, schedule, settings, STEPS - steps)
        scheduler = torch.optim.lr_scheduler.SequentialLR(opt, [linear, main], milestones=[steps])
        recorded_warmup = {"steps": float(steps), "start_factor": float(linear.start_factor)}
    lrs = []
    for _ in range(STEPS):
        lrs.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        scheduler.step()
    return {
        "label": label,
        "schedule": schedule,
        "settings": settings_of(schedule, main),
        "defaults": settings is None,
        "warmup": recorded_warmup,
        "warmup_defaults": warmup is not None and warmup[1] is None,
        "lrs": lrs,
    }


def _dumped(value: Any, indent: str = "") -> str:
    """JSON with a line for each dict entry and each dict in a list; numbers and their lists on one line.

    Floats are written as ``repr`` writes them, which reads back to the same float.
    """
    inner = indent + " "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(key)}: {_dumped(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "[\n" + ",\n".join(f"{inner}{_dumped(item, inner)}" for item in value) + f"\n{indent}]"
    return json.dumps(value)


def main() -> None:
    import torch

    torch.set_default_dtype(torch.float64)
    warnings.simplefilter("ignore")  # the schedulers' advice on call order; the order here is right
    reference = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "made_by": "tests/reference/make_optimizer_reference.py",
        "steps": STEPS,
        "initial": INITIAL,
        "lrs": learning_rates(),
        "base_lr": BASE_LR,
        "optimizers": [optimizer_case(torch, *case) for case in OPTIMIZER_CASES],
        "schedules": [schedule_case(torch, *case) for case in SCHEDULE_CASES],
    }
    OUT.write_text(_dumped(reference) + "\n", encoding="utf-8")
    print(f"wrote {OUT} (torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
