"""Pattern-exploiting training (Schick and Schütze, 2021) with LoRA: the generative LM learns
to answer each training text, under the template, with its label's verbaliser.

A label's logit is the log-probability of its whole verbaliser after the prompt; the loss is
cross-entropy over the labels' logits. The LoRA update is merged, so the bundle holds a plain
causal LM served like a zero-shot generative bundle (no calibration: the model was trained).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from peft import LoraConfig, get_peft_model

from bizlm.errors import RecipeError
from bizlm.methods.base import BuiltModel
from bizlm.prompting.config import PetConfig
from bizlm.prompting.generative import PromptScorer, check_verbalisers, load_generator
from bizlm.prompting.prompt_predictor import PromptPredictor
from bizlm.prompting.steps import run_epochs


def answer_scores(
    model: torch.nn.Module, prompt: list[int], answers: list[list[int]]
) -> torch.Tensor:
    """Log-probability of each answer (all its tokens) after ``prompt``; differentiable."""
    sequences = [prompt + answer for answer in answers]
    width = max(len(s) for s in sequences)
    ids = torch.zeros(len(sequences), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(sequence)
        mask[row, : len(sequence)] = 1
    log_probs = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), -1)
    start = len(prompt) - 1  # the logits at position i predict token i + 1
    return torch.stack(
        [
            log_probs[row, start + torch.arange(len(answer)), torch.tensor(answer)].sum()
            for row, answer in enumerate(answers)
        ]
    )


def train_pet(recipe: Any, data: Any, config: PetConfig, reporter: Any) -> BuiltModel:
    """LoRA-tune the generator on the training split; return the merged model for the bundle."""
    labels = data.labels
    unknown = sorted(set(config.verbalisers) - set(labels))
    if unknown:
        raise RecipeError(
            f"method.verbalisers names label(s) {', '.join(unknown)} that the data does not have.",
            hint=f"The labels are: {', '.join(labels)}.",
        )
    location, tokenizer, model = load_generator(config.generator)
    verbalisers = [config.verbalisers.get(label, label) for label in labels]
    check_verbalisers(tokenizer, labels, verbalisers)
    train = recipe.train
    scorer = PromptScorer(model, tokenizer, config.template, verbalisers, train.max_length)
    examples = data.splits["train"]
    prompts = [
        tokenizer(scorer.fill(text), add_special_tokens=False)["input_ids"]
        for text in examples.texts
    ]
    gold = [labels.index(str(target)) for target in examples.targets]
    lora = LoraConfig(
        r=config.r,
        lora_alpha=config.alpha,
        target_modules=config.target_modules,
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
    )
    tuned = get_peft_model(model, lora)
    parameters = [p for p in tuned.parameters() if p.requires_grad]
    generator = np.random.default_rng(train.seed)
    epochs = []
    for _ in range(train.epochs):
        order = generator.permutation(len(prompts))
        starts = range(0, len(order), train.batch_size)
        epochs.append([order[start : start + train.batch_size] for start in starts])

    def backward(batch: np.ndarray) -> float:
        losses = []
        for index in batch:  # one example at a time: C sequences each
            logits = answer_scores(tuned, prompts[index], scorer.answer_ids)
            loss = torch.nn.functional.cross_entropy(logits[None], torch.tensor([gold[index]]))
            (loss / len(batch)).backward()
            losses.append(float(loss.detach()))
        return float(np.mean(losses))

    loop = run_epochs(
        tuned, parameters, train, epochs, backward, reporter, "pattern-exploiting training", "loss"
    )
    merged = tuned.merge_and_unload()
    prompt = {
        "template": config.template,
        "verbalisers": verbalisers,
        "prior": None,
        "calibration": {"setting": False, "applied": False, "reason": "the model was trained"},
    }
    return BuiltModel(
        merged, tokenizer, location, loop, predictor_class=PromptPredictor, info={"prompt": prompt}
    )
