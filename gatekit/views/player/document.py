"""The player as HTML: a page of its own (``gatekit draw -o FILE.html``) or a notebook cell's output.

:func:`player_data` runs the circuit once with the trace recording, makes
the data of every view (:mod:`gatekit.views.player.steps`) and has
Graphviz draw each one. :func:`fragment` puts the drawings, the data, the
script and the style in one ``<div>``; :func:`page` wraps it in a whole
HTML document that fetches nothing (its Content-Security-Policy forbids
it), and :func:`write` saves that page, replaced whole or not at all.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from collections.abc import Mapping
from importlib import resources
from typing import Any

from gatekit.engine.circuit import Circuit
from gatekit.errors import GatekitError, Location
from gatekit.io.atomic import write_atomically
from gatekit.views import draw
from gatekit.views.explain import along_text
from gatekit.views.player.steps import main_states, view_data
from gatekit.views.trace import collapse, trace

__all__ = [
    "FORMATS",
    "OPEN_LIMIT",
    "PREFIX",
    "check_path",
    "fragment",
    "notebook",
    "page",
    "player_data",
    "write",
]

#: the file type :func:`write` makes
FORMATS = (".html",)
#: the prefix of the ids the drawings give their nodes and wires (see :func:`gatekit.views.draw.to_dot`)
PREFIX = "gk-"
#: at most this many module uses can be opened in place (each is one more drawing); more: ``--expand``
OPEN_LIMIT = 8
#: the Content-Security-Policy of the page: its own script and style, nothing from anywhere else
POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"


def _asset(name: str) -> str:
    """The text of one of the player's files (``player.js``, ``player.css``), shipped in the package."""
    return resources.files("gatekit.views.player").joinpath(name).read_text(encoding="utf-8")


def _svg(dot_text: str, place: Location | None) -> str:
    """Graphviz's SVG of ``dot_text``, from its ``<svg>`` tag on (no XML prolog inside HTML)."""
    text = draw.render(dot_text, "svg", place).decode("utf-8")
    return text[text.index("<svg") :].strip()


def player_data(
    circuit: Circuit,
    values: Mapping[str, Any] | None = None,
    *,
    grads: bool = True,
    precision: int = 2,
    expand: bool = False,
    place: Location | None = None,
    of: str | None = None,
    seed_grad: Any = None,
    tangents: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The player's data for ``circuit`` run with ``values``, and each view's drawing (SVG).

    ``grads``, ``precision`` (of the wires' labels), ``expand``, ``of``,
    ``seed_grad`` and ``tangents`` are :func:`gatekit.views.draw.to_dot`'s; ``place`` (the file being
    written) goes into Graphviz's messages. With ``tangents`` the page plays the forward-mode
    pass after the forward one, instead of the backward pass. Unless ``expand``, views 1 and on are the
    drawing with one module use opened, for the first :data:`OPEN_LIMIT` uses.

    :raises UsageError: an override is bad, or ``dot`` is not installed.
    :raises RunError: a gate failed while the circuit ran.
    :raises RenderError: ``dot`` failed.
    """
    run = trace(circuit, values, of=of, seed_grad=seed_grad, tangents=tangents)
    backward = grads and tangents is None  # forward mode plays the tangents instead
    main = run if expand else collapse(run)
    openable = [] if expand else [row.node for row in main.forward if row.module][:OPEN_LIMIT]
    views: list[dict[str, Any]] = []
    drawings = []
    for opened in [None, *openable]:
        shown = main if opened is None else collapse(run, {opened})
        views.append({"opened": opened, **view_data(circuit, shown, grads=backward)})
        dot_text = draw.to_dot(
            circuit,
            values,
            grads=grads,
            precision=precision,
            expand=expand,
            opened=frozenset() if opened is None else {opened},
            ids=PREFIX,
            of=of,
            seed_grad=seed_grad,
            tangents=tangents,
        )
        drawings.append(_svg(dot_text, place))
    for view in views:
        view["main"] = main_states(views[0]["steps"], view["steps"])
    data = {
        "format": "gatekit-player",
        "version": 2,
        "title": circuit.name or os.path.basename(circuit.file),
        "root": run.root,
        "grads": backward,
        "along": along_text(run, draw.ALONG_DIGITS) if tangents is not None else None,
        "prefix": PREFIX,
        "value_color": draw.VALUE_COLOR,
        "grad_color": draw.GRAD_COLOR,
        "tangent_color": draw.TANGENT_COLOR,
        "views": views,
    }
    return data, drawings


def _script_json(data: dict[str, Any]) -> str:
    """``data`` as JSON that is safe inside ``<script>``: every ``<`` escaped, so no ``</script>``."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).replace(
        "<", "\\u003c"
    )


