"""How fast the packaged chat model writes (part of bench/generate.py).

Offline, 16 prompts of mixed length (FAQ questions, some after one to three FAQ answers given
as context), greedy, up to 128 new tokens, each answer ending at the model's end token:
  * ``transformers``' ``model.generate`` one prompt at a time (the plain loop);
  * ``transformers``' ``model.generate`` on the 16 prompts as one left-padded batch;
  * bizlm's batched decoder (answers leave the batch as they end), in float32 and on copies of
    the model with dynamic int8 linear layers and with bfloat16 weights (does either beat
    float32 on this CPU, and do its answers stay those of float32?);
  * llama.cpp (llama-cpp-python) on the GGUF export, one prompt at a time, where it installs.
The runs take turns over rounds and each figure pools its rounds (tokens over seconds).

Served: ``bizlm serve`` (a subprocess) on a generate bundle, 8 concurrent streaming clients
through the official ``openai`` client; time to first token and served tokens/s, against the
same prompts decoded offline 8 at a time in this process while the server idles.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

import torch

NEW_TOKENS = 128


def mixed_prompts(rows: list[dict[str, str]], count: int = 16) -> list[str]:
    """``count`` questions, the i-th after i % 4 other answers given as context."""
    prompts = []
    for index, row in enumerate(rows[:count]):
        context = [rows[(index + k + 1) % len(rows)]["response"] for k in range(index % 4)]
        lead = "".join(f"Context: {text}\n" for text in context)
        prompts.append(f"{lead}Question: {row['prompt']}" if lead else row["prompt"])
    return prompts


def _until_end(tokens: list[int], end_ids: set[int]) -> list[int]:
    return next(
        (tokens[:i] for i, token in enumerate(tokens) if token in end_ids or token < 0), tokens
    )


def transformers_loop(predictor: Any, ids: list[list[int]]) -> list[list[int]]:
    """``model.generate`` one prompt at a time; the tokens before the end token."""
    answers = []
    for row in ids:
        output = predictor.model.generate(
            input_ids=torch.tensor([row]),
            attention_mask=torch.ones(1, len(row), dtype=torch.long),
            max_new_tokens=NEW_TOKENS,
            do_sample=False,
            eos_token_id=predictor.end_ids,
            pad_token_id=predictor.pad_token_id,
        )
        answers.append(_until_end(output[0, len(row) :].tolist(), set(predictor.end_ids)))
    return answers


def transformers_batch(predictor: Any, ids: list[list[int]]) -> list[list[int]]:
    """``model.generate`` on all prompts as one left-padded batch."""
    width, pad = max(map(len, ids)), predictor.pad_token_id
    output = predictor.model.generate(
        input_ids=torch.tensor([[pad] * (width - len(r)) + r for r in ids]),
        attention_mask=torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in ids]),
        max_new_tokens=NEW_TOKENS,
        do_sample=False,
        eos_token_id=predictor.end_ids,
        pad_token_id=pad,
    )
    return [_until_end(row[width:].tolist(), set(predictor.end_ids)) for row in output]


def bizlm_batch(predictor: Any, ids: list[list[int]], rows: int = 16) -> list[list[int]]:
    """bizlm's decoder, ``rows`` answers at a time."""
    settings = predictor.settings({"max_new_tokens": NEW_TOKENS})
    answers = [predictor.answer(row, settings) for row in ids]
    predictor.decoder(rows).run(sorted(answers, key=lambda a: -len(a.prompt)))
    return [answer.tokens for answer in answers]


def quantised(predictor: Any, quantize: str) -> Any:
    """A copy of ``predictor`` whose model is quantised as ``bizlm export --quantize`` does."""
    import copy

    from bizlm.compress.quantize import apply_torch_quantization

    clone = copy.copy(predictor)
    clone.model = apply_torch_quantization(copy.deepcopy(predictor.model), quantize)
    return clone


def timed(run: Any, *args: Any) -> tuple[float, list[list[int]]]:
    started = time.perf_counter()
    with torch.inference_mode():
        answers = run(*args)
    return time.perf_counter() - started, answers


