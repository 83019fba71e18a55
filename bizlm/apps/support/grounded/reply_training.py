"""Training a project's reply model on its own questions (``bizlm app support train-replies``).

The ``train`` rows of the questions file become chat rows built the way the desk prompts its
generate bundle (:mod:`bizlm.apps.support.grounded.reply_rows`); the ``validation`` rows become
the validation conversations that choose the training epoch (the ``test`` rows are never used).
A chat model (the packaged ``smollm2`` by default) is fully fine-tuned on them into a new run
folder, default ``DIR/replies/<UTC time>/``: ``reply-train.jsonl``,
``reply-validation.jsonl``, ``recipe.yaml`` and the generate bundle in ``bundle/``.
``support.yaml`` is not changed: the summary gives the line to set there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.loader import project_reranker
from bizlm.apps.support.grounded.questions import (
    QUESTIONS_FILE,
    TRAIN,
    VALIDATION,
    KnowledgeQuestion,
    read_knowledge_questions,
)
from bizlm.apps.support.grounded.reply_rows import ReplyRows, build_reply_rows
from bizlm.apps.support.knowledge.indexer import load_knowledge_base
from bizlm.apps.support.project import SupportProject, load_project
from bizlm.apps.support.retrieval import SentenceEncoder
from bizlm.apps.support.run_folder import new_run_folder
from bizlm.atomic import atomic_write_text
from bizlm.progress import Reporter
from bizlm.training.run import train

REPLIES_DIR = "replies"
TRAIN_ROWS = "reply-train.jsonl"
VALIDATION_ROWS = "reply-validation.jsonl"
RECIPE = "recipe.yaml"
BUNDLE = "bundle"
DEFAULT_MODEL = "smollm2"
DEFAULT_EPOCHS = 3
DEFAULT_LEARNING_RATE = 1e-4
# the longest conversation in tokens: the system prompt, top_k passages and the answer
MAX_LENGTH = 1024
MAX_NEW_TOKENS = 112


def train_questions(questions: list[KnowledgeQuestion], path: Path) -> list[KnowledgeQuestion]:
    """The ``train`` rows of ``questions`` (read from ``path``); none is a clear error."""
    chosen = [question for question in questions if question.split == TRAIN]
    if not chosen:
        raise SupportProjectError(
            f'{path} has no question with "split": "{TRAIN}", so there is nothing to '
            "train a reply model on.",
            hint='Add rows such as {"question": "...", "answer": "...", "answerable": true, '
            '"split": "train", "source": "file.md"}, and unanswerable ones with '
            '"answerable": false, about 60 and 20 of them.',
        )
    return chosen


def build_project_rows(
    project: SupportProject, questions: list[KnowledgeQuestion]
) -> tuple[ReplyRows, ReplyRows]:
    """The training and validation rows, retrieved from the project's index (and re-ranked
    when ``support.yaml`` names a re-ranker) as the desk retrieves them; an index not built
    yet is a clear error."""
    settings = project.settings.knowledge
    knowledge_base = load_knowledge_base(project, SentenceEncoder.for_recipe(project.recipe))
    reranker = project_reranker(project)

    def rows(split: str) -> ReplyRows:
        chosen = [question for question in questions if question.split == split]
        return build_reply_rows(chosen, knowledge_base, settings.top_k, reranker)

    return rows(TRAIN), rows(VALIDATION)


def write_rows(path: Path, rows: ReplyRows) -> None:
    """The rows as JSON lines, written atomically."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows.rows)
    atomic_write_text(path, text)


def reply_recipe(
    run: Path, model: str, epochs: int, learning_rate: float, validation: bool
) -> dict[str, Any]:
    """Full fine-tuning of ``model`` on the run's rows; the validation rows (when there are
    any) choose the epoch, else a tenth of the training rows is held out for it."""
    data: dict[str, Any] = {
        "train": str(run / TRAIN_ROWS),
        "split": {"train": 0.9, "validation": 0.1, "test": 0.0},
    }
    if validation:
        data["validation"] = str(run / VALIDATION_ROWS)
    return {
        "model": model,
        "task": {"type": "generate"},
        "data": data,
        "method": {"name": "full"},
        "train": {
            "epochs": epochs,
            "batch_size": 4,
            "learning_rate": learning_rate,
            "warmup_ratio": 0.1,
            "max_length": MAX_LENGTH,
            "early_stopping_patience": 1,
        },
        "decoding": {"max_new_tokens": MAX_NEW_TOKENS},
        "output": str(run / BUNDLE),
    }


def bundle_setting(project: SupportProject, bundle: Path) -> str:
    """The ``support.yaml`` line that makes the desk write replies with ``bundle`` (a path
    relative to the project folder when it is inside it)."""
    resolved, root = bundle.resolve(), project.root.resolve()
    shown = resolved.relative_to(root) if resolved.is_relative_to(root) else resolved
    return f"knowledge: {{generate_bundle: {shown.as_posix()}}}"


def train_replies(
    root: Path,
    questions_file: Path | None = None,
    epochs: int = DEFAULT_EPOCHS,
    output: Path | None = None,
    model: str = DEFAULT_MODEL,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Build the reply rows of the project at ``root`` from its ``train`` questions (default
    file: ``knowledge_questions.jsonl``), train ``model`` on them and return the summary."""
    if not 0 < learning_rate < 1:
        raise SupportProjectError(
            f"The learning rate is {learning_rate}; it must be above 0 and below 1.",
            hint="Pass --learning-rate 1e-4, for example.",
        )
    project = load_project(root)
    path = questions_file or project.root / QUESTIONS_FILE
    questions = read_knowledge_questions(path)
    train_questions(questions, path)  # refuse bad input before loading models
    run = new_run_folder(project.root, output, REPLIES_DIR)
    training, validation = build_project_rows(project, questions)
    if not training.answers:
        skipped = training.summary()["skipped"]
        raise SupportProjectError(
            f"None of the answerable train questions of {path} gave a row (skipped: {skipped}),"
            " so the model would only learn to refuse.",
            hint="Add answerable train rows, name each one's file in docs/ as 'source', and "
            "check that the file holds the answer and is indexed.",
        )
    run.mkdir(parents=True)
    write_rows(run / TRAIN_ROWS, training)
    write_rows(run / VALIDATION_ROWS, validation)
    recipe = reply_recipe(run, model, epochs, learning_rate, bool(validation.rows))
    atomic_write_text(run / RECIPE, yaml.safe_dump(recipe, sort_keys=False))
    result = train(run / RECIPE, reporter=reporter)
    return {
        "questions_file": str(path),
        "train": training.summary(),
        "validation": validation.summary(),
        "skipped_questions": training.skipped,
        "run": str(run),
        "recipe": str(run / RECIPE),
        "bundle": str(result.bundle),
        # the scores on the validation rows, without the generated samples
        "metrics": {key: value for key, value in result.metrics.items() if key != "samples"},
        "set_in_support_yaml": bundle_setting(project, result.bundle),
    }
