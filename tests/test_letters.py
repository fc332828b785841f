"""Letters: statutory content, copy lists, date-dependent wording, escaping and refusal of bad input."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from sqlmodel import select

from concerns.domain.copylists import COPY_LISTS, addressees_for, copies_for, recipient_rules
from concerns.domain.formatting import academic_year, join_and, ukdate, ukwhen
from concerns.domain.letterparties import LetterParty, LetterSchool
from concerns.domain.letterspecs import LETTER_KINDS, TEMPLATES_DIR
from concerns.domain.policy import FUNCTIONS
from concerns.output.letters import LetterAuthority, html_to_text, render_letter

# --- Realistic fixtures ----------------------------------------------------------------------------


@pytest.fixture
def authority() -> LetterAuthority:
    return LetterAuthority(
        name="Midshire County Council",
        service="Children's Services: Education Improvement Service",
        address="County Hall, Smedley Street, Matlock, DE4 3AG",
        telephone="01629 533000",
        email="education.improvement@midshire.gov.uk",
        officers={
            "director": LetterParty(
                "Helen Carter", "Executive Director of Children's Services", "helen.carter@midshire.gov.uk"
            ),
            "assistant_director": LetterParty(
                "David Okafor", "Assistant Director, Education Improvement", "david.okafor@midshire.gov.uk"
            ),
            "senior_adviser": LetterParty("Priya Shah", "Senior Adviser", "priya.shah@midshire.gov.uk"),
            "link_adviser": LetterParty("Tom Hughes", "Link Adviser", "tom.hughes@midshire.gov.uk"),
        },
    )


def _people(school: str) -> tuple[LetterParty, LetterParty]:
    return (
        LetterParty("Jane Wilson", "Headteacher", f"head@{school}.sch.uk"),
        LetterParty("Andrew Patel", "Chair of Governors", f"chair@{school}.sch.uk"),
    )


@pytest.fixture
def church_school() -> LetterSchool:
    head, chair = _people("stmarys")
    return LetterSchool(
        "112233",
        "St Mary's CE (VA) Primary School",
        "Midshire",
        "Voluntary aided school",
        True,
        "Diocese of Derby",
        "Church of England",
        head,
        chair,
        address="Church Lane, Belper, DE56 1AA",
        laestab="830/3456",
    )


@pytest.fixture
def community_school() -> LetterSchool:
    head, chair = _people("brookfield")
    return LetterSchool(
        "145678",
        "Brookfield Community Primary School",
        "Midshire",
        "Community school",
        True,
        "Not applicable",
        "Does not apply",
        head,
        chair,
        address="Brook Road, Ripley, DE5 3XY",
    )


@pytest.fixture
def academy() -> LetterSchool:
    head, chair = _people("hilltop")
    return LetterSchool(
        "149999",
        "Hilltop Academy",
        "Midshire",
        "Academy converter",
        False,
        None,
        "None",
        head,
        chair,
    )


ON = date(2026, 11, 25)  # a Wednesday: the letters are dated the week after "today" (22 Nov 2026)


def warning_notice_details(**overrides):
    details = {
        "grounds": ["low_standards", "management_breakdown"],
        "matters": [
            "Attainment at the end of key stage 2 in reading, writing and mathematics combined has been "
            "well below the national average for three consecutive years (38% in 2026).",
            "The governing body has not acted on the recommendations of the external review of governance "
            "carried out in March 2026.",
        ],
        "actions_required": [
            "Commission and act upon an external review of the teaching of reading.",
            {
                "text": "Submit a revised school improvement plan to the local authority.",
                "by": date(2026, 12, 9),
            },
        ],
        "compliance_end": date(2027, 1, 13),
        "minded_to": ["s64", "s65"],
    }
    details.update(overrides)
    return details


def statement_details(**overrides):
    details = {
        "category": "special_measures",
        "inspection_date": date(2026, 10, 6),
        "published": date(2026, 11, 10),
        "due": date(2026, 11, 24),
        "action_by": date(2027, 7, 16),
        "context": "St Mary's is a one-form-entry voluntary aided primary school of 205 pupils.",
        "viability": ["The school is viable: its roll is stable and it serves a growing village."],
        "action_before": [
            "Core support package focused on early reading",
            "Termly progress reviews since March 2026",
        ],
        "action_after": ["School Progress Review meetings every half term, chaired by the senior adviser"],
        "parent_arrangements": [
            "An open meeting for parents led by the chair of governors on 2 December 2026"
        ],
        "support": ["A National Leader of Education to mentor the headteacher for two days a month"],
        "powers": "The authority will appoint two additional governors under section 64.",
        "priorities": [
            {
                "issue": "Improve the teaching of early reading so that pupils keep up with the phonics "
                "programme.",
                "success_criteria": [
                    "At least 80% of Year 1 pupils meet the phonics check standard in June 2027"
                ],
                "evaluation": "Half-termly reading assessments reviewed at each progress review meeting.",
                "actions": [
                    {
                        "action": "Train all staff in the validated phonics programme",
                        "lead": "Tom Hughes, Link Adviser",
                        "timescale": "By 18 December 2026",
                        "monitored_by": "Priya Shah",
                        "monitoring": "Lesson visits and pupil assessment data",
                        "resources": "3 adviser days",
                        "school_plan_link": "Priority 1",
                    }
                ],
            }
        ],
    }
    details.update(overrides)
    return details


def agenda_details(**overrides):
    details = {
        "meeting_at": datetime(2027, 1, 20, 14, 30),
        "venue": "St Mary's CE (VA) Primary School, the staff room",
        "papers_due": date(2027, 1, 13),
        "minutes_due": date(2027, 1, 27),
    }
    details.update(overrides)
    return details



def draft(kind: str, school: LetterSchool, authority: LetterAuthority, **details):
    """A letter of `kind` dated ON with reference "R": the shape most refusal tests need."""
    return render_letter(kind, school=school, authority=authority, on=ON, reference="R", **details)

def copy_names(letter) -> list[str]:
    return [p.name for p in letter.copies]


# --- Filters ---------------------------------------------------------------------------------------


def test_ukdate_and_friends():
    assert ukdate(date(2026, 11, 18)) == "Wednesday 18 November 2026"
    assert ukdate(date(2027, 1, 3), weekday=False) == "3 January 2027"
    assert ukwhen(datetime(2027, 1, 20, 14, 30)) == "Wednesday 20 January 2027 at 2:30pm"
    assert ukwhen(datetime(2027, 1, 20, 12, 0)) == "Wednesday 20 January 2027 at midday"
    assert ukwhen(datetime(2027, 1, 20, 9, 0)) == "Wednesday 20 January 2027 at 9am"
    assert join_and(["A"]) == "A"
    assert join_and(["A", "B", "C"]) == "A, B and C"
    assert academic_year(date(2026, 11, 25)) == "2026/27"
    assert academic_year(date(2026, 7, 1), 1) == "2026/27"


# --- Warning notice --------------------------------------------------------------------------------


def test_warning_notice_has_all_statutory_content(church_school, authority):
    letter = render_letter(
        "warning_notice",
        school=church_school,
        authority=authority,
        on=ON,
        reference="EIS/WN/2026/03",
        **warning_notice_details(),
    )
    for body in (letter.html, letter.text):
        assert "Wednesday 13 January 2027" in body  # compliance end date
        assert "section 60" in body
        # s60(2) grounds
        assert "unacceptably low" in body
        assert "serious breakdown in the way the school is managed or governed" in body
        assert "safety of pupils or staff" not in body  # ground not relied on
        # matters, actions, minded-to (s60(4))
        assert "38% in 2026" in body
        assert "external review of the teaching of reading" in body
        assert (
            "Submit a revised school improvement plan to the local authority by Wednesday 9 December 2026."
            in body
        )
        assert "appoint such number of additional governors" in body
        assert "interim executive board" in body
        assert "reasonable notice in writing" in body
        assert "no right to make representations to Ofsted" in body
    assert letter.confidential and "OFFICIAL-SENSITIVE" in letter.html
    assert [a.name for a in letter.addressees] == ["The Governing Body of St Mary's CE (VA) Primary School"]
    names = copy_names(letter)
    assert "Jane Wilson" in names  # headteacher
    assert "Diocese of Derby" in names  # church school
    assert any("Chief Inspector" in n for n in names)  # HMCI (Ofsted)
    assert "The Secretary of State for Education" in names
    assert "The appointer of the foundation governors" in names  # voluntary aided
    copies_html = letter.html.split("Copies to")[1]
    for expected in ("Jane Wilson", "Diocese of Derby", "Ofsted", "Secretary of State", "Regional Director"):
        assert expected in copies_html
    assert letter.filename_stem == "2026-11-25-112233-warning-notice"


def test_warning_notice_for_community_school_has_no_diocese_or_appointer(community_school, authority):
    letter = render_letter(
        "warning_notice",
        school=community_school,
        authority=authority,
        on=ON,
        reference="EIS/WN/2026/04",
        **warning_notice_details(grounds=["safety"]),
    )
    names = copy_names(letter)
    assert "Jane Wilson" in names
    assert any("Chief Inspector" in n for n in names)
    assert "The Secretary of State for Education" in names
    assert not any("iocese" in n or "appointer" in n.lower() for n in names)
    assert "iocesan" not in letter.html
    assert "safety of pupils or staff of the school is threatened" in letter.text


def test_warning_notice_legacy_wording_before_18_april_2016(church_school, authority):
    given = date(2016, 3, 1)  # Tuesday; the 15th working day following is Tuesday 22 March 2016
    letter = render_letter(
        "warning_notice",
        school=church_school,
        authority=authority,
        on=given,
        reference="EIS/WN/2016/01",
        **warning_notice_details(compliance_end=date(2016, 3, 22)),
    )
    text = letter.text
    assert "fifteenth working day following that day" in text
    assert "Tuesday 22 March 2016" in text
    assert "representations in writing to Her Majesty's Chief Inspector" in text
    assert "ten working days" in text
    assert "no right to make representations" not in text
    assert "60(4B)" not in text  # SoS warning notices came in 2016
    names = copy_names(letter)
    # s60(6A) (copy to the SoS) did not exist before 18 April 2016; HMCI was copied since April 2007.
    assert "The Secretary of State for Education" not in names
    assert "Her Majesty's Chief Inspector of Education, Children's Services and Skills" in names


def test_warning_notice_current_wording_from_18_april_2016(community_school, authority):
    letter = render_letter(
        "warning_notice",
        school=community_school,
        authority=authority,
        on=date(2016, 4, 18),
        reference="EIS/WN/2016/02",
        **warning_notice_details(compliance_end=date(2016, 5, 20)),
    )
    assert "fifteenth working day" not in letter.text
    assert "representations in writing to" not in letter.text
    assert "no right to make representations to Ofsted" in letter.text
    assert "Friday 20 May 2016" in letter.text
    assert "The Secretary of State for Education" in copy_names(letter)


def test_warning_notice_given_on_selects_the_regime(community_school, authority):
    # Dated (drafted) after the change but given before it: the day given decides.
    letter = render_letter(
        "warning_notice",
        school=community_school,
        authority=authority,
        on=date(2016, 4, 20),
        reference="EIS/WN/2016/03",
        **warning_notice_details(given_on=date(2016, 4, 15), compliance_end=date(2016, 5, 9)),
    )
    assert "fifteenth working day following that day" in letter.text
    assert "Friday 15 April 2016" in letter.text


@pytest.mark.parametrize(("given", "end", "refusal"), [
    # Calendar days are not working days.
    (date(2016, 3, 1), date(2016, 3, 16), "15th working day"),
    # Given Friday 18 December 2015: Christmas Day, the Boxing Day substitute (28 December) and New Year's
    # Day are not working days, so the 15th working day following is Wednesday 13 January 2016, not
    # Friday 8 January, the 15th weekday.
    (date(2015, 12, 18), date(2016, 1, 11), "cannot be before Wednesday 13 January 2016 .got compliance_end Monday 11"),
])
def test_warning_notice_legacy_period_counts_working_days(community_school, authority, given, end, refusal):
    with pytest.raises(ValueError, match=refusal):
        render_letter("warning_notice", school=community_school, authority=authority, on=given, reference="R",
                      **warning_notice_details(compliance_end=end))


def test_warning_notice_compliance_end_must_follow_the_notice(community_school, authority):
    with pytest.raises(ValueError, match="compliance_end must be after"):
        draft("warning_notice", community_school, authority, **warning_notice_details(compliance_end=ON))


def test_warning_notice_missing_details_are_named(community_school, authority):
    details = warning_notice_details()
    del details["compliance_end"], details["matters"]
    with pytest.raises(ValueError) as err:
        render_letter(
            "warning_notice", school=community_school, authority=authority, on=ON, reference="R", **details
        )
    assert str(err.value) == "warning_notice needs: matters, compliance_end"


def test_warning_notice_rejects_unknown_grounds_and_keys(community_school, authority):
    with pytest.raises(ValueError, match="unknown keys.*'poor_results'"):
        draft("warning_notice", community_school, authority, **warning_notice_details(grounds=["poor_results"]))
    with pytest.raises(ValueError, match="does not take: compliance_ends"):
        render_letter(
            "warning_notice",
            school=community_school,
            authority=authority,
            on=ON,
            reference="R",
            compliance_ends=date(2027, 1, 13),
            **warning_notice_details(),
        )
    with pytest.raises(ValueError, match="'compliance_end' must be a date"):
        draft("warning_notice", community_school, authority, **warning_notice_details(compliance_end="2027-01-13"))


def test_warning_notice_refused_for_an_academy(academy, authority):
    with pytest.raises(ValueError, match="only to maintained schools"):
        draft("warning_notice", academy, authority, **warning_notice_details())


# --- Escaping and confidentiality --------------------------------------------------------------------


def test_html_is_autoescaped(authority):
    head, chair = _people("oak")
    school = LetterSchool(
        "100001",
        'Oak & Ash <script>alert("x")</script> Primary',
        "Midshire",
        "Community school",
        True,
        None,
        None,
        head,
        chair,
    )
    letter = render_letter(
        "warning_notice",
        school=school,
        authority=authority,
        on=ON,
        reference="R&D/1",
        **warning_notice_details(matters=["Pupils' <b>safety</b> & welfare"]),
    )
    assert "<script>" not in letter.html
    assert "Oak &amp; Ash &lt;script&gt;" in letter.html
    assert "&lt;b&gt;safety&lt;/b&gt; &amp; welfare" in letter.html
    assert "R&amp;D/1" in letter.html
    # The plain-text body is not HTML: it carries the characters themselves.
    assert 'Oak & Ash <script>alert("x")</script> Primary' in letter.text
    assert re.fullmatch(r"[a-z0-9-]+", letter.filename_stem)


@pytest.mark.parametrize("key", ["confidential_notes", "confidential", "Confidential_HR"])
def test_confidential_details_are_refused(community_school, authority, key):
    with pytest.raises(ValueError, match="confidential never go into letters"):
        render_letter(
            "warning_notice",
            school=community_school,
            authority=authority,
            on=ON,
            reference="R",
            **{key: "Headteacher capability procedure under way"},
            **warning_notice_details(),
        )


def test_nested_confidential_keys_are_refused(church_school, authority):
    priorities = statement_details()["priorities"]
    priorities[0]["actions"][0] = {**priorities[0]["actions"][0], "confidential_note": "HR matter"}
    with pytest.raises(ValueError, match=r"priorities\[0\]\.actions\[0\]\.confidential_note"):
        draft("statement_of_action", church_school, authority, **statement_details(priorities=priorities))


def test_environment_is_strict():
    from concerns.output.letters import _ENV

    with pytest.raises(UndefinedError):
        _ENV.from_string("{{ no_such_detail }}").render()
    assert _ENV.from_string("{{ x }}").render(x="<i>") == "&lt;i&gt;"


# --- Statement of action ---------------------------------------------------------------------------


def test_statement_of_action_follows_the_derbyshire_format(church_school, authority):
    letter = render_letter(
        "statement_of_action",
        school=church_school,
        authority=authority,
        on=date(2026, 11, 20),
        reference="EIS/SOA/2026/07",
        **statement_details(),
    )
    text = letter.text
    headings = [
        "1. Context",
        "2. Scope for closure",
        "Local authority commentary",
        "3. Local authority action",
        "Action already taken by the local authority before the inspection",
        "Action taken by the local authority following the inspection",
        "Arrangements to consult with and involve parents",
        "4. Support from the local authority and other partners",
        "Support priorities, including proposed actions to build the leadership and management capacity",
        "5. Use of local authority powers",
        "Local Authority Action Plan: St Mary's",
        "Key issue 1",
        "Local authority support team",
    ]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "requires special measures" in text
    assert "Tuesday 24 November 2026" in text  # due with HMCI
    assert "section 15 of the Education Act 2005" in text
    assert (
        "Train all staff in the validated phonics programme | Tom Hughes, Link Adviser | By 18 December 2026"
        in text
    )
    # Published after 29 June 2026: a power, not a duty, to make an academy order.
    assert "power rather than a duty" in text
    assert not letter.confidential


def test_statement_of_action_copies_hmci_and_va_appointer_only_for_va(
    church_school, community_school, authority
):
    va = render_letter(
        "statement_of_action",
        school=church_school,
        authority=authority,
        on=date(2026, 11, 20),
        reference="R",
        **statement_details(),
    )
    community = render_letter(
        "statement_of_action",
        school=community_school,
        authority=authority,
        on=date(2026, 11, 20),
        reference="R",
        **statement_details(),
    )
    for letter in (va, community):
        assert any("Chief Inspector" in n for n in copy_names(letter))
        assert [a.name for a in letter.addressees] == ["Jane Wilson", "Andrew Patel"]
    assert "The appointer of the foundation governors" in copy_names(va)
    assert "The appointer of the foundation governors" not in copy_names(community)
    assert "appointer" not in community.html


def test_statement_of_action_vc_church_school_gets_no_appointer_copy(authority):
    head, chair = _people("stjohn")
    vc = LetterSchool(
        "120001",
        "St John's CE (VC) Infant School",
        "Midshire",
        "Voluntary controlled school",
        True,
        "Diocese of Derby",
        "Church of England",
        head,
        chair,
    )
    names = [p.name for p in copies_for("statement_of_action", vc)]
    assert not any("appointer" in n for n in names) and "Diocese of Derby" not in names


def test_statement_of_action_academy_order_wording_follows_publication_date(church_school, authority):
    before = render_letter(
        "statement_of_action",
        school=church_school,
        authority=authority,
        on=date(2026, 5, 20),
        reference="R",
        **statement_details(
            published=date(2026, 5, 12), due=date(2026, 5, 27), inspection_date=date(2026, 4, 21)
        ),
    )
    assert "section 4(A1)" in before.text and "conversion to academy status" in before.text
    ordered = render_letter(
        "statement_of_action",
        school=church_school,
        authority=authority,
        on=date(2026, 11, 20),
        reference="R",
        **statement_details(academy_order_on=date(2026, 11, 18)),
    )
    assert "made an academy order in respect of the school on Wednesday 18 November 2026" in ordered.text


def test_statement_of_action_validates_the_action_plan(church_school, authority):
    bad = statement_details()["priorities"]
    bad[0]["actions"][0] = {"action": "Train staff", "timescale": "December"}
    with pytest.raises(ValueError, match=r"priorities\[0\]\.actions\[0\] needs: lead"):
        draft("statement_of_action", church_school, authority, **statement_details(priorities=bad))
    with pytest.raises(ValueError, match="category' must be one of special_measures, serious_weaknesses"):
        draft("statement_of_action", church_school, authority, **statement_details(category="inadequate"))
    with pytest.raises(ValueError, match="due must be after published"):
        draft("statement_of_action", church_school, authority, **statement_details(due=date(2026, 11, 10)))



@pytest.mark.parametrize(("change", "says"), [
    ({"colour": "red"}, "statement_of_action: priorities[0].colour: 'red' is not a detail of it (it takes: "
                        "actions, evaluation, issue, success_criteria)"),
    ({"success_criteria": []}, "statement_of_action: priorities[0].success_criteria: [] must be a non-empty "
                               "text or list of texts"),
    ({"actions": []}, "statement_of_action: priorities[0].actions: [] must not be empty"),
    ({"actions": ["Train staff"]}, "statement_of_action: priorities[0].actions[0]: 'Train staff' must be a table"),
    ({"issue": 3}, "statement_of_action: priorities[0].issue: 3 must be a text"),
])
def test_statement_of_action_priorities_are_refused_naming_key_and_value(church_school, authority, change, says):
    bad = statement_details()["priorities"]
    bad[0] = {**bad[0], **change}
    with pytest.raises(ValueError) as refused:
        draft("statement_of_action", church_school, authority, **statement_details(priorities=bad))
    assert str(refused.value).startswith(says) and "\n" not in str(refused.value)


@pytest.mark.parametrize(("item", "says"), [
    ({"title": "Review", "colour": "red"}, "soc_meeting_agenda: items[1].colour: 'red' is not a detail of it "
                                           "(it takes: lead, note, title)"),
    ({"title": " "}, "soc_meeting_agenda: items[1].title: ' ' must be a non-empty text"),
    ({"lead": "Priya Shah"}, "soc_meeting_agenda: items[1] needs: title"),
    (3, "soc_meeting_agenda: items[1]: 3 must be a table"),
])
def test_agenda_items_are_refused_naming_key_and_value(church_school, authority, item, says):
    with pytest.raises(ValueError) as refused:
        draft("soc_meeting_agenda", church_school, authority, **agenda_details(items=["Welcome", item]))
    assert str(refused.value).startswith(says) and "\n" not in str(refused.value)

def test_statement_of_action_roll_tables(church_school, authority):
    letter = render_letter(
        "statement_of_action",
        school=church_school,
        authority=authority,
        on=date(2026, 11, 20),
        reference="R",
        **statement_details(
            category="serious_weaknesses",
            roll={"net_capacity": 210, "projections": [205, 199, 204]},
            nearby_schools=[
                {"name": "Belper Meadows Primary", "available": 12, "projections": [410, 414, 402]}
            ],
            projection_basis="Projections use the children living in the normal area and three-year trends.",
        ),
    )
    assert "requires significant improvement (serious weaknesses)" in letter.text
    assert "St Mary's CE (VA) Primary School | 210 | 205 | 199 | 204" in letter.text
    assert "Belper Meadows Primary | 12 | 410 | 414 | 402" in letter.text
    assert "2026/27 (current year) | 2027/28 | 2028/29" in letter.text


# --- Other letters ---------------------------------------------------------------------------------


def test_confirmation_of_concern(church_school, community_school, authority):
    details = {
        "discussed_on": date(2026, 11, 17),
        "concerns": [
            "Progress in mathematics at key stage 2 is well below that of similar schools.",
            "Leaders' monitoring of teaching has not identified the weaknesses in mathematics.",
        ],
        "next_steps": [
            "Commission a review of mathematics by the maths hub",
            {"text": "Revise the school improvement plan", "by": date(2026, 12, 11)},
        ],
        "review_cadence": "at least three times a year",
        "first_review": datetime(2027, 1, 20, 14, 30),
        "local_category": "High risk (school causing concern)",
    }
    letter = render_letter(
        "confirmation_of_concern",
        school=church_school,
        authority=authority,
        on=ON,
        reference="EIS/SCC/2026/11",
        **details,
    )
    assert [a.name for a in letter.addressees] == ["Jane Wilson", "Andrew Patel"]
    assert "Dear Jane Wilson and Andrew Patel," in letter.text
    assert "Tuesday 17 November 2026" in letter.text
    assert "at least three times a year" in letter.text
    assert "Wednesday 20 January 2027 at 2:30pm" in letter.text
    assert "Revise the school improvement plan by Friday 11 December 2026" in letter.text
    assert "Part B" in letter.text
    assert "warning notice under section 60" in letter.text
    assert letter.html.count("David Okafor") >= 1 and letter.copies[0].name == "Diocese of Derby"
    assert "Diocese of Derby" in copy_names(letter)
    community = draft("confirmation_of_concern", community_school, authority, **details)
    assert "Diocese" not in " ".join(copy_names(community)) and "diocese" not in community.text


def test_warning_letter_for_maintained_school(community_school, authority):
    letter = render_letter(
        "warning_letter",
        school=community_school,
        authority=authority,
        on=ON,
        reference="EIS/WL/2026/02",
        concerns=["Attendance has fallen to 89.1%, well below the local authority average."],
        actions=[
            "Appoint an attendance lead",
            {"text": "Submit an attendance action plan", "by": date(2026, 12, 4)},
        ],
        complete_by=date(2027, 2, 12),
        judged_on=date(2026, 11, 18),
        review_meeting=datetime(2027, 2, 24, 10, 0),
        respond_by=date(2026, 12, 4),
    )
    text = letter.text
    assert "not a warning notice under section 60 of the Education and Inspections Act 2006" in text
    assert "reserves the right to give the governing body a warning notice under section 60" in text
    assert "Friday 12 February 2027" in text and "Wednesday 24 February 2027 at 10am" in text
    assert letter.html.count("Helen Carter") == 1  # signed by the most senior officer
    assert "David Okafor" in copy_names(letter)


def test_warning_letter_for_academy_refers_to_secretary_of_state(academy, authority):
    letter = render_letter(
        "warning_letter",
        school=academy,
        authority=authority,
        on=ON,
        reference="EIS/AOC/2026/01",
        concerns=["Key stage 4 outcomes have declined for two years."],
        actions=["Share the trust's improvement plan for the academy"],
        complete_by=date(2027, 3, 26),
    )
    assert "inform the Secretary of State for Education, through the Regional Director" in letter.text
    assert "reserves the right" not in letter.text


def test_soc_meeting_agenda_follows_doncaster_appendix_3(church_school, authority):
    letter = render_letter(
        "soc_meeting_agenda",
        school=church_school,
        authority=authority,
        on=ON,
        reference="EIS/SOC/2027/01",
        **agenda_details(),
    )
    text = letter.text
    for item in (
        "Summary of the issues of concern",
        "Action planning and progress against the key issues",
        "Judgements on progress against each agreed impact measure",
        "Quality of support provided",
        "Future plans and interventions summarised",
        "Review date",
    ):
        assert item in text
    assert "Wednesday 20 January 2027 at 2:30pm" in text
    assert "Wednesday 13 January 2027" in text  # papers due, 7 days before
    assert "Wednesday 27 January 2027" in text  # minutes due, within 7 days after
    assert "the school's self-evaluation summary" in text
    assert [p.name for p in letter.addressees] == [
        "David Okafor",
        "Jane Wilson",
        "Priya Shah",
        "Andrew Patel",
    ]
    assert letter.copies == [] and "Dear" not in text


def test_soc_meeting_agenda_item_override_and_date_checks(church_school, authority):
    letter = render_letter(
        "soc_meeting_agenda",
        school=church_school,
        authority=authority,
        on=ON,
        reference="R",
        **agenda_details(
            items=["Governance review findings", {"title": "Safeguarding audit", "lead": "Priya Shah"}]
        ),
    )
    assert (
        "1. Governance review findings" in letter.text and "2. Safeguarding audit – Priya Shah" in letter.text
    )
    with pytest.raises(ValueError, match="papers_due must be before the meeting"):
        draft("soc_meeting_agenda", church_school, authority, **agenda_details(papers_due=date(2027, 1, 21)))
    with pytest.raises(ValueError, match="'meeting_at' must be a datetime"):
        draft("soc_meeting_agenda", church_school, authority, **agenda_details(meeting_at=date(2027, 1, 20)))


def test_removal_from_concern(church_school, authority):
    letter = render_letter(
        "removal_from_concern",
        school=church_school,
        authority=authority,
        on=date(2027, 7, 14),
        reference="EIS/SCC/2027/05",
        decided_on=date(2027, 7, 7),
        improvements=["Reading outcomes rose to 76% meeting the expected standard."],
        exit_strategy=["Governors' school improvement committee continues to meet each half term"],
        monitoring="Lighter-touch monitoring: one link adviser visit each term in 2027/28.",
        review_on=date(2027, 12, 8),
        local_category="Medium risk",
    )
    text = letter.text
    assert "no longer causing concern" in text and "Exit strategy" in text and "Lighter-touch" in text
    assert "Wednesday 8 December 2027" in text and "Medium risk" in text
    assert "Diocese of Derby" in copy_names(letter)
    assert letter.html.count("David Okafor") == 1  # signed by the assistant director, not copied to them


# --- Copy lists ------------------------------------------------------------------------------------


def test_copies_for_sos_notice_goes_to_the_local_authority(church_school):
    names = [p.name for p in copies_for("warning_notice", church_school, "sos", on=ON)]
    assert "Midshire" in names and "The Secretary of State for Education" not in names
    assert "Jane Wilson" in names and "Diocese of Derby" in names


def test_copies_merge_a_diocese_that_appoints_foundation_governors(authority):
    head, chair = _people("stpius")
    dbe = LetterParty("Diocese of Nottingham", "Catholic Education Service, appoints foundation governors")
    school = LetterSchool(
        "130001",
        "St Pius X Catholic Primary School",
        "Midshire",
        "Voluntary aided school",
        True,
        "Diocese of Nottingham",
        "Roman Catholic",
        head,
        chair,
        foundation_appointer=dbe,
    )
    copies = copies_for("warning_notice", school, on=ON)
    diocese = [p for p in copies if p.name == "Diocese of Nottingham"]
    assert (
        len(diocese) == 1
        and "Bishop" in diocese[0].role
        and "appoints foundation governors" in diocese[0].role
    )


def test_copy_rules_carry_source_and_confidence(church_school):
    for kind, rows in COPY_LISTS.items():
        for row in rows:
            assert row.source and row.tag in {"V", "S", "H", "U"}, kind
    sos = [
        r for r in recipient_rules("warning_notice", church_school, on=ON) if r.party == "secretary_of_state"
    ]
    assert sos and sos[0].tag == "U"
    assert [p.name for p in addressees_for("confirmation_of_concern", church_school)] == [
        "Jane Wilson",
        "Andrew Patel",
    ]
    with pytest.raises(ValueError, match="issuer"):
        copies_for("warning_notice", church_school, "ofsted")


def test_school_properties():
    def school(type_name="Community school", diocese=None, character=None):
        return LetterSchool("1", "S", "LA", type_name, True, diocese, character, None, None)

    assert school(character="Roman Catholic").is_church_school
    assert school(character="Church of England/Methodist").is_church_school
    assert not school(character="Methodist").is_church_school
    assert not school(diocese="Not applicable", character="Does not apply").is_church_school
    assert school(diocese="Diocese of Derby").is_church_school  # no recorded character: diocese decides
    assert school("Voluntary aided school").is_voluntary_aided
    assert not school("Voluntary controlled school").is_voluntary_aided
    for t in (
        "Voluntary aided school",
        "Voluntary controlled school",
        "Foundation school",
        "Foundation special school",
    ):
        assert school(t).is_foundation_or_voluntary
    assert not school("Community special school").is_foundation_or_voluntary


# --- Spec data and general refusals -----------------------------------------------------------------


def test_letter_kinds_are_complete_data():
    for kind, spec in LETTER_KINDS.items():
        assert (TEMPLATES_DIR / spec.template).is_file(), kind
        assert spec.required and spec.title and spec.source and spec.signatory in FUNCTIONS
        assert all(doc for doc in spec.describe().values())
    assert (
        LETTER_KINDS["warning_notice"].statutory_copies
        and LETTER_KINDS["statement_of_action"].statutory_copies
    )
    assert not LETTER_KINDS["warning_letter"].statutory_copies
    assert set(LETTER_KINDS["warning_notice"].required) >= {
        "grounds",
        "matters",
        "actions_required",
        "compliance_end",
        "minded_to",
    }
    assert Path(TEMPLATES_DIR, "letters", "_base.html.j2").is_file()
    assert set(LETTER_KINDS) <= set(COPY_LISTS)  # every letter has a (possibly empty) distribution list


def test_missing_officer_head_or_kind_is_a_clear_error(community_school, authority):
    no_director = LetterAuthority(
        authority.name, {k: v for k, v in authority.officers.items() if k != "director"}
    )
    with pytest.raises(ValueError, match="no officer with role 'director'"):
        render_letter(
            "warning_notice",
            school=community_school,
            authority=no_director,
            on=ON,
            reference="R",
            **warning_notice_details(),
        )
    headless = LetterSchool(
        "1", "Nohead School", "Midshire", "Community school", True, None, None, None, None
    )
    with pytest.raises(ValueError, match="no headteacher or chair"):
        draft("warning_notice", headless, authority, **warning_notice_details())
    with pytest.raises(ValueError, match="unknown letter kind 'final_warning'"):
        render_letter("final_warning", school=community_school, authority=authority, on=ON, reference="R")


def test_text_rendering_is_plain(church_school, authority):
    letter = draft("warning_notice", church_school, authority, **warning_notice_details())
    assert "<" not in letter.text.replace("<script>", "")
    assert "\n\n\n" not in letter.text
    assert letter.text.startswith("OFFICIAL-SENSITIVE")
    assert "Copies to\n\n- Jane Wilson, Headteacher" in letter.text
    assert html_to_text("<p>a<br>b</p><ol><li>x</li><li>y</li></ol>") == "a\nb\n\n1. x\n2. y\n"


def test_sensitive_override_and_extra_copies(community_school, authority):
    nlg = LetterParty("Sarah Bennett", "National Leader of Governance")
    letter = render_letter(
        "warning_letter",
        school=community_school,
        authority=authority,
        on=ON,
        reference="R",
        concerns=["c"],
        actions=["a"],
        complete_by=date(2027, 1, 29),
        sensitive=False,
        extra_copies=[nlg],
    )
    assert not letter.confidential and "OFFICIAL-SENSITIVE" not in letter.html
    assert "Sarah Bennett" in copy_names(letter)


def test_datetimes_mix_safely_with_dates(church_school, authority):
    # A 'when' detail may be a datetime; the date checks compare it by its day instead of failing.
    letter = render_letter(
        "removal_from_concern",
        school=church_school,
        authority=authority,
        on=date(2027, 7, 14),
        reference="R",
        decided_on=datetime(2027, 7, 7, 16, 0),
        improvements=["i"],
        exit_strategy=["e"],
        monitoring="m",
        review_on=datetime(2027, 12, 8, 9, 30),
    )
    assert "Wednesday 8 December 2027 at 9:30am" in letter.text
    assert "Wednesday 7 July 2027" in letter.text and "7 July 2027 at" not in letter.text
    with pytest.raises(ValueError, match="review_on must be after the letter date"):
        render_letter(
            "removal_from_concern",
            school=church_school,
            authority=authority,
            on=date(2027, 7, 14),
            reference="R",
            decided_on=date(2027, 7, 7),
            improvements=["i"],
            exit_strategy=["e"],
            monitoring="m",
            review_on=datetime(2027, 7, 14, 9, 0),
        )


# --- Drafted letters are immutable: own file, absolute path, bytes carried by each mail ------------

WARNING_NOTICE = {
    "grounds": ["management_breakdown"],
    "actions_required": ["Appoint a chair of governors"],
    "compliance_end": date(2026, 12, 4),
    "minded_to": ["s65"],
}


@pytest.fixture
def demo_session_url(db_url, tmp_path, monkeypatch):
    from concerns.app.demo import load_demo
    from concerns.store.db import session_scope

    # A relative letters folder, as the default is: the letter must still be found from elsewhere.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONCERNS_LETTERS", "letters")
    with session_scope(db_url) as session:
        load_demo(session)
    return db_url


def _draft(db_url, matter: str, *, send: bool = True):
    from concerns.notify.drafting import draft_letter
    from concerns.store.db import session_scope

    with session_scope(db_url) as session:
        row, created, queued = draft_letter(session, "990402", "warning_notice", date(2026, 10, 20),
                                            {**WARNING_NOTICE, "matters": [matter]}, send=send)
        session.expunge(row)
    return row, created, queued


def _sent_letters(db_url, tmp_path) -> dict[str, list[str]]:
    """Send what is pending (to the .eml outbox) and return each recipient's attached letters."""
    import email
    from email import policy as email_policy

    from concerns.notify.outbox import send_pending
    from concerns.store.db import session_scope

    with session_scope(db_url) as session:
        report = send_pending(session)
    assert report.errors == []
    out: dict[str, list[str]] = {}
    for eml in (tmp_path / "outbox").glob("*.eml"):
        msg = email.message_from_bytes(eml.read_bytes(), policy=email_policy.default)
        for part in msg.iter_attachments():
            if part.get_content_type() == "text/html":  # the letter as drafted (its PDF travels beside it)
                out.setdefault(msg["To"], []).append(part.get_content())
    return out


