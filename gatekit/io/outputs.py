"""A run's numbers to a file: ``gatekit run --output FILE.npz``; a Jacobian's: ``gatekit jacobian -o``.

>>> import gatekit, os, tempfile
>>> result = gatekit.loads("inputs: {x: 3.0}\\ngates: {y: {gate: square, in: [x]}}\\noutputs: [y]").run()
>>> with tempfile.TemporaryDirectory() as folder:
...     path = os.path.join(folder, "run.npz")
...     write_outputs(path, result)
...     with np.load(path) as saved:
...         sorted(saved.files), float(saved["grads/x"])
(['grads/x', 'outputs/y', 'values/x', 'values/y'], 6.0)
"""

from __future__ import annotations

import os

import numpy as np

from gatekit.engine.circuit import Result
from gatekit.engine.jacobian import Jacobian
from gatekit.io.atomic import check_output_path, write_atomically

__all__ = ["OUTPUT_TYPES", "check_jacobian_path", "check_results_path", "write_jacobian", "write_outputs"]

#: the file types :func:`write_outputs` writes
OUTPUT_TYPES = (".npz",)


def check_results_path(path: str | os.PathLike[str]) -> None:
    """Refuse, before anything runs, a path :func:`write_outputs` cannot write.

    :raises UsageError: see :func:`gatekit.io.atomic.check_output_path`.
    """
    check_output_path(path, OUTPUT_TYPES, "results")


def write_outputs(path: str | os.PathLike[str], result: Result) -> None:
    """Save ``result`` as a ``.npz`` file: ``outputs/NAME``, ``grads/NAME``, ``values/NAME``.

    Written with :func:`~gatekit.io.atomic.write_atomically`: an existing
    file is either left as it was or fully replaced, never half-written.

    :raises UsageError: the path is not a ``.npz`` file in an existing folder,
        or writing failed (the temporary file is removed).
    """
    file = os.fspath(path)
    check_results_path(file)
    arrays: dict[str, np.ndarray] = {}
    for section, numbers in (("outputs", result.outputs), ("grads", result.grads), ("values", result.values)):
        for name, value in numbers.items():
            arrays[f"{section}/{name}"] = np.asarray(value, dtype=np.float64)
    write_atomically(file, lambda f: np.savez(f, allow_pickle=False, **arrays))


def check_jacobian_path(path: str | os.PathLike[str]) -> None:
    """Refuse, before anything runs, a path :func:`write_jacobian` cannot write.

    :raises UsageError: see :func:`gatekit.io.atomic.check_output_path`.
    """
    check_output_path(path, OUTPUT_TYPES, "a Jacobian")


def write_jacobian(path: str | os.PathLike[str], jacobian: Jacobian) -> None:
    """Save ``jacobian`` as a ``.npz`` file: one array per block, keyed ``d OUT / d LEAF``.

    Each block has the output's shape followed by the leaf's (see
    :class:`~gatekit.engine.jacobian.Jacobian`); written atomically, as
    :func:`write_outputs` writes.

    >>> import gatekit, tempfile
    >>> circuit = gatekit.loads("inputs: {x: [1.0, 2.0]}\\ngates: {y: {gate: square, in: [x]}}\\n"
    ...                         "outputs: [y]")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "jacobian.npz")
    ...     write_jacobian(path, circuit.jacobian())
    ...     with np.load(path) as saved:
    ...         saved.files, saved["d y / d x"].tolist()
    (['d y / d x'], [[2.0, 0.0], [0.0, 4.0]])

    :raises UsageError: as for :func:`write_outputs`.
    """
    file = os.fspath(path)
    check_jacobian_path(file)
    arrays = {key: np.asarray(block, dtype=np.float64) for key, block in jacobian.named().items()}
    write_atomically(file, lambda f: np.savez(f, allow_pickle=False, **arrays))
