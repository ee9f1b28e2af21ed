"""Composite gates: modules defined in a file or imported, nested, reused, and their errors."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

import gatekit
from gatekit import GraphError

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"
NEURON_GRADS = {
    "x0": 0.3932238664829637,
    "x1": -0.5898357997244456,
    "w0": -0.19661193324148185,
    "w1": -0.3932238664829637,
    "w2": 0.19661193324148185,
}

LOGISTIC = """
modules:
  logistic:
    inputs: [z]
    gates:
      n: {gate: mul, in: [z, -1]}
      e: {gate: exp, in: [n]}
      d: {gate: add, in: [e, 1]}
      out: {gate: reciprocal, in: [d]}
    outputs: [out]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def refused(path: Path) -> GraphError:
    with pytest.raises(GraphError) as info:
        gatekit.load(path)
    return info.value


def at(error: GraphError) -> tuple[str, int, int]:
    assert error.location is not None
    return (Path(error.location.file).name, error.location.line, error.location.column)


def test_the_neuron_from_library_modules_gives_the_seed_numbers() -> None:
    result = gatekit.load(GRAPHS / "neuron_modules.yaml").run()
    assert result.outputs["f"] == pytest.approx(0.7310585786300049, abs=1e-12)
    for name, expected in NEURON_GRADS.items():
        assert result.grads[name] == pytest.approx(expected, abs=1e-12)


def test_modules_expand_into_the_same_plan_as_the_circuit_written_out() -> None:
    modular = gatekit.load(GRAPHS / "neuron_modules.yaml")
    flat = gatekit.load(GRAPHS / "neuron.yaml")
    assert [step[0:2] for step in modular.plan.forward] == [step[0:2] for step in flat.plan.forward]
    assert len(modular.plan.backward) == len(flat.plan.backward)
    assert modular.run().grads == flat.run().grads  # the same gates in the same order: bit for bit


def test_expanded_names_show_where_each_gate_came_from() -> None:
    values = gatekit.load(GRAPHS / "neuron_modules.yaml").run().values
    assert list(values)[5:] == ["f", "f/wx0", "f/wx1", "f/dot", "f/out/n", "f/out/e", "f/out/d"]
    assert values["f/dot"] == 1.0


def test_a_module_used_twice_and_in_the_same_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "two.yaml",
        LOGISTIC
        + """
inputs: {a: 0.5, b: -2.0}
gates:
  sa: {gate: logistic, in: [a]}
  sb: {gate: logistic, in: [b]}
  y: {gate: mul, in: [sa, sb]}
outputs: [y]
""",
    )
    result = gatekit.load(path).run()

    def sigmoid(x: float) -> float:
        return 1.0 / (1.0 + math.exp(-x))

    assert result.outputs["y"] == pytest.approx(sigmoid(0.5) * sigmoid(-2.0), rel=1e-14)
    d = sigmoid(0.5) * (1 - sigmoid(0.5))
    assert result.grads["a"] == pytest.approx(d * sigmoid(-2.0), rel=1e-12)
    assert {"sa/n", "sb/n"} <= set(result.values)


def test_nested_modules_whose_names_clash_inside_stay_apart(tmp_path: Path) -> None:
    # outer's own gate n and the inner logistic's gate n must not collide
    path = write(
        tmp_path,
        "nested.yaml",
        LOGISTIC
        + """
  outer:
    inputs: [x]
    gates:
      n: {gate: square, in: [x]}
      out: {gate: logistic, in: [n]}
    outputs: [out]
inputs: {x: 0.3}
gates:
  y: {gate: outer, in: [x]}
outputs: [y]
""",
    )
    result = gatekit.load(path).run()
    s = 1.0 / (1.0 + math.exp(-0.09))
    assert result.outputs["y"] == pytest.approx(s, rel=1e-14)
    assert result.grads["x"] == pytest.approx(s * (1 - s) * 0.6, rel=1e-12)
    assert result.values["y/n"] == pytest.approx(0.09)
    assert result.values["y/out/n"] == pytest.approx(-0.09)


