"""K examples per class: the few-shot budget (``data.shots``) usable with every method."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from bizlm.errors import DataError, RecipeError
from bizlm.tasks import Examples, Task


def take_shots(task: Task, examples: Examples, shots: int, seed: int) -> Examples:
    """Keep ``shots`` examples of every label of ``examples``, drawn with ``seed``.

    The kept examples stay in their original order. A label with fewer than ``shots``
    examples is an error that names it, since a silently smaller class would bias the result.
    """
    if task.config.type != "classify" or task.config.multi_label:
        raise RecipeError(
            "data.shots applies to single-label classification only.",
            hint="Remove data.shots, or use data.max_train_examples to limit the training set.",
        )
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(task.strata(examples)):
        by_label[label].append(index)
    smallest = min(by_label, key=lambda label: (len(by_label[label]), label))
    if len(by_label[smallest]) < shots:
        raise DataError(
            f"data.shots={shots} is more than label '{smallest}' has: it has only "
            f"{len(by_label[smallest])} training example(s).",
            hint=f"Lower data.shots to {len(by_label[smallest])} or add examples of '{smallest}'.",
        )
    generator = np.random.default_rng(seed)
    kept = [
        int(i)
        for label in sorted(by_label)
        for i in generator.choice(by_label[label], size=shots, replace=False)
    ]
    return examples.subset(sorted(kept))
