"""Compression and export of bundles: quantisation, pruning, distillation, ONNX, benchmarks.

Every path writes a new bundle that ``bizlm.load`` reads like any other; the runtime it needs
is named by ``runtime`` in its ``bizlm.json``.
"""
