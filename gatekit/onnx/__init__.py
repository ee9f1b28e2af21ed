"""ONNX in and out: export a circuit (optionally with its backward pass), import a model.

Both directions need the optional ``onnx`` extra (``onnx`` and
``onnxruntime``); :func:`gatekit.onnx.extra.require_onnx` imports it or
raises the exit-2 error that names it. Nothing here imports ``onnx`` at
module level, so ``import gatekit`` works without the extra.
"""
