"""Everything the demo sends is read by people: no internal key, code, rule id or command in it.

The demo authority is run through its term (the same jobs the flows run, without Prefect) with mail
written to .eml files; every message is then read as its recipient would: the subject, the text and
HTML bodies, the calendar invitation, and the termly report (its PDF's text and its plain copy).
"""

from __future__ import annotations

import email
import html
import re
from email import policy
from pathlib import Path

import pytest

from concerns.app.demo import load_demo
from concerns.app.demo_term import run_demo_term
from concerns.domain.pathways import PATHWAYS
from concerns.domain.rules import RULES
from concerns.domain.terms import TERM_NAMES
from concerns.store.db import session_scope, upgrade

# What only the people who wrote the code would say. Each pattern names what it catches.
INTERNAL = {
    "a snake_case key": re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", re.IGNORECASE),
    "the product's own name": re.compile(r"\b[Ss]ent by concerns\b|\bconcerns (?:default|event|run|letter|outbox|web|"
                                         r"init|for [A-Z])"),
    "a command or code span": re.compile(r"`|--on\b|\bURN EVENT\b"),
    # Any markdown file, and a capitalised document name cited by section ("NAME §4", "NAME.md §6").
    "a design document": re.compile(r"\b[\w-]+\.md\b|\b[A-Z]{4,}(?:-[A-Z]+)*(?:\.md)?,? §"),
    "a pathway key read aloud": re.compile(r"\bla concern\b|\baoc\b|\bswk\b", re.IGNORECASE),
    "the product's confidence notes": re.compile(r"\bunconfirmed\b|\bconfidence\b", re.IGNORECASE),
    "a reminder step key": re.compile(r"\bbefore-\d+wd\b"),
    "an ISO date in prose": re.compile(r"\b20\d\d-\d\d-\d\d\b"),
    "an abbreviated statute": re.compile(r"\bEIA 2006\b|\bEA 2005\b"),
}
RULE_IDS = sorted({rule.id for rule in RULES if "/" in rule.id})

TAG = re.compile(r"<[^>]+>")
STYLE = re.compile(r"<(style|title)\b.*?</\1>", re.DOTALL | re.IGNORECASE)


def visible_text(markup: str) -> str:
    """What a person sees in an HTML part: the text, not the tags or their attributes."""
    return html.unescape(TAG.sub(" ", STYLE.sub(" ", markup)))


def findings(where: str, text: str) -> list[str]:
    found = []
    for what, pattern in INTERNAL.items():
        for match in pattern.finditer(text):
            found.append(f"{where}: {what}: {match.group(0)!r} in ...{text[max(0, match.start() - 50):match.end() + 50]!r}")
    found += [f"{where}: a rule id {rule_id!r}" for rule_id in RULE_IDS if rule_id in text]
    return found


