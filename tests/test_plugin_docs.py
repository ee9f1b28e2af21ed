"""The README's "Writing a gate plugin" walk-through must stay true.

The plugin it describes is built from the README's own code blocks, without
pip: the module goes into a temporary folder next to a hand-made
``*.dist-info`` folder (``METADATA`` and an ``entry_points.txt`` generated from
the README's ``pyproject.toml``), which is all ``importlib.metadata`` needs to
see an installed distribution. The commands then run in a subprocess with
that folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## Writing a gate plugin"


def _section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(HEADING)
    end = readme.find("\n## ", start + len(HEADING))
    return readme[start:] if end < 0 else readme[start:end]


SECTION = _section()
# Every file of the plugin is a fenced block whose first line names the file:
# "# gatekit-cube/pyproject.toml".
FILES = {
    match.group(2): match.group(3)
    for match in re.finditer(r"```(\w+)\n# ([\w./-]+)\n(.*?)```", SECTION, re.S)
}
CONSOLE = re.findall(r"```console\n\$ (.*?)\n(.*?)```", SECTION, re.S)  # (command, output)


def _file(suffix: str) -> tuple[str, str]:
    """The README block for the file whose path ends with ``suffix``: (path, text)."""
    found = [(path, text) for path, text in FILES.items() if path.endswith(suffix)]
    assert len(found) == 1, f"expected one block for *{suffix} in {HEADING!r}, found {sorted(FILES)}"
    return found[0]


def _shown(command: str) -> list[str]:
    """The output the README shows for ``$ COMMAND``."""
    for shown_command, output in CONSOLE:
        if shown_command == command:
            return output.splitlines()
    raise AssertionError(f"no console block for {command!r} in {HEADING!r}")


PYPROJECT = tomllib.loads(_file("pyproject.toml")[1])
PROJECT = PYPROJECT["project"]
ENTRY_POINTS: dict[str, str] = PYPROJECT["project"]["entry-points"]["gatekit"]
MODULE_NAME = next(iter(ENTRY_POINTS.values()))  # the module the entry point loads
MODULE_PATH, MODULE = _file(f"/{MODULE_NAME}.py")
GRAPH_PATH, GRAPH = _file(".yaml")
TEST_PATH, TEST = _file("test_cube.py")
DISTRIBUTION = f"{PROJECT['name']} {PROJECT['version']}"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder that looks like site-packages with the README's plugin installed.

    The README's circuit goes next to it, in ``tmp_path``.
    """
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / Path(MODULE_PATH).name).write_text(MODULE)
    name = re.sub(r"[-_.]+", "_", PROJECT["name"]).lower()
    info = folder / f"{name}-{PROJECT['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {PROJECT['name']}\nVersion: {PROJECT['version']}\n"
    )
    lines = ["[gatekit]", *(f"{key} = {value}" for key, value in ENTRY_POINTS.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / Path(GRAPH_PATH).name).write_text(GRAPH)
    return folder


def _run(
    *args: str, path: Path, cwd: Path, autoload: bool = True, module: str = "gatekit"
) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS...`` with ``path`` in front of ``PYTHONPATH``."""
    env = {key: value for key, value in os.environ.items() if key != "GATEKIT_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    if not autoload:
        env["GATEKIT_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def _gates(site: Path, *options: str, autoload: bool = True) -> dict[str, dict[str, Any]]:
    done = _run("gates", "--json", *options, path=site, cwd=site, autoload=autoload)
    assert done.returncode == 0, done.stderr
    return {entry["name"]: entry for entry in json.loads(done.stdout)}


def test_the_readme_shows_every_file_of_the_plugin() -> None:
    assert sorted(Path(path).name for path in FILES) == sorted(
        ["pyproject.toml", Path(MODULE_PATH).name, "cube.yaml", "test_cube.py"]
    )
    folder = Path(MODULE_PATH).parent.name
    layout = re.search(r"```text\n(.*?)```", SECTION, re.S)
    assert layout, "no folder layout block"
    for path in (MODULE_PATH, _file("pyproject.toml")[0], TEST_PATH):
        assert Path(path).parent.name == folder
        assert Path(path).name in layout.group(1)
    assert f"pip install -e {folder}" in SECTION
    assert list(ENTRY_POINTS) == ["cube"]  # the name "-p no:cube" blocks


def test_the_installed_plugin_lists_its_gate_with_its_distribution(site: Path) -> None:
    gate = _gates(site)["cube"]
    assert gate["distribution"] == DISTRIBUTION == "gatekit-cube 0.1.0"
    assert gate["plugin"] == "cube:cube"
    assert gate["arity"] == 1
    assert gate["doc"] == "a ** 3"


def test_autoload_off_or_a_block_leaves_the_gate_out(site: Path) -> None:
    assert "cube" not in _gates(site, autoload=False)
    assert "cube" not in _gates(site, "-p", "no:cube")
    assert "mul" in _gates(site, autoload=False)


def test_the_circuit_runs_as_shown(site: Path) -> None:
    cwd = site.parent
    done = _run("run", Path(GRAPH_PATH).name, path=site, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == _shown(f"gatekit run {Path(GRAPH_PATH).name}")

    leaves = yaml.safe_load(GRAPH)
    x, w = leaves["inputs"]["x"], leaves["params"]["w"]
    done = _run("run", Path(GRAPH_PATH).name, "--json", path=site, cwd=cwd)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outputs"] == {"y": w * x**3}
    assert result["grads"] == {"x": w * 3 * x**2, "w": x**3}


def test_the_circuit_names_the_missing_distribution(site: Path) -> None:
    assert "requires: [gatekit-cube]" in GRAPH
    try:
        importlib.metadata.distribution(PROJECT["name"])
    except importlib.metadata.PackageNotFoundError:
        pass
    else:  # someone followed the README here: the step before installing it cannot be shown
        pytest.skip(f"{PROJECT['name']} is installed in this environment")
    graph = Path(GRAPH_PATH).name
    missing = _run("run", graph, path=site.parent, cwd=site.parent)  # the plugin not on the path
    off = _run("run", graph, path=site, cwd=site.parent, autoload=False)
    for done in (missing, off):
        assert done.returncode == 2
        assert "unknown gate 'cube'" in done.stderr
        assert repr(PROJECT["name"]) in done.stderr
    assert f"pip install {PROJECT['name']}" in missing.stderr


def test_a_quick_experiment_loads_the_module_from_its_path(site: Path) -> None:
    assert "-p path/to/gatekit_cube.py" in SECTION
    module = site / Path(MODULE_PATH).name  # not importable: the site folder is not on the path
    done = _run("run", "-p", str(module), Path(GRAPH_PATH).name, "--json", path=site.parent, cwd=site.parent)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"]["y"] == 4.0


def test_check_gate_passes_as_shown(site: Path) -> None:
    if _run("check", "--help", path=site, cwd=site).returncode != 0:
        pytest.skip("this gatekit has no check subcommand")
    shown = _shown("gatekit check --gate cube")
    done = _run("check", "--gate", "cube", path=site, cwd=site)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    assert printed[0] == shown[0]  # the header
    assert printed[-1] == shown[-1]  # the summary


def test_the_plugin_test_passes(site: Path) -> None:
    (site / Path(TEST_PATH).name).write_text(TEST)
    done = _run("-q", "-p", "no:cacheprovider", Path(TEST_PATH).name, path=site, cwd=site, module="pytest")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
