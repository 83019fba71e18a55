"""``bizlm app support train``: the intent model, its calibration and the FAQ index.

The intent examples are split per intent (15% validation, 15% test when an intent has at least
10 examples) and the ``out_of_scope`` messages in halves (validation, test). The intent model is
trained with ``bizlm.train``; when ``recipe.yaml`` names no method, the rule is: ``fewshot``
when some intent has fewer than :data:`FEWSHOT_BELOW` training examples, else ``full``. The
temperature and out-of-scope threshold are fitted on validation; test figures are reported.
The FAQ index's BM25 weight is chosen by :func:`choose_fusion`.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.apps.support.calibration import Calibration, calibrate, out_of_scope_scores, scale
from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.faq_files import QUERIES_FILE
from bizlm.apps.support.fusion import tune_bm25_weight
from bizlm.apps.support.project import (
    OUT_OF_SCOPE,
    SupportProject,
    check_template_slots,
    load_project,
)
from bizlm.apps.support.retrieval import FaqIndex, SentenceEncoder
from bizlm.atomic import atomic_write_text
from bizlm.bundle import read_bundle_info
from bizlm.loading import load
from bizlm.progress import Reporter
from bizlm.training.run import train

FEWSHOT_BELOW = 16
MIN_EXAMPLES = 4
VALIDATION_FRACTION = 0.15
TEST_FRACTION = 0.15
BUILD_INFO = "support.json"
INTENT_BUNDLE = "intent"


@dataclass
class Splits:
    """Intent examples and out-of-scope messages per split: lists of (text, intent)."""

    train: list[tuple[str, str]]
    validation: list[tuple[str, str]]
    test: list[tuple[str, str]]


def split_examples(project: SupportProject, seed: int) -> Splits:
    """Per-intent validation and test hold-outs; out-of-scope messages only in held-out sets."""
    rng = random.Random(seed)
    splits = Splits([], [], [])
    for name, body in project.intents.items():
        examples = list(body["examples"])
        if len(examples) < MIN_EXAMPLES:
            raise SupportProjectError(
                f"Intent '{name}' has {len(examples)} example(s); at least {MIN_EXAMPLES} are "
                "needed (some are held out to tune the out-of-scope threshold).",
                hint="Add examples to intents.yaml.",
            )
        rng.shuffle(examples)
        n_val = max(1, round(VALIDATION_FRACTION * len(examples)))
        n_test = round(TEST_FRACTION * len(examples)) if len(examples) >= 10 else 0
        splits.validation += [(t, name) for t in examples[:n_val]]
        splits.test += [(t, name) for t in examples[n_val : n_val + n_test]]
        splits.train += [(t, name) for t in examples[n_val + n_test :]]
    outside = list(project.out_of_scope)
    rng.shuffle(outside)
    half = (len(outside) + 1) // 2
    splits.validation += [(t, OUT_OF_SCOPE) for t in outside[:half]]
    splits.test += [(t, OUT_OF_SCOPE) for t in outside[half:]]
    return splits


def choose_method(project: SupportProject, train: list[tuple[str, str]]) -> dict[str, Any]:
    """The recipe's method, or by the rule: few-shot when an intent has few training examples."""
    if project.recipe.get("method"):
        method = project.recipe["method"]
        return {"name": method} if isinstance(method, str) else dict(method)
    counts = {name: 0 for name in project.intents}
    for _, name in train:
        counts[name] += 1
    return {"name": "fewshot" if min(counts.values()) < FEWSHOT_BELOW else "full"}


