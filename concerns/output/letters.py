"""Letters the local authority sends about a school causing concern: checks that need code, and rendering.

What each letter is (its title, the details it takes and their meaning, the checks that can be written
as data, its distribution list, who signs it, its sources) is data in `templates/letters/<kind>.toml`,
beside its template `<kind>.html.j2` (read by concerns.domain.letterspecs; an authority adds its own in
`$CONCERNS_POLICY_DIR/letters/`). This module keeps the checks that need code (`CHECKS`, named by a
file's `check = "<name>"`) and renders with one Jinja environment.

Why the module is strict:

* Statutory letters have required content (a warning notice must state the matters relied on, the
  action required, the compliance period and the action the authority is minded to take: EIA 2006
  s60(4)). A missing detail, an unknown one (a typo would silently drop content) or a value of the wrong
  type is refused before anything is rendered, and the template environment uses `StrictUndefined` as a
  second line of defence.
* Letters go to school-side recipients, so notes an officer marked confidential must never reach them
  (docs/decisions/0021-confidential-notes.md). Any detail key starting with "confidential", at any depth, is refused.
* Autoescaping is on: school names and officers' free text are data, not markup.

Letters name who signs them and who is copied by function (case lead, service head, director: see
concerns.domain.policy.FUNCTIONS); the authority's policy says which of its roles plays each.

Dates in letters are written the British way ("Wednesday 18 November 2026") by our own filter rather
than strftime, so the output does not depend on the process locale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment
from pydantic import Field, TypeAdapter, ValidationError

from concerns.domain.calendar import DayKind, WorkingDayCalendar
from concerns.domain.copylists import addressees_for, copies_for, recipient_rules
from concerns.domain.formatting import (
    academic_year,
    join_and,
    ukdate,
    ukwhen,
)
from concerns.domain.letterparties import (
    PARTIES,
    LetterParty,
    LetterSchool,
    closing,
    greeting_name,
    is_named,
    party_line,
)
from concerns.domain.lettersettings import LetterSetting
from concerns.domain.letterspecs import (
    BUILTIN_LETTERS,
    CASE_DATES,
    COMMON,
    LETTER_KINDS,
    TEMPLATES_DIR,
    Detail,
    LetterSpec,
    LetterSpecError,
    letter_dirs,
    letter_specs,
)
from concerns.domain.policy import FUNCTION_OF_PRODUCT_ROLE, FUNCTIONS
from concerns.domain.rules import DEFAULT_RULES, academy_order_position
from concerns.domain.tomlcheck import MAX_DEPTH, Strict, Text, problems, said, too_deep
from concerns.output import templating

# --- Dates on which the wording of a letter changes: looked up in the rule book (concerns/domain/rules.py) ---
# Education and Adoption Act 2016 s2: from this day the issuer sets the compliance period and the right
# to make representations to Ofsted ends. Notices given before it keep the old regime (SI 2016/466 reg 4).
WARNING_NOTICE_REGIME_CHANGE = DEFAULT_RULES.starts("warning_notice/issuer-sets-period")

# The role a policy without roles of its own gives each function (the policy's fallback, concerns.domain.policy).
_DEFAULT_ROLE = {function: role for role, function in FUNCTION_OF_PRODUCT_ROLE.items()}


# --- Context dataclasses (the school and its parties: concerns.domain.letterparties) --------------------


@dataclass(frozen=True)
class LetterAuthority:
    """The local authority sending the letter.

    officers: keyed by the policy's role keys. roles: function -> the policy's role key that plays it
    (Policy.role_for); without it, a policy without roles of its own. settings: the policy's own letter
    settings per kind (extra copies to its roles, who signs)."""

    name: str
    officers: dict[str, LetterParty]
    service: str | None = None
    address: str | None = None
    telephone: str | None = None
    email: str | None = None
    roles: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, LetterSetting] = field(default_factory=dict)
    policy_file: str = "the authority's policy"

    def role_of(self, who: str) -> str:
        """The role key for a function, or `who` itself when it is already a role key."""
        if who in FUNCTIONS:
            return self.roles.get(who) or _DEFAULT_ROLE[who]
        return who

    def officer(self, who: str, purpose: str) -> LetterParty:
        role = self.role_of(who)
        try:
            return self.officers[role]
        except KeyError:
            known = ", ".join(sorted(self.officers)) or "none"
            raise ValueError(
                f"{self.name} has no officer with role {role!r} ({purpose}); officers known: {known}"
            ) from None

    def holder(self, who: str) -> LetterParty | None:
        return self.officers.get(self.role_of(who))


@dataclass(frozen=True)
class RenderedLetter:
    kind: str
    title: str  # "Warning notice: Brook Lane Primary School"
    name: str  # "Warning notice": the letter without the school, for a sentence that names the school itself
    filename_stem: str
    html: str
    text: str
    addressees: list[LetterParty]
    copies: list[LetterParty]
    confidential: bool


# --- Checks that need code (named by a letter file's `check = "<name>"`) ----------------------------


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


Check = Callable[[dict[str, Any], LetterSchool, LetterAuthority, date, LetterSpec], dict[str, Any]]


def _meaning(spec: LetterSpec, detail: str, key: str) -> str:
    return next(d for d in spec.details if d.name == detail).meanings[key]


def _check_confirmation(v, school, authority, on, spec) -> dict[str, Any]:
    lead = authority.officer(v["lead_officer_role"] or "case_lead",
                             "named in the confirmation of concern as the lead officer")
    return {"lead": lead}


def _check_warning_notice(v, school, authority, on, spec) -> dict[str, Any]:
    given_on = v["given_on"] or on
    end = v["compliance_end"]
    legacy = given_on < WARNING_NOTICE_REGIME_CHANGE
    if legacy:
        # s60(1)(b) as enacted: the period beginning with the day given and ending with the 15th working
        # day following it. The case's deadline is the computed date (bank holidays and the authority's
        # closures); here bank holidays only: the authority's closures can only push the real end later.
        earliest = WorkingDayCalendar(DayKind.statutory).add_working_days(given_on, 15)
        _need(
            end >= earliest,
            f"warning_notice: a notice given on {ukdate(given_on)} is under the pre-18 April 2016 regime; "
            f"its period ends on the 15th working day following, which cannot be before {ukdate(earliest)} "
            f"(got compliance_end {ukdate(end)})",
        )
    else:
        _need(end > given_on, "warning_notice: compliance_end must be after the day the notice is given")
    if v["respond_by"] is not None:
        _need(given_on < v["respond_by"] <= end, "warning_notice: respond_by must fall within the compliance period")
    return {
        "given_on": given_on,
        "legacy": legacy,
        "grounds_text": [_meaning(spec, "grounds", key) for key in v["grounds"]],
        # "Her Majesty's" before the accession of King Charles III (rule crown/his-majesty); only legacy
        # notices (given before 2016) can predate it here.
        "hmci_title": f"{DEFAULT_RULES.in_force('crown', given_on).params['majesty']} Majesty's Chief Inspector",
    }
def _check_intervention_notice(v, school, authority, on, spec) -> dict[str, Any]:
    if v["representations_by"] is not None:
        _need(on < v["representations_by"] < v["powers_from"],
              "intervention_notice: representations_by must fall after the letter date and before powers_from")
    return {"powers_text": [_meaning(spec, "powers", key) for key in v["powers"]]}


class ActionRow(Strict):
    """One action of a statement of action's priority: what, who leads it, by when, and how it is watched."""

    action: Text
    lead: Text
    timescale: Text
    monitored_by: str = ""
    monitoring: str = ""
    resources: str = ""
    school_plan_link: str = ""


