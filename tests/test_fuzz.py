"""Fuzzing with hypothesis: random circuits against numerical gradients, mutated files against clean errors.

- Random valid circuits: DAGs over the built-in elementwise gates, each
  gate's inputs kept inside its domain and away from its kinks. Backprop
  must agree with central differences (:func:`gatekit.testing.check_circuit`:
  every gate, and the circuit end to end), a run with arrays must agree
  element by element with runs of scalars, and a run recorded for
  ``explain`` must be exactly the plain run.
- Mutated circuit files: the files under ``graphs/`` with lines deleted,
  duplicated, swapped, re-indented or truncated, and tokens replaced by odd
  YAML (tags, anchors, ``.nan``, huge numbers, deep nesting, unicode...).
  Loading and running a mutant either succeeds or raises a
  :class:`gatekit.GatekitError` that names the file; nothing else escapes,
  and nothing written in the file is ever executed. Through the CLI: exit
  code 0, 1 or 2, and one ``error:`` line, never a traceback.

In CI every property runs a fixed, bounded set of examples (derandomized:
each run sees the same ones). For a long campaign with fresh random
examples, set ``GATEKIT_FUZZ_EXAMPLES``::

    GATEKIT_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py

runs each property that many times (the CLI property a tenth of that) from a
random seed. A failure is shrunk and printed with the seed that reproduces it
(``--hypothesis-seed=N``), and kept in ``.hypothesis/`` so the next run tries
it first.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from exact import assert_traced_run_is_the_run
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gatekit
from gatekit import GatekitError, GraphError, UsageError
from gatekit.cli import main
from gatekit.io.inputs import read_inputs
from gatekit.plugin.registry import Gate
from gatekit.testing import check_circuit

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"

#: ``GATEKIT_FUZZ_EXAMPLES=N``: a campaign of N random examples per property.
CAMPAIGN = int(os.environ.get("GATEKIT_FUZZ_EXAMPLES") or 0)


def fuzz_settings(examples: int, *suppress: HealthCheck, share: float = 1.0) -> settings:
    """``examples`` fixed examples in CI; with ``GATEKIT_FUZZ_EXAMPLES`` set, a random campaign.

    ``share`` is the part of the campaign's count this property runs.
    """
    return settings(
        max_examples=max(examples, int(CAMPAIGN * share)),
        derandomize=not CAMPAIGN,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, *suppress],
    )


class Hang(BaseException):
    """A load or run took longer than any circuit file can justify.

    Not an ``Exception``: the run loop turns those into a gate's ``RunError``.
    """


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` after ``seconds`` (where SIGALRM exists; else no limit)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- (a) random valid circuits ----------------------------------------------------------------------

REGISTRY = gatekit.default_registry(autoload=False)
#: The built-in gates whose gradient is elementwise (not sum, mean, dot, matmul, transpose).
ELEMENTWISE = tuple(name for name, gate in REGISTRY.items() if gate.vjp is None)
#: Gates with a kink at 0, and gates with a kink where their two inputs tie.
KINK_AT_ZERO = frozenset({"abs", "relu", "leaky_relu"})
KINK_AT_TIE = frozenset({"max", "min"})
KINK_MARGIN = 1e-3
#: The largest value a random circuit may hold. The checks' central
#: differences move an input by 1e-6 (of itself, when larger than 1), so an
#: output of size V, rounded to about V * 1e-16, gives them an error of
#: about V * 1e-10: at 1e4 ten times under their tolerance (rtol 1e-5); at
#: 1e6 over it, and sub(345652.86, -0.62) fails its check although right.
LIMIT = 1e4
#: The largest gradient of the output with respect to a leaf, for the check
#: against central differences: beyond it the output swings so fast along the
#: leaf (sin of a steep inner function) that their truncation error exceeds
#: the tolerance although backprop is right.
GRADIENT_LIMIT = 1e3


def _domain_floor(gate: Gate, position: int) -> float:
    """Where input ``position`` must stay above: half the lower end of a positive domain."""
    low, _ = gate.spec.interval(position)
    return low / 2 if low > 0 else -math.inf


def _admissible(gate: Gate, inputs: list[float], output: float) -> bool:
    """Whether a gate's inputs lie in its (widened) domain, away from kinks, and all is moderate."""
    values = [*inputs, output]
    if not all(math.isfinite(v) and abs(v) < LIMIT for v in values):
        return False
    if any(v < _domain_floor(gate, i) for i, v in enumerate(inputs)):
        return False
    if gate.name in KINK_AT_ZERO and abs(inputs[0]) < KINK_MARGIN:
        return False
    return not (gate.name in KINK_AT_TIE and abs(inputs[0] - inputs[1]) < KINK_MARGIN)


