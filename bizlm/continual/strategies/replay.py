"""``replay``: mix a class-balanced memory of past examples into every update.

With ``memory_keep: text`` the remembered texts join the training data. A remembered label has
a few examples against the hundreds of a new one, so ``replay_balance`` evens them out: by
default (``prior``) the loss adds each label's log share of the training examples to the logits
(balanced softmax), which stops the new labels from winning on frequency alone without
over-fitting the few remembered texts; ``repeat`` repeats the remembered texts instead. With
``memory_keep: embeddings`` no text is kept: every batch adds a cross-entropy term on a batch
of remembered head-input vectors, so the output layer keeps separating the old labels.
"""

from __future__ import annotations

import random
from collections import Counter

import torch
from torch.nn import functional as F

from bizlm.continual.head import output_layer
from bizlm.continual.memory import ReplayMemory
from bizlm.continual.strategies.base import Strategy, UpdateContext, model_inputs
from bizlm.errors import RecipeError
from bizlm.recipe import Recipe
from bizlm.tasks import Examples
from bizlm.tasks.base import LossFunction


class Replay(Strategy):
    """Rehearse remembered examples of the past labels alongside the new data."""

    name = "replay"
    description = "rehearse a class-balanced memory of past examples"
    needs_memory = True

    def check(self, recipe: Recipe) -> None:
        """A replay update needs a memory to replay."""
        if recipe.continual.memory_per_class == 0:
            raise RecipeError(
                "Strategy 'replay' needs a memory, but continual.memory_per_class is 0.",
                hint="Set --set continual.memory_per_class=20, or choose another strategy.",
            )

    def training_examples(self, context: UpdateContext) -> Examples:
        """The new examples plus the remembered texts (repeated when ``replay_balance: repeat``)."""
        memory = context.memory
        if memory is None or memory.keep != "text" or not len(memory):
            return context.train
        new_counts = Counter(str(t) for t in context.train.targets)
        typical = sum(new_counts.values()) / max(1, len(new_counts))
        texts, targets = list(context.train.texts), list(context.train.targets)
        lines = list(context.train.line_numbers)
        for label, bucket in memory.items.items():
            repeat = 1
            if context.config.replay_balance == "repeat":
                repeat = max(1, round(typical / len(bucket)))
            for _ in range(repeat):
                texts.extend(bucket)
                targets.extend([label] * len(bucket))
                lines.extend([0] * len(bucket))  # 0: from the replay memory, not a file line
        context.record["replayed"] = len(texts) - len(context.train)
        return Examples(texts=texts, targets=targets, line_numbers=lines)

    def loss_function(self, model: torch.nn.Module, context: UpdateContext) -> LossFunction | None:
        """Remembered texts: the balanced loss (``replay_balance: prior``), else the model's own.
        A vector memory: the model's loss plus the head's loss on remembered vectors."""
        memory = context.memory
        if memory is None or memory.keep == "text" or not len(memory):
            return text_replay_loss(context, memory)
        labels, vectors = memory.examples()
        index = {label: i for i, label in enumerate(context.labels)}
        stored = torch.stack(vectors)
        gold = torch.tensor([index[label] for label in labels])
        head = output_layer(model)
        rng = random.Random(context.recipe.train.seed)
        size = context.recipe.train.batch_size
        context.record["replayed_vectors"] = len(labels)

        def loss(module: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            outputs = module(**model_inputs(batch))
            new_loss = F.cross_entropy(outputs.logits, batch["labels"])
            chosen = rng.sample(range(len(gold)), min(size, len(gold)))
            remembered = head(stored[chosen].to(outputs.logits.device))
            return new_loss + F.cross_entropy(remembered, gold[chosen].to(remembered.device))

        return loss


def text_replay_loss(context: UpdateContext, memory: ReplayMemory | None) -> LossFunction | None:
    """Cross-entropy on logits shifted by each label's log share (``replay_balance: prior``);
    None (the model's own loss) otherwise."""
    if context.config.replay_balance != "prior":
        return None
    shift = log_shares(context, memory)
    context.record["balance"] = "prior"

    def loss(module: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = module(**model_inputs(batch)).logits
        return F.cross_entropy(logits + shift.to(logits.device), batch["labels"])

    return loss


def log_shares(context: UpdateContext, memory: ReplayMemory | None) -> torch.Tensor:
    """Each label's log share of the training examples, new and remembered counted once.

    Added to the logits in training (balanced softmax), it leaves logits that suit balanced
    labels although the training mix is skewed towards the new ones.
    """
    counts = Counter(str(t) for t in context.train.targets)
    for label, bucket in (memory.items if memory is not None else {}).items():
        counts[label] += len(bucket)
    sizes = torch.tensor([max(1, counts[label]) for label in context.labels], dtype=torch.float)
    return torch.log(sizes / sizes.sum())
