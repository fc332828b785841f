"""Letters the local authority sends about a school causing concern.

Pure Python plus Jinja2: no database, no Prefect. A caller (a flow, the CLI, a test) builds a
`LetterSchool`, a `LetterAuthority` and the per-kind details, and `render_letter` returns the HTML
letter, a plain-text rendering for an e-mail body, and who it goes to.

Why the module is strict:

* Statutory letters have required content (a warning notice must state the matters relied on, the
  action required, the compliance period and the action the authority is minded to take: EIA 2006
  s60(4)). Every kind declares its detail keys in `LETTER_KINDS`; a missing key, an unknown key (a typo
  would silently drop content) or a value of the wrong type is refused before anything is rendered, and
  the template environment uses `StrictUndefined` as a second line of defence.
* Letters go to school-side recipients, so notes an officer marked confidential must never reach them
  (docs/decisions.md, D21). Any detail key starting with "confidential", at any depth, is refused.
* Autoescaping is on: school names and officers' free text are data, not markup.

Dates in letters are written the British way ("Wednesday 18 November 2026") by our own filter rather
than strftime, so the output does not depend on the process locale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

# Copy lists, formatting and the letter's parties are pure domain modules; the filters and the dataclasses
# are re-exported here for existing callers.
from concerns.copylists import addressees_for, copies_for
from concerns.formatting import (  # noqa: F401
    academic_year,
    address_lines,
    join_and,
    ukdate,
    uktime,
    ukwhen,
    with_deadline,
)
from concerns.letterparties import FOUNDATION_OR_VOLUNTARY_TYPES, LetterParty, LetterSchool  # noqa: F401
from concerns.rules import DEFAULT_RULES

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"

# --- Dates on which the wording of a letter changes: looked up in the rule book (concerns/rules.py) ---
# Education and Adoption Act 2016 s2: from this day the issuer sets the compliance period and the right
# to make representations to Ofsted ends. Notices given before it keep the old regime (SI 2016/466 reg 4).
WARNING_NOTICE_REGIME_CHANGE = DEFAULT_RULES.starts("warning_notice/issuer-sets-period")

# --- Context dataclasses (the school and its parties: concerns.letterparties) --------------------


@dataclass(frozen=True)
class LetterAuthority:
    """The local authority sending the letter. officers is keyed by role:
    assistant_director, senior_adviser, link_adviser, director (most senior officer for schools)."""

    name: str
    officers: dict[str, LetterParty]
    service: str | None = None
    address: str | None = None
    telephone: str | None = None
    email: str | None = None

    def officer(self, role: str, purpose: str) -> LetterParty:
        try:
            return self.officers[role]
        except KeyError:
            known = ", ".join(sorted(self.officers)) or "none"
            raise ValueError(
                f"{self.name} has no officer with role {role!r} ({purpose}); officers known: {known}"
            ) from None


@dataclass(frozen=True)
class RenderedLetter:
    kind: str
    title: str
    filename_stem: str
    html: str
    text: str
    addressees: list[LetterParty]
    copies: list[LetterParty]
    confidential: bool


# --- Letter specifications (data) ---------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    """One detail a letter kind takes. `kind` drives validation and normalisation:

    date, datetime, when (date or datetime), text, paras (str or list of str -> list), texts (non-empty
    list of str), items (list of str or {"text", "by": date} -> list of dicts), keys (list drawn from
    choices), choice (one of choices), minded (list of POWERS keys or free text -> list of str), bool,
    parties (list of LetterParty), records (list of dicts, checked by the kind's own check), mapping.
    """

    name: str
    kind: str
    doc: str
    required: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LetterSpec:
    template: str
    title: str
    details: tuple[Detail, ...]
    signatory_role: str
    # True when the "Copies to" list is the statutory one (warning notice, statement of action).
    statutory_copies: bool
    # Default protective marking (OFFICIAL-SENSITIVE); a caller may override with the `sensitive` detail.
    confidential: bool
    source: str
    maintained_only: bool = False
    # LA officers (by role) copied for the file, when the authority has them and they are not the signatory.
    internal_copies: tuple[str, ...] = ()
    # The officer named as the contact ("Please ask for").
    contact_role: str = "senior_adviser"
    # Cross-field and nested checks; returns extra template context.
    check: Callable[[dict[str, Any], LetterSchool, LetterAuthority, date], dict[str, Any]] | None = None

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.details if d.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.details if not d.required)

    def describe(self) -> dict[str, str]:
        """Detail key -> documentation, for a UI or the CLI help."""
        return {d.name: ("" if d.required else "(optional) ") + d.doc for d in self.details}


# s60(2) grounds, quoted from EIA 2006 s60(2)(a)-(c), with "this Part" written out as "Part 4 of the
# 2006 Act" (legislation.gov.uk, 2007 text; the 2016 amendment only replaced "local authority" with
# "relevant authority"). Tag V: EIA 2006 s60 as at 1 Apr 2007 and
# as amended by EAA 2016 s2 (legislation.gov.uk).
GROUNDS: dict[str, tuple[str, str]] = {
    "low_standards": (
        "section 60(2)(a)",
        "that the standards of performance of pupils at the school are unacceptably low, and are "
        "likely to remain so unless the authority exercise their powers under Part 4 of the 2006 Act",
    ),
    "management_breakdown": (
        "section 60(2)(b)",
        "that there has been a serious breakdown in the way the school is managed or governed which is "
        "prejudicing, or likely to prejudice, such standards of performance",
    ),
    "safety": (
        "section 60(2)(c)",
        "that the safety of pupils or staff of the school is threatened (whether by a breakdown of "
        "discipline or otherwise)",
    ),
}

# The LA's own powers once a school is eligible for intervention (EIA 2006 ss63-66; Luton Council,
# "Protocols for Monitoring Schools", "Powers of Intervention"), plus asking the SoS for an academy order (Academies Act 2010 s4(1)(b)).
# `minded_to` takes these keys or free text.
POWERS: dict[str, str] = {
    "s63": "require the governing body to enter into arrangements under section 63 of the 2006 Act "
    "(for example, to secure specified advisory services or to collaborate with the governing "
    "body of another school)",
    "s64": "appoint such number of additional governors as it thinks fit under section 64 of the 2006 Act",
    "s65": "seek the consent of the Secretary of State to replace the governing body with an interim "
    "executive board under section 65 of the 2006 Act",
    "s66": "suspend the governing body's right to a delegated budget under section 66 of the 2006 Act",
    "academy_order": "ask the Secretary of State to consider making an academy order in respect of the "
    "school under section 4 of the Academies Act 2010",
}

# Statement of action categories; "serious weaknesses" is the older name for the statutory
# "requires significant improvement" (EA 2005 s44); Ofsted now uses the statutory name.
CATEGORIES: dict[str, str] = {
    "special_measures": "requires special measures",
    "serious_weaknesses": "requires significant improvement (serious weaknesses)",
}

# Doncaster 2015-16, appendix 3 "Example of School of Concern Meeting Agenda".
# The introduction by the Chair is a fixed line before the numbered items, as in the appendix.
# "lead" values in angle brackets are filled in with the people's names when the agenda is drawn up.
DEFAULT_AGENDA_ITEMS: tuple[dict[str, str], ...] = (
    {
        "title": "Summary of the issues of concern",
        "lead": "<lead officer>",
        "note": "Comments invited by the Chair.",
    },
    {
        "title": "Action planning and progress against the key issues of concern, and scrutiny of school "
        "information and documentation",
        "lead": "<head and chair>",
        "note": "Comments by officers and school representatives.",
    },
    {
        "title": "Judgements on progress against each agreed impact measure / area of concern",
        "lead": "",
        "note": "",
    },
    {"title": "Quality of support provided", "lead": "", "note": ""},
    {"title": "Future plans and interventions summarised", "lead": "", "note": ""},
    {"title": "Review date", "lead": "", "note": ""},
)
# Same appendix: what the school gives the LA access to seven days before the meeting. The Ofsted
# "self evaluation document" (SEF) of 2015 is now the school's own self-evaluation summary.
DEFAULT_AGENDA_PAPERS: tuple[str, ...] = (
    "the school development (improvement) plan",
    "relevant minutes of the governing body and its committees",
    "the school's self-evaluation summary",
    "relevant financial information",
)

# Details every kind accepts.
_COMMON: tuple[Detail, ...] = (
    Detail("signatory_role", "text", "officer role that signs instead of the kind's default", required=False),
    Detail(
        "sensitive", "bool", "override the default OFFICIAL-SENSITIVE marking (True/False)", required=False
    ),
    Detail(
        "extra_copies",
        "parties",
        "further LetterParty copies (e.g. a National Leader of Governance)",
        required=False,
    ),
)

# Context names the templates use; detail keys must not shadow them.
_RESERVED = frozenset(
    {
        "kind",
        "title",
        "school",
        "authority",
        "on",
        "reference",
        "signatory",
        "contact",
        "addressees",
        "copies",
        "confidential",
        "marking",
        "subject_school",
        "lead",
    }
)


# --- Per-kind checks ----------------------------------------------------------------------------


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _day(value: date) -> date:
    """The calendar day of a 'when' detail (a date or a datetime), for comparing with other dates."""
    return value.date() if isinstance(value, datetime) else value


def _check_confirmation(
    v: dict[str, Any], school: LetterSchool, authority: LetterAuthority, on: date
) -> dict[str, Any]:
    _need(v["discussed_on"] <= on, "confirmation_of_concern: discussed_on is after the letter date")
    lead_role = v["lead_officer_role"] or "senior_adviser"
    lead = authority.officer(lead_role, "named in confirmation_of_concern as the lead officer")
    if v["first_review"] is not None:
        _need(
            _day(v["first_review"]) > v["discussed_on"],
            "confirmation_of_concern: first_review must be after the meeting on discussed_on",
        )
    if v["improvement_plan_due"] is not None:
        _need(
            v["improvement_plan_due"] > on,
            "confirmation_of_concern: improvement_plan_due is not after the letter date",
        )
    return {"lead": lead}


def _check_warning_letter(
    v: dict[str, Any], school: LetterSchool, authority: LetterAuthority, on: date
) -> dict[str, Any]:
    _need(v["complete_by"] > on, "warning_letter: complete_by must be after the letter date")
    if v["respond_by"] is not None:
        _need(
            on < v["respond_by"] <= v["complete_by"],
            "warning_letter: respond_by must fall after the letter date and no later than complete_by",
        )
    if v["review_meeting"] is not None:
        _need(_day(v["review_meeting"]) > on, "warning_letter: review_meeting must be after the letter date")
    return {}


def _fifteenth_weekday_after(day: date) -> date:
    """Lower bound for the legacy initial period: the 15th weekday following `day`. Bank holidays can
    only push the real end (the 15th working day) later, so the engine's date must not be earlier."""
    count, current = 0, day
    while count < 15:
        current += timedelta(days=1)
        if current.weekday() < 5:
            count += 1
    return current


def _check_warning_notice(
    v: dict[str, Any], school: LetterSchool, authority: LetterAuthority, on: date
) -> dict[str, Any]:
    given_on = v["given_on"] or on
    end = v["compliance_end"]
    legacy = given_on < WARNING_NOTICE_REGIME_CHANGE
    if legacy:
        # s60(1)(b) as enacted: the period beginning with the day given and ending with the 15th working
        # day following it. The deadline engine computes the date with bank holidays; we only guard
        # against a calendar-day miscount.
        earliest = _fifteenth_weekday_after(given_on)
        _need(
            end >= earliest,
            f"warning_notice: a notice given on {ukdate(given_on)} is under the pre-18 April 2016 regime; "
            f"its period ends on the 15th working day following, which cannot be before {ukdate(earliest)} "
            f"(got compliance_end {ukdate(end)})",
        )
    else:
        _need(end > given_on, "warning_notice: compliance_end must be after the day the notice is given")
    if v["respond_by"] is not None:
        _need(
            given_on < v["respond_by"] <= end,
            "warning_notice: respond_by must fall within the compliance period",
        )
    return {
        "given_on": given_on,
        "legacy": legacy,
        "grounds_text": [GROUNDS[key] for key in v["grounds"]],
        # "Her Majesty's" before the accession of King Charles III (rule crown/his-majesty); only legacy
        # notices (given before 2016) can predate it here.
        "hmci_title": f"{DEFAULT_RULES.in_force('crown', given_on).params['majesty']} Majesty's Chief Inspector",
    }


_PRIORITY_KEYS = {"issue", "success_criteria", "evaluation", "actions"}
_ACTION_KEYS = {"action", "lead", "timescale", "monitored_by", "monitoring", "resources", "school_plan_link"}


def _text_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    _need(
        isinstance(value, list | tuple) and value and all(isinstance(x, str) and x.strip() for x in value),
        f"{where} must be a non-empty text or list of texts",
    )
    return list(value)


def _check_statement(
    v: dict[str, Any], school: LetterSchool, authority: LetterAuthority, on: date
) -> dict[str, Any]:
    k = "statement_of_action"
    _need(v["inspection_date"] <= v["published"], f"{k}: inspection_date is after published")
    _need(
        v["due"] > v["published"],
        f"{k}: due must be after published (10 inspection working days, EA 2005 s15)",
    )
    _need(v["action_by"] > v["published"], f"{k}: action_by must be after published")
    priorities = []
    for i, raw in enumerate(v["priorities"]):
        where = f"{k} priorities[{i}]"
        _need(isinstance(raw, Mapping), f"{where} must be a dict")
        unknown = set(raw) - _PRIORITY_KEYS
        _need(not unknown, f"{where} does not take: {', '.join(sorted(unknown))}")
        missing = [key for key in ("issue", "success_criteria", "actions") if not raw.get(key)]
        _need(not missing, f"{where} needs: {', '.join(missing)}")
        actions = []
        _need(isinstance(raw["actions"], list | tuple), f"{where}.actions must be a list of dicts")
        for j, act in enumerate(raw["actions"]):
            awhere = f"{where}.actions[{j}]"
            _need(isinstance(act, Mapping), f"{awhere} must be a dict")
            unknown = set(act) - _ACTION_KEYS
            _need(not unknown, f"{awhere} does not take: {', '.join(sorted(unknown))}")
            missing = [key for key in ("action", "lead", "timescale") if not act.get(key)]
            _need(not missing, f"{awhere} needs: {', '.join(missing)}")
            actions.append({key: act.get(key) or "" for key in _ACTION_KEYS})
        priorities.append(
            {
                "issue": raw["issue"],
                "success_criteria": _text_list(raw["success_criteria"], f"{where}.success_criteria"),
                "evaluation": raw.get("evaluation") or "",
                "actions": actions,
            }
        )
    roll = v["roll"]
    if roll is not None:
        _need(
            set(roll) <= {"net_capacity", "projections"}
            and isinstance(roll.get("projections"), list | tuple)
            and len(roll["projections"]) == 3,
            f"{k}: roll must be {{'net_capacity': int, 'projections': [this year, +1, +2]}}",
        )
    for i, row in enumerate(v["nearby_schools"] or []):
        _need(
            isinstance(row, Mapping)
            and {"name", "available", "projections"} <= set(row)
            and isinstance(row["projections"], list | tuple)
            and len(row["projections"]) == 3,
            f"{k}: nearby_schools[{i}] must be {{'name', 'available', 'projections': [3 numbers]}}",
        )
    for i, row in enumerate(v["time_allocation"] or []):
        _need(
            isinstance(row, Mapping) and {"who", "activities", "days"} <= set(row),
            f"{k}: time_allocation[{i}] must be {{'who', 'activities', 'days'}}",
        )
    team = [
        authority.officers[role]
        for role in ("assistant_director", "senior_adviser", "link_adviser")
        if role in authority.officers
    ]
    return {
        "category_label": CATEGORIES[v["category"]],
        "priorities": priorities,
        # The duty to make an academy order (Academies Act 2010 s4(A1), 18 Apr 2016 to 28 Jun 2026) follows
        # the date the report placing the school in a category was published.
        "academy_order_duty": DEFAULT_RULES.in_force("academy_order", v["published"]).params["duty"] == "must",
        "years": [academic_year(on, n) for n in range(3)],
        "support_team": team,
    }


def _check_agenda(
    v: dict[str, Any], school: LetterSchool, authority: LetterAuthority, on: date
) -> dict[str, Any]:
    k = "soc_meeting_agenda"
    meeting_day = v["meeting_at"].date()
    _need(v["papers_due"] < meeting_day, f"{k}: papers_due must be before the meeting")
    _need(v["minutes_due"] >= meeting_day, f"{k}: minutes_due must be on or after the meeting")
    chair = authority.officer(v["chair_role"] or "assistant_director", "chairs the School of Concern meeting")
    lead = authority.officer(
        "senior_adviser", "lead local authority officer at the School of Concern meeting"
    )
    attendees = v["attendees"]
    if attendees is None:
        # Doncaster appendix 3: "Invited: Assistant Director Education or Head of Service, Headteacher,
        # Lead Local Authority Officer, Chair of Governors".
        attendees = [chair, school.headteacher, lead, school.chair]
    who = {
        "<lead officer>": f"{lead.name}, {lead.role} (lead local authority officer)",
        "<head and chair>": f"{school.headteacher.name}, {school.headteacher.role}, and "
        f"{school.chair.name}, {school.chair.role}",
    }
    items: list[dict[str, str]] = []
    for i, item in enumerate(v["items"] or DEFAULT_AGENDA_ITEMS):
        if isinstance(item, str):
            item = {"title": item}
        _need(
            isinstance(item, Mapping)
            and isinstance(item.get("title"), str)
            and item["title"].strip()
            and set(item) <= {"title", "lead", "note"},
            f"{k}: items[{i}] must be a text or {{'title', 'lead', 'note'}}",
        )
        lead_text = item.get("lead") or ""
        items.append(
            {"title": item["title"], "lead": who.get(lead_text, lead_text), "note": item.get("note") or ""}
        )
    return {
        "chair_officer": chair,
        "lead": lead,
        "attendee_list": attendees,
        "agenda_items": items,
        "agenda_papers": v["papers"] or list(DEFAULT_AGENDA_PAPERS),
    }


def _check_removal(
    v: dict[str, Any], school: LetterSchool, authority: LetterAuthority, on: date
) -> dict[str, Any]:
    _need(v["decided_on"] <= on, "removal_from_concern: decided_on is after the letter date")
    if v["review_on"] is not None:
        _need(_day(v["review_on"]) > on, "removal_from_concern: review_on must be after the letter date")
    return {}


# --- The kinds ----------------------------------------------------------------------------------

LETTER_KINDS: dict[str, LetterSpec] = {
    "confirmation_of_concern": LetterSpec(
        template="letters/confirmation_of_concern.html.j2",
        title="Confirmation of the local authority's concerns",
        signatory_role="assistant_director",
        statutory_copies=False,
        confidential=True,
        internal_copies=("senior_adviser", "link_adviser"),
        source="Derbyshire 2023 §3 (AD confirms in writing to head and chair; diocese informed); "
        "Doncaster 2015-16 §5 (share with governors as a Part B item; SIC half-termly)",
        check=_check_confirmation,
        details=(
            Detail("discussed_on", "date", "day the concerns were discussed with the head and chair"),
            Detail("concerns", "texts", "the causes of concern, one per item"),
            Detail("next_steps", "items", "next steps agreed (text, or {'text', 'by': date})"),
            Detail(
                "review_cadence",
                "text",
                "how often progress-review meetings happen, completing 'will convene progress review "
                "meetings ...', e.g. 'at least three times a year' or 'each term'",
            ),
            Detail(
                "first_review",
                "when",
                "date (or datetime) of the first progress-review meeting",
                required=False,
            ),
            Detail(
                "improvement_plan_due", "date", "date the school's improvement plan is due", required=False
            ),
            Detail(
                "local_category",
                "text",
                "the authority's own category, e.g. 'School of Concern (category 4)'",
                required=False,
            ),
            Detail(
                "governor_monitoring",
                "text",
                "what the governing body is asked to do, e.g. a half-termly School Improvement Committee",
                required=False,
            ),
            Detail("support", "texts", "support the authority will provide or broker", required=False),
            Detail(
                "lead_officer_role",
                "text",
                "officer role leading the case (default senior_adviser)",
                required=False,
            ),
        ),
    ),
    "warning_letter": LetterSpec(
        template="letters/warning_letter.html.j2",
        title="Warning letter",
        signatory_role="director",
        statutory_copies=False,
        confidential=True,
        internal_copies=("assistant_director", "senior_adviser"),
        source="Derbyshire 2023 §3 (letter from the most senior officer; specified actions within a "
        "designated timescale; not a warning notice; right reserved); Luton pre-warning notice; "
        "Doncaster 2015-16 §5 (warning letter; academies: the LA will inform the Secretary of State)",
        check=_check_warning_letter,
        details=(
            Detail("concerns", "texts", "the concerns and the evidence of insufficient progress"),
            Detail("actions", "items", "specified actions required (text, or {'text', 'by': date})"),
            Detail("complete_by", "date", "end of the designated timescale for the actions"),
            Detail(
                "concern_confirmed_on", "date", "date of the letter confirming the concerns", required=False
            ),
            Detail(
                "judged_on", "date", "date of the meeting that judged progress insufficient", required=False
            ),
            Detail(
                "review_meeting",
                "when",
                "next progress-review meeting, where progress will be judged",
                required=False,
            ),
            Detail(
                "respond_by", "date", "date by which the governing body must reply in writing", required=False
            ),
            Detail("support", "texts", "support the authority will continue to provide", required=False),
        ),
    ),
    "warning_notice": LetterSpec(
        template="letters/warning_notice.html.j2",
        title="Warning notice under section 60 of the Education and Inspections Act 2006",
        signatory_role="director",
        statutory_copies=True,
        confidential=True,
        maintained_only=True,
        internal_copies=("assistant_director", "senior_adviser"),
        source="EIA 2006 s60 (as enacted; as amended by the Education and Adoption Act 2016 s2 from "
        "18 Apr 2016); Tri-borough 2013 §5.6-5.13; Browne Jacobson, 'Statutory warning notices - FAQs' (2016)",
        check=_check_warning_notice,
        details=(
            Detail("grounds", "keys", "one or more s60(2) grounds", choices=tuple(GROUNDS)),
            Detail(
                "matters", "texts", "the matters on which the authority's conclusion is based (s60(4)(a))"
            ),
            Detail(
                "actions_required",
                "items",
                "action required of the governing body to remedy those matters (s60(4)(b))",
            ),
            Detail(
                "compliance_end",
                "date",
                "end of the compliance period. From 18 Apr 2016 set by the authority (no default); "
                "before, the 15th working day following the day given (computed by the deadline engine)",
            ),
            Detail(
                "minded_to",
                "minded",
                f"action the authority is minded to take if not complied with (s60(4)(d)): keys "
                f"{', '.join(POWERS)} or free text",
            ),
            Detail(
                "given_on",
                "date",
                "day the notice is given (default: the letter date); selects the "
                "pre- or post-18 April 2016 wording",
                required=False,
            ),
            Detail(
                "respond_by",
                "date",
                "date by which the governing body should set out in writing how it will comply",
                required=False,
            ),
            Detail("support", "texts", "support the authority will continue to provide", required=False),
        ),
    ),
    "statement_of_action": LetterSpec(
        template="letters/statement_of_action.html.j2",
        title="The Authority's Statement of Action",
        signatory_role="director",
        statutory_copies=True,
        confidential=False,
        maintained_only=True,
        internal_copies=("assistant_director", "link_adviser"),
        source="EA 2005 s15 (duty, copies); Derbyshire 2023 annex 3 (format); EA 2005 explanatory notes paras 50-52",
        check=_check_statement,
        details=(
            Detail("category", "choice", "Ofsted category", choices=tuple(CATEGORIES)),
            Detail("inspection_date", "date", "(first) day of the inspection"),
            Detail("published", "date", "date the inspection report was published"),
            Detail(
                "due",
                "date",
                "date the statement must reach HMCI (10 inspection working days after "
                "publication: computed by the deadline engine)",
            ),
            Detail(
                "action_by",
                "date",
                "end of the period within which the authority proposes to take the "
                "action (EA 2005 s15 requires the period to be stated)",
            ),
            Detail("context", "paras", "1. Context: the school and the inspection findings"),
            Detail("viability", "paras", "2. Scope for closure: local authority commentary on viability"),
            Detail(
                "action_before",
                "texts",
                "3. action taken by the authority before the inspection "
                "(core support and its focus, concerns identified, interventions, impact)",
            ),
            Detail(
                "action_after",
                "texts",
                "3. action taken following the inspection (progress review "
                "meetings: constitution and purpose; focus of plans; monitoring, evaluation and reporting)",
            ),
            Detail(
                "parent_arrangements",
                "texts",
                "3. arrangements to inform and consult parents and take account of their views (EA 2005 s15)",
            ),
            Detail(
                "support",
                "texts",
                "4. support priorities, including actions to build leadership and management capacity",
            ),
            Detail(
                "powers",
                "paras",
                "5. use of local authority powers, or why additional powers are not being deployed",
            ),
            Detail(
                "priorities",
                "records",
                "action plan: list of {'issue', 'success_criteria': [..], 'evaluation'?, 'actions': "
                "[{'action', 'lead', 'timescale', 'monitored_by'?, 'monitoring'?, 'resources'?, "
                "'school_plan_link'?}]}",
            ),
            Detail("resources", "paras", "4. availability of local authority resources", required=False),
            Detail("partners", "texts", "4. involvement of partners", required=False),
            Detail(
                "academy_order_on", "date", "date an academy order was made, if one has been", required=False
            ),
            Detail(
                "structural_actions",
                "texts",
                "3. actions on academy conversion / structural intervention",
                required=False,
            ),
            Detail(
                "roll",
                "mapping",
                "2. {'net_capacity': int, 'projections': [this year, +1, +2]}",
                required=False,
            ),
            Detail(
                "nearby_schools", "records", "2. [{'name', 'available', 'projections': [3]}]", required=False
            ),
            Detail("projection_basis", "text", "2. how the pupil projections were made", required=False),
            Detail(
                "time_allocation", "records", "action plan: [{'who', 'activities', 'days'}]", required=False
            ),
        ),
    ),
    "soc_meeting_agenda": LetterSpec(
        template="letters/soc_meeting_agenda.html.j2",
        title="School of Concern meeting: agenda",
        signatory_role="senior_adviser",
        statutory_copies=False,
        confidential=True,
        source="Doncaster 2015-16 appendix 3 (agenda; papers 7 days before; minutes within 7 days)",
        check=_check_agenda,
        details=(
            Detail("meeting_at", "datetime", "date and start time of the meeting"),
            Detail("venue", "text", "where the meeting is held"),
            Detail(
                "papers_due",
                "date",
                "date the school gives the LA access to the papers (policy: 7 days before)",
            ),
            Detail(
                "minutes_due", "date", "date the note of the meeting is due (policy: within 7 days after)"
            ),
            Detail(
                "attendees",
                "parties",
                "invited (default: AD as chair, headteacher, lead LA officer, chair of governors)",
                required=False,
            ),
            Detail(
                "items",
                "records",
                "agenda items overriding the Doncaster default: text or {'title', 'lead'?, 'note'?}",
                required=False,
            ),
            Detail("papers", "texts", "papers the school provides (default: Doncaster list)", required=False),
            Detail(
                "chair_role",
                "text",
                "officer role chairing the meeting (default assistant_director)",
                required=False,
            ),
        ),
    ),
    "removal_from_concern": LetterSpec(
        template="letters/removal_from_concern.html.j2",
        title="Removal from the local authority's schools causing concern",
        signatory_role="assistant_director",
        statutory_copies=False,
        confidential=True,
        internal_copies=("senior_adviser", "link_adviser"),
        source="Doncaster 2015-16 §5 (head and chair notified in writing by the AD); Derbyshire 2023 §6 "
        "(exit strategy; lighter-touch monitoring)",
        check=_check_removal,
        details=(
            Detail("decided_on", "date", "date of the meeting that judged the concerns removed"),
            Detail("improvements", "texts", "the improvements that led to the decision"),
            Detail("exit_strategy", "items", "the agreed exit strategy, one step per item"),
            Detail("monitoring", "paras", "the lighter-touch monitoring the authority will provide"),
            Detail("review_on", "when", "date of the review of the exit strategy", required=False),
            Detail(
                "local_category",
                "text",
                "the authority's category for the school from now on",
                required=False,
            ),
        ),
    ),
    "categorisation": LetterSpec(
        template="letters/categorisation.html.j2",
        title="The school's category for the year",
        signatory_role="assistant_director",
        statutory_copies=False,
        confidential=False,
        internal_copies=("link_adviser",),
        source="Doncaster 2015-16 (autumn-term letter to every school, reviewed spring and summer); "
        "Derbyshire 2023 (annual risk assessment with the school); Tri-borough 2013 (start of the year)",
        details=(
            Detail("academic_year", "text", "the year the category is for, e.g. 2026/27"),
            Detail("scheme", "text", "the authority's categorisation scheme, e.g. 'low / medium / high risk'"),
            Detail("category", "text", "the school's category under the scheme"),
            Detail("basis", "texts", "what the category was decided on, one point per item"),
            Detail("support", "paras", "what the category means for support and monitoring"),
            Detail("causing_concern", "bool", "whether the category means the school is causing concern"),
            Detail("review", "text", "when the category is reviewed, e.g. 'each term'", required=False),
        ),
    ),
}

for _kind, _spec in LETTER_KINDS.items():
    _clash = {d.name for d in _spec.details} & (_RESERVED | {d.name for d in _COMMON})
    assert not _clash, f"{_kind}: detail names clash with template context: {_clash}"


# --- Validation ---------------------------------------------------------------------------------

_KIND_HELP = {
    "date": "a date",
    "datetime": "a datetime",
    "when": "a date or datetime",
    "text": "a non-empty text",
    "paras": "a text or list of texts",
    "texts": "a non-empty list of texts",
    "items": "a non-empty list of texts or {'text', 'by'} dicts",
    "keys": "a non-empty list of keys",
    "choice": "one of the listed values",
    "minded": "a non-empty list of power keys or texts",
    "bool": "True or False",
    "parties": "a list of LetterParty",
    "records": "a list of dicts",
    "mapping": "a dict",
}


def _confidential_keys(value: Any, path: str) -> list[str]:
    """Every key starting with 'confidential' anywhere inside dicts and lists."""
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).lower().startswith("confidential"):
                found.append(here)
            found.extend(_confidential_keys(inner, here))
    elif isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            found.extend(_confidential_keys(inner, f"{path}[{i}]"))
    return found


