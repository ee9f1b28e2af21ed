"""Arrays from the bytes of a ``.npz`` file, read without trusting them.

A ``.npz`` is a zip of ``NAME.npy`` members, as :func:`numpy.savez` writes
it. The file comes from someone else, so it is not given to
:func:`numpy.load`: this small reader on top of :mod:`zipfile` checks each
member's zip entry (a ``.npy`` name, given once, neither encrypted nor
compressed other than stored or deflated) and parses its ``.npy`` header
itself (version 1.0, 2.0 or 3.0; a plain integer or floating dtype; at most
:data:`~gatekit.limits.MAX_DIMENSIONS` dimensions; its element count and
byte count within the limits; the zip entry's size equal to what the header
describes) before any of its data is read. A member is then read with a
bounded read, so a small member that inflates to gigabytes is never
decompressed whole, and nothing but numbers is ever built: no pickles, no
objects, no text. Every problem is a :class:`~gatekit.UsageError` at the file
that names the member.

>>> import io
>>> buffer = io.BytesIO()
>>> np.savez(buffer, x=np.arange(3), w=np.float32(0.5))
>>> read_npz(buffer.getvalue(), Location("d.npz"), lambda names: None)
{'x': array([0., 1., 2.]), 'w': 0.5}
"""

from __future__ import annotations

import ast
import io
import math
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from gatekit.errors import Location, UsageError
from gatekit.io.quote import shown
from gatekit.limits import MAX_DIMENSIONS, exceeded, limit

__all__ = ["MAX_HEADER_BYTES", "MAX_MEMBERS", "read_npz"]

#: The longest ``.npy`` header read (NumPy's own bound before it evaluates one).
MAX_HEADER_BYTES = 10_000
#: The most members a ``.npz`` may have: as many as a zip without zip64 can list.
#: :mod:`zipfile` makes an object of some 370 bytes for each entry of its central
#: directory (47 bytes or more in the file) before any can be checked.
MAX_MEMBERS = 65_535

_ZIP_MAGIC = b"PK"
#: Each entry of a zip's central directory starts with these bytes, so a file holds
#: no more entries than it holds copies of them (which :meth:`bytes.count` counts fast).
_MEMBER_MAGIC = b"PK\x01\x02"
_NPY_MAGIC = b"\x93NUMPY"
#: ``.npy`` versions: the width of the header's length field, and the header's encoding
_VERSIONS = {(1, 0): (2, "latin1"), (2, 0): (4, "latin1"), (3, 0): (4, "utf8")}
_KEYS = ("descr", "fortran_order", "shape")
#: A plain dtype string (``<f8``, ``|u1``, ``<U3``, ``<M8[ns]``): one type, no fields, no subarray.
_PLAIN_DESCR = re.compile(r"[<>|=]?[A-Za-z?][0-9]{0,12}(\[[0-9]{0,6}[A-Za-z]{1,2}\])?")
#: One past the largest size of one dimension (NumPy's intp).
_MAX_SIZE = 2**63
_ENCRYPTED = 0x1
_METHODS = {
    1: "shrunk",
    6: "imploded",
    8: "deflated",
    9: "deflate64",
    12: "bzip2",
    14: "lzma",
    93: "zstandard",
    98: "ppmd",
}
#: What :mod:`zipfile` and :mod:`zlib` raise for a damaged, truncated or odd zip.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    struct.error,
)


