"""Few-shot training: label-mixing batches, the losses, the head, and K-shot sampling."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import bizlm
from bizlm.errors import DataError, RecipeError
from bizlm.prompting.contrastive import label_batches, pair_loss, supervised_contrastive_loss
from bizlm.prompting.encoding import embed_texts
from bizlm.prompting.fewshot import mix_in_pretrained, tuned_parameter_names
from bizlm.recipe import load_recipe
from bizlm.tasks import build_task
from bizlm.training.shots import take_shots
from tests.conftest import make_rows, write_csv


def test_label_batches_cover_every_example_once_in_same_label_groups() -> None:
    targets = [label for label in "abcdefghij" for _ in range(4)]  # 10 labels x 4
    batches = label_batches(targets, 8, 2, np.random.default_rng(0))
    seen = [i for batch in batches for i in batch]
    assert sorted(seen) == list(range(40))
    assert all(len(batch) <= 8 for batch in batches)
    for batch in batches:  # every label in a batch comes with a partner
        assert all(count % 2 == 0 for count in Counter(targets[i] for i in batch).values())
    assert len(batches) == 5  # linear: one pass, not one batch per pair


def test_pair_loss_is_zero_for_ideal_vectors_and_positive_otherwise() -> None:
    ids = torch.tensor([0, 0, 1, 1])
    ideal = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert float(pair_loss(ideal, ids)) == pytest.approx(0.0)
    swapped = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    # same-label pairs: cosine 0 (error 1); other-label pairs: half at cosine 1 (error 1)
    assert float(pair_loss(swapped, ids)) == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)


def test_supervised_contrastive_loss_worked_example() -> None:
    ids = torch.tensor([0, 0, 1, 1])
    ideal = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    # each text: cosine 1 to its partner, 0 to the two others -> -log(e / (e + 2))
    expected = math.log(math.e + 2) - 1
    assert float(supervised_contrastive_loss(ideal, ids, 1.0)) == pytest.approx(expected)
    assert float(supervised_contrastive_loss(ideal, ids, 0.05)) == pytest.approx(0.0, abs=1e-6)
    swapped = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    # partner at cosine 0, one other-label text at 1 and one at 0 -> -log(1 / (1 + e + 1))
    assert float(supervised_contrastive_loss(swapped, ids, 1.0)) == pytest.approx(
        math.log(2 + math.e)
    )


def test_supervised_contrastive_loss_skips_texts_without_a_partner() -> None:
    vectors = torch.nn.functional.normalize(
        torch.randn(3, 4, generator=torch.Generator().manual_seed(0)), dim=-1
    )
    with_loner = supervised_contrastive_loss(vectors, torch.tensor([0, 0, 1]), 0.5)
    similarity = (vectors @ vectors.T / 0.5).tolist()
    by_hand = [
        -(similarity[i][j] - math.log(sum(math.exp(similarity[i][k]) for k in range(3) if k != i)))
        for i, j in ((0, 1), (1, 0))
    ]
    assert float(with_loner) == pytest.approx(sum(by_hand) / 2, rel=1e-5)


def _task_and_examples(path: Path):
    recipe = load_recipe({"data": {"train": str(path)}})
    task = build_task(recipe.task)
    return task, task.read(path, "utf-8", {})


def test_take_shots_draws_k_per_label_by_seed(tmp_path: Path) -> None:
    task, examples = _task_and_examples(write_csv(tmp_path / "d.csv", make_rows(60, seed=1)))
    first = take_shots(task, examples, 4, seed=0)
    assert Counter(first.targets) == {"positive": 4, "negative": 4, "neutral": 4}
    assert take_shots(task, examples, 4, seed=0).texts == first.texts
    assert take_shots(task, examples, 4, seed=1).texts != first.texts


def test_take_shots_names_the_smallest_label(tmp_path: Path) -> None:
    rows = make_rows(60, seed=1)
    rows = [r for r in rows if r["label"] != "neutral"] + [
        r for r in rows if r["label"] == "neutral"
    ][:3]
    task, examples = _task_and_examples(write_csv(tmp_path / "d.csv", rows))
    with pytest.raises(DataError, match="more than label 'neutral' has: it has only 3"):
        take_shots(task, examples, 5, seed=0)


def test_shots_refused_for_multi_label(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", make_rows(30, seed=1))
    recipe = load_recipe({"data": {"train": str(path), "shots": 2}, "task": {"multi_label": True}})
    task = build_task(recipe.task)
    with pytest.raises(RecipeError, match="single-label classification only"):
        take_shots(task, task.read(path, "utf-8", {}), 2, 0)


@pytest.mark.parametrize("loss", ["supcon", "pairs"])
def test_fewshot_tunes_the_encoder_and_copies_the_logistic_head(
    tiny_recipe: dict, loss: str
) -> None:
    tiny_recipe["method"] = {"name": "fewshot", "loss": loss}
    tiny_recipe["data"]["shots"] = 8
    tiny_recipe["train"].update(epochs=3, learning_rate=1e-3)
    result = bizlm.train(tiny_recipe)
    assert result.info["data"]["counts"]["train"] == 24
    assert result.info["data"]["shots"] == {"per_label": 8, "seed": 42}
    assert result.info["training"]["optimizer_steps"] == 6  # 24 examples, batches of 16 -> 2
    model = bizlm.load(result.bundle)

    from bizlm.training.prepare import prepare_data

    data = prepare_data(load_recipe(tiny_recipe))
    train = data.splits["train"]
    vectors = embed_texts(model.model, model.tokenizer, train.texts, 32)
    gold = [model.labels.index(t) for t in train.targets]
    head = LogisticRegression(C=1.0, max_iter=1000, random_state=42).fit(vectors, gold)
    np.testing.assert_allclose(
        model.predict_proba(train.texts), head.predict_proba(vectors), atol=1e-4
    )

    changed = _changed_parameters(tiny_recipe["model"], model.model.encoder)
    assert changed, "contrastive tuning left the encoder unchanged"
    assert all(name.startswith("encoder.layer.") for name in changed)  # embeddings stay


def _changed_parameters(reference: str, model: torch.nn.Module) -> set[str]:
    from transformers import AutoModel

    tuned = model.state_dict()
    original = AutoModel.from_pretrained(reference).state_dict()
    return {n for n, p in original.items() if n in tuned and not torch.equal(p, tuned[n])}


def test_frozen_layers_keep_their_pretrained_weights(tiny_recipe: dict) -> None:
    tiny_recipe["method"] = {"name": "fewshot", "frozen_layers": 1}
    tiny_recipe["data"]["shots"] = 8
    tiny_recipe["train"].update(epochs=2, learning_rate=1e-3)
    model = bizlm.load(bizlm.train(tiny_recipe).bundle).model
    changed = _changed_parameters(tiny_recipe["model"], model.encoder)
    assert changed and all(name.startswith("encoder.layer.1.") for name in changed)
    assert {n for n, _ in model.encoder.named_parameters() if n.startswith("encoder.layer.1.")} == (
        changed
    )


def test_tuning_starts_above_the_embeddings_and_the_frozen_layers() -> None:
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=20,
        hidden_size=8,
        num_hidden_layers=6,
        num_attention_heads=2,
        intermediate_size=8,
    )
    encoder = BertModel(config, add_pooling_layer=False)
    names = [n for n, _ in encoder.named_parameters()]
    for frozen in (0, 2, 5):
        tuned = tuned_parameter_names(encoder, frozen)
        assert min(tuned, key=names.index) == f"encoder.layer.{frozen}.attention.self.query.weight"
        assert len(tuned) == 16 * (6 - frozen)  # every weight of the layers above


def test_frozen_layers_must_leave_a_layer_to_tune(tiny_recipe: dict) -> None:
    tiny_recipe["method"] = {"name": "fewshot", "frozen_layers": 2}
    tiny_recipe["data"]["shots"] = 8
    with pytest.raises(RecipeError, match="frozen_layers is 2 but the backbone has 2 layers"):
        bizlm.train(tiny_recipe)


def test_mix_in_pretrained_moves_the_named_weights_back_by_the_share() -> None:
    layer = torch.nn.Linear(2, 2)
    tuned_weight, tuned_bias = layer.weight.detach().clone(), layer.bias.detach().clone()
    pretrained = {"weight": torch.zeros(2, 2)}
    mix_in_pretrained(layer, pretrained, 0.25)
    torch.testing.assert_close(layer.weight.detach(), 0.75 * tuned_weight)
    torch.testing.assert_close(layer.bias.detach(), tuned_bias)  # not named: left alone


def test_keep_pretrained_puts_the_encoder_between_tuned_and_pretrained(
    tiny_recipe: dict, tmp_path: Path
) -> None:
    from transformers import AutoModel

    tiny_recipe["data"]["shots"] = 8
    tiny_recipe["train"].update(epochs=2, learning_rate=1e-3)
    encoders = {}
    for share in (0.0, 0.5):
        tiny_recipe["method"] = {"name": "fewshot", "keep_pretrained": share}
        tiny_recipe["output"] = str(tmp_path / f"keep-{share}")
        result = bizlm.train(tiny_recipe)
        assert result.info["recipe"]["method"]["keep_pretrained"] == share
        encoders[share] = bizlm.load(result.bundle).model.encoder.state_dict()
    original = AutoModel.from_pretrained(tiny_recipe["model"]).state_dict()
    layer_weights = [n for n in original if n.startswith("encoder.layer.")]
    assert any(not torch.equal(encoders[0.0][n], original[n]) for n in layer_weights)
    for name in layer_weights:
        halfway = (encoders[0.0][name] + original[name]) / 2
        torch.testing.assert_close(encoders[0.5][name], halfway, rtol=0, atol=1e-6)


def test_keep_pretrained_must_leave_some_tuning(tiny_recipe: dict) -> None:
    tiny_recipe["method"] = {"name": "fewshot", "keep_pretrained": 1}
    with pytest.raises(RecipeError, match="keep_pretrained"):
        load_recipe(tiny_recipe)


def test_shots_work_with_any_method(tiny_recipe: dict) -> None:
    tiny_recipe["data"]["shots"] = 5
    tiny_recipe["train"]["epochs"] = 1
    result = bizlm.train(tiny_recipe)
    assert result.info["data"]["counts"]["train"] == 15


def test_shots_option_of_train_and_compare(tiny_recipe: dict, tmp_path: Path) -> None:
    import json

    import yaml

    from bizlm.cli import run

    tiny_recipe["train"]["epochs"] = 1
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    assert run(["train", str(recipe), "--shots", "4", "--quiet"]) == 0
    info = json.loads((Path(tiny_recipe["output"]) / "bizlm.json").read_text())
    assert info["data"]["shots"] == {"per_label": 4, "seed": 42}
    command = ["compare", str(recipe), "--methods", "head", "--seeds", "2", "--shots", "3"]
    assert run([*command, "--output", str(tmp_path / "cmp"), "--json"]) == 0
    samples = [
        json.loads((tmp_path / "cmp" / f"head-seed{s}" / "bizlm.json").read_text())["data"]
        for s in (0, 1)
    ]
    assert [d["shots"]["seed"] for d in samples] == [42, 43]  # one sample per seed
    assert all(d["counts"]["train"] == 9 for d in samples)
    assert run(["train", str(recipe), "--shots", "500", "--quiet"]) == 2  # more than a label has