def test_imports_are_relative_to_the_importing_file(tmp_path: Path) -> None:
    write(tmp_path, "lib/act.yaml", LOGISTIC)
    write(
        tmp_path,
        "lib/more.yaml",
        """
        imports: [act.yaml]
        modules:
          double_logistic:
            inputs: [z]
            gates:
              a: {gate: logistic, in: [z]}
              out: {gate: logistic, in: [a]}
            outputs: [out]
        """,
    )
    path = write(
        tmp_path,
        "deep/c.yaml",
        """
        imports: [../lib/more.yaml, ../lib/act.yaml]
        inputs: {x: 0.0}
        gates:
          y: {gate: double_logistic, in: [x]}
        outputs: [y]
        """,
    )
    result = gatekit.load(path).run()
    assert result.outputs["y"] == pytest.approx(1.0 / (1.0 + math.exp(-0.5)), rel=1e-14)


# -- errors, each in the right file, at the right place --------------------------


def test_a_module_that_uses_itself_names_the_chain(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "loop.yaml",
        """
        modules:
          a:
            inputs: [x]
            gates:
              out: {gate: b, in: [x]}
            outputs: [out]
          b:
            inputs: [x]
            gates:
              out: {gate: a, in: [x]}
            outputs: [out]
        inputs: {x: 1.0}
        gates:
          y: {gate: a, in: [x]}
        outputs: [y]
        """,
    )
    error = refused(path)
    assert str(error).endswith("module 'a' uses itself: a -> b -> a")
    assert at(error) == ("loop.yaml", 5, 19)


def test_a_module_that_uses_itself_directly(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "self.yaml",
        """
        modules:
          a:
            inputs: [x]
            gates:
              out: {gate: a, in: [x]}
            outputs: [out]
        inputs: {x: 1.0}
        gates:
          y: {gate: a, in: [x]}
        outputs: [y]
        """,
    )
    error = refused(path)
    assert error.message == "module 'a' uses itself"
    assert at(error) == ("self.yaml", 5, 19)


@pytest.mark.parametrize(
    ("body", "where", "words"),
    [
        (
            "  y: {gate: logistic, in: [a, b]}",
            ("m.yaml", 12, 27),
            "gate 'y' uses module 'logistic', which takes 1 input (z), got 2",
        ),
        (
            "  y: {gate: logistic, in: [a], attrs: {k: 1}}",
            ("m.yaml", 12, 40),
            "gate 'y' uses module 'logistic', which takes no attrs",
        ),
    ],
    ids=["arity", "attrs"],
)
def test_a_bad_use_is_located_at_the_use(tmp_path: Path, body: str, where: tuple, words: str) -> None:
    path = write(
        tmp_path, "m.yaml", LOGISTIC + "inputs: {a: 1.0, b: 2.0}\ngates:\n" + body + "\noutputs: [y]\n"
    )
    error = refused(path)
    assert words in error.message
    assert at(error) == where


def test_a_dangling_name_inside_a_module_is_located_in_its_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "lib.yaml",
        """
        modules:
          bad:
            inputs: [z]
            gates:
              out: {gate: mul, in: [z, x]}
            outputs: [out]
        """,
    )
    path = write(
        tmp_path, "c.yaml", "imports: [lib.yaml]\ninputs: {x: 1.0}\ngates:\n  y: {gate: bad, in: [x]}\n"
    )
    path.write_text(path.read_text() + "outputs: [y]\n")
    error = refused(path)
    assert at(error) == ("lib.yaml", 5, 32)
    assert (
        "gate 'out' in module 'bad' takes 'x', which is not an input or gate of the module" in error.message
    )
    assert "(names inside a module are local to it; it has: z, out)" in error.message


@pytest.mark.parametrize(
    ("files", "where", "words"),
    [
        ({}, ("c.yaml", 1, 11), "cannot import 'missing.yaml': "),
        (
            {"missing.yaml": "inputs: {x: 1.0}\noutputs: [x]\n"},
            ("missing.yaml", 1, 1),
            "an imported file must be a module library, but it has 'inputs'",
        ),
        (
            {"missing.yaml": "imports: [c.yaml]\n"},
            ("missing.yaml", 1, 11),
            "import cycle: ",
        ),
        (
            {"missing.yaml": LOGISTIC.replace("logistic", "mul")},
            ("missing.yaml", 2, 3),
            "module 'mul' has the name of the gate 'mul' from plugin 'gatekit.gates.arithmetic:mul'",
        ),
        (
            {"missing.yaml": LOGISTIC.replace("logistic", "twin")},
            ("missing.yaml", 2, 3),
            "module 'twin' is defined twice: here and at ",
        ),
    ],
    ids=["missing", "not-a-library", "cycle", "shadows-a-gate", "defined-twice"],
)
def test_import_errors(tmp_path: Path, files: dict[str, str], where: tuple, words: str) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    path = write(
        tmp_path,
        "c.yaml",
        "imports: [missing.yaml]\n"
        + LOGISTIC.replace("logistic", "twin")
        + "inputs: {x: 1.0}\noutputs: [x]\n",
    )
    error = refused(path)
    assert words in error.message
    assert at(error) == where


