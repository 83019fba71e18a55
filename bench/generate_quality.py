"""What instruction and preference tuning buy on a real FAQ set (part of bench/generate.py).

SFT: the packaged SmolLM2-135M-Instruct, prompted zero-shot and few-shot (three training pairs
as earlier turns), against the same model fine-tuned with LoRA (the set's recipe) and fully,
all scored on the test split with ROUGE-L and chrF from the same greedy decoding.

DPO: from the LoRA bundle, on pairs whose chosen answer is the FAQ's own and whose rejected
answer is the FAQ's answer to another, randomly drawn question (so the pair asks: does the
model prefer the right answer to a fluent wrong one). Held-out pairs come from the test split;
the DPO model's test ROUGE-L is compared with its SFT start.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

FEW_SHOTS = 3


def read_split(folder: Path, split: str) -> list[dict[str, str]]:
    """Rows of one JSONL split."""
    lines = (folder / f"{split}.jsonl").read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in lines if line.strip()]


def score(predictor: Any, conversations: list[list[dict]], references: list[str]) -> dict:
    """ROUGE-L, chrF and exact match of greedy answers, with the time they took."""
    from bizlm.metrics.generation import generation_metrics

    started = time.perf_counter()
    answers = predictor.chat(conversations, do_sample=False, temperature=None, top_p=None)
    metrics = generation_metrics(answers, references)
    metrics["generate_seconds"] = round(time.perf_counter() - started, 1)
    return {key: metrics[key] for key in ("rouge_l", "chrf", "exact_match", "generate_seconds")}


def turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def base_scores(base: Any, train: list[dict], test: list[dict]) -> dict[str, Any]:
    """The base model prompted zero-shot and few-shot on the test prompts."""
    references = [row["response"] for row in test]
    zero = [[turn("user", row["prompt"])] for row in test]
    shots = []
    for row in train[:FEW_SHOTS]:
        shots += [turn("user", row["prompt"]), turn("assistant", row["response"])]
    few = [[*shots, turn("user", row["prompt"])] for row in test]
    return {"zero_shot": score(base, zero, references), "few_shot": score(base, few, references)}


def train_run(recipe: Path, output: Path, overrides: list[str]) -> dict[str, Any]:
    """Train a recipe into ``output``; its training cost and bundle."""
    from bizlm.training.run import train

    result = train(recipe, [*overrides, f"output={output}"])
    training = result.info["training"]
    return {
        "bundle": str(output),
        "overrides": overrides,
        "train_seconds": training["train_seconds"],
        "samples_per_s": training["samples_per_s"],
        "trainable_parameters": training["trainable_parameters"],
        "test_metrics_in_bundle": {
            k: result.metrics.get(k) for k in ("rouge_l", "chrf", "exact_match")
        },
    }


def mean_pair_tokens(tokenizer: Any, rows: list[dict]) -> float:
    """Mean tokens of a prompt/response pair in the chat template (what training reads)."""
    pairs = [[turn("user", r["prompt"]), turn("assistant", r["response"])] for r in rows]
    lengths = [len(tokenizer.apply_chat_template(pair, tokenize=True)) for pair in pairs]
    return sum(lengths) / len(lengths)


def sft(recipe: Path, folder: Path, work: Path, base: Any) -> dict[str, Any]:
    """Base zero/few-shot against LoRA and full fine-tuning; the SFT keys."""
    from bizlm.predictor import load

    train, test = read_split(folder, "train"), read_split(folder, "test")
    references = [row["response"] for row in test]
    conversations = [[turn("user", row["prompt"])] for row in test]
    result: dict[str, Any] = {"test_pairs": len(test), "base": base_scores(base, train, test)}
    pair_tokens = mean_pair_tokens(base.tokenizer, train)
    for name, overrides in (
        ("lora", []),
        ("full", ["method.name=full", "train.learning_rate=5.0e-5"]),
    ):
        run = train_run(recipe, work / f"sft-{name}", overrides)
        run["train_tokens_per_s"] = round(run["samples_per_s"] * pair_tokens, 1)
        run["test"] = score(load(run["bundle"]), conversations, references)
        result[name] = run
    best_base = max(result["base"][k]["rouge_l"] for k in ("zero_shot", "few_shot"))
    result["sft_rouge_gain"] = round(100 * (result["lora"]["test"]["rouge_l"] - best_base), 2)
    result["lora_rouge_gap"] = round(
        100 * (result["full"]["test"]["rouge_l"] - result["lora"]["test"]["rouge_l"]), 2
    )
    return result


def preference_pairs(rows: list[dict], seed: int) -> list[dict[str, str]]:
    """Each row's answer as chosen, another question's answer as rejected."""
    rng = random.Random(seed)
    pairs = []
    for row in rows:
        others = [other for other in rows if other["response"] != row["response"]]
        rejected = rng.choice(others)["response"]
        pairs.append({"prompt": row["prompt"], "chosen": row["response"], "rejected": rejected})
    return pairs


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def dpo(folder: Path, work: Path, sft_bundle: Path, sft_rouge: float) -> dict[str, Any]:
    """DPO from the SFT bundle; preference accuracy on held-out pairs and the ROUGE change."""
    import yaml

    from bizlm.predictor import load

    work.mkdir(parents=True, exist_ok=True)
    files = {}
    for seed, split in enumerate(("train", "validation", "test")):
        pairs = preference_pairs(read_split(folder, split), seed)
        files[split] = str(write_jsonl(work / f"pairs-{split}.jsonl", pairs))
    recipe = {
        "model": str(sft_bundle),
        "task": {"type": "generate", "preference": True},
        "data": {**files, "max_train_examples": 300},
        "method": {"name": "dpo", "beta": 0.1},
        "train": {"epochs": 1, "batch_size": 8, "max_length": 176},
        "output": str(work / "dpo"),
    }
    (work / "dpo.yaml").write_text(yaml.safe_dump(recipe), "utf-8")
    from bizlm.training.run import train

    result = train(work / "dpo.yaml")
    test = read_split(folder, "test")
    rouge = score(
        load(work / "dpo"),
        [[turn("user", row["prompt"])] for row in test],
        [row["response"] for row in test],
    )
    metrics = result.metrics
    return {
        "recipe": recipe,
        "train_seconds": result.info["training"]["train_seconds"],
        "held_out": {k: v for k, v in metrics.items() if k not in ("samples", "validation")},
        "dpo_pref_accuracy": metrics.get("preference_accuracy"),
        "test_after_dpo": rouge,
        "rouge_change_points": round(100 * (rouge["rouge_l"] - sft_rouge), 2),
    }
