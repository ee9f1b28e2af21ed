"""Every error gatekit train can raise: its exact words, its type, its exit code and its place.

From the command line each is one ``error:`` line on stderr, no traceback,
exit 2 for bad input (1 for a loss that stops being finite, 130 for Ctrl-C),
and nothing written: the files given with -o, --checkpoint, --log and --plot
are left as they were (:func:`fails` checks it for every case). From Python
each is a :class:`gatekit.GatekitError` of the type the docstrings promise.
What training does when it works is tests/test_train.py's, and so are the
errors it already pins (a loss or a gradient that stops being finite, a
checkpoint resumed with another optimizer, the first Ctrl-C).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_train import DATA, GRAPHS, LINEAR, linear_data

import gatekit
from gatekit.cli import main
from gatekit.errors import GraphError, PluginError, RunError, UsageError
from gatekit.plugin.registry import default_registry
from gatekit.training.api import solver_for
from gatekit.training.checkpoint import text_array
from gatekit.training.data import Batches
from gatekit.training.loop import Trainer, TrainingError, split_rows

GRAPH = str(GRAPHS / "linear_regression.yaml")  # inputs x, y; params w, b; the loss is outputs[0]
CSV = str(DATA / "linear_regression.csv")  # 40 rows


@pytest.fixture(autouse=True)
def _no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed plugins have no say in these messages (and a broken one would add a warning line)."""
    monkeypatch.setenv("GATEKIT_DISABLE_PLUGIN_AUTOLOAD", "1")