def test_an_import_cycle_names_the_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "imports: [b.yaml]\n")
    write(tmp_path, "b.yaml", "imports: [a.yaml]\n")
    path = write(tmp_path, "c.yaml", "imports: [a.yaml]\ninputs: {x: 1.0}\noutputs: [x]\n")
    error = refused(path)
    assert error.message.startswith("import cycle: ")
    assert error.message.endswith(
        f"{Path('a.yaml')} -> {Path('b.yaml')} -> {Path('a.yaml')}".replace("a.yaml", "a.yaml")
    )
    assert at(error) == ("b.yaml", 1, 11)


@pytest.mark.parametrize(
    ("module", "where", "words"),
    [
        (
            "  m:\n    inputs: [z]\n    gates:\n      g: {gate: neg, in: [z]}\n    outputs: [z]\n",
            ("m.yaml", 6, 15),
            "the output of module 'm' must be one of its gates, not 'z'",
        ),
        (
            "  m:\n    inputs: [z]\n    gates:\n      g: {gate: neg, in: [z]}\n    outputs: [g, z]\n",
            ("m.yaml", 6, 14),
            "module 'm' must have exactly one output, got 2",
        ),
        (
            "  m:\n    gates:\n      g: {gate: neg, in: [z]}\n    outputs: [g]\n",
            ("m.yaml", 2, 3),
            "module 'm' has no 'inputs:'",
        ),
        (
            "  m:\n    inputs: [z]\n    gates:\n      g: {gate: neg, in: [z]}\n",
            ("m.yaml", 2, 3),
            "module 'm' has no 'outputs:'",
        ),
        (
            "  m:\n    inputs: [z]\n    outputs: [z]\n    extra: 1\n",
            ("m.yaml", 5, 5),
            "unknown key 'extra' in module 'm'",
        ),
        (
            "  m:\n    inputs: [z, z]\n    outputs: [z]\n",
            ("m.yaml", 3, 17),
            "'z' is defined twice",
        ),
    ],
    ids=["output-not-a-gate", "two-outputs", "no-inputs", "no-outputs", "unknown-key", "input-twice"],
)
def test_a_malformed_module_is_located(tmp_path: Path, module: str, where: tuple, words: str) -> None:
    path = write(tmp_path, "m.yaml", "modules:\n" + module + "inputs: {x: 1.0}\noutputs: [x]\n")
    error = refused(path)
    assert words in error.message
    assert at(error) == where


def test_the_library_loss_module_over_a_batch(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fit.yaml",
        f"""
        imports: [{GRAPHS / "lib" / "neuron.yaml"}]
        inputs: {{x: [1.0, 2.0, 3.0], y: [2.0, 4.0, 7.0]}}
        params: {{w: 2.0}}
        gates:
          p: {{gate: mul, in: [w, x]}}
          loss: {{gate: mse, in: [p, y]}}
        outputs: [loss]
        """,
    )
    result = gatekit.load(path).run()
    assert result.outputs["loss"] == pytest.approx(1.0 / 3.0)  # residuals 0, 0, -1
    assert result.grads["w"] == pytest.approx(2.0 * (-1.0) * 3.0 / 3.0)


def test_expanded_gates_know_the_module_uses_around_them() -> None:
    circuit = gatekit.load(GRAPHS / "neuron_modules.yaml")
    within = {name: use.within for name, use in circuit.definition.gates.items()}
    assert within["f/wx0"] == (("f", "neuron2"),)
    assert within["f/out/n"] == (("f", "neuron2"), ("f/out", "logistic"))
    assert within["f"] == (("f", "neuron2"), ("f/out", "logistic"))
    assert gatekit.load(GRAPHS / "neuron.yaml").definition.gates["dot"].within == ()