def _admissible_run(circuit: gatekit.Circuit, values: Any) -> bool:
    """:func:`_admissible` for every gate of a run."""
    for bound in circuit.valid.gates.values():
        inputs = [values[s] if isinstance(s, str) else s for s in bound.inputs]
        if not _admissible(bound.gate, inputs, values[bound.name]):
            return False
    return True


@dataclass
class RandomCircuit:
    """A circuit drawn by :func:`random_circuits`, with the values it must compute."""

    leaves: dict[str, tuple[str, float]]  # name -> (section, value)
    gates: dict[str, tuple[str, list[str | float], dict[str, float]]]  # name -> (gate, in, attrs)
    values: dict[str, float]  # every node's value, computed gate by gate while drawing
    file_order: list[str]  # the gates' order in the file
    outputs: list[str]
    #: per leaf: the offsets of elements 1 and 2 in the array run, or None to stay a scalar
    offsets: dict[str, tuple[float, float] | None] = field(default_factory=dict)

    def yaml(self) -> str:
        lines = []
        for section in ("inputs", "params"):
            leaves = [(name, value) for name, (kind, value) in self.leaves.items() if kind == section]
            if leaves:
                lines.append(f"{section}:")
                lines += [f"  {name}: {value!r}" for name, value in leaves]
        lines.append("gates:")
        for name in self.file_order:
            gate, inputs, attrs = self.gates[name]
            sources = ", ".join(s if isinstance(s, str) else repr(s) for s in inputs)
            extra = f", attrs: {{{', '.join(f'{k}: {v!r}' for k, v in attrs.items())}}}" if attrs else ""
            lines.append(f"  {name}: {{gate: {gate}, in: [{sources}]{extra}}}")
        lines.append(f"outputs: [{', '.join(self.outputs)}]")
        return "\n".join(lines) + "\n"


finite = st.floats(-3.0, 3.0, allow_nan=False, allow_subnormal=False)


@st.composite
def random_circuits(draw: st.DrawFn) -> RandomCircuit:
    """A random DAG over :data:`ELEMENTWISE`, each gate's value computed as it is drawn.

    A gate whose inputs or output would not be :func:`_admissible` is left out,
    so nearly every circuit drawn is usable. An input with a positive domain
    is a node at least the domain's lower end, or a constant inside it.
    ``outputs[0]`` is the last gate some leaf reaches.
    """
    leaves = {
        f"x{i}": (draw(st.sampled_from(["inputs", "params"])), draw(finite))
        for i in range(draw(st.integers(2, 4)))
    }
    values = {name: value for name, (_, value) in leaves.items()}
    gates: dict[str, tuple[str, list[str | float], dict[str, float]]] = {}
    reached = list(leaves)  # the nodes that depend on a leaf
    for _ in range(draw(st.integers(1, 25))):
        gate = REGISTRY[draw(st.sampled_from(ELEMENTWISE))]
        arity = (
            draw(st.integers(gate.spec.arity, gate.spec.arity + 2)) if gate.spec.variadic else gate.spec.arity
        )
        inputs: list[str | float] = []
        for position in range(arity):
            low, high = gate.spec.interval(position)
            floor = low if low > 0 else -math.inf
            candidates = [name for name, value in values.items() if value >= floor]
            if candidates and draw(st.sampled_from((True, True, True, False))):  # a node, mostly
                inputs.append(draw(st.sampled_from(candidates)))
            else:
                inputs.append(draw(st.floats(low, high, allow_subnormal=False)))
        attrs = {}
        if gate.spec.attrs and draw(st.booleans()):
            attrs = {"slope": draw(st.sampled_from([0.2, 0.5, 1.5]))}
        forward, _, _ = gate.bind({key: attr.default for key, attr in gate.spec.attrs.items()} | attrs)
        numbers = [values[s] if isinstance(s, str) else s for s in inputs]
        output = forward(tuple(numbers))
        if _admissible(gate, numbers, output):
            name = f"g{len(gates)}"
            gates[name] = (gate.name, inputs, attrs)
            values[name] = output
            if any(isinstance(s, str) and s in reached for s in inputs):
                reached.append(name)
    if len(reached) == len(leaves):  # no gate drawn reads a leaf: add one that is always fine
        name = f"g{len(gates)}"
        gates[name] = ("add", ["x0", "x1"], {})
        values[name] = values["x0"] + values["x1"]
        reached.append(name)
    last = reached[-1]  # the last gate that some leaf reaches: backprop has work to do
    outputs = [last, *draw(st.lists(st.sampled_from(list(values)), max_size=2))]
    offset = st.floats(-0.05, 0.05, allow_subnormal=False)
    offsets = {name: draw(st.none() | st.tuples(offset, offset)) for name in leaves}
    if all(o is None for o in offsets.values()):
        offsets["x0"] = (0.01, -0.02)
    return RandomCircuit(
        leaves=leaves,
        gates=gates,
        values=values,
        file_order=draw(st.permutations(list(gates))),
        outputs=outputs,
        offsets=offsets,
    )


