"""A support project folder: intents, FAQ, answer templates, settings and the intent recipe.

```
DIR/
  intents.yaml     intents: {name: {description, examples}}; out_of_scope: [messages]
  faq.jsonl        one entry a line: {"id", "question", "answer", "tags"} (tags: a list or
                   a comma-separated string)
  faq_queries.jsonl  optional: {"question", "faq_id"} a line, customer wordings that tune
                   the BM25 weight of FAQ retrieval
  templates.yaml   templates: {intent: "answer text with {ENTITY_TYPE} slots"}
  recipe.yaml      the intent model's recipe (model, method, train), without data or output
  support.yaml     answering settings (see :class:`SupportSettings`); its ``knowledge:``
                   section may name a generate bundle that writes answers from docs/
  docs/            optional: the knowledge base, the company's documents (Markdown, HTML,
                   plain text, PDF; sub-folders allowed) that `bizlm app support index`
                   splits into passages and indexes into build/knowledge/
  build/           what `bizlm app support train` writes (intent bundle, FAQ index)
```
Loading checks every file, so a wrong project fails before any training: each error names the
file, the entry and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.faq_files import (
    FAQ_FILE,
    QUERIES_FILE,
    FaqEntry,
    FaqQuery,
    read_faq,
    read_faq_queries,
)
from bizlm.apps.support.grounded.settings import KnowledgeSettings
from bizlm.log import logger
from bizlm.yaml_files import read_yaml_mapping, validate_mapping

INTENTS_FILE = "intents.yaml"
TEMPLATES_FILE = "templates.yaml"
RECIPE_FILE = "recipe.yaml"
SETTINGS_FILE = "support.yaml"
DOCS_DIR = "docs"
BUILD_DIR = "build"
OUT_OF_SCOPE = "out_of_scope"
_SLOT = re.compile(r"\{([^{}]*)\}")


class FaqSettings(BaseModel):
    """How FAQ answers are chosen."""

    model_config = ConfigDict(extra="forbid")

    min_similarity: float = Field(
        0.55,
        ge=-1,
        le=1,
        description="Answer from the FAQ only when the best entry's cosine "
        "similarity to the message is at least this.",
    )
    top_k: int = Field(3, ge=1, le=50, description="FAQ entries returned as sources.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank fusion constant.")
    bm25_weight: float | None = Field(
        None,
        ge=0,
        le=10,
        description="Weight of the BM25 ranking in the fusion (the embedding ranking weighs "
        f"1). Default: tuned on {QUERIES_FILE} when the project has it, else 1.",
    )


class SupportSettings(BaseModel):
    """``support.yaml``: how messages are answered."""

    model_config = ConfigDict(extra="forbid")

    target_precision: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Precision of answered intents that the out-of-scope "
        "threshold is tuned for on validation.",
    )
    ner_bundle: str | None = Field(
        None,
        description="A tag (NER) bundle whose entities fill template slots; relative "
        "paths are read from the project folder.",
    )
    entity_types: list[str] | None = Field(
        None, description="Entity types the NER bundle provides (default: read from it)."
    )
    max_message_chars: int = Field(1000, ge=1, le=100_000)
    handoff_message: str = "I am passing your conversation to a colleague who will reply shortly."
    deny_topics: list[str] = Field(
        default_factory=list,
        description="Words or phrases of topics the desk never answers (a person does): a "
        "message that mentions one is handed off (see bizlm.apps.support.deny).",
    )
    faq: FaqSettings = Field(default_factory=FaqSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)

    @field_validator("deny_topics")
    @classmethod
    def _topics_have_words(cls, topics: list[str]) -> list[str]:
        blank = [index for index, topic in enumerate(topics) if not topic.strip()]
        if blank:
            raise ValueError(f"entry {blank[0]} is blank: give each topic a word or phrase")
        return topics


@dataclass
class SupportProject:
    """A loaded, checked support project."""

    root: Path
    intents: dict[str, dict[str, Any]]
    out_of_scope: list[str]
    faq: list[FaqEntry]
    templates: dict[str, str]
    recipe: dict[str, Any]
    settings: SupportSettings
    warnings: list[str] = field(default_factory=list)
    faq_queries: list[FaqQuery] = field(default_factory=list)

    @property
    def build_dir(self) -> Path:
        """Where training writes the intent bundle and the FAQ index."""
        return self.root / BUILD_DIR

    def in_project(self, setting: str | None) -> Path | None:
        """A folder a setting names: relative paths are read from the project folder."""
        if setting is None:
            return None
        path = Path(setting)
        return path if path.is_absolute() else self.root / path

    def ner_path(self) -> Path | None:
        """The NER bundle's folder, when one is configured."""
        return self.in_project(self.settings.ner_bundle)

    def generate_path(self) -> Path | None:
        """The generate bundle's folder, when one is configured for grounded answers."""
        return self.in_project(self.settings.knowledge.generate_bundle)

    def rerank_path(self) -> Path | None:
        """The score bundle that re-ranks retrieved passages, when one is configured."""
        return self.in_project(self.settings.knowledge.rerank_bundle)


