"""Does a GGUF file answer like the bundle it came from? Greedy answers compared token by token.

Each prompt is written with the bundle's chat template; torch answers from the Hugging Face
tokenizer's ids, llama.cpp from its own tokenization of the same text, both greedily for up to
:data:`TOKENS_COMPARED` tokens (an answer ends with its first end token). The check reports the
share of prompts whose answers agree exactly, the mean length of the common start, and how
often both tokenizers split the prompt alike. It rejects the file when the agreement is below
:data:`MIN_AGREEMENT` for its type: float16 rounds a little, Q8_0 more, Q4_K_M most, and one
flipped near-tie changes the rest of an answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from bizlm.compress.gguf_llama import EXTRA, LlamaCppModel, llama_cpp_module, version
from bizlm.compress.parity import ParityError
from bizlm.data.conversations import Conversation
from bizlm.tasks.generate_encoding import render
from bizlm.tasks.generate_predictor import GeneratePredictor

TOKENS_COMPARED = 16
#: the least share of prompts whose first TOKENS_COMPARED answer tokens must agree (SmolLM2-135M,
#: 16 validation prompts: f16 100%, q8_0 56%, q4_k_m 19%; a broken file agrees on none)
MIN_AGREEMENT = {"f32": 0.9, "f16": 0.8, "q8_0": 0.4, "q4_k_m": 0.1}
FINER = {"q4_k_m": "q8_0 or f16", "q8_0": "f16", "f16": "f32", "f32": "f32"}


def prompt_texts(predictor: GeneratePredictor, conversations: Sequence[Conversation]) -> list[str]:
    """Each conversation as the chat template writes it, with the recipe's system message and
    the assistant's cue: the text both runtimes answer."""
    system = predictor.info.task_settings.get("system")
    texts = []
    for conversation in conversations:
        messages = list(conversation)
        if system and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": system})
        texts.append(render(predictor.tokenizer, messages, True))
    return texts


def torch_greedy(
    predictor: GeneratePredictor, ids: Sequence[int], max_new_tokens: int
) -> list[int]:
    """The bundle's greedy answer tokens after ``ids``, ending with the first end token."""
    model = predictor.model
    inputs = torch.tensor([list(ids)])
    with torch.inference_mode():
        output = model.generate(
            input_ids=inputs,
            attention_mask=torch.ones_like(inputs),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=predictor.pad_token_id,
            eos_token_id=predictor.end_ids or None,
        )
    answer = output[0, len(ids) :].tolist()
    end = next((i for i, t in enumerate(answer) if t in predictor.end_ids), len(answer) - 1)
    return answer[: end + 1]


def common_prefix(first: Sequence[int], second: Sequence[int]) -> int:
    """How many tokens two answers share from their start."""
    count = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        count += 1
    return count


def measure_gguf_parity(
    predictor: GeneratePredictor,
    gguf_file: Path,
    conversations: Sequence[Conversation],
    kind: str,
    tokens: int = TOKENS_COMPARED,
) -> dict[str, Any]:
    """Greedy answers of ``gguf_file`` in llama.cpp against the bundle's, on
    ``conversations``; ``rejected`` when fewer than :data:`MIN_AGREEMENT` of them agree."""
    texts = prompt_texts(predictor, conversations)
    limit = predictor.max_length
    hf_ids = [predictor.tokenizer(t, add_special_tokens=False)["input_ids"][-limit:] for t in texts]
    start = time.perf_counter()  # one runtime at a time: their threads would compete
    expected = [torch_greedy(predictor, ids, tokens) for ids in hf_ids]
    torch_seconds = time.perf_counter() - start
    llama = LlamaCppModel(gguf_file, n_ctx=limit + tokens + 8)
    try:
        cpp_ids = [llama.tokenize(text)[-limit:] for text in texts]
        start = time.perf_counter()
        answers = [llama.greedy(ids, tokens, predictor.end_ids) for ids in cpp_ids]
        llama_seconds = time.perf_counter() - start
    finally:
        llama.close()
    same = sum(a == e for a, e in zip(answers, expected, strict=True))
    prefix_total = sum(common_prefix(a, e) for a, e in zip(answers, expected, strict=True))
    tokenized_alike = sum(a == b for a, b in zip(hf_ids, cpp_ids, strict=True))
    torch_tokens, llama_tokens = sum(map(len, expected)), sum(map(len, answers))
    count = len(texts)
    agreement = same / count
    return {
        "checked": True,
        "n": count,
        "tokens_compared": tokens,
        "quantize": kind,
        "answer_agreement": agreement,
        "mean_common_prefix": prefix_total / count,
        "prompt_tokenization_agreement": tokenized_alike / count,
        "torch_tokens_per_second": round(torch_tokens / max(torch_seconds, 1e-9), 1),
        "llama_cpp_tokens_per_second": round(llama_tokens / max(llama_seconds, 1e-9), 1),
        "llama_cpp_python": version(),
        "min_agreement": MIN_AGREEMENT[kind],
        "rejected": agreement < MIN_AGREEMENT[kind],
    }


def unchecked_parity(kind: str) -> dict[str, Any] | None:
    """The parity record of an export that cannot be checked here (None: it can)."""
    if llama_cpp_module() is not None:
        return None
    return {
        "checked": False,
        "quantize": kind,
        "reason": f"llama-cpp-python is not installed; {EXTRA} to check parity",
        "rejected": False,
    }


def gguf_parity_line(parity: dict[str, Any]) -> str:
    """One-line summary of a GGUF parity check."""
    if not parity.get("checked"):
        return f"parity not checked: {parity['reason']}"
    return (
        f"parity on {parity['n']} prompts: {100 * parity['answer_agreement']:.1f}% of greedy "
        f"answers agree on their first {parity['tokens_compared']} tokens (at least "
        f"{100 * parity['min_agreement']:.0f}% required), mean common start "
        f"{parity['mean_common_prefix']:.1f} tokens, prompts tokenized alike "
        f"{100 * parity['prompt_tokenization_agreement']:.1f}%; tokens/s llama.cpp "
        f"{parity['llama_cpp_tokens_per_second']} vs torch {parity['torch_tokens_per_second']}"
    )


def gguf_rejection(parity: dict[str, Any], bundle: Path) -> ParityError:
    """The error raised after a rejected GGUF export was written."""
    return ParityError(
        f"Export rejected: only {100 * parity['answer_agreement']:.1f}% of {parity['n']} greedy "
        f"answers of the {parity['quantize']} GGUF file agree with the bundle's on their first "
        f"{parity['tokens_compared']} tokens, below the {100 * parity['min_agreement']:.0f}% "
        f"required. The export was written to {bundle} and marked rejected.",
        hint=f"Try a finer type (--quantize {FINER[parity['quantize']]}).",
    )