@fuzz_settings(200)
@given(drawn=random_circuits())
def test_backprop_through_a_random_circuit_agrees_with_central_differences(drawn: RandomCircuit) -> None:
    circuit = gatekit.loads(drawn.yaml(), "random.yaml", registry=REGISTRY)
    result = circuit.run()
    assert dict(result.values) == drawn.values  # the file computes what was drawn, in any file order
    assume(_admissible_run(circuit, result.values))
    assume(all(abs(grad) < GRADIENT_LIMIT for grad in result.grads.values()))
    check_circuit(circuit)


@fuzz_settings(200)
@given(drawn=random_circuits())
def test_an_array_run_agrees_with_scalar_runs_element_by_element(drawn: RandomCircuit) -> None:
    circuit = gatekit.loads(drawn.yaml(), "random.yaml", registry=REGISTRY)
    # element 0 holds the file's values; elements 1 and 2 move the array leaves a little
    elements: list[dict[str, float]] = [{}, {}, {}]
    for name, (_, value) in drawn.leaves.items():
        offsets = drawn.offsets[name] or (0.0, 0.0)
        for k, offset in enumerate((0.0, *offsets)):
            elements[k][name] = value + offset
    runs = [circuit.run(**leaves) for leaves in elements]
    for run in runs:
        assume(_admissible_run(circuit, run.values))
    batch = circuit.run(
        **{
            name: np.array([leaves[name] for leaves in elements])
            for name, offsets in drawn.offsets.items()
            if offsets is not None
        }
    )
    for name in circuit.outputs:
        expected = [run.outputs[name] for run in runs]
        np.testing.assert_allclose(
            np.broadcast_to(batch.outputs[name], (3,)), expected, rtol=1e-9, atol=1e-12
        )
    batched_output = np.ndim(batch.outputs[circuit.outputs[0]]) == 1
    for name, offsets in drawn.offsets.items():
        per_element = [run.grads[name] for run in runs]
        if offsets is not None:
            expected_grad: Any = per_element
        else:  # a scalar used against the batch: the sum of its gradients, if the output is a batch
            expected_grad = sum(per_element) if batched_output else per_element[0]
        assert np.shape(batch.grads[name]) == np.shape(expected_grad), name
        np.testing.assert_allclose(batch.grads[name], expected_grad, rtol=1e-9, atol=1e-12, err_msg=name)


@fuzz_settings(200)
@given(drawn=random_circuits())
def test_a_recorded_run_is_the_run_exactly(drawn: RandomCircuit) -> None:
    """``explain`` and ``draw`` record the run itself: the same numbers and types, scalar or batch."""
    circuit = gatekit.loads(drawn.yaml(), "random.yaml", registry=REGISTRY)
    assert_traced_run_is_the_run(circuit)
    batch = {
        name: value + np.array([0.0, *offsets])
        for name, (_, value) in drawn.leaves.items()
        if (offsets := drawn.offsets[name]) is not None
    }
    assert_traced_run_is_the_run(circuit, batch)


