"""Task type generate on a tiny random Llama: chat formatting and labels, LoRA and full
training into a bundle, and the bundle's generate/chat/predict and CLI answers."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import yaml
from transformers import AutoTokenizer

import bizlm
from bizlm.bundle_info import BundleInfo
from bizlm.cli import run
from bizlm.errors import BizlmError, DataError, RecipeError
from bizlm.task_config import TaskConfig
from bizlm.tasks import Examples, build_task
from bizlm.tasks.generate_encoding import DEFAULT_CHAT_TEMPLATE, IGNORED
from bizlm.tasks.generate_predictor import CausalLM, GeneratePredictor
from tests.tasks.test_generate_data import assistant, user, write_jsonl

PAIRS = [
    ("say hello to anna", "hello anna"),
    ("say goodbye to bob", "goodbye bob"),
    ("what is the capital of france", "paris"),
    ("how many days are in a week", "seven days"),
    ("translate cat into french", "chat"),
    ("translate dog into french", "chien"),
]
CHINESE = [
    ("你好 请问 退款 什么时候 到账", "您的 退款 三天 内 到账"),
    ("订单 已经 发货 了吗", "已经 发货"),
]
TRAIN = {
    "batch_size": 8,
    "max_length": 48,
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}


def recipe(model: Path, folder: Path, method: str, epochs: int, rate: float, pairs) -> dict:
    """A generate recipe over ``pairs`` (four copies for training, one for validation/test)."""
    rows = [{"prompt": p, "response": r} for p, r in pairs]
    train = write_jsonl(folder / "train.jsonl", rows * 4)
    held_out = write_jsonl(folder / "val.jsonl", rows)
    return {
        "model": str(model),
        "task": {"type": "generate"},
        "data": {"train": str(train), "validation": str(held_out), "test": str(held_out)},
        "method": method,
        "train": {**TRAIN, "epochs": epochs, "learning_rate": rate},
        "decoding": {"max_new_tokens": 8},
        "output": str(folder / f"bundle-{method}"),
    }


def learned(feature: dict) -> list[int]:
    """The token ids a feature's labels train on."""
    pairs = zip(feature["input_ids"], feature["labels"], strict=True)
    return [token for token, label in pairs if label != IGNORED]


def train_losses(bundle: Path) -> list[float]:
    history = json.loads((bundle / "bizlm.json").read_text())["training"]["history"]
    return [record["train_loss"] for record in history if "train_loss" in record]


