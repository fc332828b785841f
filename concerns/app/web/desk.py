"""What the desk's pages show, read through the same views the CLI uses (no HTTP here)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from sqlmodel import Session, select

from concerns.casework import lacategories, views
from concerns.domain.drift import grouped, policy_drift
from concerns.domain.formatting import ukdate
from concerns.domain.policy import FUNCTION_OF_PRODUCT_ROLE, Policy, names_of, policy_for
from concerns.domain.rules import OFSTED_OWNED_KINDS, ofsted_owned
from concerns.domain.untrusted import BadInput, check_line, printable
from concerns.notify import wording
from concerns.notify.directory import Directory
from concerns.store.db import session_scope
from concerns.store.readcache import ReadCache
from models import Case, CaseEvent, Deadline, DeadlineNotice, Officer, RoleAssignment, School
from statemachines.deadlines import DECISION_KINDS
from statemachines.pathways import STEP_INDEX

ACRONYMS = {"la": "LA", "ri": "RI", "sm": "SM", "swk": "SWK", "hmi": "HMI", "aoc": "AoC", "soc": "SoC", "sos": "SoS",
            "iebs": "IEBs", "ieb": "IEB", "ce": "CE", "rd": "RD"}


def label(key: str | None) -> str:
    """An event, state or deadline key as words: submit_statement_of_action -> Submit statement of action."""
    words = (key or "").split("_")
    out = [ACRONYMS.get(w, w) for w in words]
    if out and out[0] == words[0]:
        out[0] = out[0].capitalize()
    return " ".join(out)


def timeline(session: Session, urn: str, as_of: date) -> list[tuple[dict, str]]:
    """Every event recorded on the school's cases, newest first, with its case's pathway: those dated after
    the desk's today too, marked `later`, for one of them is what makes a case refuse an earlier date."""
    rows = session.exec(select(CaseEvent, Case.pathway).join(Case, Case.id == CaseEvent.case_id)
                        .where(Case.urn == urn).order_by(CaseEvent.on.desc(), CaseEvent.id.desc())).all()
    return [({"event": e.event, "on": e.on.isoformat(), "until": e.until.isoformat() if e.until else None,
              "from_state": e.from_state, "to_state": e.to_state, "actor": e.actor, "note": e.note,
              "confidential": e.confidential, "later": e.on > as_of}, pathway) for e, pathway in rows]


# --- words, never keys ---------------------------------------------------------------------------------


def event_words(key: str | None) -> str:
    """An event as officers say it: appoint_ieb -> Interim executive board appointed."""
    return wording.sentence(wording.event(key))


def state_words(key: str | None) -> str:
    return wording.sentence(wording.state(key))


def pathway_words(key: str | None) -> str:
    return wording.sentence(wording.pathway(key))


def kind_words(key: str | None) -> str:
    return wording.sentence(wording.kind(key))


def category_words(key: str | None) -> str:
    """An Ofsted category on the register: 'SM' -> Special measures; 'LA' -> None (the authority's own concern)."""
    return wording.sentence(wording.category(key)) if key and key != "None" else "None"


def actor_words(actor: str | None) -> str:
    """Who recorded an event: an officer's e-mail or name as recorded; an account name from the command line
    (root, a service account) is not a person an officer knows."""
    actor = (actor or "").strip()
    if "@" in actor or " " in actor:
        return actor
    return "the casework system, outside the desk"


_KEY = re.compile(r"'?\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b'?")
_OPTION = {"--on": "the date", "--until": "the end of the compliance period", "--pathway": "the case",
           "--meeting": "the meeting", "--published": "the publication date", "--inspected": "the inspection date"}
_COMMAND = re.compile(r"[,;:]?\s*(?:(?:record|register) it(?: first)? )?with `[^`]*`")


def plain_message(message: str | None) -> str:
    """A refusal as an officer reads it: keys in words, dates in words, no option or command."""
    if not message:
        return ""
    text = _COMMAND.sub(" (ask your system administrator)", str(message))
    for option, words in _OPTION.items():
        text = text.replace(option, words)

    def key_words(match: re.Match) -> str:
        key = match[1]
        for table in (wording.EVENTS, wording.STATES, wording.PATHWAYS, wording.KINDS):
            if key in table:
                return f"“{table[key]}”" if match[0].startswith("'") else table[key]
        return wording.words(key)

    text = _KEY.sub(key_words, text)
    text = wording.plain_note(text)
    text = re.sub(r"\bearlier than\b", "before", text)
    return text[:1].upper() + text[1:]


