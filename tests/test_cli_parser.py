"""The command line as a new user meets it: help, bad arguments, conventions from other tools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import gatekit
from gatekit.cli import main
from gatekit.cli.parser import build

ROOT = Path(__file__).resolve().parent.parent
NEURON = str(ROOT / "graphs" / "neuron.yaml")
COMMANDS = ("run", "jacobian", "validate", "gates", "check", "explain", "draw")


def failed(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[str, str]:
    """(the usage line, the one error line) of a command line gatekit refuses."""
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[-1].startswith("error: ") and sum(line.startswith("error: ") for line in lines) == 1
    return lines[0], lines[-1]


# -- help ---------------------------------------------------------------------------------


def test_gatekit_alone_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"    {command} " in out
    assert "gatekit COMMAND --help" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_a_description_and_examples(command: str) -> None:
    subcommand = build()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    text = subcommand.format_help()
    assert subcommand.description and len(subcommand.description) > 60
    examples = text.split("examples:\n", 1)[1].splitlines()
    assert examples and all(
        line.startswith(f"  gatekit {command}") or "| gatekit" in line for line in examples
    )


def test_the_examples_in_the_help_run(tmp_path: Path) -> None:
    """Each example of `gatekit run --help` that reads only shipped files does what it says."""
    help_text = build()._subparsers._group_actions[0].choices["run"].format_help()  # type: ignore[union-attr]
    shown = [line.strip() for line in help_text.split("examples:\n", 1)[1].splitlines()]
    for example in shown:
        command = example.replace("-o run.npz", f"-o {tmp_path / 'run.npz'}")
        done = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, check=False)
        assert done.returncode == 0, (example, done.stderr)


# -- bad arguments: the subcommand's usage, one error line, exit 2 -------------------------------


def test_an_unknown_option_shows_the_subcommand_s_usage(capsys: pytest.CaptureFixture[str]) -> None:
    usage, error = failed(capsys, ["run", NEURON, "--foo"])
    assert usage.startswith("usage: gatekit run ")
    assert error == "error: gatekit run: unrecognized arguments: --foo"


def test_a_missing_argument_shows_the_subcommand_s_usage(capsys: pytest.CaptureFixture[str]) -> None:
    usage, error = failed(capsys, ["draw", NEURON])
    assert usage.startswith("usage: gatekit draw ")
    assert error == "error: gatekit draw: the following arguments are required: -o/--output"


def test_an_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    usage, error = failed(capsys, ["runn", NEURON])
    assert usage.startswith("usage: gatekit ")
    assert error.startswith("error: gatekit: argument COMMAND: invalid choice: 'runn'")


def test_a_number_that_is_not_one(capsys: pytest.CaptureFixture[str]) -> None:
    _, error = failed(capsys, ["explain", NEURON, "--digits", "many"])
    assert error == "error: gatekit explain: argument --digits: invalid int value: 'many'"


@pytest.mark.parametrize("flag", [["--points", "3"], ["--seed", "1"]])
def test_check_of_a_circuit_refuses_the_options_of_check_gate(capsys, flag: list[str]) -> None:
    assert main(["check", NEURON, *flag]) == 2
    assert capsys.readouterr().err == (
        f"error: check GRAPH: {flag[0]} applies to check --gate (a circuit is checked at its own values)\n"
    )


# -- --set ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("x0=inf", math_inf := float("inf")),
        ("x0=-Infinity", -math_inf),
        ("x0=.inf", math_inf),
    ],
)
def test_set_takes_infinity_as_people_write_it(capsys, item: str, expected: float) -> None:
    assert main(["run", NEURON, "--set", item, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["values"]["x0"] == (
        "Infinity" if expected > 0 else "-Infinity"
    )


def test_set_takes_nan(capsys) -> None:
    assert main(["run", NEURON, "--set", "x0=nan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outputs"]["f"] == "NaN"


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["x0="], "error: --set x0=: the value is missing: write --set x0=VALUE"),
        (["x0=1", "x0=2"], "error: --set x0=2: 'x0' is set twice (first by --set x0=1)"),
        (
            ["x0=[1, inf]"],
            "error: --set x0=[1, inf]: each item of the value of 'x0' must be a number, got the text 'inf' "
            "(YAML writes infinity .inf or -.inf, and not-a-number .nan)",
        ),
    ],
)
def test_set_says_what_is_wrong(capsys, items: list[str], expected: str) -> None:
    args = ["run", NEURON]
    for item in items:
        args += ["--set", item]
    assert main(args) == 2
    assert capsys.readouterr().err == expected + "\n"


# -- conventions ----------------------------------------------------------------------------


def test_a_dash_reads_the_circuit_from_standard_input() -> None:
    text = Path(NEURON).read_text()
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", "run", "-", "--json"],
        input=text, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"]["f"] == pytest.approx(0.7310585786300049, abs=1e-12)
    bad = subprocess.run(
        [sys.executable, "-m", "gatekit", "validate", "-"],
        input="inputs: {x: 1}\ngates:\n  y: {gate: mull, in: [x, x]}\noutputs: [y]\n",
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: <stdin>:3:13: unknown gate 'mull'")


def test_run_takes_dash_o_like_draw(tmp_path: Path) -> None:
    out = tmp_path / "r.npz"
    assert main(["run", NEURON, "-o", str(out)]) == 0
    assert out.exists()


@pytest.mark.parametrize(
    ("value", "loaded"),
    [("", True), ("0", True), ("false", True), ("No", True), ("1", False), ("true", False), ("ON", False)],
)
def test_autoload_values_mean_what_they_say(monkeypatch, value: str, loaded: bool) -> None:
    from gatekit.plugin.registry import autoload_from_environment

    monkeypatch.setenv("GATEKIT_DISABLE_PLUGIN_AUTOLOAD", value)
    assert autoload_from_environment() is loaded


def test_an_autoload_value_that_means_nothing_is_refused(monkeypatch, capsys) -> None:
    monkeypatch.setenv("GATEKIT_DISABLE_PLUGIN_AUTOLOAD", "maybe")
    assert main(["gates"]) == 2
    assert capsys.readouterr().err == (
        "error: GATEKIT_DISABLE_PLUGIN_AUTOLOAD='maybe': set it to 1, true, yes, on to turn plugin "
        "autoloading off, or to 0, false, no, off (or leave it unset) to leave it on\n"
    )


def test_a_block_that_blocks_nothing_is_a_warning(capsys) -> None:
    gatekit.plugin.registry._cached_registry.cache_clear()
    assert main(["gates", "-p", "no:gatekit.gates.arithmetik"]) == 0
    [warning] = capsys.readouterr().err.splitlines()
    assert warning.startswith(
        "warning: -p no:gatekit.gates.arithmetik blocks nothing: "
        "no plugin is named 'gatekit.gates.arithmetik' (plugins: "
    )
    assert "gatekit.gates.arithmetic" in warning


def test_a_gate_unknown_because_its_plugin_is_blocked_says_so(capsys) -> None:
    assert main(["run", NEURON, "-p", "no:gatekit.gates.elementary"]) == 2
    error = capsys.readouterr().err
    assert "unknown gate 'exp'" in error
    assert error.rstrip().endswith("a plugin that may provide it is blocked (-p no:gatekit.gates.elementary)")


def test_a_module_library_validates_on_its_own(capsys) -> None:
    assert main(["validate", str(ROOT / "graphs" / "lib" / "neuron.yaml")]) == 0
    assert capsys.readouterr().out == (
        f"{ROOT / 'graphs' / 'lib' / 'neuron.yaml'}: ok (a module library: 2 modules, neuron2, mse; "
        "its imports bring logistic)\n"
    )


def test_a_module_library_s_mistakes_are_found_on_its_own(tmp_path: Path, capsys) -> None:
    library = tmp_path / "lib.yaml"
    body = "    inputs: [a]\n    gates:\n      out: {gate: mull, in: [a, a]}\n    outputs: [out]\n"
    library.write_text("modules:\n  m:\n" + body)
    assert main(["validate", str(library)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {library}:5:19: unknown gate 'mull'")


def test_one_leaf_is_one_leaf(write_yaml, capsys) -> None:
    path = write_yaml("inputs: {x: 1}\ngates:\n  y: {gate: neg, in: [x]}\noutputs: [y]\n")
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok (1 leaf, 1 gate, outputs: y)\n"


def test_a_tab_is_named_as_a_tab(write_yaml, capsys) -> None:
    path = write_yaml("inputs:\n\tx: 1\noutputs: [x]\n")
    assert main(["run", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}:2:1: invalid YAML: a tab, where YAML wants spaces: indent with spaces, never tabs\n"
    )


def test_the_readme_and_the_help_name_the_same_commands_and_options() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Command line", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("| `gatekit ")]
    documented = {row.split("`")[1].split()[1] for row in rows}
    subcommands = build()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(subcommands) <= documented
    for name, subcommand in subcommands.items():
        text = " ".join(row for row in rows if row.split("`")[1].split()[1] == name)
        for action in subcommand._actions:
            if action.dest in ("help", "plugins", "inputs", "overrides") or not action.option_strings:
                continue  # -h, and the options every command shares, are described under the table
            assert any(option in text for option in action.option_strings), (name, action.option_strings)
    shared = readme.split("## Command line", 1)[1]
    for option in ("-p NAME", "-p no:NAME", "--set NAME=VALUE", "--inputs FILE"):
        assert option in shared
