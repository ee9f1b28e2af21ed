"""Write ``torch_mlp.onnx`` and ``torch_mlp.json``: a small MLP and its loss, exported by PyTorch.

Run it where torch is installed (never in gatekit's environment, which does
not depend on torch)::

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.13.0 numpy onnx onnxscript
    /tmp/torchenv/bin/python tests/reference/make_torch_mlp_onnx.py

The model is a 2-8-1 perceptron with a tanh hidden layer whose forward pass
returns the mean squared error against targets ``y`` and the scores
(``loss``, ``score``), in float64, exported with ``torch.onnx.export``
(PyTorch's own exporter, ``dynamo=True``) with a symbolic batch dimension.
So the ONNX graph is what PyTorch makes of ``nn.Linear``, ``torch.tanh``,
``squeeze`` and ``mean``, not what gatekit would write. The JSON holds the
inputs of one batch, the outputs and the gradients of ``loss`` with respect
to every input and parameter (by ``loss.backward()``), keyed by their ONNX
names, for ``tests/test_onnx_torch.py``.
"""

from __future__ import annotations

import datetime
import json
import platform
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(__file__).with_name("torch_mlp.onnx")
OUT = Path(__file__).with_name("torch_mlp.json")
COMMAND = "/tmp/torchenv/bin/python tests/reference/make_torch_mlp_onnx.py"
BATCH = 6


def main() -> None:
    import torch

    class Net(torch.nn.Module):
        """score = l2(tanh(l1(x))), loss = mean((score - y) ** 2)."""

        def __init__(self) -> None:
            super().__init__()
            self.l1 = torch.nn.Linear(2, 8)
            self.l2 = torch.nn.Linear(8, 1)

        def forward(self, x: Any, y: Any) -> tuple[Any, Any]:
            score = self.l2(torch.tanh(self.l1(x))).squeeze(-1)
            return torch.mean((score - y) ** 2), score

    torch.manual_seed(0)
    net = Net().double()
    x = torch.randn(BATCH, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(BATCH, dtype=torch.float64, requires_grad=True)
    batch = torch.export.Dim("batch")
    torch.onnx.export(
        net,
        (x, y),
        str(MODEL),
        input_names=["x", "y"],
        output_names=["loss", "score"],
        dynamic_shapes={"x": {0: batch}, "y": {0: batch}},
        dynamo=True,
        external_data=False,
    )
    loss, score = net(x, y)
    loss.backward()
    grads = {"x": x.grad.tolist(), "y": y.grad.tolist()}
    grads.update({name: param.grad.tolist() for name, param in net.named_parameters()})
    reference = {
        "made_by": COMMAND,
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "inputs": {"x": x.tolist(), "y": y.tolist()},
        "params": {name: param.tolist() for name, param in net.named_parameters()},
        "outputs": {"loss": loss.item(), "score": score.tolist()},
        "grads": grads,
    }
    OUT.write_text(json.dumps(reference, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {MODEL.relative_to(ROOT)} and {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
