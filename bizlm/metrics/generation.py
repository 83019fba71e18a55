"""Metrics of generated text against reference text: ROUGE-L, chrF, exact match and JSON fields.

Every public function returns plain Python values, so results go straight into ``json.dumps``;
malformed input raises ``ValueError``. Chinese, Japanese and Korean text is scored by
character (one token per Han, kana or hangul character), as the field reports ROUGE for it.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from sacrebleu.metrics import CHRF

# Han (with extensions and compatibility ideographs), hiragana, katakana, hangul and jamo.
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
# one CJK character, or a run of letters and digits that holds none
_TOKEN = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


def rouge_tokens(text: str) -> list[str]:
    """``text`` as ROUGE tokens: case-folded words of any script, every CJK character a token
    of its own."""
    return _TOKEN.findall(text.casefold())


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (Lin, 2004): the longest common subsequence of the two token lists,
    as precision over the prediction and recall over the reference; 0 when either is empty.

    Written here rather than taken from ``rouge-score``, whose import installs absl's logging
    handler on the captured ``sys.stderr`` (closed by the next ``logging.config`` call, such
    as the server's).
    """
    predicted, wanted = rouge_tokens(prediction), rouge_tokens(reference)
    if not predicted or not wanted:
        return 0.0
    previous = [0] * (len(wanted) + 1)
    for token in predicted:
        current = [0]
        for index, other in enumerate(wanted):
            current.append(
                previous[index] + 1 if token == other else max(previous[index + 1], current[index])
            )
        previous = current
    common = previous[-1]
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def normalise(text: str) -> str:
    """Strip, collapse whitespace, casefold and drop trailing punctuation (for exact match)."""
    text = " ".join(text.split()).casefold()
    end = len(text)
    while end and (unicodedata.category(text[end - 1])[0] == "P" or text[end - 1].isspace()):
        end -= 1
    return text[:end]


def _check(**columns: Sequence[str]) -> int:
    """Check the columns are non-empty lists of strings of one length; return that length."""
    lengths = {}
    for name, column in columns.items():
        if isinstance(column, str) or not isinstance(column, Sequence):
            raise ValueError(f"{name} must be a list of strings, got {type(column).__name__}")
        for index, item in enumerate(column):
            if not isinstance(item, str):
                raise ValueError(
                    f"{name}[{index}] is {type(item).__name__}, not a string: "
                    "pass the text (use '' for an empty generation)"
                )
        lengths[name] = len(column)
    if len(set(lengths.values())) > 1:
        found = ", ".join(f"{name} {length}" for name, length in lengths.items())
        raise ValueError(f"the columns must have one entry per example; lengths differ: {found}")
    if not next(iter(lengths.values())):
        raise ValueError("cannot compute metrics on zero examples: pass at least one text")
    return next(iter(lengths.values()))


def _json_object(text: str) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object, or ``None`` when it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _field_text(value: Any) -> str:
    """A JSON value as normalised text: strings as they are, other values as JSON."""
    text = (
        value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    )
    return normalise(text)


def _json_metrics(predictions: Sequence[str], gold: list[dict[str, Any]]) -> dict[str, Any]:
    """``json_valid`` and ``json_field_accuracy`` (``None`` when no reference has a field)."""
    parsed = [_json_object(text) for text in predictions]
    fields = right = 0
    for prediction, reference in zip(parsed, gold, strict=True):
        for key, value in reference.items():
            fields += 1
            if prediction is not None and key in prediction:
                right += _field_text(prediction[key]) == _field_text(value)
    return {
        "json_valid": round(sum(p is not None for p in parsed) / len(parsed), 4),
        "json_field_accuracy": round(right / fields, 4) if fields else None,
    }


def generation_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """Score generated texts against one reference each.

    Returns ``rouge_l`` (mean ROUGE-L F-measure), ``chrf`` (corpus chrF, 0-1), ``exact_match``
    (after :func:`normalise`) and ``count``; when every reference is a JSON object, also
    ``json_valid`` (share of predictions that are JSON objects) and ``json_field_accuracy``
    (share of reference fields the prediction holds with an equal, normalised value).
    """
    count = _check(predictions=predictions, references=references)
    rouge = sum(
        rouge_l(prediction, reference)
        for prediction, reference in zip(predictions, references, strict=True)
    )
    chrf = CHRF().corpus_score(list(predictions), [list(references)]).score / 100
    exact = sum(
        normalise(prediction) == normalise(reference)
        for prediction, reference in zip(predictions, references, strict=True)
    )
    metrics: dict[str, Any] = {
        "rouge_l": round(rouge / count, 4),
        "chrf": round(float(chrf), 4),
        "exact_match": round(exact / count, 4),
    }
    gold = [obj for obj in map(_json_object, references) if obj is not None]
    if len(gold) == count:
        metrics.update(_json_metrics(predictions, gold))
    metrics["count"] = count
    return metrics


def sample_table(
    prompts: Sequence[str],
    references: Sequence[str],
    predictions: Sequence[str],
    k: int = 5,
    seed: int = 0,
) -> list[dict[str, str]]:
    """``k`` rows (``prompt``, ``reference``, ``generated``) drawn with ``seed``, in input order.

    Every row is returned when there are fewer than ``k``.
    """
    count = _check(prompts=prompts, references=references, predictions=predictions)
    if k < 1:
        raise ValueError(f"k must be at least 1 (the number of rows to show), got {k}")
    chosen = sorted(random.Random(seed).sample(range(count), min(k, count)))
    return [
        {"prompt": prompts[i], "reference": references[i], "generated": predictions[i]}
        for i in chosen
    ]
