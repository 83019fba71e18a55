"""PII masking: each kind is found when real and left alone when it only looks real."""

from __future__ import annotations

import logging

import pytest

from bizlm.pii import PiiLogFilter, cn_id_valid, find_pii, iban_valid, luhn_valid, mask


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to jo.smith+news@example.co.uk today", "email"),
        ("call +44 20 7946 0958 now", "phone"),
        ("call (555) 123-4567 now", "phone"),
        ("call 555.123.4567 now", "phone"),
        ("call 13800138000 now", "phone"),
        ("call 010-12345678 now", "phone"),
        ("card 4111 1111 1111 1111 expires", "card"),
        ("card 5500-0000-0000-0004 expires", "card"),
        ("card 378282246310005 expires", "card"),
        ("id 11010519491231002X here", "cn_id"),
        ("id 110101199003074477 here", "cn_id"),
        ("iban GB82 WEST 1234 5698 7654 32 paid", "iban"),
        ("iban DE89370400440532013000 paid", "iban"),
        ("from 192.168.1.20 at noon", "ip"),
        ("from 2001:db8::8a2e:370:7334 at noon", "ip"),
        ("from fe80::1%eth0 at noon", "ip"),
        ("from ::ffff:192.0.2.1 at noon", "ip"),
    ],
)
def test_true_positives_are_masked(text: str, kind: str) -> None:
    found = find_pii(text)
    assert [m.kind for m in found] == [kind], found
    masked = mask(text)
    assert found[0].value not in masked
    assert f"[{kind.upper()}]" in masked


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 fails Luhn",  # 16 digits, bad check digit
        "number 4111111111111112 fails Luhn",
        "id 110105194912310021 has a wrong checksum",
        "id 110105194913310028 has month 13",
        "iban GB83WEST12345698765432 fails mod 97",
        "ip 999.1.1.1 is not an address",
        "version 1.2.3 and 1.2.3.4.5 are not addresses",
        "at 12:30:45 the plane left",
        "on 2024-01-15 order 123456 cost 1,234.56",
        "flight UA 1234 seat 12C gate 7",
        "not an email: jo@localhost or @united",
        "room 12, 3 bags, 45 minutes late",
    ],
)
def test_true_negatives_are_kept(text: str) -> None:
    assert find_pii(text) == []
    assert mask(text) == text


def test_several_kinds_in_one_text_are_masked_in_place() -> None:
    text = "Mail a@b.io, call +1 415 555 0100, card 4111111111111111, from 10.0.0.1."
    assert mask(text) == "Mail [EMAIL], call [PHONE], card [CARD], from [IP]."


def test_only_the_chosen_kinds_are_masked() -> None:
    assert mask("a@b.io from 10.0.0.1", kinds=["ip"]) == "a@b.io from [IP]"
    with pytest.raises(ValueError, match="Unknown PII kinds"):
        mask("x", kinds=["ssn"])


def test_checksums() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert cn_id_valid("11010519491231002X") and cn_id_valid("11010519491231002x")
    assert not cn_id_valid("11010519491231002")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82")


def test_log_filter_masks_message_and_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("bizlm.test.pii")
    handler_filter = PiiLogFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="bizlm.test.pii"):
            logger.info("from %s: %s (%d)", "10.1.2.3:5050", "mail me at a@b.io", 3)
            logger.info("GET %s", "/v1/x?mail=a%40b.io&q=50%25")
            logger.info("GET %s", "/v1/x?q=50%25")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert caplog.messages == [
        "from [IP]:5050: mail me at [EMAIL] (3)",
        "GET /v1/x?mail=[EMAIL]&q=50%",
        "GET /v1/x?q=50%25",
    ]


class _FixedEntities:
    """A tagger stand-in: the first word of every text is a person."""

    def predict(self, texts: list[str]) -> list[dict]:
        return [{"entities": [{"type": "PER", "start": 0, "end": t.find(" ")}]} for t in texts]


def test_the_server_masks_names_in_audit_texts_with_the_installed_tagger(
    make_client, tiny_bundles, tmp_path
) -> None:
    import json

    from bizlm.pii import NameMasker, use_name_masker

    audit = tmp_path / "audit.jsonl"
    use_name_masker(NameMasker(_FixedEntities()))
    try:
        client = make_client(
            bundles=(tiny_bundles[0],), auth=False, audit_path=audit, audit_texts=True
        )
        client.post("/v1/models/tiny-1/predict", json={"text": "Zhang 电话13912345678"})
        client.__exit__(None, None, None)
    finally:
        use_name_masker(None)
    (event,) = [json.loads(line) for line in audit.read_text().splitlines()]
    assert event["texts"] == ["[NAME] 电话[PHONE]"]
