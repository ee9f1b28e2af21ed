"""The trained circuit file: the user's file with every param's value replaced, and nothing else.

Comments, order, layout, the ``train:`` section: everything stays as the
user wrote it, because only the text of each param's value (its span, which
the loader keeps) is replaced, by the trained value written as YAML: a
number, or a nested list of numbers at full precision (``repr``), in flow
style. A param declared by an initializer becomes its trained values.

>>> import gatekit, numpy as np
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
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from gatekit.format.emit import yaml_value

__all__ = ["moved_imports", "trained_text"]


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
