"""Arithmetic cost of a forward pass, and the machine's measured matrix-multiply peak."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from typing import Any

from bizlm.compress.runtime_onnx import cpu_cores, create_session


def encoder_flops(
    config: dict[str, Any], lengths: Sequence[int], heads_per_layer: Sequence[int] | None = None
) -> float | None:
    """Multiply-add FLOPs (2 per MAC) of a BERT-style encoder over texts of ``lengths`` tokens.

    Counts the query/key/value/output projections, the feed-forward layers and the attention
    products of every layer; embeddings, softmax and the small head are left out. Returns None
    when the config does not describe such an encoder.
    """
    try:
        hidden = int(config["hidden_size"])
        inner = int(config["intermediate_size"])
        layers = int(config["num_hidden_layers"])
        head_size = hidden // int(config["num_attention_heads"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    heads = list(heads_per_layer or [int(config["num_attention_heads"])] * layers)
    total = 0.0
    for length in lengths:
        for count in heads:
            width = count * head_size
            projections = 2 * length * (4 * hidden * width + 2 * hidden * inner)
            attention = 2 * 2 * length * length * width
            total += projections + attention
    return total


def matmul_peak(dtype: str, size: int = 1024, seconds: float = 1.0) -> float | None:
    """Measured FLOP/s of square ``size`` matrix products: ``fp32``/``bf16`` with
    ``torch.matmul``, ``int8`` with ONNX Runtime's MatMulInteger (the int8 kernel quantised
    ONNX models use). None when the kernel is unavailable."""
    if dtype == "int8":
        return _onnx_int8_peak(size, seconds)
    import torch

    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a = torch.randn(size, size).to(torch_dtype)
    b = torch.randn(size, size).to(torch_dtype)
    return _rate(lambda: torch.matmul(a, b), 2.0 * size**3, seconds)


def _onnx_int8_peak(size: int, seconds: float) -> float | None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.integers(-127, 127, (size, size), dtype=np.int8), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["c"])],
        "int8-peak",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [size, size])],
        [helper.make_tensor_value_info("c", TensorProto.INT32, [size, size])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    with tempfile.NamedTemporaryFile(suffix=".onnx") as handle:
        onnx.save(model, handle.name)
        session = create_session(handle.name, cpu_cores())
    a = rng.integers(0, 255, (size, size), dtype=np.uint8)
    return _rate(lambda: session.run(None, {"a": a}), 2.0 * size**3, seconds)


def _rate(run, flops: float, seconds: float) -> float:
    run()  # warm-up
    count, started = 0, time.perf_counter()
    while True:
        run()
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return count * flops / elapsed