# --- dates typed as day, month and year (the GOV.UK date pattern) -----------------------------------------

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")


class DateError(ValueError):
    """A date that cannot be read; the message says what is wrong, in words."""


def date_parts(day: date | str | None) -> dict[str, str]:
    """A date as the three fields show it: {'day': '5', 'month': '4', 'year': '2027'}."""
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            day = None
    if not isinstance(day, date):
        return {"day": "", "month": "", "year": ""}
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


def read_date(day: str, month: str, year: str, what: str) -> date:
    """The date in three typed fields, day first whatever the browser's language; `what` names it in the
    messages ("The date it happened must include a month"). A month may be typed as a number or a name."""
    day, month, year = (day or "").strip(), (month or "").strip().lower(), (year or "").strip()
    named = what[:1].upper() + what[1:]
    missing = [name for name, value in (("day", day), ("month", month), ("year", year)) if not value]
    if len(missing) == 3:
        raise DateError(f"Enter {what}.")
    if missing:
        raise DateError(f"{named} must include a {' and a '.join(missing)}.")
    if not month.isdigit():
        found = [i + 1 for i, m in enumerate(MONTHS) if len(month) >= 3 and m.startswith(month)]
        if len(found) != 1:
            raise DateError(f"{named}: the month must be a number from 1 to 12, or its name.")
        month = str(found[0])
    if not day.isdigit() or not year.isdigit():
        raise DateError(f"{named} must be a real date, in numbers: day, month and year.")
    if len(year) != 4:
        raise DateError(f"{named}: the year must have four numbers.")
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise DateError(f"{named} must be a real date: check the day and the month.") from None


class Responsibility:
    """Who answers for what in one authority: the directory of roles, climbing the management chain."""

    def __init__(self, session: Session, la: str):
        self.la = la
        self.directory = Directory(session, {la})
        self._reached: dict[tuple[str, str | None], list] = {}

    def people(self, role: str, urn: str | None) -> list:
        # Asked once per role, and per school only where the school has role holders of its own: a week of
        # thousands of deadlines asks about a handful of roles.
        key = (role, urn if urn in self.directory.own_schools else None)
        if key not in self._reached:
            self._reached[key] = self.directory.reach(self.la, role, key[1])[1]
        return self._reached[key]

    def is_mine(self, officer: Officer, role: str, urn: str | None) -> bool:
        people = self.people(role, urn)
        if people:
            return officer.email in {p.email.lower() for p in people}
        return role == officer.role

    def names(self, role: str, urn: str | None) -> list[str]:
        return [p.name for p in self.people(role, urn)] or [label(role)]


def week_bounds(as_of: date) -> tuple[date, date]:
    """The end of this week (Sunday) and the end of next week: "this week and next" runs from today to the
    Sunday of next week, so it is never just one day (on a Sunday it is today and the seven days after)."""
    end_of_week = as_of + timedelta(days=6 - as_of.weekday())
    return end_of_week, end_of_week + timedelta(days=7)


# The meeting an event form on the desk records: the form has no choice of meeting, so `progress_meeting`
# (casework.cases.record_event's own default) is the one kind a meeting recorded there meets.
DESK_MEETING = "progress_meeting"


def events_meeting(kind: str, state: str, allowed: list[str], policy: Policy) -> list[str]:
    """Of the events `allowed` on a case in `state`, those that meet a deadline of `kind`, read from the
    machine's table (a step's `meet`, and the meeting a meeting event records) and from the authority's
    policy (its own events' `meets`, its local deadlines' `met_by`): the form that closes the deadline."""
    found = []
    for event in allowed:
        meets = set(policy.met_by(event))
        for step in STEP_INDEX.get((event, state), []):
            meets.update(step.meet)
            if step.meets_requested_meeting:
                meets.add(DESK_MEETING)
        if kind in meets:
            found.append(event)
    return found


def event_link(urn: str, case: str, event: str) -> str:
    """The school page with the event form of the `case` (a pathway) set to `event`, scrolled to that form."""
    return f"/schools/{urn}?{urlencode({'event': event, 'case': case})}#{case}-event"


