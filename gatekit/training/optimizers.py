"""Optimizers: the :class:`Optimizer` contract and the built-ins, computed as PyTorch computes them.

An optimizer turns each step's gradients into an update of the parameters,
in place. It never holds the learning rate: the schedule gives it, step by
step, as the ``lr`` argument of :meth:`Optimizer.step`. Everything else it
remembers between steps (running averages, a step count) is its *state*,
which :meth:`Optimizer.state` hands out as arrays for an ``.npz`` file and
:meth:`Optimizer.load_state` takes back, so that a run resumed from a file
continues bit for bit.

Each built-in follows the algorithm box of its page in the ``torch.optim``
documentation, and computes it in the order of PyTorch's single-tensor
implementation (``foreach=False``): an algorithm box and its implementation
are the same algebra, but not the same float64 arithmetic. The comments in
each ``step`` name the PyTorch call every line mirrors.
``tests/reference/optimizers_torch.json`` holds PyTorch's own numbers, and
the tests hold these optimizers to them, to 1e-12 relative over 20 steps.
They agree to about 1e-13, not bit for bit: PyTorch's CPU kernels fuse
some multiply-adds (``add(alpha=...)``, ``lerp_``, rounding once where
NumPy rounds twice), so the last bit of an update can differ from the
first step on.

The built-ins are registered as a plugin (this module answers
``gatekit_register_optimizers``), exactly as a third-party optimizer is.

Examples
--------
>>> import numpy as np
>>> sgd = SGD({"weight_decay": 0.0})
>>> params = {"w": np.array([1.0, 2.0])}
>>> sgd.step(params, {"w": np.array([0.5, -1.0])}, lr=0.1)
>>> params["w"]
array([0.95, 2.1 ])
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from gatekit.plugin.hookspecs import hookimpl
from gatekit.training.settings import Setting, resolve

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "FloatArray",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "PerParameter",
    "RMSprop",
    "gatekit_register_optimizers",
]

FloatArray = npt.NDArray[np.float64]


class Optimizer:
    """The contract every optimizer, built-in or from a plugin, fulfils.

    A subclass declares ``name`` (how a training file asks for it), ``doc``
    (one line) and ``settings`` (each a :class:`Setting`; never ``lr``, which
    the schedule gives), and implements :meth:`step`.

    The state it keeps between steps is the step count :attr:`steps` and,
    per parameter, the arrays in :attr:`buffers`: ``buffers[kind][param]``
    for each kind its ``__init__`` declared with :meth:`keep`
    (``"exp_avg"``). :meth:`state` and :meth:`load_state` save and restore
    exactly that; an optimizer that keeps anything else overrides both.
    """

    name: ClassVar[str]
    doc: ClassVar[str]
    settings: ClassVar[Mapping[str, Setting]] = MappingProxyType({})

    def __init__(self, settings: Mapping[str, float]) -> None:
        """Take the setting values, every one present (as :func:`~.settings.resolve` gives them).

        :raises ValueError: a setting missing, unknown or out of its bounds.
        """
        #: how messages name this optimizer
        self.owner = f"optimizer {getattr(type(self), 'name', type(self).__name__)!r}"
        #: the setting values, by name
        self.values: dict[str, float] = resolve(
            type(self).settings, settings, self.owner, fill_defaults=False
        )
        #: how many steps have been taken
        self.steps = 0
        #: per-parameter state: kind -> parameter name -> array (the parameter's shape, float64)
        self.buffers: dict[str, dict[str, FloatArray]] = {}

    def keep(self, *kinds: str) -> None:
        """Declare (in ``__init__``) the kinds of per-parameter state this instance keeps."""
        self.buffers = {kind: {} for kind in kinds}

    def step(self, params: dict[str, FloatArray], grads: Mapping[str, FloatArray], lr: float) -> None:
        """Update every array in ``params`` in place, with the learning rate ``lr``.

        :param params: float64 arrays by name (a scalar parameter is a 0-d
            array); the same names and shapes at every step.
        :param grads: the gradient of each, the same keys and shapes; never
            changed.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement step")

    def buffer(self, kind: str, param: str, like: FloatArray, fill: float = 0.0) -> FloatArray:
        """The ``kind`` array of parameter ``param``, made like ``like`` and full of ``fill`` on first use.

        :raises ValueError: a loaded state gave it another shape than the parameter's.
        """
        arrays = self.buffers[kind]
        found = arrays.get(param)
        if found is None:
            found = arrays[param] = np.full(np.shape(like), fill, dtype=np.float64)
        elif found.shape != np.shape(like):
            raise ValueError(
                f"{self.owner}: the state {kind}/{param} has shape {found.shape}, "
                f"the parameter {np.shape(like)}"
            )
        return found

    def state(self) -> dict[str, npt.NDArray[np.generic]]:
        """Everything needed to resume, as arrays: ``"step"`` and ``"KIND/PARAM"`` for each buffer.

        The arrays are copies: a later step does not change them.
        """
        saved: dict[str, npt.NDArray[np.generic]] = {"step": np.array(self.steps, dtype=np.int64)}
        for kind, arrays in self.buffers.items():
            for param, array in arrays.items():
                saved[f"{kind}/{param}"] = array.copy()
        return saved

    def load_state(self, state: Mapping[str, npt.ArrayLike]) -> None:
        """Continue from what :meth:`state` gave: the next step is the one the saved run would take.

        :raises ValueError: ``state`` has no step count, or holds an array
            this optimizer does not keep (a file saved by another one).
        """
        if "step" not in state:
            raise ValueError(f"{self.owner}: the saved state has no 'step'")
        step = np.asarray(state["step"])
        if step.shape != () or step.dtype.kind not in "iu" or int(step) < 0:
            raise ValueError(f"{self.owner}: the saved 'step' must be a count, got {step!r} of {step.dtype}")
        buffers: dict[str, dict[str, FloatArray]] = {kind: {} for kind in self.buffers}
        for key, value in state.items():
            if key == "step":
                continue
            kind, slash, param = key.partition("/")
            if not slash or kind not in buffers:
                kept = ", ".join(["step", *(f"{kind}/PARAM" for kind in buffers)])
                raise ValueError(
                    f"{self.owner}: the saved state holds {key!r}, which it does not keep (it keeps: {kept})"
                )
            buffers[kind][param] = np.array(value, dtype=np.float64)  # a copy: the file's arrays stay as read
        self.steps = int(step)
        self.buffers = buffers


