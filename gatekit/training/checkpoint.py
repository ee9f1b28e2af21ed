"""Checkpoints: a training run's whole state in one ``.npz`` file, written atomically.

A checkpoint holds what :meth:`Trainer.state <gatekit.training.loop.Trainer.state>`
returns (the step, every param, the optimizer's state, the position in the
data and the shuffling generator) under keys such as ``params/W1`` and
``optimizer/exp_avg/W1``, beside ``meta/format`` and ``meta/circuit``. It is
plain NumPy, numbers only (a text, such as the generator's state, is kept as
its UTF-8 bytes: :func:`text_array`), so ``numpy.load`` reads it and a user can
look inside; gatekit reads it back as it reads any ``.npz`` given to it
(:func:`gatekit.io.npz.read_npz`: bounded, trusting nothing) and checks its
form before anything uses it.

>>> import io
>>> buffer = io.BytesIO()
>>> _write({"step": np.array(3), "params/w": np.array(0.5)}, "graphs/x.yaml", buffer)
>>> state = _read(buffer.getvalue(), "x.npz")
>>> int(state["step"]), float(state["params/w"]), array_text(state["meta/format"])
(3, 0.5, 'gatekit checkpoint 1')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from gatekit.errors import Location, UsageError, quoted
from gatekit.io.atomic import write_atomically
from gatekit.io.npz import read_npz
from gatekit.limits import read_bounded

__all__ = ["FORMAT", "array_text", "read_checkpoint", "text_array", "write_checkpoint"]

#: What ``meta/format`` says in every checkpoint this gatekit writes and reads.
FORMAT = "gatekit checkpoint 1"


def text_array(text: str) -> np.ndarray:
    """``text`` as an array of its UTF-8 bytes, for a file of numbers."""
    return np.frombuffer(text.encode(), dtype=np.uint8).copy()


def array_text(array: Any) -> str:
    """The text :func:`text_array` made (from the bytes, or the floats a reader made of them).

    :raises ValueError: the array is not a text's bytes.
    """
    values = np.asarray(array)
    if values.ndim != 1 or not np.all((values >= 0) & (values <= 255) & (values == np.floor(values))):
        raise ValueError("not a text (an array of bytes)")
    return bytes(values.astype(np.uint8)).decode()


def _write(state: Mapping[str, np.ndarray], circuit: str, stream: BinaryIO) -> None:
    arrays = {key: np.asarray(value) for key, value in state.items()}
    arrays["meta/format"] = text_array(FORMAT)
    arrays["meta/circuit"] = text_array(os.path.basename(circuit))
    np.savez(stream, allow_pickle=False, **arrays)


def write_checkpoint(path: str | os.PathLike[str], state: Mapping[str, np.ndarray], circuit: str) -> None:
    """Write ``state`` to ``path`` (a temporary name, then renamed over it)."""
    write_atomically(path, lambda stream: _write(state, circuit, stream))


def _read(data: bytes, file: str) -> dict[str, Any]:
    place = Location(file)
    state = read_npz(data, place, lambda names: None)
    if "meta/format" not in state:
        raise UsageError(f"not a gatekit checkpoint: it has no meta/format (expected {FORMAT!r})", place)
    try:
        form = array_text(state["meta/format"])
    except (ValueError, UnicodeDecodeError):
        raise UsageError(
            f"not a gatekit checkpoint: its meta/format is not text (expected {FORMAT!r})", place
        ) from None
    if form != FORMAT:
        raise UsageError(
            f"not a gatekit checkpoint: its meta/format is {quoted(form)}, expected {FORMAT!r}", place
        )
    step = state.get("step")
    if not isinstance(step, float) or not step.is_integer() or step < 0:
        raise UsageError("a damaged checkpoint: its 'step' is not a whole number", place)
    return state


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The state saved at ``path``, its form checked: numbers as floats, arrays as float64 arrays.

    :raises UsageError: the file is unreadable, too large, not an ``.npz``
        file, or not a gatekit checkpoint.
    """
    file = os.fspath(path)
    return _read(read_bounded(file), file)
