"""FAQ retrieval: word segmentation (jieba for Chinese), rank fusion, the three rankers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bizlm.apps.support.faq_files import FaqEntry
from bizlm.apps.support.retrieval import FaqIndex, SentenceEncoder, rrf_scores, words

ENTRIES = [
    FaqEntry("bag", "bag gate ticket", "Bags go to gate 4."),
    FaqEntry("crew", "crew friendly nice", "Our crew thanks you."),
    FaqEntry("seat", "seat plane today", "Seats open at 9."),
    FaqEntry("late", "slow plane late", "Delays are announced."),
]


@pytest.fixture(scope="module")
def encoder(tiny_model_dir: Path) -> SentenceEncoder:
    return SentenceEncoder(str(tiny_model_dir), max_length=32)


def test_words_segment_chinese_and_lowercase_latin() -> None:
    assert words("Where is MY bag?") == ["where", "is", "my", "bag"]
    tokens = words("我的行李在哪里 gate 4")
    assert "行李" in tokens and tokens[-2:] == ["gate", "4"]
    assert "".join(t for t in tokens if not t.isascii()) == "我的行李在哪里"


def test_rrf_rewards_agreement() -> None:
    first = np.array([0, 1, 2])
    second = np.array([1, 0, 2])
    fused = rrf_scores([first, second], k=60)
    assert fused[0] == fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2] == pytest.approx(2 / 63)
    fused = rrf_scores([np.array([2, 0, 1]), np.array([2, 1, 0])], k=1)
    assert int(np.argmax(fused)) == 2


def test_search_modes(encoder: SentenceEncoder) -> None:
    index = FaqIndex.build(ENTRIES, encoder, k=60)
    by_bm25 = index.search("ticket gate", top_k=4, mode="bm25")
    assert by_bm25[0].entry.id == "bag" and len(by_bm25) == 4
    by_vector = index.search("bag gate ticket", top_k=2, mode="embedding")
    assert by_vector[0].entry.id == "bag"
    assert by_vector[0].similarity == pytest.approx(1.0, abs=1e-4)
    hybrid = index.search("bag gate ticket", top_k=3)
    assert hybrid[0].entry.id == "bag"
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)


def test_saved_index_is_reused_until_the_faq_changes(
    encoder: SentenceEncoder, tmp_path: Path
) -> None:
    FaqIndex.build(ENTRIES, encoder, k=60).save(tmp_path)
    marked = np.load(tmp_path / "faq_vectors.npy") * 0 + 0.5
    np.save(tmp_path / "faq_vectors.npy", marked)
    assert np.allclose(FaqIndex.load(tmp_path, ENTRIES, encoder, 60).vectors, 0.5)
    changed = [*ENTRIES[:3], FaqEntry("late", "slow plane late", "Delays are on screens.")]
    assert not np.allclose(FaqIndex.load(tmp_path, changed, encoder, 60).vectors, 0.5)


def test_chinese_faq_is_found_by_bm25(encoder: SentenceEncoder) -> None:
    entries = [
        FaqEntry("luggage", "我的行李丢了怎么办", "请到服务台登记。"),
        FaqEntry("refund", "机票怎么退款", "在订单页面申请退款。"),
        FaqEntry("hours", "客服几点上班", "每天八点到二十点。"),
    ]
    index = FaqIndex.build(entries, encoder, k=60)
    assert index.search("行李丢了", top_k=1, mode="bm25")[0].entry.id == "luggage"
    assert index.search("我想退款", top_k=1, mode="bm25")[0].entry.id == "refund"
