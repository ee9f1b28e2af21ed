"""Shared fixtures: circuit files on disk, small test plugins, the CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Test plugins, written to a temporary folder and loaded by module name (``-p NAME``).
PLUGINS = {
    # gk_boom: one gate that raises in gate_forward, one that raises in its gradient.
    "gk_boom": """
        from gatekit import GateSpec, hookimpl


        class Boom:
            @hookimpl
            def gate_spec(self):
                return GateSpec("boom", 1, "Raises in gate_forward.")

            @hookimpl
            def gate_forward(self, inputs):
                raise ZeroDivisionError("kaboom")

            @hookimpl
            def gate_local_grad(self, inputs, output):
                return (1.0,)


        class BoomGrad:
            @hookimpl
            def gate_spec(self):
                return GateSpec("boom_grad", 1, "Raises in gate_local_grad.")

            @hookimpl
            def gate_forward(self, inputs):
                return inputs[0]

            @hookimpl
            def gate_local_grad(self, inputs, output):
                raise RuntimeError("no gradient here\\nsecond line of the message")


        @hookimpl
        def gatekit_register_gates():
            return [Boom(), BoomGrad()]
    """,
    # gk_dup_mul: claims the name of the built-in "mul".
    "gk_dup_mul": """
        from gatekit import GateSpec, hookimpl


        class Mul:
            @hookimpl
            def gate_spec(self):
                return GateSpec("mul", 2, "A second mul.", variadic=True)

            @hookimpl
            def gate_forward(self, inputs):
                return inputs[0] * inputs[1]

            @hookimpl
            def gate_local_grad(self, inputs, output):
                return (inputs[1], inputs[0])


        @hookimpl
        def gatekit_register_gates():
            return [Mul()]
    """,
    # gk_bad_hook: a gate hook with an argument the hook spec does not have.
    "gk_bad_hook": """
        from gatekit import GateSpec, hookimpl


        class Bad:
            @hookimpl
            def gate_spec(self):
                return GateSpec("bad", 1, "Misspells an argument.")

            @hookimpl
            def gate_forward(self, inputz):
                return inputz[0]

            @hookimpl
            def gate_local_grad(self, inputs, output):
                return (1.0,)


        @hookimpl
        def gatekit_register_gates():
            return [Bad()]
    """,
    # gk_bad_register: the module-level hook itself takes an unknown argument.
    "gk_bad_register": """
        from gatekit import hookimpl


        @hookimpl
        def gatekit_register_gates(registry):
            return []
    """,
}


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[..., Path]:
    """Write (dedented) YAML text to ``tmp_path/NAME`` and return the path."""

    def write(text: str, name: str = "g.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    """A folder holding the test plugin modules of :data:`PLUGINS`."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    for name, source in PLUGINS.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


@pytest.fixture
def importable_plugins(plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Put the test plugins on ``sys.path`` for in-process tests; forget them afterwards."""
    monkeypatch.syspath_prepend(str(plugin_dir))
    yield plugin_dir
    for name in PLUGINS:
        sys.modules.pop(name, None)


@pytest.fixture
def billion_laughs() -> str:
    """A small file whose aliases would expand to 10**9 numbers if followed."""
    lines = ["inputs:", "  lol0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 10):
        lines.append(f"  lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    lines += ["gates:", "  y: {gate: neg, in: [lol9]}", "outputs: [y]", ""]
    return "\n".join(lines)


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m gatekit ARGS...``; ``pythonpath`` is prepended to ``PYTHONPATH``."""

    def run(
        *args: str | os.PathLike[str], pythonpath: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        if pythonpath is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
        return subprocess.run(
            [sys.executable, "-m", "gatekit", *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
            check=False,
        )

    return run


def _chromium() -> str | None:
    """The Chromium to drive: ``GATEKIT_CHROMIUM``, or the system's (Debian's package ``chromium``)."""
    return os.environ.get("GATEKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _no_browser(problem: str) -> NoReturn:
    """Skip a browser test, or fail it where ``GATEKIT_REQUIRE_BROWSER`` says a browser must be there."""
    if os.environ.get("GATEKIT_REQUIRE_BROWSER"):
        pytest.fail(f"GATEKIT_REQUIRE_BROWSER is set, but {problem}")
    pytest.skip(problem)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Playwright, one per test module.

    Playwright drives the system's Chromium (``executable_path``): its own
    browser download is never needed. Without Playwright or Chromium the
    tests that use this skip, unless ``GATEKIT_REQUIRE_BROWSER`` is set
    (``.ci/run`` sets it, after installing Chromium): then they fail, so CI
    never skips them silently.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("Playwright is not installed (pip install -e '.[test]')")
    executable = _chromium()
    if executable is None:
        _no_browser("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=executable, headless=True)
        yield chromium
        chromium.close()
