"""What people read: the product's keys and sources put into an officer's words.

Mail, reports and artifacts are read by officers, heads, chairs and members, not by the people who wrote
the code. Pathways, states, deadline kinds, events and roles are keys in the database; here each has
its words, and a key without an entry still reads as words (never with an underscore). Sources become
citations a lawyer recognises ("Education Act 2005, s15"); working notes about how sure the product is of
a rule stay out of what is sent.
"""

from __future__ import annotations

import re
from datetime import date

from concerns.domain.formatting import ukdate

PATHWAYS = {
    "requires_improvement": "requires improvement",
    "serious_weaknesses": "serious weaknesses",
    "special_measures": "special measures",
    "la_concern": "local authority concern",
    "academy_of_concern": "academy of concern",
}

STATES = {
    "start": "not yet on a pathway",
    "ri_improvement_planning": "improvement plan being drawn up",
    "ri_plan_agreed": "improvement plan agreed",
    "swk_statement_due": "statement of action due",
    "swk_monitoring": "monitoring the statement of action",
    "swk_academy_order": "academy order made",
    "sm_statement_due": "statement of action due",
    "sm_monitoring": "monitoring the statement of action",
    "sm_academy_order": "academy order made",
    "concern_raised": "concern raised",
    "concern_confirmed": "concern confirmed",
    "warning_letter_sent": "warning letter sent",
    "warning_notice_given": "warning notice given",
    "compliance_failed": "warning notice not complied with",
    "eligible_for_intervention": "eligible for intervention",
    "intervention": "intervention under way",
    "exit_monitoring": "monitoring after removal from concern",
    "tpc_notice_given": "teachers' pay and conditions warning notice given",
    "tpc_compliance_failed": "teachers' pay and conditions warning notice not complied with",
    "tpc_eligible_for_intervention": "eligible for intervention after a teachers' pay and conditions warning notice",
    "aoc_concern_raised": "concern raised with the trust",
    "aoc_category": "in an Ofsted category",
    "aoc_trust_met": "trust met",
    "aoc_action_plan_requested": "action plan requested from the trust",
    "aoc_monitoring": "monitoring the trust's action plan",
    "aoc_warning_letter_sent": "warning letter sent to the trust",
    "aoc_referred": "referred to the Regional Director",
    "closed": "closed",
}

KINDS = {
    "statement_of_action": "statement of action to Ofsted",
    "warning_notice_compliance": "end of the warning notice's compliance period",
    "tpc_warning_notice_compliance": "end of the teachers' pay and conditions warning notice's compliance period",
    "progress_meeting": "progress review meeting",
    "progress_judgement": "judgement of progress",
    "meeting_papers": "meeting papers",
    "meeting_minutes": "meeting minutes",
    "hmi_monitoring": "HMI monitoring visit",
    "reinspection": "next full inspection",
    "action_plan": "trust's action plan",
}

EVENTS = {
    "judged_requires_improvement": "judged to require improvement",
    "judged_serious_weaknesses": "judged to have serious weaknesses",
    "judged_special_measures": "judged to require special measures",
    "judged_good": "judged good",
    "raise_concern": "concern raised",
    "confirm_concern": "concern confirmed",
    "withdraw_concern": "concern withdrawn",
    "warning_letter": "warning letter sent",
    "warning_notice": "warning notice given",
    "sos_warning_notice": "warning notice given by the Secretary of State",
    "sos_permits_warning_notice": "Secretary of State informed the authority that it may give a warning notice",
    "tpc_warning_notice": "teachers' pay and conditions warning notice given",
    "compliance_met": "warning notice complied with",
    "compliance_failed": "warning notice not complied with",
    "notice_of_intervention": "notice of intended intervention given",
    "use_powers": "intervention powers used",
    "remove_concern": "removed from concern",
    "reopen_concern": "concern reopened",
    "end_monitoring": "monitoring ended",
    "close_concern": "concern closed",
    "close_school": "school closed",
    "convert_to_academy": "converted to an academy",
    "academy_order_made": "academy order made",
    "submit_statement_of_action": "statement of action submitted",
    "agree_improvement_plan": "improvement plan agreed",
    "meet_trust": "trust met",
    "request_action_plan": "action plan requested",
    "action_plan_received": "action plan received",
    "refer_to_regional_director": "referred to the Regional Director",
    "appoint_ieb": "interim executive board appointed",
    "rise_targeted_intervention": "RISE targeted intervention",
    "hmi_monitoring_visit": "HMI monitoring visit",
}

# The Ofsted category a register row carries; "LA" means no Ofsted category: the authority's own concern.
CATEGORIES = {"SM": "special measures", "RSI": "serious weaknesses", "NA": "needs attention (report card)",
              "RI": "requires improvement", "LA": "none (the authority's own concern)"}