@dataclass(frozen=True)
class _Header:
    """A ``.npy`` member's header, checked: what its data must be."""

    dtype: np.dtype[Any]
    fortran_order: bool
    shape: tuple[int, ...]
    length: int  # the magic, version, header length and header: where the data starts

    @property
    def data_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def read_npz(data: bytes, place: Location, check_names: Callable[[list[str]], None]) -> dict[str, Any]:
    """The arrays of the ``.npz`` file whose bytes are ``data``, by name, in the zip's order.

    ``check_names`` is given the array names (member names without
    ``.npy``) once the zip's entries are checked, before any member is read.
    Values are Python floats (0-d) or float64 arrays.

    :raises UsageError: at ``place``: the file is empty, not a zip, or a
        damaged one; it holds no members, or a member that is not a plain,
        readable ``.npy`` array of numbers within the limits.
    """
    if not data:
        raise UsageError("the file is empty", place)
    if not data.startswith(_ZIP_MAGIC):
        raise UsageError("not a .npz file (a zip of NumPy arrays, as numpy.savez writes)", place)
    if data.count(_MEMBER_MAGIC) > MAX_MEMBERS:
        raise UsageError(
            f"the zip has more than {MAX_MEMBERS:,} members (a .npz needs one for each array)", place
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise UsageError(f"not a readable .npz file ({_reason(exc)})", place) from None
    with archive:
        members = archive.infolist()
        if not members:
            raise UsageError("the file holds no arrays", place)
        names: list[str] = []
        seen: set[str] = set()  # a zip may hold two entries of one name
        for info in members:
            name = _check_entry(info, place)
            if name in seen:
                raise UsageError(f"member {shown(info.filename)} appears twice", place)
            seen.add(name)
            names.append(name)
        check_names(names)
        values: dict[str, Any] = {}
        total = 0  # the data of the members read so far: together, too, within GATEKIT_MAX_FILE_BYTES
        for name, info in zip(names, members, strict=True):
            values[name], size = _read_member(archive, info, name, place, total)
            total += size
        return values


def _check_entry(info: zipfile.ZipInfo, place: Location) -> str:
    """The array name of the zip entry ``info``: a ``.npy`` member that zipfile can read as it is."""
    member = info.filename
    if not member.endswith(".npy"):
        raise UsageError(
            f"member {shown(member)} is not a .npy array (a .npz holds one NAME.npy member for each array)",
            place,
        )
    if info.flag_bits & _ENCRYPTED:
        raise UsageError(f"member {shown(member)} is encrypted; only unencrypted members can be read", place)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        method = _METHODS.get(info.compress_type, "unknown")
        raise UsageError(
            f"member {shown(member)} is compressed with method {info.compress_type} ({method}); only stored "
            "and deflated members (as numpy.savez and numpy.savez_compressed write them) can be read",
            place,
        )
    return member.removesuffix(".npy")


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, place: Location, before: int
) -> tuple[Any, int]:
    """The array in the member ``info`` and its data's size: its header checked, then no more read.

    ``before`` is the size of the data of the members read before it.
    """
    try:
        with archive.open(info) as member:
            header = _read_header(member, name, place, before)
            expected = header.length + header.data_bytes
            if info.file_size != expected:
                raise UsageError(
                    f"member {shown(info.filename)}: its zip entry says it holds {info.file_size:,} bytes, "
                    f"its .npy header describes {expected:,}",
                    place,
                )
            data = member.read(header.data_bytes + 1)  # zipfile stops at the entry's size
    except _ZIP_ERRORS as exc:
        raise UsageError(f"member {shown(info.filename)} cannot be read: {_reason(exc)}", place) from None
    if len(data) != header.data_bytes:
        raise UsageError(
            f"member {shown(info.filename)} is truncated: its data holds {len(data):,} of the "
            f"{header.data_bytes:,} bytes its .npy header describes",
            place,
        )
    array = np.frombuffer(data, dtype=header.dtype).reshape(
        header.shape, order="F" if header.fortran_order else "C"
    )
    with np.errstate(all="ignore"):  # a long double too large for a float64 is refused just below
        values = array.astype(np.float64)
        too_large = header.dtype.itemsize > 8 and bool(np.any(np.isinf(values) & ~np.isinf(array)))
    if too_large:
        raise UsageError(
            f"array {shown(name)}: a number is too large for a float64 (dtype {header.dtype})", place
        )
    return (float(values) if values.ndim == 0 else values), header.data_bytes


