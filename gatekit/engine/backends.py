"""The array libraries a circuit runs on (``--backend``), and moving leaf values to one of them.

A circuit's gates compute with the namespace of their inputs
(:mod:`gatekit.arrays`), so running on a library is a matter of giving the
leaves as its arrays: :func:`load` imports the library (or says what to
install) and checks the device, and :meth:`Backend.asarray` turns a number
or a NumPy array into a float64 array of the library on that device.

>>> numpy = load("numpy")
>>> numpy.asarray(2.0), numpy.asarray(np.ones(2)).tolist()
(2.0, [1.0, 1.0])
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit.arrays import COMPAT_EXTRA, is_foreign, namespace_of
from gatekit.errors import UsageError

__all__ = ["BACKENDS", "Backend", "Library", "load"]


@dataclass(frozen=True, slots=True)
class Library:
    """An array library as ``--backend`` names it: what to import, and what installs it."""

    name: str
    module: str
    install: str
    #: whether arrays of it live on devices that ``--device`` chooses
    devices: bool


#: every ``--backend``, in the order the help lists them
BACKENDS: dict[str, Library] = {
    library.name: library
    for library in (
        Library("numpy", "numpy", "", devices=False),
        Library(
            "array-api-strict", "array_api_strict", f"pip install array-api-strict && {COMPAT_EXTRA}", True
        ),
        Library("torch", "torch", "pip install 'gatekit-circuits[torch]'", devices=True),
        Library("cupy", "cupy", "pip install 'gatekit-circuits[cupy]'", devices=True),
        Library("jax", "jax", "pip install 'gatekit-circuits[jax]'", devices=True),
        Library("dask", "dask.array", "pip install 'gatekit-circuits[dask]'", devices=False),
    )
}


@dataclass(frozen=True, slots=True)
class Backend:
    """A library ready to take a circuit's values: its namespace and device (``None``: NumPy, as given)."""

    library: Library
    namespace: Any
    device: Any

    def asarray(self, value: Any) -> Any:
        """``value`` (a number, a list, a NumPy array) as a float64 array of the library on its device.

        Numbers become 0-d arrays, so that the whole run is the library's;
        the library's own arrays, and any value for NumPy, are returned as they are.
        """
        if self.namespace is None:
            return value
        xp = self.namespace
        if is_foreign(value) and namespace_of(value) is xp:
            return value  # the library's already
        array = np.array(value, dtype=np.float64)  # a copy of its own, writable: the library may share it
        if self.library.name == "dask":  # a Dask array is made from NumPy's, in one chunk
            return xp.asarray(array)
        return xp.asarray(array.tolist() if array.ndim == 0 else array, dtype=xp.float64, device=self.device)


def load(name: str, device: str | None = None) -> Backend:
    """The backend ``name`` (a key of :data:`BACKENDS`) on ``device`` (its own default if ``None``).

    :raises UsageError: an unknown name, a library that is not installed (the
        message says what to install), a device for a library without them,
        or a device the library refuses.
    """
    library = BACKENDS.get(name)
    if library is None:
        raise UsageError(f"--backend: no backend named {name!r} (known: {', '.join(BACKENDS)})")
    if device is not None and not library.devices:
        raise UsageError(f"--device: {name} arrays have no devices to choose; leave --device out")
    if library.name == "numpy":
        return Backend(library, None, None)
    try:
        module = importlib.import_module(library.module)
    except ImportError:
        raise UsageError(f"--backend {name}: {library.module} is not installed: {library.install}") from None
    if library.name == "jax":  # without it JAX has no float64: its arrays would be float32
        module.config.update("jax_enable_x64", True)
    probe = module.asarray(np.zeros(1)) if library.name == "dask" else None
    xp = namespace_of(probe if probe is not None else _sample(module, library.name))
    placed = _device(module, library.name, device)
    try:
        xp.asarray(0.0, dtype=xp.float64, device=placed)
    except Exception as exc:  # each library says it its own way
        raise UsageError(f"--device {device}: {name} cannot place a float64 array there ({exc})") from None
    return Backend(library, xp, placed)


def _sample(module: Any, name: str) -> Any:
    """A small array of the library, whose namespace is the one to compute with."""
    if name == "torch":
        return module.zeros(1, dtype=module.float64)
    if name == "jax":
        return module.numpy.zeros(1)
    return module.asarray([0.0])


def _device(module: Any, name: str, device: str | None) -> Any:
    """The library's device object for ``--device`` (``None``: the library's default)."""
    if device is None:
        return None
    try:
        if name == "torch":
            return module.device(device)
        if name == "jax":
            kind, _, index = device.partition(":")
            return module.devices(kind)[int(index or 0)]
        if name == "cupy":
            _, _, index = device.partition(":")
            return module.cuda.Device(int(index or 0))
        return module.Device(device)  # array-api-strict: CPU_DEVICE, device1, device2
    except Exception as exc:  # each library says it its own way
        raise UsageError(f"--device {device}: {name} has no such device ({exc})") from None
