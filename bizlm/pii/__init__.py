"""Find and mask personal data in text: e-mail, phone, bank card, Chinese ID, IBAN, IP address,
and optionally names and addresses.

Usable on its own::

    from bizlm.pii import mask
    mask("Call +44 20 7946 0958 or mail jo@example.com")
    # 'Call [PHONE] or mail [EMAIL]'
    mask("电话13912345678，邮箱a@b.com")
    # '电话[PHONE]，邮箱[EMAIL]'

Numbers that only look like personal data are left alone: a card number needs an issuer's
prefix and length and must pass the Luhn check, a Chinese resident ID its ISO 7064 MOD 11-2
checksum and birth date, an IBAN the mod-97 check, an IP address must parse and not follow
"version", a phone number must be valid for its region (libphonenumber). Names and addresses
need a named-entity tagger: ``mask(text, names=NameMasker.load(bundle))``.
"""

from bizlm.pii.checks import card_valid, cn_id_valid, iban_valid, luhn_valid
from bizlm.pii.core import (
    KINDS,
    NAME_KINDS,
    PiiMatch,
    find_pii,
    mask,
    mask_structured,
    use_name_masker,
)
from bizlm.pii.logs import PiiLogFilter
from bizlm.pii.names import NameMasker

__all__ = [
    "KINDS",
    "NAME_KINDS",
    "NameMasker",
    "PiiLogFilter",
    "PiiMatch",
    "card_valid",
    "cn_id_valid",
    "find_pii",
    "iban_valid",
    "luhn_valid",
    "mask",
    "mask_structured",
    "use_name_masker",
]
