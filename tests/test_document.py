"""The fast readers of circuit files (YAML events, JSON) against the reference reader.

``gatekit.format.document`` reads a file with a fast reader where it can and
with the reference reader (every node composed, every place kept) where it
must. Here the two are held to each other: on every example graph, in YAML
and in JSON, on odd but valid files and on every bad circuit, the fast
reader's definition is the reference reader's, to the places and spans, or
it gives way to it; JSON files are located on error as YAML files are; and
a YAML file and its JSON form load to the same plan and the same numbers.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
import yaml
from bad_circuits import BAD_CIRCUITS

import gatekit
from gatekit import GraphError, LoadError
from gatekit.cli import main
from gatekit.engine.graph import dag_of
from gatekit.format import document as documents
from gatekit.format.document import read_text
from gatekit.format.parse import CircuitDef
from gatekit.format.sections import NOT_TEXT, simple_number
from gatekit.format.yamlsource import NumberProblem, YamlLoader, scalar_number
from gatekit.names import NAME_PATTERN, is_name
from gatekit.plugin.registry import default_registry

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = sorted(path for path in (ROOT / "graphs").rglob("*.yaml"))


def summary(definition: CircuitDef) -> tuple[Any, ...]:
    """Everything a definition says, places and spans included, in comparable form."""

    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return ("array", value.shape, value.tolist())
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        return (type(value).__name__, value)

    leaves = [
        (leaf.name, leaf.kind, plain(leaf.value), str(leaf.location), leaf.init, leaf.span)
        for leaf in definition.leaves.values()
    ]
    gates = [
        (
            use.name,
            use.gate,
            [plain(i) for i in use.inputs],
            {k: plain(v) for k, v in use.attrs.items()},
            str(use.location),
        )
        for use in definition.gates.values()
    ]
    train = None if definition.train is None else yaml.serialize(definition.train.node)
    return (
        definition.file, definition.name, definition.doc, definition.requires, leaves, gates,
        definition.outputs, [str(place) for place in definition.output_locations],
        [(name, str(place)) for name, place in definition.defined_at.items()],
        [(name, str(module.location)) for name, module in definition.modules.items()],
        [(name, str(place)) for name, place in definition.imports], definition.import_spans,
        definition.seed, train,
    )  # fmt: skip


def outcome(read: Any) -> tuple[Any, ...]:
    try:
        return ("read", summary(read().parse()))
    except gatekit.GatekitError as exc:
        return ("refused", type(exc).__name__, str(exc))


def same_as_reference(text: str, file: str) -> None:
    """Read ``text`` both ways, and require the same definition or the same error."""
    assert outcome(lambda: read_text(text, file)) == outcome(lambda: documents._reference(text, file))


def json_forms(path: Path) -> list[str]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=YamlLoader)
    return [json.dumps(data), json.dumps(data, indent=2), json.dumps(data, indent="\t")]


# -- the same definitions -----------------------------------------------------------


@pytest.mark.parametrize("path", GRAPHS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_graph_reads_as_the_reference_reader_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    same_as_reference(text, str(path))
    assert read_text(text, str(path)).preread is not None  # read by the fast reader, not given up on
    for text in json_forms(path):
        same_as_reference(text, str(path.with_suffix(".json")))
        assert read_text(text, str(path)).preread is not None


ODD_BUT_VALID = {
    "numbers in every form": """\
        inputs: {x: -0}
        gates:
          y: {gate: mul, in: [x, -0, 1e5, 1.5e5, 0.5, 1_000, .5, +1, 1., 12345678901234567890123]}
        outputs: [y]
        """,
    "infinity as YAML writes it": "inputs: {x: -.inf}\ngates: {y: {gate: mul, in: [x, .inf]}}\noutputs: [y]",
    "quoted names and keys": """\
        inputs: {x: 1}
        gates:
          'y': {gate: "mul", 'in': [x, "x"]}
          "yes": {gate: exp, in: ['yes']}
        outputs: [y]
        """,
    "block style with comments": """\
        # a circuit
        inputs:
          x: 1   # the input
        gates:
          y:
            gate: mul
            in:
              - x
              - 2
        # the end
        outputs: [y]
        """,
    "attributes shared and not": """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: 0.5}}
          z: {gate: leaky_relu, in: [y], attrs: {slope: 0.5}}
          u: {gate: leaky_relu, in: [z], attrs: {slope: 1}}
          v: {gate: exp, in: [u], attrs: {}}
        outputs: [v]
        """,
    "sections in any order, arrays and initializers": """\
        gates: {y: {gate: exp, in: [x]}}
        seed: 3
        params:
          w: {init: normal, shape: [2, 3]}
          b: [[1, 2], [3, 4]]
        inputs: {x: 1}
        outputs: [y, w]
        train: {steps: 3}
        """,
    "an anchor with no alias": "inputs: {x: &a 1}\noutputs: [x]\n",
    "a tag": "inputs: {x: !!float 1}\noutputs: [x]\n",
    "a directive and an end marker": "%YAML 1.1\n---\ninputs: {x: 1}\noutputs: [x]\n...\n",
    "flow style all through": "{inputs: {x: 1}, gates: {y: {gate: exp, in: [x]}}, outputs: [y]}",
    "JSON with spaces before colons": '{"inputs" : {"x" : 1} , "outputs" : [ "x" ] }',
    "JSON with tabs": '{\n\t"inputs": {\n\t\t"x": 1\n\t},\n\t"outputs": ["x"]\n}\n',
    "JSON numbers": '{"inputs": {"x": -0}, "gates": {"y": {"gate": "mul", "in": ["x", -0, 1E5, 1e-5, -0.0, '
    '12345678901234567890]}}, "outputs": ["y"]}',
    "JSON arrays, initializers, attributes": '{"inputs": {"x": [[1, 2], [3, 4]]}, "params": {"w": {"init": '
    '"normal", "shape": [2]}}, "gates": {"y": {"gate": "leaky_relu", "in": ["w"], "attrs": {"slope": 0.5}}}, '
    '"outputs": ["x", "y"]}',
    "JSON escapes YAML reads alike": '{"inputs": {"x": 1}, "doc": "caf\\u00e9 \\/ x", "outputs": ["x"]}',
    "JSON modules and a train section": '{"modules": {"m": {"inputs": ["a"], "gates": {"o": {"gate": "exp", '
    '"in": ["a"]}}, "outputs": ["o"]}}, "inputs": {"x": 1}, "gates": {"y": {"gate": "m", "in": ["x"]}}, '
    '"outputs": ["y"], "train": {"steps": 3, "lr": 0.1}}',
    "JSON imports": '{"imports": ["lib/activations.yaml"], "inputs": {"x": 1}, "gates": {"y": {"gate": '
    '"logistic", "in": ["x"]}}, "outputs": ["y"]}',
    "an empty JSON object": "  {}",
    "JSON with trailing commas (YAML takes them)": '{"inputs": {"x": 1,}, "outputs": ["x"],}',
}


@pytest.mark.parametrize("text", list(ODD_BUT_VALID.values()), ids=list(ODD_BUT_VALID))
def test_odd_files_read_as_the_reference_reader_reads_them(text: str) -> None:
    same_as_reference(textwrap.dedent(text), str(ROOT / "graphs" / "odd.yaml"))


@pytest.mark.parametrize(("text", "error", "line", "column", "words"), BAD_CIRCUITS)
def test_every_bad_circuit_is_refused_as_the_reference_reader_refuses_it(text, error, line, column, words):
    same_as_reference(text, "g.yaml")


def test_what_the_fast_readers_leave_to_the_reference_reader_is_read_by_it() -> None:
    assert read_text("inputs: {x: !!float 1}\noutputs: [x]\n", "g.yaml").preread is None
    assert read_text('{"inputs": {"x": 1, "x": 2}, "outputs": ["x"]}', "g.json").preread is None
    flow_yaml = read_text("{inputs: {x: 1}, gates: {y: {gate: exp, in: [x]}}, outputs: [y]}", "g.yaml")
    assert flow_yaml.fast  # not JSON: read from the YAML parser's events
    [gates] = flow_yaml.preread.gates.values()  # type: ignore[union-attr]
    assert gates["y"].places is None  # a fast-read gate keeps its own place only
    assert gates["y"].input_locations == (gates["y"].location,)
    assert gates["y"].gate_location == gates["y"].in_location == gates["y"].location


def test_gates_that_write_the_same_attributes_share_them() -> None:
    circuit = gatekit.loads(textwrap.dedent(ODD_BUT_VALID["attributes shared and not"]))
    gates = circuit.valid.gates
    assert gates["y"].use.attrs is gates["z"].use.attrs
    assert gates["y"].attrs is gates["z"].attrs
    assert gates["u"].attrs == {"slope": 1.0} and gates["u"].attrs is not gates["y"].attrs
    with pytest.raises(TypeError):
        gates["y"].attrs["slope"] = 2.0  # type: ignore[index]  # shared, so read-only


# -- the readers' building blocks ----------------------------------------------------


def test_the_words_never_taken_for_names_are_the_ones_yaml_reads_otherwise() -> None:
    loader = YamlLoader("")
    try:
        for word in NOT_TEXT:
            assert loader.resolve(yaml.ScalarNode, word, (True, False)) != "tag:yaml.org,2002:str", word
        for word in ("y", "n", "Y", "tanh", "out", "onn", "yes_", "Nil", "nULL", "TRUe", "x1", "_"):
            assert loader.resolve(yaml.ScalarNode, word, (True, False)) == "tag:yaml.org,2002:str", word
    finally:
        loader.dispose()


@pytest.mark.parametrize(
    "text",
    ["0", "-0", "7", "-12", "0.5", "-0.0", "1e5", "1E-5", "1.5e+5", "1.25E5", "12345678901234567890123456",
     "9" * 400, "1e400", "-1e400", "017", "00", "1_000", ".5", "+1", "1.", "0x1F", "1:30", ".inf", "x", "1e"],
)  # fmt: skip
def test_a_simple_number_is_read_as_the_reference_reader_reads_it(text: str) -> None:
    loader = YamlLoader("")
    try:
        tag = loader.resolve(yaml.ScalarNode, text, (True, False))
    finally:
        loader.dispose()
    try:
        want = scalar_number(tag, text, "")
    except NumberProblem:
        want = None
    got = simple_number(text)
    if got is not None:
        assert want is not None and got == want and math.copysign(1, got) == math.copysign(1, want)


@pytest.mark.parametrize("text", ["w0", "_", "W_1", "0w", "w-1", "", "é", "w" * 200, "w" * 201, "if", "a b"])
def test_is_name_is_the_name_pattern(text: str) -> None:
    assert is_name(text) == (NAME_PATTERN.fullmatch(text) is not None and len(text) <= 200)


# -- JSON files, located on error ----------------------------------------------------


def bad_json(case: str, text: str, at: str, *words: str, error: type = GraphError, nth: int = 1) -> Any:
    """A bad JSON circuit, refused at the ``nth`` occurrence of ``at`` in its text."""
    return pytest.param(text, at, nth, error, words, id=case)


NEURON_JSON = json.dumps(yaml.safe_load((ROOT / "graphs" / "neuron.yaml").read_text()), indent=2)

BAD_JSON = [
    bad_json("not-well-formed", '{"inputs": {"x": 1}\n "outputs": ["x"]}', '"outputs"', "invalid YAML",
             "did not find expected ',' or '}'", error=LoadError),
    bad_json("unknown-top-level-key", '{"inputs": {"x": 1},\n "output": ["x"]}', '"output"',
             "unknown top-level key"),
    bad_json("duplicate-top-level-key", '{"inputs": {"x": 1},\n "inputs": {"y": 2}, "outputs": ["x"]}',
             '"inputs"', "duplicate key 'inputs'", nth=2),
    bad_json("duplicate-gate", '{"inputs": {"x": 1}, "gates": {\n "y": {"gate": "exp", "in": ["x"]},\n'
             ' "y": {"gate": "exp", "in": ["x"]}}, "outputs": ["y"]}', '"y"', "duplicate key 'y'", nth=2),
    bad_json("gate-named-as-a-leaf", '{"inputs": {"x": 1}, "gates": {\n  "x": {"gate": "exp", "in": ["x"]}},'
             ' "outputs": ["x"]}', '"x"', "'x' is defined twice (first at line 1, column 13)", nth=2),
    bad_json("duplicate-key-in-a-gate", '{"inputs": {"x": 1}, "gates": {"y": {"gate": "exp", "in": ["x"],\n'
             ' "in": ["x"]}}, "outputs": ["y"]}', '"in"', "duplicate key 'in'", nth=2),
    bad_json("unknown-gate-key", '{"inputs": {"x": 1}, "gates": {"y": {"gate": "exp", "in": ["x"],'
             ' "attr": {}}}, "outputs": ["y"]}', '"attr"', "unknown key 'attr'"),
    bad_json("unknown-gate", NEURON_JSON.replace('"reciprocal"', '"recipocral"'), '"recipocral"',
             "unknown gate 'recipocral'", "did you mean 'reciprocal'"),
    bad_json("wrong-arity", NEURON_JSON.replace('"neg"\n', '"neg", "neg"\n'), '[\n        "neg", "neg"',
             "gate 'e' (exp) takes 1 input, got 2"),
    bad_json("undefined-input", NEURON_JSON.replace('"wx1",\n        "w2"', '"wx1",\n        "w3"'), '"w3"',
             "gate 'dot' takes 'w3' as an input, but no input, param or gate has that name"),
    bad_json("cycle", NEURON_JSON.replace('"dot",\n        -1', '"f",\n        -1'), '"neg"',
             "the circuit has a cycle: neg -> e -> den -> f -> neg", nth=2, error=gatekit.CycleError),
    bad_json("unknown-output", NEURON_JSON.replace('"outputs": [\n    "f"', '"outputs": [\n    "g"'), '"g"',
             "output 'g' is not a node of this circuit"),
    bad_json("bad-attribute", '{"inputs": {"x": 1}, "gates": {"y": {"gate": "leaky_relu", "in": ["x"],\n'
             ' "attrs": {"slope": true}}}, "outputs": ["y"]}', "true", "attribute 'slope' of gate 'y'"),
    bad_json("text-for-a-number", '{"inputs": {"x": "1.5"}, "outputs": ["x"]}', '"1.5"',
             "input 'x' must be a number, got the text '1.5'"),
    bad_json("number-too-large", '{"inputs": {"x": 1}, "gates": {"y": {"gate": "mul", "in": ["x", 1e400]}},'
             ' "outputs": ["y"]}', "1e400", "the number 1e400 is too large for a float"),
    bad_json("not-a-number-constant", '{"inputs": {"x": NaN}, "outputs": ["x"]}', "NaN",
             "input 'x' must be a number, got the text 'NaN'"),
    bad_json("surrogate-escape", '{"inputs": {"x": 1}, "doc": "\\ud83d\\ude00", "outputs": ["x"]}', "d83d",
             "invalid YAML", "invalid Unicode character escape code", error=LoadError),
    bad_json("control-character", '{"inputs": {"x": 1}, "doc": "a\x7f", "outputs": ["x"]}', "\x7f",
             "the character U+007F is not allowed", error=LoadError),
]  # fmt: skip


def place(text: str, at: str, nth: int) -> tuple[int, int]:
    index = -1
    for _ in range(nth):
        index = text.index(at, index + 1)
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


@pytest.mark.parametrize(("text", "at", "nth", "error", "words"), BAD_JSON)
def test_a_bad_json_circuit_is_refused_where_the_problem_is(text, at, nth, error, words, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(gatekit.GatekitError) as info:
        gatekit.load(path)
    line, column = place(text, at, nth)
    assert type(info.value) is error
    assert info.value.location == gatekit.Location(str(path), line, column), info.value.message
    for word in words:
        assert word in info.value.message
    same_as_reference(text, str(path))  # the reference reader says the same (before any gate is resolved)


def test_a_bad_json_file_is_one_located_line_on_the_command_line(tmp_path, capsys) -> None:
    text = NEURON_JSON.replace('"wx1",\n        "w2"', '"wx1",\n        "w3"')
    path = tmp_path / "neuron.json"
    path.write_text(text, encoding="utf-8")
    assert main(["run", str(path)]) == 2
    line, column = place(text, '"w3"', 1)
    [message] = capsys.readouterr().err.splitlines()
    assert message.startswith(f"error: {path}:{line}:{column}: gate 'dot' takes 'w3' as an input")


# -- the same plans, the same numbers ---------------------------------------------------


def run_all(circuit: gatekit.Circuit) -> tuple[Any, ...]:
    result = circuit.run()

    def plain(values: Any) -> list[tuple[str, Any]]:
        return [(name, np.asarray(value).tolist()) for name, value in values.items()]

    return plain(result.outputs), plain(result.grads), plain(result.values)


def plan_of(circuit: gatekit.Circuit) -> tuple[Any, ...]:
    plan = circuit.plan
    forward = [(step.kind, step.a, step.b, step.out, plan.gates[step.out].name) for step in plan.forward]
    backward = [(step.kind, step.out, step.targets) for step in plan.backward]
    initial = [np.asarray(value).tolist() for value in plan.initial]
    return forward, backward, list(plan.slots.items()), initial


@pytest.mark.parametrize("path", GRAPHS, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_yaml_and_json_forms_of_a_graph_give_the_same_plan_and_numbers(
    path: Path, tmp_path: Path
) -> None:
    if "lib" in path.parts:  # a module library: nothing to run
        return
    circuit = gatekit.load(path)
    twin = tmp_path / path.with_suffix(".json").name
    for lib in (ROOT / "graphs").iterdir():  # imports are relative to the file
        if lib.is_dir():
            (tmp_path / lib.name).symlink_to(lib)
    for text in json_forms(path):
        twin.write_text(text, encoding="utf-8")
        same = gatekit.load(twin)
        assert plan_of(same) == plan_of(circuit)
        assert run_all(same) == run_all(circuit)


# -- the order, without networkx -----------------------------------------------------------


@pytest.mark.parametrize("path", GRAPHS, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_order_is_networkx_depth_first_postorder(path: Path) -> None:
    if "lib" in path.parts:
        return
    circuit = gatekit.load(path)
    graph = dag_of(circuit.valid)
    assert circuit._dag.order == list(nx.dfs_postorder_nodes(graph.reverse(copy=False)))


def test_the_networkx_graph_is_built_only_when_asked_for() -> None:
    circuit = gatekit.load(ROOT / "graphs" / "neuron.yaml")
    assert circuit._dag._graph is None
    assert list(circuit.graph.nodes) == [*circuit.inputs, *circuit.params, *circuit.definition.gates]
    assert circuit.graph is circuit.graph
    assert circuit.graph.nodes["dot"]["gate"] == "add"


def test_a_deep_file_written_backwards_is_ordered_without_recursion() -> None:
    n = 5000
    lines = [f"  g{i}: {{gate: sin, in: [g{i - 1}]}}" for i in range(n - 1, 0, -1)]
    text = "\n".join(["inputs: {g0: 0.5}", "gates:", *lines, f"outputs: [g{n - 1}]"])
    circuit = gatekit.loads(text)
    assert circuit._dag.order == [f"g{i}" for i in range(n)]
    assert default_registry() is not None


@pytest.mark.parametrize("path", GRAPHS, ids=lambda path: str(path.relative_to(ROOT)))
def test_a_fast_read_graph_compiles_to_the_reference_readers_plan(path: Path) -> None:
    if "lib" in path.parts:
        return
    text = path.read_text(encoding="utf-8")
    fast = gatekit.Circuit.from_document(read_text(text, str(path)))
    reference = gatekit.Circuit.from_document(documents._reference(text, str(path)))
    assert plan_of(fast) == plan_of(reference)
    assert run_all(fast) == run_all(reference)
    assert [str(place) for place, _ in fast.warnings] == [str(place) for place, _ in reference.warnings]


def test_json_text_loads_as_its_yaml_twin() -> None:
    neuron = gatekit.load(ROOT / "graphs" / "neuron.yaml")
    twin = gatekit.loads((ROOT / "graphs" / "neuron.json").read_text(encoding="utf-8"), file="neuron.json")
    assert plan_of(twin) == plan_of(neuron)
    assert run_all(twin) == run_all(neuron)
    assert str(twin.definition.gates["dot"].location) == "neuron.json:10:5"


def big_yaml(bad_last: bool) -> str:
    gates = [f"  g{i}: {{gate: exp, in: [x]}}\n" for i in range(5)]
    if bad_last:
        gates[-1] = "  g4: {gate: exp, in: [x], bogus: 1}\n"
    return "# a chain\ninputs: {x: 1}\ngates:\n" + "".join(gates) + "outputs: [g0]\n"


def big_json(bad_last: bool) -> str:
    gates = [f'"g{i}": {{"gate": "exp", "in": ["x"]}}' for i in range(5)]
    if bad_last:
        gates[-1] = '"g4": {"gate": "exp", "in": ["x"], "bogus": 1}'
    return '\n {"inputs": {"x": 1}, "gates": {' + ", ".join(gates) + '}, "outputs": ["g0"]}'


@pytest.mark.parametrize(("write", "where"), [(big_yaml, (2, 1)), (big_json, (2, 2))], ids=["yaml", "json"])
def test_a_circuit_past_the_node_limit_is_refused_at_its_root_as_soon_as_it_passes(
    write: Any, where: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEKIT_MAX_NODES", "3")
    for bad_last in (False, True):  # the rest unread: an unknown key past the limit is not seen
        with pytest.raises(GraphError) as info:
            read_text(write(bad_last), "big.yaml")
        assert info.value.location == gatekit.Location("big.yaml", *where)
        assert "the circuit's node count exceeds the limit of 3 (set GATEKIT_MAX_NODES to raise it)" in str(
            info.value
        )