def test_two_letters_of_one_kind_for_one_school_on_one_day_keep_their_own_files_and_mails(
        demo_session_url, tmp_path, monkeypatch):
    first, _, queued_first = _draft(demo_session_url, "The governing body has not met since April.")
    second, _, queued_second = _draft(demo_session_url, "The budget for 2026-27 is unapproved.")
    assert queued_first == queued_second > 0
    paths = [Path(first.path), Path(second.path)]
    assert all(p.is_absolute() and p.parent == tmp_path / "letters" / "990402" for p in paths)
    assert [p.name for p in paths] == ["2026-10-20-990402-warning-notice.html",
                                       "2026-10-20-990402-warning-notice-2.html"]
    assert "since April" in paths[0].read_text() and "unapproved" in paths[1].read_text()
    # ... and their own references, as their files have their own names.
    refs = [re.search(r"<th>Our reference</th><td>([^<]+)</td>", p.read_text())[1] for p in paths]
    assert refs == ["990402/WN/20261020", "990402/WN/20261020/2"]
    monkeypatch.chdir(tmp_path.parent)  # sending from another working directory changes nothing
    sent = _sent_letters(demo_session_url, tmp_path)
    assert sent and all(len(letters) == 2 for letters in sent.values())
    for letters in sent.values():
        april, budget = sorted(letters, key=lambda html: "since April" not in html)
        assert "since April" in april and "unapproved" not in april
        assert "unapproved" in budget and "since April" not in budget


