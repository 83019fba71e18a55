"""Decide a recipe for a data file: task, columns, labels, model and lengths, each with a reason.

The rules, in order: the columns (see :mod:`bizlm.init.inspect`); the task from the label cells;
the model from the script of the texts (Chinese or another non-Latin script: ``multilingual``,
else ``default``); ``train.max_length`` from the 90th percentile of the token lengths of up to
:data:`SAMPLE_SIZE` texts under that model's own tokenizer, rounded up to a multiple of
:data:`LENGTH_STEP` and kept within [:data:`MIN_LENGTH`, :data:`MAX_LENGTH`]; and, when more than
:data:`CUT_SHARE` of the texts are still longer, ``task.long_inputs`` (``head_tail``: keep the
start and the end; ``window`` for tagging).
"""

from __future__ import annotations

import difflib
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.backbones import resolve_model
from bizlm.data.readers import READ_FORMATS, read_table
from bizlm.data.tagged import read_tagged
from bizlm.data.text_checks import detect_script, script_shares, text_column_problems
from bizlm.errors import DataError, RecipeError
from bizlm.init.inspect import find_label_column, find_pair_column, find_text_column, present
from bizlm.init.labels import choose_task, label_notes, listed

TASKS = ("classify", "tag", "score")
SAMPLE_SIZE = 2000
LENGTH_STEP = 32
MIN_LENGTH = 32
MAX_LENGTH = 256  # longer inputs cost too much on a CPU
CUT_SHARE = 0.1


@dataclass
class Choice:
    """One recipe key, its value, why it was chosen, and comment lines to write under it."""

    key: str
    value: Any
    reason: str
    notes: list[str] = field(default_factory=list)


