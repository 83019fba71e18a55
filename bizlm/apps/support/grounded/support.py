"""Is the reply backed by its sources? A deterministic lexical check, sentence by sentence.

A sentence's support score against a passage is the share of its distinct content words
(lower-cased words, jieba words for Chinese, less a small stop list and the ``[n]`` markers)
that occur in the passage's heading or text; against several passages, the best of them. Each
sentence is scored against the passages it cites, or against every retrieved passage when it
cites none; a sentence without content words ("Thanks!") makes no claim and scores 1. The
reply is supported when every sentence reaches the threshold, which
:func:`tune_support_threshold` picks on labelled validation replies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bizlm.apps.support.calibration import tune_threshold
from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.citations import MARKER, marker_numbers
from bizlm.apps.support.knowledge.passages import Passage
from bizlm.apps.support.retrieval import words

_STOP_LIST = (  # function words and courtesies; negations stay: "not" must be in the source
    "a an and are as at be been but by can could do does for from had has have he hello her hi "
    "his how i if in into is it its me my of on or our please she so sorry that thank thanks "
    "the their them then there these they this those to us was we were what when where which "
    "who will with would yes you your yours 的 了 是 在 和 与 吗 呢 吧 啊 我 你 您 他 她 它 "
    "我们 你们 这 那 就 也 都 请 谢谢 您好"
)
STOP_WORDS = frozenset(_STOP_LIST.split())
# a sentence ends after . ! ? (and any [n] markers that follow) before a space that no marker
# follows, or after 。！？ and its markers
_SENTENCE_END = re.compile(
    r"(?<=[.!?])((?:\s*\[[\d,\s]+\])*)\s+(?!\[\d)|(?<=[。！？])((?:\[[\d,\s]+\])*)"
)


@dataclass(frozen=True)
class SentenceSupport:
    """One reply sentence, the passages it cites (numbers from 1) and its support score."""

    text: str
    cited: list[int]
    score: float


def content_words(text: str) -> set[str]:
    """The distinct words of ``text`` that carry meaning: stop words and markers left out."""
    return {word for word in words(MARKER.sub(" ", text)) if word not in STOP_WORDS}


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, each keeping the ``[n]`` markers written right after it."""
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end(1) if match.group(1) is not None else match.end(2)
        pieces.append(text[start:end])
        start = match.end()
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def support_score(sentence: str, passages: Sequence[Passage]) -> float:
    """The largest share of the sentence's content words found in one of ``passages``
    (1 for a sentence without content words, 0 without passages)."""
    wanted = content_words(sentence)
    if not wanted:
        return 1.0
    best = 0.0
    for passage in passages:
        found = set(words(passage.search_text))
        best = max(best, len(wanted & found) / len(wanted))
    return best


def score_sentences(reply: str, passages: Sequence[Passage]) -> list[SentenceSupport]:
    """Each sentence of ``reply`` scored against the passages it cites (numbered from 1; a
    number without a passage is ignored), or against all of them when it cites none."""
    scored = []
    for sentence in split_sentences(reply):
        cited = sorted({n for n in marker_numbers(sentence) if 1 <= n <= len(passages)})
        sources = [passages[n - 1] for n in cited] if cited else passages
        scored.append(SentenceSupport(sentence, cited, support_score(sentence, sources)))
    return scored


@dataclass(frozen=True)
class SupportThreshold:
    """The tuned threshold, with the precision and the share of replies it keeps on
    validation; ``reached`` is False when no threshold reaches the target (the one with the
    best precision is given then)."""

    threshold: float
    precision: float
    coverage: float
    reached: bool


def tune_support_threshold(
    scored_examples: Sequence[tuple[float, bool]], target_precision: float
) -> SupportThreshold:
    """The lowest support threshold whose accepted replies (score at or above it) are truly
    supported at ``target_precision`` or better, from (score, is_supported) validation pairs
    (a reply's score: its weakest sentence's)."""
    if not 0 < target_precision <= 1:
        raise SupportProjectError(
            f"The target precision is {target_precision}; it must be above 0 and at most 1.",
            hint="Pass a precision such as 0.9.",
        )
    if not scored_examples:
        raise SupportProjectError(
            "No scored validation replies to tune the support threshold on.",
            hint="Pass (support score, is_supported) pairs for labelled validation replies.",
        )
    scores = np.array([float(score) for score, _ in scored_examples])
    if not np.all(np.isfinite(scores)) or scores.min() < 0 or scores.max() > 1:
        raise SupportProjectError(
            "Support scores must lie between 0 and 1.",
            hint="Pass the scores of score_sentences (a reply's lowest sentence score).",
        )
    labels = np.array([bool(label) for _, label in scored_examples])
    threshold, precision, coverage, reached = tune_threshold(scores, labels, target_precision)
    return SupportThreshold(threshold, float(precision or 0.0), float(coverage or 0.0), reached)
