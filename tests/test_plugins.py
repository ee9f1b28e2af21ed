"""Third-party plugins: discovery through entry points, faults, and gradient checking.

Installed distributions are simulated without pip: a folder on the path that
holds the plugin's module and a ``NAME-VERSION.dist-info`` with its entry
points, which is what ``pip install`` leaves behind and all that
``importlib.metadata`` reads.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

import gatekit
from gatekit.plugin.registry import GateRegistry, gate_from_object, plugin_manager
from gatekit.testing import GradientError, check_circuit, check_gate, compare_gate

ROOT = Path(__file__).resolve().parent.parent

CUBE = """
    from gatekit import GateSpec, hookimpl


    class Cube:
        @hookimpl
        def gate_spec(self):
            return GateSpec("tcube", 1, "a ** 3")

        @hookimpl
        def gate_forward(self, inputs):
            (a,) = inputs
            return a * a * a

        @hookimpl
        def gate_local_grad(self, inputs, output):
            (a,) = inputs
            return (3.0 * a * a,)


    @hookimpl
    def gatekit_register_gates():
        return [Cube()]
"""

WRONG_CUBE = CUBE.replace("3.0 * a * a", "2.0 * a * a").replace('"tcube"', '"wrong_cube"')

# One fault each: an import error, a hook with an argument the spec lacks, a
# gate name the built-ins already use.
BROKEN = "raise RuntimeError('this plugin is broken')\n"
BAD_HOOK = CUBE.replace("def gate_forward(self, inputs):", "def gate_forward(self, values):").replace(
    "(a,) = inputs\n            return a * a * a", "return values[0] ** 3"
)
TAKEN_NAME = CUBE.replace('"tcube"', '"mul"')


def install(folder: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str]) -> Path:
    """Lay out modules and a dist-info for ``dist`` 1.0 in ``folder``, as pip would."""
    folder.mkdir(exist_ok=True)
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = folder / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = ["[gatekit]", *(f"{name} = {target}" for name, target in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on ``sys.path`` for fake installed distributions."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in ("gk_cube", "gk_broken", "gk_bad_hook", "gk_taken", "gk_wrong"):
        sys.modules.pop(name, None)


def registry(**kwargs: object) -> GateRegistry:
    return GateRegistry.from_manager(plugin_manager(**kwargs))  # type: ignore[arg-type]


def gatekit_cli(*args: str, site: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    if site is not None:
        environment["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "gatekit", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        check=False,
    )


# -- discovery ------------------------------------------------------------------


def test_an_installed_plugin_is_found_after_the_builtins(site: Path) -> None:
    install(site, "gatekit-tcube", {"gk_cube": CUBE}, {"tcube": "gk_cube"})
    gates = registry(autoload=True)
    assert list(gates).index("tcube") > list(gates).index("softplus")
    tcube = gates["tcube"]
    assert (tcube.plugin, tcube.distribution) == ("tcube:tcube", "gatekit-tcube 1.0")
    assert "tcube" not in registry(autoload=False)
    assert "tcube" not in registry(autoload=True, blocked=["tcube"])


def test_gates_json_names_the_distribution_and_autoload_can_be_turned_off(site: Path) -> None:
    install(site, "gatekit-tcube", {"gk_cube": CUBE}, {"tcube": "gk_cube"})
    listed = {g["name"]: g for g in json.loads(gatekit_cli("gates", "--json", site=site).stdout)}
    assert listed["tcube"]["distribution"] == "gatekit-tcube 1.0"
    assert listed["tcube"]["plugin"] == "tcube:tcube"
    off = gatekit_cli("gates", "--json", site=site, GATEKIT_DISABLE_PLUGIN_AUTOLOAD="1")
    assert "tcube" not in {g["name"] for g in json.loads(off.stdout)}


def test_a_plugin_file_can_be_loaded_by_path(tmp_path: Path) -> None:
    plugin = tmp_path / "my_cube.py"
    plugin.write_text(textwrap.dedent(CUBE))
    graph = tmp_path / "g.yaml"
    graph.write_text("inputs: {x: 2.0}\ngates:\n  y: {gate: tcube, in: [x]}\noutputs: [y]\n")
    done = gatekit_cli("run", "-p", str(plugin), str(graph), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["grads"] == {"x": 12.0}


def test_a_missing_plugin_file_is_an_error(tmp_path: Path) -> None:
    done = gatekit_cli("gates", "-p", str(tmp_path / "nope.py"))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: cannot import plugin '{tmp_path / 'nope.py'}'")


# -- faults of autoloaded plugins: a warning, and the rest works ------------------


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (
            BROKEN,
            ["plugin 'broken' (gatekit-broken 1.0)", "failed to import 'gk_broken'", "this plugin is broken"],
        ),
        (BAD_HOOK, ["plugin 'broken:tcube' (gatekit-broken 1.0)", "hook gate_forward", "'values'"]),
    ],
    ids=["import-error", "bad-hook-signature"],
)
def test_a_broken_plugin_is_set_aside_with_one_message(site: Path, source: str, words: list[str]) -> None:
    install(site, "gatekit-broken", {"gk_broken": source}, {"broken": "gk_broken"})
    gatekit.plugin.registry._cached_registry.cache_clear()
    with pytest.warns(gatekit.PluginWarning):
        gates = gatekit.default_registry(autoload=True)
    [problem] = gates.problems
    for word in words:
        assert word in problem
    assert "tcube" not in gates
    # a circuit that does not need it runs; one that does says why the gate is missing
    assert gatekit.load(ROOT / "graphs" / "neuron.yaml", registry=gates).run().outputs["f"] > 0.7
    with pytest.raises(gatekit.GraphError, match="a plugin was not loaded: plugin 'broken"):
        gatekit.loads("inputs: {x: 1.0}\ngates:\n  y: {gate: tcube, in: [x]}\noutputs: [y]", registry=gates)
    gatekit.plugin.registry._cached_registry.cache_clear()


def test_a_taken_gate_name_keeps_the_first_and_warns(site: Path) -> None:
    install(site, "gatekit-taken", {"gk_taken": TAKEN_NAME}, {"taken": "gk_taken"})
    gates = registry(autoload=True)
    assert gates["mul"].plugin == "gatekit.gates.arithmetic:mul"
    [problem] = gates.problems
    assert "gate name 'mul' is claimed twice" in problem
    assert "'gatekit.gates.arithmetic:mul' (gatekit" in problem
    assert "'taken:mul' (gatekit-taken 1.0)" in problem


def test_the_cli_prints_each_plugin_problem_once_as_a_warning(site: Path) -> None:
    install(site, "gatekit-broken", {"gk_broken": BROKEN}, {"broken": "gk_broken"})
    done = gatekit_cli("run", "graphs/neuron.yaml", site=site)
    assert done.returncode == 0
    [warning] = done.stderr.splitlines()
    assert warning.startswith("warning: plugin 'broken' (gatekit-broken 1.0): failed to import")


def test_explicit_plugins_fail_loudly(tmp_path: Path) -> None:
    plugin = tmp_path / "bad_hook.py"
    plugin.write_text(textwrap.dedent(BAD_HOOK))
    done = gatekit_cli("gates", "-p", str(plugin))
    assert done.returncode == 2
    assert "hook gate_forward" in done.stderr
    assert "(gate_forward takes: inputs, attrs, out)" in done.stderr


# -- a circuit names what it needs ------------------------------------------------


def test_a_required_distribution_that_is_missing_is_named() -> None:
    text = "requires: [gatekit-tcube]\ninputs: {x: 1.0}\ngates:\n  y: {gate: tcube, in: [x]}\noutputs: [y]"
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.loads(text, file="c.yaml", registry=registry(autoload=False))
    assert str(info.value) == (
        "c.yaml:4:13: unknown gate 'tcube' (installed gates: abs, add, binary_cross_entropy_with_logits, "
        "cos, div, dot, equal, exp, greater, greater_equal, hinge, identity, is_inf, is_nan, leaky_relu, "
        "log, log_softmax, logical_and, logical_not, logical_or, logical_xor, matmul, max, mean, min, mul, "
        "neg, pow, reciprocal, relu, reshape, sigmoid, sin, softmax, softmax_cross_entropy, softplus, sqrt, "
        "square, step, sub, sum, tanh, transpose, where); this circuit requires 'gatekit-tcube', which is "
        "not installed: pip install gatekit-tcube"
    )


def test_a_required_distribution_with_autoload_off_says_so(site: Path) -> None:
    install(site, "gatekit-tcube", {"gk_cube": CUBE}, {"tcube": "gk_cube"})
    text = "requires: [gatekit-tcube]\ninputs: {x: 1.0}\ngates:\n  y: {gate: tcube, in: [x]}\noutputs: [y]"
    with pytest.raises(
        gatekit.GraphError, match="'gatekit-tcube' is installed, but plugin autoloading is off"
    ):
        gatekit.loads(text, registry=registry(autoload=False))
    assert gatekit.loads(text, registry=registry(autoload=True)).run().outputs["y"] == 1.0


def test_requires_must_be_a_list_of_names() -> None:
    with pytest.raises(gatekit.GraphError, match="'requires:' must be a list") as info:
        gatekit.loads("requires: gatekit-tcube\ninputs: {x: 1}\noutputs: [x]", file="c.yaml")
    assert (info.value.location.line, info.value.location.column) == (1, 11)


# -- gradient checking for authors ------------------------------------------------


def _gate(source: str, name: str, tmp_path: Path) -> object:
    namespace: dict[str, object] = {}
    exec(compile(textwrap.dedent(source), str(tmp_path / "gate.py"), "exec"), namespace)  # test fixture code
    return namespace[name]()  # type: ignore[operator]


def test_check_gate_passes_a_right_gradient(tmp_path: Path) -> None:
    rows = check_gate(_gate(CUBE, "Cube", tmp_path), count=4)
    # 4 float points and 4 array points, one input each, its gradient and forward mode against
    # reverse (not elementwise: no batched rows)
    assert len(rows) == 16
    assert all(row.ok and not row.note for row in rows)


def test_check_gate_shows_both_gradients_of_a_wrong_one(tmp_path: Path) -> None:
    with pytest.raises(GradientError) as info:
        check_gate(_gate(WRONG_CUBE, "Cube", tmp_path), points=[(2.0,)])
    message = str(info.value)
    assert "1 gradient(s) disagree with central differences (rtol 1e-05, atol 1e-07)" in message
    assert "gate 'wrong_cube', point 0, input 0 at inputs (2.0): analytic 8.0, numeric 11.99999999" in message


def test_check_gate_finds_a_wrong_gradient_in_one_array_element(tmp_path: Path) -> None:
    class Bent:
        spec = gatekit.GateSpec("bent", 1, "square, with a wrong gradient beyond 1")

        @gatekit.hookimpl
        def gate_spec(self):
            return self.spec

        @gatekit.hookimpl
        def gate_forward(self, inputs):
            return inputs[0] ** 2

        @gatekit.hookimpl
        def gate_local_grad(self, inputs, output):
            import numpy as np

            x = inputs[0]
            return (np.where(x > 1.0, x, 2.0 * x),)

    import numpy as np

    with pytest.raises(GradientError) as info:
        check_gate(Bent(), points=[(np.array([0.5, 1.5, -2.0]),)])
    [row] = info.value.failures
    assert row.element == (1,)
    # both are times the same random upstream gradient: d(x**2) = 3.0 against 1.5
    assert row.analytic == pytest.approx(row.numeric / 2, rel=1e-6)


def test_check_gate_skips_kinks() -> None:
    rows = check_gate("relu", points=[(0.0,), (1.0,)])
    assert [row.note for row in rows if row.where.startswith("point")] == ["kink", ""]
    assert all(row.ok for row in rows)  # and relu on both points at once gives what it gives one by one


def test_compare_gate_refuses_a_wrong_number_of_gradients() -> None:
    class Short:
        @gatekit.hookimpl
        def gate_spec(self):
            return gatekit.GateSpec("short", 2, "a + b, one gradient short")

        @gatekit.hookimpl
        def gate_forward(self, inputs):
            return inputs[0] + inputs[1]

        @gatekit.hookimpl
        def gate_local_grad(self, inputs, output):
            return (1.0,)

    with pytest.raises(gatekit.RunError) as info:
        compare_gate(Short(), (1.0, 2.0))
    assert info.value.message == (
        "gate 'short' (plugin 'test_compare_gate_refuses_a_wrong_number_of_gradients.<locals>.Short') "
        "returned 1 gradient(s) from gate_local_grad for 2 input(s)"
    )


def test_gate_from_object_validates_like_registration() -> None:
    class Misnamed:
        @gatekit.hookimpl
        def gate_spec(self):
            return gatekit.GateSpec("m", 1, "x")

        @gatekit.hookimpl
        def gate_forward(self, xs):
            return xs[0]

    with pytest.raises(gatekit.PluginError, match=r"hook gate_forward: .*'xs'"):
        gate_from_object(Misnamed())
    with pytest.raises(gatekit.PluginError, match="is not a gate"):
        gate_from_object(object())


class Misspelled:
    """A gate whose gradient hook is misspelled: pluggy alone would register it without a gradient."""

    @gatekit.hookimpl
    def gate_spec(self):
        return gatekit.GateSpec("misspelled", 1, "x")

    @gatekit.hookimpl
    def gate_forward(self, inputs):
        return inputs[0]

    @gatekit.hookimpl
    def gate_local_grad(self, inputs, output):
        return (1.0,)

    def gate_vpj(self, inputs, output, upstream):  # meant: gate_vjp
        return (upstream,)


def test_a_misspelled_hook_is_refused_by_name() -> None:
    with pytest.raises(gatekit.PluginError) as info:
        gate_from_object(Misspelled())
    assert "'gate_vpj' is not a gatekit hook (did you mean 'gate_vjp'?)" in info.value.message


def test_a_misspelled_hook_is_refused_through_dash_p(tmp_path: Path) -> None:
    module = tmp_path / "gk_vpj.py"
    module.write_text(
        textwrap.dedent(
            """\
            import gatekit


            class G(gatekit.SpecGate):
                spec = gatekit.GateSpec("vpj", 1, "x")

                @gatekit.hookimpl
                def gate_forward(self, inputs):
                    return inputs[0]

                @gatekit.hookimpl
                def gate_vpj(self, inputs, output, upstream):
                    return (upstream,)


            gatekit_register_gates = gatekit.collect_gates(__name__)
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(gatekit.PluginError) as info:
        GateRegistry.from_manager(plugin_manager(plugins=[str(module)], autoload=False))
    hint = "'gate_vpj' is not a gatekit hook (did you mean 'gate_vjp'?)"
    assert info.value.message == f"plugin '{module}:vpj' (not installed (-p)): {hint}"


