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

__all__ = ["ALONE", "BufferPool", "OwnedGradients", "fresh", "holders", "spare_locals"]

#: How many runs a lent array is watched for: a loop that keeps its last result
#: (``result = circuit.run(...)``) lets go of a run's arrays one run later.
GENERATIONS = 2


def _lendable(array: np.ndarray) -> bool:
    """Whether the pool may lend ``array`` to a later computation: float64, C-contiguous, its own memory."""
    return bool(array.ndim) and array.dtype == np.float64 and array.flags.owndata and array.flags.c_contiguous


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
        if _lendable(array):
            self._free.setdefault(array.shape, []).append(array)
            self._used.append(array)

    def settle(self, lent: Sequence[np.ndarray | None], returned: Sequence[Any]) -> list[bool]:
        """After a hook was ``lent`` arrays (one per position): which of them it ``returned`` in place.

        An array returned at its own position, and nowhere else, is the
        caller's to compute into; one the hook did not return at all comes
        back to the pool; one returned elsewhere is left alone (nothing
        writes it).
        """
        seen: dict[int, int] = {}
        for value in returned:
            seen[id(value)] = seen.get(id(value), 0) + 1
        mine = []
        for array, value in zip(lent, returned, strict=True):
            mine.append(array is not None and value is array and seen[id(array)] == 1)
            if array is not None and id(array) not in seen:
                self.give(array)
        return mine

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
            if type(array) is np.ndarray and id(array) not in seen and _lendable(array):
                seen.add(id(array))
                lent.append(array)
        self._lent.append(lent)
        del self._lent[:-GENERATIONS]


# -- the backward pass's own gradients ------------------------------------------------------


def spare_locals(box: list[Sequence[Any]], shape: tuple[int, ...]) -> Sequence[bool]:
    """For each local gradient in ``box[0]``, whether it is an array of ``shape`` that nobody else holds.

    Such an array (the hook computed it and kept no reference, nor a view
    of it) may take the product ``local * upstream`` in place, and later
    gradients. The hook's sequence must be held only by ``box`` and the
    caller's name for it, and the array only by that sequence: counted with
    :func:`holders` against what it says of an array only a list holds, so
    the answer does not depend on the interpreter's own references.
    """
    if holders(box)[0] != ALONE + 1:  # counted before any other name is bound to it
        return (False,) * len(box[0])
    return [
        count == ALONE
        and fresh(grad)
        and grad.shape == shape
        and grad.dtype == np.float64
        and grad.flags.writeable
        for grad, count in zip(box[0], holders(box[0]), strict=True)
    ]


def fresh(value: Any) -> bool:
    """Whether ``value`` is an array that owns its memory (one just computed, not a view)."""
    return type(value) is np.ndarray and value.base is None


class OwnedGradients:
    """The arrays a backward pass computed itself, and how many slots of its ``grads`` hold each.

    :func:`~gatekit.engine.scheduler.backward_arrays` tells it each step's
    upstream, each contribution and what it saw a hook handed.

    An array with no holder is the loop's alone: nobody else ever saw it.
    The count of the step's upstream may fall to zero while the step still
    reads it; it is given back only when the step is :meth:`done`.
    """

    def __init__(self, grads: list[Any], pool: BufferPool) -> None:
        self.grads = grads
        self.pool = pool
        self.holders: dict[int, int] = {}  # id of an array the loop made -> slots holding it
        self.current = -1  # id of the running step's upstream

    def upstream(self, value: Any) -> None:
        """A step begins: its gate's slot has let go of ``value``, its upstream gradient."""
        key = self.current = id(value)
        if key in self.holders:
            self.holders[key] -= 1

    def seen(self, value: Any) -> None:
        """A hook has been handed ``value``: never reuse it."""
        self.holders.pop(id(value), None)

    def spare(self, value: Any, shape: tuple[int, ...]) -> np.ndarray | None:
        """``value``, if the loop may overwrite it with an array of ``shape``: its own, held by no slot."""
        if self.holders.get(id(value)) == 0 and value.shape == shape and value.dtype == np.float64:
            return value  # type: ignore[no-any-return]
        return None

    def add(self, slot: int, sent: Any, made: bool) -> None:
        """Add a contribution into ``grads[slot]``; ``made``: the loop just computed ``sent``, alone."""
        grads, holders = self.grads, self.holders
        before = grads[slot]
        key = id(sent)
        if made:
            holders[key] = 0
        if before is None:  # the first contribution is the gradient
            grads[slot] = sent
            if key in holders:
                holders[key] += 1
            return
        if id(before) != self.current and holders.get(id(before)) == 1 and _fits(before, sent):
            np.add(before, sent, out=before)  # its one holder is this slot
            self._drop(sent)
            return
        if key != self.current and holders.get(key) == 0 and _fits(sent, before):
            grads[slot] = np.add(before, sent, out=sent)
        else:  # a new array: one of the pool's, if it has one
            buffer = self.pool.take(np.broadcast_shapes(np.shape(before), np.shape(sent)))
            grads[slot] = before + sent if buffer is None else np.add(before, sent, out=buffer)
            if fresh(grads[slot]):
                holders[id(grads[slot])] = 0
            self._drop(sent)
        total = id(grads[slot])
        if total in holders:
            holders[total] += 1
        self._let_go(before)

    def done(self, upstream: Any) -> None:
        """The step has sent everything: its upstream goes back to the pool if nothing holds it."""
        self.current = -1
        self._drop(upstream)

    def _let_go(self, value: Any) -> None:
        """A slot no longer holds ``value``."""
        key = id(value)
        if key in self.holders:
            self.holders[key] -= 1
            self._drop(value)

    def _drop(self, value: Any) -> None:
        """Give ``value`` back to the pool if the loop made it, no slot holds it and no step reads it."""
        key = id(value)
        if key != self.current and self.holders.get(key) == 0:
            del self.holders[key]
            self.pool.give(value)


def _fits(target: Any, other: Any) -> bool:
    """Whether ``target + other`` may be written into ``target``: a float64 array of the sum's shape."""
    if type(target) is not np.ndarray or target.dtype != np.float64:
        return False
    return type(other) is float or (
        type(other) is np.ndarray and np.broadcast_shapes(target.shape, other.shape) == target.shape
    )