def fragment(data: dict[str, Any], drawings: list[str], *, standalone: bool = False) -> str:
    """The player as one ``<div>``: drawings, data, script and style, for a page or a notebook.

    Without its script (a viewer that runs none) it is the drawing of the
    whole run. ``standalone``: the page is the player's own, whose keys it
    takes wherever the focus is; in a notebook it takes them once clicked.
    """
    mark = ' data-standalone="1"' if standalone else ""
    parts = [
        f'<div class="gatekit-player"{mark} tabindex="0">',
        f"<style>{_asset('player.css')}</style>",
        f'<div class="gk-picture">{drawings[0]}</div>',
        *(f'<template class="gk-view">{drawing}</template>' for drawing in drawings[1:]),
        f'<script type="application/json" class="gk-data">{_script_json(data)}</script>',
        f"<script>{_asset('player.js')}</script>",
        "</div>",
    ]
    return "\n".join(parts) + "\n"


def page(data: dict[str, Any], drawings: list[str]) -> str:
    """A whole HTML document playing the run, that works offline and fetches nothing."""
    title = f"gatekit: {data['title']}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<link rel="icon" href="data:,">',  # or the browser asks for /favicon.ico
            f"<title>{html.escape(title)}</title>",
            "</head>",
            "<body>",
            fragment(data, drawings, standalone=True) + "</body>",
            "</html>",
            "",
        ]
    )


def check_path(path: str | os.PathLike[str]) -> None:
    """Refuse, before anything runs, a path :func:`write` cannot make.

    :raises UsageError: see :func:`gatekit.views.draw.check_path` (``.html`` only).
    """
    draw.check_path(path, FORMATS)


def write(
    path: str | os.PathLike[str],
    circuit: Circuit,
    values: Mapping[str, Any] | None = None,
    *,
    grads: bool = True,
    precision: int = 2,
    expand: bool = False,
    of: str | None = None,
    seed_grad: Any = None,
    tangents: Mapping[str, Any] | None = None,
) -> None:
    """Write the page that plays ``circuit``'s run with ``values`` into ``path`` (``.html``).

    The options are :func:`player_data`'s. The page is written beside
    ``path`` and renamed over it: an old file is replaced whole or not at
    all, and nothing is written when the run or Graphviz fails.

    :raises UsageError: see :func:`check_path` and :func:`player_data`.
    :raises RunError: see :func:`player_data`.
    :raises RenderError: see :func:`player_data`.
    """
    file = os.fspath(path)
    check_path(file)
    data, drawings = player_data(
        circuit,
        values,
        grads=grads,
        precision=precision,
        expand=expand,
        place=Location(file),
        of=of,
        seed_grad=seed_grad,
        tangents=tangents,
    )
    text = page(data, drawings).encode("utf-8")
    write_atomically(file, lambda f: f.write(text))


def notebook(circuit: Circuit, values: Mapping[str, Any] | None = None) -> str | None:
    """The player for a notebook cell (``Result._repr_html_``), or ``None`` when it cannot be made.

    ``None`` (Jupyter then shows the static drawing, or the text) when
    ``dot`` is not installed, the circuit has more than
    :data:`gatekit.views.draw.NOTEBOOK_LIMIT` gates, or running or drawing it fails.
    """
    if shutil.which("dot") is None or len(circuit.plan.forward) > draw.NOTEBOOK_LIMIT:
        return None
    try:
        return fragment(*player_data(circuit, values))
    except GatekitError:
        return None  # a notebook shows the drawing or the text instead
