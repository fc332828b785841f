"""The letter forms' fields: structured details as rows of labelled fields, dates as Day, Month and Year,
roles chosen from the authority's; the details the desk gives are the details file the command line takes,
and a form submitted twice does its work once."""

from __future__ import annotations

import html
import re

import pytest
from sqlmodel import select

from concerns.app.web.letterform import details_from_form
from concerns.notify.drafting import read_details
from concerns.store.db import session_scope
from models import LaCategory, Letter, Notification
from tests.conftest import table_dump
from tests.web.conftest import Desk, error_summary


def form_fields(page: str) -> dict[str, str]:
    """The letter form's fields as a browser sends them: inputs with their values, textareas, the chosen
    option of each select (no button: the officer chooses which one to press)."""
    form = re.search(r'<form method="post" action="[^"]*/letters(?:/preview)?".*?</form>', page, re.S).group(0)
    fields = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        kind = (re.search(r'type="([^"]+)"', tag) or [None, "text"])[1]
        if name and (kind not in ("checkbox", "radio") or " checked" in tag):
            fields[name[1]] = html.unescape(value[1]) if value else ""
    for name, text in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = html.unescape(text)
    for name, options in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        fields[name] = chosen[1] if chosen else ""
    return fields


def day(prefix: str, d: int, m: int, y: int) -> dict[str, str]:
    return {f"{prefix}_day": str(d), f"{prefix}_month": str(m), f"{prefix}_year": str(y)}


