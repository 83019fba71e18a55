"""One tester over every method: only the intended parameters train, the head is saved, and
the saved artifacts predict exactly like the trained model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import bizlm
from bizlm.methods import METHODS, TrainingPlan, build_method, method_config_class
from bizlm.progress import Reporter
from bizlm.recipe import TrainConfig, load_recipe
from bizlm.training.loop import LoopHooks, classification_evaluator, train_loop
from bizlm.training.prepare import prepare_data
from tests.conftest import make_rows, write_csv

HEAD = r"^(classifier\.|bert\.pooler\.)|modules_to_save"
TRAINED = {  # method options -> regex that every trainable parameter name must match
    "full": ({}, r"."),
    "head": ({}, HEAD),
    "bitfit": ({}, HEAD + r"|\.bias$"),
    "freeze": ({"layers": 1}, HEAD + r"|^bert\.encoder\.layer\.1\."),
    "lora": ({}, r"lora_[AB]\.|modules_to_save"),
    "adalora": ({}, r"lora_[ABE]\.|modules_to_save"),
    "ia3": ({}, r"ia3_l\.|modules_to_save"),
    "vera": ({}, r"vera_lambda_[bd]\.|modules_to_save"),
    "loha": ({}, r"hada_[wt]\d_[ab]\.|hada_w\d|modules_to_save"),
    "lokr": ({}, r"lokr_w\d|modules_to_save"),
    "prefix": ({"num_virtual_tokens": 4}, r"prompt_encoder\.|modules_to_save"),
    "prompt": ({"num_virtual_tokens": 4}, r"prompt_encoder\.|modules_to_save"),
    "ptuning": ({"num_virtual_tokens": 4}, r"prompt_encoder\.|modules_to_save"),
    "adapter": ({}, HEAD + r"|\.adapter\.(down|up)\.|LayerNorm"),
}


def test_every_registered_method_is_tested() -> None:
    # dpo trains generate tasks on preference pairs only: tests/tasks/test_dpo.py
    assert set(TRAINED) | {"dpo"} == {name for name, cls in METHODS.items() if cls.trains_in_loop}
    # the methods that build their own model are tested in tests/prompting
    assert {name for name, cls in METHODS.items() if not cls.trains_in_loop} == {
        "zeroshot",
        "fewshot",
        "pet",
    }


def tiny_features(tokenizer, count: int) -> list[dict]:
    index = {"negative": 0, "neutral": 1, "positive": 2}
    rows = make_rows(count, seed=7)
    encoded = tokenizer([r["text"] for r in rows], truncation=True, max_length=32)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": index[r["label"]]}
        for ids, mask, r in zip(encoded["input_ids"], encoded["attention_mask"], rows, strict=True)
    ]


@pytest.mark.parametrize("name", sorted(TRAINED))
def test_only_the_intended_parameters_change(name: str, tiny_model_dir: Path) -> None:
    options, pattern = TRAINED[name]
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    method = build_method(method_config_class(name)(name=name, **options))
    trainable = method.prepare(model, TrainingPlan(total_steps=8))
    before = {n: p.detach().clone() for n, p in trainable.named_parameters()}
    features = tiny_features(tokenizer, 48)
    config = TrainConfig(
        epochs=2, batch_size=12, learning_rate=1e-2, warmup_ratio=0, early_stopping_patience=None
    )
    evaluate = classification_evaluator(features[:12], [f["labels"] for f in features[:12]], 0, 12)
    hooks = LoopHooks(on_optimizer_step=method.on_optimizer_step)
    train_loop(trainable, features, evaluate, 0, config, Reporter(), "macro_f1", hooks)
    changed = {n for n, p in trainable.named_parameters() if not torch.equal(before[n], p)}
    trained = {n for n, p in trainable.named_parameters() if p.requires_grad}
    assert changed, "training changed nothing"
    assert changed <= trained, sorted(changed - trained)[:5]
    unexpected = sorted(n for n in trained if not re.search(pattern, n))
    assert not unexpected, unexpected[:5]
    assert any(re.search(HEAD, n) for n in trained) or name == "full", "head is not trained"


@pytest.mark.parametrize("name", sorted(set(TRAINED) - {"full", "head", "bitfit", "freeze"}))
def test_saved_artifacts_reproduce_the_trained_model(
    name: str, tiny_recipe: dict, tiny_model_dir: Path, tmp_path: Path
) -> None:
    options, _ = TRAINED[name]
    tiny_recipe["method"] = {"name": name, **options}
    tiny_recipe["train"].update(epochs=1, learning_rate=1e-2)
    result = bizlm.train(tiny_recipe)
    bundle = Path(result.bundle)
    texts = ["good great flight crew", "awful rude", "the seat and the gate"]
    loaded = bizlm.load(bundle).predict_proba(texts)
    if result.info["merged"]:
        base = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3)
        tokenizer = AutoTokenizer.from_pretrained(bundle / "model")
        restored = PeftModel.from_pretrained(base, bundle / "adapter").eval()
        with torch.no_grad():
            logits = restored(**tokenizer(texts, padding=True, return_tensors="pt")).logits
        np.testing.assert_allclose(loaded, torch.softmax(logits, -1).numpy(), atol=1e-5)
    adapter_files = list((bundle / "adapter").glob("*.safetensors"))
    keys = load_file(str(adapter_files[0])).keys()
    assert any("classifier" in key for key in keys), "the head is not saved with the adapter"
    # Whatever the artifact, the loaded bundle scores the test split as the trained model did.
    test_split = prepare_data(load_recipe(tiny_recipe)).splits["test"]
    test_file = write_csv(
        tmp_path / "test.csv",
        [
            {"text": t, "label": y}
            for t, y in zip(test_split.texts, test_split.targets, strict=True)
        ],
    )
    rescored = bizlm.evaluate(bundle, test_file)
    assert rescored["log_loss"] == pytest.approx(result.metrics["log_loss"], abs=1e-5)
    assert rescored["accuracy"] == result.metrics["accuracy"]
