"""The README's examples must stay true: run them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import gatekit

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _block_after(heading: str, language: str) -> str:
    section = README[README.index(heading) :]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block after {heading!r}"
    return match.group(1)


def _gatekit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatekit", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


def test_the_neuron_file_shown_is_the_shipped_one() -> None:
    shown = _block_after("## The seed's neuron", "yaml")
    shipped = (ROOT / "graphs" / "neuron.yaml").read_text()
    for line in shown.splitlines():
        assert line in shipped.splitlines(), line


def test_the_plugin_example_works(tmp_path: Path) -> None:
    # The whole walk-through, installed, is tests/test_plugin_docs.py; here: -p NAME.
    (tmp_path / "gatekit_cube.py").write_text(_block_after("## Writing a gate plugin", "python"))
    graph = tmp_path / "cube.yaml"
    graph.write_text("inputs: {x: 2.0}\ngates:\n  y: {gate: cube, in: [x]}\noutputs: [y]\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = _gatekit("run", "-p", "gatekit_cube", str(graph), "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert '"outputs": {"y": 8.0}' in done.stdout
    assert '"grads": {"x": 12.0}' in done.stdout


def test_every_built_in_gate_is_in_the_gates_tables() -> None:
    section = README[README.index("## Gates") : README.index("## Command line")]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    named = {name for cell in first_cells for name in re.findall(r"`(\w+)`", cell)}
    assert set(gatekit.default_registry(autoload=False)) == named


def test_the_python_examples_run(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    for heading in (
        "## Python API",
        "### Arrays and batches",
        "### Whole Jacobians",
        "### Forward mode, and the gradient",
        "## Training",
    ):
        exec(compile(_block_after(heading, "python"), "README.md", "exec"), {})  # the README's own code


# -- every console block: the commands it shows print what it shows ---------------------------
# (the plugin walk-through's blocks need the plugin installed: tests/test_plugin_docs.py runs them)

WALK_THROUGH = "## Writing a gate plugin"


def console_blocks() -> list[tuple[str, list[str]]]:
    """``(command, lines shown)`` for every ``$ gatekit ...`` in a console block outside the walk-through."""
    start = README.index(WALK_THROUGH)
    end = README.index("\n## ", start + 1)
    outside = README[:start] + README[end:]
    found = []
    for block in re.findall(r"```console\n(.*?)```", outside, re.S):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.M):
            if chunk.startswith("$ "):
                command, _, shown = chunk[2:].partition("\n")
                found.append((command, shown.splitlines()))
    return found


def matches(shown: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is ``shown``, where a line ``...`` stands for any lines (none included)."""
    position = 0
    anything = False
    for line in shown:
        if line.strip() == "...":
            anything = True
            continue
        if anything:
            try:
                position = printed.index(line, position) + 1
            except ValueError:
                return False
        elif position >= len(printed) or printed[position] != line:
            return False
        else:
            position += 1
        anything = False
    return anything or position == len(printed)


def test_the_readme_shows_console_blocks() -> None:
    commands = [command for command, _ in console_blocks()]
    assert "gatekit run graphs/neuron.yaml" in commands and len(commands) >= 6


@pytest.mark.parametrize(("command", "shown"), console_blocks(), ids=[c for c, _ in console_blocks()])
def test_a_console_block_prints_what_it_shows(command: str, shown: list[str]) -> None:
    assert command.startswith("gatekit ")
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", *shlex.split(command)[1:]],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    printed = (done.stdout + done.stderr).splitlines()
    assert matches(shown, printed), "\n".join(["shown:", *shown, "printed:", *printed])


def test_ci_runs_the_two_set_up_commands_exactly_as_written() -> None:
    """``.ci/run`` runs the README's set-up commands character for character, each as a line of its own."""
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)
    assert commands == [
        "pip install . && gatekit run graphs/neuron.yaml",
        "pip install -e '.[test]' -e ./plugins/activations && python -m pytest",
    ]
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in commands:
        assert command in lines