def _normalise(kind: str, d: Detail, value: Any) -> Any:
    bad = ValueError(f"{kind}: {d.name!r} must be {_KIND_HELP[d.kind]}; got {type(value).__name__} {value!r}")
    is_list = isinstance(value, list | tuple)
    if d.kind == "date":
        if not isinstance(value, date):
            raise bad
        # A datetime given for a date-only detail is taken as its day (and so compares with dates).
        return value.date() if isinstance(value, datetime) else value
    if d.kind == "datetime":
        if not isinstance(value, datetime):
            raise bad
        return value
    if d.kind == "when":
        if not isinstance(value, date):
            raise bad
        return value
    if d.kind == "text":
        if not (isinstance(value, str) and value.strip()):
            raise bad
        return value.strip()
    if d.kind == "paras":
        if isinstance(value, str):
            value = [value]
            is_list = True
        if not (is_list and value and all(isinstance(x, str) and x.strip() for x in value)):
            raise bad
        return list(value)
    if d.kind == "texts":
        if not (is_list and value and all(isinstance(x, str) and x.strip() for x in value)):
            raise bad
        return list(value)
    if d.kind == "items":
        if not (is_list and value):
            raise bad
        items = []
        for item in value:
            if isinstance(item, str) and item.strip():
                items.append({"text": item, "by": None})
            elif (
                isinstance(item, Mapping)
                and set(item) <= {"text", "by"}
                and isinstance(item.get("text"), str)
                and item["text"].strip()
                and (item.get("by") is None or isinstance(item["by"], date))
            ):
                items.append({"text": item["text"], "by": item.get("by")})
            else:
                raise bad
        return items
    if d.kind == "keys":
        if not (is_list and value):
            raise bad
        unknown = [x for x in value if x not in d.choices]
        if unknown:
            raise ValueError(
                f"{kind}: {d.name!r} has unknown keys {unknown}; choose from {', '.join(d.choices)}"
            )
        if len(set(value)) != len(value):
            raise ValueError(f"{kind}: {d.name!r} repeats a key: {list(value)}")
        return list(value)
    if d.kind == "choice":
        if value not in d.choices:
            raise ValueError(f"{kind}: {d.name!r} must be one of {', '.join(d.choices)}; got {value!r}")
        return value
    if d.kind == "minded":
        if not (is_list and value and all(isinstance(x, str) and x.strip() for x in value)):
            raise bad
        return [POWERS.get(x, x) for x in value]
    if d.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if d.kind == "parties":
        if not (is_list and all(isinstance(x, LetterParty) for x in value)):
            raise bad
        return list(value)
    if d.kind == "records":
        if not (is_list and value):
            raise bad
        return list(value)
    if d.kind == "mapping":
        if not isinstance(value, Mapping):
            raise bad
        return dict(value)
    raise AssertionError(f"unknown detail kind {d.kind}")  # a programming error in LETTER_KINDS