def _outputs(folder: Path, given: tuple[str, ...]) -> dict[str, Path]:
    """A file for each output flag not ``given``, written before the run, which must leave it as it was."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    paths = {"-o": folder / "trained.yaml", "--checkpoint": folder / "ck.npz", "--log": folder / "log.csv"}
    if importlib.util.find_spec("matplotlib") is not None:  # --plot is refused early without it
        paths["--plot"] = folder / "loss.svg"
    paths = {flag: path for flag, path in paths.items() if flag not in given}
    for flag, path in paths.items():
        path.write_bytes(f"what was there before {flag}\n".encode())
    return paths


def fails(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str, code: int = 2) -> str:
    """The one stderr line of ``gatekit train ARGS -q``, which must fail with ``code`` writing nothing.

    Each output flag that ``args`` do not give is added, naming a file that
    exists; after the run each holds what it held, and nothing else is in
    their folder (no temporary file left behind).
    """
    outputs = _outputs(tmp_path / "out", args)
    before = {path: path.read_bytes() for path in outputs.values()}
    extra = [word for flag, path in outputs.items() for word in (flag, str(path))]
    assert main(["train", *args, "-q", *extra]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert {path: path.read_bytes() for path in outputs.values()} == before
    assert sorted(os.listdir(tmp_path / "out")) == sorted(path.name for path in outputs.values())
    return lines[0]


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def without_train(graph: str) -> str:
    """The text of ``graph`` up to its ``train:`` section."""
    source = Path(graph).read_text()
    return source[: source.index("\ntrain:\n") + 1]


# -- the solver: every key, located in its file -----------------------------------------------------

KEYS = "optimizer, lr, schedule, warmup, steps, epochs, batch_size, shuffle, seed, clip_norm, freeze, eval, "
KEYS += "log_every, checkpoint_every"
OPTIMIZERS = "sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad"
SCHEDULES = "constant, step, exponential, cosine, linear"

#: (a solver file, where its error is, the message)
SOLVER_ERRORS = [
    # unknown keys and names: the known ones, or the likely one
    ("stpes: 3", "1:1", f"unknown solver key 'stpes' (expected one of: {KEYS}, weight_decay)"),
    (
        "optimizer: adam\nbeta: 0.9",
        "2:1",
        f"unknown solver key 'beta' (expected one of: {KEYS}, beta1, beta2, eps, weight_decay)",
    ),
    ("optimizer: adma", "1:12", "unknown optimizer 'adma' (did you mean 'adam'?)"),
    ("optimizer: lbfgs", "1:12", f"unknown optimizer 'lbfgs' (the optimizers: {OPTIMIZERS})"),
    ("optimizer: [adam]", "1:12", "optimizer must be text, got a list"),
    ("optimizer: {lr: 0.1}", "1:12", f"optimizer has no 'name:' (one of {OPTIMIZERS})"),
    (
        "optimizer: {name: sgd, beta1: 0.9}",
        "1:24",
        "optimizer sgd has no setting 'beta1' (it takes: weight_decay)",
    ),
    ("schedule: cosin", "1:11", "unknown schedule 'cosin' (did you mean 'cosine'?)"),
    ("schedule: onecycle", "1:11", f"unknown schedule 'onecycle' (the schedules: {SCHEDULES})"),
    ("schedule: {step_size: 3}", "1:11", f"schedule has no 'name:' (one of {SCHEDULES})"),
    (
        "schedule: {name: cosine, gamma: 0.5}",
        "1:26",
        "schedule cosine has no setting 'gamma' (it takes: eta_min)",
    ),
    (
        "schedule: {name: constant, gamma: 0.5}",
        "1:28",
        "schedule constant has no setting 'gamma' (it takes: none)",
    ),
    # an optimizer's or a schedule's settings: numbers, within their bounds
    (
        "optimizer: adam\nbeta1: 1",
        "2:8",
        "'beta1' of optimizer adam: must be at least 0 and less than 1, got 1.0",
    ),
    ("optimizer: adam\neps: -1e-8", "2:6", "'eps' of optimizer adam: must be at least 0, got -1e-08"),
    (
        "optimizer: adam\nbeta2: high",
        "2:8",
        "'beta2' of optimizer adam must be a number, got the text 'high'",
    ),
    ("weight_decay: .inf", "1:15", "'weight_decay' of optimizer sgd: must be a finite number, got inf"),
    (
        "optimizer: {name: rmsprop, centered: 0.5}",
        "1:38",
        "'centered' of optimizer rmsprop: must be a whole number, got 0.5",
    ),
    (
        "schedule: {name: step, step_size: 0}",
        "1:35",
        "'step_size' of schedule step: must be at least 1, got 0.0",
    ),
    (
        "schedule: {name: step, step_size: 2.5}",
        "1:35",
        "'step_size' of schedule step: must be a whole number, got 2.5",
    ),
    (
        "schedule: {name: step, gamma: fast}",
        "1:31",
        "'gamma' of schedule step must be a number, got the text 'fast'",
    ),
    # the solver's own keys
    ("lr: 0", "1:5", "lr must be a finite number above 0, got 0"),
    ("lr: -0.1", "1:5", "lr must be a finite number above 0, got -0.1"),
    ("lr: .inf", "1:5", "lr must be a finite number above 0, got .inf"),
    ("lr: .nan", "1:5", "lr must be a finite number above 0, got .nan"),
    (
        "lr: nan",
        "1:5",
        "lr must be a number, got the text 'nan' (YAML writes infinity .inf or -.inf, and not-a-number .nan)",
    ),
    ("lr: '0.1'", "1:5", "lr must be a number, got the text '0.1'"),
    ("lr: 1e400", "1:5", "the number 1e400 is too large for a float"),
    ("clip_norm: 0", "1:12", "clip_norm must be a finite number above 0, got 0"),
    ("steps: 0", "1:8", "steps must be a whole number of at least 1, got 0"),
    ("steps: 2.5", "1:8", "steps must be a whole number of at least 1, got 2.5"),
    ("steps: 1e19", "1:8", "steps must be a whole number of at least 1, got 1e19"),
    ("steps: ten", "1:8", "steps must be a number, got the text 'ten'"),
    ("epochs: -1", "1:9", "epochs must be a whole number of at least 1, got -1"),
    ("steps: 3\nepochs: 2", "2:9", "give steps or epochs, not both"),
    (
        "lr: 0.1",
        "1:1",
        "the solver says neither steps: nor epochs: (how long to train); give one, or --steps",
    ),
    (
        "lr: 0.1\nsteps: null",
        "1:1",
        "the solver says neither steps: nor epochs: (how long to train); give one, or --steps",
    ),
    ("batch_size: 0", "1:13", "batch_size must be a whole number of at least 1, got 0"),
    ("seed: -1", "1:7", "the solver's seed must be a whole number of at least 0, got -1"),
    ("log_every: 0", "1:12", "log_every must be a whole number of at least 1, got 0"),
    ("checkpoint_every: 1.5", "1:19", "checkpoint_every must be a whole number of at least 1, got 1.5"),
    ("shuffle: 'yes'", "1:10", "shuffle must be true or false, got the text 'yes'"),
    ("shuffle: 1", "1:10", "shuffle must be true or false, got a number (1)"),
    ("shuffle: [true]", "1:10", "shuffle must be true or false, got a list"),
    # warmup: a number of steps, or {steps:, start_factor:}
    ("warmup: -1", "1:9", "'steps' of warmup: must be at least 0, got -1.0"),
    ("warmup: 2.5", "1:9", "'steps' of warmup: must be a whole number, got 2.5"),
    ("warmup: [2]", "1:9", "'steps' of warmup must be a number, got a list"),
    ("warmup: {start_factor: 0.5}", "1:9", "'warmup:' has no 'steps:' (how many steps it lasts)"),
    (
        "warmup: {steps: 2, start_factor: 0}",
        "1:34",
        "'start_factor' of warmup: must be greater than 0 and at most 1, got 0.0",
    ),
    (
        "warmup: {steps: 2, factor: 0.5}",
        "1:20",
        "warmup has no setting 'factor' (it takes: steps, start_factor)",
    ),
    # eval: {split:} or {data:}, and every
    ("eval: 0.2", "1:7", "'eval:' must be a mapping, got a number (0.2)"),
    ("eval: {split: 0.2, evry: 5}", "1:20", "'eval:' has no setting 'evry' (it takes: data, split, every)"),
    (
        "eval: {every: 5}",
        "1:7",
        "'eval:' takes either data: (a file of held-out rows) or split: (a fraction)",
    ),
    (
        "eval: {data: held.csv, split: 0.2}",
        "1:7",
        "'eval:' takes either data: (a file of held-out rows) or split: (a fraction)",
    ),
    ("eval: {split: 1}", "1:15", "eval split must be a fraction above 0 and below 1, got 1"),
    ("eval: {split: 0}", "1:15", "eval split must be a fraction above 0 and below 1, got 0"),
    ("eval: {split: 0.2, every: 0}", "1:27", "eval every must be a whole number of at least 1, got 0"),
    ("eval: {data: [a.csv]}", "1:14", "eval data (a file) must be text, got a list"),
    # freeze: a list of names
    ("freeze: w", "1:9", "'freeze:' must be a list, got the text 'w'"),
    ("freeze: [null]", "1:10", "each param of 'freeze:' must be text, got null"),
    # the file itself
    ("- steps: 3", "1:1", "the solver must be a mapping, got a list"),
    ("steps: 3\nsteps: 4", "2:1", "duplicate key 'steps' in the solver (first at line 1, column 1)"),
    ("steps: &n 3\nlog_every: *n", "2:1", "YAML aliases (*name) are not allowed in a circuit file"),
    ("lr: [", "2:1", "invalid YAML: while parsing a flow node: did not find expected node content"),
    ("", "1:1", "the file is empty"),
]


@pytest.mark.parametrize(
    ("text", "place", "message"), SOLVER_ERRORS, ids=[t or "empty" for t, _, _ in SOLVER_ERRORS]
)
def test_every_bad_solver_key_is_one_line_located_in_the_solver_file(
    capsys, tmp_path: Path, text: str, place: str, message: str
) -> None:
    solver = write(tmp_path / "solver.yaml", text + "\n" if text else "")
    assert fails(capsys, tmp_path, *LINEAR, "--solver", solver) == f"error: {solver}:{place}: {message}"


@pytest.mark.parametrize(("text", "place", "message"), SOLVER_ERRORS[:3])
def test_the_same_errors_in_the_train_section_are_located_in_the_circuit_file(
    capsys, tmp_path: Path, text: str, place: str, message: str
) -> None:
    head = without_train(GRAPH)
    line, column = (int(number) for number in place.split(":"))
    graph = write(tmp_path / "g.yaml", head + "train:\n" + textwrap.indent(text, "  ") + "\n")
    lines = head.count("\n") + 1  # the line of train:
    assert (
        fails(capsys, tmp_path, graph, "--inputs", CSV)
        == f"error: {graph}:{lines + line}:{column + 2}: {message}"
    )


def test_a_train_section_that_is_not_a_mapping_is_located(capsys, tmp_path: Path) -> None:
    graph = write(tmp_path / "g.yaml", without_train(GRAPH) + "train: 300\n")
    line = Path(graph).read_text().count("\n")
    assert fails(capsys, tmp_path, graph, "--inputs", CSV) == (
        f"error: {graph}:{line}:8: 'train:' must be a mapping of the solver's settings"
    )


def test_a_solver_given_in_python_is_located_in_its_settings() -> None:
    circuit = gatekit.load(GRAPH)
    with pytest.raises(GraphError) as info:
        gatekit.train(circuit, linear_data(), {"lr": -1, "steps": 3})
    assert str(info.value) == "<solver>:1:6: lr must be a finite number above 0, got -1"
    with pytest.raises(UsageError) as unplain:
        gatekit.train(circuit, linear_data(), {"lr": 1j, "steps": 3})
    assert str(unplain.value) == (
        "the solver's settings must be plain numbers, text and lists: ('cannot represent an object', 1j)"
    )


def test_a_missing_unreadable_or_foreign_solver_file(capsys, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.yaml")
    assert fails(capsys, tmp_path, *LINEAR, "--solver", missing) == (
        f"error: {missing}: cannot read the file: No such file or directory"
    )
    (tmp_path / "folder.yaml").mkdir()
    folder = str(tmp_path / "folder.yaml")
    assert fails(capsys, tmp_path, *LINEAR, "--solver", folder) == (
        f"error: {folder}: cannot read the file: not a regular file (a pipe, a device or a folder)"
    )
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"lr: 0.1 # \xe9\n")
    assert fails(capsys, tmp_path, *LINEAR, "--solver", str(latin)) == (
        f"error: {latin}:1:11: the file is not UTF-8 text (byte 0xe9)"
    )
    tagged = write(tmp_path / "tagged.yaml", "steps: !!python/object:os.system 3\n")
    assert fails(capsys, tmp_path, *LINEAR, "--solver", tagged) == (
        f"error: {tagged}:1:8: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed in a "
        "circuit file"
    )


def test_a_circuit_without_a_solver_says_how_to_give_one(capsys, tmp_path: Path) -> None:
    graph = write(tmp_path / "g.yaml", without_train(GRAPH))
    assert fails(capsys, tmp_path, graph, "--inputs", CSV) == (
        f"error: {graph} has no train: section: add one, give a solver file (--solver FILE), "
        "or at least the number of steps (--steps N)"
    )
    assert main(["train", graph, "--inputs", CSV, "--steps", "2", "-q"]) == 0  # the defaults, for 2 steps


# -- what the solver asks of the circuit and the data, checked before the first step ----------------


#: (a solver file, where its error is, the message: the solver is read, then found wrong for this run)
RUN_ERRORS = [
    ("freeze: [w, q]\nsteps: 3", "1:13", f"freeze: 'q' is no param of {GRAPH}"),
    ("freeze: [w, b]\nsteps: 3", "1:1", "every param is frozen: there is nothing to fit"),
    ("warmup: 5\nsteps: 5", "1:1", "the warmup lasts 5 steps, the whole run 5: it must be shorter"),
    (
        "steps: 3\nwarmup: {steps: 4}",
        "2:1",
        "the warmup lasts 4 steps, the whole run 3: it must be shorter",
    ),
    (
        "epochs: 1\nbatch_size: 10\nwarmup: 4",  # one epoch of 4 batches of 10 rows: a run of 4 steps
        "3:1",
        "the warmup lasts 4 steps, the whole run 4: it must be shorter",
    ),
    ("eval: {split: 0.99}\nsteps: 3", "1:1", "eval split 0.99 of 40 rows leaves none to train on"),
]


@pytest.mark.parametrize(("text", "place", "message"), RUN_ERRORS)
def test_a_solver_that_does_not_fit_the_circuit_or_the_data(
    capsys, tmp_path: Path, text: str, place: str, message: str
) -> None:
    solver = write(tmp_path / "solver.yaml", text + "\n")
    assert fails(capsys, tmp_path, *LINEAR, "--solver", solver) == f"error: {solver}:{place}: {message}"


def test_a_flag_that_shortens_the_run_below_the_warmup_is_refused_at_the_warmup(
    capsys, tmp_path: Path
) -> None:
    solver = write(tmp_path / "solver.yaml", "steps: 20\nwarmup: 5\n")
    assert fails(capsys, tmp_path, *LINEAR, "--solver", solver, "--steps", "3") == (
        f"error: {solver}:2:1: the warmup lasts 5 steps, the whole run 3: it must be shorter"
    )


#: (the flags, the message: a flag's value is its own, so no place but the flag)
FLAG_ERRORS = [
    (["--lr", "0"], "--lr: give a finite number above 0, got 0.0"),
    (["--lr", "-1"], "--lr: give a finite number above 0, got -1.0"),
    (["--lr", "nan"], "--lr: give a finite number above 0, got nan"),
    (["--lr", "inf"], "--lr: give a finite number above 0, got inf"),
    (["--steps", "0"], "--steps: give a whole number of at least 1, got 0"),
    (["--epochs", "-2"], "--epochs: give a whole number of at least 1, got -2"),
    (["--batch-size", "0"], "--batch-size: give a whole number of at least 1, got 0"),
    (["--checkpoint-every", "0"], "--checkpoint-every: give a whole number of at least 1, got 0"),
    (["--seed", "-1"], "--seed: give a whole number from 0 to 2**63 - 1, got -1"),
    (["--seed", str(2**63)], f"--seed: give a whole number from 0 to 2**63 - 1, got {2**63}"),
    (["--set", "w"], "--set w: expected NAME=VALUE, for example --set x0=1.5"),
    (
        ["--set", "ww=1"],
        f"--set ww=1: name 'ww' names no input or param of {GRAPH}; did you mean 'w'? "
        "(inputs: x, y; params: w, b)",
    ),
]


@pytest.mark.parametrize(("flags", "message"), FLAG_ERRORS, ids=[" ".join(f) for f, _ in FLAG_ERRORS])
def test_a_bad_flag_overrides_nothing_and_says_which_flag(
    capsys, tmp_path: Path, flags: list[str], message: str
) -> None:
    assert fails(capsys, tmp_path, *LINEAR, *flags) == f"error: {message}"


#: (train()'s keyword overrides, the message)
OVERRIDE_ERRORS = [
    (
        {"stpes": 3},
        "unknown override 'stpes' (the overrides: steps, epochs, batch_size, seed, lr, checkpoint_every)",
    ),
    ({"steps": "3"}, "--steps: give a whole number, got '3'"),
    ({"steps": 2.5}, "--steps: give a whole number, got 2.5"),
    ({"epochs": True}, "--epochs: give a whole number, got True"),
    ({"lr": "0.1"}, "--lr: give a number, got '0.1'"),
    ({"lr": 0}, "--lr: give a finite number above 0, got 0"),
    ({"seed": np.int64(-1)}, "--seed: give a whole number from 0 to 2**63 - 1, got -1"),
]


@pytest.mark.parametrize(("overrides", "message"), OVERRIDE_ERRORS, ids=[str(o) for o, _ in OVERRIDE_ERRORS])
def test_a_bad_override_in_python_is_a_usage_error(overrides: dict[str, Any], message: str) -> None:
    circuit = gatekit.load(GRAPH)
    with pytest.raises(UsageError) as info:
        gatekit.train(circuit, linear_data(), **overrides)
    assert str(info.value) == message


def test_overrides_in_python_are_taken_as_numbers() -> None:
    config, _ = solver_for(gatekit.load(GRAPH), None, overrides={"steps": np.int64(4), "lr": 1})
    assert (config.steps, config.lr) == (4, 1.0)
    assert type(config.steps) is int and type(config.lr) is float


# -- the data ---------------------------------------------------------------------------------------


#: (a data file's name and text, the message after "error: FILE: " as --inputs, and as eval: {data:})
DATA_ERRORS = [
    (
        "params.csv",
        "w,x,y\n1,2,3\n",
        "the data names 'w', a param: params are fitted, inputs are fed (as data)",
        "the held-out data names 'w', a param: params are fitted, inputs are fed (as data)",
    ),
    (
        "number.json",
        '{"x": 1.0, "y": [1.0, 2.0]}',
        "the training data: 'x' is one number, not rows of data (a list, a column)",
        "the held-out data: 'x' is one number, not rows of data (a list, a column)",
    ),
    (
        "ragged.json",
        '{"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]}',
        "the training data: the arrays must have as many rows each, got x 3, y 2",
        "the held-out data: the arrays must have as many rows each, got x 3, y 2",
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "message", "held_out"), DATA_ERRORS, ids=[d[0] for d in DATA_ERRORS]
)
def test_data_that_cannot_be_fed_are_refused_naming_their_file(
    capsys, tmp_path: Path, name: str, text: str, message: str, held_out: str
) -> None:
    data = write(tmp_path / name, text)
    assert fails(capsys, tmp_path, GRAPH, "--inputs", data) == f"error: {data}: {message}"
    # the same rows as held-out data: checked before the first step too, not used as they come
    solver = write(tmp_path / "solver.yaml", f"steps: 3\neval: {{data: {name}}}\n")  # beside the solver
    assert fails(capsys, tmp_path, *LINEAR, "--solver", solver) == f"error: {data}: {held_out}"


def test_a_missing_held_out_file_is_named_where_the_solver_puts_it(capsys, tmp_path: Path) -> None:
    solver = write(tmp_path / "solver.yaml", "steps: 3\neval: {data: held/out.csv}\n")
    assert fails(capsys, tmp_path, *LINEAR, "--solver", solver) == (
        f"error: {tmp_path / 'held' / 'out.csv'}: cannot read the file: No such file or directory"
    )


def test_a_data_file_naming_no_leaf_and_a_circuit_without_data(capsys, tmp_path: Path) -> None:
    data = write(tmp_path / "z.csv", "z,y\n1,2\n")
    assert fails(capsys, tmp_path, GRAPH, "--inputs", data) == (
        f"error: {data}:1: column 'z' names no input or param of {GRAPH} (inputs: x, y; params: w, b)"
    )
    neuron = str(GRAPHS / "neuron.yaml")  # its inputs are numbers: nothing to feed row by row
    assert fails(capsys, tmp_path, neuron, "--steps", "3") == (
        "error: no data: give --inputs FILE with the inputs to feed"
    )


def test_data_given_in_python() -> None:
    circuit = gatekit.load(GRAPH)
    with pytest.raises(UsageError) as info:
        gatekit.train(circuit, {"z": np.zeros(3)}, steps=2)
    assert str(info.value) == f"the data names 'z', which is no input of {GRAPH}"
    with pytest.raises(UsageError) as info:
        gatekit.train(circuit, {}, steps=2)
    assert str(info.value) == "no data: give --inputs FILE with the inputs to feed"
    with pytest.raises(UsageError) as info:
        gatekit.train(circuit, linear_data(), steps=2, eval_data={"z": np.zeros(3)})
    assert str(info.value) == f"the held-out data names 'z', which is no input of {GRAPH}"
    with pytest.raises(UsageError) as info:
        gatekit.train(circuit, linear_data(), steps=2, eval_data={})
    assert str(info.value) == "the held-out data: no data"
    trainer = Trainer(circuit, linear_data(), solver_for(circuit, None, overrides={"steps": 2})[0])
    with pytest.raises(UsageError) as info:
        trainer.evaluate()
    assert str(info.value) == "no held-out data (the solver has no eval:)"


def test_batches_and_splits_refuse_what_the_trainer_never_gives_them() -> None:
    with pytest.raises(UsageError) as info:
        Batches({}, None, shuffle=False, seed=0)
    assert str(info.value) == "the training data: no data"
    with pytest.raises(UsageError) as info:
        split_rows({}, 0.5, 0)
    assert str(info.value) == "the data: no data"
    with pytest.raises(UsageError) as info:
        split_rows({"x": np.zeros(3), "y": np.zeros(2)}, 0.5, 0)
    assert str(info.value) == "the data: the arrays must have as many rows each, got x 3, y 2"


def test_a_batch_larger_than_the_data_is_the_whole_data_set() -> None:
    circuit = gatekit.load(GRAPH)
    result = gatekit.train(circuit, linear_data(), {"epochs": 3, "batch_size": 1000})
    assert result.total == 3  # one step an epoch, of every row: no error


def test_a_loss_that_is_not_a_number_is_located_at_outputs(capsys, tmp_path: Path) -> None:
    graph = write(
        tmp_path / "g.yaml",
        """\
        inputs: {x: [1.0, 2.0]}
        params: {w: 1.0}
        gates:
          m: {gate: mul, in: [w, x]}
        outputs: [m]
        """,
    )
    assert fails(capsys, tmp_path, graph, "--steps", "3") == (
        f"error: {graph}:5:11: the loss, 'm' (outputs[0]), must be a number; it is an array of shape (2,): "
        "average it with a mean gate"
    )


def test_a_non_finite_loss_a_gate_cannot_be_blamed_for_still_names_the_step() -> None:
    # the step run again to find the gate finds every value finite (a plugin that changed its mind)
    circuit = gatekit.load(GRAPH)
    trainer = Trainer(circuit, linear_data(), solver_for(circuit, None, overrides={"steps": 2})[0],
                      fixed={"w": 1e200})  # fmt: skip

    class Forgetful:
        def __init__(self) -> None:
            self.definition, self.file = circuit.definition, circuit.file

        def run(self, values: Any, check_finite: bool = False) -> Any:
            return None if check_finite else circuit.run(values)

    trainer.circuit = Forgetful()
    with pytest.raises(TrainingError) as info:
        trainer.train()
    assert str(info.value) == "step 1: the loss 'loss' is inf"
    assert info.value.exit_code == 1 and info.value.location is None


def test_a_gradient_that_stops_being_finite_ends_the_run_with_exit_1(capsys, tmp_path: Path) -> None:
    graph = write(
        tmp_path / "g.yaml",
        """\
        inputs: {x: [1.0, 4.0]}
        params: {w: 0.0}
        gates:
          s: {gate: sqrt, in: [w]}
          m: {gate: mul, in: [s, x]}
          loss: {gate: mean, in: [m]}
        outputs: [loss]
        """,
    )
    line = fails(capsys, tmp_path, graph, "--steps", "5", "--checkpoint-every", "1", code=1)
    assert line == (
        f"error: {graph}:4:3: step 1: the gradient of 'w' is not finite; gate 's' (sqrt, plugin "
        "'gatekit.gates.elementary:sqrt') produced inf in the backward pass, in the gradient for input 0, "
        "from inputs (0.0)"
    )


# -- resuming: the checkpoint is read, checked and refused before anything runs ---------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint of the linear regression after 3 steps, batches of 10."""
    path = tmp_path_factory.mktemp("checkpoint") / "ck.npz"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GATEKIT_DISABLE_PLUGIN_AUTOLOAD", "1")
        args = ["train", *LINEAR, "--steps", "3", "--batch-size", "10", "-q", "--checkpoint", str(path)]
        assert main(args) == 0
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def _without(*keys: str) -> Callable[[dict[str, np.ndarray]], None]:
    def change(state: dict[str, np.ndarray]) -> None:
        for key in keys:
            del state[key]

    return change