class PriorityRow(Strict):
    """One priority of a statement of action's plan: the issue, how success is judged, and its actions."""

    issue: Text
    success_criteria: Annotated[Text | Annotated[list[Text], Field(min_length=1)],
                                said("must be a non-empty text or list of texts")]
    evaluation: str = ""
    actions: Annotated[list[ActionRow], Field(min_length=1)]

    def row(self) -> dict[str, Any]:
        criteria = self.success_criteria
        return {"issue": self.issue, "success_criteria": [criteria] if isinstance(criteria, str) else list(criteria),
                "evaluation": self.evaluation, "actions": [a.model_dump() for a in self.actions]}


class AgendaItem(Strict):
    """One item of a School of Concern meeting's agenda (or just its title, as a text)."""

    title: Text
    lead: str = ""
    note: str = ""


def _rows(kind: str, detail: str, model: Any, values: list[Any]) -> list[Any]:
    """`values` checked against `model`, each problem a line naming the letter, the detail's key and value."""
    try:
        return TypeAdapter(list[model]).validate_python(values, strict=True)
    except ValidationError as exc:
        p = problems(exc, list[model], unknown="is not a detail of it (it takes: {keys})", at=(detail,))[0]
        if p.missing:
            parent, _, key = p.key.rpartition(".")
            raise ValueError(f"{kind}: {parent} needs: {key}") from None
        raise ValueError(f"{kind}: {p.key}: {p.sentence()}") from None