# -- (b) mutated circuit files ---------------------------------------------------------------------

#: Every circuit and module library under graphs/, relative to it.
GRAPH_FILES = tuple(sorted(path.relative_to(GRAPHS).as_posix() for path in GRAPHS.rglob("*.yaml")))
#: Loaded after a library under lib/ is mutated: the circuit that imports it.
IMPORTER = "neuron_modules.yaml"

PAYLOAD = '!!python/object/apply:os.system ["echo pwned > PWNED"]'
ODD_TOKENS = (
    # nothing, infinity, not a number
    "null", "~", "''", '""', ".inf", "-.inf", "+.inf", ".nan", "nan", ".NaN", "NaN", "inf",
    # tags: code, unknown, and the YAML types circuits never use
    PAYLOAD, "!!python/name:os.system", "!!python/object/new:os.system [ls]", "!foo x", "!foo",
    "!!int", "!!float", "!!int ''", "!!float ''", "!!int _", "!!float _", "!!int abc", "!!float 1:x",
    "!!str", "!!str 1.5", "!!map {}", "!!seq []", "!!null ''", "!!bool yes", "!!set {a}",
    "!!binary aGVsbG8=", "!!timestamp 2001-12-14", "!!omap [a: 1]", "!<tag:yaml.org,2002:int> 1",
    # anchors and aliases, merge keys
    "&a [1, 2]", "*a", "&b x", "*b", "&c", "<<: *a", "{<<: {x: 1}}",
    # lists and mappings where scalars belong, ragged and empty ones
    "[[1, 2], [3]]", "[1, [2]]", "[[1, 2], [3, 4]]", "[1, 2, 3]", "[1.5]", "{}", "[]", "[[]]", "[{}]",
    "{a: 1}", "[x0, x1]", '"x"', "'x0'",
    # unicode and odd characters
    "ä", "名前", "x\u0301", "\u202e", "\ufeff", "\u2028", "\x85", "\t", "\U0001f642", "\\", '"\\0"',
    '"a\\x00b"', '"\\u0000"', "\x7f",
    # numbers in every YAML 1.1 form, too large, too small
    "1" * 500, "9" * 5000, "1" * 400 + ".0", "1e400", "-1e400", "1e-400", "1e5", "0x1F", "0o17",
    "017", "0b101", "1_000", "1:30", "190:20:30.15", "+.5", "-0", "-0.0", "2.", ".5e3",
    "true", "yes", "on", "off", "2001-12-14",
    # deep nesting: past libyaml's limit, and past NumPy's dimensions
    "[" * 2000 + "]" * 2000, "[" * 40 + "1" + "]" * 40, "[" * 70 + "1" + "]" * 70,
    "{a: " * 100 + "1" + "}" * 100,
    # YAML syntax out of place
    "- x", ":", "? a", "|", ">", "#", "---", "...", "%YAML 1.1", "@", "`", "%", "&", "*", "!", ",",
    # gates, modules and nodes from elsewhere
    "mul", "matmul", "transpose", "sum", "mean", "dot", "log", "pow", "relu", "leaky_relu", "gelu",
    "logistic", "neuron2", "mse", "f", "x0", "w2",
    "{gate: neg, in: [x0]}", "{gate: sum, in: [x0], attrs: {axis: 5}}", "{gate: transpose, in: [x0]}",
    "{slope: .nan}", "{slope: [1, 2]}", "{axis: [0, 0]}", "{axis: 1e300}", "{axes: [1e300]}",
    # paths, for imports
    "/dev/zero", "/dev/null", ".", "lib", "lib/neuron.yaml", "activations.yaml", "../neuron.yaml",
)  # fmt: skip
ODD_LINES = (
    "imports: [/dev/zero]",
    "imports: [lib/neuron.yaml, lib/activations.yaml]",
    "imports: [neuron_modules.yaml]",
    "imports: [../neuron.yaml]",
    "modules: {m: {inputs: [a], gates: {o: {gate: m, in: [a]}}, outputs: [o]}}",
    "modules: {mul: {inputs: [a], gates: {o: {gate: neg, in: [a]}}, outputs: [o]}}",
    "modules: {logistic: {inputs: [a], gates: {o: {gate: neg, in: [a]}}, outputs: [o]}}",
    "  cyc: {gate: neg, in: [cyc]}",
    "  f: {gate: neg, in: [f]}",
    "outputs: []",
    "outputs: [nowhere]",
    "gatekit: 2",
    "requires: [gatekit-nothing-such]",
    f"x: {PAYLOAD}",
    "---",
    "...",
    "%YAML 1.1",
)
#: Values in place of a number: zeros, extremes, arrays of other shapes (which load, and may
#: fail when run), and numbers and lists that are not quite (which must not load).
ODD_VALUES = (
    "0", "0.0", "-0.0", "-1.0", "1000.0", "1e308", "-1e308", "1e-320", ".nan", ".inf", "-.inf",
    "[1.0, 2.0]", "[[1.0], [2.0]]", "[[1.0, 2.0, 3.0]]", "[.nan, 1.0, -1.0]", "[1e308, 1e308, 1e308]",
    "[0.0, 0.0, 0.0]", "[[0.5, 1.5], [2.5, 3.5], [4.5, 5.5]]",
    "1e400", "9" * 500, "!!int ''", "!!float _", "!!float", "'1.0'", "null", "[1, [2]]", "[[1, 2], [3]]",
    "[]", "[[]]", "&a 1", "*a",
    "[" * 40 + "1.0" + "]" * 40, "[" * 70 + "1" + "]" * 70, "[" * 2000 + "]" * 2000,
)  # fmt: skip
WORD = re.compile(r"[^\s\[\]{},:#]+")
GATE = re.compile(r"(?<=gate: )[^,}\s]+")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d*)?(?:e-?\d+)?(?![\w.])")


