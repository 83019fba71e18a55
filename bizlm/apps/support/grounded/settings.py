"""The ``knowledge:`` section of ``support.yaml``: generated answers from the knowledge base."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class KnowledgeSettings(BaseModel):
    """How generated answers are made from the knowledge base and when they are trusted."""

    model_config = ConfigDict(extra="forbid")

    generate_bundle: str | None = Field(
        None,
        description="A generate bundle (a chat model trained with task type generate) that "
        "writes answers from the retrieved passages; relative paths are read from the project "
        "folder. null: no generated answers.",
    )
    top_k: int = Field(3, ge=1, le=20, description="Passages given to the model as sources.")
    rerank_bundle: str | None = Field(
        None,
        description="A score bundle trained on (message, passage) pairs (task type score with "
        "a text_pair_column) that re-orders the retrieved candidates before the top_k are "
        "kept; relative paths are read from the project folder. null: no re-ranking.",
    )
    rerank_candidates: int = Field(
        20, ge=1, le=200, description="Passages retrieved for the re-ranker to order."
    )
    min_similarity: float = Field(
        0.3,
        ge=-1,
        le=1,
        description="Hand off instead of generating when the best passage's cosine "
        "similarity to the message is below this.",
    )
    support_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Hand off when a reply sentence has a smaller share of its content words "
        "in the passages it cites (or in all sources when it cites none).",
    )
    max_new_tokens: int = Field(
        160, ge=1, le=4096, description="The longest generated reply, in tokens."
    )
