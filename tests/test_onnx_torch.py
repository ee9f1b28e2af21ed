"""A model PyTorch exported (``torch.onnx.export``) imports and gives PyTorch's numbers, then trains.

``tests/reference/torch_mlp.onnx`` is a 2-8-1 tanh perceptron with its mean
squared error, exported by PyTorch's own exporter with a symbolic batch
dimension; ``torch_mlp.json`` holds one batch and PyTorch's outputs and
gradients for it. Both were written by ``tests/reference/make_torch_mlp_onnx.py``
(torch is too heavy for CI, so the numbers are committed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")

import gatekit

REFERENCE = Path(__file__).parent / "reference"
MODEL = REFERENCE / "torch_mlp.onnx"
TORCH = json.loads((REFERENCE / "torch_mlp.json").read_text(encoding="utf-8"))
#: PyTorch's parameter names, as the imported circuit names them (a dot is no part of a name)
PARAMS = {name: name.replace(".", "_") for name in TORCH["params"]}


def _run(circuit: gatekit.Circuit) -> gatekit.Result:
    values = {**TORCH["inputs"], **{PARAMS[name]: value for name, value in TORCH["params"].items()}}
    return circuit.run({name: np.asarray(value) for name, value in values.items()})


def test_the_imported_model_gives_pytorch_s_outputs_and_gradients() -> None:
    circuit = gatekit.from_onnx(MODEL)
    assert circuit.outputs == ["loss", "score"]
    assert sorted(circuit.plan.leaves) == sorted(["x", "y", *PARAMS.values()])
    result = _run(circuit)
    assert result.outputs["loss"] == pytest.approx(TORCH["outputs"]["loss"], rel=1e-12)
    np.testing.assert_allclose(result.outputs["score"], TORCH["outputs"]["score"], rtol=1e-12)
    for name, expected in TORCH["grads"].items():
        got = result.grads[PARAMS.get(name, name)]
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-15, err_msg=name)


def test_its_constants_are_not_trained() -> None:
    """The exponent of the squared error is an initializer in the file: a number in the circuit."""
    leaves = gatekit.from_onnx(MODEL).valid.definition.leaves.values()
    assert sorted(leaf.name for leaf in leaves if leaf.kind == "param") == sorted(PARAMS.values())


def test_the_imported_model_trains_with_gatekit_train(tmp_path: Path) -> None:
    circuit_file = tmp_path / "mlp.yaml"
    subprocess.run(
        [sys.executable, "-m", "gatekit", "import", str(MODEL), "-o", str(circuit_file)],
        check=True,
        capture_output=True,
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2))
    y = np.tanh(x[:, 0] - 0.5 * x[:, 1])
    data = tmp_path / "data.npz"
    np.savez(data, x=x, y=y)
    trained = tmp_path / "trained.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", "train", str(circuit_file), "--inputs", str(data),
         "--steps", "300", "--lr", "0.1", "--json", "-o", str(trained)],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    report = json.loads(done.stdout)
    before = gatekit.load(circuit_file).run(x=x, y=y).outputs["loss"]
    after = gatekit.load(trained).run(x=x, y=y).outputs["loss"]
    assert after < 0.25 * before
    assert report["loss"] == pytest.approx(after, rel=0.5)