@dataclass(frozen=True)
class Mutation:
    """One edit of a file: ``kind`` at line ``line`` (modulo the count), with ``token`` or ``amount``."""

    kind: str
    line: int
    other: int = 0  # the second line (swap), the word (replace), the match (number, gate)
    token: str = ""  # what goes in (replace, number, gate, insert), "tab" (indent)
    amount: int = 0  # spaces to re-indent by or insert before; the file's word (retoken)

    def apply(self, lines: list[str]) -> list[str]:
        if not lines:
            return [self.token]
        i, j = self.line % len(lines), self.other % len(lines)
        lines = list(lines)
        if self.kind == "delete":
            del lines[i]
        elif self.kind == "duplicate":
            lines.insert(i, lines[i])
        elif self.kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif self.kind == "indent":
            stripped = lines[i].lstrip(" ")
            depth = max(0, len(lines[i]) - len(stripped) + self.amount)
            lines[i] = ("\t" if self.token == "tab" else " " * depth) + stripped
        elif self.kind == "insert":
            lines.insert(i, " " * self.amount + self.token)
        elif self.kind in ("number", "gate"):  # the ``other``-th number, or gate name, of the file
            pattern = NUMBER if self.kind == "number" else GATE
            found = [(k, m) for k, line in enumerate(lines) for m in pattern.finditer(line.split("#")[0])]
            if found:
                k, match = found[self.other % len(found)]
                lines[k] = lines[k][: match.start()] + self.token + lines[k][match.end() :]
        elif self.kind == "replace":
            words = list(WORD.finditer(lines[i]))
            if words:
                word = words[self.other % len(words)]
                lines[i] = lines[i][: word.start()] + self.token + lines[i][word.end() :]
            else:
                lines[i] += self.token
        return lines


lines_at = st.integers(0, 10_000)
odd_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8)
replacements = st.builds(
    Mutation, st.just("replace"), lines_at, lines_at, token=st.sampled_from(ODD_TOKENS) | odd_text
)
# a word of the file in another word's place: dangling names, cycles, duplicates, gates swapped
retokens = st.builds(Mutation, st.just("retoken"), lines_at, lines_at, amount=st.integers(0, 10_000))
numbers = st.builds(Mutation, st.just("number"), lines_at, lines_at, token=st.sampled_from(ODD_VALUES))
gate_names = st.sampled_from([*gatekit.default_registry(), "logistic", "neuron2", "mse", "nope", "f"])
gates = st.builds(Mutation, st.just("gate"), lines_at, lines_at, token=gate_names)
#: Edits that keep the YAML well-formed, mostly: they reach validation and running.
semantic = st.one_of(numbers, gates, retokens)
#: Edits of the text as text: they mostly reach the YAML parser and the form checks.
mutations = st.one_of(
    semantic,
    replacements,
    st.builds(Mutation, st.sampled_from(["delete", "duplicate"]), lines_at),
    st.builds(Mutation, st.just("swap"), lines_at, lines_at),
    st.builds(
        Mutation, st.just("indent"), lines_at, token=st.sampled_from(["", "tab"]), amount=st.integers(-4, 4)
    ),
    st.builds(
        Mutation,
        st.just("insert"),
        lines_at,
        token=st.sampled_from(ODD_LINES) | st.sampled_from(ODD_TOKENS).map(lambda t: f"key: {t}"),
        amount=st.sampled_from([0, 2, 4]),
    ),
)