def _validate(kind: str, spec: LetterSpec, details: dict[str, Any]) -> dict[str, Any]:
    secret = _confidential_keys(details, "")
    if secret:
        raise ValueError(
            f"{kind}: refusing detail(s) {', '.join(secret)}: notes marked confidential never go into "
            f"letters to school-side recipients"
        )
    specs = {d.name: d for d in (*spec.details, *_COMMON)}
    unknown = sorted(set(details) - set(specs))
    if unknown:
        raise ValueError(f"{kind} does not take: {', '.join(unknown)}; it takes: {', '.join(specs)}")
    missing = [name for name in spec.required if details.get(name) is None]
    if missing:
        raise ValueError(f"{kind} needs: {', '.join(missing)}")
    values: dict[str, Any] = {}
    for name, d in specs.items():
        value = details.get(name)
        values[name] = None if value is None else _normalise(kind, d, value)
    return values


# --- Rendering ----------------------------------------------------------------------------------


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Every template here is HTML; school names and officers' text are data and must be escaped.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ukdate=ukdate,
        uktime=uktime,
        ukwhen=ukwhen,
        join_and=join_and,
        lines=address_lines,
        with_deadline=with_deadline,
    )
    # Dates of law in a letter's wording come from the rule book: {{ rule_starts("<rule id>") | ukdate(false) }}.
    env.globals.update(academic_year=academic_year, rule_starts=DEFAULT_RULES.starts)
    return env