def _read_header(member: IO[bytes], name: str, place: Location, before: int) -> _Header:
    """The checked header at the start of a ``.npy`` member, read with bounded reads.

    Its data, and the ``before`` bytes of the data of the members before it,
    must fit in ``GATEKIT_MAX_FILE_BYTES``: a ``.npz`` may not hold more,
    once decompressed, than a file of stored arrays could.
    """
    subject = f"array {shown(name)}"
    start = _read_exactly(member, len(_NPY_MAGIC) + 2, subject, place)
    if not start.startswith(_NPY_MAGIC):
        raise UsageError(f"{subject}: not a .npy array (it does not start with NumPy's magic bytes)", place)
    version = (start[-2], start[-1])
    if version not in _VERSIONS:
        raise UsageError(
            f"{subject}: .npy format version {version[0]}.{version[1]}; "
            "versions 1.0, 2.0 and 3.0 can be read",
            place,
        )
    width, encoding = _VERSIONS[version]
    length = int.from_bytes(_read_exactly(member, width, subject, place), "little")
    if length > MAX_HEADER_BYTES:
        raise UsageError(
            f"{subject}: the .npy header is {length:,} bytes long; "
            f"at most {MAX_HEADER_BYTES:,} are read (an array of numbers needs far fewer)",
            place,
        )
    raw = _read_exactly(member, length, subject, place)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:  # latin1 decodes anything: version 3.0's utf8
        raise UsageError(f"{subject}: the .npy header is malformed (not UTF-8 text)", place) from None
    try:
        fields = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise UsageError(f"{subject}: the .npy header is malformed (not a Python literal)", place) from None
    if not isinstance(fields, dict) or sorted(map(repr, fields)) != sorted(map(repr, _KEYS)):
        got = "keys " + ", ".join(sorted(map(repr, fields))) if isinstance(fields, dict) else _short(fields)
        raise UsageError(
            f"{subject}: the .npy header is malformed (expected a dict with the keys "
            f"'descr', 'fortran_order' and 'shape', got {got})",
            place,
        )
    dtype = _dtype(fields["descr"], subject, place)
    fortran_order = fields["fortran_order"]
    if not isinstance(fortran_order, bool):
        raise UsageError(
            f"{subject}: the .npy header is malformed (fortran_order is {_short(fortran_order)}, "
            "expected True or False)",
            place,
        )
    shape = _shape(fields["shape"], subject, place)
    header = _Header(dtype, fortran_order, shape, len(start) + width + length)
    count = math.prod(shape)
    if count > limit("GATEKIT_MAX_ARRAY_ELEMENTS"):
        what = f"element count ({count:,}, shape {shape})"
        raise UsageError(f"{subject}: its {exceeded('GATEKIT_MAX_ARRAY_ELEMENTS', what)}", place)
    if count == 0:
        raise UsageError(f"{subject}: the array is empty (shape {shape})", place)
    if before + header.data_bytes > limit("GATEKIT_MAX_FILE_BYTES"):
        if before:
            what = f"the arrays' size in bytes ({before + header.data_bytes:,} with this one, decompressed)"
        else:
            what = f"its size in bytes ({header.data_bytes:,}, decompressed)"
        raise UsageError(f"{subject}: {exceeded('GATEKIT_MAX_FILE_BYTES', what)}", place)
    return header


def _dtype(descr: object, subject: str, place: Location) -> np.dtype[Any]:
    """The dtype a header's ``descr`` names: integer or floating, else a located refusal.

    Only a plain dtype string reaches :class:`numpy.dtype`, so nothing is
    built for a structured or subarray dtype, and a string dtype of
    gigabytes (``|S2000000000``) is refused by its kind before anything is
    allocated.
    """
    if isinstance(descr, list):
        raise UsageError(f"{subject}: expected numbers, got a structured array (a dtype with fields)", place)
    dtype = None
    if isinstance(descr, str) and _PLAIN_DESCR.fullmatch(descr):
        try:
            dtype = np.dtype(descr)
        except (TypeError, ValueError, OverflowError):
            dtype = None
    if dtype is None:
        raise UsageError(
            f"{subject}: the .npy header is malformed (descr is {_short(descr)}, "
            "expected a NumPy dtype such as '<f8')",
            place,
        )
    if dtype.kind == "O":
        raise UsageError(
            f"{subject} holds Python objects (an object array); save numbers only, "
            "for example with .astype(float)",
            place,
        )
    if dtype.kind not in "iuf":
        raise UsageError(f"{subject}: expected numbers, got an array of dtype {dtype}", place)
    return dtype


def _shape(shape: object, subject: str, place: Location) -> tuple[int, ...]:
    """A header's ``shape``: a tuple of at most MAX_DIMENSIONS sizes, each one NumPy can hold."""
    if not (
        isinstance(shape, tuple)
        and all(type(size) is int and 0 <= size < _MAX_SIZE for size in shape)  # type(): not bool
    ):
        raise UsageError(
            f"{subject}: the .npy header is malformed (shape is {_short(shape)}, "
            "expected a tuple of whole numbers)",
            place,
        )
    if len(shape) > MAX_DIMENSIONS:
        raise UsageError(
            f"{subject}: {len(shape)} dimensions: an array has at most {MAX_DIMENSIONS} dimensions", place
        )
    return shape


def _read_exactly(member: IO[bytes], size: int, subject: str, place: Location) -> bytes:
    data = member.read(size)
    if len(data) != size:
        raise UsageError(f"{subject}: the .npy header is truncated", place)
    return data


def _short(value: object, most: int = 60) -> str:
    """``repr(value)``, cut to ``most`` characters: a header's oddity named in one short line."""
    try:
        text = repr(value)
    except ValueError:  # an integer of more than 4300 digits (written in hex) has no decimal repr
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= most else text[: most - 3] + "..."


def _reason(exc: BaseException) -> str:
    """What zipfile or zlib said, on one line."""
    if isinstance(exc, EOFError):  # zipfile raises it bare when the compressed data runs out
        return "its compressed data ends early"
    return " ".join(str(exc).split()) or type(exc).__name__