def _check_statement(v, school, authority, on, spec) -> dict[str, Any]:
    k = "statement_of_action"
    priorities = [row.row() for row in _rows(k, "priorities", PriorityRow, v["priorities"])]
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
    team = [p for f in ("service_head", "case_lead", "link_adviser") if (p := authority.holder(f)) is not None]
    return {
        "category_label": _meaning(spec, "category", v["category"]),
        "priorities": priorities,
        # The duty to make an academy order (Academies Act 2010 s4(A1)) followed the report's publication until
        # its repeal on 29 June 2026; from then the Secretary of State may, unless an order made under the duty
        # had effect before the repeal (Children's Wellbeing and Schools Act 2026 s58(9)). As the law stands on
        # the letter's date.
        "academy_order_duty": academy_order_position(v["published"], v["category"], as_of=on,
                                                     order_made_on=v["academy_order_on"])["duty"] == "must",
        "years": [academic_year(on, n) for n in range(3)],
        "support_team": team,
    }


def _check_agenda(v, school, authority, on, spec) -> dict[str, Any]:
    k = "soc_meeting_agenda"
    chair = authority.officer(v["chair_role"] or "service_head", "chairs the School of Concern meeting")
    lead = authority.officer(
        "case_lead", "lead local authority officer at the School of Concern meeting"
    )
    attendees = v["attendees"]
    if attendees is None:
        # Doncaster appendix 3: "Invited: Assistant Director Education or Head of Service, Headteacher,
        # Lead Local Authority Officer, Chair of Governors".
        attendees = [chair, school.headteacher, lead, school.chair]
    who = {
        "<lead officer>": f"{lead.name}, {lead.role} (lead local authority officer)",
        "<head and chair>": f"{party_line(school.headteacher)}, and {party_line(school.chair, 'the')}",
    }
    texts = [{"title": item} if isinstance(item, str) else item for item in v["items"]]
    items = [{"title": item.title, "lead": who.get(item.lead, item.lead), "note": item.note}
             for item in _rows(k, "items", AgendaItem, texts)]
    return {
        "chair_officer": chair,
        "lead": lead,
        "attendee_list": attendees,
        "agenda_items": items,
        "agenda_papers": v["papers"],
    }




CHECKS: dict[str, Check] = {
    "confirmation_of_concern": _check_confirmation,
    "warning_notice": _check_warning_notice,
    "statement_of_action": _check_statement,
    "soc_meeting_agenda": _check_agenda,
    "intervention_notice": _check_intervention_notice,
}


# --- Validation ---------------------------------------------------------------------------------


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


