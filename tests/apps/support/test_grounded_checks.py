"""Citations of a generated reply, its sentence support scores and the tuned support threshold."""

from __future__ import annotations

import pytest

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.citations import parse_citations
from bizlm.apps.support.grounded.support import (
    content_words,
    score_sentences,
    split_sentences,
    support_score,
    tune_support_threshold,
)
from tests.apps.support.test_grounded_prompt import passage

REFUNDS = passage("Refunds reach your card within five working days.")
HOURS = passage("The shop is open from nine to five on weekdays.", "Hours", "hours.txt")
CHINESE = passage("退款将在五个工作日内到账。", "退款", "退款.md")


def test_citations_map_to_passages_in_order_of_first_citation() -> None:
    parsed = parse_citations(
        "Open at nine [2]. Refunds take five days [1][2]. Again [2].", [REFUNDS, HOURS]
    )
    assert [c.number for c in parsed.citations] == [2, 1]
    first = parsed.citations[0].to_json()
    assert first["file"] == "hours.txt" and first["heading"] == "Hours"
    assert first["link"] == f"/v1/support/sources/{HOURS.id}"
    assert first["passage_id"] == HOURS.id and first["text"] == HOURS.text
    assert parsed.unknown == [] and parsed.text.startswith("Open at nine [2].")


def test_markers_pointing_at_no_source_are_dropped_and_reported() -> None:
    parsed = parse_citations("Refunds take five days [1, 4]. Call us [7]. Or [0].", [REFUNDS])
    assert [c.number for c in parsed.citations] == [1]
    assert parsed.unknown == [4, 7, 0]
    assert parsed.text == "Refunds take five days [1]. Call us. Or."


def test_sentences_keep_the_markers_written_after_them() -> None:
    assert split_sentences("Refunds take days. [1] Call us [2]. 退款到账[1]。谢谢") == [
        "Refunds take days. [1]",
        "Call us [2].",
        "退款到账[1]。",
        "谢谢",
    ]


def test_content_words_drop_stop_words_markers_and_segment_chinese() -> None:
    assert content_words("The refund is on its way [1].") == {"refund", "way"}
    chinese = content_words("您的退款已经到账")
    assert {"退款", "已经"} <= chinese and not {"您", "的"} & chinese


def test_a_copied_sentence_scores_one_and_an_unrelated_one_near_zero() -> None:
    assert support_score("Refunds reach your card within five working days.", [REFUNDS]) == 1.0
    assert support_score("Our pilots fly purple elephants to Mars.", [REFUNDS, HOURS]) == 0.0
    assert support_score("您的退款将在五个工作日内到账。", [CHINESE]) == 1.0
    assert support_score("请联系客服经理", [CHINESE]) == 0.0
    assert support_score("Thanks!", [REFUNDS]) == 1.0  # no claim to check


def test_a_sentence_is_scored_against_the_passages_it_cites_else_all() -> None:
    reply = "The shop is open on weekdays [1]. The shop is open on weekdays."
    cited, uncited = score_sentences(reply, [REFUNDS, HOURS])
    assert cited.cited == [1] and cited.score < 0.5  # [1] is the refunds passage
    assert uncited.cited == [] and uncited.score == 1.0  # any passage may back it


def test_threshold_tuning_reaches_the_target_precision() -> None:
    scores = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.1]
    labels = [True, True, True, False, True, True, False, False, True, False]
    pairs = list(zip(scores, labels, strict=True))
    tuned = tune_support_threshold(pairs, target_precision=0.8)
    assert tuned.reached and tuned.threshold == 0.6
    kept = [label for score, label in pairs if score >= tuned.threshold]
    assert sum(kept) / len(kept) == tuned.precision >= 0.8
    assert tuned.coverage == len(kept) / len(pairs)
    strict = tune_support_threshold(pairs, target_precision=1.0)
    assert strict.reached and strict.threshold == 0.85 and strict.precision == 1.0


def test_an_unreachable_target_gives_the_most_precise_threshold_flagged() -> None:
    tuned = tune_support_threshold([(0.9, False), (0.5, True), (0.2, False)], 0.9)
    assert not tuned.reached and tuned.threshold == 0.5


@pytest.mark.parametrize(
    ("pairs", "target", "message"),
    [
        ([], 0.9, "No scored validation replies"),
        ([(0.5, True)], 0.0, "target precision is 0.0"),
        ([(1.5, True)], 0.9, "between 0 and 1"),
    ],
)
def test_threshold_tuning_refuses_bad_input(pairs: list, target: float, message: str) -> None:
    with pytest.raises(SupportProjectError, match=message) as error:
        tune_support_threshold(pairs, target)
    assert error.value.hint