def test_deleting_or_editing_a_letter_file_after_drafting_changes_nothing_sent(demo_session_url, tmp_path):
    row, _, queued = _draft(demo_session_url, "The governing body has not met since April.")
    drafted = Path(row.path).read_text(encoding="utf-8")
    Path(row.path).unlink()
    sent = _sent_letters(demo_session_url, tmp_path)
    assert sum(len(letters) for letters in sent.values()) == queued
    assert all(letter == drafted for letters in sent.values() for letter in letters)
    # Drafting it again with --send finds every mail already queued: nothing to refuse, nothing new.
    assert _draft(demo_session_url, "The governing body has not met since April.")[1:] == (False, 0)


def test_a_changed_or_missing_letter_is_refused_when_sent_later(demo_session_url):
    from concerns.casework.cases import Refused
    from concerns.store.db import session_scope
    from models import Notification

    matter = "The governing body has not met since April."
    row, created, queued = _draft(demo_session_url, matter, send=False)
    assert created and queued == 0
    Path(row.path).write_text("<p>Edited after drafting</p>", encoding="utf-8")
    with pytest.raises(Refused, match=rf"^letter {re.escape(row.key)}: {re.escape(row.path)} has changed"):
        _draft(demo_session_url, matter)
    Path(row.path).unlink()
    with pytest.raises(Refused, match=rf"its file {re.escape(row.path)} is missing$"):
        _draft(demo_session_url, matter)
    with session_scope(demo_session_url) as session:
        assert session.exec(select(Notification).where(Notification.kind == "letter")).all() == []