def pdf_text(content: bytes) -> str:
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(content)
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory):
    """The demo's term on a SQLite file (the words do not depend on the database), mail as .eml files."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        for name, sub in (("CONCERNS_OUTBOX", "outbox"), ("CONCERNS_LETTERS", "letters"),
                          ("CONCERNS_REPORTS", "reports")):
            mp.setenv(name, str(folder / sub))
        mp.setenv("CONCERNS_MAIL_FROM", "concerns@demoshire.example")
        mp.delenv("CONCERNS_SMTP_URL", raising=False)
        mp.delenv("CONCERNS_SMTP_BLOCK", raising=False)
        mp.delenv("CONCERNS_WEB_URL", raising=False)
        url = f"sqlite:///{folder / 'concerns.db'}"
        upgrade(url)
        with session_scope(url) as session:
            load_demo(session)
        run_demo_term(url, use_prefect=False, echo=lambda line: None)
    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in sorted((folder / "outbox").glob("*.eml"))]
    return folder, messages


def test_the_demo_sends_every_kind_of_mail(demo_outputs):
    _, messages = demo_outputs
    kinds = {m["Subject"].split(":")[0] for m in messages}
    assert {"Termly report", "Progress review meeting", "Schools causing concern", "Escalated to you",
            "HMI monitoring expected in spring 2026/27 (4 January 2027 to 26 March 2027)"} & kinds
    assert any(m["Subject"].startswith("Escalated to you") for m in messages)
    assert any(m["Subject"].startswith("Termly report") for m in messages)
    assert any(m["Subject"].startswith("Progress review meeting") for m in messages)
    assert any(m["Subject"].startswith("HMI monitoring expected") for m in messages)
    assert any(part.get_content_type() == "application/pdf" for m in messages for part in m.iter_attachments())


def test_no_mail_the_demo_sends_carries_an_internal_word_or_code(demo_outputs):
    _, messages = demo_outputs
    problems: list[str] = []
    for msg in messages:
        subject = str(msg["Subject"])
        problems += findings(f"subject {subject!r}", subject)
        for part in msg.walk():
            if part.is_multipart():
                continue
            where = f"{subject!r} {part.get_content_type()}{' ' + part.get_filename() if part.get_filename() else ''}"
            if part.get_filename() and part.get_content_type() == "text/html":
                continue  # a letter as drafted: see the test below
            if part.get_content_type() == "text/plain":
                problems += findings(where, part.get_content())
            elif part.get_content_type() == "text/html":
                problems += findings(where, visible_text(part.get_content()))
            elif part.get_content_type() == "text/calendar":
                calendar = part.get_payload(decode=True).decode("utf-8")
                shown = "\n".join(line.split(":", 1)[1] for line in calendar.replace("\r\n ", "").splitlines()
                                  if line.startswith(("SUMMARY", "DESCRIPTION", "LOCATION")))
                problems += findings(where, shown)
            elif part.get_content_type() == "application/pdf" and subject.startswith("Termly report"):
                problems += findings(where, pdf_text(part.get_payload(decode=True)))
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_the_scan_catches_what_it_is_meant_to():
    # Each pattern finds the kind of thing the product used to send, so the scan above can fail.
    for bad in ("owner: senior_adviser", "Record it with `concerns event URN EVENT --on DATE`",
                "[concerns default: the common shape...]", "the local authority's la concern pathway",
                "(termly; exact intervals unconfirmed)", "before-10wd", "scheduled for 2027-02-24",
                "EA 2005 s15", "Sent by concerns for Demoshire", f"rule {RULE_IDS[0]}",
                "[after NOTES.md]", "after PLAYBOOK §4 and §6"):
        assert findings("sample", bad), bad
    for good in ("Education Act 2005, s15", "Progress review meeting: Brook Lane Primary School",
                 "School improvement service, Demoshire Council", "schools causing concern",
                 f"{TERM_NAMES[1]} 2026/27", "Wednesday 24 February 2027"):
        assert not findings("sample", good), good
    assert all("_" in key or key in ("closed",) for key in PATHWAYS)  # pathway keys are caught as snake_case


def test_the_termly_reports_kept_for_members_are_in_words(demo_outputs):
    folder, _ = demo_outputs
    reports = sorted((folder / "reports").glob("termly-*.md"))
    assert reports and all(p.with_suffix(".pdf").exists() for p in reports)
    problems = [f for p in reports for f in findings(p.name, p.read_text(encoding="utf-8"))]
    problems += [f for p in reports for f in findings(p.with_suffix(".pdf").name,
                                                        pdf_text(p.with_suffix(".pdf").read_bytes()))]
    assert not problems, "\n".join(problems[:40])


def test_no_letter_the_demo_sends_carries_an_internal_word_or_code(demo_outputs):
    _, messages = demo_outputs
    problems = []
    for msg in messages:
        for part in msg.iter_attachments():
            if part.get_content_type() == "text/html":
                problems += findings(part.get_filename(), visible_text(part.get_content()))
    assert not problems, "\n".join(problems[:40])


def letters_written(folder: Path) -> list[Path]:
    return sorted((folder / "letters").rglob("*.html"))


def test_every_letter_sent_travels_as_a_pdf_beside_its_html(demo_outputs):
    folder, messages = demo_outputs
    assert letters_written(folder)
    for msg in messages:
        attached = {part.get_filename(): part for part in msg.iter_attachments()}
        letters = [name for name in attached if name.endswith(".html")]
        for name in letters:
            pdf = attached.get(name[:-len(".html")] + ".pdf")
            assert pdf is not None, f"{msg['Subject']}: {name} has no PDF beside it"
            text = pdf_text(pdf.get_payload(decode=True))
            # The PDF carries the whole letter, to its closing ("Yours faithfully": the demo's heads and chairs
            # are recorded by post) or, for an agenda, its items.
            assert "Yours faithfully" in text or "Yours sincerely" in text or "Agenda" in text, name
