"""The public face: :func:`load` a circuit once, :meth:`Circuit.run` it often.

The engine runs circuits and draws nothing; the views draw them. A notebook
wants both in one object, so :class:`Circuit` and :class:`Result` here are the
engine's classes with Jupyter's picture methods added from the views: the one
place where the two layers meet.

>>> import gatekit
>>> circuit = gatekit.loads('''
... inputs: {x: 3.0}
... params: {w: 2.0}
... gates:
...   y: {gate: mul, in: [w, x]}
... outputs: [y]
... ''')
>>> result = circuit.run(x=4.0)
>>> result.outputs["y"], result.grads["w"], result.grads["x"]
(8.0, 4.0, 2.0)
"""

from __future__ import annotations

import os

from gatekit.engine import circuit as engine
from gatekit.plugin.registry import GateRegistry
from gatekit.views import draw, player

__all__ = ["Circuit", "Result", "load", "loads"]


class Result(engine.Result):
    """One run's numbers: ``outputs``, ``grads`` (of ``outputs[0]``) and ``values``."""

    def _repr_html_(self) -> str | None:
        """Jupyter's player of this run: the drawing, played gate by gate, forward then back.

        The circuit runs again from this run's leaf values. ``None`` (Jupyter
        then shows :meth:`_repr_svg_`'s drawing, or the text) without
        Graphviz; see :func:`gatekit.views.player.notebook`.
        """
        if self.circuit is None:
            return None
        return player.notebook(self.circuit, self.leaves)

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of this run: values and gradients on the wires.

        The circuit runs again from this run's leaf values. ``None`` (Jupyter
        then shows the text) without Graphviz; see :func:`gatekit.views.draw.svg`.
        """
        if self.circuit is None:
            return None
        return draw.svg(self.circuit, self.leaves)


class Circuit(engine.Circuit):
    """A validated, compiled circuit, ready to run many times."""

    result_type = Result

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of the circuit: its file's values on the wires (no gradients).

        ``None`` (Jupyter then shows the text) without Graphviz; see :func:`gatekit.views.draw.svg`.
        """
        return draw.svg(self, grads=False)


def load(path: str | os.PathLike[str], registry: GateRegistry | None = None) -> Circuit:
    """Read, validate and compile the circuit file at ``path``.

    :param registry: the gates to resolve against (default: the installed
        ones, :func:`gatekit.default_registry`).
    :raises GatekitError: the file is unreadable or not a valid circuit; the
        message names the file, line and column.
    """
    return Circuit.from_file(path, registry)


def loads(text: str, file: str = "<string>", registry: GateRegistry | None = None) -> Circuit:
    """Like :func:`load`, from YAML text; ``file`` names it in messages."""
    return Circuit.from_text(text, file, registry)
