"""Every error a user can cause, through the Python API: its type, where it points, what it says.

Locations are 1-based and point at the offending YAML node: the key that is
unknown or duplicated, the value that is not a number, the reference that
names nothing.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
from bad_circuits import BAD_CIRCUITS, FILE

import gatekit
from gatekit import CycleError, GatekitError, GraphError, LoadError, PluginError, RunError, UsageError
from gatekit.plugin.registry import GateRegistry, plugin_manager

NEURON = Path(__file__).resolve().parent.parent / "graphs" / "neuron.yaml"


def refusal(text: str, error: type[GatekitError] = GatekitError) -> GatekitError:
    with pytest.raises(error) as info:
        gatekit.loads(textwrap.dedent(text), file=FILE)
    return info.value


def registry_with(*plugins: str) -> GateRegistry:
    return GateRegistry.from_manager(plugin_manager(plugins=plugins, autoload=False))


@pytest.mark.parametrize(("text", "error", "line", "column", "words"), BAD_CIRCUITS)
def test_bad_circuit_is_refused_at_the_offending_node(text, error, line, column, words):
    err = refusal(text)
    assert type(err) is error
    assert err.exit_code == 2
    assert err.location == gatekit.Location(FILE, line, column)
    for word in words:
        assert word in err.message
    assert str(err) == f"{FILE}:{line}:{column}: {err.message}"


def test_unknown_gate_far_from_any_lists_the_installed_gates():
    err = refusal(
        """\
        inputs: {x: 1}
        gates:
          y: {gate: zzqqxx, in: [x]}
        outputs: [y]
        """,
        GraphError,
    )
    assert err.location == gatekit.Location(FILE, 3, 13)
    assert "did you mean" not in err.message
    installed = ", ".join(sorted(gatekit.default_registry()))
    assert err.message == f"unknown gate 'zzqqxx' (installed gates: {installed})"
    assert {"add", "mul", "exp", "leaky_relu"} <= set(gatekit.default_registry())


def test_python_tag_is_never_constructed(tmp_path):
    marker = tmp_path / "constructed"
    text = f"inputs:\n  x: !!python/object/apply:os.system ['touch {marker}']\noutputs: [x]\n"
    err = refusal(text, LoadError)
    assert err.location == gatekit.Location(FILE, 2, 6)
    assert "is not allowed in a circuit file" in err.message
    assert not marker.exists()


@pytest.mark.parametrize(("written", "value"), [("-.inf", -math.inf), ("!!float inf", math.inf)])
def test_infinity_written_as_such_is_still_a_number(written, value):
    circuit = gatekit.loads(f"inputs:\n  x: {written}\noutputs: [x]\n")
    assert circuit.run().outputs["x"] == value


# -- cycles ----------------------------------------------------------------------

CYCLES = [
    pytest.param(
        """\
        inputs: {x: 1}
        gates:
          a: {gate: mul, in: [x, b]}
          b: {gate: neg, in: [a]}
        outputs: [b]
        """,
        ["a", "b"],
        4,
        23,
        id="two-gates",
    ),
    pytest.param(
        # starts at c, the first node of the cycle in the file, whatever the search order
        """\
        inputs: {x: 1}
        gates:
          top: {gate: neg, in: [b]}
          c: {gate: neg, in: [b]}
          a: {gate: neg, in: [c]}
          b: {gate: mul, in: [x, a]}
        outputs: [top]
        """,
        ["c", "a", "b"],
        5,
        23,
        id="three-gates-first-defined-first",
    ),
    pytest.param(
        """\
        inputs: {x: 1}
        gates:
          a: {gate: mul, in: [x, a]}
        outputs: [a]
        """,
        ["a"],
        3,
        26,
        id="self-loop",
    ),
]


@pytest.mark.parametrize(("text", "cycle", "line", "column"), CYCLES)
def test_cycle_is_named_and_located(text, cycle, line, column):
    err = refusal(text, CycleError)
    assert err.cycle == cycle
    assert err.message == "the circuit has a cycle: " + " -> ".join([*cycle, cycle[0]])
    assert err.location == gatekit.Location(FILE, line, column)
    assert isinstance(err, GraphError)
    assert err.exit_code == 2


# -- aliases that would blow up if expanded ------------------------------------------


def test_billion_laughs_is_refused_at_the_first_alias(billion_laughs):
    err = refusal(billion_laughs, LoadError)
    assert err.location == gatekit.Location(FILE, 3, 9)
    assert "YAML aliases (*name) are not allowed" in err.message


@pytest.mark.parametrize(
    "use",
    [
        "gates:\n  y: {gate: neg, in: [lol9]}\noutputs: [y]\n",
        "gates:\n  y: {gate: leaky_relu, in: [lol0], attrs: {slope: *a9}}\noutputs: [y]\n",
        "outputs: *a9\n",
    ],
    ids=["as-leaves", "as-attr", "as-outputs"],
)
def test_billion_laughs_does_not_hang(write_yaml, billion_laughs, use):
    # No timing: were the aliases expanded, this would not finish.
    text = billion_laughs.split("gates:")[0] + use
    with pytest.raises(LoadError):
        gatekit.load(write_yaml(text))


# -- files -------------------------------------------------------------------------


def test_non_utf8_file_points_at_the_bad_byte(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("inputs:\n  x: 1\n  été: 2\noutputs: [x]\n".encode("latin-1"))
    with pytest.raises(LoadError) as info:
        gatekit.load(path)
    assert info.value.location == gatekit.Location(str(path), 3, 3)
    assert info.value.message == "the file is not UTF-8 text (byte 0xe9)"


@pytest.mark.parametrize("name", ["missing.yaml", "."], ids=["missing", "directory"])
def test_unreadable_file(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(LoadError) as info:
        gatekit.load(path)
    assert info.value.location == gatekit.Location(str(path))  # the whole file: no line
    assert info.value.message.startswith("cannot read the file: ")
    assert str(info.value).startswith(f"{path}: cannot read the file: ")
    assert info.value.exit_code == 2


def test_empty_file_on_disk(write_yaml):
    path = write_yaml("")
    with pytest.raises(LoadError) as info:
        gatekit.load(path)
    assert info.value.location == gatekit.Location(str(path), 1, 1)
    assert info.value.message == "the file is empty"


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfinputs: {x: 2.5}\noutputs: [x]\n")
    assert gatekit.load(path).run().outputs == {"x": 2.5}


# -- a gate that fails while running -------------------------------------------------


@pytest.mark.usefixtures("importable_plugins")
@pytest.mark.parametrize(
    ("gate", "words"),
    [
        ("boom", ["(boom, plugin 'gk_boom:boom')", "failed in gate_forward", "ZeroDivisionError: kaboom"]),
        (
            "boom_grad",
            ["(boom_grad, plugin 'gk_boom:boom_grad')", "failed in gate_local_grad", "RuntimeError"],
        ),
    ],
    ids=["forward", "gradient"],
)
def test_gate_that_raises_gives_run_error(gate, words):
    text = f"inputs:\n  x: 1.0\ngates:\n  y: {{gate: {gate}, in: [x]}}\noutputs: [y]\n"
    circuit = gatekit.loads(text, file=FILE, registry=registry_with("gk_boom"))
    with pytest.raises(RunError) as info:
        circuit.run()
    err = info.value
    assert err.exit_code == 1
    assert err.node == "y"
    assert err.location == gatekit.Location(FILE, 4, 3)
    assert err.message.startswith("gate 'y' ")
    for word in words:
        assert word in err.message
    assert err.__cause__ is not None  # the plugin's own exception stays attached


# -- broken plugins --------------------------------------------------------------------


@pytest.mark.usefixtures("importable_plugins")
def test_gate_name_claimed_twice_names_both_plugins():
    with pytest.raises(PluginError) as info:
        registry_with("gk_dup_mul")
    message = info.value.message
    assert "gate name 'mul' is claimed twice" in message
    assert "plugin 'gatekit.gates.arithmetic:mul'" in message
    assert "plugin 'gk_dup_mul:mul'" in message


@pytest.mark.usefixtures("importable_plugins")
@pytest.mark.parametrize(
    ("plugin", "words"),
    [
        ("gk_bad_hook", ["plugin 'gk_bad_hook:bad'", "gate_forward", "inputz"]),
        ("gk_bad_register", ["plugin 'gk_bad_register'", "gatekit_register_gates", "registry"]),
        ("gk_no_such_module", ["cannot import plugin 'gk_no_such_module'", "ModuleNotFoundError"]),
    ],
    ids=["gate-hook-argument", "register-hook-argument", "not-importable"],
)
def test_broken_plugin_gives_plugin_error(plugin, words):
    with pytest.raises(PluginError) as info:
        registry_with(plugin)
    assert info.value.exit_code == 2
    for word in words:
        assert word in info.value.message


# -- overrides through the API -----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"nope": 1.0}, ["no input or param named 'nope'", "(known: x0, x1, w0, w1, w2)"]),
        ({"x0": "abc"}, ["the value for 'x0' must be a number or an array of numbers"]),
        ({"x0": True}, ["the value for 'x0' must be a number, got a boolean"]),
    ],
    ids=["unknown-leaf", "text", "boolean"],
)
def test_bad_override_gives_usage_error(overrides, words):
    circuit = gatekit.load(NEURON)
    with pytest.raises(UsageError) as info:
        circuit.run(**overrides)
    assert info.value.exit_code == 2
    for word in words:
        assert word in info.value.message