# For each letter kind with structured details: what the officer types on the desk, and the details file
# they would write for `concerns letter draft` to say the same.
CASES = {
    "confirmation_of_concern": ("100002", (), {
        "concerns": "Attendance has fallen for three terms\r\nGovernors lack data",
        "next_steps-0-text": "Agree an attendance plan", **day("next_steps-0-by", 4, 12, 2026),
        "next_steps-1-text": "Termly review meetings",
        # next_steps-2: left empty, and ignored
        "review_cadence": "each term",
        **day("first_review", 8, 1, 2027), "first_review_hour": "10", "first_review_minute": "30",
        "lead_officer_role": "assistant_director",
    }, """
discussed_on = 2026-11-02
concerns = ["Attendance has fallen for three terms", "Governors lack data"]
next_steps = [{ text = "Agree an attendance plan", by = 2026-12-04 }, "Termly review meetings"]
review_cadence = "each term"
first_review = 2027-01-08T10:30:00
lead_officer_role = "assistant_director"
"""),
    "warning_letter": ("100002", (("confirm_concern", "2026-11-09"),), {
        "concerns": "Attendance has not improved",
        "actions-0-text": "Appoint an attendance lead", **day("actions-0-by", 11, 12, 2026),
        "actions-1-text": "Report to governors each half term",
        **day("complete_by", 26, 3, 2027),
        "review_meeting_day": "15", "review_meeting_month": "January", "review_meeting_year": "2027",
    }, """
concern_confirmed_on = 2026-11-09
concerns = ["Attendance has not improved"]
actions = [{ text = "Appoint an attendance lead", by = 2026-12-11 }, "Report to governors each half term"]
complete_by = 2027-03-26
review_meeting = 2027-01-15
"""),
    "statement_of_action": ("100001", (), {
        **day("inspection_date", 14, 10, 2026), **day("action_by", 30, 7, 2027),
        "context": "The school was judged to require special measures.",
        "viability": "The school is viable.", "action_before": "Core support each half term.",
        "action_after": "Progress review meetings each month.", "parent_arrangements": "A meeting for parents.",
        "support": "Leadership coaching.", "powers": "No further powers are needed now.",
        "priorities-rows": "2",
        "priorities-0-issue": "Leadership and management",
        "priorities-0-success_criteria": "Governors challenge leaders\r\nPlans are costed",
        "priorities-0-actions-0-action": "Coach the headteacher", "priorities-0-actions-0-lead": "Senior adviser",
        "priorities-0-actions-0-timescale": "By the end of the spring term",
        "priorities-0-actions-0-monitored_by": "Assistant director",
        "priorities-0-actions-1-action": "Review of governance", "priorities-0-actions-1-lead": "Chair of governors",
        "priorities-0-actions-1-timescale": "By February half term",
        "priorities-1-issue": "Quality of education", "priorities-1-success_criteria": "Reading improves",
        "priorities-1-evaluation": "Termly reading checks",
        "priorities-1-actions-0-action": "Phonics training", "priorities-1-actions-0-lead": "English lead",
        "priorities-1-actions-0-timescale": "This term",
        "roll-0-net_capacity": "210", "roll-0-projections-0": "180", "roll-0-projections-1": "175",
        "roll-0-projections-2": "1,170",
        "nearby_schools-0-name": "Oak Primary", "nearby_schools-0-available": "30",
        "nearby_schools-0-projections-0": "200", "nearby_schools-0-projections-1": "205",
        "nearby_schools-0-projections-2": "210",
        "time_allocation-0-who": "Sam Adviser", "time_allocation-0-activities": "Coaching the head",
        "time_allocation-0-days": "6.5",
    }, """
category = "special_measures"
inspection_date = 2026-10-14
published = 2026-11-04
due = {due}
action_by = 2027-07-30
context = ["The school was judged to require special measures."]
viability = ["The school is viable."]
action_before = ["Core support each half term."]
action_after = ["Progress review meetings each month."]
parent_arrangements = ["A meeting for parents."]
support = ["Leadership coaching."]
powers = ["No further powers are needed now."]
roll = { net_capacity = 210, projections = [180, 175, 1170] }
nearby_schools = [{ name = "Oak Primary", available = 30, projections = [200, 205, 210] }]
time_allocation = [{ who = "Sam Adviser", activities = "Coaching the head", days = 6.5 }]

[[priorities]]
issue = "Leadership and management"
success_criteria = ["Governors challenge leaders", "Plans are costed"]
actions = [
    { action = "Coach the headteacher", lead = "Senior adviser", timescale = "By the end of the spring term", monitored_by = "Assistant director" },
    { action = "Review of governance", lead = "Chair of governors", timescale = "By February half term" },
]

[[priorities]]
issue = "Quality of education"
success_criteria = ["Reading improves"]
evaluation = "Termly reading checks"
actions = [{ action = "Phonics training", lead = "English lead", timescale = "This term" }]
"""),
    "soc_meeting_agenda": ("100002", (), {
        **day("meeting_at", 14, 12, 2026), "meeting_at_hour": "16", "meeting_at_minute": "00",
        "venue": "The school library", **day("papers_due", 7, 12, 2026), **day("minutes_due", 21, 12, 2026),
        "attendees-0-name": "Ann Director", "attendees-0-role": "Assistant director",
        "attendees-0-email": "ann.assistant@testshire.example",
        "attendees-1-name": "Head of beech", "attendees-1-role": "Headteacher",
        "items-0-title": "Welcome", "items-0-lead": "The chair",
        "items-1-title": "Progress against the plan", "items-1-note": "Papers attached",
        "papers": "The school's plan\r\nAttendance figures",
        "chair_role": "senior_adviser",
    }, """
meeting_at = 2026-12-14T16:00:00
venue = "The school library"
papers_due = 2026-12-07
minutes_due = 2026-12-21
attendees = [
    { name = "Ann Director", role = "Assistant director", email = "ann.assistant@testshire.example" },
    { name = "Head of beech", role = "Headteacher" },
]
items = [{ title = "Welcome", lead = "The chair" }, { title = "Progress against the plan", note = "Papers attached" }]
papers = ["The school's plan", "Attendance figures"]
chair_role = "senior_adviser"
"""),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_desk_and_the_command_line_draft_the_same_letter_from_the_same_facts(desk, cli, tmp_path, kind):
    urn, events, typed, toml = CASES[kind]
    for event, on in events:
        cli.ok("event", urn, event, "--on", on)
    page = f"/schools/{urn}/letters/new?kind={kind}"
    shown = desk.client.get(page)
    assert shown.status_code == 200, shown.text
    data = {**form_fields(shown.text), **typed, "step": "draft"}
    due = "-".join(f"{int(data.get(f'due_{p}', 0) or 0):02d}" for p in ("year", "month", "day"))
    details_file = tmp_path / "details.toml"
    details_file.write_text(toml.replace("{due}", due), encoding="utf-8")
    from concerns.app.web.letterform import roles_of
    from concerns.domain.policy import policy_for

    assert details_from_form(kind, data, {k: [v] for k, v in data.items()},
                             roles_of(policy_for("Testshire"))) == read_details(details_file)
    preview = desk.client.post(f"/schools/{urn}/letters/preview", data=data)
    assert preview.status_code == 200, error_summary(preview.text)
    saved = desk.client.post(f"/schools/{urn}/letters", data=form_fields(preview.text) | {"step": "draft"})
    assert saved.status_code == 303 and "done=drafted" in saved.headers["location"], error_summary(saved.text)
    # The same letter: the command line finds the desk's letter (same school, kind, date and details).
    out = cli.ok("letter", "draft", urn, kind, "--on", "2026-11-16", "--details", str(details_file))
    assert out.startswith("Already drafted"), out
    with session_scope(desk.url) as session:
        assert len(session.exec(select(Letter).where(Letter.kind == kind)).all()) == 1


def test_add_another_shows_one_more_row_and_writes_nothing(desk):
    page = "/schools/100001/letters/new?kind=statement_of_action"
    first = desk.client.get(page).text
    assert 'id="f-priorities-0-issue"' in first and 'id="f-priorities-1-issue"' not in first
    before = table_dump(desk.url)
    data = {**form_fields(first), "priorities-0-issue": "Leadership", "add": "priorities"}
    more = desk.client.post("/schools/100001/letters/preview", data=data)
    assert more.status_code == 200
    assert 'id="f-priorities-1-issue"' in more.text and 'value="Leadership"' in more.text
    assert "Priority 2" in more.text
    # An action more in the second priority, and the first keeps its two.
    again = desk.client.post("/schools/100001/letters/preview",
                             data={**form_fields(more.text), "add": "priorities-1-actions"})
    assert 'id="f-priorities-1-actions-2-action"' in again.text
    assert 'id="f-priorities-0-actions-2-action"' not in again.text
    assert table_dump(desk.url) == before


CONFIRMATION = {"concerns": "Attendance", "next_steps-0-text": "Plan", "review_cadence": "each term"}


@pytest.mark.parametrize("typed, field, says", [
    (day("on", 31, 2, 2027), "f-on", "The date of the letter must be a real date: check the day and the month."),
    (day("on", 5, 12, 20262), "f-on", "The date of the letter: the year must have four numbers."),
    (day("next_steps-0-by", 31, 2, 2027), "f-next_steps-0-by",
     "Item 1, due by must be a real date: check the day and the month."),
    ({**day("first_review", 8, 1, 2027), "first_review_hour": "25"}, "f-first_review-hour",
     "First review: the hour must be a number from 0 to 23."),
    ({"lead_officer_role": "head_gardener"}, "f-lead_officer_role",
     "Lead officer role: “head gardener” is not one of the authority's roles: choose from the list."),
    (day("next_steps-0-by", 4, 12, 2062), "f-next_steps-0-by",
     "Item 1, due by: 4 December 2062 is more than 1830 days after today: check the year"),
    (day("first_review", 4, 12, 1800), "f-first_review", "First review: 4 December 1800 is before 1992: check the year"),
    ({"next_steps-0-text": "", **day("next_steps-0-by", 4, 12, 2026)}, "f-next_steps-0-text",
     "Item 1: enter what."),
])
def test_a_bad_field_is_refused_in_one_line_linking_to_it(desk, typed, field, says):
    page = "/schools/100002/letters/new?kind=confirmation_of_concern"
    data = {**form_fields(desk.client.get(page).text), **CONFIRMATION, **typed}
    before = table_dump(desk.url)
    for action in ("/schools/100002/letters/preview", "/schools/100002/letters"):
        response = desk.client.post(action, data=data)
        assert response.status_code == 400
        assert error_summary(response.text) == says
        assert f'<a href="#{field}">' in response.text and f'id="{field}"' in response.text
    assert table_dump(desk.url) == before


def test_a_number_that_is_not_one_is_refused_naming_it(desk):
    page = "/schools/100001/letters/new?kind=statement_of_action"
    data = {**form_fields(desk.client.get(page).text), **CASES["statement_of_action"][2], "time_allocation-0-days": "six"}
    response = desk.client.post("/schools/100001/letters/preview", data=data)
    assert response.status_code == 400
    assert error_summary(response.text) == "Person 1, days allotted: “six” is not a number."


def test_the_form_has_no_browser_date_box_and_no_details_box(desk):
    for page in ("/schools/100002/letters/new?kind=confirmation_of_concern",
                 "/schools/100002/letters/new?kind=soc_meeting_agenda",
                 "/schools/100001/letters/new?kind=statement_of_action"):
        text = desk.client.get(page).text
        assert 'type="date"' not in text and 'type="datetime-local"' not in text and 'name="more"' not in text
        assert "<legend>Date of the letter</legend>" in text
    agenda = desk.client.get("/schools/100002/letters/new?kind=soc_meeting_agenda").text
    assert 'id="f-meeting_at-hour"' in agenda and "<label for=\"f-meeting_at-minute\">Minute</label>" in agenda
    roles = re.search(r'<select id="f-chair_role".*?</select>', agenda, re.S).group(0)
    assert ">Assistant director<" in roles and ">Director of children&#39;s services<" in roles


# --- a form submitted twice does its work once ------------------------------------------------------------


def _preview(desk: Desk) -> str:
    page = "/schools/100002/letters/new?kind=confirmation_of_concern"
    data = {**form_fields(desk.client.get(page).text), **CONFIRMATION}
    preview = desk.client.post("/schools/100002/letters/preview", data=data)
    assert preview.status_code == 200, error_summary(preview.text)
    return preview.text


@pytest.mark.parametrize("step", ["draft", "send"])
def test_a_double_submit_of_the_letter_save_drafts_and_sends_once(desk, step):
    data = {**form_fields(_preview(desk)), "step": step}
    assert data.get("form_token")
    first = desk.client.post("/schools/100002/letters", data=data)
    assert first.status_code == 303
    with session_scope(desk.url) as session:
        mails = len(session.exec(select(Notification).where(Notification.kind == "letter")).all())
    assert (mails > 0) == (step == "send")
    for _ in range(3):
        again = desk.client.post("/schools/100002/letters", data=data)
        assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    with session_scope(desk.url) as session:
        assert len(session.exec(select(Letter)).all()) == 1
        assert len(session.exec(select(Notification).where(Notification.kind == "letter")).all()) == mails


def test_a_double_submit_of_the_send_form_sends_once(desk):
    saved = desk.client.post("/schools/100002/letters", data={**form_fields(_preview(desk)), "step": "draft"})
    letter = saved.headers["location"].split("?")[0]
    page = desk.client.get(letter).text
    form = re.search(r'<form method="post" action="[^"]*/send">.*?</form>', page, re.S).group(0)
    data = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))
    assert data.get("form_token")
    first = desk.client.post(f"{letter}/send", data=data)
    assert first.status_code == 303 and "done=sent" in first.headers["location"]
    with session_scope(desk.url) as session:
        mails = len(session.exec(select(Notification).where(Notification.kind == "letter")).all())
    assert mails > 0
    again = desk.client.post(f"{letter}/send", data=data)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    with session_scope(desk.url) as session:
        assert len(session.exec(select(Notification).where(Notification.kind == "letter")).all()) == mails


