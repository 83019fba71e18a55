"""Entities without a tagger: cashtags, handles and capitalised names, not across sentences."""

from __future__ import annotations

from bizlm.apps.risk.entities import EntityFinder, pattern_entities


def test_patterns_find_cashtags_handles_and_names():
    text = "Shares of $aapl fell, @Apple said; Time Warner met the Bank of England in South Africa."
    assert pattern_entities(text) == [
        "$AAPL",
        "@Apple",
        "Time Warner",
        "Bank of England",
        "South Africa",
    ]
    assert pattern_entities("They met in South Africa. He left for New York") == [
        "South Africa",
        "New York",
    ]


class SpanTagger:
    def predict(self, texts: list[str]) -> list[dict]:
        return [{"entities": [{"text": w} for w in t.split() if w.istitle()] * 2} for t in texts]


def test_a_tagger_replaces_the_patterns_and_repeats_are_dropped():
    assert EntityFinder(SpanTagger()).find(["Acme sues Globex", "nobody"]) == [
        ["Acme", "Globex"],
        [],
    ]
