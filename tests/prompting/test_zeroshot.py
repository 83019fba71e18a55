"""Zero-shot bundles: label prototypes in a sentence classifier, and the recipe checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bizlm
from bizlm.errors import RecipeError
from bizlm.prompting.encoding import embed_texts
from bizlm.prompting.zeroshot import label_phrases
from bizlm.recipe import load_recipe


def test_embedding_bundle_scores_scale_times_cosine(zeroshot_recipe: dict) -> None:
    result = bizlm.train(zeroshot_recipe)
    model = bizlm.load(result.bundle)
    assert model.labels == ["positive", "negative", "neutral"]  # the descriptions' order
    assert result.info["training"]["trainable_parameters"] == 0
    assert result.info["metrics"]["evaluated_on"] == "test"
    assert result.info["data"]["counts"] == {"test": 30}

    recipe = load_recipe(zeroshot_recipe)
    text = "the crew was very friendly"
    vector = embed_texts(model.model, model.tokenizer, [text], 32)[0]
    expected = []
    for label in model.labels:
        phrases = label_phrases(label, recipe.method.labels[label])
        mean = embed_texts(model.model, model.tokenizer, phrases, 32).mean(axis=0)
        expected.append(30.0 * float(vector @ (mean / np.linalg.norm(mean))))
    probabilities = np.exp(expected) / np.exp(expected).sum()
    got = model.predict_proba([text])[0]
    np.testing.assert_allclose(got, probabilities, atol=1e-5)


def test_bundle_reloads_with_plain_auto_class(zeroshot_recipe: dict) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    bundle = bizlm.train(zeroshot_recipe).bundle
    model = AutoModelForSequenceClassification.from_pretrained(bundle / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(bundle / "model")
    with torch.no_grad():
        logits = model(**tokenizer(["bad flight"], return_tensors="pt")).logits
    expected = bizlm.load(bundle).predict_proba(["bad flight"])
    np.testing.assert_allclose(torch.softmax(logits, -1).numpy(), expected, atol=1e-5)


def test_zero_shot_without_any_labelled_file(zeroshot_recipe: dict) -> None:
    del zeroshot_recipe["data"]["test"]
    result = bizlm.train(zeroshot_recipe)
    assert result.info["metrics"] == {"evaluated_on": None}
    assert bizlm.load(result.bundle).predict("good great")[0]["label"] in DESCRIBED


DESCRIBED = {"positive", "negative", "neutral"}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"template": "Classify: {labels}"}, "needs a {text} slot"),
        ({"labels": {}}, "needs method.labels"),
        ({"labels": {"positive": "good"}}, "describes no label 'negative', 'neutral'"),
    ],
)
def test_bad_zero_shot_recipes(zeroshot_recipe: dict, change: dict, fragment: str) -> None:
    zeroshot_recipe["method"].update(change)
    zeroshot_recipe["task"] = {"labels": ["positive", "negative", "neutral"]}
    with pytest.raises(RecipeError) as caught:
        load_recipe(zeroshot_recipe)
    assert fragment in str(caught.value)


def test_zero_shot_refuses_multi_label_and_pairs(zeroshot_recipe: dict) -> None:
    zeroshot_recipe["task"] = {"multi_label": True}
    with pytest.raises(RecipeError, match="classifies single-label texts"):
        load_recipe(zeroshot_recipe)
    zeroshot_recipe["task"] = {"text_pair_column": "other"}
    with pytest.raises(RecipeError, match="one text per example"):
        load_recipe(zeroshot_recipe)


def test_other_methods_still_need_training_data(zeroshot_recipe: dict) -> None:
    zeroshot_recipe["method"] = "full"
    with pytest.raises(RecipeError, match=r"give exactly one of data\.catalog or data\.train"):
        load_recipe(zeroshot_recipe)


@pytest.mark.parametrize(
    "setting",
    ["regularise.rdrop_alpha=1.0", "train.checkpoint_every=5", "train.mixed_precision=bf16"],
)
def test_settings_the_prompt_methods_do_not_use_are_refused(
    zeroshot_recipe: dict, setting: str
) -> None:
    with pytest.raises(RecipeError, match=f"does not use {setting.split('=')[0]}"):
        load_recipe(zeroshot_recipe, [setting])


def test_prompt_methods_cannot_resume(zeroshot_recipe: dict) -> None:
    with pytest.raises(RecipeError, match="no checkpoints to resume"):
        bizlm.train(zeroshot_recipe, resume=True)
