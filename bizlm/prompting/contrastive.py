"""Few-shot encoder tuning: batches that mix a few labels, losses over every pair in a batch.

Each batch holds ``per_label`` examples of ``batch_size / per_label`` labels, so every example
meets same-label and other-label partners; one forward pass of B texts yields B(B-1)/2 pairs.
An epoch visits every example once, so the work grows linearly with the number of examples
(and labels), unlike sampling every pair up front.

Two losses read those pairs: ``supcon`` (supervised contrastive: each text's same-label partners
must win a softmax over all its partners) and ``pairs`` (SetFit's regression of each pair's
cosine towards 1 or 0).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch


def label_batches(
    targets: list[str], batch_size: int, per_label: int, generator: np.random.Generator
) -> list[list[int]]:
    """One epoch of example indices, in batches built from groups of ``per_label`` same-label
    examples of different labels (groups and their order shuffled with ``generator``)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(targets):
        by_label[label].append(index)
    groups: list[list[int]] = []
    for label in sorted(by_label):
        members = [int(i) for i in generator.permutation(by_label[label])]
        groups.extend(
            members[start : start + per_label] for start in range(0, len(members), per_label)
        )
    order = generator.permutation(len(groups))
    batches: list[list[int]] = [[]]
    for group_index in order:
        if len(batches[-1]) + len(groups[group_index]) > max(batch_size, per_label):
            batches.append([])
        batches[-1].extend(groups[group_index])
    return [batch for batch in batches if len(batch) > 1]


def pair_loss(embeddings: torch.Tensor, label_ids: torch.Tensor) -> torch.Tensor:
    """Squared error between each pair's cosine similarity and 1 (same label) or 0 (other).

    Same-label and other-label pairs weigh half each, whatever their counts in the batch.
    """
    similarity = embeddings @ embeddings.T
    same = label_ids[:, None] == label_ids[None, :]
    upper = torch.triu(torch.ones_like(same), diagonal=1)
    errors = (similarity - same.to(similarity.dtype)) ** 2
    positive, negative = same & upper, ~same & upper
    parts = [errors[mask].mean() for mask in (positive, negative) if mask.any()]
    return torch.stack(parts).mean()


def supervised_contrastive_loss(
    embeddings: torch.Tensor, label_ids: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Mean over texts with a same-label partner of -log softmax(cosine / temperature) at
    those partners, the softmax taken over every other text in the batch."""
    similarity = embeddings @ embeddings.T / temperature
    itself = torch.eye(len(label_ids), dtype=torch.bool, device=embeddings.device)
    partners = (label_ids[:, None] == label_ids[None, :]) & ~itself
    log_softmax = torch.log_softmax(similarity.masked_fill(itself, float("-inf")), dim=1)
    anchors = partners.any(dim=1)
    per_text = log_softmax.masked_fill(~partners, 0.0).sum(dim=1) / partners.sum(dim=1).clamp(1)
    return -per_text[anchors].mean()


def batch_loss(
    name: str, embeddings: torch.Tensor, label_ids: torch.Tensor, temperature: float
) -> torch.Tensor:
    """The named few-shot loss (``supcon`` or ``pairs``) of one batch's sentence vectors."""
    if name == "supcon":
        return supervised_contrastive_loss(embeddings, label_ids, temperature)
    return pair_loss(embeddings, label_ids)
