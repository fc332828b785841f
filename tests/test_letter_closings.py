"""Every letter that greets its reader closes by the one rule: greeted by name ("Dear Mrs Patel"), "Yours
sincerely"; greeted by post or as "Sir or Madam" ("Dear Chair of Governors"), "Yours faithfully"."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from concerns.domain.letterparties import LetterParty, LetterSchool, closing
from concerns.domain.letterspecs import LETTER_KINDS
from concerns.output.letters import render_letter
from tests.test_letters import ON, agenda_details, authority, statement_details, warning_notice_details  # noqa: F401

DETAILS = {
    "categorisation": {"academic_year": "2026/27", "scheme": "low, medium or high risk", "category": "Medium risk",
                       "basis": ["Outcomes at key stage 2"], "support": "Termly visits from your link adviser.",
                       "causing_concern": False},
    "confirmation_of_concern": {"discussed_on": date(2026, 11, 18), "concerns": ["Reading at key stage 2"],
                                "next_steps": ["A plan for reading"], "review_cadence": "each half term"},
    "ieb_notice": {"grounds": ["The governing body did not comply with the warning notice"],
                   "consent_on": date(2026, 11, 20), "takes_effect_on": date(2026, 12, 1),
                   "members": ["Ruth Green"], "consulted": ["The governing body"]},
    "intervention_notice": {"given_on": date(2026, 9, 1), "compliance_end": date(2026, 10, 1),
                            "not_complied": ["The plan was not submitted"], "powers": ["s64"],
                            "powers_from": date(2026, 12, 9)},
    "rd_referral": {"concerns": ["Reading"], "evidence": ["Results"], "steps_taken": ["A meeting with the trust"],
                    "asks": ["Review the trust's support"]},
    "removal_from_concern": {"decided_on": date(2026, 11, 18), "improvements": ["Reading is now good"],
                             "exit_strategy": ["Termly visits"], "monitoring": "Your link adviser visits."},
    "tpc_warning_notice": {"provisions": ["The pay policy"], "matters": ["Pay was not awarded"],
                           "actions_required": ["Award the pay"], "compliance_end": date(2027, 1, 13),
                           "minded_to": ["s64"]},
    "warning_letter": {"concerns": ["Reading"], "actions": ["A plan for reading"], "complete_by": date(2027, 1, 13)},
    "warning_notice": warning_notice_details(),
    "statement_of_action": statement_details(),
    "soc_meeting_agenda": agenda_details(),
}

NAMED = (LetterParty("Mrs Jane Wilson", "Headteacher", "head@brook.sch.uk"),
         LetterParty("Mr Andrew Patel", "Chair of Governors", "chair@brook.sch.uk"))
BY_POST = (LetterParty("Headteacher of Brook Lane Primary School", "Headteacher", "head@brook.sch.uk"),
           LetterParty("Chair of Governors of Brook Lane Primary School", "Chair of Governors", "chair@brook.sch.uk"))


def _school(kind: str, people: tuple[LetterParty, LetterParty]) -> LetterSchool:
    head, chair = people
    academy = LETTER_KINDS[kind].academy_only
    return LetterSchool("145678", "Brook Lane Primary School", "Midshire",
                        "Academy converter" if academy else "Community school", not academy,
                        headteacher=head, chair=chair, address="Brook Road, Ripley, DE5 3XY",
                        trust="Peak Learning Trust" if academy else None,
                        trust_contact=replace(head, name="Dr Sam Osei", role="Chief Executive") if academy
                        and people is NAMED else None)


def test_every_letter_kind_has_details_here():
    assert set(DETAILS) == set(LETTER_KINDS)


@pytest.mark.parametrize("people", [NAMED, BY_POST], ids=["named", "by-post"])
@pytest.mark.parametrize("kind", sorted(LETTER_KINDS))
def test_a_letter_greeted_by_name_closes_sincerely_and_by_post_faithfully(kind, people, authority):  # noqa: F811
    letter = render_letter(kind, school=_school(kind, people), authority=authority, on=ON, reference="R",
                           **DETAILS[kind])
    greeting = re.search(r"^Dear (.+),$", letter.text, re.M)
    closings = re.findall(r"^Yours (sincerely|faithfully),$", letter.text, re.M)
    if greeting is None:
        assert closings == [], kind  # an agenda or a statement greets nobody and closes with no "Yours"
        return
    greeted = re.split(r", | and ", greeting.group(1))
    by_name = all(who in {"Mrs Wilson", "Mr Patel", "Dr Osei"} for who in greeted)
    assert not (by_name and people is BY_POST), kind
    assert closings == (["sincerely"] if by_name else ["faithfully"]), (kind, greeting.group(1))
    # Nobody recorded by post is greeted "Headteacher of ...".
    assert " of Brook Lane" not in greeting.group(1), kind


def test_the_closing_rule():
    assert closing(True) == "Yours sincerely"
    assert closing(False) == "Yours faithfully"



@pytest.mark.parametrize(("name", "greeting", "closes"), [
    ("Mrs Jane Wilson", "Mrs Wilson", "Yours sincerely"),
    ("Priya Shah", "Priya Shah", "Yours sincerely"),
    ("Headteacher of Brook Lane Primary School", "Headteacher", "Yours faithfully"),
    ("The Governing Body of Brook Lane Primary School", "Governing Body", "Yours faithfully"),
])
def test_a_cover_mail_greets_and_closes_by_the_same_rule(name, greeting, closes):
    from concerns.notify.directory import Recipient
    from concerns.notify.outbox import render_pair

    recipient = Recipient(name, "someone@brook.sch.uk", "headteacher", True)
    text, html = render_pair("letter", recipient=recipient, title="Warning notice", school="Brook Lane Primary School",
                             urn="145678", on=ON, copy=False, authority="Demoshire", subject="Warning notice")
    assert text.startswith(f"Dear {greeting},\n") and f"\n{closes},\n" in text, text
    assert f"<p>Dear {greeting},</p>" in html and f"{closes},</p>" in html
