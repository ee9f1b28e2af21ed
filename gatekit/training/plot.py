"""The loss curve of a training run, drawn with matplotlib (the optional ``plot`` extra).

The training loss of every step, and the held-out loss where it was
evaluated, against the step, on a log scale when the loss is positive and
spans more than a factor of ten. The file is ``.png`` or ``.svg``; an SVG is
written reproducibly (no date, fixed ids), so that a committed picture can be
compared with a fresh one.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gatekit.errors import UsageError
from gatekit.io.atomic import check_output_path, write_atomically

if TYPE_CHECKING:
    from gatekit.training.loop import Step

__all__ = ["PLOT_TYPES", "check_plot_path", "plot_bytes", "require_matplotlib", "write_plot"]

PLOT_TYPES = (".png", ".svg")

_MISSING = "--plot needs matplotlib, which is not installed: pip install 'gatekit-circuits[plot]'"


def require_matplotlib() -> Any:
    """The ``matplotlib`` module, set to draw off screen.

    :raises UsageError: matplotlib is not installed (the message names the extra).
    """
    try:
        import matplotlib  # noqa: PLC0415 - optional: only --plot needs it
    except ImportError:
        raise UsageError(_MISSING) from None
    matplotlib.use("Agg", force=True)
    return matplotlib


def check_plot_path(path: str | os.PathLike[str]) -> str:
    """Refuse, before training starts, a plot path that cannot be written (or no matplotlib)."""
    suffix = check_output_path(path, PLOT_TYPES, "the loss curve")
    require_matplotlib()
    return suffix


def plot_bytes(history: Sequence[Step], loss: str, kind: str, title: str | None = None) -> bytes:
    """The picture of ``history``'s loss curve, as the bytes of a ``.png`` or ``.svg`` file."""
    matplotlib = require_matplotlib()
    from matplotlib.figure import Figure  # noqa: PLC0415 - after require_matplotlib

    steps = [row.step for row in history]
    losses = [row.loss for row in history]
    evaluated = [(row.step, row.eval[loss]) for row in history if row.eval is not None]
    figure = Figure(figsize=(6.4, 3.6), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.plot(steps, losses, color="#1f77b4", linewidth=1.5, label="training loss")
    if evaluated:
        axes.plot(*zip(*evaluated, strict=True), "o-", color="#d62728", markersize=3, label="held-out loss")
    finite = [value for value in losses if math.isfinite(value)]
    if finite and min(finite) > 0 and max(finite) > 10 * min(finite):
        axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("loss" if loss == "loss" else f"loss ({loss})")
    if title:
        axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(frameon=False)
    out = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "gatekit", "svg.fonttype": "none"}):
        metadata = {"Date": None} if kind == ".svg" else {"Software": None}
        figure.savefig(out, format=kind[1:], metadata=metadata)
    return out.getvalue()


def write_plot(
    path: str | os.PathLike[str], history: Sequence[Step], loss: str, title: str | None = None
) -> None:
    """Draw the loss curve of ``history`` into ``path`` (its type from its extension), atomically."""
    kind = os.path.splitext(os.fspath(path))[1].lower()
    data = plot_bytes(history, loss, kind, title)
    write_atomically(path, lambda stream: stream.write(data))