class PerParameter(Optimizer):
    """An optimizer whose step updates each parameter on its own, with the step's learning rate.

    A subclass implements :meth:`_update`; :meth:`step` counts the step and
    calls it for every parameter, in order.
    """

    def step(self, params: dict[str, FloatArray], grads: Mapping[str, FloatArray], lr: float) -> None:
        self.steps += 1
        for name, param in params.items():
            self._update(name, param, grads[name], lr)

    def _update(self, name: str, param: FloatArray, grad: FloatArray, lr: float) -> None:
        """Update ``param`` (in place) from ``grad``, with learning rate ``lr``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")


def _lerp_(start: FloatArray, end: FloatArray, weight: float) -> None:
    """``start += weight * (end - start)`` in place, in the form ``torch.Tensor.lerp_`` computes.

    PyTorch (ATen's ``lerp``) computes from whichever end the weight is
    closer to, for accuracy: ``start + weight * (end - start)`` below 0.5,
    ``end - (end - start) * (1 - weight)`` from 0.5 on.
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def _declare(**settings: Setting) -> Mapping[str, Setting]:
    """A class's settings, in the order written, read-only."""
    return MappingProxyType(settings)


WEIGHT_DECAY = Setting(0.0, "L2 penalty: weight_decay * p is added to the gradient", 0.0)
MOMENTUM = Setting(0.9, "momentum factor: how much of the last update each step keeps", 0.0)

# The algorithm boxes below are PyTorch's, written with the settings' names
# for its Greek letters: p is a parameter, g its gradient, t the step number
# (1 at the first step). Each step() loops over the parameters as PyTorch's
# single-tensor code does; the comment on each line names the call it mirrors.


class SGD(PerParameter):
    """Stochastic gradient descent, as ``torch.optim.SGD``; :class:`Momentum` and :class:`Nesterov` too.

    PyTorch's algorithm box (``sgd`` has no momentum; the subclasses set
    ``momentum``, ``dampening`` and ``nesterov``)::

        if weight_decay != 0:  g = g + weight_decay * p
        if momentum != 0:
            b = g                                      at the first step
            b = momentum * b + (1 - dampening) * g     after it
            g = g + momentum * b   if nesterov,   else   g = b
        p = p - lr * g
    """

    name = "sgd"
    doc = "Plain gradient descent: p -= lr * (grad + weight_decay * p)."
    settings = _declare(weight_decay=WEIGHT_DECAY)
    nesterov: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, float]) -> None:
        super().__init__(settings)
        self.weight_decay = self.values["weight_decay"]
        self.momentum = self.values.get("momentum", 0.0)
        self.dampening = self.values.get("dampening", 0.0)
        if self.momentum != 0:
            self.keep("momentum_buffer")

    def _update(self, name: str, param: FloatArray, grad: FloatArray, lr: float) -> None:
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param  # grad.add(param, alpha=weight_decay)
        if self.momentum != 0:
            buffers = self.buffers["momentum_buffer"]
            buf = buffers.get(name)
            if buf is None:  # the first step: the buffer starts as the gradient itself
                buf = buffers[name] = np.array(grad, dtype=np.float64)
            else:
                buf *= self.momentum  # buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                buf += (1 - self.dampening) * grad
            # nesterov: grad.add(buf, alpha=momentum); else the buffer is the step
            grad = grad + self.momentum * buf if self.nesterov else buf
        param += -lr * grad  # param.add_(grad, alpha=-lr)


