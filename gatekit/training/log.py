"""The training log: one row per step, as CSV or JSON Lines.

Each row has ``step``, ``epoch``, ``lr``, ``loss``, every other output of
the circuit (averaged over the batch), and, at the steps where the held-out
data were evaluated, ``eval_loss`` and ``eval_NAME`` for each other output.
The columns are fixed by the first row and the circuit, so a CSV file reads
in any spreadsheet; a figure not computed at a step is an empty cell in CSV
and absent in JSON Lines. Numbers are written exactly (``repr``); a number
that is not finite is written ``nan``/``inf`` in CSV and ``"NaN"``/``"Infinity"``
in JSON, as ``gatekit run --format json`` writes them.

>>> from gatekit.training.loop import Step
>>> rows = [Step(1, 0, 0.1, 0.5, {"acc": 0.75}, {"loss": 0.625, "acc": 0.5}),
...         Step(2, 0, 0.1, 0.25, {"acc": 1.0})]
>>> print(log_text(rows, ".csv", "loss"), end="")
step,epoch,lr,loss,acc,eval_loss,eval_acc
1,0,0.1,0.5,0.75,0.625,0.5
2,0,0.1,0.25,1.0,,
>>> print(log_text(rows, ".jsonl", "loss"), end="")
{"step": 1, "epoch": 0, "lr": 0.1, "loss": 0.5, "acc": 0.75, "eval_loss": 0.625, "eval_acc": 0.5}
{"step": 2, "epoch": 0, "lr": 0.1, "loss": 0.25, "acc": 1.0}
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gatekit.io.atomic import check_output_path, write_atomically
from gatekit.views.text import json_value

if TYPE_CHECKING:
    from gatekit.training.loop import Step

__all__ = ["LOG_TYPES", "check_log_path", "log_rows", "log_text", "write_log"]

#: The kinds of log file, by extension.
LOG_TYPES = (".csv", ".jsonl")


def check_log_path(path: str | os.PathLike[str]) -> str:
    """Refuse, before training starts, a log path that cannot be written; return its extension."""
    return check_output_path(path, LOG_TYPES, "the training log")


def _column(name: str, taken: set[str]) -> str:
    """An output's column: its name, unless a fixed column has it (rare: an output named ``lr``)."""
    return name if name not in taken else f"{name} (output)"


def log_rows(history: Sequence[Step], loss: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and the rows of the log, as numbers; ``loss`` is the loss output's name."""
    fixed = {"step", "epoch", "lr", "loss", "eval_loss"}
    columns = ["step", "epoch", "lr", "loss"]
    eval_columns: list[str] = []
    rows = []
    for step in history:
        row: dict[str, Any] = {"step": step.step, "epoch": step.epoch, "lr": step.lr, "loss": step.loss}
        for name, value in step.outputs.items():
            column = _column(name, fixed)
            if column not in row and column not in columns:
                columns.append(column)
            row[column] = value
        for name, value in (step.eval or {}).items():
            column = "eval_loss" if name == loss else _column(f"eval_{name}", fixed)
            if column not in eval_columns:
                eval_columns.append(column)
            row[column] = value
        rows.append(row)
    if "eval_loss" in eval_columns:  # the eval loss first, then the other outputs
        eval_columns.remove("eval_loss")
        eval_columns.insert(0, "eval_loss")
    return columns + eval_columns, rows


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # nan, inf, -inf as Python (and pandas) read them
    return str(value)


def log_text(history: Sequence[Step], kind: str, loss: str = "loss") -> str:
    """The log of ``history`` as the text of a ``.csv`` or ``.jsonl`` file."""
    columns, rows = log_rows(history, loss)
    out = io.StringIO()
    if kind == ".csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(column)) for column in columns])
    else:
        for row in rows:
            record = {column: json_value(row[column]) for column in columns if column in row}
            out.write(json.dumps(record, allow_nan=False) + "\n")
    return out.getvalue()


def write_log(path: str | os.PathLike[str], history: Sequence[Step], loss: str) -> None:
    """Write the log of ``history`` to ``path`` (its type from its extension), atomically."""
    kind = os.path.splitext(os.fspath(path))[1].lower()
    data = log_text(history, kind, loss).encode()
    write_atomically(path, lambda stream: stream.write(data))
