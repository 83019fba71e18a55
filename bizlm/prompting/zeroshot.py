"""Zero-shot classification by embedding: each label is the mean vector of its description
and example phrases; a text's logits are ``scale`` × its cosine similarity to each label."""

from __future__ import annotations

import numpy as np

from bizlm.prompting.config import LabelDescription
from bizlm.prompting.encoding import embed_texts, set_head
from bizlm.sentence_model import SentenceClassifier


def label_phrases(label: str, spec: LabelDescription) -> list[str]:
    """The phrases that stand for a label: its description (or its name) and its examples."""
    return [spec.description.strip() or label, *[e for e in spec.examples if e.strip()]]


def label_prototypes(
    model: SentenceClassifier,
    tokenizer: object,
    labels: list[str],
    descriptions: dict[str, LabelDescription],
    max_length: int,
) -> np.ndarray:
    """One unit vector per label (rows in ``labels`` order): the normalised mean of the unit
    vectors of its phrases."""
    rows = []
    for label in labels:
        vectors = embed_texts(
            model, tokenizer, label_phrases(label, descriptions[label]), max_length
        )
        mean = vectors.mean(axis=0)
        rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
    return np.stack(rows)


def build_zeroshot_head(
    model: SentenceClassifier,
    tokenizer: object,
    labels: list[str],
    descriptions: dict[str, LabelDescription],
    scale: float,
    max_length: int,
) -> None:
    """Set the classifier so that its logits are ``scale`` × cosine(text, label prototype)."""
    prototypes = label_prototypes(model, tokenizer, labels, descriptions, max_length)
    set_head(model, scale * prototypes, np.zeros(len(labels), dtype=np.float32))
