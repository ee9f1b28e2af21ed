"""What a gate author builds with: a spec's notation, SpecGate, collect_gates; what registration refuses."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

import gatekit
from gatekit import GateSpec, SpecGate, hookimpl
from gatekit.plugin.registry import GateRegistry, gate_from_object, plugin_manager

# -- notation: how drawings and explanations write a gate ------------------------------


@pytest.mark.parametrize(
    ("spec", "inputs", "written", "drawn"),
    [
        (
            GateSpec("add", 2, "a + b", variadic=True, symbol="+", infix=True),
            ["a", "b", "c"],
            "a + b + c",
            "+",
        ),
        (GateSpec("neg", 1, "-a", symbol="-x", prefix="-"), ["z"], "-(z)", "-x"),
        (GateSpec("square", 1, "a * a", symbol="x²"), ["z"], "square(z)", "x²"),
        (GateSpec("exp", 1, "e ** a"), ["z"], "exp(z)", "exp"),
    ],
    ids=["infix", "prefix", "symbol-only", "plain"],
)
def test_a_spec_says_how_its_gate_is_written_and_drawn(
    spec: GateSpec, inputs: list[str], written: str, drawn: str
) -> None:
    assert spec.problems() == []
    assert spec.written(inputs) == written
    assert spec.drawn == drawn


def test_a_gate_with_settings_is_written_as_a_function_so_none_is_lost() -> None:
    spec = GateSpec("mul", 2, "a * b", symbol="*", infix=True)
    assert spec.written(["a", "b"], ["k=2"]) == "mul(a, b, k=2)"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"infix": True}, "an infix gate needs a symbol to write between its inputs"),
        ({"symbol": "+", "infix": True, "prefix": "-"}, "a gate is written infix or with a prefix, not both"),
        ({"prefix": "1/", "arity": 2}, "only a gate of one input can be written with a prefix"),
        ({"symbol": "a\nb"}, "symbol must be one line of text, got 'a\\nb'"),
        ({"prefix": 3}, "prefix must be one line of text, got 3"),
        ({"infix": "yes"}, "infix must be True or False, got 'yes'"),
    ],
)
def test_a_notation_that_cannot_be_written_is_refused(fields: dict[str, Any], problem: str) -> None:
    arity = fields.pop("arity", 1)
    assert problem in GateSpec("g", arity, "a gate", **fields).problems()


def test_a_plugin_gate_draws_with_its_own_symbol(tmp_path: Any) -> None:
    from gatekit.views import draw

    class Cube(SpecGate):
        spec = GateSpec("cube", 1, "a ** 3", symbol="x³", prefix="cube")

        @hookimpl
        def gate_forward(self, inputs: Any) -> Any:
            return inputs[0] ** 3

        @hookimpl
        def gate_local_grad(self, inputs: Any, output: Any) -> Any:
            return (3.0 * inputs[0] ** 2,)

    pm = plugin_manager(autoload=False)
    pm.register(Cube(), name="cube")
    registry = GateRegistry.from_manager(pm)
    circuit = gatekit.loads(
        "inputs: {x: 2.0}\ngates:\n  y: {gate: cube, in: [x]}\noutputs: [y]", registry=registry
    )
    text = draw.to_dot(circuit)
    assert '"y" [shape=circle, label=<<font point-size="16">x³</font>' in text
    from gatekit.views.explain import explain_lines
    from gatekit.views.trace import trace

    assert any("cube(x=2)" in line for line in explain_lines(circuit, trace(circuit)))


# -- SpecGate and collect_gates ----------------------------------------------------------


def make_module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, name, "exec"), vars(module))
    return module


GATES_SOURCE = """
from gatekit import GateSpec, SpecGate, collect_gates, hookimpl
from gatekit.gates.arithmetic import Add  # imported, not defined here: not collected


class Base(SpecGate):  # no spec of its own: a base for others, not collected
    @hookimpl
    def gate_forward(self, inputs):
        return inputs[0]

    @hookimpl
    def gate_local_grad(self, inputs, output):
        return (1.0,)


class Second(Base):
    spec = GateSpec("second", 1, "defined first, listed first")


class First(Base):
    spec = GateSpec("first", 1, "defined second, listed second")


gatekit_register_gates = collect_gates(__name__)
"""


def test_collect_gates_finds_the_module_s_own_gate_classes_in_order() -> None:
    module = make_module("gk_collected", GATES_SOURCE)
    try:
        assert [gate.spec.name for gate in module.gatekit_register_gates()] == ["second", "first"]
        registry = GateRegistry.from_manager(plugin_manager(plugins=["gk_collected"], autoload=False))
        assert {"first", "second"} <= set(registry)
    finally:
        del sys.modules["gk_collected"]


def test_every_built_in_module_registers_every_gate_class_it_defines() -> None:
    from gatekit.plugin.registry import default_plugins

    registry = gatekit.default_registry(autoload=False)
    for name in default_plugins:
        module = sys.modules[name]
        classes = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, SpecGate)]
        defined = {kind.spec.name for kind in classes if kind.__module__ == name and "spec" in vars(kind)}
        assert defined and defined <= set(registry), name


# -- what registration refuses, in one message ---------------------------------------------


class Raising(SpecGate):
    spec = GateSpec("raising", 1, "x")

    @hookimpl
    def gate_spec(self) -> GateSpec:
        raise RuntimeError("no spec today")

    @hookimpl
    def gate_forward(self, inputs: Any) -> Any:
        return inputs[0]

    @hookimpl
    def gate_local_grad(self, inputs: Any, output: Any) -> Any:
        return (1.0,)


def test_a_gate_spec_that_raises_is_one_message() -> None:
    with pytest.raises(gatekit.PluginError) as info:
        gate_from_object(Raising())
    assert info.value.message.endswith("gate_spec raised RuntimeError: no spec today")


def test_a_spec_property_that_raises_is_one_message() -> None:
    class Gate:
        @property
        def gate_spec(self) -> Any:
            raise KeyError("spec")

    def register() -> list[object]:
        return [Gate()]

    plugin = types.SimpleNamespace(gatekit_register_gates=hookimpl(register))
    pm = plugin_manager(autoload=False)
    pm.register(plugin, name="props")
    with pytest.raises(gatekit.PluginError) as info:
        GateRegistry.from_manager(pm)
    assert info.value.message == (
        "plugin 'props' (not installed (-p)): reading gate_spec of Gate raised KeyError: 'spec'"
    )


def test_a_register_hook_that_returns_no_list_is_one_message() -> None:
    plugin = types.SimpleNamespace(gatekit_register_gates=hookimpl(lambda: 42))
    pm = plugin_manager(autoload=False)
    pm.register(plugin, name="answer")
    with pytest.raises(gatekit.PluginError, match="gatekit_register_gates returned int, not a list of gates"):
        GateRegistry.from_manager(pm)


def test_a_method_of_its_own_that_looks_like_no_hook_is_left_alone() -> None:
    class Helper(SpecGate):
        spec = GateSpec("helper", 1, "x")

        def gate_parts(self, a: float) -> float:  # the author's own helper, far from every hook name
            return a

        @hookimpl
        def gate_forward(self, inputs: Any) -> Any:
            return self.gate_parts(inputs[0])

        @hookimpl
        def gate_local_grad(self, inputs: Any, output: Any) -> Any:
            return (1.0,)

    assert gate_from_object(Helper()).name == "helper"