_ABBREVIATIONS = {"hmi": "HMI", "la": "local authority", "aoc": "academy of concern", "sm": "special measures",
                  "swk": "serious weaknesses", "ri": "requires improvement", "ieb": "interim executive board",
                  "sos": "Secretary of State", "rd": "Regional Director", "urn": "URN"}


def sentence(text: str | None) -> str:
    """First letter upper case, the rest as written ("HMI monitoring visit", not "Hmi monitoring visit")."""
    text = str(text or "")
    return text[:1].upper() + text[1:]


def words(key: str | None, table: dict[str, str] | None = None) -> str:
    """The words for a key: its entry in `table`, else the key read as words (abbreviations spelt out)."""
    if not key:
        return ""
    if table and key in table:
        return table[key]
    return " ".join(_ABBREVIATIONS.get(part, part) for part in re.split(r"[_\-]+", str(key)) if part)


def pathway(key: str | None) -> str:
    return words(key, PATHWAYS)


def state(key: str | None) -> str:
    return words(key, STATES)


def kind(key: str | None) -> str:
    return words(key, KINDS)


def event(key: str | None) -> str:
    return words(key, EVENTS)


def category(key: str | None) -> str:
    return words(key, CATEGORIES) if key else ""


# What a deadline's own note says again of its kind: left out where the kind's words already say it.
_NOTE_REPEATS_KIND = {
    "warning_notice_compliance": "end of the compliance period",
    "tpc_warning_notice_compliance": "end of the compliance period",
    "reinspection": "latest date for the next full inspection",
    "hmi_monitoring": "expected HMI monitoring window closes",
    "progress_judgement": "formal judgement of progress at the progress review meeting",
    "progress_meeting": "progress review meeting",
}


def detail(kind_key: str, note: str | None) -> str:
    """What to write after the deadline's kind: ": its note", or only what the note adds to the kind
    (" (local authority warning notice given 20 October 2026)"), or nothing."""
    text = plain_note(note).strip()
    repeated = _NOTE_REPEATS_KIND.get(kind_key)
    if repeated and text.lower().startswith(repeated.lower()):
        text = text[len(repeated):].strip()
        return f" {text}" if text.startswith("(") else (f": {text}" if text else "")
    return f": {text}" if text else ""


# --- sources as citations ---------------------------------------------------------------------------

_ACTS = (
    (re.compile(r"\bEIA (\d{4})\b"), r"Education and Inspections Act \1"),
    (re.compile(r"\bEA (\d{4})\b"), r"Education Act \1"),
)
_SECTION = re.compile(r"(Act \d{4}) s(\d+[A-Z]?(?:\([^)]*\))*(?:-\(?[0-9A-Z]+\)?)*)")
_SI_WORKING_DAY = re.compile(r"working day per SI 2005/2038 reg 2")
_LOCAL_DEFAULT = re.compile(r"^concerns default\b.*$")
_PRODUCT_NOTES = re.compile(r"\s*\((?:[^()]*\b(?:unconfirmed|previous windows|NAHT FAQs)\b[^()]*)\)")
_PARAGRAPH = re.compile(r"§\s*")


def citation(source: str | None) -> str:
    """A rule's or policy's source as a lawyer or an officer would cite it.

    "EA 2005 s15 and explanatory notes para 51; working day per SI 2005/2038 reg 2" becomes
    "Education Act 2005, s15 and Explanatory Notes para 51; Education (School Inspection) (England)
    Regulations 2005, reg 2 (working days)". The product's own default procedure reads as the
    authority's procedure, and notes on how sure the product is of a rule are left out.
    """
    if not source:
        return ""
    parts = []
    for part in _PRODUCT_NOTES.sub("", str(source)).split(";"):
        part = part.strip()
        if not part:
            continue
        if _LOCAL_DEFAULT.match(part):
            part = "the authority's procedure for schools causing concern"
        elif part.startswith("parameters overridden by authority policy"):
            part = "as set by the authority"
        part = _SI_WORKING_DAY.sub(
            "Education (School Inspection) (England) Regulations 2005, reg 2 (working days)", part)
        for pattern, replacement in _ACTS:
            part = pattern.sub(replacement, part)
        part = _SECTION.sub(r"\1, s\2", part)
        part = part.replace("explanatory notes", "Explanatory Notes")
        part = _PRODUCT_NOTES.sub("", part)
        part = _PARAGRAPH.sub("section ", part)
        parts.append(part.strip())
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def plain_note(note: str | None) -> str:
    """A system-written note with its ISO dates as British dates ("on 2027-02-24" -> "on 24 February 2027")."""
    if not note:
        return ""

    def british(match: re.Match) -> str:
        try:
            return ukdate(date(int(match[1]), int(match[2]), int(match[3])), weekday=False)
        except ValueError:
            return match[0]

    return _ISO_DATE.sub(british, str(note))
