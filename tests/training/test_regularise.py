"""The recipe's regularise switches: losses, R-Drop, FGM, class weights, and a run with all on."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch.nn import functional
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.modeling_outputs import SequenceClassifierOutput

import bizlm
from bizlm.errors import RecipeError
from bizlm.losses import cross_entropy_loss, model_loss
from bizlm.recipe import TaskConfig, load_recipe, validate_recipe
from bizlm.sections.regularise import RegulariseConfig
from bizlm.tasks import Examples
from bizlm.training import regularise
from bizlm.training.regularise import (
    FGM,
    AdversarialStep,
    balanced_class_weights,
    build_regularisation,
    embedding_gradient,
    rdrop_loss,
    symmetric_kl,
    word_embeddings,
)
from tests.conftest import make_rows, write_csv
from tests.tasks.conftest import tag_config


class Scripted(torch.nn.Module):
    """A stand-in model that answers each forward pass with the next of the given logits."""

    def __init__(self, *logits: torch.Tensor) -> None:
        super().__init__()
        self.answers = list(logits)

    def forward(self, **inputs: torch.Tensor) -> SequenceClassifierOutput:
        return SequenceClassifierOutput(logits=self.answers.pop(0))


def _batch(labels: list) -> dict[str, torch.Tensor]:
    return {
        "input_ids": torch.zeros(len(labels), 2, dtype=torch.long),
        "labels": torch.tensor(labels),
    }


@pytest.fixture()
def classifier(tiny_model_dir: Path):
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3)


@pytest.fixture()
def text_batch(tiny_model_dir: Path) -> dict[str, torch.Tensor]:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    texts = ["good great flight", "awful rude crew today", "the seat"]
    batch = dict(tokenizer(texts, padding=True, return_tensors="pt"))
    return {**batch, "labels": torch.tensor([0, 1, 2])}


# --- label smoothing and class weights -------------------------------------------------------


def test_plain_cross_entropy_equals_the_models_own_loss(classifier, text_batch) -> None:
    classifier.eval()
    ours = cross_entropy_loss()(classifier, text_batch)
    assert torch.allclose(ours, model_loss(classifier, text_batch))


def test_label_smoothing_raises_the_loss_of_a_confident_correct_prediction() -> None:
    confident = torch.tensor([[12.0, 0.0, 0.0]])
    plain = cross_entropy_loss()(Scripted(confident), _batch([0]))
    smoothed = cross_entropy_loss(label_smoothing=0.2)(Scripted(confident), _batch([0]))
    assert plain < 1e-4
    assert smoothed > plain + 0.5


def test_label_smoothing_on_tokens_ignores_padding_labels() -> None:
    logits = torch.randn(2, 4, 3)
    labels = [[0, 2, -100, -100], [1, -100, 0, 2]]
    smoothed = cross_entropy_loss(label_smoothing=0.1)(Scripted(logits), _batch(labels))
    kept = torch.tensor(labels) != -100
    expected = functional.cross_entropy(
        logits[kept], torch.tensor(labels)[kept], label_smoothing=0.1
    )
    assert torch.allclose(smoothed, expected)


def test_balanced_weights_match_scikit_learn() -> None:
    targets = ["a"] * 6 + ["b"] * 3 + ["c"]
    ours = balanced_class_weights(targets, ["a", "b", "c"]).numpy()
    expected = compute_class_weight("balanced", classes=np.array(["a", "b", "c"]), y=targets)
    np.testing.assert_allclose(ours, expected, rtol=1e-6)


def test_a_label_absent_from_training_gets_a_neutral_weight() -> None:
    weights = balanced_class_weights(["a", "a", "b"], ["a", "b", "z"])
    assert weights.tolist() == pytest.approx([0.75, 1.5, 1.0])


def test_balanced_weights_enter_the_cross_entropy() -> None:
    logits = torch.randn(4, 3)
    train = Examples(texts=["x"] * 4, targets=["a", "a", "a", "b"], line_numbers=[1, 2, 3, 4])
    config = RegulariseConfig(class_weights="balanced")
    built = build_regularisation(config, TaskConfig(), None, train, ["a", "b", "c"])
    assert built.adversary is None
    loss = built.loss_function(Scripted(logits), _batch([0, 0, 1, 2]))
    weights = torch.tensor([4 / 6, 2.0, 1.0])
    expected = functional.cross_entropy(logits, torch.tensor([0, 0, 1, 2]), weight=weights)
    assert torch.allclose(loss, expected)


# --- R-Drop ----------------------------------------------------------------------------------


def test_symmetric_kl_is_non_negative_symmetric_and_zero_for_equal_logits() -> None:
    torch.manual_seed(1)
    first, second = torch.randn(5, 4), torch.randn(5, 4)
    for multi_label in (False, True):
        value = symmetric_kl(first, second, multi_label)
        assert value > 0
        assert torch.allclose(value, symmetric_kl(second, first, multi_label))
        assert symmetric_kl(first, first.clone(), multi_label) == 0
    p, q = functional.log_softmax(first, -1), functional.log_softmax(second, -1)
    kl_pq = functional.kl_div(q, p, log_target=True, reduction="batchmean")
    kl_qp = functional.kl_div(p, q, log_target=True, reduction="batchmean")
    assert torch.allclose(symmetric_kl(first, second), (kl_pq + kl_qp) / 2)


def test_rdrop_adds_the_weighted_divergence_of_its_two_passes() -> None:
    first, second = torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    both = Scripted(torch.cat([first, second]))  # the two passes run as one doubled batch
    loss = rdrop_loss(cross_entropy_loss(), alpha=0.7)(both, _batch([0]))
    labels = torch.tensor([0])
    mean = (functional.cross_entropy(first, labels) + functional.cross_entropy(second, labels)) / 2
    assert torch.allclose(loss, mean + 0.7 * symmetric_kl(first, second))


def test_rdrop_term_is_zero_without_dropout_and_positive_with_it(classifier, text_batch) -> None:
    loss = rdrop_loss(model_loss, alpha=5.0)
    classifier.eval()
    assert torch.allclose(loss(classifier, text_batch), model_loss(classifier, text_batch))
    classifier.train()
    torch.manual_seed(3)
    without = rdrop_loss(model_loss, alpha=0.0)(classifier, text_batch)
    torch.manual_seed(3)
    added = loss(classifier, text_batch) - without
    assert added > 0


# --- FGM -------------------------------------------------------------------------------------


def _gradients(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_fgm_adds_the_gradients_of_a_perturbed_pass_and_restores_embeddings_exactly(
    classifier, text_batch
) -> None:
    classifier.eval()  # no dropout: both passes are reproducible
    model_loss(classifier, text_batch).backward()
    clean = _gradients(classifier)
    weight = word_embeddings(classifier).weight
    before = weight.detach().clone()
    reference = copy.deepcopy(classifier)
    AdversarialStep(FGM(0.5), model_loss)(classifier, text_batch, lambda loss: loss.backward())
    assert torch.equal(weight, before)
    key = "bert.embeddings.word_embeddings.weight"
    reference.zero_grad(set_to_none=True)
    with torch.no_grad():
        shift = clean[key] / torch.linalg.vector_norm(clean[key])
        word_embeddings(reference).weight.add_(0.5 * shift)
    model_loss(reference, text_batch).backward()
    attacked = _gradients(reference)
    after = _gradients(classifier)
    assert not torch.allclose(after[key], clean[key])
    for name, gradient in after.items():
        assert torch.allclose(gradient, clean[name] + attacked[name], atol=1e-6), name


def test_frozen_embeddings_get_their_gradient_from_a_probe_pass(classifier, text_batch) -> None:
    classifier.eval()
    reference = copy.deepcopy(classifier)
    model_loss(reference, text_batch).backward()
    word_embeddings(classifier).weight.requires_grad_(False)
    probed = embedding_gradient(classifier, text_batch, model_loss)
    assert torch.allclose(probed, word_embeddings(reference).weight.grad, atol=1e-7)
    assert _gradients(classifier) == {}  # the probe leaves every .grad untouched


def test_fgm_moves_nothing_without_a_usable_gradient(classifier) -> None:
    weight = word_embeddings(classifier).weight
    before = weight.detach().clone()
    fgm = FGM(1.0)
    assert not fgm.attack(classifier)  # no backward pass yet
    assert not fgm.attack(classifier, torch.zeros_like(weight))
    fgm.restore(classifier)
    assert torch.equal(weight, before)


def test_fgm_refuses_a_model_without_word_embeddings() -> None:
    with pytest.raises(RecipeError, match="fgm_epsilon needs a model with word embeddings"):
        FGM(1.0).attack(torch.nn.Linear(2, 2))


def test_switches_off_leave_the_task_loss_and_fgm_composes_with_it() -> None:
    train = Examples(texts=["x"], targets=[1.0], line_numbers=[1])
    score = TaskConfig(type="score", loss="huber")

    def huber(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.tensor(0.0)

    off = build_regularisation(RegulariseConfig(), score, huber, train, ["score"])
    assert off.loss_function is huber and off.adversary is None
    assert (
        build_regularisation(RegulariseConfig(), TaskConfig(), None, train, []).loss_function
        is None
    )
    on = build_regularisation(RegulariseConfig(fgm_epsilon=1.0), score, huber, train, ["score"])
    assert on.loss_function is huber and on.adversary.loss_function is huber


# --- recipe ----------------------------------------------------------------------------------


def _raw(task: dict, regularise: dict) -> dict:
    return {"task": task, "data": {"train": "train.csv"}, "regularise": regularise}


def test_every_switch_is_off_by_default_and_class_weights_follow_the_data() -> None:
    resolved = validate_recipe(_raw({}, {})).resolved()["regularise"]
    assert resolved == {
        "label_smoothing": 0.0,
        "rdrop_alpha": 0.0,
        "fgm_epsilon": 0.0,
        "class_weights": "auto",  # settled per run from the label balance
        "augment": 0,
        "ensemble": 1,
        "augment_rate": 0.1,
    }


@pytest.mark.parametrize(
    ("task", "switch", "message"),
    [
        ({"type": "score"}, {"label_smoothing": 0.1}, "label_smoothing=0.1 .* task 'score'"),
        ({"type": "tag"}, {"rdrop_alpha": 1.0}, "rdrop_alpha=1.0 .* task 'tag'"),
        (
            {"multi_label": True},
            {"class_weights": "balanced"},
            "class_weights='balanced' .* task 'multi-label classify'",
        ),
        (
            {"multi_label": True},
            {"label_smoothing": 0.1},
            "label_smoothing=0.1 .* task 'multi-label classify'",
        ),
        ({"type": "tag"}, {"augment": 2}, "augment=2 does not apply to task 'tag'"),
        ({"type": "tag"}, {"ensemble": 3}, "ensemble=3 does not apply to task 'tag'"),
    ],
)
def test_a_switch_the_task_cannot_use_is_refused(task: dict, switch: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        validate_recipe(_raw(task, switch))


def test_an_override_that_makes_a_bad_combination_is_refused() -> None:
    with pytest.raises(RecipeError, match=r"regularise\.augment=1 does not apply to task 'tag'"):
        load_recipe(_raw({}, {}), ["regularise.augment=1", "task.type=tag"])


@pytest.mark.parametrize(
    ("switch", "message"),
    [
        ({"label_smoothing": 1.0}, "bad value for 'regularise.label_smoothing'"),
        ({"class_weights": "inverse"}, "bad value for 'regularise.class_weights'"),
        ({"augment": -1}, "bad value for 'regularise.augment'"),
        ({"label_smooth": 0.1}, "Did you mean 'regularise.label_smoothing'"),
    ],
)
def test_bad_values_and_typos_name_the_key(switch: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        validate_recipe(_raw({}, switch))


# --- tiny training runs ----------------------------------------------------------------------


def test_training_with_every_switch_on(tiny_recipe: dict, monkeypatch) -> None:
    calls = {"adversary": 0, "rdrop": 0}
    step, divergence = AdversarialStep.__call__, regularise.symmetric_kl

    def counted_step(self, *args):
        calls["adversary"] += 1
        return step(self, *args)

    def counted_divergence(*args):
        calls["rdrop"] += 1
        return divergence(*args)

    monkeypatch.setattr(AdversarialStep, "__call__", counted_step)
    monkeypatch.setattr(regularise, "symmetric_kl", counted_divergence)
    tiny_recipe["train"]["epochs"] = 1
    tiny_recipe["regularise"] = {
        "label_smoothing": 0.1,
        "rdrop_alpha": 1.0,
        "fgm_epsilon": 0.5,
        "class_weights": "balanced",
        "augment": 1,
        "augment_rate": 0.2,
    }
    result = bizlm.train(tiny_recipe)
    info = json.loads((Path(result.bundle) / "bizlm.json").read_text())
    assert info["recipe"]["regularise"] == {**tiny_recipe["regularise"], "ensemble": 1}
    # validation and test are as split from the file; training saw each text twice
    assert info["data"]["counts"] == {"train": 192, "validation": 24, "test": 24}
    batches = math.ceil(2 * 192 / 16)
    assert info["training"]["optimizer_steps"] == batches
    assert calls == {"adversary": batches, "rdrop": batches}
    assert bizlm.load(result.bundle).predict(["good great flight"])[0]["label"]


def test_tagging_with_lora_uses_label_smoothing_and_fgm(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    recipe = tag_config(tiny_model_dir, tmp_path, sentences=40, epochs=1)
    recipe["method"] = "lora"
    recipe["regularise"] = {"label_smoothing": 0.1, "fgm_epsilon": 0.5}
    moved = []
    attack = FGM.attack

    def recorded_attack(self, *args):
        moved.append(attack(self, *args))
        return moved[-1]

    monkeypatch.setattr(FGM, "attack", recorded_attack)
    result = bizlm.train(recipe)
    assert moved and all(moved)  # LoRA freezes the embeddings; the probe pass still moves them
    assert result.info["training"]["optimizer_steps"] > 0
    assert "f1" in result.metrics


def test_scoring_with_huber_uses_fgm_and_augmentation(tiny_model_dir: Path, tmp_path: Path) -> None:
    rows = [{**row, "label": str(len(row["text"]))} for row in make_rows(60, seed=2)]
    recipe = {
        "model": str(tiny_model_dir),
        "task": {"type": "score", "loss": "huber"},
        "data": {"train": str(write_csv(tmp_path / "scores.csv", rows))},
        "train": {"epochs": 1, "batch_size": 16, "max_length": 32},
        "regularise": {"fgm_epsilon": 0.5, "augment": 2},
        "output": str(tmp_path / "scorer"),
    }
    result = bizlm.train(recipe)
    assert result.info["data"]["counts"]["train"] == 48
    assert result.info["training"]["optimizer_steps"] == math.ceil(3 * 48 / 16)
