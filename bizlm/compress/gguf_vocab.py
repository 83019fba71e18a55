"""The tokenizer of a GGUF file: a byte-level BPE vocabulary as llama.cpp's ``gpt2`` model reads it.

Tokens keep their byte-level spelling (``Ġthe``), added tokens marked special become CONTROL
tokens and the others USER_DEFINED; the merges, the special token ids and the chat template
come from ``gguf.SpecialVocab`` reading the saved tokenizer. The pre-tokenizer name tells
llama.cpp how to split text before BPE, so it must split as the Hugging Face tokenizer does.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import gguf

from bizlm.errors import BizlmError
from bizlm.log import logger

#: backbone names whose pre-tokenizer llama.cpp knows by name (the key is found in the name)
KNOWN_PRE_TOKENIZERS = {"smollm": "smollm"}


def tokenizer_spec(tokenizer: Any) -> dict[str, Any]:
    """The ``tokenizer.json`` of a fast tokenizer; a clear error for any other kind."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise BizlmError(
            f"The bundle's tokenizer ({type(tokenizer).__name__}) is not a fast tokenizer; "
            "GGUF export reads the tokenizer.json of byte-level BPE tokenizers.",
            hint="Export a model with a byte-level BPE tokenizer (SmolLM2, Llama 3, GPT-2 style).",
        )
    return json.loads(backend.to_str())


def check_byte_level_bpe(spec: dict[str, Any]) -> None:
    """Refuse tokenizers llama.cpp's ``gpt2`` model would not reproduce."""
    model = spec.get("model", {}).get("type")
    decoder = (spec.get("decoder") or {}).get("type")
    if model != "BPE" or decoder != "ByteLevel":
        raise BizlmError(
            f"The bundle's tokenizer is a {model} tokenizer with a {decoder} decoder; GGUF "
            "export supports byte-level BPE tokenizers only.",
            hint="Export a model with a byte-level BPE tokenizer (SmolLM2, Llama 3, GPT-2 "
            "style), for example one trained from model: smollm2.",
        )


def pre_tokenizer_name(spec: dict[str, Any], model_name: str) -> str:
    """llama.cpp's name for how the tokenizer splits text: a known backbone by name, else
    from the pre-tokenizer's structure (byte-level alone: ``gpt-2``; digits one by one, then
    byte-level: ``smollm``); ``default`` (with a warning) for anything else."""
    for key, name in KNOWN_PRE_TOKENIZERS.items():
        if key in model_name.lower():
            return name
    steps = _steps(spec.get("pre_tokenizer"))
    kinds = [step.get("type") for step in steps]
    byte_level = bool(steps) and steps[-1].get("type") == "ByteLevel"
    if byte_level and (steps[-1].get("add_prefix_space") or not steps[-1].get("use_regex", True)):
        byte_level = False
    if byte_level and kinds == ["ByteLevel"]:
        return "gpt-2"
    if byte_level and kinds == ["Digits", "ByteLevel"] and steps[0].get("individual_digits"):
        return "smollm"
    logger.warning(
        "llama.cpp has no name for this tokenizer's pre-tokenizer (%s); the GGUF file says "
        "'default', so llama.cpp may split some texts differently from the bundle.",
        " + ".join(str(kind) for kind in kinds) or "none",
    )
    return "default"


def _steps(pre_tokenizer: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not pre_tokenizer:
        return []
    if pre_tokenizer.get("type") == "Sequence":
        return list(pre_tokenizer.get("pretokenizers", []))
    return [pre_tokenizer]


def token_table(tokenizer: Any, vocab_size: int) -> tuple[list[str], list[int]]:
    """Every token of the model's vocabulary, by id, and its GGUF token type; ids the
    tokenizer does not use (the model's vocabulary may be padded) become UNUSED tokens."""
    by_id = {index: token for token, index in tokenizer.get_vocab().items()}
    if max(by_id) >= vocab_size:
        raise BizlmError(
            f"The tokenizer has token id {max(by_id)}, beyond the model's vocabulary of "
            f"{vocab_size}.",
            hint="Retrain the bundle; its tokenizer and model do not match.",
        )
    added = tokenizer.added_tokens_decoder
    tokens, types = [], []
    for index in range(vocab_size):
        if index not in by_id:
            tokens.append(f"[PAD{index}]")
            types.append(gguf.TokenType.UNUSED)
        elif index in added:
            tokens.append(by_id[index])
            special = added[index].special
            types.append(gguf.TokenType.CONTROL if special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[index])
            types.append(gguf.TokenType.NORMAL)
    return tokens, types


def add_vocabulary(writer: gguf.GGUFWriter, tokenizer: Any, vocab_size: int, name: str) -> str:
    """Write the tokenizer keys (model, pre-tokenizer, tokens, types, merges, special ids,
    chat template) into ``writer``; returns the pre-tokenizer name. ``name`` is the model's
    name or folder, used to recognise backbones llama.cpp knows."""
    spec = tokenizer_spec(tokenizer)
    check_byte_level_bpe(spec)
    pre = pre_tokenizer_name(spec, name)
    tokens, types = token_table(tokenizer, vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    with tempfile.TemporaryDirectory(prefix="bizlm-gguf-vocab-") as folder:
        tokenizer.save_pretrained(folder)
        special = gguf.SpecialVocab(Path(folder), load_merges=True, n_vocab=vocab_size)
    # bizlm encodes prompts without added special tokens: the chat template writes them
    special.add_special_token = {"bos": False, "eos": False}
    special.add_to_gguf(writer, quiet=True)
    return pre
