"""Preference tuning (method dpo) of a tiny random Llama: the pair data and its errors, the
loss at the start, a short run that learns the preferences, and the bundle it writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

import bizlm
from bizlm.batching import PaddingCollator
from bizlm.cli import run
from bizlm.errors import DataError, RecipeError
from bizlm.methods import build_method
from bizlm.methods.base import TrainingPlan
from bizlm.methods.dpo import DpoMethodConfig
from bizlm.task_config import TaskConfig
from bizlm.tasks import build_task
from bizlm.tasks.generate_encoding import IGNORED
from bizlm.tasks.generate_predictor import CausalLM
from tests.tasks.test_generate_data import write_jsonl

PAIRS = [  # easy preferences: a polite answer over a curt one
    {"prompt": "say hello to anna", "chosen": "hello anna", "rejected": "no"},
    {"prompt": "say goodbye to bob", "chosen": "goodbye bob", "rejected": "no"},
    {"prompt": "translate cat into french", "chosen": "chat", "rejected": "no"},
    {"prompt": "translate dog into french", "chosen": "chien", "rejected": "no"},
]
TASK = {"type": "generate", "preference": True}


def recipe(model: Path, folder: Path, method: dict, epochs: int = 6) -> dict:
    """A DPO recipe that trains on ``PAIRS`` and holds the same pairs out."""
    data = write_jsonl(folder / "pairs.jsonl", PAIRS)
    return {
        "model": str(model),
        "task": TASK,
        "data": {"train": str(data), "validation": str(data), "test": str(data)},
        "method": method,
        "train": {
            "batch_size": 4,
            "max_length": 48,
            "epochs": epochs,
            "learning_rate": 2e-2,
            "warmup_ratio": 0.0,
            "early_stopping_patience": None,
        },
        "decoding": {"max_new_tokens": 4},
        "output": str(folder / "bundle"),
    }


@pytest.fixture(scope="module")
def dpo_bundle(tiny_chat_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA DPO bundle trained on the easy pairs."""
    folder = tmp_path_factory.mktemp("dpo")
    return bizlm.train(recipe(tiny_chat_model_dir, folder, {"name": "dpo", "beta": 0.5})).bundle


@pytest.mark.parametrize("adapter", ["lora", "full"])
def test_loss_is_log_two_while_the_policy_is_the_reference(
    tiny_chat_model_dir: Path, tmp_path: Path, adapter: str
) -> None:
    task = build_task(TaskConfig(**TASK))
    examples = task.read(write_jsonl(tmp_path / "p.jsonl", PAIRS), "utf-8", {})
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    features = task.features(tokenizer, examples, [], 48)
    method = build_method(DpoMethodConfig(adapter=adapter))
    model = method.prepare(
        CausalLM.from_pretrained(tiny_chat_model_dir), TrainingPlan(10, "generate")
    )
    batch = PaddingCollator(int(tokenizer.pad_token_id), None, IGNORED)(features)
    with torch.no_grad():
        output = model(**batch)
    assert float(output.loss) == pytest.approx(math.log(2), abs=1e-5)
    assert torch.allclose(output.chosen_rewards, torch.zeros(len(PAIRS)), atol=1e-5)
    assert task.loss_function()(model, batch).requires_grad  # the policy learns


def test_pair_features_put_each_answer_in_its_own_row(
    tiny_chat_model_dir: Path, tmp_path: Path
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    task = build_task(TaskConfig(**TASK))
    examples = task.read(write_jsonl(tmp_path / "one.jsonl", PAIRS[:1]), "utf-8", {})
    [feature] = task.features(tokenizer, examples, [], 48)
    chosen = [
        t
        for t, label in zip(feature["input_ids"], feature["labels"], strict=True)
        if label != IGNORED
    ]
    rejected = [
        t
        for t, keep in zip(
            feature["rejected_input_ids"], feature["rejected_answer_mask"], strict=True
        )
        if keep
    ]
    assert tokenizer.decode(chosen) == "hello anna<|im_end|>"
    assert tokenizer.decode(rejected) == "no<|im_end|>"
    assert len({len(values) for values in feature.values()}) == 1


def test_dpo_learns_the_preferences_and_writes_a_generate_bundle(dpo_bundle: Path) -> None:
    info = json.loads((dpo_bundle / "bizlm.json").read_text())
    metrics = info["metrics"]
    assert {
        "loss",
        "preference_accuracy",
        "reward_margin",
        "chosen_reward",
        "rejected_reward",
    } <= set(metrics)
    assert metrics["evaluated_on"] == "test"
    assert metrics["preference_accuracy"] > 0.5
    assert metrics["reward_margin"] > 0
    assert metrics["loss"] < math.log(2)
    assert info["training"]["best"]["val_preference_accuracy"] > 0.5
    assert info["task"] == "generate" and not (dpo_bundle / "adapter").exists()
    [answer] = bizlm.load(dpo_bundle).generate(["say hello to anna"])
    assert isinstance(answer, str)


def test_full_fine_tuning_keeps_a_reference_copy(tiny_chat_model_dir: Path, tmp_path: Path) -> None:
    method = {"name": "dpo", "adapter": "full", "beta": 0.5}
    train = recipe(tiny_chat_model_dir, tmp_path, method, epochs=2)
    train["train"]["learning_rate"] = 1e-3
    bundle = bizlm.train(train).bundle
    metrics = json.loads((bundle / "bizlm.json").read_text())["metrics"]
    assert metrics["preference_accuracy"] >= 0.5 and metrics["loss"] < math.log(2)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"prompt": "hi", "chosen": "ho", "rejected": "ho"},
            "'chosen' and 'rejected' are the same",
        ),
        ({"prompt": "hi", "chosen": " ", "rejected": "ho"}, "'chosen' is empty"),
        ({"prompt": "hi", "chosen": "ho", "rejected": ""}, "'rejected' is empty"),
        ({"prompt": "hi", "chosen": "ho"}, "the key 'rejected' is missing"),
        ({"chosen": "ho", "rejected": "ha"}, "the key 'prompt' is missing"),
    ],
)
def test_bad_pairs_are_refused_naming_file_and_line(
    tmp_path: Path, row: dict, message: str
) -> None:
    path = write_jsonl(tmp_path / "pairs.jsonl", [PAIRS[0], row])
    with pytest.raises(DataError) as error:
        build_task(TaskConfig(**TASK)).read(path, "utf-8", {})
    assert f"{path} line 2" in str(error.value) and message in str(error.value)


def test_bad_pairs_stop_the_cli_with_exit_code_two(
    tiny_chat_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import yaml

    train = recipe(tiny_chat_model_dir, tmp_path, {"name": "dpo"})
    write_jsonl(Path(train["data"]["train"]), [*PAIRS, {"prompt": "a", "chosen": "b"}])
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(train), "utf-8")
    assert run(["train", str(path)]) == 2
    assert "line 5: the key 'rejected' is missing" in " ".join(capsys.readouterr().err.split())


def test_dpo_needs_preference_data_and_preference_data_needs_dpo(
    tiny_chat_model_dir: Path, tmp_path: Path
) -> None:
    without = recipe(tiny_chat_model_dir, tmp_path, {"name": "dpo"})
    without["task"] = {"type": "generate"}
    with pytest.raises(RecipeError, match=r"task\.preference is false"):
        bizlm.train(without)
    plain = recipe(tiny_chat_model_dir, tmp_path, {"name": "lora"}, epochs=1)
    with pytest.raises(RecipeError, match="only method dpo trains"):
        bizlm.train(plain)
    with pytest.raises(Exception, match="preference apply to type generate"):
        TaskConfig(type="classify", preference=True)