def _with(**arrays: Any) -> Callable[[dict[str, np.ndarray]], None]:
    def change(state: dict[str, np.ndarray]) -> None:
        state.update({key.replace("__", "/"): np.asarray(value) for key, value in arrays.items()})

    return change


FIT = "the checkpoint does not fit"
DATA_FIT = f"{FIT} the data:"
SGD = f"{FIT} optimizer 'sgd': ValueError: optimizer 'sgd':"
NOT_OURS = "not a gatekit checkpoint:"
EXPECTED = "expected 'gatekit checkpoint 1'"
DAMAGED = "a damaged checkpoint:"
PLACE = f"{DATA_FIT} its data/epoch or data/position is not a place in the data"
ORDER = f"{DATA_FIT} its data/order is not an order of the rows"
RNG = f"{DATA_FIT} its data/rng is not a generator's state"


def _another_optimizer_s(state: dict[str, np.ndarray]) -> None:
    """A checkpoint of before meta/optimizer, of adam, resumed with sgd."""
    del state["meta/optimizer"]
    state["optimizer/exp_avg/w"] = np.array(0.0)


#: (what is wrong, how a good checkpoint is changed, the message after "error: CHECKPOINT: ")
CHECKPOINT_ERRORS = [
    ("no meta/format", _without("meta/format"), f"{NOT_OURS} it has no meta/format ({EXPECTED})"),
    (
        "another format",
        _with(meta__format=text_array("keras 3")),
        f"{NOT_OURS} its meta/format is 'keras 3', {EXPECTED}",
    ),
    (
        "a format not text",
        _with(meta__format=[1000.0]),
        f"{NOT_OURS} its meta/format is not text ({EXPECTED})",
    ),
    (
        "a format not UTF-8",
        _with(meta__format=np.array([255], dtype=np.uint8)),
        f"{NOT_OURS} its meta/format is not text ({EXPECTED})",
    ),
    ("no step", _without("step"), f"{DAMAGED} its 'step' is not a whole number"),
    ("a fraction of a step", _with(step=1.5), f"{DAMAGED} its 'step' is not a whole number"),
    ("steps", _with(step=[1, 2]), f"{DAMAGED} its 'step' is not a whole number"),
    ("a param missing", _without("params/w"), f"the checkpoint holds the params b; {GRAPH} has b, w"),
    (
        "no params",
        _without("params/w", "params/b"),
        f"the checkpoint holds the params none; {GRAPH} has b, w",
    ),
    ("a param more", _with(params__v=0.5), f"the checkpoint holds the params b, v, w; {GRAPH} has b, w"),
    ("a param's shape", _with(params__w=np.zeros(3)), "param 'w' has shape (3,) in the checkpoint, () here"),
    ("an optimizer not text", _with(meta__optimizer=[1000.0]), f"{DAMAGED} its meta/optimizer is not text"),
    (
        "another optimizer's state",
        _another_optimizer_s,
        f"{SGD} the saved state holds 'exp_avg/w', which it does not keep (it keeps: step)",
    ),
    ("no optimizer step", _without("optimizer/step"), f"{SGD} the saved state has no 'step'"),
    (
        "optimizer steps",
        _with(optimizer__step=[1, 2]),
        f"{SGD} the saved 'step' must be a count, got array([1., 2.]) of float64",
    ),
    (
        "a fraction of an optimizer step",
        _with(optimizer__step=1.5),
        f"{SGD} the saved 'step' must be a count, got array(1.5) of float64",
    ),
    (
        "other data",
        _with(data__order=np.arange(30)),
        f"{DATA_FIT} it was made on 30 rows of data; this data has 40",
    ),
    ("no data/epoch", _without("data/epoch"), f"{DATA_FIT} it has no data/epoch"),
    ("no data/rng", _without("data/rng"), f"{DATA_FIT} it has no data/rng"),
    ("an order of repeats", _with(data__order=np.zeros(40)), ORDER),
    ("a table for an order", _with(data__order=np.zeros((40, 2))), ORDER),
    ("a position past the data", _with(data__position=41), PLACE),
    ("a fraction of an epoch", _with(data__epoch=0.5), PLACE),
    ("epochs", _with(data__epoch=[1, 2]), PLACE),
    ("an rng not text", _with(data__rng=[1000.0]), f"{RNG} (not a text (an array of bytes))"),
    (
        "an rng not JSON",
        _with(data__rng=text_array("nope")),
        f"{RNG} (Expecting value: line 1 column 1 (char 0))",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [c[1:] for c in CHECKPOINT_ERRORS], ids=[c[0] for c in CHECKPOINT_ERRORS]
)
def test_a_checkpoint_that_cannot_be_resumed_is_refused_naming_it(
    capsys, tmp_path: Path, checkpoint: dict[str, np.ndarray], change: Callable[..., None], message: str
) -> None:
    state = dict(checkpoint)
    change(state)
    path = tmp_path / "resume.npz"
    np.savez(path, **state)
    args = [*LINEAR, "--steps", "6", "--batch-size", "10", "--resume", str(path)]
    assert fails(capsys, tmp_path, *args) == f"error: {path}: {message}"


def test_a_checkpoint_that_is_no_npz_file(capsys, tmp_path: Path, checkpoint: dict[str, np.ndarray]) -> None:
    missing = tmp_path / "nowhere.npz"
    assert fails(capsys, tmp_path, *LINEAR, "--resume", str(missing)) == (
        f"error: {missing}: cannot read the file: No such file or directory"
    )
    text = tmp_path / "text.npz"
    text.write_text("step: 3\n")
    assert fails(capsys, tmp_path, *LINEAR, "--resume", str(text)) == (
        f"error: {text}: not a .npz file (a zip of NumPy arrays, as numpy.savez writes)"
    )
    whole = tmp_path / "whole.npz"
    np.savez(whole, **checkpoint)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole.read_bytes()[:300])
    assert fails(capsys, tmp_path, *LINEAR, "--resume", str(cut)) == (
        f"error: {cut}: not a readable .npz file (File is not a zip file)"
    )


