"""``--backend`` and ``--device``: the array library a run computes with, and what it says when it cannot.

The numbers on each backend are checked in ``tests/test_array_api.py``; here,
the command line: the same printout as NumPy's, exit 2 for a library that is
not installed or a device it does not have, exit 1 for a plugin gate that
works on NumPy's arrays only.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gatekit import UsageError
from gatekit import arrays as gatekit_arrays
from gatekit.cli import main
from gatekit.engine import backends

ROOT = Path(__file__).resolve().parent.parent
NEURON = str(ROOT / "graphs" / "neuron.yaml")
BATCH = str(ROOT / "graphs" / "neuron_batch.yaml")

strict = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")


def refused(capsys: pytest.CaptureFixture[str], args: list[str], code: int = 2) -> str:
    """The one error line of a command that exits with ``code``, nothing on stdout."""
    assert main(args) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, captured.err
    return errors[0]


@pytest.mark.parametrize("graph", [NEURON, BATCH])
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_run_on_array_api_strict_prints_what_numpy_prints(
    capsys: pytest.CaptureFixture[str], graph: str, json_flag: list[str]
) -> None:
    assert main(["run", graph, *json_flag]) == 0
    on_numpy = capsys.readouterr().out
    assert main(["run", graph, "--backend", "array-api-strict", *json_flag]) == 0
    assert capsys.readouterr().out == on_numpy  # array-api-strict computes with NumPy: to the last bit


def test_run_on_a_backend_saves_numpy_arrays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "run.npz"
    assert (
        main(["run", BATCH, "--backend", "array-api-strict", "--set", "x0=[1, 2, 3]", "-o", str(saved)]) == 0
    )
    assert main(["run", BATCH, "--set", "x0=[1, 2, 3]", "--json"]) == 0
    want = json.loads(capsys.readouterr().out.splitlines()[-1])
    with np.load(saved) as data:
        for name, value in want["grads"].items():
            np.testing.assert_array_equal(data[f"grads/{name}"], value)


def test_run_on_a_strict_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", BATCH, "--backend", "array-api-strict", "--device", "device1", "--json"]) == 0
    on_device = capsys.readouterr().out
    assert main(["run", BATCH, "--json"]) == 0
    assert capsys.readouterr().out == on_device


def test_a_backend_that_is_not_installed_says_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.import_module

    def without_torch(name: str, package: str | None = None) -> Any:
        if name == "torch":
            raise ModuleNotFoundError("No module named 'torch'")
        return real(name, package)

    monkeypatch.setattr(backends.importlib, "import_module", without_torch)
    error = refused(capsys, ["run", NEURON, "--backend", "torch"])
    assert error == "error: --backend torch: torch is not installed: pip install 'gatekit-circuits[torch]'"


def test_without_array_api_compat_other_libraries_say_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gatekit_arrays, "_NAMESPACES", {})
    monkeypatch.setitem(sys.modules, "array_api_compat", None)  # import fails: not installed
    error = refused(capsys, ["run", NEURON, "--backend", "array-api-strict"])
    assert error == (
        "error: arrays of other libraries than NumPy need array-api-compat: "
        "pip install 'gatekit-circuits[array-api]'"
    )


def test_a_device_for_numpy_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    error = refused(capsys, ["run", NEURON, "--device", "cuda"])
    assert error == "error: --device: numpy arrays have no devices to choose; leave --device out"


def test_a_device_the_library_does_not_have_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    error = refused(capsys, ["run", NEURON, "--backend", "array-api-strict", "--device", "gpu7"])
    assert error == (
        "error: --device gpu7: array-api-strict has no such device (The device 'gpu7' is not a valid choice.)"
    )


def test_a_device_that_refuses_float64_arrays_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As PyTorch built without CUDA answers ``--device cuda``; here a device array-api-strict refuses."""
    monkeypatch.setattr(backends, "_device", lambda module, name, device: "elsewhere")
    error = refused(capsys, ["run", NEURON, "--backend", "array-api-strict", "--device", "cuda"])
    assert error.startswith("error: --device cuda: array-api-strict cannot place a float64 array there (")


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(UsageError) as info:
        backends.load("tensorflow")
    assert info.value.message == (
        "--backend: no backend named 'tensorflow' (known: numpy, array-api-strict, torch, cupy, jax, dask)"
    )
    usage = main(["run", NEURON, "--backend", "tensorflow"])
    assert usage == 2


def test_the_backends_are_the_command_line_s_choices() -> None:
    from gatekit.cli.parser import build

    run = build()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    action = next(a for a in run._actions if "--backend" in a.option_strings)
    assert list(action.choices or []) == list(backends.BACKENDS)