def test_a_double_submit_of_the_category_form_records_one_category(authority, cli):
    from tests.web.conftest import add_desk_user

    assert add_desk_user(cli, "ann.assistant@testshire.example", "assistant_director", "Testshire")[0] == 0
    head = Desk(authority)
    assert head.sign_in("ann.assistant@testshire.example").status_code == 303
    page = head.client.get("/categories").text
    form = re.search(r'<form method="post" action="/categories/100001".*?</form>', page, re.S).group(0)
    data = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))
    level = re.search(r'<option value="([^"]+)"', form)[1]
    data.update({"level": level, "reason": "Special measures since November"})
    assert data.get("form_token")
    first = head.client.post("/categories/100001", data=data)
    assert first.status_code == 303
    for _ in range(3):
        again = head.client.post("/categories/100001", data=data)
        assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    with session_scope(authority) as session:
        assert len(session.exec(select(LaCategory).where(LaCategory.urn == "100001")).all()) == 1


# --- on a phone, and to axe-core -------------------------------------------------------------------------

FORMS = ["/schools/100001/letters/new?kind=statement_of_action",
         "/schools/100002/letters/new?kind=confirmation_of_concern",
         "/schools/100002/letters/new?kind=soc_meeting_agenda"]


@pytest.mark.browser
def test_the_letter_forms_fit_a_phone_and_axe_finds_no_violation(desk, chromium):
    from axe_playwright_python.sync_playwright import Axe

    from tests.web.conftest import OFFICER, PASSWORD, LiveDesk

    axe, problems = Axe(), []
    with LiveDesk(desk.url) as live:
        context = chromium.new_context(viewport={"width": 375, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{live.base}/login")
        page.get_by_label("E-mail address").fill(OFFICER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live.base}/week")

        def check(where: str) -> None:
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 375:
                problems.append(f"{where}: {width} px wide")
            for v in axe.run(page).response["violations"]:
                problems.append(f"{where}: {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}")

        for form in FORMS:
            page.goto(f"{live.base}{form}")
            check(form)
        # A priority and an action more (no script: the form comes back), then a refusal with its summary.
        page.goto(f"{live.base}{FORMS[0]}")
        page.get_by_role("button", name="Add another priority").click()
        page.get_by_role("button", name="Add another action to priority 2").click()
        assert page.locator("#f-priorities-1-actions-2-action").count() == 1
        check("statement of action with more rows")
        page.locator("#f-on").fill("31")
        page.locator("#f-on-month").fill("2")
        page.get_by_role("button", name="Preview the letter").click()
        assert "must be a real date" in page.locator(".error-summary").inner_text()
        check("statement of action refused")
        context.close()
    assert not problems, "\n".join(problems)


def test_a_letter_drafted_with_the_old_form_is_not_sent_with_other_details(desk):
    from models import LetterForm

    saved = desk.client.post("/schools/100002/letters", data={**form_fields(_preview(desk)), "step": "draft"})
    letter = saved.headers["location"].split("?")[0]
    with session_scope(desk.url) as session:
        form = session.exec(select(LetterForm)).one()
        # As the form with one box of structured details kept it: next steps as lines, "| date" at the end.
        form.fields = {"kind": ["confirmation_of_concern"], "on": ["2026-11-16"], "concerns": ["Attendance"],
                       "next_steps": ["Plan | 2026-12-04"], "review_cadence": ["each term"], "more": [""]}
        session.add(form)
    page = desk.client.get(letter).text
    form_html = re.search(r'<form method="post" action="[^"]*/send">.*?</form>', page, re.S).group(0)
    data = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form_html))
    before = table_dump(desk.url)
    refused = desk.client.post(f"{letter}/send", data=data)
    assert refused.status_code == 400
    assert error_summary(refused.text).startswith("This letter was drafted before the letter forms had a field")
    assert table_dump(desk.url) == before