@pytest.fixture(scope="module")
def lora_bundle(tiny_chat_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA bundle trained with ``bizlm train recipe.yaml``."""
    folder = tmp_path_factory.mktemp("generate-lora")
    path = folder / "recipe.yaml"
    path.write_text(
        yaml.safe_dump(recipe(tiny_chat_model_dir, folder, "lora", 3, 2e-2, PAIRS)), "utf-8"
    )
    assert run(["train", str(path), "--json"]) == 0
    return folder / "bundle-lora"


@pytest.fixture(scope="module")
def full_bundle(tiny_chat_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fully fine-tuned bundle, English and Chinese pairs, trained with ``bizlm.train``."""
    folder = tmp_path_factory.mktemp("generate-full")
    result = bizlm.train(recipe(tiny_chat_model_dir, folder, "full", 20, 1e-2, PAIRS + CHINESE))
    return result.bundle


def test_labels_cover_the_assistant_tokens_only(tiny_chat_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    task = build_task(TaskConfig(type="generate"))
    chat = [user("say hello"), assistant("hello anna"), user("again"), assistant("bye bob")]
    examples = Examples(["again"], ["bye bob"], [1], extras={"messages": [chat]})
    [feature] = task.features(tokenizer, examples, [], 64)
    pairs = zip(feature["input_ids"], feature["labels"], strict=True)
    assert all(label in (IGNORED, token) for token, label in pairs)
    assert tokenizer.decode(learned(feature)) == "hello anna<|im_end|>bye bob<|im_end|>"
    assert len(feature["input_ids"]) == len(feature["labels"]) == len(feature["attention_mask"])


def test_default_template_warns_once_and_a_given_template_wins(
    tiny_chat_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    examples = Examples(["hi"], ["ho"], [1], extras={"messages": [[user("hi"), assistant("ho")]]})
    task = build_task(TaskConfig(type="generate"))
    with caplog.at_level(logging.WARNING, logger="bizlm"):
        task.features(tokenizer, examples, [], 64)
        task.features(tokenizer, examples, [], 64)
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "no chat template" in caplog.records[0].message
    assert tokenizer.chat_template == DEFAULT_CHAT_TEMPLATE
    template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    template += "{% if add_generation_prompt %}[assistant] {% endif %}"
    custom = build_task(TaskConfig(type="generate", chat_template=template))
    caplog.clear()
    [feature] = custom.features(
        AutoTokenizer.from_pretrained(tiny_chat_model_dir), examples, [], 64
    )
    assert not caplog.records
    assert tokenizer.decode(feature["input_ids"]).startswith("[user] hi\n[assistant] ho")
    assert feature["input_ids"][-1] == tokenizer.eos_token_id  # no end marker: eos is learned
    assert feature["labels"][-1] == tokenizer.eos_token_id


def test_long_prompts_are_cut_from_the_left_and_counted(tiny_chat_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    long_prompt = " ".join(["say hello to anna"] * 20)
    chats = [[user(long_prompt), assistant("hello anna")], [user("hi"), assistant("ho")]]
    examples = Examples(["x", "hi"], ["hello anna", "ho"], [1, 2], extras={"messages": chats})
    task = build_task(TaskConfig(type="generate"))
    features = task.features(tokenizer, examples, [], 24)
    assert len(features[0]["input_ids"]) == 24
    assert tokenizer.decode(features[0]["input_ids"]).endswith("assistant\nhello anna<|im_end|>\n")
    note = task.length_note(tokenizer, examples, 24)
    assert note.startswith("1 of 2 conversations are longer than train.max_length=24")
    assert "1 prompts were cut from the left" in note and "0 answers were cut" in note
    long_answer = [[user("hi"), assistant(" ".join(["hello anna"] * 30))]]
    answer_examples = Examples(["hi"], ["x"], [1], extras={"messages": long_answer})
    assert "1 answers were cut at the end" in task.length_note(tokenizer, answer_examples, 24)
    assert len(task.features(tokenizer, answer_examples, [], 24)[0]["input_ids"]) == 24


def test_an_encoder_is_refused_naming_causal_models(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = recipe(tiny_model_dir, tmp_path, "full", 1, 1e-2, PAIRS)
    with pytest.raises(RecipeError, match="is an encoder \\(bert\\), not a causal language model"):
        bizlm.train(config)


def test_lora_training_lowers_the_loss_and_the_bundle_answers(lora_bundle: Path) -> None:
    losses = train_losses(lora_bundle)
    assert losses[-1] < losses[0]
    info = json.loads((lora_bundle / "bizlm.json").read_text())
    assert info["task"] == "generate" and info["recipe"]["decoding"]["max_new_tokens"] == 8
    assert {"rouge_l", "chrf", "exact_match", "count"} <= set(info["metrics"])
    assert "baseline" not in info["metrics"] and "verdict" not in info
    model = bizlm.load(lora_bundle)
    answers = model.generate(["say hello to anna", "translate cat into french"])
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)
    [reply] = model.chat([[user("say hello to anna")]])
    assert reply == answers[0]
    [prediction] = model.predict(["say hello to anna"])
    assert prediction == {"generated_text": answers[0]}


def test_full_training_lowers_the_loss_and_writes_the_documents(full_bundle: Path) -> None:
    losses = train_losses(full_bundle)
    assert losses[-1] < 0.5 * losses[0]
    assert bizlm.load(full_bundle).generate(["say goodbye to bob"]) == ["goodbye bob"]
    card = (full_bundle / "MODEL_CARD.md").read_text()
    assert "pipeline_tag: text-generation" in card and "### Sample generations" in card
    assert "| ROUGE-L (F-measure) |" in card and "Calibration" not in card
    report = (full_bundle / "report.html").read_text()
    assert "<h2>Sample generations</h2>" in report and "chrF" in report


def test_max_new_tokens_and_stop_strings(tiny_chat_model_dir: Path, full_bundle: Path) -> None:
    untrained = GeneratePredictor(
        CausalLM.from_pretrained(tiny_chat_model_dir),
        AutoTokenizer.from_pretrained(tiny_chat_model_dir),
        [],
        info=BundleInfo(labels=[], recipe={"decoding": {"stop": ["zzz"]}}),
    )
    free = untrained.generate(["what"], max_new_tokens=20)[0]
    short = untrained.generate(["what"], max_new_tokens=2)[0]
    assert len(free) > len(short) > 0 and free.startswith(short)
    assert len(untrained.tokenizer(short)["input_ids"]) <= 2
    stop = free[len(free) // 2 :][:2]
    cut = untrained.generate(["what"], max_new_tokens=20, stop=[stop])[0]
    assert cut == free[: free.index(stop)].strip()
    model = bizlm.load(full_bundle)
    with pytest.raises(BizlmError, match=r"'max_tokens'\. Did you mean 'max_new_tokens'"):
        model.generate(["what"], max_tokens=3)
    with pytest.raises(BizlmError, match="temperature applies only with do_sample"):
        model.generate(["what"], temperature=0.5)
    with pytest.raises(DataError, match="Conversation 0: the conversation ends on assistant"):
        model.chat([[user("hi"), assistant("ho")]])
    with pytest.raises(BizlmError, match="generates text; it has no per-text probabilities"):
        model.predict_proba(["what"])


def test_batched_generation_equals_one_at_a_time(full_bundle: Path) -> None:
    model = bizlm.load(full_bundle)
    prompts = [p for p, _ in PAIRS] + ["what", "translate a very long dog into french now"]
    together = model.generate(prompts, batch_size=4)
    assert together == [model.generate([p])[0] for p in prompts]


def test_chinese_pairs_train_and_generate(tiny_chat_model_dir: Path, full_bundle: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    prompt, answer = CHINESE[0]
    examples = Examples([prompt], [answer], [1], {"messages": [[user(prompt), assistant(answer)]]})
    [feature] = build_task(TaskConfig(type="generate")).features(tokenizer, examples, [], 64)
    assert tokenizer.decode(learned(feature)) == answer + "<|im_end|>"
    answers = bizlm.load(full_bundle).generate([p for p, _ in CHINESE])
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)
    samples = json.loads((full_bundle / "bizlm.json").read_text())["metrics"]["samples"]
    assert any(row["prompt"] == CHINESE[0][0] for row in samples)


def test_cli_predict_prints_the_answer(full_bundle: Path, capsys: pytest.CaptureFixture) -> None:
    expected = bizlm.load(full_bundle).generate(["say hello to anna"])[0]
    assert run(["predict", str(full_bundle), "say hello to anna"]) == 0
    printed = capsys.readouterr().out.strip()  # the answer, a tab (shown as spaces), the text
    assert printed.startswith(expected) and printed.endswith("say hello to anna")
    assert expected == "hello anna"
    assert run(["predict", str(full_bundle), "say hello to anna", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"text": "say hello to anna", "generated_text": expected}
    ]


def test_a_bundle_without_a_saved_template_uses_the_recipe_one(
    full_bundle: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(full_bundle, tmp_path / "copy"))
    (copy / "model" / "chat_template.jinja").unlink()
    assert bizlm.load(copy).generate(["what"]) == bizlm.load(full_bundle).generate(["what"])


def test_lora_targets_gpt2_attention(tmp_path: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    from bizlm.methods import TrainingPlan, build_method
    from bizlm.methods.lora import LoraMethodConfig

    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=50))
    adapted = build_method(LoraMethodConfig()).prepare(model, TrainingPlan(10, "generate"))
    trained = {name for name, p in adapted.named_parameters() if p.requires_grad}
    assert trained and all("lora_" in name for name in trained)
    assert any("c_attn.lora_A" in name for name in trained)


def test_evaluate_scores_a_generate_bundle(full_bundle: Path, tmp_path: Path) -> None:
    rows = [{"prompt": p, "response": r} for p, r in PAIRS]
    metrics = bizlm.evaluate(full_bundle, write_jsonl(tmp_path / "test.jsonl", rows))
    assert metrics["count"] == len(PAIRS) and 0 < metrics["rouge_l"] <= 1
    assert len(metrics["samples"]) == 5
