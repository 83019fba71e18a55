"""Long texts of single-label classify: truncate, head_tail and window, trained and served alike."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import bizlm
from bizlm.bundle import read_bundle_info, write_bundle
from bizlm.bundle_info import BundleInfo
from bizlm.errors import RecipeError
from bizlm.inference import softmax, tokenize
from bizlm.long_text import MAX_TRAINING_WINDOWS, encode_texts
from bizlm.predictor import Predictor
from bizlm.recipe import TaskConfig, load_recipe
from bizlm.tasks import Examples, build_task
from tests.conftest import FILLER, TINY_TRAIN, WORDS, write_csv

LETTERS = list("abcdefghijklmnopqrstuvwxyz")
DISTINCT = LETTERS + FILLER + WORDS["positive"] + WORDS["neutral"]  # 50 different tokens
MAX_LENGTH = 16


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def forward(model: torch.nn.Module, feature: dict) -> np.ndarray:
    """Softmax of the model's logits for one encoded input, run on its own."""
    inputs = {k: torch.tensor([v]) for k, v in feature.items() if k != "labels"}
    with torch.inference_mode():
        return softmax(model.eval()(**inputs).logits.numpy())[0]


def long_rows(count: int, seed: int) -> list[dict[str, str]]:
    """Binary rows whose label words come after a run of filler longer than MAX_LENGTH."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = ("positive", "negative")[index % 2]
        filler = [rng.choice(FILLER) for _ in range(rng.choice([2, 30]))]
        rows.append({"text": " ".join([*filler, *rng.sample(WORDS[label], 2)]), "label": label})
    return rows


def save_bundle(folder: Path, model_dir: Path, info: dict, fmt: int | None) -> Path:
    """A two-label bundle of the tiny model's random head; ``fmt`` None: as write_bundle does."""
    torch.manual_seed(3)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)

    def contents(staging: Path) -> None:
        model.save_pretrained(staging / "model")
        AutoTokenizer.from_pretrained(model_dir).save_pretrained(staging / "model")

    write_bundle(folder, BundleInfo.model_validate(info), contents)
    if fmt is not None:  # an older bundle: rewrite its format number
        written = json.loads((folder / "bizlm.json").read_text())
        (folder / "bizlm.json").write_text(json.dumps({**written, "format": fmt}))
    return folder


def classify_info(long_inputs: str) -> dict:
    return {
        "labels": ["negative", "positive"],
        "recipe": {
            "task": {"type": "classify", "long_inputs": long_inputs},
            "train": {"max_length": MAX_LENGTH},
        },
    }


def test_head_tail_keeps_the_first_quarter_and_the_last_tokens(tokenizer) -> None:
    text = " ".join(LETTERS)
    [feature] = encode_texts(tokenizer, [text], MAX_LENGTH, mode="head_tail").features
    budget = MAX_LENGTH - 2  # [CLS] and [SEP]
    tokens, head = ids(tokenizer, text), budget // 4
    assert len(feature["input_ids"]) == MAX_LENGTH
    assert feature["input_ids"] == [
        tokenizer.cls_token_id,
        *tokens[:head],
        *tokens[-(budget - head) :],
        tokenizer.sep_token_id,
    ]
    short = "good crew"  # texts that fit are encoded as truncate encodes them
    assert encode_texts(tokenizer, [short], MAX_LENGTH, mode="head_tail").features == tokenize(
        tokenizer, [short], MAX_LENGTH
    )


def test_head_tail_of_a_pair_cuts_the_longer_text_first(tokenizer) -> None:
    query, document = "good crew", " ".join(LETTERS)
    [pair] = encode_texts(tokenizer, [query], MAX_LENGTH, [document], mode="head_tail").features
    [cut] = tokenize(tokenizer, [query], MAX_LENGTH, [document])
    assert len(pair["input_ids"]) == len(cut["input_ids"]) == MAX_LENGTH
    assert pair["token_type_ids"] == cut["token_type_ids"]  # the same share for each text
    assert pair["input_ids"][-2] == ids(tokenizer, document)[-1]  # the document's last token