def test_a_misspelled_module_level_hook_names_the_hook(tmp_path: Path) -> None:
    module = tmp_path / "gk_register.py"
    module.write_text("import gatekit\n\n\n@gatekit.hookimpl\ndef gatekit_register_gate():\n    return []\n")
    with pytest.raises(gatekit.PluginError) as info:
        plugin_manager(plugins=[str(module)], autoload=False)
    assert info.value.message.endswith(
        "'gatekit_register_gate' is not a gatekit hook (did you mean 'gatekit_register_gates'?)"
    )


def test_check_circuit_covers_every_gate_and_every_leaf() -> None:
    rows = check_circuit(gatekit.load(ROOT / "graphs" / "neuron.yaml"))
    assert [row.where for row in rows[:3]] == ["wx0", "wx0", "wx1"]
    assert [row.where for row in rows[-5:]] == [
        f"end to end: df/d{n}" for n in ("x0", "x1", "w0", "w1", "w2")
    ]
    assert all(row.ok for row in rows)


def test_check_cli_passes_a_right_gate_and_fails_a_wrong_one(tmp_path: Path) -> None:
    right, wrong = tmp_path / "cube_ok.py", tmp_path / "cube_wrong.py"
    right.write_text(textwrap.dedent(CUBE))
    wrong.write_text(textwrap.dedent(WRONG_CUBE))
    done = gatekit_cli("check", "--gate", "tcube", "-p", str(right))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "20 checks: 20 ok, 0 skipped, 0 failed"
    done = gatekit_cli("check", "--gate", "wrong_cube", "-p", str(wrong), "--points", "1")
    assert done.returncode == 1
    # forward mode agrees with reverse: both take the same (wrong) local gradient
    assert done.stdout.splitlines()[-1] == "4 checks: 2 ok, 0 skipped, 2 failed"
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: gate 'wrong_cube', point 0, input 0 at inputs (")
    assert "analytic" in first
    assert "numeric" in first


def test_check_cli_on_a_circuit_and_its_usage_errors() -> None:
    done = gatekit_cli("check", "graphs/fanout.yaml")
    assert done.returncode == 0, done.stderr
    assert "end to end: df/dx" in done.stdout
    assert done.stdout.splitlines()[-1].endswith("0 failed")
    for args, message in [
        (["check"], "error: check: give either GRAPH or --gate NAME"),
        (["check", "--gate", "nope"], "error: check --gate: no installed gate is named 'nope'"),
        (["check", "--gate", "mul", "--points", "0"], "error: check --points: give a whole number from 1 to"),
        (
            ["check", "--gate", "mul", "--seed", "-1"],
            "error: check --seed: give a whole number from 0 to 9,223,372,036,854,775,807, got -1",
        ),
        (
            ["check", "graphs/neuron.yaml", "--set", "zz=1"],
            "error: --set zz=1: name 'zz' names no input or param of graphs/neuron.yaml",
        ),
    ]:
        done = gatekit_cli(*args)
        assert done.returncode == 2
        assert done.stderr.startswith(message), done.stderr


def test_a_plugin_given_with_p_wins_over_the_installed_one(site: Path, tmp_path: Path) -> None:
    install(site, "gatekit-tcube", {"gk_cube": CUBE}, {"tcube": "gk_cube"})
    local = tmp_path / "dev_cube.py"
    local.write_text(textwrap.dedent(CUBE).replace('"a ** 3"', '"a ** 3, the working copy"'))
    gates = registry(autoload=True, plugins=[str(local)])
    assert gates["tcube"].spec.doc == "a ** 3, the working copy"
    [problem] = gates.problems
    assert "gate name 'tcube' is claimed twice" in problem
    assert problem.endswith("the one asked for with -p is used")


def test_check_circuit_is_exact_enough_for_large_batch_values() -> None:
    # exp reaches ~1e7 in this data: summing the whole batch before taking the
    # difference would drown the moved element's change in rounding
    from gatekit.io.inputs import read_inputs

    circuit = gatekit.load(ROOT / "graphs" / "neuron_batch.yaml")
    data = read_inputs(ROOT / "graphs" / "data" / "neuron_batch.csv", circuit)
    rows = check_circuit(circuit, data)
    assert len(rows) == 18
    assert all(row.ok and not row.note for row in rows)


def test_check_gate_allows_for_the_rounding_of_a_large_output() -> None:
    # moving -0.6 by 1e-6 changes 345652.86 - x in its 11th digit: the
    # numeric gradient is -0.99997..., and the hook's -1 is right
    rows = compare_gate("sub", [345652.85513977794, -0.6159400439105862])
    assert all(row.ok for row in rows)


def test_check_of_a_large_batch_samples_each_array_and_says_so(tmp_path: Path) -> None:
    """Every element of a batch costs three runs of the whole batch: 64,000 rows took 545 s."""
    rng = np.random.default_rng(0)
    data = tmp_path / "big.csv"
    rows = rng.uniform(-2, 2, size=(20_000, 2))
    data.write_text("x0,x1\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in rows) + "\n")
    circuit = gatekit.load(ROOT / "graphs" / "neuron_batch.yaml")
    from gatekit.io.inputs import read_inputs

    checks = check_circuit(circuit, read_inputs(data, circuit))
    assert all(row.ok for row in checks)
    batched = [row for row in checks if row.sample is not None]
    assert batched and all(row.sample == (16, 20_000) for row in batched)
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", "check", "graphs/neuron_batch.yaml", "--inputs", str(data)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "(arrays of more than 16 elements were checked at 16 elements spread over each; "
        "the largest has 20,000)"
    )


RAISING_SPEC = CUBE.replace(
    '            return GateSpec("tcube", 1, "a ** 3")', '            raise RuntimeError("no spec today")'
)


def test_an_installed_gate_whose_spec_raises_is_set_aside_with_one_warning(site: Path) -> None:
    """Installed, it used to end every command in a traceback, `gatekit gates` included."""
    assert RAISING_SPEC != CUBE
    install(site, "gatekit-raising", {"gk_raising": RAISING_SPEC}, {"raising": "gk_raising"})
    done = gatekit_cli("gates", site=site)
    assert done.returncode == 0
    assert done.stderr == (
        "warning: plugin 'raising' (gatekit-raising 1.0): gate_spec raised RuntimeError: no spec today; "
        "it is not loaded\n"
    )
    assert "mul" in done.stdout
    sys.modules.pop("gk_raising", None)


def test_dash_p_of_a_module_an_installed_plugin_loads_already_is_fine(site: Path) -> None:
    install(site, "gatekit-tcube", {"gk_cube": CUBE}, {"tcube": "gk_cube"})
    gates = registry(plugins=["gk_cube"], autoload=True)  # was pluggy's "already registered" and its registry
    assert gates["tcube"].distribution == "gatekit-tcube 1.0"
    assert gates.problems == []


def test_plugins_depend_on_gatekit_s_distribution_not_the_other_gatekit() -> None:
    """On the package index "gatekit" is an unrelated project: depending on it would install that."""
    for pyproject in (ROOT / "plugins" / "activations" / "pyproject.toml",):
        dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
        names = [re.split(r"[<>=!~ ;\[]", dependency, maxsplit=1)[0] for dependency in dependencies]
        assert "gatekit" not in names
        assert "gatekit-circuits>=0.2,<0.3" in [d.split("#")[0].strip() for d in dependencies]
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"] == "gatekit-circuits"
    readme = (ROOT / "README.md").read_text()
    assert 'dependencies = ["gatekit-circuits>=0.2,<0.3"]' in readme


def test_a_missing_first_party_plugin_is_installed_from_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """gatekit-activations is not on the package index: the hint installs it from the source tree."""
    real = importlib.metadata.distribution

    def missing(name: str) -> importlib.metadata.Distribution:
        if name == "gatekit-activations":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    monkeypatch.chdir(ROOT)
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.load("graphs/mlp_silu.yaml", registry=registry(autoload=False))
    assert info.value.message.endswith(
        "this circuit requires 'gatekit-activations', which is not installed: "
        f"pip install -e {Path('plugins') / 'activations'}"
    )
    monkeypatch.chdir(ROOT / "graphs")  # from elsewhere: the path from there
    with pytest.raises(gatekit.GraphError) as info:
        gatekit.load("mlp_silu.yaml", registry=registry(autoload=False))
    assert info.value.message.endswith(f"pip install -e {ROOT / 'plugins' / 'activations'}")
