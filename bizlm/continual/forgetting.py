"""Forgetting figures from an accuracy matrix: ``matrix[i][j]`` is the accuracy, after stage
``i``, on the held-out examples of stage ``j`` (``j <= i``; None where not measured).

Definitions follow Lopez-Paz and Ranzato (2017) and Chaudhry et al. (2018): average accuracy
is the last row's mean; backward transfer (BWT) is the mean over old stages of
``matrix[last][j] - matrix[j][j]`` (negative: forgetting); the forgetting of stage ``j`` is the
best accuracy it ever had minus its accuracy now.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Matrix = Sequence[Sequence[float | None]]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def forgetting_summary(matrix: Matrix) -> dict[str, Any]:
    """Average accuracy, BWT and per-stage forgetting after the last stage of ``matrix``."""
    last = len(matrix) - 1
    final = matrix[last]
    forgetting: dict[int, float] = {}
    transfer: list[float] = []
    for j in range(last):
        now = final[j]
        earlier = [row[j] for row in matrix[j:last] if row[j] is not None]
        if now is None or not earlier:
            continue
        forgetting[j] = max(earlier) - now
        if matrix[j][j] is not None:
            transfer.append(now - matrix[j][j])
    return {
        "average_accuracy": _mean([value for value in final if value is not None]),
        "bwt": _mean(transfer),
        "forgetting": forgetting,
        "max_forgetting": max(forgetting.values()) if forgetting else None,
    }
