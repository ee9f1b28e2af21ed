"""Data in minibatches: rows along the first axis, an epoch a pass over them all.

Every array of a data set has the same number of rows (its first axis). An
epoch visits each row once, in a fresh random order when shuffling (drawn
from a generator seeded by the solver's seed); the last batch of an epoch is
kept even when it is short. Without a batch size every step sees the whole
data set. :meth:`Batches.state` and :meth:`Batches.load_state` carry the
position and the generator across a checkpoint, so a resumed run sees the
very batches an uninterrupted one would.

>>> batches = Batches({"x": np.arange(5.0)}, batch_size=2, shuffle=False, seed=0)
>>> [batch["x"].tolist() for batch in (batches.next() for _ in range(4))]
[[0.0, 1.0], [2.0, 3.0], [4.0], [0.0, 1.0]]
>>> batches.epoch, batches.steps_per_epoch
(1, 3)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from gatekit.engine.distributed import is_dask
from gatekit.errors import Location, UsageError
from gatekit.training.checkpoint import array_text, text_array

__all__ = ["Batches", "rows_of"]


def rows_of(data: Mapping[str, Any], what: str, place: Location | None = None) -> int:
    """The number of rows every array of ``data`` shares (its first axis).

    :param place: where ``data`` came from (its file), for the messages.
    :raises UsageError: a value is a number, or the arrays disagree.
    """
    counts: dict[str, int] = {}
    for name, value in data.items():
        if np.ndim(value) == 0:
            raise UsageError(f"{what}: {name!r} is one number, not rows of data (a list, a column)", place)
        counts[name] = int(np.shape(value)[0])
    if not counts:
        raise UsageError(f"{what}: no data", place)
    if len(set(counts.values())) > 1:
        shown = ", ".join(f"{name} {count}" for name, count in counts.items())
        raise UsageError(f"{what}: the arrays must have as many rows each, got {shown}", place)
    return next(iter(counts.values()))


class Batches:
    """The minibatches of a data set, epoch after epoch."""

    def __init__(
        self, data: Mapping[str, np.ndarray], batch_size: int | None, shuffle: bool, seed: int
    ) -> None:
        self.rows = rows_of(data, "the training data")
        # Dask arrays (gatekit train --chunks) stay lazy: a batch is a graph reading its rows
        self.data = {
            name: value if is_dask(value) else np.asarray(value, dtype=np.float64)
            for name, value in data.items()
        }
        self.batch_size = self.rows if batch_size is None else min(batch_size, self.rows)
        self.shuffle = shuffle and self.batch_size < self.rows  # a whole data set in any order is itself
        self.steps_per_epoch = math.ceil(self.rows / self.batch_size)
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self.position = 0  # the next row of the epoch's order
        self.order = self._new_order()

    def _new_order(self) -> np.ndarray:
        return self.rng.permutation(self.rows) if self.shuffle else np.arange(self.rows)

    def next(self) -> dict[str, np.ndarray]:
        """The next batch, starting the next epoch when this one is done."""
        if self.position >= self.rows:
            self.epoch += 1
            self.position = 0
            self.order = self._new_order()
        start, stop = self.position, min(self.position + self.batch_size, self.rows)
        self.position = stop
        if self.batch_size == self.rows:
            return self.data  # every row, every step: no copy
        if not self.shuffle:
            return {name: array[start:stop] for name, array in self.data.items()}
        rows = self.order[start:stop]
        return {name: array[rows] for name, array in self.data.items()}

    def state(self) -> dict[str, np.ndarray]:
        """Where the batches are, and the generator's state, as arrays for a checkpoint."""
        return {
            "epoch": np.array(self.epoch),
            "position": np.array(self.position),
            "order": self.order.copy(),
            "rng": text_array(json.dumps(self.rng.bit_generator.state)),
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state`: the next batch is the one that would have come next.

        :raises ValueError: the state is damaged, or does not fit this data set.
        """
        for key in ("epoch", "position", "order", "rng"):
            if key not in state:
                raise ValueError(f"it has no data/{key}")
        order = np.asarray(state["order"])
        if order.ndim == 1 and order.shape != (self.rows,):
            raise ValueError(f"it was made on {order.shape[0]} rows of data; this data has {self.rows}")
        if order.ndim != 1 or not np.array_equal(np.sort(order), np.arange(self.rows)):
            raise ValueError("its data/order is not an order of the rows")
        epoch_array, position_array = np.asarray(state["epoch"]), np.asarray(state["position"])
        if epoch_array.shape != () or position_array.shape != ():
            raise ValueError("its data/epoch or data/position is not a place in the data")
        epoch, position = float(epoch_array), float(position_array)
        if not (epoch.is_integer() and epoch >= 0 and position.is_integer() and 0 <= position <= self.rows):
            raise ValueError("its data/epoch or data/position is not a place in the data")
        generator = np.random.default_rng()
        try:
            generator.bit_generator.state = json.loads(array_text(state["rng"]))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"its data/rng is not a generator's state ({exc})") from None
        self.epoch, self.position = int(epoch), int(position)
        self.order = order.astype(np.int64)
        self.rng = generator
