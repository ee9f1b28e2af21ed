"""Whole Jacobians: how every element of some outputs depends on every element of some leaves.

A reverse pass (backprop seeded with a one-hot cotangent at one output
element) gives one row of the Jacobian: that element's gradient with respect
to every leaf. A forward pass (forward mode with a one-hot tangent on one
leaf element) gives one column: how every output moves with that element.
:func:`plan_jacobian` counts the passes each mode needs and takes the one
that needs fewer (reverse on a tie), as JAX's ``jacrev`` and ``jacfwd`` are
chosen by hand; :func:`compute_jacobian` runs them.

Each pass is a whole run of the circuit, one after another. Stacking the
one-hot seeds along an extra axis and running them at once would need every
gate to carry that axis through untouched, which gates do not promise: a
``gate_vjp`` or ``gate_jvp`` gate (``matmul``, ``sum`` over an axis) reads
its arguments' axes as its own, and each leaf's gradient is summed to the
leaf's shape, which would sum the stack away.

>>> from gatekit.engine.circuit import Circuit
>>> circuit = Circuit.from_text(
...     "inputs: {x: [1.0, 2.0]}\\ngates:\\n  s: {gate: sum, in: [x]}\\n  q: {gate: square, in: [x]}\\n"
...     "outputs: [s, q]"
... )
>>> jacobian = circuit.jacobian()
>>> jacobian.mode, jacobian.passes, jacobian["q", "x"].tolist()
('forward', 2, [[2.0, 0.0], [0.0, 4.0]])
>>> jacobian.matrix().tolist()
[[1.0, 1.0], [2.0, 0.0], [0.0, 4.0]]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from gatekit.engine.broadcast import shape_of
from gatekit.engine.compiler import Plan
from gatekit.errors import Location, UsageError

__all__ = [
    "MODES",
    "Jacobian",
    "JacobianPlan",
    "Mode",
    "block_name",
    "check_of",
    "check_wrt",
    "compute_jacobian",
    "plan_jacobian",
]

#: How a Jacobian may be computed: ``auto`` takes whichever of the other two needs fewer passes.
Mode = Literal["auto", "forward", "reverse"]
MODES: tuple[Mode, ...] = ("auto", "forward", "reverse")


class _Ran(Protocol):
    """What a Jacobian reads from a run (:class:`gatekit.engine.circuit.Result`)."""

    @property
    def values(self) -> Mapping[str, Any]: ...

    @property
    def grads(self) -> Mapping[str, Any]: ...

    @property
    def tangents(self) -> Mapping[str, Any]: ...

    @property
    def node_tangents(self) -> Mapping[str, Any]: ...


class _Runs(Protocol):
    """What a Jacobian needs of a circuit (:class:`gatekit.engine.circuit.Circuit`)."""

    plan: Plan

    @property
    def file(self) -> str: ...

    @property
    def outputs(self) -> list[str]: ...

    def run(
        self,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        check_finite: bool = False,
        of: str | None = None,
        seed_grad: Any = None,
        tangents: Mapping[str, Any] | None = None,
    ) -> _Ran: ...


def block_name(out: str, leaf: str) -> str:
    """How files and JSON name the block of ``out`` with respect to ``leaf``.

    >>> block_name("f", "x0")
    'd f / d x0'
    """
    return f"d {out} / d {leaf}"


@dataclass(frozen=True)
class JacobianPlan:
    """A Jacobian before it is computed: its blocks' shapes, and the passes each mode takes."""

    #: each output (or gate) differentiated, and its shape, in the order asked
    of: Mapping[str, tuple[int, ...]]
    #: each leaf differentiated by, and its shape, in the order asked
    wrt: Mapping[str, tuple[int, ...]]
    #: the mode the passes run in
    mode: Literal["forward", "reverse"]
    #: the gate a tangent on ``wrt`` would meet that has no ``gate_jvp`` (its description), if any
    no_jvp: str | None = None

    @property
    def reverse_passes(self) -> int:
        """Reverse mode's passes: one per output element."""
        return sum(math.prod(shape) for shape in self.of.values())

    @property
    def forward_passes(self) -> int:
        """Forward mode's passes: one per leaf element."""
        return sum(math.prod(shape) for shape in self.wrt.values())

    @property
    def passes(self) -> int:
        """The passes :attr:`mode` takes."""
        return self.reverse_passes if self.mode == "reverse" else self.forward_passes


