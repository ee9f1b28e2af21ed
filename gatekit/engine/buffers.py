"""Arrays reused from run to run, so that a loop over batches does not fault its memory in each time.

A run over arrays makes a new array for every gate and many gradients. When
the loop drops each result, the C allocator may hand that memory back to the
operating system, and the next run pays for getting it again, page by page:
on the seed's neuron at a batch of 1e6, more than the arithmetic costs. A
:class:`BufferPool` keeps the arrays of a circuit's recent results instead,
and, when a result has died and nobody holds one of its arrays any more
(the pool's own reference is the only one left), hands the array to the next
run to compute into: a gate's ``gate_forward`` through its optional ``out``
argument, the scheduler's products and sums through NumPy's ``out=``.

An array is taken back only if it is float64, C-contiguous and owns its
memory, was made during a run (a gate's output or a gradient; never a leaf's
value, which is the caller's or the circuit's), and is referenced by the
pool alone: an array a live :class:`~gatekit.engine.circuit.Result` holds,
that the caller kept (``g = result.grads["x"]``), that a view still reads,
or that a plugin keeps for itself, is never written. Nothing process-wide is
changed: no allocator settings, no environment variables.

Within a run, the backward pass gives back the gradients it made and no
longer needs (:meth:`BufferPool.give`; see
:func:`gatekit.engine.scheduler.backward_arrays`), so that its later products
and sums go into memory it has just touched; the pool watches every array
it lent or was given in a run, as it watches the run's values and the
leaves' gradients.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["ALONE", "BufferPool", "holders"]

#: How many runs a lent array is watched for: a loop that keeps its last result
#: (``result = circuit.run(...)``) lets go of a run's arrays one run later.
GENERATIONS = 2


def holders(arrays: Sequence[Any]) -> list[int]:
    """``sys.getrefcount`` of each of ``arrays``, counted the one way the pool always counts."""
    return [sys.getrefcount(array) for array in arrays]


#: What :func:`holders` says of an array only the pool's list holds. It is
#: measured, not assumed: how many references the count itself adds (the
#: comprehension's name for the array, the call's argument) depends on the
#: interpreter (Python 3.14 borrows some of them), and an array counted as
#: alone one reference too soon would be written while a result holds it.
ALONE = holders([np.empty(0)])[0]
#: The smallest batch worth pooling: 128 KiB of float64, glibc's default mmap
#: threshold. Smaller arrays come from the allocator's free lists, already in
#: memory, and the pool's bookkeeping would cost more than it saves.
MIN_SIZE = 16_384


class BufferPool:
    """Arrays of past runs, taken back when nobody else holds them, by shape."""

    def __init__(self) -> None:
        self._lent: list[list[np.ndarray]] = []  # per recent run, newest last: its arrays
        self._free: dict[tuple[int, ...], list[np.ndarray]] = {}
        self._used: list[np.ndarray] = []  # what this run took or was given: watched when it ends
        #: each gate slot's output shape in the last run, and the leaf shapes it was for
        self.shapes: dict[int, tuple[int, ...]] = {}
        self._leaf_shapes: tuple[tuple[int, ...], ...] | None = None

    @staticmethod
    def worth(leaf_shapes: tuple[tuple[int, ...], ...]) -> bool:
        """Whether a run over leaves of these shapes makes arrays large enough to pool."""
        return any(math.prod(shape) >= MIN_SIZE for shape in leaf_shapes if shape)

    def start(self, leaf_shapes: tuple[tuple[int, ...], ...]) -> None:
        """Begin a run whose leaves have ``leaf_shapes``: take back what nobody holds."""
        if leaf_shapes != self._leaf_shapes:
            self.shapes = {}  # other shapes: last run's say nothing about this one's
            self._leaf_shapes = leaf_shapes
        self._used = []  # a run that failed never finished: what it used is let go
        kept: list[list[np.ndarray]] = []
        for arrays in self._lent[-GENERATIONS:]:
            held = []
            for array, count in zip(arrays, holders(arrays), strict=True):
                if count <= ALONE:
                    array.flags.writeable = True  # it owns its memory: allowed
                    self._free.setdefault(array.shape, []).append(array)
                else:
                    held.append(array)
            kept.append(held)
        self._lent = kept

    def take(self, shape: tuple[int, ...] | None) -> np.ndarray | None:
        """A free array of ``shape`` to compute into, or ``None``."""
        if not shape:
            return None
        free = self._free.get(shape)
        if not free:
            return None
        array = free.pop()
        self._used.append(array)
        return array

    def give(self, array: np.ndarray) -> None:
        """Take back, for the rest of this run, an array that the caller made and nobody else holds.

        The caller vouches for that (the backward pass gives only gradients
        it computed itself, once no slot holds them and no hook has seen
        them); an array the pool could not lend again is ignored.
        """
        if array.ndim and array.dtype == np.float64 and array.flags.owndata and array.flags.c_contiguous:
            self._free.setdefault(array.shape, []).append(array)
            self._used.append(array)

    def finish(self, made: Iterable[Any], shapes: dict[int, tuple[int, ...]]) -> None:
        """End a run: watch the arrays it ``made`` and those it took or gave; remember its ``shapes``.

        ``shapes`` are its gates' output shapes. Free arrays the run did not
        use are let go, so the pool holds at most the arrays of the last few
        runs.
        """
        self._free = {}
        self.shapes = shapes
        used, self._used = self._used, []
        seen: set[int] = set()
        lent = []
        for array in [*made, *used]:
            if (
                type(array) is np.ndarray
                and id(array) not in seen
                and array.ndim
                and array.dtype == np.float64
                and array.flags.owndata
                and array.flags.c_contiguous
            ):
                seen.add(id(array))
                lent.append(array)
        self._lent.append(lent)
        del self._lent[:-GENERATIONS]
