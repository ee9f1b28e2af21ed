"""Fuzzing plugins: a gate that misbehaves on its Nth call, in any hook, through every command.

A rogue gate, in a small circuit among built-in ones, does one wrong thing
(returns None, text, a float32, the wrong number or shape of gradients, an
infinity; raises an exception, SystemExit, an exception that cannot print
itself; writes into its input) from its Nth call on, in its forward hook,
its local-gradient hook or its VJP hook. Whatever it does, every way of
using the circuit (runs with floats and with arrays, run again, explain,
draw, check) either succeeds or raises a :class:`gatekit.GatekitError`;
nothing else escapes and nothing hangs. A sample goes through the command
line: exit 0, 1 or 2 and at most one ``error:`` line, never a traceback.

In CI the examples are fixed and few; ``GATEKIT_FUZZ_EXAMPLES=N`` runs a
random campaign of N (see ``tests/test_fuzz.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from test_fuzz import fuzz_settings, time_limit

import gatekit
from gatekit import GateSpec, SpecGate, hookimpl
from gatekit.plugin.registry import GateRegistry, plugin_manager
from gatekit.testing import check_circuit
from gatekit.views import draw, explain
from gatekit.views.trace import trace


class Odd(Exception):
    """An exception that cannot print itself."""

    def __str__(self) -> str:
        raise RuntimeError("no message")


BEHAVIOURS = (
    "none",
    "text",
    "float32",
    "int64",
    "strings",
    "object",
    "nan",
    "inf",
    "raise",
    "exit",
    "odd",
    "recursion",
    "count",  # a wrong number of gradients
    "shape",  # a gradient of a shape that does not fit
    "in-place",  # writes into its input
    "alias",  # returns its input array itself
    "huge",  # an array far bigger than its input
)
HOOKS = ("forward", "local_grad", "vjp")


def misbehave(behaviour: str, inputs: Sequence[Any], good: Any) -> Any:
    """What a rogue hook returns (or does) instead of ``good``."""
    (a,) = inputs
    bad: dict[str, Callable[[], Any]] = {
        "none": lambda: None,
        "text": lambda: "text",
        "float32": lambda: np.float32(1.0),
        "int64": lambda: np.asarray(good, dtype=np.int64) if np.ndim(good) else np.int64(1),
        "strings": lambda: np.array(["a"] * max(1, np.size(good))),
        "object": lambda: np.array([object()], dtype=object),
        "nan": lambda: good * np.nan,
        "inf": lambda: good * np.inf,
        "shape": lambda: np.ones((7, 5)),
        "alias": lambda: a,
        "huge": lambda: np.ones((3, 1000)),
    }
    if behaviour == "raise":
        raise ValueError("rogue")
    if behaviour == "exit":
        raise SystemExit(4)
    if behaviour == "odd":
        raise Odd
    if behaviour == "recursion":
        raise RecursionError("maximum recursion depth exceeded")
    if behaviour == "in-place":
        if isinstance(a, np.ndarray):
            a[...] = 0.0
        return good
    return bad.get(behaviour, lambda: good)()


class Rogue(SpecGate):
    """``2 * a``, right until call ``nth`` of ``hook``, then ``behaviour``."""

    spec = GateSpec("rogue", 1, "2 * a, until it is not")

    def __init__(self, behaviour: str, hook: str, nth: int) -> None:
        self.behaviour, self.hook, self.nth = behaviour, hook, nth
        self.calls: dict[str, int] = {}

    def _wrong(self, hook: str) -> bool:
        self.calls[hook] = self.calls.get(hook, 0) + 1
        return hook == self.hook and self.calls[hook] >= self.nth

    @hookimpl
    def gate_forward(self, inputs: Sequence[Any]) -> Any:
        good = inputs[0] * 2.0
        return misbehave(self.behaviour, inputs, good) if self._wrong("forward") else good

    @hookimpl
    def gate_local_grad(self, inputs: Sequence[Any], output: Any) -> Any:
        good = (2.0,)
        if not self._wrong("local_grad"):
            return good
        if self.behaviour == "count":
            return (2.0, 2.0)
        return (misbehave(self.behaviour, inputs, 2.0),)


class RogueVjp(Rogue):
    """The same gate with a VJP hook instead of a local gradient."""

    spec = GateSpec("rogue", 1, "2 * a, until it is not")

    @hookimpl
    def gate_vjp(self, inputs: Sequence[Any], output: Any, upstream: Any) -> Any:
        good = (2.0 * upstream,)
        if not self._wrong("vjp"):
            return good
        if self.behaviour == "count":
            return ()
        return (misbehave(self.behaviour, inputs, good[0]),)


def registry_with(gate: Rogue) -> GateRegistry:
    pm = plugin_manager(autoload=False)
    pm.register(gate, name="rogue")
    return GateRegistry.from_manager(pm)


CIRCUITS = (
    "inputs: {x: 1.5}\ngates:\n  r: {gate: rogue, in: [x]}\n  y: {gate: square, in: [r]}\noutputs: [y]\n",
    "inputs: {x: 1.5}\nparams: {w: 0.5}\ngates:\n  r: {gate: rogue, in: [x]}\n"
    "  s: {gate: mul, in: [r, w, r]}\n  y: {gate: tanh, in: [s]}\noutputs: [y, r]\n",
    "inputs: {x: 1.5}\ngates:\n  a: {gate: exp, in: [x]}\n  r: {gate: rogue, in: [a]}\noutputs: [r]\n",
)


@st.composite
def rogues(draw_: st.DrawFn) -> tuple[Rogue, str, bool]:
    hook = draw_(st.sampled_from(HOOKS))
    behaviour = draw_(st.sampled_from(BEHAVIOURS))
    nth = draw_(st.integers(1, 4))
    gate = RogueVjp(behaviour, hook, nth) if hook == "vjp" else Rogue(behaviour, hook, nth)
    return gate, draw_(st.sampled_from(CIRCUITS)), draw_(st.booleans())


def every_use(circuit: gatekit.Circuit, values: dict[str, Any]) -> list[Callable[[], Any]]:
    """Every way of using a circuit, as the commands do and as API users may."""

    def run_json() -> None:
        from gatekit.views.text import json_text

        result = circuit.run(values)
        json_text({"outputs": result.outputs, "grads": result.grads, "values": result.values})

    def explained() -> None:
        recorded = trace(circuit, values)
        explain.explain_lines(circuit, recorded)
        explain.explain_json(recorded, expand=True)

    return [
        run_json,
        run_json,  # again: the plain, unguarded run
        lambda: circuit.run(values, check_finite=True).grads,
        explained,
        lambda: draw.to_dot(circuit, values),
        lambda: check_circuit(circuit, values, raise_on_failure=False),
    ]


@fuzz_settings(300)
@given(drawn=rogues())
def test_a_rogue_gate_ends_in_a_gatekit_error_or_nothing(drawn: tuple[Rogue, str, bool]) -> None:
    gate, text, batch = drawn
    circuit = gatekit.loads(text, "rogue.yaml", registry=registry_with(gate))
    values = {"x": np.array([1.5, -0.5, 2.0])} if batch else {}
    for use in every_use(circuit, values):
        with time_limit(20):
            try:
                use()
            except gatekit.GatekitError as exc:
                assert str(exc)  # one message, printable
                assert "\n" not in str(exc).strip() or isinstance(exc, gatekit.RunError)


PLUGIN = """
import numpy as np
import gatekit
from gatekit import GateSpec, SpecGate, hookimpl

