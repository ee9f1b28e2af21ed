"""What plugins return is checked on a circuit's first run; check_finite finds the first NaN or inf."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gatekit
from gatekit import GateSpec, RunError, hookimpl
from gatekit.plugin.registry import GateRegistry, plugin_manager


class Faulty:
    """A gate whose hooks misbehave in a way chosen by ``fault``."""

    def __init__(self, name: str, fault: str) -> None:
        self.name, self.fault = name, fault

    @hookimpl
    def gate_spec(self) -> GateSpec:
        return GateSpec(self.name, 2, "misbehaves")

    @hookimpl
    def gate_forward(self, inputs):
        if self.fault == "forward-none":
            return None
        a, b = inputs
        return a * b

    @hookimpl
    def gate_local_grad(self, inputs, output):
        a, b = inputs
        if self.fault == "one-gradient":
            return (b,)
        if self.fault == "not-a-sequence":
            return b
        if self.fault == "too-big":
            return (np.ones((4, 3)), a)
        if self.fault == "text":
            return ("b", a)
        return (b, a)


class Plugin:
    @hookimpl
    def gatekit_register_gates(self):
        faults = ("forward-none", "one-gradient", "not-a-sequence", "too-big", "text", "fine")
        return [Faulty(fault.replace("-", "_"), fault) for fault in faults]


@pytest.fixture(scope="module")
def registry() -> GateRegistry:
    pm = plugin_manager(autoload=False)
    pm.register(Plugin(), name="faulty")
    return GateRegistry.from_manager(pm)


def circuit(registry: GateRegistry, gate: str, x: object = 2.0) -> gatekit.Circuit:
    text = f"inputs: {{x: {x}, y: 3.0}}\ngates:\n  p: {{gate: {gate}, in: [x, y]}}\noutputs: [p]"
    return gatekit.loads(text, file="g.yaml", registry=registry)


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        (
            "forward_none",
            "returned None from gate_forward; a gate returns float64: a number or a float64 array",
        ),
        ("one_gradient", "returned 1 gradient(s) from gate_local_grad for 2 input(s)"),
        ("not_a_sequence", "returned float from gate_local_grad, not one gradient per input"),
        ("text", "returned a str from gate_local_grad; a gate returns float64: a number or a float64 array"),
    ],
)
def test_a_plugin_that_returns_the_wrong_thing_is_named(
    registry: GateRegistry, gate: str, message: str
) -> None:
    with pytest.raises(RunError) as info:
        circuit(registry, gate).run()
    assert str(info.value) == f"g.yaml:3:3: gate 'p' ({gate}, plugin 'faulty:{gate}') {message}"
    assert info.value.exit_code == 1


def test_a_gradient_of_the_wrong_shape_is_named(registry: GateRegistry) -> None:
    with pytest.raises(RunError) as info:
        circuit(registry, "too_big", x="[1.0, 2.0, 3.0]").run()
    assert "returned a gradient of shape (4, 3) for input 0 from gate_local_grad" in str(info.value)
    assert "expected a shape that broadcasts to the output's (3,)" in str(info.value)


def test_only_the_first_run_of_each_kind_is_checked(registry: GateRegistry) -> None:
    fine = circuit(registry, "fine")
    first = fine.run()
    assert first.grads == {"x": 3.0, "y": 2.0}
    assert fine._checked == {False}
    fine.run(x=np.array([1.0, 2.0]))
    assert fine._checked == {False, True}
    fine.run(x=np.array([1.0, 2.0]))  # too small for the buffer pool
    assert fine._checked == {False, True}
    fine.run(x=np.ones(20_000))
    fine.run(x=np.ones(20_000))  # the first run that may compute into the pool's buffers
    assert fine._checked == {False, True, "pooled"}


def test_check_finite_names_the_first_gate_that_makes_a_nan_or_inf_forward() -> None:
    text = """
    inputs: {x: 0.0}
    gates:
      a: {gate: add, in: [x, 1]}
      l: {gate: log, in: [x]}
      y: {gate: mul, in: [l, a]}
    outputs: [y]
    """
    plain = gatekit.loads(text, file="f.yaml").run()
    assert plain.outputs["y"] == -math.inf  # without the check, inf is a result
    with pytest.raises(RunError) as info:
        gatekit.loads(text, file="f.yaml").run(check_finite=True)
    assert str(info.value) == (
        "f.yaml:5:7: gate 'l' (log, plugin 'gatekit.gates.elementary:log') produced inf in the forward "
        "pass, from inputs (0.0)"
    )


def test_check_finite_names_a_gate_whose_gradient_is_not_finite() -> None:
    # sqrt(0) is 0, but its gradient 1 / (2 sqrt(0)) is inf
    circuit = gatekit.loads("inputs: {x: [4.0, 0.0]}\ngates:\n  s: {gate: sqrt, in: [x]}\noutputs: [s]")
    with pytest.raises(RunError, match=r"produced inf in the backward pass, in the gradient for input 0"):
        circuit.run(check_finite=True)
    assert circuit.run().grads["x"][1] == math.inf


def test_a_leaf_named_like_the_option_is_still_settable() -> None:
    circuit = gatekit.loads(
        "inputs: {check_finite: 1.0}\ngates:\n  y: {gate: neg, in: [check_finite]}\noutputs: [y]"
    )
    assert circuit.run({"check_finite": 5.0}).outputs["y"] == -5.0


def test_the_cli_option_reports_the_gate_and_exits_1(tmp_path, capsys) -> None:
    from gatekit.cli import main

    path = tmp_path / "f.yaml"
    path.write_text("inputs: {x: 1000.0}\ngates:\n  e: {gate: exp, in: [x]}\noutputs: [e]\n")
    assert main(["run", str(path)]) == 0
    capsys.readouterr()
    assert main(["run", str(path), "--check-finite"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: {path}:3:3: gate 'e' (exp, plugin 'gatekit.gates.elementary:exp') produced inf in the "
        "forward pass, from inputs (1000.0)\n"
    )


# -- gates get read-only arrays: an in-place write fails at once, named -----------------------


class InPlace(gatekit.SpecGate):
    """Writes into what it was given, in the hook its ``where`` names."""

    def __init__(self, where: str) -> None:
        self.where = where

    @property
    def spec(self) -> GateSpec:
        return GateSpec(f"inplace_{self.where}", 1, "doubles its input where it should not")

    @hookimpl
    def gate_forward(self, inputs):
        (a,) = inputs
        if self.where == "forward":
            a *= 2.0
            return a
        return a * 2.0

    @hookimpl
    def gate_local_grad(self, inputs, output):
        (a,) = inputs
        if self.where == "backward":
            np.add(a, 1.0, out=a)
        return (2.0,)


@pytest.fixture(scope="module")
def in_place() -> GateRegistry:
    pm = plugin_manager(autoload=False)
    for where in ("forward", "backward"):
        pm.register(InPlace(where), name=f"inplace:{where}")
    return GateRegistry.from_manager(pm)


@pytest.mark.parametrize(("where", "hook"), [("forward", "gate_forward"), ("backward", "gate_local_grad")])
def test_a_gate_that_writes_into_its_input_fails_at_once(
    in_place: GateRegistry, where: str, hook: str
) -> None:
    gates = f"  y: {{gate: inplace_{where}, in: [x]}}\n  z: {{gate: neg, in: [x]}}\n"
    circuit = gatekit.loads(f"inputs: {{x: [1.0, 2.0]}}\ngates:\n{gates}outputs: [y, z]", registry=in_place)
    mine = np.array([3.0, 4.0])
    for values in ({}, {"x": mine}):
        with pytest.raises(RunError) as info:
            circuit.run(values)
        assert info.value.message.startswith(
            f"gate 'y' (inplace_{where}, plugin 'inplace:{where}') failed in {hook}: "
        )
        assert "read-only" in info.value.message
    assert mine.tolist() == [3.0, 4.0]  # the caller's array: untouched, flags included
    assert mine.flags.writeable
    assert circuit.plan.initial[circuit.plan.leaves["x"]].tolist() == [1.0, 2.0]  # the file's value too


def test_a_result_never_hands_out_an_array_a_later_run_reuses() -> None:
    circuit = gatekit.loads("inputs: {x: [1.0, 2.0]}\ngates:\n  y: {gate: square, in: [x]}\noutputs: [y]")
    first = circuit.run()
    with pytest.raises(ValueError, match="read-only"):
        first.values["x"][0] = 99.0  # the circuit's own leaf value, used by every run
    second = circuit.run()
    assert second.outputs["y"].tolist() == [1.0, 4.0]
    grads = first.grads["x"]
    grads *= 0.5  # gradients are the result's own, and writable
    assert second.grads["x"].tolist() == [2.0, 4.0]


# -- plugin faults that used to escape: each one message, naming the gate --------------------

ROGUES = '''
import os
import signal

import numpy as np

import gatekit
from gatekit import GateSpec, SpecGate, hookimpl


class Rogue(SpecGate):
    """Forward returns what ``behaviour`` says, from call number ``after`` on (counting from 1)."""

    behaviour = "fine"
    after = 1

    def __init__(self):
        self.calls = 0

    @hookimpl
    def gate_forward(self, inputs):
        self.calls += 1
        (a,) = inputs
        if self.calls < self.after:
            return a * 1.0
        if self.behaviour == "none":
            return None
        if self.behaviour == "float32":
            return np.float32(1.0)
        if self.behaviour == "int64-array":
            return np.asarray(a, dtype=np.int64) if np.ndim(a) else np.int64(1)
        if self.behaviour == "text-array":
            return np.array(["a", "b"])
        if self.behaviour == "exit":
            raise SystemExit(3)
        if self.behaviour == "interrupt":
            raise KeyboardInterrupt
        if self.behaviour == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
        if self.behaviour == "odd":
            raise Odd()
        return a * 1.0

    @hookimpl
    def gate_local_grad(self, inputs, output):
        return (1.0,)


class Odd(Exception):
    def __str__(self):
        raise RuntimeError("no message today")


def rogue(name, behaviour, after=1):
    fields = {"spec": GateSpec(name, 1, behaviour), "behaviour": behaviour, "after": after}
    return type(name, (Rogue,), fields)


Later = rogue("later", "none", after=2)  # fine on its first call, None on its second
Float32 = rogue("float32", "float32")
Int64 = rogue("int64", "int64-array")
Text = rogue("text", "text-array")
Exits = rogue("exits", "exit")
Interrupts = rogue("interrupts", "interrupt")
Sigterm = rogue("sigterm", "sigterm")
Odd_ = rogue("odd", "odd")

gatekit_register_gates = gatekit.collect_gates(__name__)
'''


@pytest.fixture
def rogues(tmp_path):
    path = tmp_path / "gk_rogues.py"
    path.write_text(ROGUES, encoding="utf-8")
    return str(path)


def one_line(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    [line] = captured.err.splitlines()
    return line


@pytest.mark.parametrize("command", ["run", "explain", "check"])
def test_a_gate_that_goes_wrong_on_a_later_call_is_the_one_named(rogues, write_yaml, command, capsys) -> None:
    from gatekit.cli import main

    path = write_yaml(
        "inputs: {x: 2.0}\ngates:\n  r: {gate: later, in: [x]}\n  y: {gate: square, in: [r]}\noutputs: [y]\n"
    )
    args = [command, "-p", rogues, str(path)]
    if command != "check":  # one call each: run and explain record the same run, calling each hook once
        assert main(args) == 0
        capsys.readouterr()
        return
    assert main(args) == 1
    line = one_line(capsys)
    assert line.startswith(f"error: {path}:3:3: gate 'r' (later, plugin ")
    assert line.endswith(
        "returned None from gate_forward; a gate returns float64: a number or a float64 array"
    )


@pytest.mark.parametrize(
    ("gate", "x", "returned"),
    [
        ("float32", "2.0", "a NumPy float32 scalar"),
        ("int64", "[1.0, 2.0]", "an array of dtype int64"),
        ("text", "[1.0, 2.0]", "an array of dtype <U1"),
    ],
)
def test_a_gate_that_returns_no_float64_is_named(rogues, write_yaml, gate, x, returned, capsys) -> None:
    from gatekit.cli import main

    path = write_yaml(f"inputs: {{x: {x}}}\ngates:\n  y: {{gate: {gate}, in: [x]}}\noutputs: [y]\n")
    assert main(["run", "-p", rogues, str(path), "--json"]) == 1
    assert one_line(capsys).endswith(
        f"gate 'y' ({gate}, plugin '{rogues}:{gate}') returned {returned} from gate_forward; "
        "a gate returns float64: a number or a float64 array"
    )


@pytest.mark.parametrize(
    ("gate", "code", "tail"),
    [
        ("exits", 1, "failed in gate_forward: SystemExit: 3"),
        ("odd", 1, "failed in gate_forward: Odd (its message could not be shown: RuntimeError)"),
        ("interrupts", 130, None),
        ("sigterm", 143, None),
    ],
)
def test_a_hook_that_exits_interrupts_or_cannot_say_why_ends_in_one_line(
    rogues, write_yaml, gate, code, tail, capsys
) -> None:
    from gatekit.cli import main

    path = write_yaml(f"inputs: {{x: 2.0}}\ngates:\n  y: {{gate: {gate}, in: [x]}}\noutputs: [y]\n")
    assert main(["run", "-p", rogues, str(path)]) == code
    line = one_line(capsys)
    if code == 130:
        assert line == "error: interrupted"
    elif code == 143:
        assert line == "error: stopped by SIGTERM"
    else:
        assert line.startswith(f"error: {path}:3:3: gate 'y' ({gate}, plugin ") and line.endswith(tail)


def test_an_attribute_check_that_breaks_is_the_plugin_s_fault(write_yaml) -> None:
    def picky(value: object) -> float:
        if value == 5.0:
            raise KeyError("five")  # not a ValueError: a bug in the check, not a bad value
        return float(value)  # type: ignore[arg-type]

    class Scaled(gatekit.SpecGate):
        spec = GateSpec("scaled", 1, "k * a", attrs={"k": gatekit.Attr(1.0, "the scale", check=picky)})

        @hookimpl
        def gate_forward(self, inputs, attrs):
            return attrs["k"] * inputs[0]

        @hookimpl
        def gate_local_grad(self, inputs, output, attrs):
            return (attrs["k"],)

    pm = plugin_manager(autoload=False)
    pm.register(Scaled(), name="scaled")
    registry = GateRegistry.from_manager(pm)
    text = "inputs: {x: 2.0}\ngates:\n  y: {gate: scaled, in: [x], attrs: {k: 5}}\noutputs: [y]\n"
    with pytest.raises(gatekit.PluginError) as info:
        gatekit.loads(text, registry=registry)
    assert str(info.value) == (
        "<string>:3:41: the check of attribute 'k' of gate scaled (plugin 'scaled', not installed (-p)) "
        "raised KeyError: 'five'"
    )


def test_an_attribute_check_that_breaks_on_its_default_keeps_the_gate_out() -> None:
    def broken(value: object) -> object:
        raise ZeroDivisionError("always")

    spec = GateSpec("broken", 1, "x", attrs={"k": gatekit.Attr(1.0, "k", check=broken)})
    assert spec.problems() == ["attribute 'k': its check raised ZeroDivisionError: always on the default 1.0"]


def test_what_a_plugin_says_cannot_reach_the_terminal_raw(write_yaml, tmp_path, capsys) -> None:
    from gatekit.cli import main

    plugin = tmp_path / "gk_shouty.py"
    plugin.write_text(
        "import gatekit\n\n\nclass Shouty(gatekit.SpecGate):\n"
        "    spec = gatekit.GateSpec('shouty', 1, 'x')\n\n"
        "    @gatekit.hookimpl\n    def gate_forward(self, inputs):\n"
        "        raise ValueError('\\x1b[2J\\x1b[31mall gone\\rok')\n\n"
        "    @gatekit.hookimpl\n    def gate_local_grad(self, inputs, output):\n        return (1.0,)\n\n\n"
        "gatekit_register_gates = gatekit.collect_gates(__name__)\n"
    )
    path = write_yaml("inputs: {x: 2.0}\ngates:\n  y: {gate: shouty, in: [x]}\noutputs: [y]\n")
    assert main(["run", "-p", str(plugin), str(path)]) == 1
    line = one_line(capsys)
    assert line.endswith("ValueError: \\x1b[2J\\x1b[31mall gone\\rok")
    assert "\x1b" not in line and "\r" not in line
