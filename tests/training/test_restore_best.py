"""The loop restores the best-scoring weights, or keeps the last ones when asked to."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification

from bizlm.progress import Reporter
from bizlm.recipe import TrainConfig
from bizlm.training.loop import LoopHooks, LoopResult, train_loop


def _train(
    tiny_model_dir: Path, restore_best: bool
) -> tuple[torch.Tensor, list[torch.Tensor], LoopResult]:
    """Two epochs on four examples; validation scores fall, so the first evaluation is best."""
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    features = [
        {"input_ids": [2, 5 + i, 3], "attention_mask": [1, 1, 1], "labels": i % 2} for i in range(4)
    ]
    seen: list[torch.Tensor] = []

    def evaluate(module: torch.nn.Module) -> dict[str, float]:
        seen.append(module.classifier.weight.detach().clone())
        return {"loss": float(len(seen)), "accuracy": 1.0 / len(seen)}

    config = TrainConfig(epochs=2, batch_size=4, learning_rate=1e-2, warmup_ratio=0.0)
    hooks = LoopHooks(restore_best=restore_best)
    result = train_loop(model, features, evaluate, 0, config, Reporter(), "accuracy", hooks)
    return model.classifier.weight.detach(), seen, result


def test_the_best_weights_come_back_by_default(tiny_model_dir: Path) -> None:
    final, seen, result = _train(tiny_model_dir, restore_best=True)
    assert len(seen) == 2 and not torch.equal(seen[0], seen[1])
    assert torch.equal(final, seen[0])
    assert result.weights_kept == "best" and result.best is not None and result.best["step"] == 1


def test_restore_best_false_keeps_the_last_weights(tiny_model_dir: Path) -> None:
    final, seen, result = _train(tiny_model_dir, restore_best=False)
    assert torch.equal(final, seen[1])
    assert result.weights_kept == "last"
    assert not torch.equal(final, seen[0])