class OpenCases:
    """Each case's state and the events allowed on it on `as_of` (views.open_case_states), read for all the
    week's cases at once, for the links that close a deadline."""

    def __init__(self, session: Session, as_of: date):
        self.session, self.as_of = session, as_of
        self._cases: dict[int, dict | None] = {}

    def load(self, case_ids) -> None:
        wanted = [i for i in set(case_ids) if i not in self._cases]
        found = views.open_case_states(self.session, wanted, self.as_of)
        self._cases.update({i: found.get(i) for i in wanted})

    def case(self, urn: str, case_id: int) -> dict | None:
        if case_id not in self._cases:
            self.load([case_id])
        return self._cases[case_id]

    def actions(self, urn: str, case_id: int, kind: str, policy: Policy) -> list[dict]:
        """The links that close a deadline of `kind` on the case: one per event that meets it (a decision due
        has two: complied, not complied). None when no event recorded on the desk meets it (an inspection
        does, which comes from Ofsted's files)."""
        case = self.case(urn, case_id)
        if case is None:
            return []
        return [{"href": event_link(urn, case["pathway"], event), "event": event, "text": f"Record: {wording.event(event)}"}
                for event in events_meeting(kind, case["state"], case["allowed_events"], policy)]


def _with_actions(rows: list[dict], cases: OpenCases, policy: Policy) -> list[dict]:
    cases.load(row["case_id"] for row in rows)
    for row in rows:
        row["actions"] = cases.actions(row["urn"], row["case_id"], row["kind"], policy)
    return rows


# The desk's busiest pages, kept while the database is unchanged: an officer's week and the register's order
# and officers: a few hundred values (a week about 50 KB, an order of 2,681 schools about 200 KB), those of
# an older version dropped as newer ones come in.
PAGES = ReadCache(size=256)

# The week's sections, and how many rows each shows until the officer asks for all of them: an authority with
# thousands of open cases can give one officer hundreds of overdue deadlines, and a page of a thousand rows is
# slow to make and no use to read; the counts at the top are always whole.
WEEK_SECTIONS = ("overdue", "due", "decisions", "meetings", "expected", "escalations")
WEEK_ROWS = 50


def my_week(session: Session, officer: Officer, as_of: date, show_all: str | None = None) -> dict:
    """The officer's week on `as_of`: what is overdue, due this week and next, the decisions due, the meetings
    of this term (in a holiday, the next), Ofsted's dates and what was escalated to them; each deadline with the
    links to the form that closes it. Each section shows its first WEEK_ROWS rows, the one named `show_all`
    all of its rows. Kept while the database is unchanged (PAGES): read-only, like everything kept there."""
    policy = policy_for(officer.la)
    key = ("week", officer.id, officer.email, officer.role, officer.la, as_of, show_all, id(policy))
    return PAGES.get(session, key, lambda: _my_week(session, officer, as_of, show_all), pin=policy)


