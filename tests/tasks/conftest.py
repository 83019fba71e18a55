"""Small synthetic data for the task tests: entity sentences, multi-label rows, scored pairs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import FILLER, WORDS

PEOPLE = WORDS["positive"]  # words that are PER entities in the tagging data
PLACES = WORDS["negative"]  # words that are LOC entities


def entity_sentences(count: int, seed: int) -> list[list[tuple[str, str]]]:
    """Sentences of (word, BIO tag): people and places among filler words."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        words: list[tuple[str, str]] = [(w, "O") for w in rng.sample(FILLER, 3)]
        person = rng.sample(PEOPLE, rng.randint(1, 2))
        place = [rng.choice(PLACES)]
        spot = rng.randint(0, len(words))
        words[spot:spot] = [(w, ("B-" if i == 0 else "I-") + "PER") for i, w in enumerate(person)]
        words.append((rng.choice(FILLER), "O"))
        words += [(w, "B-LOC") for w in place]
        sentences.append(words)
    return sentences


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    """Write sentences as token<TAB>tag lines with a blank line between sentences."""
    blocks = ["\n".join(f"{w}\t{t}" for w, t in sentence) for sentence in sentences]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def tag_config(model: Path, folder: Path, sentences: int, epochs: int) -> dict:
    """A raw recipe that trains ``model`` to tag PER and LOC in synthetic sentences."""
    train = write_conll(folder / "train.conll", entity_sentences(sentences, seed=1))
    return {
        "model": str(model),
        "task": {"type": "tag"},
        "data": {"train": str(train)},
        "train": {
            "epochs": epochs,
            "batch_size": 16,
            "learning_rate": 1e-2,
            "max_length": 32,
            "warmup_ratio": 0.0,
            "early_stopping_patience": None,
        },
        "output": str(folder / "tagger"),
    }


@pytest.fixture()
def tag_recipe(tiny_model_dir: Path, tmp_path: Path) -> dict:
    """A quick tagging recipe for the error tests."""
    return tag_config(tiny_model_dir, tmp_path, sentences=60, epochs=1)


CHAT_CORPUS = [
    "what is the capital of france the capital of france is paris",
    "say hello to anna hello anna say goodbye to bob goodbye bob",
    "how many days are in a week there are seven days in a week",
    "translate cat into french chat translate dog into french chien",
    "refund my order your refund is on its way please wait three days",
    "你好 请问 退款 什么时候 到账 您的 退款 三天 内 到账 谢谢",
    "订单 已经 发货 了吗 您的 订单 已经 发货 请 注意 查收",
]


@pytest.fixture(scope="session")
def tiny_chat_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide random Llama with a small byte-level BPE tokenizer (English and
    Chinese) that knows the ChatML markers but has no chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-chat-llama")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(CHAT_CORPUS * 4 + ["system user assistant"] * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(directory)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(directory)
    return directory