PLUGIN = """
import numpy as np
from gatekit import GateSpec, SpecGate, hookimpl


class NumpyLog(SpecGate):
    spec = GateSpec("numpy_log", 1, "ln a, with NumPy.", elementwise=True)

    @hookimpl
    def gate_forward(self, inputs):
        return np.log(inputs[0])

    @hookimpl
    def gate_local_grad(self, inputs, output):
        return (1.0 / inputs[0],)


@hookimpl
def gatekit_register_gates():
    return [NumpyLog()]
"""


def test_a_plugin_gate_written_with_numpy_fails_once_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin = tmp_path / "numpy_gates.py"
    plugin.write_text(PLUGIN, encoding="utf-8")
    graph = tmp_path / "logs.yaml"
    graph.write_text("inputs: {x: [1.0, 2.0]}\ngates:\n  y: {gate: numpy_log, in: [x]}\noutputs: [y]\n")
    assert main(["run", str(graph), "-p", str(plugin)]) == 0
    capsys.readouterr()
    error = refused(capsys, ["run", str(graph), "-p", str(plugin), "--backend", "array-api-strict"], code=1)
    assert error == (
        f"error: {graph}:3:3: gate 'y' (numpy_log, plugin '{plugin}:numpy_log') works only on NumPy arrays; "
        "given array_api_strict.Array"
    )


def test_asarray_makes_float64_arrays_of_the_library() -> None:
    backend = backends.load("array-api-strict")
    number, vector = backend.asarray(2.0), backend.asarray(np.array([1, 2]))
    assert type(number) is type(vector) is type(strict.asarray(0.0))
    assert number.dtype == vector.dtype == strict.float64
    assert number.ndim == 0 and vector.shape == (2,)


def _torch_cuda() -> bool | None:
    """Whether PyTorch has a CUDA device; ``None`` without PyTorch."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return bool(torch.cuda.is_available())


@pytest.mark.parametrize(
    "device",
    [
        pytest.param("cpu", marks=pytest.mark.skipif(_torch_cuda() is None, reason="no torch")),
        pytest.param("cuda", marks=pytest.mark.skipif(not _torch_cuda(), reason="no CUDA device")),
    ],
)
def test_run_on_torch_gives_numpy_s_numbers(capsys: pytest.CaptureFixture[str], device: str) -> None:
    assert main(["run", BATCH, "--json"]) == 0
    want = json.loads(capsys.readouterr().out)
    assert main(["run", BATCH, "--json", "--backend", "torch", "--device", device]) == 0
    got = json.loads(capsys.readouterr().out)
    for section in ("outputs", "grads", "values"):
        assert list(got[section]) == list(want[section])
        for name, value in want[section].items():
            np.testing.assert_allclose(got[section][name], value, rtol=1e-12, atol=1e-15)


@pytest.mark.skipif(_torch_cuda() is not False, reason="needs PyTorch without a CUDA device")
def test_torch_without_cuda_refuses_the_cuda_device(capsys: pytest.CaptureFixture[str]) -> None:
    error = refused(capsys, ["run", NEURON, "--backend", "torch", "--device", "cuda"])
    assert error.startswith("error: --device cuda: torch cannot place a float64 array there (")


def test_check_a_gate_on_a_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--gate", "softmax", "--backend", "array-api-strict"]) == 0
    out = capsys.readouterr().out
    assert "softmax  point 0 on array-api-strict" in out
    assert out.splitlines()[-1] == "60 checks: 60 ok, 0 skipped, 0 failed"


def test_check_a_numpy_only_gate_on_a_backend_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin = tmp_path / "numpy_gates.py"
    plugin.write_text(PLUGIN, encoding="utf-8")
    args = ["check", "--gate", "numpy_log", "-p", str(plugin)]
    assert main(args) == 0
    capsys.readouterr()
    error = refused(capsys, [*args, "--backend", "array-api-strict"], code=1)
    assert error == (
        f"error: gate 'numpy_log' (plugin '{plugin}:numpy_log') at point 0 on array-api-strict works only on "
        "NumPy arrays; given array_api_strict.Array"
    )


@pytest.mark.parametrize(
    ("given", "option"), [(["--backend", "array-api-strict"], "--backend"), (["--device", "cpu"], "--device")]
)
def test_check_graph_takes_no_backend(
    capsys: pytest.CaptureFixture[str], given: list[str], option: str
) -> None:
    error = refused(capsys, ["check", NEURON, *given])
    assert (
        error
        == f"error: check GRAPH: {option} applies to check --gate (run GRAPH --backend runs a circuit there)"
    )
