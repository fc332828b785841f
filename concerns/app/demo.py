"""A demo authority, "Demoshire": 21 fictional schools across all five pathways.

Everything goes in through the same casework functions an officer's commands use, on fixed dates in
2023-2026, so the register, deadlines and histories are real outputs of the rules, not canned data.
Loading it twice changes nothing.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from concerns.casework import cases
from concerns.casework.people import add_person
from concerns.domain.judgements import Grade, Judgement, Outcome
from models import School

LA = "Demoshire"
D = date.fromisoformat

OFFICERS = [
    ("Alex Morgan", "alex.morgan@demoshire.example", "assistant_director"),
    ("Priya Shah", "priya.shah@demoshire.example", "senior_adviser"),
    ("Tom Evans", "tom.evans@demoshire.example", "link_adviser"),
    ("Ruth Okafor", "ruth.okafor@demoshire.example", "admin_officer"),
    ("Dr Helen Price", "director@demoshire.example", "director"),
]

# urn, name, GIAS type, diocese/trust
SCHOOLS = [
    ("990101", "Brook Lane Primary School", "Community school", None),
    ("990102", "St Mary's CE Primary School", "Voluntary aided school", "Diocese of Demoshire"),
    ("990103", "Hillside Academy", "Academy converter", "Peak Learning Trust"),
    ("990104", "Riverside Infant School", "Community school", None),
    ("990105", "Oakfield School", "Foundation school", None),
    ("990201", "Meadow View Primary School", "Community school", None),
    ("990202", "St Joseph's Catholic Primary School", "Voluntary aided school", "Catholic Diocese of Wenbury"),
    ("990203", "Castle Hill Junior School", "Community school", None),
    ("990301", "Northgate Primary School", "Community school", None),
    ("990302", "Park Road Nursery School", "Local authority nursery school", None),
    ("990303", "Westfield School", "Community school", None),
    ("990401", "Elm Tree Primary School", "Community school", None),
    ("990402", "Holy Trinity CE Primary School", "Voluntary controlled school", "Diocese of Demoshire"),
    ("990403", "Kingsway Primary School", "Community school", None),
    ("990404", "Bramble Hill Primary School", "Community school", None),
    ("990405", "Ashby Road Primary School", "Community school", None),
    ("990501", "Summit Academy", "Academy sponsor led", "Northern Star Trust"),
    ("990502", "Lakeside Free School", "Free schools", "Lakeside Education Trust"),
    ("990503", "Valley University Technical College", "University technical college", "Valley UTC Trust"),
    ("990601", "Greenfield Primary School", "Community school", None),
    ("990602", "Moorside Primary School", "Community school", None),
]

def _graded(published: str, outcome: Outcome, inspected: str | None = None) -> Judgement:
    return Judgement(published=D(published), inspected=D(inspected) if inspected else None, outcome=outcome)


def _card(published: str, safeguarding: str = "met", **areas: str) -> Judgement:
    base = {a: Grade.expected_standard for a in ("inclusion", "curriculum_and_teaching", "achievement",
                                                  "attendance_and_behaviour", "personal_development",
                                                  "leadership_and_governance")}
    base.update({a: Grade(g) for a, g in areas.items()})
    return Judgement(published=D(published), areas=base, safeguarding=safeguarding)


# Each school's history, in date order: ("inspection", Judgement) or ("event", name, on, extra).
HISTORY: dict[str, list[tuple]] = {
    "990101": [("inspection", _graded("2024-03-12", Outcome.requires_improvement)),
               ("event", "agree_improvement_plan", "2024-04-22", {"note": "Plan shows the way to good within two years"})],
    "990102": [("inspection", _graded("2022-06-15", Outcome.requires_improvement)),
               ("inspection", _graded("2024-06-20", Outcome.requires_improvement))],
    "990103": [("inspection", _card("2026-01-20", achievement="needs_attention"))],
    "990104": [("inspection", _graded("2021-05-10", Outcome.good)),
               ("inspection", _graded("2024-05-10", Outcome.requires_improvement)),
               ("event", "raise_concern", "2026-09-08", {"note": "Attendance decline and governance vacancies"}),
               ("event", "confirm_concern", "2026-09-15", {"note": "Confirmed in writing by the assistant director"})],
    "990105": [("inspection", _graded("2023-02-01", Outcome.requires_improvement)),
               ("inspection", _card("2026-03-05", leadership_and_governance="needs_attention"))],
    "990201": [("inspection", _card("2026-09-30", curriculum_and_teaching="urgent_improvement")),
               ("event", "submit_statement_of_action", "2026-10-12", {"note": "Sent to Ofsted"})],
    "990202": [("inspection", _card("2026-11-11", achievement="urgent_improvement",
                                    attendance_and_behaviour="needs_attention"))],
    "990203": [("inspection", _graded("2025-05-14", Outcome.serious_weaknesses)),
               ("event", "submit_statement_of_action", "2025-05-23", {}),
               ("event", "hmi_monitoring_visit", "2025-10-08", {"note": "First monitoring inspection"}),
               ("event", "hmi_monitoring_visit", "2026-03-11", {}),
               ("event", "hmi_monitoring_visit", "2026-06-24", {})],
    "990301": [("inspection", _graded("2026-11-04", Outcome.special_measures))],
    "990302": [("inspection", _graded("2026-02-10", Outcome.special_measures)),
               ("event", "submit_statement_of_action", "2026-02-20", {}),
               ("event", "academy_order_made", "2026-04-01", {"note": "Academy order under s4(A1)"}),
               ("event", "hmi_monitoring_visit", "2026-06-17", {})],
    "990303": [("inspection", _graded("2026-07-08", Outcome.special_measures)),
               ("event", "submit_statement_of_action", "2026-07-15", {}),
               ("event", "hmi_monitoring_visit", "2026-10-14", {})],
    "990401": [("event", "raise_concern", "2026-09-10", {"note": "Key stage 2 results fell sharply"}),
               ("event", "confirm_concern", "2026-09-17", {}),
               ("event", "progress_meeting", "2026-10-15", {"note": "Progress judged: some progress"})],
    "990402": [("event", "raise_concern", "2026-06-03", {"note": "Serious breakdown in governance"}),
               ("event", "confirm_concern", "2026-06-10", {}),
               ("event", "progress_meeting", "2026-07-08", {"note": "Insufficient progress"}),
               ("event", "warning_letter", "2026-10-01", {"note": "Letter from the director for schools"}),
               ("event", "warning_notice", "2026-10-20", {"until": "2026-12-04",
                                                          "note": "Governance: action plan and new chair required"})],
    "990403": [("event", "raise_concern", "2026-11-16",
                {"note": "Headteacher capability concerns", "confidential": True})],
    "990404": [("event", "raise_concern", "2026-03-02", {}),
               ("event", "confirm_concern", "2026-03-09", {}),
               ("event", "progress_meeting", "2026-03-25", {"note": "Insufficient progress"}),
               ("event", "warning_notice", "2026-06-10", {"until": "2026-07-10"}),
               ("event", "compliance_failed", "2026-07-14", {"note": "No credible plan received"}),
               ("event", "notice_of_intervention", "2026-07-21", {"note": "Written notice of intended IEB"}),
               ("event", "use_powers", "2026-09-01", {"note": "s65 interim executive board, SoS consent given"}),
               ("event", "progress_meeting", "2026-10-07", {})],
    "990405": [("event", "raise_concern", "2025-09-15", {}),
               ("event", "confirm_concern", "2025-09-22", {}),
               ("event", "progress_meeting", "2025-12-03", {}),
               ("event", "progress_meeting", "2026-03-18", {}),
               ("event", "remove_concern", "2026-07-15", {"note": "Sustained improvement; exit strategy agreed"})],
    "990501": [("inspection", _card("2026-10-14", leadership_and_governance="urgent_improvement",
                                    achievement="urgent_improvement")),
               ("event", "meet_trust", "2026-10-21", {"note": "CEO and chair of trustees"})],
    "990502": [("event", "raise_concern", "2026-09-22", {"note": "Complaints and exclusions rising"}),
               ("event", "meet_trust", "2026-10-01", {}),
               ("event", "request_action_plan", "2026-10-01", {}),
               ("event", "warning_letter", "2026-11-05", {"note": "We will tell the Secretary of State"})],
    "990503": [("inspection", _graded("2026-05-20", Outcome.serious_weaknesses)),
               ("event", "refer_to_regional_director", "2026-07-01", {})],
    "990601": [("inspection", _graded("2023-11-01", Outcome.requires_improvement)),
               ("inspection", _card("2026-06-10"))],
    "990602": [("inspection", _graded("2025-01-15", Outcome.special_measures)),
               ("event", "submit_statement_of_action", "2025-01-27", {}),
               ("event", "academy_order_made", "2025-03-03", {}),
               ("event", "convert_to_academy", "2026-08-31", {"note": "Opened as Moorside Academy"})],
}


def load_demo(session: Session) -> str:
    if session.get(School, SCHOOLS[0][0]) is not None:
        return f"Demo authority {LA} is already loaded; nothing changed."
    for urn, name, type_name, extra in SCHOOLS:
        church = extra if extra and extra.startswith("Diocese") else None
        trust = extra if extra and not church else None
        cases.add_school(session, urn, name=name, la=LA, type_name=type_name, diocese=church, trust=trust,
                            religious_character=("Church of England" if church == "Diocese of Demoshire"
                                                 else "Roman Catholic" if church else None))
    session.flush()
    for name, email, role in OFFICERS:
        add_person(session, name, email, role=role, la=LA)
    for urn, name, *_ in SCHOOLS:
        slug = urn[-3:]
        add_person(session, f"Headteacher of {name}", f"head{slug}@schools.demoshire.example",
                   role="headteacher", la=LA, urn=urn)
        add_person(session, f"Chair of governors of {name}", f"chair{slug}@schools.demoshire.example",
                   role="chair_of_governors", la=LA, urn=urn)
    events = 0
    for urn, steps in HISTORY.items():
        for step in steps:
            if step[0] == "inspection":
                cases.record_inspection(session, urn, step[1], source="demo", actor="demo")
            else:
                _, event, on, extra = step
                until = D(extra["until"]) if "until" in extra else None
                cases.record_event(session, urn, event, on=D(on), until=until, note=extra.get("note", ""),
                                      confidential=extra.get("confidential", False), actor="demo")
            events += 1
    return f"Loaded demo authority {LA}: {len(SCHOOLS)} schools, {len(OFFICERS)} officers, {events} recorded steps."