def test_a_letter_never_overwrites_a_file_already_there(tmp_path, community_school, authority):
    from concerns.notify.letterdata import _write_new

    letter = render_letter("warning_letter", school=community_school, authority=authority, on=ON, reference="R",
                           concerns=["Attendance has fallen."], actions=["Appoint an attendance lead"],
                           complete_by=date(2027, 2, 12), judged_on=date(2026, 11, 18),
                           review_meeting=datetime(2027, 2, 24, 10, 0), respond_by=date(2026, 12, 4))
    (tmp_path / f"{letter.filename_stem}.html").write_text("someone else's letter")
    (tmp_path / f"{letter.filename_stem}-2.txt").write_text("a stray text copy")
    path = _write_new(tmp_path, letter.filename_stem, letter)
    assert path.name == f"{letter.filename_stem}-3.html" and path.read_text() == letter.html
    assert (tmp_path / f"{letter.filename_stem}.html").read_text() == "someone else's letter"
    assert not (tmp_path / f"{letter.filename_stem}-2.html").exists()
    assert (tmp_path / f"{letter.filename_stem}-3.txt").read_text() == letter.text


# --- Dates of law in letters come from the rule book: the day before and the day of each change ------------


def test_warning_notice_regime_the_day_before_and_the_day_of_18_april_2016(community_school, authority):
    before = render_letter(
        "warning_notice", school=community_school, authority=authority, on=date(2016, 4, 17),
        reference="R", **warning_notice_details(compliance_end=date(2016, 5, 9)),
    )
    assert "fifteenth working day following that day" in before.text
    assert "The Secretary of State for Education" not in copy_names(before)
    on_the_day = render_letter(
        "warning_notice", school=community_school, authority=authority, on=date(2016, 4, 18),
        reference="R", **warning_notice_details(compliance_end=date(2016, 5, 9)),
    )
    assert "fifteenth working day" not in on_the_day.text
    assert "Since 18 April 2016 there has been no right to make representations to Ofsted" in on_the_day.text
    assert "The Secretary of State for Education" in copy_names(on_the_day)