def offline(predictor: Any, prompts: list[str], rounds: int, gguf: dict[str, Path]) -> dict:
    """Tokens/s of each way to generate, pooled over ``rounds`` turns."""
    ids = [predictor.encode(prompt) for prompt in prompts]
    ways: dict[str, Any] = {
        "transformers_loop": transformers_loop,
        "transformers_batch": transformers_batch,
        "bizlm_batch": bizlm_batch,
    }
    variants = {
        "bizlm_batch_int8": quantised(predictor, "dynamic-int8"),
        "bizlm_batch_bf16": quantised(predictor, "bf16"),
    }
    llama = {f"llamacpp_{name}": LlamaRunner(path, predictor) for name, path in gguf.items()}
    totals = {name: [0.0, 0] for name in [*ways, *variants, *llama]}
    outputs: dict[str, list[list[int]]] = {}
    for _ in range(rounds):
        for name, run in ways.items():
            seconds, outputs[name] = timed(run, predictor, ids)
            totals[name][0] += seconds
            totals[name][1] += sum(map(len, outputs[name]))
        for name, variant in variants.items():
            seconds, outputs[name] = timed(bizlm_batch, variant, ids)
            totals[name][0] += seconds
            totals[name][1] += sum(map(len, outputs[name]))
        for name, runner in llama.items():
            seconds, outputs[name] = timed(runner.run, prompts)
            totals[name][0] += seconds
            totals[name][1] += sum(map(len, outputs[name]))
    result: dict[str, Any] = {
        name: {"seconds": round(s, 2), "tokens": n, "tokens_per_s": round(n / s, 1)}
        for name, (s, n) in totals.items()
    }
    loop = outputs["transformers_loop"]
    for name in outputs:
        same = sum(a == b for a, b in zip(outputs[name], loop, strict=True))
        result[name]["answers_equal_to_loop"] = f"{same}/{len(loop)}"
    result["prompt_tokens"] = sorted(map(len, ids))
    return result


class LlamaRunner:
    """llama-cpp-python on a GGUF file, greedy, one prompt at a time (chat-formatted by the
    bundle's own template, so both sides read the same text)."""

    def __init__(self, path: Path, predictor: Any) -> None:
        from llama_cpp import Llama

        self.llm = Llama(str(path), n_ctx=2048, verbose=False)
        self.predictor = predictor

    def run(self, prompts: list[str]) -> list[list[int]]:
        answers = []
        for prompt in prompts:
            ids = self.predictor.encode(prompt)
            tokens: list[int] = []
            for token in self.llm.generate(ids, top_k=1, top_p=1.0, temp=0.0, reset=True):
                if token in self.predictor.end_ids or len(tokens) == NEW_TOKENS:
                    break
                tokens.append(token)
            answers.append(tokens)
        return answers


def served(bundle: Path, prompts: list[str], clients: int = 8, per_client: int = 4) -> dict:
    """8 streaming clients against ``bizlm serve``; then the same requests decoded offline."""
    import openai

    from bench.serve import Server
    from bizlm.predictor import load

    server = Server(bundle, max_batch_size=clients, max_wait_ms=5.0)
    first_token: list[float] = []
    tokens = [0]
    lock = threading.Lock()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{server.port}/v1", api_key="none")

    def ask(prompt: str) -> None:
        started = time.perf_counter()
        stream = client.chat.completions.create(
            model=server.model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=NEW_TOKENS,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        seen_first = False
        for chunk in stream:
            if not seen_first and chunk.choices and chunk.choices[0].delta.content:
                seen_first = True
                with lock:
                    first_token.append(time.perf_counter() - started)
            if chunk.usage is not None:
                with lock:
                    tokens[0] += chunk.usage.completion_tokens

    def worker(index: int) -> None:
        for k in range(per_client):
            ask(prompts[(index * per_client + k) % len(prompts)])  # each prompt once

    try:
        ask(prompts[0])  # warm-up
        first_token.clear()
        tokens[0] = 0
        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        mean_rows = server.mean_batch_size()
    finally:
        server.stop()
    predictor = load(bundle)
    asked = [prompts[i % len(prompts)] for i in range(clients * per_client)]
    seconds, answers = timed(bizlm_batch, predictor, [predictor.encode(p) for p in asked], clients)
    offline_tps = sum(map(len, answers)) / seconds
    served_tps = tokens[0] / wall
    return {
        "clients": clients,
        "requests": len(asked),
        "served_tokens": tokens[0],
        "served_seconds": round(wall, 2),
        "served_tokens_per_s": round(served_tps, 1),
        "offline_tokens_per_s": round(offline_tps, 1),
        "mean_rows_per_decoding_step": round(mean_rows, 2),
        "stream_ttft_p50_ms": round(1000 * statistics.median(first_token), 1),
        "stream_ttft_p95_ms": round(1000 * statistics.quantiles(first_token, n=20)[-1], 1),
        "served_tokens_ratio": round(served_tps / offline_tps, 3),
    }