BEHAVIOUR, HOOK, NTH = {behaviour!r}, {hook!r}, {nth}


class Odd(Exception):
    def __str__(self):
        raise RuntimeError("no message")


def misbehave(inputs, good):
    (a,) = inputs
    if BEHAVIOUR == "none":
        return None
    if BEHAVIOUR == "float32":
        return np.float32(1.0)
    if BEHAVIOUR == "strings":
        return np.array(["a"] * max(1, np.size(good)))
    if BEHAVIOUR == "raise":
        raise ValueError("rogue")
    if BEHAVIOUR == "exit":
        raise SystemExit(4)
    if BEHAVIOUR == "odd":
        raise Odd()
    if BEHAVIOUR == "shape":
        return np.ones((7, 5))
    if BEHAVIOUR == "in-place" and isinstance(a, np.ndarray):
        a[...] = 0.0
    return good


class Rogue(SpecGate):
    spec = GateSpec("rogue", 1, "2 * a, until it is not")
    calls = {{}}

    def wrong(self, hook):
        self.calls[hook] = self.calls.get(hook, 0) + 1
        return hook == HOOK and self.calls[hook] >= NTH

    @hookimpl
    def gate_forward(self, inputs):
        good = inputs[0] * 2.0
        return misbehave(inputs, good) if self.wrong("forward") else good

    @hookimpl
    def gate_local_grad(self, inputs, output):
        return (misbehave(inputs, 2.0),) if self.wrong("local_grad") else (2.0,)


gatekit_register_gates = gatekit.collect_gates(__name__)
"""
CLI_BEHAVIOURS = ("none", "float32", "strings", "raise", "exit", "odd", "shape", "in-place")


@fuzz_settings(60, HealthCheck.function_scoped_fixture, share=0.1)
@given(
    behaviour=st.sampled_from(CLI_BEHAVIOURS),
    hook=st.sampled_from(("forward", "local_grad")),
    nth=st.integers(1, 3),
    command=st.sampled_from(("run", "explain", "check", "draw")),
    batch=st.booleans(),
)
def test_a_rogue_gate_through_the_command_line_is_one_line_at_most(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    behaviour: str,
    hook: str,
    nth: int,
    command: str,
    batch: bool,
) -> None:
    from gatekit.cli import main

    folder = tmp_path_factory.mktemp("rogue")
    plugin = Path(folder, "gk_rogue_cli.py")
    plugin.write_text(PLUGIN.format(behaviour=behaviour, hook=hook, nth=nth), encoding="utf-8")
    graph = Path(folder, "g.yaml")
    graph.write_text(CIRCUITS[1], encoding="utf-8")
    args = [command, "-p", str(plugin), str(graph)]
    if batch:
        args += ["--set", "x=[1.5, -0.5, 2.0]"]
    if command == "draw":
        args += ["-o", str(Path(folder, "g.dot"))]
    with time_limit(30):
        code = main(args)
    captured = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    if code == 0:
        assert not errors
    else:
        assert len(errors) == 1 and len(captured.err.splitlines()) - len(errors) <= 1
