"""The ``onnxruntime`` runtime: ``model.onnx`` run by ONNX Runtime on the CPU."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.bundle_info import BundleInfo
from bizlm.inference import CPU_CALL_OVERHEAD_TOKENS
from bizlm.predictor import Predictor

ONNX_FILE = "model.onnx"


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def create_session(model_path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session with all graph optimisations and one thread per core."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or cpu_cores()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


class OnnxPredictor(Predictor):
    """Same interface as :class:`Predictor` (``predict``, ``predict_proba``, ``labels``,
    ``info``, ``tokenizer``, ``max_length``); the model is an ONNX Runtime session."""

    def __init__(
        self,
        session: Any,
        tokenizer: Any,
        labels: Sequence[str],
        max_length: int = 128,
        info: BundleInfo | None = None,
    ) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.max_length = max_length
        self.info = info or BundleInfo(labels=self.labels)
        self.input_names = [node.name for node in session.get_inputs()]

    def call_overhead(self) -> int | None:
        """The CPU's per-call cost: the session runs on the CPU execution provider."""
        return CPU_CALL_OVERHEAD_TOKENS

    def _forward(self, batch: dict[str, Any]) -> np.ndarray:
        """Logits of one padded batch from the ONNX Runtime session."""
        feeds = {name: batch[name].numpy() for name in self.input_names}
        return self.session.run(None, feeds)[0]


def open_onnx(path: Path, info: BundleInfo) -> OnnxPredictor:
    """An :class:`OnnxPredictor` over an ``onnxruntime`` bundle (or a folder laid out like one)."""
    from transformers import AutoTokenizer

    session = create_session(Path(path) / ONNX_FILE)
    tokenizer = AutoTokenizer.from_pretrained(Path(path) / "model")
    return OnnxPredictor(session, tokenizer, info.labels, info.max_length, info)