class Jacobian(Mapping[tuple[str, str], np.ndarray]):
    """A whole Jacobian: one float64 block per ``(output, leaf)``, in the order of ``of``, then ``wrt``.

    ``jacobian["f", "x"]`` has the shape of ``f`` followed by the shape of
    ``x``: its element ``[i, j]`` is ``d f[i] / d x[j]`` (a 0-d array for two
    numbers). :attr:`mode` and :attr:`passes` say how it was computed.
    """

    def __init__(self, plan: JacobianPlan, blocks: Mapping[tuple[str, str], np.ndarray]) -> None:
        self.plan = plan
        self._blocks: dict[tuple[str, str], np.ndarray] = dict(blocks)

    @property
    def of(self) -> list[str]:
        return list(self.plan.of)

    @property
    def wrt(self) -> list[str]:
        return list(self.plan.wrt)

    @property
    def mode(self) -> Literal["forward", "reverse"]:
        return self.plan.mode

    @property
    def passes(self) -> int:
        return self.plan.passes

    def __getitem__(self, key: tuple[str, str]) -> np.ndarray:
        return self._blocks[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._blocks)

    def __len__(self) -> int:
        return len(self._blocks)

    def named(self) -> dict[str, np.ndarray]:
        """The blocks keyed ``"d OUT / d LEAF"`` (see :func:`block_name`), as files and JSON write them."""
        return {block_name(out, leaf): block for (out, leaf), block in self._blocks.items()}

    def matrix(self) -> np.ndarray:
        """The blocks as one matrix: a row per output element, a column per leaf element.

        Rows follow :attr:`of` and, within an output, its elements in C
        order; columns likewise follow :attr:`wrt`.
        """
        columns = self.plan.forward_passes  # one per leaf element
        matrix = np.zeros((self.plan.reverse_passes, columns))
        row = 0
        for out, oshape in self.plan.of.items():
            rows = math.prod(oshape)
            column = 0
            for leaf, lshape in self.plan.wrt.items():
                size = math.prod(lshape)
                matrix[row : row + rows, column : column + size] = self._blocks[out, leaf].reshape(rows, size)
                column += size
            row += rows
        return matrix

    def __repr__(self) -> str:
        passes = f"{self.passes} pass" + ("" if self.passes == 1 else "es")
        return f"<Jacobian of {', '.join(self.of)} wrt {', '.join(self.wrt)}: {self.mode}, {passes}>"


def _chosen(given: str | Iterable[str] | None, default: Sequence[str], what: str, file: str) -> list[str]:
    """The names asked for, in order, each once; ``default`` when none were given."""
    if given is None:
        return list(default)
    names = list(dict.fromkeys([given] if isinstance(given, str) else given))
    if not names:
        raise UsageError(
            f"{what} names nothing: leave it out for {', '.join(default) or 'none'}", Location(file)
        )
    return names


def check_of(circuit: _Runs, name: str, place: Location | None = None) -> None:
    """Refuse a name to differentiate that is no node of ``circuit`` (placed at ``place``, else the file).

    :raises UsageError: no input, param or gate has that name.
    """
    if name not in circuit.plan.slots:
        raise UsageError(
            f"no node named {name!r} to take the Jacobian of (outputs: {', '.join(circuit.outputs)}; "
            "any gate or leaf may be named)",
            place or Location(circuit.file),
        )


def check_wrt(circuit: _Runs, name: str, place: Location | None = None) -> None:
    """Refuse a name to differentiate by that is no leaf of ``circuit`` (placed at ``place``, else the file).

    :raises UsageError: no input or param has that name (a gate's says it is a gate's).
    """
    leaves = circuit.plan.leaves
    if name in leaves:
        return
    what = "a gate, not an input or param" if name in circuit.plan.slots else "no input or param"
    raise UsageError(
        f"{name!r} is {what}: a Jacobian is taken with respect to leaves (inputs and params: "
        f"{', '.join(leaves) or 'none'})",
        place or Location(circuit.file),
    )