def test_a_person_invited_with_an_address_that_is_not_one_is_refused_naming_it(desk):
    page = "/schools/100002/letters/new?kind=soc_meeting_agenda"
    typed = {**CASES["soc_meeting_agenda"][2], "attendees-1-email": "head at beech"}
    data = {**form_fields(desk.client.get(page).text), **typed}
    before = table_dump(desk.url)
    response = desk.client.post("/schools/100002/letters/preview", data=data)
    assert response.status_code == 400
    assert error_summary(response.text) == "Person 2, e-mail address: “head at beech” is not an e-mail address."
    assert '<a href="#f-attendees-1-email">' in response.text
    assert table_dump(desk.url) == before


def test_a_details_file_names_its_parties_as_tables():
    from concerns.domain.letterparties import LetterParty
    from concerns.domain.letterspecs import LETTER_KINDS

    attendees = next(d for d in LETTER_KINDS["soc_meeting_agenda"].details if d.name == "attendees")
    assert attendees.normalise("soc_meeting_agenda", [{"name": "Ann", "role": "Adviser", "email": "ann@la.example"}]) \
        == [LetterParty("Ann", "Adviser", "ann@la.example")]
    for bad in ([{"name": "Ann"}], [{"name": "Ann", "role": "Adviser", "email": "not an address"}],
                [{"name": "Ann", "role": "Adviser", "colour": "red"}], "Ann"):
        with pytest.raises(ValueError, match="'attendees' must be a list of parties"):
            attendees.normalise("soc_meeting_agenda", bad)
