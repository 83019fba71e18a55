"""Generative zero-shot: verbaliser scoring with a cache, calibration, bundle and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

import bizlm
from bizlm.cli import run
from bizlm.errors import RecipeError
from bizlm.prompting.generative import PromptScorer, check_verbalisers
from bizlm.prompting.pet import answer_scores


@pytest.fixture()
def scorer(tiny_generator_dir: Path) -> PromptScorer:
    model = AutoModelForCausalLM.from_pretrained(tiny_generator_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_generator_dir)
    return PromptScorer(model, tokenizer, "{text} is {labels} :", ["good great", "bad"], 16)


def test_log_probs_match_full_sequence_scoring(scorer: PromptScorer) -> None:
    text = "the flight was slow"
    got = scorer.log_probs(text)
    prompt = scorer.tokenizer(scorer.fill(text), add_special_tokens=False)["input_ids"]
    for score, answer in zip(got, scorer.answer_ids, strict=True):
        ids = torch.tensor([prompt + answer])
        with torch.no_grad():
            logits = torch.log_softmax(scorer.model(input_ids=ids).logits[0], dim=-1)
        expected = sum(float(logits[len(prompt) - 1 + i, t]) for i, t in enumerate(answer))
        assert score == pytest.approx(expected, abs=1e-4)
    with torch.no_grad():  # the padded batch that PET trains with gives the same scores
        batched = answer_scores(scorer.model, prompt, scorer.answer_ids).numpy()
    np.testing.assert_allclose(batched, got, atol=1e-4)


def test_fill_puts_text_and_labels_in_the_template(scorer: PromptScorer) -> None:
    assert scorer.fill("my bag") == "my bag is good great, bad :"
    long_text = " ".join(["seat"] * 40)
    assert scorer.fill(long_text).count("seat") == 16  # cut to max_length tokens


def test_verbaliser_that_tokenises_to_nothing_is_refused(scorer: PromptScorer) -> None:
    with pytest.raises(RecipeError, match="verbaliser '' of label 'b' tokenises to nothing"):
        check_verbalisers(scorer.tokenizer, ["a", "b"], ["good", ""])
    with pytest.raises(RecipeError, match="Labels 'a' and 'b' have verbalisers that tokenise"):
        check_verbalisers(scorer.tokenizer, ["a", "b"], ["good", "good"])
    with pytest.raises(RecipeError, match=r"tokenise the same \(\[UNK\]\)"):
        check_verbalisers(scorer.tokenizer, ["a", "b"], ["zzzq", "qqqz"])


def _recipe(tiny_model_dir: Path, generator: Path, tmp_path: Path, test: Path) -> dict:
    return {
        "model": str(tiny_model_dir),
        "data": {"test": str(test)},
        "method": {
            "name": "zeroshot",
            "mode": "generative",
            "generator": str(generator),
            "template": "{text} . it is",
            "labels": {
                "positive": {"verbaliser": "good"},
                "negative": {"verbaliser": "bad"},
                "neutral": {"verbaliser": "flight seat"},
            },
        },
        "train": {"max_length": 16},
        "output": str(tmp_path / "generative"),
    }


def test_generative_bundle_predicts_calibrated_probabilities(
    tiny_model_dir: Path, tiny_generator_dir: Path, tmp_path: Path
) -> None:
    from tests.conftest import make_rows
    from tests.prompting.conftest import write_jsonl

    test = write_jsonl(tmp_path / "test.jsonl", make_rows(9, seed=3))
    recipe = _recipe(tiny_model_dir, tiny_generator_dir, tmp_path, test)
    recipe["method"]["calibrate"] = True
    result = bizlm.train(recipe)
    prompt = result.info["prompt"]
    assert prompt["verbalisers"] == ["good", "bad", "flight seat"]
    assert result.info["metrics"]["n"] == 9

    model = bizlm.load(result.bundle)
    assert type(model).__name__ == "PromptPredictor"
    scorer = model.scorer
    content_free = np.mean([_softmax(scorer.log_probs(t)) for t in ("N/A", "", "[MASK]")], axis=0)
    np.testing.assert_allclose(np.exp(prompt["prior"]), content_free, rtol=1e-5)
    raw = scorer.log_probs("the crew was rude")
    expected = _softmax(raw - np.log(content_free))
    np.testing.assert_allclose(model.predict_proba(["the crew was rude"])[0], expected, atol=1e-5)

    assert run(["prompt", "try", str(result.bundle), "the crew was rude", "--json"]) == 0


def test_auto_calibration_keeps_what_scores_better_on_validation(
    tiny_model_dir: Path, tiny_generator_dir: Path, tmp_path: Path
) -> None:
    from tests.conftest import make_rows
    from tests.prompting.conftest import write_jsonl

    validation = write_jsonl(tmp_path / "validation.jsonl", make_rows(12, seed=4))
    recipe = _recipe(tiny_model_dir, tiny_generator_dir, tmp_path, tmp_path / "none")
    recipe["data"] = {"validation": str(validation)}
    info = bizlm.train(recipe).info
    record = info["prompt"]["calibration"]
    accuracy = record["validation_accuracy"]
    assert record["applied"] == (accuracy["calibrated"] > accuracy["raw"])
    assert (info["prompt"]["prior"] is not None) == record["applied"]
    model = bizlm.load(info["recipe"]["output"])
    scorer = model.scorer
    gold = [model.labels.index(r["label"]) for r in make_rows(12, seed=4)]
    raw = np.stack([scorer.log_probs(r["text"]) for r in make_rows(12, seed=4)])
    assert accuracy["raw"] == pytest.approx(float(np.mean(raw.argmax(axis=1) == gold)))


def test_prompt_try_shows_prompt_and_scores(
    tiny_model_dir: Path, tiny_generator_dir: Path, tmp_path: Path, capsys
) -> None:
    from bizlm.cli.prompt import prompt_report

    recipe = _recipe(tiny_model_dir, tiny_generator_dir, tmp_path, tmp_path / "none")
    del recipe["data"]["test"]
    bundle = bizlm.train(recipe).bundle
    report = prompt_report(bundle, "my bag")
    assert report["prompt"] == "my bag . it is"
    assert [row["verbaliser"] for row in report["labels"]] == ["good", "bad", "flight seat"]
    assert sum(row["probability"] for row in report["labels"]) == pytest.approx(1.0, abs=1e-5)
    capsys.readouterr()
    assert run(["prompt", "try", str(bundle), "my bag", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["prompt"] == "my bag . it is"
    assert run(["export", str(bundle), "--format", "onnx", "--output", str(tmp_path / "x")]) == 2
    assert "prompted generative model" in capsys.readouterr().err
    data = tmp_path / "new.jsonl"
    data.write_text('{"text": "good", "label": "positive"}\n', encoding="utf-8")
    command = ["update", str(bundle), "--data", str(data), "--output", str(tmp_path / "u")]
    assert run(command) == 2
    assert "does not train in the shared loop" in capsys.readouterr().err


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()
