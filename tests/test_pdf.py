"""Letters as PDF: what WeasyPrint makes of a letter, and the digest's one line per meeting."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import pytest

from concerns.notify.outbox import _one_line_per_meeting
from concerns.notify.reminders import Item
from concerns.output.mail.pdf import html_to_pdf

pdfium = pytest.importorskip("pypdfium2")

SIGNATURE = """<p>Yours sincerely,</p>
<div class="signature"><div class="space"></div><div class="name">Dr Helen Price</div>
<div>Director of children's services</div><div>Demoshire Council</div></div>"""


def pages(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


def letter(paragraphs: int) -> str:
    body = "".join(f"<p>Paragraph {n}: the governing body has not met the actions agreed at the last review "
                   f"meeting, and the budget remains unapproved.</p>" for n in range(paragraphs))
    return (f"<!DOCTYPE html><html><head><style>body {{ width: 170mm; margin: 10mm auto; padding: 15mm; }}"
            f".signature .space {{ height: 16mm; }}</style></head><body>{body}{SIGNATURE}</body></html>")


@pytest.mark.parametrize("paragraphs", range(24, 40))
def test_the_signature_block_is_never_split_from_yours_sincerely(paragraphs):
    # Letters of every length around a page break: wherever the break falls, "Yours sincerely", the
    # space to sign, the name and the role are on one page, and each page says which of how many it is.
    text = pages(html_to_pdf(letter(paragraphs)))
    [closing] = [i for i, page in enumerate(text) if "Yours sincerely" in page]
    assert "Dr Helen Price" in text[closing] and "Demoshire Council" in text[closing]
    assert all(f"Page {i + 1} of {len(text)}" in page for i, page in enumerate(text))


def test_a4_and_the_same_bytes_for_the_same_letter():
    pdf = html_to_pdf(letter(3))
    width, height = pdfium.PdfDocument(pdf)[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert html_to_pdf(letter(3)) == pdf


def test_nothing_is_fetched_while_rendering(tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text("body { display: none }")
    html = (f'<html><head><link rel="stylesheet" href="file://{secret}"></head>'
            f'<body><p>Still here</p><img src="http://127.0.0.1:9/x.png"></body></html>')
    assert "Still here" in pages(html_to_pdf(html))[0]


def test_a_letter_is_attached_as_pdf_and_as_drafted(tmp_path):
    from models import Letter

    content = letter(3).encode("utf-8")
    path = tmp_path / "2026-10-20-990402-warning-notice.html"
    path.write_bytes(content)
    import hashlib

    from concerns.notify.delivery import _specs
    from concerns.notify.letterdata import letter_attachment

    row = Letter(key="k", urn="990402", kind="warning_notice", title="Warning notice", on=date(2026, 10, 20),
                 path=str(path), sha256=hashlib.sha256(content).hexdigest(), addressees=[], copies=[])
    pdf, html = list(_specs([letter_attachment(row)]))
    assert (pdf["filename"], pdf["mimetype"]) == ("2026-10-20-990402-warning-notice.pdf", "application/pdf")
    assert base64.b64decode(pdf["content_b64"]).startswith(b"%PDF-")
    assert (html["filename"], base64.b64decode(html["content_b64"])) == (Path(path).name, content)
    path.write_bytes(content + b"<!-- edited -->")
    with pytest.raises(ValueError, match="changed since it was drafted"):
        letter_attachment(row)


def item(kind: str, due: date, note: str = "", urn: str = "990101") -> Item:
    return Item(step="before-10wd", deadline_id=hash((kind, due, urn)), kind=kind, due=due, urn=urn,
                school="Brook Lane Primary School", la="Demoshire", pathway="requires_improvement",
                responsible="senior_adviser", note=note, source="", working_days_left=5)


def test_a_meeting_and_its_judgement_are_one_line():
    day, other = date(2027, 2, 24), date(2027, 3, 3)
    lines = _one_line_per_meeting([
        item("progress_judgement", day, "formal judgement of progress at the Progress review meeting"),
        item("progress_meeting", day, "Progress review meeting scheduled for 2027-02-24"),
        item("progress_meeting", other, "Progress review meeting scheduled for 2027-03-03", urn="990102"),
        item("statement_of_action", day),
    ])
    assert [(line["urn"], line["kind"], line["due"]) for line in lines] == [
        ("990101", "statement_of_action", day), ("990101", "progress_meeting", day),
        ("990102", "progress_meeting", other)]
    assert lines[1]["note"] == ("Progress review meeting scheduled for 24 February 2027; "
                                "the meeting makes the formal judgement of progress")
    assert lines[2]["note"] == "Progress review meeting scheduled for 2027-03-03"