def _drop(state: dict[str, np.ndarray], key: str) -> dict[str, np.ndarray]:
    return {name: value for name, value in state.items() if name != key}


def test_a_state_given_in_python_is_checked_as_a_checkpoint_is(checkpoint: dict[str, np.ndarray]) -> None:
    circuit = gatekit.load(GRAPH)
    trainer = Trainer(circuit, linear_data(), solver_for(circuit, None, overrides={"steps": 6})[0])
    for step in (1.5, -1, [1, 2], None):
        state = {**checkpoint, "step": step} if step is not None else _drop(checkpoint, "step")
        with pytest.raises(UsageError) as info:
            trainer.load_state(state)
        assert str(info.value) == "a damaged checkpoint: its 'step' is not a whole number"
    assert trainer.step == 0 and trainer.values() == {"w": 1.0, "b": 0.0}  # nothing was changed


# -- the files it writes: refused before it starts ----------------------------------------------------


def test_an_output_that_cannot_be_written_is_refused_before_the_run(capsys, tmp_path: Path) -> None:
    (tmp_path / "folder.npz").mkdir()
    at = {
        name: str(tmp_path / name) for name in ("t.json", "t", "ck.yaml", "folder.npz", "log.txt", "loss.jpg")
    }
    missing = str(tmp_path / "no" / "log.csv")
    trained = "the trained circuit can be written to .yaml, .yml"
    cases = [
        (["-o", at["t.json"]], f"{at['t.json']}: unsupported file type '.json'; {trained} only"),
        (["-o", at["t"]], f"{at['t']}: no file extension; {trained} only"),
        (["-o", ""], f"'': no file name given; {trained}"),
        (["--checkpoint", at["ck.yaml"]],
         f"{at['ck.yaml']}: unsupported file type '.yaml'; the checkpoint can be written to .npz only"),
        (["--checkpoint", at["folder.npz"]], f"{at['folder.npz']}: is a folder, not a file"),
        (["--log", at["log.txt"]],
         f"{at['log.txt']}: unsupported file type '.txt'; the training log can be written to .csv, .jsonl "
         "only"),
        (["--log", missing],
         f"{missing}: cannot write the file: the folder {str(tmp_path / 'no')!r} does not exist"),
        (["--plot", at["loss.jpg"]],
         f"{at['loss.jpg']}: unsupported file type '.jpg'; the loss curve can be written to .png, .svg only"),
    ]  # fmt: skip
    for flags, message in cases:
        assert fails(capsys, tmp_path, *LINEAR, *flags) == f"error: {message}", flags
    assert sorted(os.listdir(tmp_path)) == ["folder.npz", "out"]


