"""Write a Llama-architecture causal LM and its tokenizer as one GGUF file llama.cpp loads.

Tensors are renamed with gguf's own name map (``model.layers.0.self_attn.q_proj.weight`` ->
``blk.0.attn_q.weight``). llama.cpp applies rotary embeddings to interleaved pairs of each
head's dimensions, Hugging Face's Llama to its two halves, so the rows of the query and key
projections are reordered per head: the two halves of a head are interleaved (key rows
per key-value head). Tied embeddings are written once: llama.cpp reuses ``token_embd`` as
the output layer when ``output.weight`` is absent. One-dimensional tensors (the RMS norms)
stay float32; matrices become float16, float32 or Q8_0 (``gguf.quants``; a matrix whose rows
do not split into 32-value blocks stays float16).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import torch

from bizlm.compress.gguf_vocab import add_vocabulary
from bizlm.errors import BizlmError

SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM",)
#: how matrices are stored for each written type (q4_k_m starts from f16, see gguf_llama)
MATRIX_TYPES = {
    "f32": gguf.GGMLQuantizationType.F32,
    "f16": gguf.GGMLQuantizationType.F16,
    "q8_0": gguf.GGMLQuantizationType.Q8_0,
}
FILE_TYPES = {
    "f32": gguf.LlamaFileType.ALL_F32,
    "f16": gguf.LlamaFileType.MOSTLY_F16,
    "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
}


@dataclass
class LlamaShape:
    """The hyper-parameters llama.cpp needs, read from a ``transformers`` Llama config."""

    context_length: int
    embedding_length: int
    block_count: int
    feed_forward_length: int
    head_count: int
    head_count_kv: int
    head_dim: int
    rope_theta: float
    rms_eps: float
    vocab_size: int
    tied: bool

    @classmethod
    def from_config(cls, config: Any) -> LlamaShape:
        """Check ``config`` is a plain Llama llama.cpp runs and read its shape."""
        check_architecture(config)
        rope = dict(
            getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
        )
        if rope.get("rope_type", rope.get("type", "default")) != "default":
            raise BizlmError(
                f"The model uses scaled rotary embeddings ({rope.get('rope_type')}); GGUF "
                "export writes plain rotary embeddings only.",
                hint="Export a model without rope scaling (SmolLM2, Llama 2 style).",
            )
        if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
            raise BizlmError(
                "The model has attention or MLP biases; GGUF export writes bias-free Llama "
                "models only.",
                hint="Export a model without biases (SmolLM2, Llama).",
            )
        heads = int(config.num_attention_heads)
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        return cls(
            context_length=int(config.max_position_embeddings),
            embedding_length=int(config.hidden_size),
            block_count=int(config.num_hidden_layers),
            feed_forward_length=int(config.intermediate_size),
            head_count=heads,
            head_count_kv=int(getattr(config, "num_key_value_heads", None) or heads),
            head_dim=int(head_dim),
            rope_theta=float(rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))),
            rms_eps=float(config.rms_norm_eps),
            vocab_size=int(config.vocab_size),
            tied=bool(getattr(config, "tie_word_embeddings", False)),
        )


def check_architecture(config: Any) -> None:
    """Refuse models other than those in :data:`SUPPORTED_ARCHITECTURES`."""
    names = list(getattr(config, "architectures", None) or [])
    if config.model_type == "llama" and (not names or names[0] in SUPPORTED_ARCHITECTURES):
        return
    found = names[0] if names else config.model_type
    raise BizlmError(
        f"GGUF export supports the {', '.join(SUPPORTED_ARCHITECTURES)} architecture "
        f"(SmolLM2, Llama); this model is {found}.",
        hint="Fine-tune a Llama-architecture model (for example model: smollm2) to export it "
        "as GGUF, or export this one with --format onnx or torch.",
    )


def interleave_rope(weight: np.ndarray, heads: int) -> np.ndarray:
    """Reorder the rows of a query or key projection (``heads`` heads of rows) from Hugging
    Face's half-split rotary layout to llama.cpp's interleaved one."""
    rows = weight.shape[0]
    per_head = weight.reshape(heads, 2, rows // heads // 2, *weight.shape[1:])
    return per_head.swapaxes(1, 2).reshape(weight.shape)


def write_gguf(
    model: Any,
    tokenizer: Any,
    path: Path,
    outtype: str = "f16",
    name: str = "",
    backbone: str = "",
) -> dict[str, Any]:
    """Write ``model`` (a ``transformers`` Llama causal LM) and ``tokenizer`` to the GGUF
    file ``path`` with matrices as ``outtype`` (f32, f16 or q8_0). ``name`` goes into the
    metadata; ``backbone`` (the model reference) lets llama.cpp's pre-tokenizer be
    recognised by name. Returns the architecture, pre-tokenizer and tensor type counts."""
    if outtype not in MATRIX_TYPES:
        raise BizlmError(
            f"Unknown GGUF tensor type '{outtype}'.", hint=f"Use one of {', '.join(MATRIX_TYPES)}."
        )
    shape = LlamaShape.from_config(model.config)
    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA]
    writer = gguf.GGUFWriter(path, arch)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name or "bizlm model")
    _add_shape(writer, shape)
    writer.add_file_type(FILE_TYPES[outtype])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    pre = add_vocabulary(writer, tokenizer, shape.vocab_size, backbone)
    kinds = _add_tensors(writer, model, shape, MATRIX_TYPES[outtype])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"architecture": arch, "pre_tokenizer": pre, "tensor_types": kinds}


def tensor_types(path: Path) -> dict[str, int]:
    """How many tensors of each type the GGUF file ``path`` holds."""
    kinds: dict[str, int] = {}
    for tensor in gguf.GGUFReader(path).tensors:
        kinds[tensor.tensor_type.name] = kinds.get(tensor.tensor_type.name, 0) + 1
    return kinds


def _add_shape(writer: gguf.GGUFWriter, shape: LlamaShape) -> None:
    writer.add_context_length(shape.context_length)
    writer.add_embedding_length(shape.embedding_length)
    writer.add_block_count(shape.block_count)
    writer.add_feed_forward_length(shape.feed_forward_length)
    writer.add_head_count(shape.head_count)
    writer.add_head_count_kv(shape.head_count_kv)
    writer.add_rope_freq_base(shape.rope_theta)
    writer.add_layer_norm_rms_eps(shape.rms_eps)
    writer.add_vocab_size(shape.vocab_size)
    writer.add_rope_dimension_count(shape.head_dim)
    if shape.head_dim != shape.embedding_length // shape.head_count:
        writer.add_key_length(shape.head_dim)
        writer.add_value_length(shape.head_dim)


def _add_tensors(
    writer: gguf.GGUFWriter, model: Any, shape: LlamaShape, matrix_type: gguf.GGMLQuantizationType
) -> dict[str, int]:
    """Add every weight under its GGUF name; returns how many tensors of each type."""
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, shape.block_count)
    kinds: dict[str, int] = {}
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and shape.tied:
            continue  # llama.cpp reads the output layer from token_embd
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise BizlmError(
                f"The model has a tensor '{hf_name}' that GGUF's Llama layout has no place for.",
                hint="Export a plain Llama-architecture model (SmolLM2, Llama).",
            )
        data = tensor.detach().to(torch.float32).cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = interleave_rope(data, shape.head_count)
        elif hf_name.endswith("k_proj.weight"):
            data = interleave_rope(data, shape.head_count_kv)
        kind = _tensor_type(data, matrix_type)
        stored = gguf.quants.quantize(data, kind)
        writer.add_tensor(name, stored, raw_dtype=kind)
        kinds[kind.name] = kinds.get(kind.name, 0) + 1
    return kinds


def _tensor_type(
    data: np.ndarray, matrix_type: gguf.GGMLQuantizationType
) -> gguf.GGMLQuantizationType:
    if data.ndim < 2:
        return gguf.GGMLQuantizationType.F32
    block, _ = gguf.GGML_QUANT_SIZES[matrix_type]
    if data.shape[-1] % block:
        return gguf.GGMLQuantizationType.F16
    return matrix_type