@dataclass
class RecipePlan:
    """Every choice for a recipe, in the order it is written, plus warnings about the data."""

    source: str
    rows: int
    choices: list[Choice] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_tokenizer(model: str) -> Any:
    """The tokenizer of a model reference (alias, folder or hub id)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model(model))


def plan_recipe(
    data: Path,
    task: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
) -> RecipePlan:
    """Look at ``data`` and decide a recipe (``task`` and the columns win when given).

    A file that is not a table (by its suffix), or JSON lines of tokens and tags, or of texts
    and entity spans, is tagged sentences (task tag).

    Raises RecipeError for an unknown task, and DataError for a missing or unreadable file,
    no text or label column, a label column with a single value, or unknown column names.
    """
    if task is not None and task not in TASKS:
        close = difflib.get_close_matches(task, TASKS, n=1)
        raise RecipeError(
            f"Unknown task '{task}'." + (f" Did you mean '{close[0]}'?" if close else ""),
            hint="Use --task classify, tag or score, or leave it out to decide from the labels.",
        )
    if task == "tag" or (task is None and data.suffix.lower() not in READ_FORMATS):
        return _plan_tagged(data, task, text_column)
    table = read_table(data)
    if task is None and _tagged_table(table.columns, table.rows[0]):
        return _plan_tagged(data, task, text_column)
    plan = RecipePlan(source=str(data), rows=len(table.rows))
    text = find_text_column(table, text_column, label_column)
    pair = find_pair_column(table, text.value)
    used = {text.value} | ({pair.value} if pair else set())
    label = find_label_column(table, label_column, used, task)
    values = present(table, label.value)
    if not values:
        raise DataError(
            f"Column '{label.value}' of {data} is empty.",
            hint="Pass --label-column with the column that holds the labels.",
        )
    kind = choose_task(values, task, label.value)
    plan.choices.append(Choice("task.type", kind.type, kind.reason))
    plan.choices.append(Choice("task.text_column", text.value, text.reason))
    if pair:
        plan.choices.append(Choice("task.text_pair_column", pair.value, pair.reason))
    notes = label_notes(values, kind.type, kind.multi_label, label.value, str(data))
    plan.choices.append(Choice("task.label_column", label.value, label.reason, notes))
    if kind.multi_label:
        plan.choices.append(Choice("task.multi_label", True, "several labels per text"))
    cells = [str(row[text.value]) if _filled(row.get(text.value)) else "" for row in table.rows]
    plan.warnings += text_column_problems(cells)
    rows = [r for r in table.rows if _filled(r.get(text.value)) and _filled(r.get(label.value))]
    if not rows:
        raise DataError(
            f"No row of {data} has both a text in '{text.value}' and a label in '{label.value}'.",
            hint="Pass --text-column and --label-column with the columns that hold them.",
        )
    texts = [str(r[text.value]) for r in rows]
    pairs = [str(r.get(pair.value) or "") for r in rows] if pair else None
    _plan_model(plan, texts, pairs, kind.type)
    return plan


def _plan_tagged(data: Path, task: str | None, text_column: str | None) -> RecipePlan:
    sentences = read_tagged(data, text_column=text_column or "text")
    plan = RecipePlan(source=str(data), rows=len(sentences))
    types = Counter(tag[2:] for tags in sentences.tags for tag in tags if tag.startswith("B-"))
    if not types:
        raise DataError(
            f"{data} tags no entity: every tag is 'O'.",
            hint="A tagging task learns from tagged entities (B-TYPE, I-TYPE); check the file.",
        )
    reason = "given with --task" if task else "entity-tagged sentences (token and tag per line)"
    notes = [f"entity types ({len(types)}): " + listed(types)]
    plan.choices.append(Choice("task.type", "tag", reason, notes))
    if text_column is not None:
        plan.choices.append(Choice("task.text_column", text_column, "given with --text-column"))
    _plan_model(plan, sentences.texts, None, "tag")
    return plan


def _plan_model(plan: RecipePlan, texts: list[str], pairs: list[str] | None, task: str) -> None:
    """The model, max_length and long_inputs, then the data, method and output keys."""
    model = _choose_model(plan, texts)
    lengths = _token_lengths(load_tokenizer(model), texts, pairs)
    p90 = float(np.percentile(lengths, 90))
    max_length = min(MAX_LENGTH, max(MIN_LENGTH, math.ceil(p90 / LENGTH_STEP) * LENGTH_STEP))
    cut = sum(length > max_length for length in lengths) / len(lengths)
    if cut > CUT_SHARE:
        how = "window" if task == "tag" else "head_tail"
        what = "cover them with overlapping windows" if how == "window" else "keep start and end"
        reason = f"{cut:.0%} of texts exceed {max_length} tokens: {what}"
        plan.choices.insert(_after_task(plan), Choice("task.long_inputs", how, reason))
    plan.choices += [
        Choice("data.train", plan.source, "no validation or test file: data.split makes them"),
        Choice("method", {"name": "lora"}, "LoRA trains ~1% of the weights: cheap on a CPU"),
        Choice(
            "train.max_length",
            max_length,
            f"90% of {len(lengths):,} texts ≤ {math.ceil(p90)} tokens ({model} tokenizer); "
            f"{cut:.0%} will be cut",
        ),
        Choice("output", f"runs/{Path(plan.source).stem}", "the bundle folder"),
    ]


def _choose_model(plan: RecipePlan, texts: list[str]) -> str:
    """``multilingual`` for Chinese or other non-Latin texts, else ``default`` (English)."""
    shares = script_shares(texts)
    script = detect_script(texts)
    if script == "latin":
        model, reason = "default", f"Latin script ({shares['latin']:.0%} of letters): English"
    elif script == "zh":
        model, reason = "multilingual", f"Chinese ({shares['han']:.0%} of letters are Han)"
    else:
        model, reason = "multilingual", f"non-Latin script ({shares['other']:.0%} of letters)"
    if model == "multilingual":
        reason += "; the default model reads English only"
    plan.choices.insert(0, Choice("model", model, reason))
    return model


def _token_lengths(tokenizer: Any, texts: list[str], pairs: list[str] | None) -> list[int]:
    """Token counts (special tokens included) of a seeded sample of ``texts`` (and pairs)."""
    chosen = range(len(texts))
    if len(texts) > SAMPLE_SIZE:
        chosen = sorted(random.Random(0).sample(range(len(texts)), SAMPLE_SIZE))
    sample = [texts[i] for i in chosen]
    second = [pairs[i] for i in chosen] if pairs is not None else None
    encoded = tokenizer(sample, second, truncation=False, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]


def _tagged_table(columns: list[str], first: dict[str, Any]) -> bool:
    """JSON lines of ``tokens`` and ``tags``, or of a ``text`` and its ``entities`` (spans)."""
    spans = "text" in columns and isinstance(first.get("entities"), list)
    return {"tokens", "tags"} <= set(columns) or spans


def _after_task(plan: RecipePlan) -> int:
    return max(i for i, choice in enumerate(plan.choices) if choice.key.startswith("task.")) + 1


def _filled(value: Any) -> bool:
    return value is not None and value == value and str(value).strip() != ""  # NaN != NaN
