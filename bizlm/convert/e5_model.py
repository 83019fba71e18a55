"""Turn the tensors of a packed e5 file into a ``BertModel`` config and float32 weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from bizlm.convert.e5_format import E5File

# packed name (per layer after "l<i>.") -> Hugging Face BertModel name (after "encoder.layer.<i>.")
_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_config(source: E5File) -> dict[str, Any]:
    """The ``config.json`` of the equivalent ``BertModel`` (positions start at 0, GELU-erf)."""
    dims = source.dims
    ids = source.special_ids
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": dims.vocab_rows,
        "hidden_size": dims.hidden,
        "num_hidden_layers": dims.layers,
        "num_attention_heads": dims.heads,
        "intermediate_size": dims.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": dims.max_positions,
        "type_vocab_size": dims.token_types,
        "initializer_range": 0.02,
        "layer_norm_eps": dims.layer_norm_eps,
        "pad_token_id": ids["pad"],
        "bos_token_id": ids["bos"],
        "eos_token_id": ids["eos"],
    }


def bert_weights(source: E5File) -> dict[str, np.ndarray]:
    """Every encoder weight under its ``BertModel`` name, dequantised to float32.

    The file carries no pooler, so none is written: ``from_pretrained`` initialises one for
    heads that use it, as it does for the classification head itself.
    """
    dims = source.dims
    hidden, inner = dims.hidden, dims.intermediate
    weights = {
        "embeddings.word_embeddings.weight": source.tensor("emb.word", (dims.vocab_rows, hidden)),
        "embeddings.position_embeddings.weight": source.tensor(
            "emb.pos", (dims.max_positions, hidden)
        ),
        "embeddings.token_type_embeddings.weight": source.tensor(
            "emb.type", (dims.token_types, hidden)
        ),
        "embeddings.LayerNorm.weight": source.tensor("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": source.tensor("emb.ln.b", (hidden,)),
    }
    shapes = {"fi": (inner, hidden), "fo": (hidden, inner)}
    for layer in range(dims.layers):
        for short, name in _LAYER_TENSORS.items():
            weight_shape = shapes.get(short, (hidden, hidden))
            bias_shape = (weight_shape[0],)
            if short.endswith("ln"):
                weight_shape = bias_shape = (hidden,)
            prefix = f"encoder.layer.{layer}.{name}"
            weights[f"{prefix}.weight"] = source.tensor(f"l{layer}.{short}.w", weight_shape)
            weights[f"{prefix}.bias"] = source.tensor(f"l{layer}.{short}.b", bias_shape)
    return weights


def save_model(source: E5File, folder: Path) -> None:
    """Write ``config.json`` and ``model.safetensors`` for ``BertModel.from_pretrained``."""
    config = bert_config(source)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    tensors = {name: torch.from_numpy(array) for name, array in bert_weights(source).items()}
    weights = folder / "model.safetensors"
    save_file(tensors, str(weights), metadata={"format": "pt"})
    shutil.copymode(folder / "config.json", weights)  # save_file leaves it private (0600)
