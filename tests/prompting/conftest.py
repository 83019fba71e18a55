"""Fixtures for prompt learning: a tiny random causal LM that shares the tiny BERT's vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_rows


@pytest.fixture(scope="session")
def tiny_generator_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide random Llama with the tiny BERT's word-level tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    directory = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.save_pretrained(directory)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(directory)
    return directory


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Write rows as JSON lines."""
    import json

    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


DESCRIPTIONS = {
    "positive": {"description": "good great love", "examples": ["happy nice"]},
    "negative": "bad awful hate",
    "neutral": {"description": "flight seat bag"},
}


@pytest.fixture()
def zeroshot_recipe(tiny_model_dir: Path, tmp_path: Path) -> dict:
    """A zero-shot recipe on the tiny encoder with only a labelled test file."""
    test = write_jsonl(tmp_path / "test.jsonl", make_rows(30, seed=5))
    return {
        "model": str(tiny_model_dir),
        "data": {"test": str(test)},
        "method": {"name": "zeroshot", "labels": DESCRIPTIONS},
        "train": {"max_length": 32},
        "output": str(tmp_path / "zeroshot"),
    }