def test_two_outputs_that_are_one_file_are_refused(capsys, tmp_path: Path) -> None:
    trained = tmp_path / "out" / "trained.yaml"  # the file fails() gives -o
    link = tmp_path / "log.csv"
    link.symlink_to(trained)
    assert (
        fails(capsys, tmp_path, *LINEAR, "--log", str(link))
        == f"error: {link}: --log and -o name the same file"
    )
    assert link.is_symlink()


def test_a_plot_without_matplotlib_says_which_extra_to_install(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    plot = str(tmp_path / "loss.png")
    assert fails(capsys, tmp_path, *LINEAR, "--plot", plot) == (
        "error: --plot needs matplotlib, which is not installed: pip install 'gatekit-circuits[plot]'"
    )
    assert not os.path.exists(plot)


def test_a_circuit_file_that_cannot_be_read(capsys, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.yaml")
    assert fails(capsys, tmp_path, missing, "--steps", "3") == (
        f"error: {missing}: cannot read the file: No such file or directory"
    )
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"inputs: {x: [1.0]}  # caf\xe9\n")
    assert fails(capsys, tmp_path, str(latin), "--steps", "3") == (
        f"error: {latin}:1:26: the file is not UTF-8 text (byte 0xe9)"
    )


# -- plugins' optimizers and schedules: their faults, named ------------------------------------------

PLUGIN = """
    import math

    from gatekit import hookimpl
    from gatekit.training.optimizers import Optimizer
    from gatekit.training.schedules import Schedule
    from gatekit.training.settings import Setting


    class NoStart(Optimizer):
        name = "nostart"
        doc = "Refuses to start."

        def __init__(self, settings):
            raise RuntimeError("no licence")

        def step(self, params, grads, lr):
            pass


    class Stumble(Optimizer):
        name = "stumble"
        doc = "Fails at its first step."

        def step(self, params, grads, lr):
            raise ZeroDivisionError("tripped")


    class Broken(Schedule):
        name = "broken"
        doc = "Refuses to start."

        def __init__(self, settings):
            raise ValueError("bad day")

        def lr(self, step, base_lr, total_steps):
            return base_lr


    class Raising(Schedule):
        name = "raising"
        doc = "Raises at the third step."

        def lr(self, step, base_lr, total_steps):
            if step == 2:
                raise KeyError(step)
            return base_lr


    class Vague(Schedule):
        name = "vague"
        doc = "Gives its kind of bad rate at the second step."
        settings = {"kind": Setting(0, "which bad rate", 0, 3, integer=True)}

        def lr(self, step, base_lr, total_steps):
            return base_lr if step == 0 else ["0.1", math.nan, -1.0, True][int(self.values["kind"])]


    @hookimpl
    def gatekit_register_optimizers():
        return [NoStart, Stumble]


    @hookimpl
    def gatekit_register_schedules():
        return [Broken, Raising, Vague]
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``-p gk_train_faults``: optimizers and schedules that fail in each way a plugin's can."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "gk_train_faults.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    yield "gk_train_faults"
    sys.modules.pop("gk_train_faults", None)


RATE = "expected a finite number of at least 0"
#: (a solver file, where its error is, the message)
PLUGIN_ERRORS = [
    ("optimizer: nostart", "1:12", "optimizer 'nostart' failed to start: RuntimeError: no licence"),
    ("schedule: broken", "1:11", "schedule 'broken' failed to start: ValueError: bad day"),
    ("optimizer: stumble", "1:1", "optimizer 'stumble' failed at step 1: ZeroDivisionError: tripped"),
    ("schedule: raising", "1:1", "schedule 'raising' failed at step 3: KeyError: 2"),
    (
        "schedule: {name: vague, kind: 0}",
        "1:1",
        f"schedule 'vague' gave the learning rate '0.1' at step 2: {RATE}",
    ),
    (
        "schedule: {name: vague, kind: 1}",
        "1:1",
        f"schedule 'vague' gave the learning rate nan at step 2: {RATE}",
    ),
    (
        "schedule: {name: vague, kind: 2}",
        "1:1",
        f"schedule 'vague' gave the learning rate -1.0 at step 2: {RATE}",
    ),
    (
        "schedule: {name: vague, kind: 3}",
        "1:1",
        f"schedule 'vague' gave the learning rate True at step 2: {RATE}",
    ),
]


@pytest.mark.parametrize(("text", "place", "message"), PLUGIN_ERRORS)
def test_a_plugin_s_optimizer_or_schedule_that_fails_is_named_at_its_setting(
    capsys, tmp_path: Path, plugin: str, text: str, place: str, message: str
) -> None:
    solver = write(tmp_path / "solver.yaml", text + "\nsteps: 5\n")
    code = 2 if "failed to start" in message else 1  # a failure while running exits 1
    line = fails(capsys, tmp_path, *LINEAR, "--solver", solver, "-p", plugin, code=code)
    assert line == f"error: {solver}:{place}: {message}"


def test_a_plugin_s_faults_are_plugin_or_run_errors_in_python(plugin: str) -> None:
    registry = default_registry([plugin], autoload=False)
    circuit = gatekit.load(GRAPH, registry=registry)
    cases = [
        (
            {"optimizer": "nostart", "steps": 3},
            "1:13: optimizer 'nostart' failed to start: RuntimeError: no licence",
        ),
        (
            {"optimizer": "stumble", "steps": 3},
            "1:2: optimizer 'stumble' failed at step 1: ZeroDivisionError: tripped",
        ),
        ({"schedule": "raising", "steps": 3}, "1:2: schedule 'raising' failed at step 3: KeyError: 2"),
    ]
    for solver, message in cases:
        error = PluginError if "failed to start" in message else RunError
        with pytest.raises(error) as info:
            gatekit.train(circuit, linear_data(), solver, registry=registry)
        assert str(info.value) == f"<solver>:{message}"  # the settings as one line: {optimizer: nostart, ...}


# -- Ctrl-C twice: at once -------------------------------------------------------------------------


def test_a_second_ctrl_c_stops_at_once_and_writes_nothing(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    take_step = Trainer.take_step

    def interrupted_twice(self: Trainer) -> Any:
        if self.step == 2:
            assert (
                signal.getsignal(signal.SIGINT) is not signal.default_int_handler
            )  # gatekit's, not pytest's
            signal.raise_signal(signal.SIGINT)  # asks for a stop after this step
            signal.raise_signal(signal.SIGINT)  # insists: KeyboardInterrupt, now
        return take_step(self)

    monkeypatch.setattr(Trainer, "take_step", interrupted_twice)
    before = signal.getsignal(signal.SIGINT)
    assert fails(capsys, tmp_path, *LINEAR, "--steps", "10", code=130) == "error: interrupted"
    assert signal.getsignal(signal.SIGINT) is before
