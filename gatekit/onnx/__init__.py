"""ONNX in and out: export a circuit (optionally with its backward pass), import a model.

Both directions need the optional ``onnx`` extra (``onnx`` and
``onnxruntime``); :func:`gatekit.onnx.extra.require_onnx` imports it or
raises the exit-2 error that names it. Nothing here imports ``onnx`` at
module level, so ``import gatekit`` works without the extra.

Export: :mod:`~gatekit.onnx.export` builds the model (:func:`~gatekit.onnx.export.to_onnx`),
each gate writing itself into a :class:`~gatekit.onnx.builder.GraphBuilder`
through its ``gate_onnx`` hooks; :mod:`~gatekit.onnx.check` runs a model in
onnxruntime and ONNX's reference evaluator against gatekit's own numbers.
"""