@pytest.mark.parametrize("on, majesty", [(date(2022, 9, 7), "Her"), (date(2022, 9, 8), "His")])
def test_hmci_title_changes_on_the_accession(community_school, on, majesty):
    names = [p.name for p in copies_for("warning_notice", community_school, on=on)]
    assert f"{majesty} Majesty's Chief Inspector of Education, Children's Services and Skills" in names


@pytest.mark.parametrize("on, via", [
    (date(2022, 6, 30), "via the Regional Schools Commissioner"),
    (date(2022, 7, 1), "via the Regional Director, Department for Education"),
])
def test_secretary_of_state_is_reached_through_the_office_of_the_day(community_school, on, via):
    (sos,) = [p for p in copies_for("warning_notice", community_school, on=on) if "Secretary of State" in p.name]
    assert sos.role == via


@pytest.mark.parametrize("published, duty", [
    (date(2016, 4, 15), False),  # a Friday; the duty came in on Monday 18 April 2016
    (date(2016, 4, 18), True),
    (date(2026, 6, 25), True),  # the statement is given on Sunday 28 June 2026, the duty's last day
    # Published while the duty stood, but the statement is given on 29 June 2026, after its repeal, with no
    # order made: the Secretary of State may (Children's Wellbeing and Schools Act 2026 s58(9)).
    (date(2026, 6, 26), False),
    (date(2026, 6, 29), False),
])
def test_statement_of_action_academy_order_duty_follows_the_law_on_the_letters_day(church_school, authority,
                                                                                    published, duty):
    letter = render_letter(
        "statement_of_action", school=church_school, authority=authority, on=published + timedelta(days=3),
        reference="R", **statement_details(published=published, due=published + timedelta(days=14),
                                           inspection_date=published - timedelta(days=21)),
    )
    text = " ".join(letter.text.split())
    if duty:
        assert ("published before 29 June 2026 and this statement is given before that day, the Secretary of State "
                "is required by section 4(A1)") in text
    else:
        assert "since 29 June 2026 this has been a power rather than a duty" in text


def test_a_cover_mail_names_the_school_once_in_its_subject_and_once_in_its_body(demo_session_url, tmp_path):
    import email
    from email import policy as email_policy

    from concerns.notify.outbox import send_pending
    from concerns.store.db import session_scope
    from models import School

    _draft(demo_session_url, "The governing body has not met since April.")
    with session_scope(demo_session_url) as session:
        school = session.get(School, "990402").name
        assert send_pending(session).errors == []
    mails = [email.message_from_bytes(eml.read_bytes(), policy=email_policy.default)
             for eml in (tmp_path / "outbox").glob("*.eml")]
    assert mails
    for msg in mails:
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert msg["Subject"].count(school) == 1, msg["Subject"]
        assert text.count(school) == 1, text
        assert html.split("<body")[1].replace("&#39;", "'").count(school) == 1, html
