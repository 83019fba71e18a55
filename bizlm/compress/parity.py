"""Does an exported model still behave like its source? Compared on a validation sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bizlm.errors import BizlmError
from bizlm.metrics.classification import classification_metrics
from bizlm.predictor import Predictor
from bizlm.tasks import Examples


class ParityError(BizlmError):
    """The exported model scores worse than its source by more than allowed."""

    exit_code = 3


def measure_parity(
    source: Predictor,
    candidate: Predictor,
    rows: Examples,
    max_drop: float,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Label agreement, probability differences and the macro-F1 change (in points) of
    ``candidate`` against ``source`` on ``rows``; ``rejected`` when the drop exceeds
    ``max_drop`` points."""
    labels = source.labels
    gold = [labels.index(str(label)) for label in rows.targets]
    before = source.predict_proba(rows.texts, batch_size)
    after = candidate.predict_proba(rows.texts, batch_size)
    chosen_before, chosen_after = source.choose(before), candidate.choose(after)
    source_f1 = classification_metrics(gold, before, labels, chosen_before)["macro_f1"]
    export_f1 = classification_metrics(gold, after, labels, chosen_after)["macro_f1"]
    difference = np.abs(before - after)
    drop = 100 * (source_f1 - export_f1)
    return {
        "n": len(rows.texts),
        "split": "validation",
        "label_agreement": float((chosen_before == chosen_after).mean()),
        "max_probability_difference": float(difference.max()),
        "mean_probability_difference": float(difference.mean()),
        "source_macro_f1": float(source_f1),
        "export_macro_f1": float(export_f1),
        "macro_f1_change_points": float(-drop),
        "max_drop_points": max_drop,
        "rejected": bool(drop > max_drop),
    }


def parity_line(parity: dict[str, Any]) -> str:
    """One-line summary of a parity check."""
    return (
        f"parity on {parity['n']} validation texts: {100 * parity['label_agreement']:.2f}% "
        f"same labels, max probability difference {parity['max_probability_difference']:.4f}, "
        f"macro-F1 {parity['source_macro_f1']:.4f} -> {parity['export_macro_f1']:.4f} "
        f"({parity['macro_f1_change_points']:+.2f} points)"
    )


def rejection(parity: dict[str, Any], bundle: Path, pruned: bool) -> ParityError:
    """The error raised after a rejected bundle was written."""
    drop = -parity["macro_f1_change_points"]
    return ParityError(
        f"Export rejected: validation macro-F1 dropped {drop:.2f} points "
        f"({parity['source_macro_f1']:.4f} -> {parity['export_macro_f1']:.4f} on "
        f"{parity['n']} texts), more than --max-drop {parity['max_drop_points']:g}. "
        f"The bundle was written to {bundle} and marked rejected.",
        hint="Prune less, add --recover-epochs, or raise --max-drop."
        if pruned
        else "Try another quantisation (dynamic-int8 loses least), or raise --max-drop.",
    )
