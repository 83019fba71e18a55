"""Feedback as training data: intent rows for ``bizlm update``, reply rows for the generator.

* Intent rows ``{"text", "label"}``: a thumbs-up confirms the predicted intent; a thumbs-down
  counts only when it names the right intent.
* Preference pairs ``{"prompt", "chosen", "rejected"}`` (``method: dpo``): a thumbs-down with a
  corrected reply on an answer of the desk (template, FAQ or generated) prefers the correction
  to the desk's reply.
* Instruction rows ``{"prompt", "response"}`` (``task.type: generate``): every corrected reply,
  and every generated reply that got a thumbs-up.

The prompt is the customer's message just before the rated reply. Every file is written
atomically and readable by its owner only; the summary counts what was written and, per file,
the feedback skipped and why.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.project import OUT_OF_SCOPE
from bizlm.apps.support.store import ConversationStore
from bizlm.atomic import atomic_write_text

#: reply kinds that answer the customer (a hand-off's text is no answer to prefer against)
ANSWER_KINDS = ("generated", "faq", "template")

#: why a feedback row gave no row of a file, as the summary prints it
SKIP_REASONS = {
    "down_without_intent": "thumbs-down without correct_intent",
    "out_of_scope": "out of scope or no customer message",
    "thumbs_up": "thumbs-up (no corrected reply to prefer)",
    "down_without_reply": "thumbs-down without correct_reply",
    "not_an_answer": "corrected hand-offs (no desk answer to reject)",
    "same_reply": "correct_reply equal to the desk's reply",
    "no_customer_message": "no customer message before the reply",
    "up_not_generated": "thumbs-up on a template, FAQ or hand-off reply",
}


def export_feedback(
    store: ConversationStore,
    output: Path,
    preferences: Path | None = None,
    sft: Path | None = None,
) -> dict[str, Any]:
    """Write intent rows to ``output`` and, when given, preference pairs to ``preferences`` and
    instruction rows to ``sft``; return how many rows each got and the feedback skipped, by reason.
    """
    targets = [Path(output), *(Path(p) for p in (preferences, sft) if p is not None)]
    if len({path.resolve() for path in targets}) < len(targets):
        raise SupportProjectError(
            "Two of the export files are the same file: " + ", ".join(map(str, targets)) + ".",
            hint="Give OUTPUT, --preferences and --sft different file names.",
        )
    items = store.feedback()
    rows, skipped = intent_rows(items)
    _write(Path(output), rows)
    summary: dict[str, Any] = {
        "written": len(rows),
        **{f"skipped_{k}": v for k, v in skipped.items()},
    }
    if preferences is not None:
        pairs, skipped = preference_rows(items)
        _write(Path(preferences), pairs)
        summary["preferences"] = {"file": str(preferences), "pairs": len(pairs), "skipped": skipped}
    if sft is not None:
        replies, counts, skipped = sft_rows(items)
        _write(Path(sft), replies)
        summary["sft"] = {"file": str(sft), "rows": len(replies), **counts, "skipped": skipped}
    return summary


def intent_rows(items: list[dict[str, Any]]) -> tuple[list[dict[str, str]], dict[str, int]]:
    """Rows ``{"text", "label"}`` for ``bizlm update``, and the feedback skipped by reason."""
    rows, skipped = [], {"down_without_intent": 0, "out_of_scope": 0}
    for item in items:
        label = item["correct_intent"] if item["rating"] == "down" else item["intent"]
        if item["rating"] == "down" and not label:
            skipped["down_without_intent"] += 1
        elif not label or label == OUT_OF_SCOPE or not item["question"]:
            skipped["out_of_scope"] += 1
        else:
            rows.append({"text": item["question"], "label": label})
    return rows, skipped


def preference_rows(items: list[dict[str, Any]]) -> tuple[list[dict[str, str]], dict[str, int]]:
    """DPO pairs: the corrected reply chosen over the desk's; the feedback skipped by reason."""
    rows, skipped = [], Counter[str]()
    for item in items:
        correction = _correction(item)
        if item["rating"] == "up":
            skipped["thumbs_up"] += 1
        elif correction is None:
            skipped["down_without_reply"] += 1
        elif item["kind"] not in ANSWER_KINDS or not item["reply"].strip():
            skipped["not_an_answer"] += 1
        elif not item["question"]:
            skipped["no_customer_message"] += 1
        elif correction == item["reply"].strip():
            skipped["same_reply"] += 1
        else:
            rows.append(
                {"prompt": item["question"], "chosen": correction, "rejected": item["reply"]}
            )
    return rows, dict(skipped)


def sft_rows(
    items: list[dict[str, Any]],
) -> tuple[list[dict[str, str]], dict[str, int], dict[str, int]]:
    """Instruction rows from corrected replies and thumbs-up generated replies; the count of
    each kind and the feedback skipped by reason."""
    rows, counts, skipped = [], {"corrected": 0, "generated_up": 0}, Counter[str]()
    for item in items:
        correction = _correction(item)
        if item["rating"] == "up" and (item["kind"] != "generated" or not item["reply"].strip()):
            skipped["up_not_generated"] += 1
        elif item["rating"] == "down" and correction is None:
            skipped["down_without_reply"] += 1
        elif not item["question"]:
            skipped["no_customer_message"] += 1
        else:
            counts["corrected" if correction is not None else "generated_up"] += 1
            rows.append({"prompt": item["question"], "response": correction or item["reply"]})
    return rows, counts, dict(skipped)


def summary_lines(summary: dict[str, Any], output: Path) -> list[str]:
    """The export's summary as lines for people."""
    lines = [f"{output}: {summary['written']} intent rows"]
    lines += [
        f"  skipped: {value} {SKIP_REASONS[key.removeprefix('skipped_')]}"
        for key, value in summary.items()
        if key.startswith("skipped_") and value
    ]
    if "preferences" in summary:
        part = summary["preferences"]
        lines.append(f"{part['file']}: {part['pairs']} preference pairs")
        lines += _skipped_lines(part["skipped"])
    if "sft" in summary:
        part = summary["sft"]
        lines.append(
            f"{part['file']}: {part['rows']} prompt/response rows ({part['corrected']} corrected, "
            f"{part['generated_up']} generated with a thumbs-up)"
        )
        lines += _skipped_lines(part["skipped"])
    return lines


def _skipped_lines(skipped: dict[str, int]) -> list[str]:
    return [f"  skipped: {value} {SKIP_REASONS[key]}" for key, value in skipped.items()]


def _correction(item: dict[str, Any]) -> str | None:
    """The corrected reply of a thumbs-down (stripped), or None."""
    text = (item["correct_reply"] or "").strip() if item["rating"] == "down" else ""
    return text or None


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    atomic_write_text(path, lines, private=True)