@dataclass(frozen=True)
class Mutant:
    """A file under graphs/ edited: what hypothesis prints for a failure."""

    file: str  # relative to graphs/
    text: bytes
    mutations: tuple[Mutation, ...]
    cut: int | None  # truncated to this many bytes


@st.composite
def mutants(draw: st.DrawFn) -> Mutant:
    """A file under graphs/ with 1 to 4 edits, maybe truncated at a byte."""
    file = draw(st.sampled_from(GRAPH_FILES))
    text = (GRAPHS / file).read_text(encoding="utf-8")
    words = WORD.findall(text)
    lines = text.split("\n")
    edits = []
    edited = st.lists(semantic, min_size=1, max_size=3) | st.lists(mutations, min_size=1, max_size=4)
    for drawn in draw(edited):
        edit = drawn
        if drawn.kind == "retoken":  # a word of the file in another word's place
            edit = Mutation("replace", drawn.line, drawn.other, words[drawn.amount % len(words)])
        edits.append(edit)
        lines = edit.apply(lines)
    data = "\n".join(lines).encode("utf-8")
    cut = draw(st.none() | st.none() | st.none() | st.integers(1, len(data)))  # a quarter truncated
    return Mutant(file, data if cut is None else data[:cut], tuple(edits), cut)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of graphs/, so that mutants import the other files from where they expect them."""
    folder = tmp_path_factory.mktemp("fuzz") / "graphs"
    shutil.copytree(GRAPHS, folder)
    return folder


@contextlib.contextmanager
def mutated(mirror: Path, mutant: Mutant) -> Iterator[Path]:
    """The mutant written over its file in ``mirror``; the original back afterwards."""
    path = mirror / mutant.file
    original = path.read_bytes()
    path.write_bytes(mutant.text)
    try:
        yield path
    finally:
        path.write_bytes(original)


def assert_clean(error: GatekitError, path: Path) -> None:
    """The error names the mutated file, or, for an error inside an import, the imported file."""
    message = str(error)
    if path.name in message:
        return
    location = error.location
    assert location is not None, f"the error names no file: {message}"
    assert message.startswith(location.file) and os.path.isfile(location.file), message


def load_and_run(path: Path) -> None:
    """Load, run, and read every number: succeed or raise a GatekitError naming the file."""
    try:
        with time_limit(30):
            result = gatekit.load(path).run()
            for section in (result.outputs, result.grads, result.values):
                list(section.values())
    except GatekitError as error:
        assert_clean(error, path)


@fuzz_settings(1000)
@given(mutant=mutants())
def test_a_mutated_graph_file_loads_and_runs_or_fails_with_a_located_error(
    mirror: Path, mutant: Mutant
) -> None:
    with mutated(mirror, mutant) as path:
        load_and_run(path)
        if mutant.file.startswith("lib/"):
            load_and_run(mirror / IMPORTER)
    assert not (mirror / "PWNED").exists()
    assert not Path("PWNED").exists()


@fuzz_settings(100, HealthCheck.function_scoped_fixture, share=0.1)  # each one a whole command
@given(mutant=mutants())
def test_a_mutated_graph_file_through_the_cli_exits_0_1_or_2_with_one_error_line(
    mirror: Path, mutant: Mutant, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    with mutated(mirror, mutant) as path, time_limit(30):
        code = main(["run", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "Traceback" not in out + err
    if code:
        assert len(err.splitlines()) == 1, err
        assert err.startswith("error: "), err
    assert not (mirror / "PWNED").exists()


# -- regressions: what the fuzzers found ----------------------------------------------------------

CIRCUIT = "inputs:\n  x: {value}\ngates:\n  y: {{gate: neg, in: [x]}}\noutputs: [y]\n"


def refusal(text: str) -> GatekitError:
    with pytest.raises(GatekitError) as info:
        gatekit.loads(text, "g.yaml")
    return info.value


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("!!int ''", "'' is tagged as a number but is not a valid integer"),
        ("!!int", "'' is tagged as a number but is not a valid integer"),
        ("!!int _", "'_' is tagged as a number but is not a valid integer"),
        ("!!float ''", "'' is tagged as a number but is not a valid float"),
        ("!!float _", "'_' is tagged as a number but is not a valid float"),
    ],
)
def test_an_empty_tagged_number_is_refused(value: str, words: str) -> None:
    # PyYAML's int and float constructors raise IndexError on an empty scalar.
    error = refusal(CIRCUIT.format(value=value))
    assert isinstance(error, GraphError)
    assert str(error) == f"g.yaml:2:6: {words}"


def test_a_list_nested_deeper_than_an_array_can_be_is_refused() -> None:
    # NumPy raises ValueError for more than 64 dimensions (32 in NumPy 1).
    error = refusal(CIRCUIT.format(value="[" * 70 + "1" + "]" * 70))
    assert isinstance(error, GraphError)
    assert str(error) == "g.yaml:2:38: input 'x' is nested too deeply: an array has at most 32 dimensions"
    assert gatekit.loads(CIRCUIT.format(value="[" * 32 + "1" + "]" * 32)).run().outputs["y"].ndim == 32


def test_an_attribute_nested_too_deeply_is_refused() -> None:
    text = "inputs: {x: [1.0]}\ngates:\n  y: {gate: sum, in: [x], attrs: {axis: " + "[" * 40 + "0"
    error = refusal(text + "]" * 40 + "}}\noutputs: [y]\n")
    assert str(error).startswith("g.yaml:3:73: attribute 'axis' of gate 'y' is nested too deeply")


def test_an_import_path_holding_a_nul_character_is_refused(tmp_path: Path) -> None:
    # open() raises ValueError, not OSError, for a path with a NUL in it.
    path = tmp_path / "c.yaml"
    path.write_text('imports: ["lib\\0.yaml"]\n' + CIRCUIT.format(value="1.0"), encoding="utf-8")
    with pytest.raises(GraphError) as info:
        gatekit.load(path)
    assert str(info.value) == (
        f"{path}:1:11: cannot import 'lib\\x00.yaml': cannot read the file: embedded null byte"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("target", ["pipe", os.devnull, "/dev/zero"])
def test_an_import_that_is_not_a_regular_file_is_refused(tmp_path: Path, target: str) -> None:
    # Reading /dev/zero never ends, and a pipe waits for a writer: refused before it is opened.
    if target == "pipe":
        target = str(tmp_path / "pipe.yaml")
        os.mkfifo(target)
    if not os.path.exists(target):
        pytest.skip(f"no {target} here")
    path = tmp_path / "c.yaml"
    path.write_text(f"imports: [{target}]\n" + CIRCUIT.format(value="1.0"), encoding="utf-8")
    with pytest.raises(GraphError) as info, time_limit(10):
        gatekit.load(path)
    refused = "cannot read the file: not a regular file (a pipe, a device or a folder)"
    assert str(info.value) == f"{path}:1:11: cannot import {target!r}: {refused}"


@pytest.mark.parametrize(
    ("depth", "words"),
    [
        (40, "key 'x0': nested too deeply: an array has at most 32 dimensions"),
        (100_000, "invalid JSON: the lists are nested too deeply"),
    ],
)
def test_json_inputs_nested_too_deeply_are_refused(tmp_path: Path, depth: int, words: str) -> None:
    # NumPy refuses more than 64 dimensions; Python's json parser recurses into each list.
    path = tmp_path / "deep.json"
    path.write_text('{"x0": ' + "[" * depth + "1" + "]" * depth + "}", encoding="utf-8")
    with pytest.raises(UsageError) as info:
        read_inputs(str(path), gatekit.load(GRAPHS / "neuron.yaml"))
    assert str(info.value) == f"{path}: {words}"
