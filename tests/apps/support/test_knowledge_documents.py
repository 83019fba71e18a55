"""Knowledge base documents: each format read into sections, split by length with overlap,
duplicates merged; unreadable files skipped with a reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from bizlm.apps.support.knowledge.documents import read_document
from bizlm.apps.support.knowledge.errors import KnowledgeBaseError, UnreadableDocument
from bizlm.apps.support.knowledge.passages import (
    check_split,
    deduplicate,
    split_document,
    windows,
)
from bizlm.apps.support.knowledge.sections import Section

MARKDOWN = """Welcome text before any heading.

# Billing

How invoices work.

## Refunds

Refunds take five days.

```
# not a heading inside code
```

# Shipping

Parcels leave daily.
"""

HTML = """<html><head><title>Hidden title</title><style>p {color: red}</style></head>
<body><h1>Account</h1><p>Log in with   your
email.</p><script>var hidden = 1;</script>
<h2>Password</h2><p>Reset it from the login page.</p><p>Second &amp; last paragraph.</p>
</body></html>"""


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF whose pages each show one line of text in Helvetica."""
    count = len(pages)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids ["
        + " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
        + f"] /Count {count} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n{content}\nendobj\n".encode("latin-1")
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return body + trailer.encode()


def encrypted(pdf: bytes) -> bytes:
    """The PDF encrypted with a user password."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def skip_reason(name: str, data: bytes) -> str:
    """The reason reading ``data`` as file ``name`` is refused."""
    with pytest.raises(UnreadableDocument) as caught:
        read_document(Path(name), data)
    return caught.value.reason


def test_markdown_sections_follow_the_heading_path() -> None:
    sections = read_document(Path("guide.md"), MARKDOWN.encode())
    assert [(s.heading, s.text.splitlines()[0]) for s in sections] == [
        ((), "Welcome text before any heading."),
        (("Billing",), "How invoices work."),
        (("Billing", "Refunds"), "Refunds take five days."),
        (("Shipping",), "Parcels leave daily."),
    ]
    assert "# not a heading inside code" in sections[2].text
    for section in sections:
        assert MARKDOWN[section.start : section.start + len(section.text)] == section.text


def test_html_keeps_visible_text_under_its_headings() -> None:
    sections = read_document(Path("help.HTML"), HTML.encode())
    assert [s.heading for s in sections] == [("Account",), ("Account", "Password")]
    assert sections[0].text == "Log in with your email."
    assert sections[1].text == "Reset it from the login page.\nSecond & last paragraph."
    joined = " ".join(s.text for s in sections)
    assert "Hidden title" not in joined and "var hidden" not in joined and "color" not in joined


def test_plain_text_is_one_section() -> None:
    data = "\ufeff\n  Opening hours are nine to five.\n".encode()
    # offsets count characters of the text without its byte-order mark
    assert read_document(Path("notes.txt"), data) == [
        Section((), "Opening hours are nine to five.", 3)
    ]


def test_pdf_pages_are_sections() -> None:
    sections = read_document(Path("manual.pdf"), make_pdf(["Warranty lasts two years", "Spare"]))
    assert [(s.page, s.text) for s in sections] == [
        (1, "Warranty lasts two years"),
        (2, "Spare"),
    ]


def test_unreadable_files_are_refused_with_a_reason() -> None:
    assert "needs a password" in skip_reason("locked.pdf", encrypted(make_pdf(["Secret"])))
    assert skip_reason("broken.pdf", b"%PDF-1.4 this is not a PDF").startswith(
        "could not be parsed"
    )
    assert "without extractable text" in skip_reason("scan.pdf", make_pdf([""]))
    assert skip_reason("sheet.xlsx", b"PK\x03\x04") == "unsupported type"
    assert "not UTF-8" in skip_reason("latin.txt", "Café".encode("latin-1"))
    assert skip_reason("blank.md", b"  \n\n") == "holds no text"


def test_passages_split_by_length_with_overlap() -> None:
    text = " ".join(f"w{i}" for i in range(10))
    passages = split_document("a.txt", [Section(("Intro",), text, 100)], max_words=4, overlap=1)
    assert [p.text for p in passages] == ["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"]
    assert all(p.heading == "Intro" and p.file == "a.txt" for p in passages)
    assert (passages[1].start, passages[1].end) == (100 + text.index("w3"), 100 + text.index(" w7"))
    assert len({p.id for p in passages}) == 3
    again = split_document("a.txt", [Section(("Intro",), text, 100)], max_words=4, overlap=1)
    assert [p.id for p in again] == [p.id for p in passages]


def test_chinese_counts_characters() -> None:
    assert list(windows("退款需要五天", 4, 2)) == [(0, 4), (2, 6)]
    mixed = "退款 refund policy 五天"
    assert [mixed[a:b] for a, b in windows(mixed, 3, 0)] == ["退款 refund", "policy 五天"]


def test_markdown_passages_keep_heading_paths() -> None:
    sections = read_document(Path("guide.md"), MARKDOWN.encode())
    passages = split_document("guide.md", sections, max_words=80, overlap=10)
    assert [p.heading for p in passages] == ["", "Billing", "Billing > Refunds", "Shipping"]
    refunds = passages[2]
    assert MARKDOWN[refunds.start : refunds.end] == refunds.text
    assert refunds.search_text.startswith("Billing > Refunds\nRefunds take five days.")


def test_duplicates_are_kept_once_with_their_other_places() -> None:
    first = split_document("a.md", [Section(("FAQ",), "Call us  at noon.", 0)], 80, 10)
    second = split_document("b.md", [Section(("Help",), "Call us at noon.", 7)], 80, 10)
    other = split_document("b.md", [Section((), "Something else.", 40)], 80, 10)
    kept, positions = deduplicate([*first, *second, *other])
    assert [p.file for p in kept] == ["a.md", "b.md"] and positions == [0, 2]
    assert [(loc.file, loc.heading, loc.start) for loc in kept[0].also_at] == [("b.md", "Help", 7)]


def test_bad_passage_lengths_are_refused() -> None:
    with pytest.raises(KnowledgeBaseError, match="must be at least 1"):
        check_split(0, 0)
    with pytest.raises(KnowledgeBaseError, match=r"overlap is 8 words.*below the passage length"):
        check_split(8, 8)