_ENV = _environment()


def _dedupe(parties: list[LetterParty], exclude: list[LetterParty]) -> list[LetterParty]:
    seen = {(p.name.strip().lower(), p.role.strip().lower()) for p in exclude}
    seen_names = {p.name.strip().lower() for p in exclude}
    out = []
    for p in parties:
        key = (p.name.strip().lower(), p.role.strip().lower())
        if key in seen or p.name.strip().lower() in seen_names:
            continue
        seen.add(key)
        seen_names.add(p.name.strip().lower())
        out.append(p)
    return out


def render_letter(
    kind: str, *, school: LetterSchool, authority: LetterAuthority, on: date, reference: str, **details: Any
) -> RenderedLetter:
    """Render one letter. Raises ValueError naming what is wrong before rendering anything."""
    spec = LETTER_KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown letter kind {kind!r}; kinds: {', '.join(LETTER_KINDS)}")
    if not isinstance(school, LetterSchool):
        raise ValueError(f"{kind}: school must be a LetterSchool")
    if not isinstance(authority, LetterAuthority):
        raise ValueError(f"{kind}: authority must be a LetterAuthority")
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValueError(f"{kind}: on must be a date (the date of the letter)")
    if not (isinstance(reference, str) and reference.strip()):
        raise ValueError(f"{kind}: reference must be a non-empty text")

    values = _validate(kind, spec, details)

    if spec.maintained_only and not school.maintained:
        raise ValueError(
            f"{kind} applies only to maintained schools; {school.name} ({school.type_name}) is not "
            f"maintained: raise concerns about an academy with its trust and the Regional Director"
        )
    missing_people = [who for who in ("headteacher", "chair") if getattr(school, who) is None]
    if missing_people:
        raise ValueError(
            f"{kind}: the school record has no {' or '.join(missing_people)}; "
            f"add them before drafting letters to {school.name}"
        )

    extra = spec.check(values, school, authority, on) if spec.check else {}
    signatory = authority.officer(values["signatory_role"] or spec.signatory_role, f"signs the {kind}")
    contact = authority.officers.get(spec.contact_role, signatory)

    if kind == "soc_meeting_agenda":
        addressees = list(extra["attendee_list"])
        copies: list[LetterParty] = []
    else:
        addressees = addressees_for(kind, school)
        copy_on = extra.get("given_on", on)
        copies = copies_for(kind, school, "la", on=copy_on)
    internal = [authority.officers[role] for role in spec.internal_copies if role in authority.officers]
    copies = _dedupe([*copies, *internal, *(values["extra_copies"] or [])], exclude=[signatory, *addressees])

    confidential = spec.confidential if values["sensitive"] is None else values["sensitive"]
    title = f"{spec.title}: {school.name}"
    context = {
        **values,
        **extra,
        "kind": kind,
        "title": title,
        "school": school,
        "authority": authority,
        "on": on,
        "reference": reference.strip(),
        "signatory": signatory,
        "contact": contact,
        "addressees": addressees,
        "copies": copies,
        "confidential": confidential,
        "marking": "OFFICIAL-SENSITIVE" if confidential else "OFFICIAL",
    }
    html = _ENV.get_template(spec.template).render(context)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", f"{on.isoformat()}-{school.urn}-{kind}").strip("-").lower()
    return RenderedLetter(
        kind=kind,
        title=title,
        filename_stem=stem,
        html=html,
        text=html_to_text(html),
        addressees=addressees,
        copies=copies,
        confidential=confidential,
    )