def _my_week(session: Session, officer: Officer, as_of: date, show_all: str | None) -> dict:
    def shown(section: str, rows: list[dict]) -> list[dict]:
        counts[section] = len(rows)
        return rows if show_all == section else rows[:WEEK_ROWS]

    counts: dict[str, int] = {}
    who = Responsibility(session, officer.la)
    policy = policy_for(officer.la)
    cases = OpenCases(session, as_of)
    end_of_week, horizon = week_bounds(as_of)
    mine = views.deadlines_view(session, as_of, within=(horizon - as_of).days, la=officer.la,
                                keep=lambda role, urn: who.is_mine(officer, role, urn))
    # A compliance period that has ended undecided is the school's obligation, not the officer's missed step:
    # the officer owes a decision (complied or not), so it has a section of its own, never "overdue".
    decisions = [r for r in mine if r["status"] == "missed" and r["kind"] in DECISION_KINDS]
    overdue = [r for r in mine if r["status"] == "missed" and r["kind"] not in DECISION_KINDS]
    due = [r for r in mine if r["status"] == "open" and not ofsted_owned(r["kind"])]
    # Ofsted's own dates (reinspection, HMI monitoring): watched, not owed, so apart, and never "missed".
    expected = [r for r in mine if ofsted_owned(r["kind"]) and r["status"] in ("open", "passed")]
    decisions, overdue = shown("decisions", decisions), shown("overdue", overdue)
    due, expected = shown("due", due), shown("expected", expected)
    for section in (decisions, overdue, due, expected):
        _with_actions(section, cases, policy)

    # The meetings the termly review scheduled this term (a case's facts keep them by term), from today to the
    # term's end; in a holiday, those of the next term. Only for cases whose meetings this officer answers for.
    term = policy.terms.current_or_next_term(as_of)
    meeting = policy.meeting()
    role = meeting.responsible if meeting else policy.responsible_for(DESK_MEETING)
    # A case has one scheduled meeting a term (its facts keep them by term): once a meeting is recorded on the
    # case in the term, the term's meeting is held and leaves the list.
    held = set(session.exec(select(CaseEvent.case_id).where(
        CaseEvent.event == DESK_MEETING, CaseEvent.on >= term.start, CaseEvent.on <= min(as_of, term.end))).all())
    meetings = []
    # The columns the list needs, not whole rows: a national authority has thousands of open cases.
    for case_id, pathway, scheduled, urn, name in session.exec(
            select(Case.id, Case.pathway, Case.facts["meetings"], School.urn, School.name)
            .join(School, School.urn == Case.urn)
            .where(School.la.in_(names_of(officer.la)), Case.closed.is_(None))).all():
        for on in (scheduled or {}).values():
            day = date.fromisoformat(on[:10])
            if (not (max(as_of, term.start) <= day <= term.end) or case_id in held
                    or not who.is_mine(officer, role, urn)):
                continue
            meetings.append({"on": on, "urn": urn, "name": name, "pathway": pathway,
                             "what": meeting.name if meeting else "Progress meeting", "case_id": case_id,
                             "kind": DESK_MEETING})
    meetings.sort(key=lambda m: (m["on"], m["urn"]))
    meetings = shown("meetings", meetings)
    _with_actions(meetings, cases, policy)

    # Missed deadlines escalated to this officer (their role is the responsible role's manager) and still owed.
    # An Ofsted date is never owed: one escalated before that rule (an older database) is not shown.
    escalations = []
    for notice, deadline, school in session.exec(
            select(DeadlineNotice, Deadline, School).join(Deadline, Deadline.id == DeadlineNotice.deadline_id)
            .join(School, School.urn == Deadline.urn)
            .where(School.la.in_(names_of(officer.la)), DeadlineNotice.step == "escalated", Deadline.met_on.is_(None),
                   Deadline.kind.not_in(OFSTED_OWNED_KINDS),
                   Deadline.cancelled_on.is_(None), DeadlineNotice.for_date <= as_of)
            .order_by(Deadline.due, Deadline.id)).all():
        if who.is_mine(officer, notice.recipient_role, school.urn):
            escalations.append({"urn": school.urn, "name": school.name, "kind": deadline.kind,
                                "due": deadline.due.isoformat(), "escalated_on": notice.for_date.isoformat(),
                                "responsible": deadline.responsible,
                                "responsible_names": who.names(deadline.responsible, school.urn),
                                "case_id": deadline.case_id})
    escalations = shown("escalations", escalations)
    _with_actions(escalations, cases, policy)
    return {"as_of": as_of.isoformat(), "end_of_week": end_of_week.isoformat(), "horizon": horizon.isoformat(),
            "overdue": overdue, "due": due, "decisions": decisions, "meetings": meetings,
            "term": {"name": term.name, "start": term.start.isoformat(), "end": term.end.isoformat(),
                     "now": term.start <= as_of},
            "expected": expected, "escalations": escalations, "counts": counts, "rows_shown": WEEK_ROWS}


# --- the register: one page at a time ------------------------------------------------------------------

PAGE_SIZE = 50
PAGE_SIZES = range(10, 501)  # a page of up to 500 schools stays quick; the CSV has them all
CSV_CHUNK = 500  # schools read from the database at a time for the CSV
SORT_TITLES = {"urn": "URN", "name": "School", "pathway": "Pathway", "state": "State", "category": "Ofsted category",
               "la_category": "Our category", "officer": "Officer", "next": "Next deadline"}
ORDERS = {"asc": False, "desc": True}


class RegisterRefused(ValueError):
    """A register address with a value the desk does not offer: one line, in words."""


@dataclass(frozen=True)
class RegisterAsk:
    filters: views.RegisterFilters
    sort: str = "urn"
    descending: bool = False
    page: int = 1
    size: int = PAGE_SIZE


