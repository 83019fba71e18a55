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


def train_run(recipe: dict[str, Any], output: Path) -> dict[str, Any]:
    """Train a recipe into ``output`` (or read the bundle a previous run left there); its
    training cost and test scores."""
    from bizlm.training.run import train

    manifest = output / "bizlm.json"
    if manifest.is_file():
        info = json.loads(manifest.read_text(encoding="utf-8"))
    else:
        info = train({**recipe, "output": str(output)}).info
    training = info["training"]
    return {
        "bundle": str(output),
        "method": recipe["method"],
        "train": recipe["train"],
        "train_seconds": training["train_seconds"],
        "samples_per_s": training["samples_per_s"],
        "trainable_parameters": training["trainable_parameters"],
        # the run's own test scores: greedy answers to the test prompts, as score() gives
        "test": {k: info["metrics"][k] for k in ("rouge_l", "chrf", "exact_match")},
    }


def mean_pair_tokens(tokenizer: Any, rows: list[dict]) -> float:
    """Mean tokens of a prompt/response pair in the chat template (what training reads)."""
    pairs = [[turn("user", r["prompt"]), turn("assistant", r["response"])] for r in rows]
    lengths = [
        len(tokenizer.apply_chat_template(pair, tokenize=True, return_dict=True)["input_ids"])
        for pair in pairs
    ]
    return sum(lengths) / len(lengths)


def sft(recipe: Path, folder: Path, work: Path, base: Any) -> dict[str, Any]:
    """Base zero/few-shot against LoRA (``recipe``) and full fine-tuning (the same recipe with
    method full at learning rate 5e-5); the SFT keys. Scores and bundles already in ``work``
    are reused."""
    import yaml

    train, test = read_split(folder, "train"), read_split(folder, "test")
    cached = work / "base-scores.json"
    if not cached.is_file():
        work.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(base_scores(base, train, test)), encoding="utf-8")
    scores = json.loads(cached.read_text(encoding="utf-8"))
    result: dict[str, Any] = {"test_pairs": len(test), "base": scores}
    pair_tokens = mean_pair_tokens(base.tokenizer, train)
    lora = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    full = {**lora, "method": {"name": "full"}, "train": {**lora["train"], "learning_rate": 5e-5}}
    for name, settings in (("lora", lora), ("full", full)):
        run = train_run(settings, work / f"sft-{name}")
        run["train_tokens_per_s"] = round(run["samples_per_s"] * pair_tokens, 1)
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


def dpo(
    folder: Path, work: Path, sft_bundle: Path, sft_rouge: float, learning_rate: float | None
) -> dict[str, Any]:
    """DPO from the SFT bundle (at the method's default learning rate unless one is given);
    preference accuracy on validation and held-out test pairs, and the ROUGE change."""
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
        "output": str(work / f"dpo-lr{learning_rate or 'default'}"),
    }
    if learning_rate is not None:
        recipe["train"]["learning_rate"] = learning_rate
    (work / "dpo.yaml").write_text(yaml.safe_dump(recipe), "utf-8")
    from bizlm.training.run import train

    result = train(work / "dpo.yaml")
    test = read_split(folder, "test")
    rouge = score(
        load(recipe["output"]),
        [[turn("user", row["prompt"])] for row in test],
        [row["response"] for row in test],
    )
    metrics = result.metrics
    return {
        "recipe": recipe,
        "train_seconds": result.info["training"]["train_seconds"],
        "learning_rate": result.info["recipe"]["train"]["learning_rate"],
        "validation": metrics.get("validation"),
        "held_out": {k: v for k, v in metrics.items() if k not in ("samples", "validation")},
        "dpo_pref_accuracy": metrics.get("preference_accuracy"),
        "test_after_dpo": rouge,
        "rouge_change_points": round(100 * (rouge["rouge_l"] - sft_rouge), 2),
    }