def _write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = [json.dumps({"text": text, "label": label}, ensure_ascii=False) for text, label in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path.resolve()


def entity_types_of(project: SupportProject) -> list[str]:
    """Entity types that can fill template slots (from support.yaml or the NER bundle)."""
    if project.settings.entity_types is not None:
        return list(project.settings.entity_types)
    path = project.ner_path()
    if path is None:
        return []
    info = read_bundle_info(path)
    if info.task_type != "tag":
        raise SupportProjectError(
            f"The ner_bundle {path} is not a tag (NER) bundle.",
            hint="Train one with a recipe of task type tag, or remove ner_bundle.",
        )
    return sorted({tag.split("-", 1)[1] for tag in info.labels if "-" in tag})


def intent_recipe(project: SupportProject, files: dict[str, Path], method: dict) -> dict:
    """The intent model's recipe: the project's recipe plus data, labels and output."""
    recipe = copy.deepcopy(project.recipe)
    recipe["method"] = method
    recipe["data"] = {name: str(path) for name, path in files.items()}
    recipe.setdefault("task", {})["labels"] = sorted(project.intents)
    recipe["output"] = str((project.build_dir / INTENT_BUNDLE).resolve())
    return recipe


def split_probabilities(
    predictor: Any, rows: list[tuple[str, str]], labels: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(in-scope probabilities, their gold label ids, out-of-scope probabilities)."""
    inside = [(t, labels.index(n)) for t, n in rows if n != OUT_OF_SCOPE]
    outside = [t for t, n in rows if n == OUT_OF_SCOPE]
    width = len(labels)
    in_probs = predictor.predict_proba([t for t, _ in inside]) if inside else np.zeros((0, width))
    out_probs = predictor.predict_proba(outside) if outside else np.zeros((0, width))
    return in_probs, np.array([g for _, g in inside], dtype=int), out_probs


def held_out_scores(
    calibration: Calibration, in_probs: np.ndarray, gold: np.ndarray, out_probs: np.ndarray
) -> dict[str, float | int]:
    """Intent accuracy on known intents and the out-of-scope decision's precision/recall."""
    scaled_in = scale(in_probs, calibration.temperature) if len(gold) else np.zeros((0, 1))
    scaled_out = scale(out_probs, calibration.temperature) if len(out_probs) else np.zeros((0, 1))
    predicted = scaled_in.argmax(axis=1) if len(gold) else np.zeros(0, dtype=int)
    answered = scaled_in.max(axis=1) >= calibration.threshold if len(gold) else np.zeros(0, bool)
    flagged_out = scaled_out.max(axis=1) < calibration.threshold if len(out_probs) else []
    is_oos_gold = np.r_[np.zeros(len(gold), bool), np.ones(len(out_probs), bool)]
    is_oos_predicted = np.r_[~answered, np.asarray(flagged_out, dtype=bool)]
    return {
        "in_scope_examples": len(gold),
        "out_of_scope_examples": len(out_probs),
        "intent_accuracy": float(np.mean(predicted == gold)) if len(gold) else 0.0,
        "answered_accuracy": float(np.mean((predicted == gold) & answered)) if len(gold) else 0.0,
        **out_of_scope_scores(is_oos_gold, is_oos_predicted),
    }


def choose_fusion(project: SupportProject, index: FaqIndex) -> dict[str, Any]:
    """The BM25 weight of FAQ retrieval: from support.yaml, else tuned on the project's
    labelled queries, else 1 (plain reciprocal-rank fusion); and where it came from."""
    configured = project.settings.faq.bm25_weight
    if configured is not None:
        return {"bm25_weight": configured, "source": "support.yaml"}
    if project.faq_queries:
        return {**tune_bm25_weight(index, project.faq_queries), "source": QUERIES_FILE}
    return {"bm25_weight": 1.0, "source": "default"}


def train_project(root: Path, reporter: Reporter | None = None) -> dict[str, Any]:
    """Train the intent model, calibrate it, index the FAQ; write ``build/support.json``."""
    project = load_project(root)
    check_template_slots(project.templates, entity_types_of(project), str(root))
    seed = int(project.recipe.get("train", {}).get("seed", 42))
    splits = split_examples(project, seed)
    method = choose_method(project, splits.train)
    data_dir = project.build_dir / "data"
    files = {"train": _write_rows(data_dir / "train.jsonl", splits.train)}
    known = [(t, n) for t, n in splits.validation if n != OUT_OF_SCOPE]
    files["validation"] = _write_rows(data_dir / "validation.jsonl", known)
    tested = [(t, n) for t, n in splits.test if n != OUT_OF_SCOPE]
    files["test"] = _write_rows(data_dir / "test.jsonl", tested) if tested else files["validation"]
    result = train(intent_recipe(project, files, method), reporter=reporter)
    predictor = load(result.bundle)
    labels = list(predictor.labels)
    in_probs, gold, out_probs = split_probabilities(predictor, splits.validation, labels)
    calibration = calibrate(in_probs, gold, out_probs, project.settings.target_precision)
    test_scores = held_out_scores(calibration, *split_probabilities(predictor, splits.test, labels))
    encoder = SentenceEncoder.for_recipe(project.recipe)
    index = FaqIndex.build(project.faq, encoder, project.settings.faq.rrf_k)
    fusion = choose_fusion(project, index)
    index.bm25_weight = fusion["bm25_weight"]
    index.save(project.build_dir)
    info = {
        "intent_bundle": INTENT_BUNDLE,
        "method": method["name"],
        "labels": labels,
        "examples": {name: len(getattr(splits, name)) for name in ("train", "validation", "test")},
        "calibration": calibration.to_dict(),
        "test": test_scores,
        "faq_entries": len(project.faq),
        "faq_fusion": fusion,
        "warnings": project.warnings,
    }
    atomic_write_text(project.build_dir / BUILD_INFO, json.dumps(info, indent=2))
    return info
