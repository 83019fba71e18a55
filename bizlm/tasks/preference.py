"""Preference pairs for the generate task (``task.preference: true``, trained with DPO).

Each pair becomes one feature: the chosen conversation in the usual keys (labels on the
answer's tokens) and the rejected one beside it (``bizlm.methods.dpo``'s keys), both padded to
the pair's longer length. Held-out pairs are scored by their DPO loss, the share of pairs
whose chosen answer earns the larger reward (preference accuracy) and the mean reward margin.
"""

from __future__ import annotations

from typing import Any

import torch

from bizlm.backbones import resolve_model
from bizlm.batching import Features, PaddingCollator
from bizlm.errors import RecipeError
from bizlm.inference import evaluation_mode
from bizlm.losses import Batch
from bizlm.methods.dpo import (
    REJECTED_ANSWER,
    REJECTED_IDS,
    REJECTED_MASK,
    PreferenceModel,
)
from bizlm.predictor import Predictor
from bizlm.tasks.generate_encoding import IGNORED, encode_conversation
from bizlm.tasks.generate_predictor import CausalLM

DEFAULT_BETA = 0.1


def pair_features(
    tokenizer: Any, chosen: list[Any], rejected: list[Any], max_length: int, close: bool
) -> list[Features]:
    """One feature per pair: the chosen answer's ids and labels, and the rejected one's."""
    features = []
    for better, worse in zip(chosen, rejected, strict=True):
        first = encode_conversation(tokenizer, better, max_length, close).features
        second = encode_conversation(tokenizer, worse, max_length, close).features
        width = max(len(first["input_ids"]), len(second["input_ids"]))
        pad = int(tokenizer.pad_token_id or 0)
        grow = width - len(second["input_ids"])
        features.append(
            {
                "input_ids": _padded(first["input_ids"], width, pad),
                "attention_mask": _padded(first["attention_mask"], width, 0),
                "labels": _padded(first["labels"], width, IGNORED),
                REJECTED_IDS: second["input_ids"] + [pad] * grow,
                REJECTED_MASK: second["attention_mask"] + [0] * grow,
                REJECTED_ANSWER: [int(label != IGNORED) for label in second["labels"]] + [0] * grow,
            }
        )
    return features


def preference_loss(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """The DPO loss of a preference batch; only the dpo method's model can compute it."""
    inner = getattr(model, "module", model)  # under a distributed wrapper
    if not isinstance(inner, PreferenceModel):
        raise RecipeError(
            "task.preference: true learns from preference pairs, which only method dpo trains.",
            hint="Set method: {name: dpo}, or drop task.preference to learn from responses.",
        )
    return model(**batch).loss


def preference_scores(
    model: PreferenceModel, features: list[Features], pad_id: int, batch_size: int
) -> dict[str, float]:
    """Mean DPO loss, preference accuracy and reward margin (mean chosen minus rejected
    reward) over held-out pairs, with the mean rewards of each side."""
    collate = PaddingCollator(pad_id, None, IGNORED)
    losses, chosen, rejected = [], [], []
    device = next(model.parameters()).device
    with evaluation_mode(model), torch.inference_mode():
        for start in range(0, len(features), batch_size):
            batch = collate(features[start : start + batch_size])
            output = model(**{key: value.to(device) for key, value in batch.items()})
            losses.append(float(output.loss) * len(output.chosen_rewards))
            chosen.append(output.chosen_rewards.cpu())
            rejected.append(output.rejected_rewards.cpu())
    if not losses:
        return {"loss": float("nan")}
    better, worse = torch.cat(chosen), torch.cat(rejected)
    return {
        "loss": sum(losses) / len(better),
        "preference_accuracy": float((better > worse).float().mean()),
        "reward_margin": float((better - worse).mean()),
        "chosen_reward": float(better.mean()),
        "rejected_reward": float(worse.mean()),
    }


def score_predictor(
    predictor: Predictor, features: list[Features], batch_size: int
) -> dict[str, float]:
    """:func:`preference_scores` of a trained bundle's model against the model it started
    from (``model:`` of its recipe, loaded for the scoring only)."""
    beta = float(predictor.info.method_settings.get("beta", DEFAULT_BETA))
    reference = CausalLM.from_pretrained(resolve_model(str(predictor.info.recipe["model"])))
    pad_id = int(predictor.tokenizer.pad_token_id or 0)
    return preference_scores(
        PreferenceModel(predictor.model, reference, beta), features, pad_id, batch_size
    )


def _padded(values: list[int], width: int, fill: int) -> list[int]:
    return values + [fill] * (width - len(values))