def _validate(kind: str, spec: LetterSpec, details: dict[str, Any], on: date) -> dict[str, Any]:
    deep = too_deep(details)
    if deep is not None:
        raise ValueError(f"{kind}: {deep} is nested more than {MAX_DEPTH} tables or lists deep: write it flatter")
    secret = _confidential_keys(details, "")
    if secret:
        raise ValueError(
            f"{kind}: refusing detail(s) {', '.join(secret)}: notes marked confidential never go into "
            f"letters to school-side recipients"
        )
    specs = {d.name: d for d in (*spec.details, *COMMON)}
    unknown = sorted(set(details) - set(specs))
    if unknown:
        raise ValueError(f"{kind} does not take: {', '.join(unknown)}; it takes: {', '.join(specs)}")
    missing = [d.name for d in spec.details if d.required and details.get(d.name) is None]
    if missing:
        raise ValueError(f"{kind} needs: {', '.join(missing)}")
    values: dict[str, Any] = {}
    for name, d in specs.items():
        value = details.get(name)
        if value is None and d.default is not None:
            value = d.default
        values[name] = None if value is None else d.normalise(kind, value)
    for check in spec.checks:
        if not check.holds({**values, "on": on}):
            raise ValueError(f"{kind}: {check.message}")
    return values


def spec_for(kind: str) -> LetterSpec:
    """The letter kind's spec, with its named check known to this module."""
    specs = letter_specs()
    spec = specs.get(kind)
    if spec is None:
        raise ValueError(f"unknown letter kind {kind!r}; kinds: {', '.join(specs)}")
    if spec.check is not None and spec.check not in CHECKS:
        raise LetterSpecError(f"{spec.path}: check = {spec.check!r}: no such check (checks: {', '.join(CHECKS)})")
    check_preconditions(spec)
    return spec


def check_preconditions(spec: LetterSpec) -> None:
    """The states and facts a letter's preconditions name are the machine's: one line naming the file, the
    key and the value otherwise (the domain cannot see the machine, so this is checked here, when used)."""
    from statemachines.pathways import KNOWN_FACTS, STATES

    pre = spec.preconditions
    if pre is None:
        return
    for key, states in [("preconditions.states", pre.states or ()),
                        *((f"preconditions.facts.{f.fact}.states", f.states or ()) for f in pre.facts),
                        *((f"preconditions.powers.{p.detail}.states", p.states) for p in pre.powers)]:
        unknown = [x for x in states if x not in STATES or x in ("start", "closed")]
        if unknown:
            raise LetterSpecError(f"{spec.path}: {key} = {unknown[0]!r}: not an open state of the pathways")
    known = {*CASE_DATES, *KNOWN_FACTS}
    for fact in pre.facts:
        if fact.fact not in known:
            raise LetterSpecError(f"{spec.path}: preconditions.facts.fact = {fact.fact!r}: not a fact a case records "
                                  f"(facts: {', '.join(sorted(known))})")


# --- Rendering ----------------------------------------------------------------------------------


@cache
def _environment(dirs: tuple[Path, ...]) -> Environment:
    """One environment for every letter: the built-in templates, then the authority's policy folder (its
    `letters/<kind>.html.j2` extend the built-in `letters/_base.html.j2`)."""
    # Every template here is HTML (letters/<kind>.html.j2): school names and officers' text are escaped.
    return templating.environment(TEMPLATES_DIR, *(d.parent for d in dirs if d != BUILTIN_LETTERS))


_ENV = _environment((BUILTIN_LETTERS,))


def environment() -> Environment:
    return _environment(letter_dirs())


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


# How a letter greets an addressee with no name on record, by the party it is.
_GREETING_FALLBACK = {"headteacher": "Headteacher", "chair": "Chair of Governors",
                      "governing_body": "Chair of Governors", "trust": "Chief Executive",
                      "regional_director": "Regional Director"}


def _salutation(kind: str, school: LetterSchool, on: date) -> tuple[str, bool]:
    """"Mrs Patel and Mr Jones", and whether every person greeted is greeted by name."""
    names: list[str] = []
    named = True
    for row in recipient_rules(kind, school, on=on, addressee=True):
        person = {"governing_body": school.chair, "trust": school.trust_contact}.get(
            row.party, school.headteacher if row.party == "headteacher" else
            school.chair if row.party == "chair" else None)
        fallback = _GREETING_FALLBACK.get(row.party, "Sir or Madam")
        named = named and is_named(person)
        if greeting_name(person, fallback) not in names:
            names.append(greeting_name(person, fallback))
    return (join_and(names), named) if names else ("Sir or Madam", False)


