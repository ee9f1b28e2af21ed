"""A page that plays a run gate by gate: ``gatekit draw GRAPH -o FILE.html``, and notebooks.

The page is one self-contained HTML file: the drawing (Graphviz's SVG, as
``gatekit draw`` makes it, its nodes and wires given ids), the run's steps
as JSON, and a small script and style of its own (``player.js`` and
``player.css`` beside this file, shipped in the package). It fetches
nothing and needs no server. The script starts from the leaves' values,
steps forward gate by gate, then back from ``outputs[0]`` (or ``--of``'s node) with gradient 1
(or, with ``--tangent``, through the forward-mode pass gate by gate, as ``explain --tangent`` writes it),
showing for each step the line ``gatekit explain`` writes for it; every
number and every line is written by Python (:mod:`.steps`), the script only
shows and hides them. :func:`write` makes the page, :func:`notebook` the
player for a Jupyter cell (``Result._repr_html_``).

The data, in ``<script type="application/json" class="gk-data">``, version 2
(version 1 had no ``along``, ``tangent_color``, ``tangents`` or ``"tangent"`` steps)::

    {"format": "gatekit-player", "version": 2,
     "title": "neuron", "root": "f",     # root: outputs[0] (or draw --of's), whose gradient plays back
     "grads": true,                      # false (--no-grads, or --tangent): no backward pass
     "along": null or "x0=1",            # --tangent's tangents, written: the forward-mode pass plays
     "prefix": "gk-",                    # of the drawing's ids, below
     "value_color": "darkgreen", "grad_color": "red",   # the fill of the wires' label texts
     "tangent_color": "blue",            # ... the second text with --tangent: the source's tangent
     "views": [VIEW, ...]}               # [0]: the drawing in .gk-picture; [k]: the k-th <template>

    VIEW   {"opened": null or "f",       # the module use drawn open in this view
            "steps": [STEP, ...],        # the forward pass in run order, then the backward pass
                                         #   (with along: the forward-mode pass, in run order)
            "start": LINE,               # what the first state (nothing run) says
            "nodes": {NAME: NODE, ...},  # inputs, params, then gates in run order
            "wires": [WIRE, ...],        # the drawing's wires
            "main": [int, ...]}          # per state of this view, the state of view 0 it stands for
    STEP   {"pass": "forward", "backward" or "tangent", "node": "dot", "gate": "add",
            "module": "neuron2"          # only for a module use drawn as one gate
            "within": [[path, module]]   # only for a gate inside an opened module use
            "lines": [LINE, ...],        # forward: "w0=2 * x0=-1 = -2"; backward: the upstream
                                         #   gradient, then a line per wire, as gatekit explain writes;
                                         #   tangent: the inputs' tangents, then a line per wire (one
                                         #   for a jvp gate or a module use), as explain --tangent writes
            "lit": [WIRE_ID, ...]}       # the wires into the gate, lit in this step
    NODE   {"kind": "input", "param", "gate" or "module", "gate": "mul" (gates and modules),
            "value": SHOWN, "value_at": int,      # the first state showing the value (leaves: 0)
            "grads": [[int, SHOWN], ...],         # its gradient after each addition into it, by state
            "back_at": int or null,               # the state of its backward (or tangent) step
            "locals": [LINE, ...],                # gates and module uses: "d dot/d wx0 = 1", a wire each
            "tangents": [[int, SHOWN], ...]}      # only with along: its tangent, by state
    WIRE   {"id": "w-0-dot" (into gate dot at input 0) or "o-f" (output f's own wire),
            "value_at": int, "grad_at": int or null}   # the first states showing its label's two texts
                                                       #   (the second: a gradient, or a tangent)
    LINE   [piece, ...]                  # a piece is plain text or a SHOWN number
    SHOWN  {"text": "0.1966", "full": "0.19661193324148185",   # full: repr (NaN: "NaN")
            "shape": [200], "mean": "...", "min": "...", "max": "..."}   # the last four: arrays

A state ``s`` is "the first ``s`` steps done": 0 is the leaves only, and
``len(steps)`` the whole run. The drawing's ids are ``PREFIX`` then
``n-NAME`` (a node), ``w-P-GATE`` and ``o-NAME`` (wires, as above), and
``c-PATH`` (an opened module use's box); see :func:`gatekit.views.draw.to_dot`.
"""

from __future__ import annotations

from gatekit.views.player.document import (
    FORMATS,
    OPEN_LIMIT,
    PREFIX,
    check_path,
    fragment,
    notebook,
    page,
    player_data,
    write,
)
from gatekit.views.player.steps import DIGITS, shown, view_data

__all__ = [
    "DIGITS",
    "FORMATS",
    "OPEN_LIMIT",
    "PREFIX",
    "check_path",
    "fragment",
    "notebook",
    "page",
    "player_data",
    "shown",
    "view_data",
    "write",
]
