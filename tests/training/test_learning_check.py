"""Class weighting chosen from the label balance, and the warning for a model that learns
nothing beyond the majority class."""

from __future__ import annotations

from typing import Any

import pytest

from bizlm.progress import Reporter
from bizlm.recipe import load_recipe
from bizlm.training.learning_check import LearningWatch, likely_causes, resolve_class_weights


def _summary(counts: dict[str, int]) -> dict[str, Any]:
    return {"label_distribution": {"train": counts}}


def _recipe(**task: Any):
    return load_recipe({"data": {"catalog": "trec"}, "method": "lora", "task": task})


class _Notes(Reporter):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


@pytest.mark.parametrize(
    ("counts", "applied"),
    [
        ({"ham": 870, "spam": 130}, "balanced"),  # 13% < 25% (half of an even 50%)
        ({"ham": 700, "spam": 300}, "none"),
        ({"a": 630, "b": 210, "c": 160}, "balanced"),  # 16% < 16.7%
        ({"a": 400, "b": 300, "c": 300}, "none"),
    ],
)
def test_auto_class_weights_follow_the_smallest_label_share(
    counts: dict[str, int], applied: str
) -> None:
    recipe = _recipe()
    assert recipe.regularise.class_weights == "auto"
    decided = resolve_class_weights(recipe, _summary(counts))
    assert decided is not None
    assert decided["applied"] == applied
    assert recipe.regularise.class_weights == applied  # the bundle's recipe repeats the run
    assert decided["smallest_share"] == pytest.approx(min(counts.values()) / sum(counts.values()))


def test_a_chosen_setting_is_kept_and_other_tasks_get_none() -> None:
    recipe = load_recipe({"data": {"catalog": "trec"}, "regularise": {"class_weights": "none"}})
    assert resolve_class_weights(recipe, _summary({"a": 95, "b": 5})) is None
    assert recipe.regularise.class_weights == "none"
    multi = _recipe(multi_label=True)
    assert resolve_class_weights(multi, _summary({"a": 95, "b": 5})) is None
    assert multi.regularise.class_weights == "none"
    tag = load_recipe({"data": {"catalog": "wnut16"}, "task": {"type": "tag"}})
    assert tag.regularise.class_weights == "auto"  # accepted for tag: auto applies nowhere
    resolve_class_weights(tag, {})
    assert tag.regularise.class_weights == "none"


def _evaluation(epoch: float, macro_f1: float) -> dict[str, Any]:
    return {"step": 10, "epoch": epoch, "val_loss": 0.5, "val_macro_f1": macro_f1}


def test_the_watch_warns_once_when_the_first_epoch_is_no_better_than_the_majority() -> None:
    recipe, summary, notes = _recipe(), _summary({"ham": 870, "spam": 130}), _Notes()
    watch = LearningWatch("macro_f1", 0.465, recipe, summary, notes)
    watch({"step": 5, "epoch": 0.5, "train_loss": 0.7})  # training records are ignored
    watch(_evaluation(0.5, 0.40))  # before the end of the first epoch: too early to judge
    assert not summary.get("warnings")
    watch(_evaluation(1.0, 0.465))
    watch(_evaluation(2.0, 0.465))
    assert len(summary["warnings"]) == 1
    message = summary["warnings"][0]
    assert "no better than always predicting the most frequent label" in message
    assert "train.learning_rate is 0.002" in message
    assert "label 'spam' is 13% of the training split" in message
    assert notes.notes and notes.notes[0].startswith("warning:")


def test_the_watch_stays_quiet_when_the_model_learns() -> None:
    summary = _summary({"a": 50, "b": 50})
    watch = LearningWatch("macro_f1", 0.33, _recipe(), summary, _Notes())
    watch(_evaluation(1.0, 0.80))
    watch(_evaluation(2.0, 0.20))  # only the first evaluation after an epoch is judged
    assert "warnings" not in summary


def test_causes_name_truncation_when_texts_were_cut() -> None:
    summary = {
        **_summary({"a": 50, "b": 50}),
        "warnings": ["train split: 40 of 100 texts are longer than train.max_length=128 ..."],
    }
    causes = likely_causes(_recipe(), summary)
    assert any(cause.startswith("truncation: 40% of the training texts") for cause in causes)
    assert not any(cause.startswith("imbalance") for cause in causes)
    summary["warnings"] = ["train split: 2 of 200 texts are longer than train.max_length=64 ..."]
    assert not any(c.startswith("truncation") for c in likely_causes(_recipe(), summary))


def test_imbalance_is_not_blamed_on_weights_that_are_on_already() -> None:
    recipe, summary = _recipe(), _summary({"ham": 870, "spam": 130})
    resolve_class_weights(recipe, summary)
    (imbalance,) = [c for c in likely_causes(recipe, summary) if c.startswith("imbalance")]
    assert "weighted already" in imbalance and "set regularise.class_weights" not in imbalance


def test_a_rate_far_above_the_default_is_called_too_high() -> None:
    recipe = load_recipe(
        {"data": {"catalog": "trec"}, "method": "full", "train": {"learning_rate": 5e-3}}
    )
    (rate,) = [c for c in likely_causes(recipe, {}) if c.startswith("the learning rate")]
    assert "may be too high" in rate and "train.learning_rate=5e-05" in rate