def _local_copies(kind: str, authority: LetterAuthority, school: LetterSchool, on: date) -> list[LetterParty]:
    """The authority's own extra copies of this letter: its roles (`copy`) and outside parties (`parties`)."""
    setting = authority.settings.get(kind)
    if setting is None:
        return []
    out = [party for key in setting.parties if (party := PARTIES[key](school, on)) is not None]
    for role in setting.copy:
        party = authority.officers.get(role)
        if party is None:
            raise ValueError(f"{setting.where}: letters.{kind}.copy names role {role!r}, "
                             f"which nobody holds in {authority.name}: record who holds it, or take it off the "
                             "policy's copy list")
        out.append(party)
    return out


def render_letter(
    kind: str, *, school: LetterSchool, authority: LetterAuthority, on: date, reference: str, **details: Any
) -> RenderedLetter:
    """Render one letter. Raises ValueError naming what is wrong before rendering anything."""
    spec = spec_for(kind)
    if not isinstance(school, LetterSchool):
        raise ValueError(f"{kind}: school must be a LetterSchool")
    if not isinstance(authority, LetterAuthority):
        raise ValueError(f"{kind}: authority must be a LetterAuthority")
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValueError(f"{kind}: on must be a date (the date of the letter)")
    if not (isinstance(reference, str) and reference.strip()):
        raise ValueError(f"{kind}: reference must be a non-empty text")

    values = _validate(kind, spec, details, on)

    if spec.maintained_only and not school.maintained:
        raise ValueError(
            f"{kind} applies only to maintained schools; {school.name} ({school.type_name}) is not "
            f"maintained: raise concerns about an academy with its trust and the Regional Director"
        )
    if spec.academy_only and school.maintained:
        raise ValueError(f"{kind} applies only to academies; {school.name} ({school.type_name}) is maintained "
                         "by the local authority")
    people = ("headteacher",) if spec.academy_only else ("headteacher", "chair")
    missing_people = [who for who in people if getattr(school, who) is None]
    if missing_people:
        raise ValueError(
            f"{kind}: the school record has no {' or '.join(missing_people)}; "
            f"add them before drafting letters to {school.name}"
        )

    extra = CHECKS[spec.check](values, school, authority, on, spec) if spec.check else {}
    setting = authority.settings.get(kind)
    signer = values["signatory_role"] or (setting.signatory if setting and setting.signatory else spec.signatory)
    signatory = authority.officer(signer, f"signs the {spec.title.lower()}")
    contact = authority.holder(spec.contact) or signatory

    given_on = extra.get("given_on", on)
    if "attendee_list" in extra:
        addressees = list(extra["attendee_list"])
        copies: list[LetterParty] = []
    else:
        addressees = addressees_for(kind, school, on=given_on)
        copies = copies_for(kind, school, "la", on=given_on)
    internal = [p for f in spec.internal_copies if (p := authority.holder(f)) is not None]
    copies = _dedupe([*copies, *internal, *_local_copies(kind, authority, school, on), *(values["extra_copies"] or [])],
                     exclude=[signatory, *addressees])

    confidential = spec.confidential if values["sensitive"] is None else values["sensitive"]
    title = f"{spec.title}: {school.name}"
    if "attendee_list" in extra:
        salutation = join_and([greeting_name(p, "colleague") for p in addressees])
        named = all(is_named(p) for p in addressees)
    else:
        salutation, named = _salutation(kind, school, given_on)
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
        "salutation": salutation,
        "closing": closing(named),
        "copies": copies,
        "confidential": confidential,
        "marking": "OFFICIAL-SENSITIVE" if confidential else "OFFICIAL",
    }
    html = environment().get_template(spec.template).render(context)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", f"{on.isoformat()}-{school.urn}-{kind}").strip("-").lower()
    return RenderedLetter(
        kind=kind,
        title=title,
        name=spec.title,
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
    "CHECKS",
    "check_preconditions",
    "LETTER_KINDS",
    "Detail",
    "LetterAuthority",
    "LetterParty",
    "LetterSchool",
    "LetterSpec",
    "RenderedLetter",
    "academic_year",
    "html_to_text",
    "render_letter",
    "spec_for",
    "ukdate",
    "ukwhen",
]