def test_expanded_gates_know_which_inputs_come_from_outside(write_yaml) -> None:
    circuit = gatekit.load(GRAPHS / "neuron_modules.yaml")  # f: neuron2(x0, x1, w0, w1, w2)
    arguments = {name: use.arguments for name, use in circuit.definition.gates.items()}
    assert arguments["f/wx0"] == (2, 0)  # w0 * x0
    assert arguments["f/dot"] == (None, None, 4)  # wx0 + wx1 (the module's) + w2
    assert arguments["f/out/n"] == (None, None)  # logistic's z is neuron2's dot; -1 is its own
    path = write_yaml(
        """\
        inputs: {x: 1.0}
        modules:
          twice:
            inputs: [a]
            gates: {out: {gate: add, in: [a, a]}}
            outputs: [out]
          outer:
            inputs: [u, v]
            gates:
              t: {gate: twice, in: [v]}
              out: {gate: mul, in: [t, u, 2]}
            outputs: [out]
        gates:
          y: {gate: outer, in: [x, 3]}
        outputs: [y]
        """
    )
    gates = gatekit.load(path).definition.gates
    assert gates["y/t"].arguments == (1, 1)  # v, twice, through the nested use: the constant 3
    assert gates["y/t"].inputs == (3.0, 3.0)
    assert gates["y"].arguments == (None, 0, None)  # t, u (x), the module's own 2
    assert gatekit.load(GRAPHS / "neuron.yaml").definition.gates["dot"].arguments == ()


@pytest.mark.parametrize(
    ("header", "where", "words"),
    [
        ("gatekit: 99\n", (1, 10), "unsupported format version 99"),
        ("name: [a, b]\n", (1, 7), "name must be text, got a list"),
        ("doc: {text: x}\n", (1, 6), "doc must be text, got a mapping"),
        ("requires: 7\n", (1, 11), "'requires:' must be a list, got a number (7)"),
        (
            "requires: [[x]]\n",
            (1, 12),
            "an item of 'requires:' (a distribution name) must be text, got a list",
        ),
    ],
    ids=["version", "name", "doc", "requires", "requires-item"],
)
def test_an_imported_library_header_is_checked_like_a_circuit_header(
    tmp_path: Path, header: str, where: tuple[int, int], words: str
) -> None:
    write(tmp_path, "lib.yaml", header + LOGISTIC)
    path = write(tmp_path, "c.yaml", "imports: [lib.yaml]\ninputs: {x: 1.0}\noutputs: [x]\n")
    error = refused(path)
    assert words in error.message
    assert at(error) == ("lib.yaml", *where)


def test_an_import_of_some_other_file_shows_an_excerpt_not_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("".join(f"user{i}:x:{i}:{i}:User {i}:/home/user{i}:/bin/sh\n" for i in range(200)))
    path = write(tmp_path, "c.yaml", f"imports: [{secret}]\ninputs: {{x: 1.0}}\noutputs: [x]\n")
    error = refused(path)
    assert len(str(error)) < 300
    assert "user2:" not in error.message  # only its first 50 characters show
    assert (
        "a module library must be a mapping, got the text 'user0:x:0:0:User 0:/home/user0:/bin/sh"
        in error.message
    )


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (
            "doc: !!python/object:os.system x\n",
            "YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed",
        ),
        ("name: &n lib\ndoc: *n\n", "YAML aliases (*name) are not allowed"),
        ("requires: [!foo x]\n", "YAML tag '!foo' is not allowed"),
    ],
    ids=["tag-in-doc", "alias-in-doc", "tag-in-requires"],
)
def test_tags_and_aliases_in_a_library_header_are_refused(tmp_path: Path, header: str, words: str) -> None:
    write(tmp_path, "lib.yaml", header + LOGISTIC)
    path = write(tmp_path, "c.yaml", "imports: [lib.yaml]\ninputs: {x: 1.0}\noutputs: [x]\n")
    with pytest.raises(gatekit.LoadError) as info:
        gatekit.load(path)
    assert words in info.value.message
    assert info.value.location is not None and info.value.location.file.endswith("lib.yaml")