# --- HTML to plain text -------------------------------------------------------------------------


class _TextRenderer(HTMLParser):
    """Turns our letter HTML into readable plain text: paragraphs and headings separated by blank
    lines, list items as '- ' or '1. ', table cells joined with ' | ' (lists inside a cell joined with
    '; '). <head> and any element marked data-text="skip" (print-only furniture) are left out."""

    _VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "wbr"})
    _PARA = frozenset(
        {
            "p",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "ul",
            "ol",
            "section",
            "header",
            "footer",
            "address",
            "blockquote",
            "dl",
        }
    )
    _LINE = frozenset({"div", "tr", "li", "dt", "dd", "caption"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []
        self.lists: list[list[Any]] = []  # [ordered, counter]
        self.cell_in_row = 0
        # Inside a table cell, blocks and lists stay on the row's line ("a; b") so rows stay rows.
        self.cell_depth = 0
        self.items_in_cell = 0

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def _newlines(self, n: int) -> None:
        text = "".join(self.out)
        have = len(text) - len(text.rstrip("\n")) if text.strip() else n
        self.out.append("\n" * max(0, n - have))

    def _trim(self) -> None:
        """Drop spaces at the end of the output (before a separator or a line break)."""
        while self.out and self.out[-1].endswith(" "):
            self.out[-1] = self.out[-1].rstrip(" ")
            if not self.out[-1]:
                self.out.pop()

    def _at_line_start(self) -> bool:
        text = "".join(self.out[-3:])
        return not text or text.endswith("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._VOID:
            if tag == "br" and not self.skipping:
                self.out.append("\n")
            return
        skip = self.skipping or tag in {"head", "style", "script", "title"} or ("data-text", "skip") in attrs
        self.stack.append((tag, skip))
        if skip:
            return
        if self.cell_depth:
            if tag == "li":
                if self.items_in_cell:
                    self._trim()
                    self.out.append("; ")
                self.items_in_cell += 1
            elif (tag in self._PARA or tag in self._LINE) and self.out and not self.out[-1].endswith(" "):
                self.out.append(" ")
            if tag in {"td", "th"}:
                self.cell_depth += 1
            return
        if tag in self._PARA:
            self._newlines(2)
        elif tag in self._LINE:
            self._newlines(1)
        if tag in {"ul", "ol"}:
            start = dict(attrs).get("start")
            self.lists.append([tag == "ol", int(start) - 1 if start and start.isdigit() else 0])
        elif tag == "li":
            indent = "  " * max(0, len(self.lists) - 1)
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.out.append(f"{indent}{self.lists[-1][1]}. ")
            else:
                self.out.append(f"{indent}- ")
        elif tag == "tr":
            self.cell_in_row = 0
        elif tag in {"td", "th"}:
            self._trim()
            if self.cell_in_row:
                self.out.append(" | ")
            self.cell_in_row += 1
            self.cell_depth += 1
            self.items_in_cell = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in self._VOID or not any(t == tag for t, _ in self.stack):
            return
        # Pop up to the matching open tag, closing anything left unclosed inside it.
        while self.stack:
            open_tag, skip = self.stack.pop()
            if not skip:
                if open_tag in {"td", "th"}:
                    self.cell_depth -= 1
                elif not self.cell_depth:
                    self._trim()
                    if open_tag in self._PARA:
                        self._newlines(2)
                    elif open_tag in self._LINE:
                        self._newlines(1)
                    if open_tag in {"ul", "ol"} and self.lists:
                        self.lists.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        text = re.sub(r"\s+", " ", data)
        if self._at_line_start() or (self.out and self.out[-1].endswith(" ")):
            text = text.lstrip()
        if text:
            self.out.append(text)

    def text(self) -> str:
        lines = [line.rstrip() for line in "".join(self.out).split("\n")]
        joined = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", joined).strip() + "\n"


def html_to_text(html: str) -> str:
    """Plain-text rendering of a letter, good enough for the body of an e-mail."""
    renderer = _TextRenderer()
    renderer.feed(html)
    renderer.close()
    return renderer.text()


__all__ = [
    "CATEGORIES",
    "GROUNDS",
    "LETTER_KINDS",
    "POWERS",
    "Detail",
    "LetterAuthority",
    "LetterParty",
    "LetterSchool",
    "LetterSpec",
    "RenderedLetter",
    "academic_year",
    "html_to_text",
    "render_letter",
    "ukdate",
    "ukwhen",
]
