"""Tuning a project's support threshold (``bizlm app support tune-grounding``).

The validation rows of the project's questions file are answered with the generate bundle and
knowledge index that ``support.yaml`` names, and the tuned threshold is written, with every
scored reply, to ``build/grounding.json``. ``support.yaml`` is never changed: the summary gives
the line to set there (``knowledge: {support_threshold: ...}``), which the desk then uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.answerer import GroundedAnswerer
from bizlm.apps.support.grounded.loader import load_generator, project_reranker
from bizlm.apps.support.grounded.questions import QUESTIONS_FILE, read_knowledge_questions
from bizlm.apps.support.grounded.tuning import tune_grounding, validation_questions
from bizlm.apps.support.knowledge.indexer import load_knowledge_base
from bizlm.apps.support.project import SETTINGS_FILE, SupportProject, load_project
from bizlm.apps.support.retrieval import SentenceEncoder
from bizlm.atomic import atomic_write_text

GROUNDING_FILE = "grounding.json"


def open_answerer(project: SupportProject) -> GroundedAnswerer:
    """The project's grounded answerer (with its re-ranker, as the desk has it); an error says
    what to set up when the generate bundle or the knowledge index is missing."""
    path = project.generate_path()
    if path is None:
        raise SupportProjectError(
            f"{project.root / SETTINGS_FILE} sets no knowledge.generate_bundle, so the desk "
            "generates no replies whose support threshold could be tuned.",
            hint="Set knowledge.generate_bundle to a generate bundle (`bizlm train` on a recipe "
            "with task: {type: generate}), index docs/, then run this again.",
        )
    knowledge_base = load_knowledge_base(project, SentenceEncoder.for_recipe(project.recipe))
    generator = load_generator(path, project.root / SETTINGS_FILE)
    settings = project.settings.knowledge
    return GroundedAnswerer(knowledge_base, generator, settings, project_reranker(project))


def tune_project_grounding(
    root: Path, questions_file: Path | None = None, target_precision: float = 0.9
) -> dict[str, Any]:
    """Tune the support threshold of the project at ``root`` on the validation rows of
    ``questions_file`` (default: the project's ``knowledge_questions.jsonl``) and write the
    summary to ``build/grounding.json``; return it."""
    project = load_project(root)
    path = questions_file or project.root / QUESTIONS_FILE
    questions = read_knowledge_questions(path)
    validation_questions(questions, target_precision)  # refuse bad input before loading models
    tuning = tune_grounding(open_answerer(project), questions, target_precision)
    summary = {
        **tuning.to_json(),
        "questions_file": str(path),
        "set_in_support_yaml": f"knowledge: {{support_threshold: {tuning.support_threshold}}}",
    }
    project.build_dir.mkdir(parents=True, exist_ok=True)
    output = project.build_dir / GROUNDING_FILE
    atomic_write_text(output, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return {**summary, "output": str(output)}
