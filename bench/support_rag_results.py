"""The figures of bench/support_rag.py from its scored test replies (answer gain, what the desk
gives and hands off at a threshold) and the keys it keeps in bench/results/support.json: each
run's headline figures, the packaged model's copies of them, and the targets met."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

TARGETS = {"rag_answer_gain": 5.0, "rag_supported_share": 0.9, "handoff_precision": 0.8}
PACKAGED, FINETUNED = "rag", "rag_finetuned"  # where each run's details are kept


def answer_gain(records: list[dict[str, Any]]) -> dict[str, Any]:
    """ROUGE-L (points) of grounded and closed-book replies to the answerable questions."""
    answerable = [record for record in records if record["answerable"]]
    grounded = 100 * np.mean([record["rouge_l"] for record in answerable])
    closed = 100 * np.mean([record["rouge_l_closed_book"] for record in answerable])
    written = [record for record in answerable if record["score"] is not None]
    written_gain = 100 * np.mean([r["rouge_l"] - r["rouge_l_closed_book"] for r in written])
    return {
        "rag_answer_gain": round(float(grounded - closed), 2),
        "rouge_l_grounded": round(float(grounded), 2),
        "rouge_l_closed_book": round(float(closed), 2),
        "answerable": len(answerable),
        # the same gain where retrieval let the model write (no weak-retrieval hand-off)
        "rag_answer_gain_where_written": round(float(written_gain), 2),
        "answerable_written": len(written),
    }


def _share(values: list[bool]) -> float | None:
    return float(np.mean(values)) if values else None


def decisions(records: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """What the desk gives and hands off at ``threshold``, and how right it is."""

    def accepted(record: dict[str, Any]) -> bool:
        return record["score"] is not None and record["score"] >= threshold

    given = [record for record in records if accepted(record)]
    handoffs = [record for record in records if not accepted(record)]
    unanswerable = [record for record in records if not record["answerable"]]
    return {
        "threshold": threshold,
        "rag_supported_share": _share(
            [s >= threshold for r in given for s in r["sentence_scores"]]
        ),
        "rag_supported_share_generated": _share(
            [s >= threshold for r in records for s in r["sentence_scores"]]
        ),
        "handoff_precision": _share([not record["answerable"] for record in handoffs]),
        "handoff_recall_unanswerable": _share([not accepted(r) for r in unanswerable]),
        "given": len(given),
        "given_answerable": sum(record["answerable"] for record in given),
        "given_truly_supported": sum(record["truly_supported"] for record in given),
        "handoffs": len(handoffs),
        "handoffs_before_check": dict(
            Counter(r["retrieval_handoff"] for r in handoffs if r["score"] is None)
        ),
    }


def headline(run: dict[str, Any]) -> dict[str, Any]:
    """The target keys of a recorded run (its test questions at the tuned threshold)."""
    test = run["test"]
    tuned = test["at_tuned_threshold"]
    return {
        "rag_answer_gain": test["rag_answer_gain"],
        "rag_supported_share": tuned["rag_supported_share"],
        "handoff_precision": tuned["handoff_precision"],
    }


def gain_over_packaged_closed_book(
    records: list[dict[str, Any]], packaged: dict[str, Any] | None
) -> float | None:
    """ROUGE-L gain (points) of these grounded replies over the packaged model's closed-book
    replies to the same test questions, when a packaged run is recorded."""
    if packaged is None:
        return None
    closed = {
        reply["question"]: reply["rouge_l_closed_book"]
        for reply in packaged["test"]["replies"]
        if reply["answerable"]
    }
    gains = [r["rouge_l"] - closed[r["question"]] for r in records if r["question"] in closed]
    return round(float(100 * np.mean(gains)), 2) if gains else None


def record_headlines(results: dict[str, Any]) -> dict[str, Any]:
    """Set the headline keys (the fine-tuned run's, else the packaged run's), the packaged
    run's copies and the targets met; return the headline."""
    if PACKAGED in results:
        for key, value in headline(results[PACKAGED]).items():
            results[f"{key}_packaged"] = value
    chosen = headline(results.get(FINETUNED) or results[PACKAGED])
    results.update(chosen)
    met = {key: value is not None and value >= TARGETS[key] for key, value in chosen.items()}
    results["targets"] = {**results.get("targets", {}), **TARGETS}
    results["met"] = {**results.get("met", {}), **met}
    return chosen
