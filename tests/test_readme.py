"""The README's examples must stay true: run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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


def test_the_neuron_output_shown_is_what_run_prints() -> None:
    shown = _block_after("## The seed's neuron", "console").splitlines()
    assert shown[0] == "$ gatekit run graphs/neuron.yaml"
    done = _gatekit("run", "graphs/neuron.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == shown[1:]


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
    for heading in ("## Python API", "### Arrays and batches"):
        exec(compile(_block_after(heading, "python"), "README.md", "exec"), {})  # the README's own code


def test_the_explain_excerpt_is_what_explain_prints() -> None:
    shown = _block_after("`gatekit explain` writes", "console").splitlines()
    assert shown[0] == "$ gatekit explain graphs/neuron.yaml"
    done = _gatekit("explain", "graphs/neuron.yaml")
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    position = 0
    for line in shown[1:]:  # every line shown, in the order printed; "..." stands for the rest
        if line.strip() == "...":
            continue
        position = printed.index(line, position) + 1


def test_the_collapsed_module_explain_is_what_explain_prints() -> None:
    shown = _block_after("### Modules: sub-circuits used as gates", "console").splitlines()
    assert shown[0] == "$ gatekit explain graphs/neuron_modules.yaml"
    done = _gatekit("explain", "graphs/neuron_modules.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == shown[1:]
