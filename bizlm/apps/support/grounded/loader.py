"""Opening what grounded answers need: the generate bundle ``support.yaml`` names (refused
clearly when it is something else) and the project's knowledge index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.answerer import GroundedAnswerer
from bizlm.apps.support.grounded.rerank import Reranker, load_reranker
from bizlm.apps.support.knowledge.indexer import knowledge_folder, load_knowledge_base
from bizlm.apps.support.knowledge.search import Encoder
from bizlm.apps.support.knowledge.store import MANIFEST
from bizlm.apps.support.project import SETTINGS_FILE, SupportProject
from bizlm.bundle import read_bundle_info
from bizlm.errors import BizlmError
from bizlm.loading import load
from bizlm.log import logger

_WHAT_TO_DO = (
    "Set knowledge.generate_bundle to the output folder of `bizlm train` on a recipe with "
    "task: {type: generate} and a causal language model (model: smollm2, for example), "
    "or to null for no generated answers."
)


def _refused(where: str, problem: str) -> SupportProjectError:
    return SupportProjectError(f"{where} {problem}", hint=_WHAT_TO_DO)


def load_generator(path: Path, settings_file: Path) -> Any:
    """The predictor of the generate bundle at ``path``; anything else (a missing folder, a
    classify bundle, a folder that holds no causal language model) is a
    :class:`SupportProjectError` naming ``settings_file``."""
    where = f"{settings_file}: knowledge.generate_bundle '{path}'"
    try:
        info = read_bundle_info(path)
    except BizlmError as exc:
        raise _refused(where, f"is not a generate bundle ({exc.message})") from None
    if info.task_type != "generate":
        problem = f"is a {info.task_type} bundle, not a generate bundle: it cannot write answers."
        raise _refused(where, problem)
    try:
        generator = load(path)
    except BizlmError as exc:
        raise _refused(where, f"cannot be loaded as a generator ({exc.message})") from None
    if not callable(getattr(generator, "stream", None)):
        problem = f"opens as a {type(generator).__name__}, which cannot write answers."
        raise _refused(where, problem)
    return generator


def load_grounded(project: SupportProject, encoder: Encoder) -> GroundedAnswerer | None:
    """The project's grounded answerer, or None when no generate bundle is configured or no
    knowledge index was built (then a warning says how to build one)."""
    path = project.generate_path()
    if path is None:
        return None
    generator = load_generator(path, project.root / SETTINGS_FILE)
    folder = knowledge_folder(project)
    if not (folder / MANIFEST).is_file():
        logger.warning(
            f"knowledge.generate_bundle is set but {folder} holds no knowledge index, so no "
            f"answers are generated. Run `bizlm app support index {project.root}`."
        )
        return None
    knowledge_base = load_knowledge_base(project, encoder)
    settings = project.settings.knowledge
    return GroundedAnswerer(knowledge_base, generator, settings, project_reranker(project))


def project_reranker(project: SupportProject) -> Reranker | None:
    """The re-ranker ``knowledge.rerank_bundle`` names, or None when it names none."""
    path = project.rerank_path()
    if path is None:
        return None
    candidates = project.settings.knowledge.rerank_candidates
    return load_reranker(path, project.root / SETTINGS_FILE, candidates)