def template_slots(template: str) -> list[str]:
    """The slot names of a template, in order (``{PER}`` → ``PER``)."""
    return _SLOT.findall(template)


def _read_yaml(path: Path) -> dict[str, Any]:
    return read_yaml_mapping(
        path, SupportProjectError, "Create the project with `bizlm app support init DIR`."
    )


def _read_intents(path: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    content = _read_yaml(path)
    intents = content.get("intents")
    if not isinstance(intents, dict) or not intents:
        raise SupportProjectError(
            f"{path} needs an 'intents' mapping of at least one intent.",
            hint="e.g. intents: {refund: {description: ..., examples: [...]}}.",
        )
    checked = {}
    for name, body in intents.items():
        body = body or {}
        examples = body.get("examples", []) if isinstance(body, dict) else None
        if name == OUT_OF_SCOPE:
            raise SupportProjectError(
                f"{path}: '{OUT_OF_SCOPE}' is reserved; list such messages under the "
                "top-level 'out_of_scope' key instead."
            )
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            raise SupportProjectError(
                f"{path}: intent '{name}' needs 'examples', a list of example messages."
            )
        usable = [e for e in examples if e.strip()]
        if not usable:
            raise SupportProjectError(f"{path}: intent '{name}' has no non-empty example.")
        checked[str(name)] = {"description": str(body.get("description", "")), "examples": usable}
    out_of_scope = content.get("out_of_scope") or []
    if not isinstance(out_of_scope, list) or not all(isinstance(e, str) for e in out_of_scope):
        raise SupportProjectError(f"{path}: 'out_of_scope' must be a list of messages.")
    return checked, [e for e in out_of_scope if e.strip()]


def _read_templates(path: Path, intents: dict[str, Any]) -> dict[str, str]:
    if not path.exists():
        return {}
    templates = _read_yaml(path).get("templates") or {}
    if not isinstance(templates, dict) or not all(isinstance(t, str) for t in templates.values()):
        raise SupportProjectError(f"{path}: 'templates' must map intent names to answer texts.")
    unknown = [name for name in templates if name not in intents]
    if unknown:
        raise SupportProjectError(
            f"{path}: template intent(s) {unknown} are not in {INTENTS_FILE}.",
            hint=f"Use one of {sorted(intents)} or add the intent to {INTENTS_FILE}.",
        )
    return {str(k): v for k, v in templates.items()}


def check_template_slots(templates: dict[str, str], entity_types: list[str], where: str) -> None:
    """Every template slot must be an entity type the NER model provides."""
    for intent, template in templates.items():
        missing = [slot for slot in template_slots(template) if slot not in entity_types]
        if missing:
            provided = (
                f"the NER model provides {entity_types}"
                if entity_types
                else "no NER bundle is configured in support.yaml (ner_bundle)"
            )
            raise SupportProjectError(
                f"{where}: the template of intent '{intent}' has slot(s) {missing} that no "
                f"entity type provides; {provided}.",
                hint="Rename the slot to an entity type, or configure a NER bundle.",
            )


def load_project(root: Path) -> SupportProject:
    """Read and check every file of a support project."""
    root = Path(root)
    if not root.is_dir():
        raise SupportProjectError(
            f"{root} is not a folder.", hint="Create it with `bizlm app support init DIR`."
        )
    intents, out_of_scope = _read_intents(root / INTENTS_FILE)
    faq, warnings = read_faq(root / FAQ_FILE)
    for note in warnings:
        logger.warning(note)
    templates = _read_templates(root / TEMPLATES_FILE, intents)
    recipe = _read_yaml(root / RECIPE_FILE)
    settings_path = root / SETTINGS_FILE
    settings = validate_mapping(
        SupportSettings, _read_yaml(settings_path), settings_path, SupportProjectError
    )
    queries = read_faq_queries(root / QUERIES_FILE, faq)
    project = SupportProject(
        root, intents, out_of_scope, faq, templates, recipe, settings, warnings, queries
    )
    if settings.ner_bundle is None or settings.entity_types is not None:
        check_template_slots(templates, settings.entity_types or [], str(root / TEMPLATES_FILE))
    return project
