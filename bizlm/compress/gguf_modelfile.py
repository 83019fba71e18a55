"""An Ollama ``Modelfile`` for an exported GGUF file: the file, the chat format, stop markers.

Ollama writes prompts with Go templates. ChatML (``<|im_start|>role ... <|im_end|>``, as
SmolLM2, Qwen and bizlm's default template use) is written out as one; for other templates
the Modelfile names none, and Ollama reads the chat template stored in the GGUF file.
"""

from __future__ import annotations

import json
from typing import Any

from bizlm.tasks.generate_encoding import turn_end

CHATML_TEMPLATE = (
    "{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n"
)


def modelfile_text(
    gguf_name: str, tokenizer: Any, system: str | None, decoding: dict[str, Any]
) -> str:
    """The Modelfile of ``gguf_name`` (beside it) for a bundle with ``tokenizer`` (its chat
    template installed), the recipe's ``system`` message and ``decoding`` settings."""
    lines = [f"FROM ./{gguf_name}"]
    template = str(getattr(tokenizer, "chat_template", "") or "")
    if "<|im_start|>" in template and "<|im_end|>" in template:
        lines.append(f'TEMPLATE """{CHATML_TEMPLATE}"""')
    if system:
        lines.append(f'SYSTEM """{system}"""')
    stops = [marker for marker in (turn_end(tokenizer), tokenizer.eos_token) if marker]
    stops += list(decoding.get("stop") or [])
    for stop in dict.fromkeys(stops):
        lines.append(f"PARAMETER stop {json.dumps(stop)}")
    if decoding.get("do_sample"):
        lines += [
            f"PARAMETER {k} {decoding[k]}" for k in ("temperature", "top_p") if decoding.get(k)
        ]
    else:
        lines.append("PARAMETER temperature 0")
    if decoding.get("max_new_tokens"):
        lines.append(f"PARAMETER num_predict {int(decoding['max_new_tokens'])}")
    return "\n".join(lines) + "\n"
