"""The trained circuit file: the user's file with every param's value replaced, and nothing else.

Comments, order, layout, the ``train:`` section: everything stays as the
user wrote it, because only the text of each param's value (its span, which
the loader keeps) is replaced, by the trained value written as YAML: a
number, or a nested list of numbers at full precision (``repr``), in flow
style. A param declared by an initializer becomes its trained values.

>>> import gatekit
>>> text = "params:\\n  w: 2.0   # the weight\\n  b: {init: zeros, shape: [2]}\\noutputs: [w]\\n"
>>> spans = {name: leaf.span for name, leaf in gatekit.loads(text).definition.leaves.items()}
>>> print(trained_text(text, spans, {"w": 0.5, "b": np.array([1e-5, -2.0])}), end="")
params:
  w: 0.5   # the weight
  b: [1.0e-05, -2.0]
outputs: [w]
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["moved_imports", "trained_text", "yaml_number", "yaml_value"]


def yaml_number(value: float) -> str:
    """A float as YAML (1.1 and 1.2) reads it back, exactly: ``repr``, with ``.0e`` and ``.inf``."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(float(value))
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:  # YAML 1.1 reads 1e-05 as text: 1.0e-05 is a number to both
        text = f"{mantissa}.0e{exponent}"
    return text


def yaml_value(value: Any) -> str:
    """A number or an array as a YAML flow value: ``0.5``, ``[[1.0, 2.0], [3.0, 4.0]]``."""
    if not isinstance(value, np.ndarray):
        return yaml_number(float(value))
    if value.ndim == 0:
        return yaml_number(float(value))
    # iteratively: a stack of (array, parts written so far)
    out: list[str] = []
    stack: list[tuple[np.ndarray, int]] = [(value, 0)]
    while stack:
        array, index = stack.pop()
        if index == 0:
            out.append("[")
        if index == len(array):
            out.append("]")
            continue
        if index:
            out.append(", ")
        stack.append((array, index + 1))
        item = array[index]
        if array.ndim == 1:
            out.append(yaml_number(float(item)))
        else:
            stack.append((item, 0))
    return "".join(out)


def trained_text(
    text: str,
    spans: Mapping[str, tuple[int, int]],
    values: Mapping[str, Any],
    also: Mapping[tuple[int, int], str] | None = None,
) -> str:
    """``text`` with the span of each name in ``values`` replaced by that value, written as YAML.

    :param also: more replacements, by span (:func:`moved_imports`).
    """
    edits = [(spans[name], yaml_value(value)) for name, value in values.items()]
    edits += list((also or {}).items())
    pieces = []
    end_of_last = len(text)
    for (start, end), written in sorted(edits, reverse=True):  # from the end back: offsets stay right
        pieces += [text[end:end_of_last], written]
        end_of_last = start
    pieces.append(text[:end_of_last])
    return "".join(reversed(pieces))


_PLAIN_PATH = re.compile(r"(?:\.\.?/)*[A-Za-z0-9_][A-Za-z0-9_./-]*")


def moved_imports(
    imports: Sequence[str], spans: Sequence[tuple[int, int]], source: str, target: str
) -> dict[tuple[int, int], str]:
    """The ``imports:`` paths of a file at ``source``, rewritten for a copy at ``target``.

    A relative path is relative to its file's folder; so that the copy
    imports the very same files, each relative path is rewritten relative to
    the copy's folder (nothing, when the folder is the same).

    >>> moved_imports(["lib/a.yaml"], [(10, 20)], "graphs/m.yaml", "out/m.yaml")
    {(10, 20): '../graphs/lib/a.yaml'}
    """
    source_folder = os.path.dirname(os.path.abspath(source))
    target_folder = os.path.dirname(os.path.abspath(target))
    edits: dict[tuple[int, int], str] = {}
    if source_folder == target_folder:
        return edits
    for path, span in zip(imports, spans, strict=True):
        if os.path.isabs(path):
            continue
        moved = os.path.relpath(os.path.join(source_folder, path), target_folder).replace(os.sep, "/")
        edits[span] = moved if _PLAIN_PATH.fullmatch(moved) else json.dumps(moved)
    return edits