def test_windows_cover_every_token_half_a_window_apart(tokenizer) -> None:
    text = " ".join(DISTINCT)
    encoded = encode_texts(tokenizer, [text, "good"], MAX_LENGTH, mode="window")
    pieces = zip(encoded.features, encoded.owners, strict=True)
    windows = [f["input_ids"][1:-1] for f, o in pieces if o == 0]
    tokens = ids(tokenizer, text)
    assert encoded.owners.count(1) == 1 and len(windows) > 2
    assert all(len(w) == MAX_LENGTH - 2 for w in windows)
    starts = [next(i for i in range(len(tokens)) if tokens[i : i + len(w)] == w) for w in windows]
    assert starts[0] == 0 and starts[-1] + len(windows[-1]) == len(tokens)
    assert all(b - a <= (MAX_LENGTH - 2) // 2 for a, b in itertools.pairwise(starts))
    covered = {i for s, w in zip(starts, windows, strict=True) for i in range(s, s + len(w))}
    assert covered == set(range(len(tokens)))


def test_training_windows_carry_the_label_and_are_capped(tokenizer) -> None:
    task = build_task(TaskConfig(long_inputs="window"))
    texts = [" ".join(LETTERS * 6), "good crew"]
    examples = Examples(texts=texts, targets=["positive", "negative"], line_numbers=[2, 3])
    features = task.features(tokenizer, examples, ["negative", "positive"], MAX_LENGTH)
    assert [f["labels"] for f in features] == [1] * MAX_TRAINING_WINDOWS + [0]
    uncapped = encode_texts(tokenizer, texts, MAX_LENGTH, mode="window").features
    dropped = len(uncapped) - len(features)
    assert dropped > 0
    note = task.length_note(tokenizer, examples, MAX_LENGTH)
    assert note is not None and note.startswith("1 of 2 texts are longer")
    assert "overlapping windows" in note and f"leaving out {dropped} windows" in note


def test_length_notes_count_the_long_texts_and_say_what_happens_to_them(tokenizer) -> None:
    examples = Examples(texts=[" ".join(LETTERS), "good"], targets=["a", "b"], line_numbers=[1, 2])
    notes = {
        mode: build_task(TaskConfig(long_inputs=mode)).length_note(tokenizer, examples, 16)
        for mode in ("auto", "head_tail")
    }
    assert "1 of 2 texts are longer" in notes["auto"] and "cut to it" in notes["auto"]
    assert "first and last tokens are kept" in notes["head_tail"]
    short = Examples(texts=["good"], targets=["a"], line_numbers=[1])
    assert build_task(TaskConfig()).length_note(tokenizer, short, 16) is None


def test_window_predictions_average_the_windows_probabilities(
    tiny_model_dir: Path, tmp_path: Path, tokenizer
) -> None:
    bundle = save_bundle(tmp_path / "windowed", tiny_model_dir, classify_info("window"), None)
    predictor = bizlm.load(bundle)
    assert predictor.long_inputs == "window"
    texts = [" ".join(LETTERS * 2), "good crew", " ".join(reversed(LETTERS))]
    encoded = encode_texts(tokenizer, texts, MAX_LENGTH, mode="window")
    rows = [forward(predictor.model, feature) for feature in encoded.features]
    owners = np.asarray(encoded.owners)
    expected = [np.mean([rows[i] for i in np.flatnonzero(owners == t)], axis=0) for t in range(3)]
    assert len(encoded.features) > len(texts) + 2  # two texts need several windows
    probabilities = predictor.predict_proba(texts, batch_size=2)
    np.testing.assert_allclose(probabilities, np.stack(expected), atol=1e-5)
    assert [p["label"] for p in predictor.predict(texts)] == [
        predictor.labels[int(np.argmax(row))] for row in expected
    ]
    # validation during training averages the windows in the same way
    gold = ["positive", "negative", "negative"]
    examples = Examples(texts=texts, targets=gold, line_numbers=[1, 2, 3])
    task = build_task(TaskConfig(long_inputs="window"))
    scores = task.evaluator(tokenizer, examples, predictor.labels, MAX_LENGTH, 2)(predictor.model)
    picked = probabilities[np.arange(3), [predictor.labels.index(g) for g in gold]]
    assert scores["loss"] == pytest.approx(float(-np.mean(np.log(picked))), abs=1e-5)


def test_old_classify_bundles_still_cut_their_texts(
    tiny_model_dir: Path, tmp_path: Path, tokenizer
) -> None:
    # format 1 stored long_inputs "window" for every task (the old default) but cut classify
    old = save_bundle(tmp_path / "old", tiny_model_dir, classify_info("window"), fmt=1)
    assert read_bundle_info(old).task_settings["long_inputs"] == "truncate"
    predictor = bizlm.load(old)
    assert predictor.long_inputs == "truncate"
    text = " ".join(LETTERS)
    [feature] = tokenize(tokenizer, [text], MAX_LENGTH)
    np.testing.assert_allclose(
        predictor.predict_proba([text])[0], forward(predictor.model, feature), atol=1e-5
    )
    tagger = save_bundle(tmp_path / "old-tag", tiny_model_dir, classify_info("window"), fmt=1)
    info = json.loads((tagger / "bizlm.json").read_text())
    info["recipe"]["task"]["type"] = "tag"
    (tagger / "bizlm.json").write_text(json.dumps(info))
    assert read_bundle_info(tagger).task_settings["long_inputs"] == "window"


def test_a_bundle_without_a_choice_cuts_and_an_old_one_without_the_key_too(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    new = Predictor.from_bundle(
        save_bundle(tmp_path / "new", tiny_model_dir, classify_info("auto"), None)
    )
    assert new.long_inputs == "truncate"
    bare = classify_info("auto")
    del bare["recipe"]["task"]["long_inputs"]
    older = Predictor.from_bundle(save_bundle(tmp_path / "older", tiny_model_dir, bare, fmt=1))
    assert older.long_inputs == "truncate"


@pytest.mark.parametrize(
    ("task", "fragment"),
    [
        ({"type": "tag", "long_inputs": "head_tail"}, "head_tail applies to classify and score"),
        ({"type": "score", "long_inputs": "window"}, "window does not apply to score"),
        ({"multi_label": True, "long_inputs": "window"}, "multi-label classify"),
        ({"text_pair_column": "b", "long_inputs": "window"}, "text-pair"),
    ],
)
def test_recipes_refuse_long_inputs_the_task_cannot_use(task: dict, fragment: str) -> None:
    with pytest.raises(RecipeError, match=fragment):
        load_recipe({"model": "default", "data": {"train": "x.csv"}, "task": task})


def test_auto_windows_a_tagger_and_cuts_the_others() -> None:
    assert build_task(TaskConfig(type="tag")).long_inputs == "window"
    assert build_task(TaskConfig()).long_inputs == "truncate"
    assert build_task(TaskConfig(type="score", long_inputs="head_tail")).long_inputs == "head_tail"


def test_a_window_bundle_trains_on_windows_and_scores_them_averaged(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    train = write_csv(tmp_path / "train.csv", long_rows(80, seed=3))
    test = write_csv(tmp_path / "test.csv", long_rows(20, seed=4))
    result = bizlm.train(
        {
            "model": str(tiny_model_dir),
            "task": {"long_inputs": "window"},
            "data": {"train": str(train), "test": str(test)},
            "train": TINY_TRAIN | {"max_length": MAX_LENGTH, "epochs": 1},
            "output": str(tmp_path / "bundle"),
        }
    )
    notes = " ".join(result.info["data"].get("warnings", []))
    assert "covered by overlapping windows" in notes
    assert bizlm.load(result.bundle).long_inputs == "window"
    metrics = bizlm.evaluate(result.bundle, test)
    assert metrics["log_loss"] == pytest.approx(result.metrics["log_loss"], abs=1e-6)


@pytest.fixture(scope="module")
def head_tail_run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("head-tail")
    train = write_csv(folder / "train.csv", long_rows(160, seed=1))
    test = write_csv(folder / "test.csv", long_rows(40, seed=2))
    config = {
        "model": str(tiny_model_dir),
        "task": {"long_inputs": "head_tail"},
        "data": {"train": str(train), "test": str(test)},
        "train": TINY_TRAIN | {"max_length": MAX_LENGTH, "epochs": 3},
        "output": str(folder / "bundle"),
    }
    return bizlm.train(config), test


def test_a_head_tail_bundle_predicts_after_reloading_as_it_was_scored(
    head_tail_run, tokenizer
) -> None:
    result, test = head_tail_run
    assert result.info["recipe"]["task"]["long_inputs"] == "head_tail"
    notes = " ".join(result.info["data"].get("warnings", []))
    assert "first and last tokens are kept" in notes
    loaded = bizlm.load(result.bundle)
    assert loaded.long_inputs == "head_tail"
    metrics = bizlm.evaluate(result.bundle, test)
    for key in ("accuracy", "macro_f1", "log_loss"):
        assert metrics[key] == pytest.approx(result.metrics[key], abs=1e-6)
    text = long_rows(2, seed=5)[0]["text"]
    [feature] = encode_texts(tokenizer, [text], MAX_LENGTH, mode="head_tail").features
    assert feature["input_ids"][-3:-1] == ids(tokenizer, text)[-2:]  # the label words are seen
    np.testing.assert_allclose(
        loaded.predict_proba([text])[0], forward(loaded.model, feature), atol=1e-5
    )
