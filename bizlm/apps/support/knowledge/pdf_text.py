"""The text of a PDF, one section per page (PDFs carry no headings that survive extraction)."""

from __future__ import annotations

import io

from pypdf import PasswordType, PdfReader

from bizlm.apps.support.knowledge.errors import UnreadableDocument
from bizlm.apps.support.knowledge.sections import Section, stripped_section


def pdf_sections(data: bytes) -> list[Section]:
    """One section per page with text, numbered from 1.

    An encrypted PDF that opens without a password is read; one that needs a password, or
    whose pages hold no extractable text (scanned images), raises :class:`UnreadableDocument`.
    """
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise UnreadableDocument(
            "encrypted PDF that needs a password; save an unencrypted copy in docs/"
        )
    sections = []
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        section = stripped_section((), text, 0, len(text), page=number)
        if section.text:
            sections.append(section)
    if not sections:
        raise UnreadableDocument(
            "PDF without extractable text (scanned pages?); add a text version or run OCR first"
        )
    return sections
