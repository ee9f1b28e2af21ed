"""Which array library a value belongs to: NumPy, or another one that speaks the Python array API standard.

Gates compute with the namespace of their inputs. Python floats and NumPy
arrays are told apart with a type check and need nothing imported; any other
array (a PyTorch tensor, a CuPy, JAX or Dask array, an ``array_api_strict``
array) is a *foreign* array, whose namespace ``array_api_compat`` finds (the
``array-api`` extra: ``pip install 'gatekit-circuits[array-api]'``).

>>> import numpy as np
>>> is_foreign(1.5), is_foreign(np.ones(2)), namespace(1.5, np.ones(2)) is None
(False, False, True)
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from gatekit.errors import UsageError

__all__ = [
    "COMPAT_EXTRA",
    "device",
    "dtype_name",
    "is_foreign",
    "namespace",
    "namespace_of",
    "to_numpy",
    "type_name",
]

#: What to install for arrays of other libraries than NumPy.
COMPAT_EXTRA = "pip install 'gatekit-circuits[array-api]'"

#: each foreign array type's namespace, found once
_NAMESPACES: dict[type, Any] = {}


def _compat() -> Any:
    """The ``array_api_compat`` module, or a :class:`~gatekit.UsageError` saying what to install."""
    try:
        import array_api_compat  # noqa: PLC0415 - the array-api extra, needed only for foreign arrays
    except ImportError:
        raise UsageError(
            f"arrays of other libraries than NumPy need array-api-compat: {COMPAT_EXTRA}"
        ) from None
    return array_api_compat


def is_foreign(value: Any) -> bool:
    """Whether ``value`` is an array of another library than NumPy.

    That is anything with an array API namespace (``__array_namespace__``)
    or a DLPack exporter (``__dlpack__``: PyTorch tensors have no namespace of
    their own), NumPy's arrays and scalars excepted.
    """
    kind = type(value)
    if kind is float or kind is np.ndarray or kind is int or value is None:
        return False
    if isinstance(value, np.ndarray | np.generic | numbers.Number | str | bytes | list | tuple | dict):
        return False
    if kind in _NAMESPACES:
        return True
    return hasattr(value, "__array_namespace__") or hasattr(value, "__dlpack__") or _is_dask(value)


def _is_dask(value: Any) -> bool:
    """Whether ``value`` is a Dask array (which has neither a namespace nor DLPack)."""
    return type(value).__module__.startswith("dask.")


def namespace_of(value: Any) -> Any:
    """The array API namespace of a foreign array (see :func:`is_foreign`), found once per type."""
    kind = type(value)
    found = _NAMESPACES.get(kind)
    if found is None:
        found = _compat().array_namespace(value)
        _NAMESPACES[kind] = found
    return found


def namespace(*values: Any) -> Any | None:
    """The namespace of the first foreign array among ``values``; ``None`` if none is (floats, NumPy)."""
    for value in values:
        kind = type(value)
        if kind is float or kind is np.ndarray or kind is int:
            continue
        if is_foreign(value):
            return namespace_of(value)
    return None


def device(value: Any) -> Any:
    """The device a foreign array lives on (``array_api_compat.device``)."""
    return _compat().device(value)


def type_name(value: Any) -> str:
    """A value's type as users know it: ``torch.Tensor``, ``array_api_strict.Array``, ``numpy.ndarray``."""
    kind = type(value)
    return f"{kind.__module__.split('.')[0]}.{kind.__name__}"


def dtype_name(value: Any) -> str:
    """An array's dtype as NumPy names it: ``float32``, not ``torch.float32``.

    >>> dtype_name(np.ones(1, dtype=np.float32))
    'float32'
    """
    return str(value.dtype).rsplit(".", 1)[-1]


def to_numpy(value: Any) -> Any:
    """A foreign array as a NumPy float64 array (copied to the host); anything else as it is.

    >>> to_numpy(2.0), to_numpy(np.ones(2)).tolist()
    (2.0, [1.0, 1.0])
    """
    if not is_foreign(value):
        return value
    compat = _compat()
    if compat.is_torch_array(value):
        return value.detach().cpu().numpy()
    if compat.is_cupy_array(value):
        return value.get()
    if compat.is_dask_array(value):
        return np.asarray(value.compute())
    if compat.is_jax_array(value):
        return np.asarray(value)
    return np.array(np.from_dlpack(value))  # a copy: the array stays its library's own
