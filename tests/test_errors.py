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

import gatekit
from gatekit import CycleError, GatekitError, GraphError, LoadError, PluginError, RunError, UsageError
from gatekit.plugin.registry import GateRegistry, plugin_manager

FILE = "g.yaml"
NEURON = Path(__file__).resolve().parent.parent / "graphs" / "neuron.yaml"


def bad(case: str, text: str, where: str, *words: str, error: type = GraphError):
    """One bad circuit: the error it raises, at ``where`` (``"LINE:COLUMN"``), saying ``words``."""
    line, column = map(int, where.split(":"))
    return pytest.param(textwrap.dedent(text), error, line, column, words, id=case)


def refusal(text: str, error: type[GatekitError] = GatekitError) -> GatekitError:
    with pytest.raises(error) as info:
        gatekit.loads(textwrap.dedent(text), file=FILE)
    return info.value


def registry_with(*plugins: str) -> GateRegistry:
    return GateRegistry.from_manager(plugin_manager(plugins=plugins, autoload=False))


BAD_CIRCUITS = [
    # -- not well-formed YAML, or no document at all --------------------------
    bad(
        "yaml-unclosed-list",
        """\
        inputs:
          x: [1, 2
        outputs: [x]
        """,
        "3:8",
        "invalid YAML",
        "flow sequence",
        "did not find expected ',' or ']'",
        error=LoadError,
    ),
    bad(
        "yaml-mapping-in-value",
        """\
        inputs:
          x: 1: 2
        outputs: [x]
        """,
        "2:7",
        "invalid YAML",
        "mapping values are not allowed",
        error=LoadError,
    ),
    bad("yaml-tab-indent", "inputs:\n\tx: 1\noutputs: [x]\n", "2:1", "invalid YAML", error=LoadError),
    bad(
        "two-documents",
        """\
        inputs: {x: 1}
        outputs: [x]
        ---
        inputs: {y: 2}
        """,
        "3:1",
        "invalid YAML",
        "single document",
        error=LoadError,
    ),
    bad("empty-file", "", "1:1", "the file is empty", error=LoadError),
    bad("only-comments", "# nothing here\n", "1:1", "the file is empty", error=LoadError),
    # -- the top level ----------------------------------------------------------
    bad("top-level-list", "- x\n- y\n", "1:1", "a circuit file must be a mapping, got a list"),
    bad("top-level-text", "just text\n", "1:1", "must be a mapping, got the text 'just text'"),
    bad(
        "unknown-top-level-key",
        """\
        inputs: {x: 1}
        outputs: [x]
        output: [x]
        """,
        "3:1",
        "unknown top-level key 'output'",
        "expected one of: gatekit, name, doc, requires, imports, modules, inputs, params, gates, outputs",
    ),
    bad(
        "format-version-2",
        """\
        gatekit: 2
        inputs: {x: 1}
        outputs: [x]
        """,
        "1:10",
        "unsupported format version 2",
        "reads version 1",
    ),
    bad(
        "format-version-text",
        """\
        gatekit: one
        inputs: {x: 1}
        outputs: [x]
        """,
        "1:10",
        "the format version (gatekit:) must be a number",
        "got the text 'one'",
    ),
    bad(
        "section-not-a-mapping",
        """\
        inputs: {x: 1}
        gates: [y]
        outputs: [x]
        """,
        "2:8",
        "'gates:' must be a mapping, got a list",
    ),
    # -- duplicate keys: an error, never a silent overwrite ---------------------
    bad(
        "duplicate-top-level-key",
        """\
        inputs: {x: 1}
        inputs: {y: 2}
        outputs: [x]
        """,
        "2:1",
        "duplicate key 'inputs' in a circuit file",
        "first at line 1, column 1",
    ),
    bad(
        "duplicate-input",
        """\
        inputs:
          x: 1
          x: 2
        outputs: [x]
        """,
        "3:3",
        "duplicate key 'x' in 'inputs:'",
        "first at line 2, column 3",
    ),
    bad(
        "duplicate-gate",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [x]}
          y: {gate: exp, in: [x]}
        outputs: [y]
        """,
        "4:3",
        "duplicate key 'y' in 'gates:'",
        "first at line 3, column 3",
    ),
    bad(
        "duplicate-key-in-gate",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [x], gate: exp}
        outputs: [y]
        """,
        "3:27",
        "duplicate key 'gate' in gate 'y'",
        "first at line 3, column 7",
    ),
    bad(
        "duplicate-attr",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: 0.1, slope: 0.2}}
        outputs: [y]
        """,
        "3:54",
        "duplicate key 'slope' in 'attrs:' of gate 'y'",
        "first at line 3, column 42",
    ),
    # -- names ------------------------------------------------------------------
    bad(
        "name-in-inputs-and-gates",
        """\
        inputs: {x: 1}
        gates:
          x: {gate: neg, in: [x]}
        outputs: [x]
        """,
        "3:3",
        "'x' is defined twice",
        "first at line 1, column 10",
    ),
    bad(
        "name-in-inputs-and-params",
        """\
        inputs: {x: 1}
        params:
          x: 2
        outputs: [x]
        """,
        "3:3",
        "'x' is defined twice",
        "first at line 1, column 10",
    ),
    bad(
        "name-starts-with-digit",
        """\
        inputs:
          1abc: 1
        outputs: [x]
        """,
        "2:3",
        "invalid name '1abc' in inputs",
        "starts with a letter or _",
    ),
    bad(
        "name-with-dash",
        """\
        inputs: {x: 1}
        gates:
          a-b: {gate: neg, in: [x]}
        outputs: [x]
        """,
        "3:3",
        "invalid name 'a-b' in gates",
        "only letters, digits and _",
    ),
    bad(
        "key-not-text",
        "inputs: {[1]: 1}\noutputs: [x]\n",
        "1:10",
        "keys of 'inputs:' must be text, got a list",
    ),
    # -- gates: their keys, their gate, their inputs, their attrs ----------------
    bad(
        "unknown-key-in-gate",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [x], bogus: 1}
        outputs: [y]
        """,
        "3:27",
        "unknown key 'bogus' in gate 'y'",
        "expected one of: gate, in, attrs",
    ),
    bad(
        "gate-missing-gate",
        """\
        inputs: {x: 1}
        gates:
          y: {in: [x]}
        outputs: [y]
        """,
        "3:3",
        "gate 'y' has no 'gate:'",
    ),
    bad(
        "gate-missing-in",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg}
        outputs: [y]
        """,
        "3:3",
        "gate 'y' has no 'in:'",
    ),
    bad(
        "gate-not-a-mapping",
        """\
        inputs: {x: 1}
        gates:
          y: [neg, x]
        outputs: [y]
        """,
        "3:6",
        "gate 'y' must be a mapping, got a list",
    ),
    bad(
        "in-not-a-list",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: x}
        outputs: [y]
        """,
        "3:22",
        "'in:' of gate 'y' must be a list, got the text 'x'",
    ),
    bad(
        "unknown-gate-close-to-mul",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: mull, in: [x, x]}
        outputs: [y]
        """,
        "3:13",
        "unknown gate 'mull'",
        "(did you mean 'mul' or 'matmul'?)",
    ),
    bad(
        "fixed-arity-too-many",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: exp, in: [x, x]}
        outputs: [y]
        """,
        "3:22",
        "gate 'y' (exp) takes 1 input, got 2",
    ),
    bad(
        "fixed-arity-too-few",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: sub, in: [x]}
        outputs: [y]
        """,
        "3:22",
        "gate 'y' (sub) takes 2 inputs, got 1",
    ),
    bad(
        "variadic-one-input",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: add, in: [x]}
        outputs: [y]
        """,
        "3:22",
        "gate 'y' (add) takes 2 or more inputs, got 1",
    ),
    bad(
        "unknown-attr",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slop: 0.1}}
        outputs: [y]
        """,
        "3:42",
        "gate leaky_relu has no attribute 'slop'",
        "(accepted: slope)",
    ),
    bad(
        "invalid-attr-value",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: abc}}
        outputs: [y]
        """,
        "3:49",
        "attribute 'slope' of gate 'y' (leaky_relu)",
        "expected a number, got the text 'abc'",
    ),
    bad(
        "attr-value-boolean",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: true}}
        outputs: [y]
        """,
        "3:49",
        "attribute 'slope' of gate 'y' (leaky_relu)",
        "expected a number, got a boolean (True)",
    ),
    bad(
        "attr-value-null",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: null}}
        outputs: [y]
        """,
        "3:49",
        "attribute 'slope' of gate 'y' (leaky_relu)",
        "expected a number, got null",
    ),
    bad(
        "attr-value-list",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: [1, 2]}}
        outputs: [y]
        """,
        "3:49",
        "attribute 'slope' of gate 'y' (leaky_relu)",
        "expected a number, got a list",
    ),
    bad(
        "attrs-on-gate-without-attrs",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: exp, in: [x], attrs: {slope: 1}}
        outputs: [y]
        """,
        "3:35",
        "gate exp has no attribute 'slope'",
        "(accepted: none)",
    ),
    # -- references ---------------------------------------------------------------
    bad(
        "dangling-reference",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: mul, in: [x, z]}
        outputs: [y]
        """,
        "3:26",
        "gate 'y' takes 'z' as an input",
        "no input, param or gate has that name",
    ),
    bad(
        "dangling-reference-close-name",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [xx]}
        outputs: [y]
        """,
        "3:23",
        "gate 'y' takes 'xx' as an input",
        "(did you mean 'x'?)",
    ),
    bad(
        "bad-output-reference",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [x]}
        outputs: [yy]
        """,
        "4:11",
        "output 'yy' is not a node of this circuit",
        "(did you mean 'y'?)",
    ),
    bad("missing-outputs", "inputs:\n  x: 1\n", "1:1", "the circuit has no 'outputs:' list"),
    bad("empty-outputs", "inputs:\n  x: 1\noutputs: []\n", "3:10", "'outputs:' is empty"),
    bad("outputs-not-a-list", "inputs:\n  x: 1\noutputs: x\n", "3:10", "'outputs:' must be a list"),
    # -- leaf values ----------------------------------------------------------------
    bad(
        "leaf-text",
        "inputs:\n  x: abc\noutputs: [x]\n",
        "2:6",
        "input 'x' must be a number, got the text 'abc'",
    ),
    bad("leaf-quoted-number", "inputs:\n  x: '1.5'\noutputs: [x]\n", "2:6", "got the text '1.5'"),
    bad(
        "leaf-true",
        "inputs:\n  x: true\noutputs: [x]\n",
        "2:6",
        "input 'x' must be a number, got a boolean (true)",
    ),
    bad("leaf-null", "inputs:\n  x: null\noutputs: [x]\n", "2:6", "input 'x' must be a number, got null"),
    bad("leaf-missing-value", "inputs:\n  x:\noutputs: [x]\n", "2:5", "input 'x' must be a number, got null"),
    bad(
        "leaf-mapping",
        "inputs:\n  x: {a: 1}\noutputs: [x]\n",
        "2:6",
        "input 'x' must be a number, got a mapping",
    ),
    bad(
        "param-text",
        "params:\n  w: abc\noutputs: [w]\n",
        "2:6",
        "param 'w' must be a number, got the text 'abc'",
    ),
    bad(
        "item-not-a-number",
        "inputs:\n  x: [1, two]\noutputs: [x]\n",
        "2:10",
        "each item of input 'x' must be a number, got the text 'two'",
    ),
    bad(
        "ragged-rows",
        "inputs:\n  x: [[1, 2], [3]]\noutputs: [x]\n",
        "2:15",
        "input 'x' is a ragged list",
        "expected a list of 2 items",
    ),
    bad(
        "ragged-number-then-list",
        "inputs:\n  x: [1, [2]]\noutputs: [x]\n",
        "2:10",
        "input 'x' is a ragged list",
        "expected a number, got a list",
    ),
    bad(
        "ragged-list-then-number",
        "inputs:\n  x: [[1], 2]\noutputs: [x]\n",
        "2:12",
        "input 'x' is a ragged list",
        "got a number",
    ),
    bad("empty-list", "inputs:\n  x: []\noutputs: [x]\n", "2:6", "input 'x' contains an empty list"),
    bad(
        "empty-inner-lists",
        "inputs:\n  x: [[], []]\noutputs: [x]\n",
        "2:7",
        "input 'x' contains an empty list",
    ),
    # -- numbers too large for a float: an error, not a silent inf -------------------
    bad(
        "integer-of-401-digits",
        "inputs:\n  x: 1" + "0" * 400 + "\noutputs: [x]\n",
        "2:6",
        "the number 100000000000000000000000000000... (401 characters) is too large for a float",
    ),
    bad(
        "integer-of-5000-digits",  # beyond int()'s 4300-digit limit for text
        "inputs:\n  x: " + "9" * 5000 + "\noutputs: [x]\n",
        "2:6",
        "(5000 characters) is too large for a float",
    ),
    bad(
        "exponent-overflow",
        "inputs:\n  x: 1e400\noutputs: [x]\n",
        "2:6",
        "the number 1e400 is too large for a float",
    ),
    bad(
        "float-overflow",
        "inputs:\n  x: -1.5e+400\noutputs: [x]\n",
        "2:6",
        "the number -1.5e+400 is too large for a float",
    ),
    bad(
        "constant-overflow",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: mul, in: [x, 1e999]}
        outputs: [y]
        """,
        "3:26",
        "the number 1e999 is too large for a float",
    ),
    bad(
        "tagged-float-not-a-number",
        "inputs:\n  x: !!float abc\noutputs: [x]\n",
        "2:6",
        "'abc' is tagged as a number but is not a valid float",
    ),
    # -- YAML features a circuit file refuses: tags, aliases -------------------------
    bad(
        "python-object-tag",
        "inputs:\n  x: !!python/object:os.system ['echo']\noutputs: [x]\n",
        "2:6",
        "YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed",
        error=LoadError,
    ),
    bad(
        "custom-tag",
        "inputs:\n  x: !foo 1\noutputs: [x]\n",
        "2:6",
        "YAML tag '!foo' is not allowed",
        error=LoadError,
    ),
    bad(
        "custom-tag-on-root",
        "!foo {inputs: {x: 1}, outputs: [x]}\n",
        "1:1",
        "YAML tag '!foo' is not allowed",
        error=LoadError,
    ),
    bad(
        "custom-tag-on-key",
        "inputs:\n  !foo x: 1\noutputs: [x]\n",
        "2:3",
        "YAML tag '!foo' is not allowed",
        error=LoadError,
    ),
    bad(
        "alias-as-value",  # points at the key whose value is the alias
        """\
        inputs:
          x: &v 1
          y: *v
        outputs: [x]
        """,
        "3:3",
        "YAML aliases (*name) are not allowed",
        error=LoadError,
    ),
    bad(
        "alias-in-list",  # points at the list holding the alias
        """\
        inputs:
          x: &n 1
        gates:
          y: {gate: mul, in: [x, *n]}
        outputs: [y]
        """,
        "4:22",
        "YAML aliases (*name) are not allowed",
        error=LoadError,
    ),
]


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
            ["(boom_grad, plugin 'gk_boom:boom_grad')", "failed in its gradient hook", "RuntimeError"],
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
