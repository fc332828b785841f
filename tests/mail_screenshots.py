"""PNG screenshots of what the product sends, for the README: mails from headless Chromium, letters as
their PDF pages.

    .venv/bin/python -m tests.mail_screenshots docs/screenshots

Builds the demo authority in a temporary folder and runs its term (the jobs the flows run, without
Prefect), with mail written to .eml files, then draws:

- mail-digest.png: a link adviser's daily digest; mail-escalation.png: the assistant director's
  escalation; mail-invitation.png: a progress meeting invitation; mail-termly-report.png: the termly
  report (the mail's HTML body). Each is shown as a mail client shows it: sender, recipient, subject,
  date and attachments above the body.
- letter-*.png: three letters as the PDF that travels with the mail (each page side by side): the
  statutory warning notice, a categorisation letter and a confirmation of concern.
"""

from __future__ import annotations

import email
import html
import os
import re
import sys
import tempfile
from datetime import date
from email import policy
from pathlib import Path

CONFIRMATION = {
    "discussed_on": date(2026, 9, 15),
    "concerns": ["Pupils' progress in reading at Key Stage 1 has fallen for two years running.",
                 "The governing body has not challenged leaders on the published results."],
    "next_steps": [{"text": "Agree an improvement plan with the link adviser", "by": date(2026, 10, 16)},
                   "Governors to set up a standards committee meeting each half term"],
    "review_cadence": "each term",
    "first_review": date(2026, 11, 11),
}


def _run_demo(work: Path) -> str:
    os.environ.update(CONCERNS_LETTERS=str(work / "letters"), CONCERNS_OUTBOX=str(work / "outbox"),
                      CONCERNS_REPORTS=str(work / "reports"), CONCERNS_MAIL_FROM=
                      "Demoshire school improvement <school.improvement@demoshire.example>")
    for name in ("CONCERNS_SMTP_URL", "CONCERNS_SMTP_BLOCK", "CONCERNS_WEB_URL"):
        os.environ.pop(name, None)
    from concerns.app.demo import load_demo
    from concerns.app.demo_term import run_demo_term
    from concerns.jobs import run_send_notifications
    from concerns.notify.drafting import draft_letter
    from concerns.store.db import session_scope, upgrade

    db = f"sqlite:///{work / 'concerns.db'}"
    upgrade(db)
    with session_scope(db) as session:
        load_demo(session)
    run_demo_term(db, use_prefect=False, echo=lambda line: None)
    with session_scope(db) as session:
        draft_letter(session, "990104", "confirmation_of_concern", date(2026, 9, 16), CONFIRMATION, send=True)
    run_send_notifications(db)
    return db


def _messages(work: Path) -> list:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted((work / "outbox").glob("*.eml"))]


def _pick(messages, *, subject: str, to: str | None = None, most: str | None = None):
    """The message whose subject starts with `subject` (to `to`), the one with the most `most` in its body."""
    found = [m for m in messages if str(m["Subject"]).startswith(subject) and (to is None or to in str(m["To"]))]
    if not found:
        raise SystemExit(f"no mail with a subject starting {subject!r}{f' to {to}' if to else ''}")
    if most:
        found.sort(key=lambda m: -m.get_body(("html",)).get_content().count(most))
    return found[0]


def _as_a_mail_client_shows_it(msg) -> str:
    """The HTML part under a header block: From, To, Subject, Date and the attachments' names."""
    body = msg.get_body(("html",)).get_content()
    attachments = [part.get_filename() for part in msg.iter_attachments()]
    rows = [("From", msg["From"]), ("To", msg["To"]), ("Date", msg["Date"]), ("Subject", msg["Subject"])]
    if attachments:
        rows.append(("Attached", ", ".join(attachments)))
    header = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    chrome = ("<div style=\"font-family: Arial, sans-serif; font-size: 13px; background:#f3f3f3; "
              "border-bottom:1px solid #ccc; padding:10px 14px; margin:-8px -8px 14px;\">"
              "<table style=\"border-collapse:collapse;\">" + header.replace(
                  "<th>", "<th style=\"text-align:left; color:#555; padding:2px 12px 2px 0; font-weight:normal;\">")
              + "</table></div>")
    opening = re.search(r"<body[^>]*>", body)
    return body[:opening.end()] + chrome + body[opening.end():] if opening else chrome + body


def _pdf_pages_png(pdf: bytes, path: Path, scale: float = 1.1) -> None:
    """Every page of the PDF side by side on a grey ground, as a viewer shows it."""
    import pypdfium2 as pdfium
    from PIL import Image

    document = pdfium.PdfDocument(pdf)
    pages = [document[i].render(scale=scale).to_pil() for i in range(len(document))]
    gap = 24
    width = sum(p.width for p in pages) + gap * (len(pages) + 1)
    height = max(p.height for p in pages) + 2 * gap
    sheet = Image.new("RGB", (width, height), (200, 200, 200))
    x = gap
    for page in pages:
        sheet.paste(page, (x, gap))
        x += page.width + gap
    sheet.save(path, optimize=True)


def _letter_pdf(messages, stem_part: str) -> bytes:
    for msg in messages:
        for part in msg.iter_attachments():
            name = part.get_filename() or ""
            if name.endswith(".pdf") and stem_part in name:
                return part.get_payload(decode=True)
    raise SystemExit(f"no letter PDF named like {stem_part!r}")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mail-shots-"))
    _run_demo(work)
    messages = _messages(work)

    mails = {
        "mail-digest": _pick(messages, subject="Schools causing concern", to="priya.shah", most="<h3"),
        "mail-escalation": _pick(messages, subject="Escalated to you", to="alex.morgan"),
        "mail-invitation": _pick(messages, subject="Progress review meeting", to="priya.shah"),
        "mail-termly-report": _pick(messages, subject="Termly report: schools causing concern, spring"),
    }
    from playwright.sync_api import sync_playwright

    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--lang=en-GB"], headless=True)
        page = browser.new_page(viewport={"width": 900, "height": 700}, locale="en-GB")
        for name, msg in mails.items():
            page.set_content(_as_a_mail_client_shows_it(msg), wait_until="load")
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            print(out / f"{name}.png")
        browser.close()

    for name, stem_part in (("letter-warning-notice", "warning-notice"),
                            ("letter-categorisation", "990301-categorisation"),
                            ("letter-confirmation-of-concern", "confirmation-of-concern")):
        _pdf_pages_png(_letter_pdf(messages, stem_part), out / f"{name}.png")
        print(out / f"{name}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