def _whole_number(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise RegisterRefused(f"The {what} {printable(text[:40])!r} is not a whole number.")
    return int(text)


def register_ask(params) -> RegisterAsk:
    """What a register address asks for, each value checked: an unknown sort, order, page or size is refused."""
    get = lambda key: (params.get(key) or "").strip()  # noqa: E731
    sort, order = get("sort") or "urn", get("order") or "asc"
    if sort not in SORT_TITLES:
        raise RegisterRefused(f"The register cannot be sorted by {printable(sort[:40])!r}: "
                              "choose a column heading to sort by.")
    if order not in ORDERS:
        raise RegisterRefused(f"The order {printable(order[:40])!r} is neither ascending nor descending: "
                              "choose a column heading to sort by.")
    page = _whole_number(get("page") or "1", "page number")
    size = _whole_number(get("size") or str(PAGE_SIZE), "page size")
    if page < 1:
        raise RegisterRefused(f"There is no page {page}: pages are counted from 1.")
    if size not in PAGE_SIZES:
        raise RegisterRefused(f"A page of {size} schools is not offered: choose from {PAGE_SIZES.start} to "
                              f"{PAGE_SIZES.stop - 1} schools a page.")
    filters = views.RegisterFilters(pathway=get("pathway"), category=get("category"),
                                    la_category=get("la_category"), officer=get("officer"))
    for what, value in (("pathway", filters.pathway), ("category", filters.category),
                        ("our category", filters.la_category), ("officer", filters.officer)):
        try:
            check_line(value, f"The {what}", limit=200)
        except BadInput as refused:
            raise RegisterRefused(str(refused)) from None
    return RegisterAsk(filters, sort, ORDERS[order], page, size)


def register_officers(session: Session, officer: Officer, as_of: date
                      ) -> tuple[views.RegisterOfficers, views.RegisterOverview]:
    """Who answers for each school's live deadlines, resolved once per set of roles (and per school only
    where the school's own role holders change the answer). Names in alphabetical order, so that the
    Officer column sorts as it reads."""
    who = Responsibility(session, officer.la)
    policy = policy_for(officer.la)
    roles = tuple(views.live_deadline_roles(session, as_of, officer.la))
    default = policy.responsible_for("*")

    def roles_of(mask: int) -> list[str]:
        return [r for i, r in enumerate(roles) if mask >> i & 1] or [default]

    def names(mask: int, urn: str | None) -> tuple[str, ...]:
        return tuple(sorted({n for role in roles_of(mask) for n in who.names(role, urn)}))

    own = session.exec(select(RoleAssignment.urn).where(RoleAssignment.urn.is_not(None),
                                                        RoleAssignment.urn.in_(select(School.urn).where(
                                                            School.la.in_(names_of(officer.la)))))
                       .distinct()).all()
    differ = [u for u in own if any(who.names(role, u) != who.names(role, None) for role in (*roles, default))]
    overview = views.register_overview(session, as_of, officer.la, roles, differ)
    officers = views.RegisterOfficers(roles=roles, by_mask={m: names(m, None) for m in overview.masks},
                                      by_urn={u: names(m, u) for u, m in overview.own.items()})
    return officers, overview


def register_page(session: Session, officer: Officer, as_of: date, ask: RegisterAsk) -> dict:
    """One page of the register for the officer's authority, its count, and the filters' choices. Who
    answers for what, and the register's order, are kept while the database is unchanged (PAGES): a page is
    then the page's own schools read, whatever the authority's size."""
    policy = policy_for(officer.la)
    officers, overview = PAGES.get(session, ("register officers", officer.la, as_of, id(policy)),
                                   lambda: register_officers(session, officer, as_of), pin=policy)
    order = PAGES.get(session, ("register order", officer.la, as_of, id(policy), ask.filters, ask.sort,
                                ask.descending),
                      lambda: views.register_order(session, as_of, officer.la, officers=officers,
                                                   filters=ask.filters, sort=ask.sort, descending=ask.descending),
                      pin=policy)
    offset = (ask.page - 1) * ask.size
    total = len(order)
    rows = views.register_rows(session, as_of, officer.la, officers, list(order[offset:offset + ask.size]))
    pages = max(1, -(-total // ask.size))
    if ask.page > pages:
        raise RegisterRefused(f"There is no page {ask.page}: this list has {pages} page{'' if pages == 1 else 's'}"
                              f" of {ask.size} schools.")
    choices = {"pathway": overview.pathways, "category": overview.categories,
               "officer": sorted({n for names in (*officers.by_mask.values(), *officers.by_urn.values())
                                  for n in names}),
               "la_category": [lv.label for lv in policy_for(officer.la).categories.levels]}
    return {"rows": rows, "total": total, "page": ask.page, "pages": pages, "size": ask.size,
            "first": offset + 1 if rows else 0, "last": offset + len(rows), "choices": choices}


def page_numbers(page: int, pages: int) -> list[int | None]:
    """The page links to show: the first, the last and those around this one; None for a gap (…)."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is written as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_HEADER = ["URN", "School", "Maintained", "Pathway", "Also on", "Where it stands", "Ofsted category",
              "Our category", "Stuck", "Officers", "Next deadline", "Next deadline due", "Missed deadlines"]


def _csv_line(values) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return out.getvalue()


def register_csv_line(r: dict) -> str:
    """One school as a CSV line, in words as the page shows it: a spreadsheet is read by people too."""
    nxt = r["next_deadline"]
    also = "; ".join(pathway_words(c["pathway"]) for c in r.get("cases", []) if c["pathway"] != r["pathway"])
    due = ukdate(date.fromisoformat(r["next_due"]), weekday=False) if r["next_due"] else ""
    return _csv_line((r["urn"], r["name"], "yes" if r["maintained"] else "no",
                      pathway_words(r["pathway"]), also, state_words(r["state"]),
                      category_words(str(r["category"]) if r["category"] else None),
                      r["la_category_text"], "yes" if r["stuck"] else "no",
                      "; ".join(r["officers"]), kind_words(nxt["kind"]) if nxt else "", due, r["missed"]))


def register_csv(db_url: str | None, officer: Officer, as_of: date, ask: RegisterAsk) -> Iterator[str]:
    """The whole filtered, sorted register as CSV, read from the database CSV_CHUNK schools at a time, in
    its own read-only unit of work (a streamed response outlives the request's)."""
    yield _csv_line(CSV_HEADER)
    with session_scope(db_url, writes=False) as session:
        officers, _ = register_officers(session, officer, as_of)
        offset = 0
        while True:
            rows, _ = views.register_page(session, as_of, officer.la, officers=officers, filters=ask.filters,
                                          sort=ask.sort, descending=ask.descending, offset=offset,
                                          limit=CSV_CHUNK)
            yield "".join(register_csv_line(r) for r in rows)
            if len(rows) < CSV_CHUNK:
                return
            offset += CSV_CHUNK


# Who sets the authority's categories on the desk: the functions that lead casework and the service.
SETS_CATEGORIES = ("case_lead", "service_head", "director")


def may_set_categories(officer: Officer) -> bool:
    policy = policy_for(officer.la)
    role = policy.roles.get(officer.role)
    return role is not None and role.acts_as in SETS_CATEGORIES


def categorisation(session: Session, officer: Officer, as_of: date) -> dict:
    """The year's proposals for the officer's authority, each with the authority's decision, if made."""
    policy = policy_for(officer.la)
    rows = lacategories.proposals(session, as_of, la=officer.la)
    decided = sum(1 for r in rows if r["decided"])
    return {"rows": rows, "levels": policy.categories.levels, "year": rows[0]["year"] if rows else
            lacategories.year_for(policy, as_of), "decided": decided, "to_decide": len(rows) - decided,
            "timing": policy.categorisation, "may_set": may_set_categories(officer)}


# Who sees where the authority's own procedure has fallen behind the law: those who own the procedure.
SEES_PROCEDURE = ("service_head", "director")


def may_see_procedure(officer: Officer | None) -> bool:
    if officer is None:
        return False
    role = policy_for(officer.la).roles.get(officer.role)
    acts_as = role.acts_as if role is not None else FUNCTION_OF_PRODUCT_ROLE.get(officer.role)
    return acts_as in SEES_PROCEDURE


def procedure_and_the_law(officer: Officer, as_of: date) -> dict:
    """The officer's authority's procedure and where the law has moved past what it says, on `as_of`."""
    policy = policy_for(officer.la)
    rows = policy_drift(policy, as_of)
    groups = grouped(rows)
    return {"authority": policy.authority if policy.key != "default" else officer.la,
            "procedure": policy.procedure, "statements": groups[0]["statements"] if groups else [],
            "on": as_of}