class Momentum(SGD):
    """SGD with momentum, ``torch.optim.SGD(momentum=0.9, dampening=0)``; the box is :class:`SGD`'s."""

    name = "momentum"
    doc = "SGD with momentum: b = momentum * b + (1 - dampening) * grad; p -= lr * b."
    settings = _declare(
        momentum=MOMENTUM,
        dampening=Setting(0.0, "how much of each gradient the momentum leaves out", 0.0, 1.0),
        weight_decay=WEIGHT_DECAY,
    )


class Nesterov(SGD):
    """SGD with Nesterov momentum, ``torch.optim.SGD(momentum=0.9, nesterov=True)``; box: :class:`SGD`'s.

    PyTorch requires a momentum above 0 and no dampening for Nesterov's form.
    """

    name = "nesterov"
    doc = "SGD with Nesterov momentum: b = momentum * b + grad; p -= lr * (grad + momentum * b)."
    settings = _declare(
        momentum=Setting(0.9, MOMENTUM.doc, 0.0, low_open=True),
        weight_decay=WEIGHT_DECAY,
    )
    nesterov = True


BETA1 = Setting(0.9, "decay of the running mean of the gradient (PyTorch's betas[0])", 0, 1, high_open=True)
BETA2 = Setting(0.999, "decay of the running mean of the squared gradient (betas[1])", 0, 1, high_open=True)
ADAM_EPS = Setting(1e-8, "added to the root of the second moment, against division by zero", 0.0)


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: weight decay is an L2 term added to the gradient.

    PyTorch's algorithm box::

        if weight_decay != 0:  g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g                  (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    PyTorch, and so this code, computes the last three lines as
    ``p = p - (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``:
    the same algebra, rounded differently.
    """

    name = "adam"
    doc = "Adam: bias-corrected running means of the gradient and its square; L2 weight decay."
    settings = _declare(beta1=BETA1, beta2=BETA2, eps=ADAM_EPS, weight_decay=WEIGHT_DECAY)
    decoupled: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, float]) -> None:
        super().__init__(settings)
        self.beta1 = self.values["beta1"]
        self.beta2 = self.values["beta2"]
        self.eps = self.values["eps"]
        self.weight_decay = self.values["weight_decay"]
        self.keep("exp_avg", "exp_avg_sq")

    def step(self, params: dict[str, FloatArray], grads: Mapping[str, FloatArray], lr: float) -> None:
        self.steps += 1
        step = float(self.steps)  # PyTorch keeps the count in a tensor and reads it as a float
        bias_correction1 = 1 - self.beta1**step
        bias_correction2 = 1 - self.beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        for name, param in params.items():
            self._update(name, param, grads[name], lr, step_size=step_size, bc2_sqrt=bias_correction2_sqrt)

    def _update(
        self, name: str, param: FloatArray, grad: FloatArray, lr: float, *, step_size: float, bc2_sqrt: float
    ) -> None:
        if self.weight_decay != 0:
            if self.decoupled:
                param *= 1 - lr * self.weight_decay  # param.mul_(1 - lr * weight_decay)
            else:
                grad = grad + self.weight_decay * param  # grad.add(param, alpha=weight_decay)
        exp_avg = self.buffer("exp_avg", name, param)
        exp_avg_sq = self.buffer("exp_avg_sq", name, param)
        _lerp_(exp_avg, grad, 1 - self.beta1)  # exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq *= self.beta2  # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        exp_avg_sq += (1 - self.beta2) * grad * grad
        denom = np.sqrt(exp_avg_sq) / bc2_sqrt + self.eps  # (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
        param += -step_size * exp_avg / denom  # param.addcdiv_(exp_avg, denom, value=-step_size)


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay.

    The box is :class:`Adam`'s, with its first line replaced by
    ``p = p * (1 - lr * weight_decay)``: the decay shrinks the parameter
    directly, and the gradient goes into the running means as it is.
    """

    name = "adamw"
    doc = "AdamW: Adam whose weight decay shrinks the parameters directly: p *= 1 - lr * weight_decay."
    settings = _declare(
        beta1=BETA1,
        beta2=BETA2,
        eps=ADAM_EPS,
        weight_decay=Setting(0.01, "decoupled decay: each step multiplies p by 1 - lr * weight_decay", 0.0),
    )
    decoupled = True


class RMSprop(PerParameter):
    """RMSprop, as ``torch.optim.RMSprop``.

    PyTorch's algorithm box::

        if weight_decay != 0:  g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2               (v, g_avg, b start at 0)
        if centered:  g_avg = alpha * g_avg + (1 - alpha) * g;   v_tilde = v - g_avg**2
        else:         v_tilde = v
        if momentum > 0:  b = momentum * b + g / (sqrt(v_tilde) + eps);   p = p - lr * b
        else:             p = p - lr * g / (sqrt(v_tilde) + eps)
    """

    name = "rmsprop"
    doc = "RMSprop: the gradient divided by the root of a running mean of its square."
    settings = _declare(
        alpha=Setting(0.99, "decay of the running mean of the squared gradient", 0.0, 1.0),
        eps=Setting(1e-8, "added to the root of the mean square, against division by zero", 0.0),
        weight_decay=WEIGHT_DECAY,
        momentum=Setting(0.0, "momentum factor (0: none)", 0.0),
        centered=Setting(0.0, "1: divide by the root of the gradient's variance instead", 0, 1, integer=True),
    )

    def __init__(self, settings: Mapping[str, float]) -> None:
        super().__init__(settings)
        self.alpha = self.values["alpha"]
        self.eps = self.values["eps"]
        self.weight_decay = self.values["weight_decay"]
        self.momentum = self.values["momentum"]
        self.centered = self.values["centered"] == 1
        kinds = ["square_avg"]
        if self.centered:
            kinds.append("grad_avg")
        if self.momentum > 0:
            kinds.append("momentum_buffer")
        self.keep(*kinds)

    def _update(self, name: str, param: FloatArray, grad: FloatArray, lr: float) -> None:
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param  # grad.add(param, alpha=weight_decay)
        square_avg = self.buffer("square_avg", name, param)
        square_avg *= self.alpha  # square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        square_avg += (1 - self.alpha) * grad * grad
        if self.centered:
            grad_avg = self.buffer("grad_avg", name, param)
            _lerp_(grad_avg, grad, 1 - self.alpha)  # grad_avg.lerp_(grad, 1 - alpha)
            # square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg = avg + self.eps  # avg.add_(eps)
        if self.momentum > 0:
            buf = self.buffer("momentum_buffer", name, param)
            buf *= self.momentum  # buf.mul_(momentum).addcdiv_(grad, avg)
            buf += grad / avg
            param += -lr * buf  # param.add_(buf, alpha=-lr)
        else:
            param += -lr * grad / avg  # param.addcdiv_(grad, avg, value=-lr)


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    PyTorch's algorithm box::

        lr_t = lr / (1 + (t - 1) * lr_decay)
        if weight_decay != 0:  g = g + weight_decay * p
        s = s + g**2                                     (s starts at initial_accumulator_value)
        p = p - lr_t * g / (sqrt(s) + eps)
    """

    name = "adagrad"
    doc = "Adagrad: the gradient divided by the root of the sum of its squares so far."
    settings = _declare(
        lr_decay=Setting(0.0, "the learning rate of step t is lr / (1 + (t - 1) * lr_decay)", 0.0),
        eps=Setting(1e-10, "added to the root of the sum, against division by zero", 0.0),
        weight_decay=WEIGHT_DECAY,
        initial_accumulator_value=Setting(0.0, "where the sum of squared gradients starts", 0.0),
    )

    def __init__(self, settings: Mapping[str, float]) -> None:
        super().__init__(settings)
        self.lr_decay = self.values["lr_decay"]
        self.eps = self.values["eps"]
        self.weight_decay = self.values["weight_decay"]
        self.initial = self.values["initial_accumulator_value"]
        self.keep("sum")

    def step(self, params: dict[str, FloatArray], grads: Mapping[str, FloatArray], lr: float) -> None:
        self.steps += 1
        step = float(self.steps)
        clr = lr / (1 + (step - 1) * self.lr_decay)
        for name, param in params.items():
            self._update(name, param, grads[name], clr)

    def _update(self, name: str, param: FloatArray, grad: FloatArray, clr: float) -> None:
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param  # grad.add(param, alpha=weight_decay)
        state_sum = self.buffer("sum", name, param, fill=self.initial)
        state_sum += grad * grad  # state_sum.addcmul_(grad, grad, value=1)
        std = np.sqrt(state_sum) + self.eps  # state_sum.sqrt().add_(eps)
        param += -clr * grad / std  # param.addcdiv_(grad, std, value=-clr)


@hookimpl
def gatekit_register_optimizers() -> list[type[Optimizer]]:
    """The built-in optimizers, through the hook a plugin's optimizers come in by."""
    return [SGD, Momentum, Nesterov, Adam, AdamW, RMSprop, Adagrad]
