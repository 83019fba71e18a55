"""Text encodings: byte-order marks, which encodings decode a file, and characters to refuse."""

from __future__ import annotations

import codecs
import re
import unicodedata

#: byte-order marks and the codec that reads them (UTF-32 first: its LE mark starts like UTF-16's)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: encodings tried, in order, when a file does not decode with the one asked for
CANDIDATES = ("utf-8-sig", "gb18030", "big5", "shift_jis", "euc-kr", "cp1252")
#: characters no sensible text file holds: C0/C1 controls (except tab and line ends),
#: private-use characters and lone surrogates; decoding with the wrong codec produces them
_GARBLED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ud800-\udfff]")
_UTF8_NAMES = {"utf-8", "utf-8-sig"}


def bom_encoding(raw: bytes) -> str | None:
    """The codec a byte-order mark at the start of ``raw`` names, or None without one."""
    return next((name for bom, name in _BOMS if raw.startswith(bom)), None)


def effective_encoding(raw: bytes, encoding: str) -> str:
    """The codec to read ``raw`` with: a UTF-16/UTF-32 byte-order mark wins over UTF-8.

    Such a file can never be read as UTF-8, so following its mark only turns a certain error
    into the text the user meant. Any other encoding asked for is kept as it is.
    """
    bom = bom_encoding(raw)
    if bom is None or bom == "utf-8-sig":
        return encoding
    try:
        asked = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    return bom if asked in _UTF8_NAMES else encoding


def decoding_encodings(raw: bytes, exclude: str | None = None) -> list[str]:
    """The encodings, best guess first, that decode ``raw`` into clean text.

    A file with a byte-order mark gets only the codec the mark names. Otherwise each of
    :data:`CANDIDATES` is tried; clean means no error and no control or private-use
    characters in the result. Several legacy encodings often decode the same bytes, so the
    order matters: Chinese (GB18030, a superset of GBK) before Western European (cp1252).
    """
    skip = codecs.lookup(exclude).name if exclude and _known(exclude) else None
    bom = bom_encoding(raw)
    names = [bom] if bom else list(CANDIDATES)
    found = []
    for name in names:
        if codecs.lookup(name).name == skip:
            continue
        try:
            text = raw.decode(name)
        except UnicodeDecodeError:
            continue
        if not _GARBLED.search(text):
            found.append(name)
    return found


def encoding_hint(raw: bytes, encoding: str) -> str:
    """What to pass instead of ``encoding``: the first encoding that decodes ``raw`` cleanly."""
    found = decoding_encodings(raw, exclude=encoding)
    if not found:
        return (
            "No common encoding reads it cleanly: pass --encoding (in a recipe: data.encoding) "
            "with the file's real encoding, or re-save the file as UTF-8."
        )
    others = f" It also decodes as {', '.join(found[1:])}." if found[1:] else ""
    return (
        f"The file decodes cleanly as {found[0]}: pass --encoding {found[0]} "
        f"(in a recipe: data.encoding: {found[0]}), or re-save the file as UTF-8.{others}"
    )


def bad_character(text: str, *, controls: bool = True) -> str | None:
    """Describe the first character of ``text`` that no typed text holds, or None.

    Such characters are lone surrogates (the bytes of an argument that was not valid UTF-8,
    which Python keeps as surrogates) and, with ``controls``, control characters other than
    tab and line ends.
    """
    for position, char in enumerate(text, start=1):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            return f"byte 0x{code - 0xDC00:02x} that is not valid UTF-8 at character {position}"
        if 0xD800 <= code <= 0xDFFF:
            return f"a lone surrogate U+{code:04X} at character {position}"
        if controls and char not in "\t\n\r" and unicodedata.category(char) == "Cc":
            return f"control character U+{code:04X} at character {position}"
    return None


def printable(text: str) -> str:
    """``text`` safe to show in a message: control characters and bad bytes as escapes."""
    parts = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            parts.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF or unicodedata.category(char) == "Cc":
            parts.append(char.encode("unicode_escape").decode("ascii"))
        else:
            parts.append(char)
    return "".join(parts)


def _known(encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True