def _no_tangent(circuit: _Runs, leaves: Iterable[str]) -> str | None:
    """The first gate a tangent on ``leaves`` reaches that cannot carry one (``gate_vjp``, no ``gate_jvp``).

    Its description, or ``None``. The circuit refuses a forward-mode run that
    reaches such a gate, so ``auto`` then runs in reverse.
    """
    plan = circuit.plan
    moving = {plan.leaves[name] for name in leaves}
    for step in plan.forward:
        if moving.intersection(step.slots):
            moving.add(step.out)
            bound = plan.gates[step.out]
            if bound.gate.bind_tangent(bound.attrs) is None:
                return bound.describe()
    return None


def plan_jacobian(
    circuit: _Runs,
    values: Mapping[str, Any] | None = None,
    *,
    of: str | Iterable[str] | None = None,
    wrt: str | Iterable[str] | None = None,
    mode: Mode = "auto",
    check_finite: bool = False,
) -> JacobianPlan:
    """What :func:`compute_jacobian` will compute, and how, from one run at ``values``.

    ``of`` defaults to every output, ``wrt`` to every input and param; a
    name given twice counts once. ``auto`` takes the mode with fewer passes
    (reverse on a tie), and reverse where a tangent would reach a gate
    without ``gate_jvp``.

    :raises UsageError: ``of`` names no node or ``wrt`` no leaf, either
        names nothing, or ``mode`` is none of :data:`MODES`; and what
        :meth:`~gatekit.engine.circuit.Circuit.run` raises for ``values``.
    """
    if mode not in MODES:
        raise UsageError(f"mode {mode!r}: choose auto, forward or reverse", Location(circuit.file))
    outs = _chosen(of, circuit.outputs, "of", circuit.file)
    leaves = _chosen(wrt, list(circuit.plan.leaves), "wrt", circuit.file)
    for name in outs:
        check_of(circuit, name)
    for name in leaves:
        check_wrt(circuit, name)
    ran = circuit.run(values, check_finite=check_finite).values
    no_jvp = _no_tangent(circuit, leaves)
    shapes = JacobianPlan(
        {name: shape_of(ran[name]) for name in outs},
        {name: shape_of(ran[name]) for name in leaves},
        "reverse",
        no_jvp,
    )
    chosen: Literal["forward", "reverse"]
    if mode == "auto":
        chosen = "forward" if shapes.forward_passes < shapes.reverse_passes and no_jvp is None else "reverse"
    else:
        chosen = mode
    return JacobianPlan(shapes.of, shapes.wrt, chosen, no_jvp)


def _one_hot(shape: tuple[int, ...], index: tuple[int, ...]) -> Any:
    """1 at ``index`` of an array of ``shape``, 0 elsewhere; the number 1.0 for shape ``()``."""
    if not shape:
        return 1.0
    seed = np.zeros(shape)
    seed[index] = 1.0
    return seed


def compute_jacobian(
    circuit: _Runs, plan: JacobianPlan, values: Mapping[str, Any] | None = None, *, check_finite: bool = False
) -> Jacobian:
    """Run ``plan``'s passes at ``values``: a row per output element, or a column per leaf element.

    :raises UsageError: as for :meth:`~gatekit.engine.circuit.Circuit.run`.
    :raises PluginError: forward mode reaches a gate without ``gate_jvp``.
    :raises RunError: a gate failed in one of the passes.
    """
    blocks = {
        (out, leaf): np.zeros(oshape + lshape)
        for out, oshape in plan.of.items()
        for leaf, lshape in plan.wrt.items()
    }
    if plan.mode == "reverse":
        for out, shape in plan.of.items():
            for index in np.ndindex(shape):
                row = circuit.run(values, check_finite=check_finite, of=out, seed_grad=_one_hot(shape, index))
                grads = row.grads
                for leaf in plan.wrt:
                    blocks[out, leaf][index] = grads[leaf]
        return Jacobian(plan, blocks)
    outputs = set(circuit.outputs)
    for leaf, shape in plan.wrt.items():
        for index in np.ndindex(shape):
            column = circuit.run(values, check_finite=check_finite, tangents={leaf: _one_hot(shape, index)})
            moved = column.tangents if outputs.issuperset(plan.of) else column.node_tangents
            for out in plan.of:
                blocks[out, leaf][(..., *index)] = moved[out]
    return Jacobian(plan, blocks)
