"""What a user sees while a circuit trains: a progress bar on a terminal, plain lines elsewhere.

On a terminal, with tqdm installed (``pip install 'gatekit-circuits[train]'``),
a bar shows the step, the loss, the last eval loss and the rate. Elsewhere
(a pipe, a log file, CI), or without tqdm, one plain line is printed every
``every`` steps and at the last::

    step    10/100  loss 0.8132  acc 0.54  lr 0.919  1.21 ms/step
    step   100/100  loss 0.0087  acc 1  eval_loss 0.0312  lr 0.109  1.18 ms/step

The lines go to the stream given (``gatekit train`` uses stderr, so that
stdout holds only the summary); nothing is printed with ``quiet``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatekit.training.loop import Step

__all__ = ["Progress", "step_line"]


def _figure(value: float) -> str:
    return f"{value:.4g}"


def _figures(step: Step, loss: str) -> list[tuple[str, str]]:
    shown = [("loss", _figure(step.loss))]
    shown += [(name, _figure(value)) for name, value in step.outputs.items()]
    if step.eval is not None:
        shown.append(("eval_loss", _figure(step.eval[loss])))
    return shown


def step_line(step: Step, total: int, loss: str, seconds_per_step: float) -> str:
    """One plain progress line.

    >>> from gatekit.training.loop import Step
    >>> step_line(Step(10, 0, 0.9, 0.81321, {"acc": 0.54}), 100, "loss", 0.00121)
    'step    10/100  loss 0.8132  acc 0.54  lr 0.9  1.21 ms/step'
    """
    width = len(str(total))
    parts = [f"step {step.step:>{width + 2}}/{total}"]
    parts += [f"{name} {text}" for name, text in _figures(step, loss)]
    parts.append(f"lr {step.lr:.4g}")
    parts.append(f"{seconds_per_step * 1e3:.3g} ms/step")
    return "  ".join(parts)


class Progress:
    """Told each step (:meth:`update`); shows a bar or prints a line; :meth:`close` at the end."""

    def __init__(
        self,
        total: int,
        loss: str,
        stream: IO[str],
        *,
        every: int | None = None,
        start: int = 0,
        quiet: bool = False,
        bar: bool | None = None,
    ) -> None:
        """
        :param total: the steps of the whole run.
        :param loss: the loss output's name.
        :param every: a plain line every this many steps (default: ten lines a run).
        :param start: the steps already done (a resumed run).
        :param bar: a progress bar; ``None`` for one exactly when ``stream`` is a
            terminal and tqdm is installed.
        """
        self.total, self.loss, self.stream, self.quiet = total, loss, stream, quiet
        self.every = every or max(1, total // 10)
        self.start = start
        self._bar: Any = None
        self._eval: str | None = None
        self._seconds = 0.0
        self._steps = 0
        if not quiet and bar is not False:
            self._bar = _tqdm_bar(total, start, stream, force=bar is True)

    def update(self, step: Step, total: int) -> None:
        """Show ``step``, the latest of ``total``."""
        self._seconds += step.seconds
        self._steps += 1
        if self.quiet:
            return
        if self._bar is not None:
            postfix: dict[str, Any] = dict(_figures(step, self.loss))
            if step.eval is not None:
                self._eval = postfix["eval_loss"]
            elif self._eval is not None:
                postfix["eval_loss"] = self._eval
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(1)
            return
        if step.step % self.every == 0 or step.step == total:
            self.stream.write(step_line(step, total, self.loss, self._seconds / self._steps) + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar (a plain stream needs nothing)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _tqdm_bar(total: int, start: int, stream: IO[str], *, force: bool) -> Any:
    """A tqdm bar on ``stream``, or None: not a terminal (unless forced), or no tqdm."""
    isatty = getattr(stream, "isatty", None)
    if not force and not (callable(isatty) and isatty()):
        return None
    try:
        from tqdm import tqdm  # noqa: PLC0415 - optional: the bar is a nicety, lines are the fallback
    except ImportError:
        return None
    options: Mapping[str, Any] = {"unit": "step", "dynamic_ncols": True, "leave": True}
    return tqdm(total=total, initial=start, file=stream, desc="training", **options)
