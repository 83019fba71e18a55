"""Grounded replies as they are written: sentences handed out once complete and supported,
generation stopped at the first unsupported one."""

from __future__ import annotations

import pytest

from bizlm.apps.support.grounded.answerer import UNSUPPORTED, GroundedReply
from bizlm.apps.support.grounded.sentence_buffer import SentenceBuffer
from tests.apps.support.test_grounded_answerer import SUPPORTED, answerer


def released(pieces: list[str]) -> list[list[tuple[str, str]]]:
    """What the buffer hands out after each piece, then at the end."""
    buffer = SentenceBuffer()
    return [buffer.feed(piece) for piece in pieces] + [buffer.finish()]


def test_a_sentence_waits_for_the_marker_that_may_follow_it() -> None:
    steps = released(["Open at nine.", " [", "2", "] Refunds", " take days [1]."])
    assert steps == [[], [], [], [("", "Open at nine. [2]")], [], [(" ", "Refunds take days [1].")]]


def test_chinese_sentences_keep_no_space_between_them() -> None:
    steps = released(["退款五天到账。[1]", "营业", "时间九点。"])
    assert steps == [[], [("", "退款五天到账。[1]")], [], [("", "营业时间九点。")]]


def test_a_text_that_starts_with_a_bracket_is_no_marker() -> None:
    assert released(["Hi. [see", " below]"]) == [[("", "Hi.")], [], [(" ", "[see below]")]]


def test_the_streamed_sentences_join_into_the_checked_reply() -> None:
    events = list(answerer(SUPPORTED).stream_from("refund?", answerer(SUPPORTED).retrieve("?")))
    *pieces, reply = events
    assert isinstance(reply, GroundedReply) and reply.handoff_reason is None
    assert pieces == [
        "Refunds reach your card within five working days [1].",
        " We open at nine [2].",
    ]
    assert "".join(pieces) == reply.text


def test_an_unsupported_sentence_stops_the_writing_and_is_never_given() -> None:
    written = "Refunds take five days [1]. Purple elephants deliver parcels. " + "More. " * 50
    grounded = answerer(written)
    *pieces, reply = grounded.stream_from("refund?", grounded.retrieve("refund?"))
    assert pieces == ["Refunds take five days [1]."]
    assert isinstance(reply, GroundedReply) and reply.handoff_reason == UNSUPPORTED
    assert [s.text for s in reply.sentences][-1] == "Purple elephants deliver parcels."
    assert grounded.generator.written < len(written) / 2


@pytest.mark.parametrize("marker", ["[9]", "[1, 9]"])
def test_unknown_markers_are_dropped_from_the_streamed_sentence(marker: str) -> None:
    grounded = answerer(f"Refunds reach your card within five working days {marker}.")
    *pieces, reply = grounded.stream_from("refund?", grounded.retrieve("refund?"))
    assert isinstance(reply, GroundedReply)
    assert pieces == [reply.text] and "9" not in reply.text


def test_closing_the_stream_stops_the_generation() -> None:
    grounded = answerer("Refunds take five days [1]. " * 40)
    events = grounded.stream_from("refund?", grounded.retrieve("refund?"))
    assert next(events) == "Refunds take five days [1]."
    events.close()
    assert grounded.generator.written < 60
