"""Identifiers glued to Chinese text are masked whole; look-alike numbers are kept."""

from __future__ import annotations

import pytest

from bizlm.pii import card_valid, find_pii, mask


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13912345678", "电话[PHONE]"),
        ("身份证号11010519491231002X", "身份证号[CN_ID]"),
        ("请发到a@b.com谢谢", "请发到[EMAIL]谢谢"),
        ("卡号4111111111111111谢谢", "卡号[CARD]谢谢"),
        ("账户GB82WEST12345698765432已付", "账户[IBAN]已付"),
        ("地址192.168.1.20登录", "地址[IP]登录"),
        ("登录IP192.168.1.20", "登录IP[IP]"),
        ("电话13912345678和13812345678", "电话[PHONE]和[PHONE]"),
    ],
)
def test_identifiers_glued_to_chinese_characters_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    ["call +86 138 1234 5678 now", "call 138 1234 5678 now", "call 138-1234-5678 now"],
)
def test_chinese_mobiles_with_country_code_spaces_or_dashes_are_one_phone(text: str) -> None:
    assert mask(text) == "call [PHONE] now"


def test_a_number_joined_to_more_digits_is_not_partly_masked() -> None:
    assert mask("ref 4592-13812345678 ok") == "ref 4592-13812345678 ok"
    assert mask("ref 4592-555-123-4567 ok") == "ref 4592-555-123-4567 ok"
    assert mask("流水号20240115139123456789012") == "流水号20240115139123456789012"
    assert mask("Tel13912345678") == "Tel13912345678"


@pytest.mark.parametrize(
    "text",
    [
        "ISBN 978-3-16-148410-0",
        "ISBN9787115428028",
        "ISBN 9787563416851",  # Luhn-valid as well
        "ISBN: 4111111111111111",
        "order 2024011512345005",  # Luhn-valid, no issuer starts with 2024
        "订单号 2024011512345005",
        "version 2.4.1.10",
        "v2.4.1.10",
        "ver 10.0.0.1",
        "版本 2.4.1.10",
        "版本号：2.4.1.10",
        "时间2024-01-04 17:30:45",
    ],
)
def test_isbns_order_numbers_and_versions_are_kept(text: str) -> None:
    assert find_pii(text) == [], find_pii(text)


def test_a_card_needs_an_issuer_prefix_and_its_length() -> None:
    assert card_valid("4111 1111 1111 1111") and card_valid("2221000000000009")
    assert not card_valid("9111111111111110")  # Luhn-valid, no issuer uses 9
    assert not card_valid("41111111111114")  # Visa prefix, 14 digits is not a Visa length
    assert not card_valid("4111111111111112")  # Luhn fails
