"""Authority policy files: shipped ones load, bad ones are refused with where and why."""

from __future__ import annotations

import pytest

from concerns.domain import policy as policy_module
from concerns.domain.policy import PolicyError, all_policies, policy_for
from tests.conftest import d


def test_shipped_policies_load():
    assert {"default", "derbyshire", "doncaster"} <= set(all_policies())


def test_derbyshire_2023():
    p = policy_for("Derbyshire County Council")
    assert p.key == "derbyshire"
    assert [c.key for c in p.categories.levels] == ["low", "medium", "high"]
    assert [c.key for c in p.categories.levels if c.causing_concern] == ["high"]
    review = p.meeting("progress_meeting")
    assert review.name == "School Progress Review" and review.cadence == "term" and review.minimum_per_year >= 3
    assert p.manager_of("link_adviser") == "senior_adviser"
    assert p.manager_of("senior_adviser") == "assistant_director"
    assert p.responsible_for("statement_of_action") == "senior_adviser"


def test_doncaster_meetings_have_papers_and_minutes_dates():
    meeting = policy_for("Doncaster").meeting("progress_meeting")
    assert (meeting.papers_due_days_before, meeting.minutes_due_days_after) == (7, 7)
    assert policy_for("Doncaster").meeting("improvement_committee").cadence == "half_term"


def test_unknown_authority_uses_the_default():
    assert policy_for("Nowhere Borough").key == "default"


def test_policy_dir_adds_an_authority_with_its_terms(tmp_path, monkeypatch):
    (tmp_path / "rutland.toml").write_text("""
authority = "Rutland"
[roles]
adviser = { title = "School improvement adviser", acts_as = "link_adviser", manager = "senior_adviser" }
senior_adviser = { title = "Senior adviser", manager = "head_of_service" }
head_of_service = { title = "Head of school improvement", acts_as = "service_head", manager = "director" }
director = { title = "Director of children's services" }
[[terms]]
year = 2026
autumn = ["2026-09-07", "2026-12-18"]
autumn_half_term = ["2026-10-19", "2026-10-30"]
spring = ["2027-01-05", "2027-03-26"]
summer = ["2027-04-12", "2027-07-21"]
closures = ["2027-06-14"]
""")
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(tmp_path))
    p = policy_for("Rutland")
    assert p.key == "rutland"
    inspection_days = p.calendar("inspection")
    assert not inspection_days.is_working_day(d("2026-10-21"))  # a two-week half term is a long holiday
    assert p.terms.term_containing(d("2026-09-04")) is None  # before this authority's term starts


@pytest.mark.parametrize(("text", "says"), [
    ('title = "no authority"', "missing setting 'authority'"),
    ('authority = "X"\n[roles]\na = { title = "A", manager = "b" }', "unknown role 'b'"),
    ('authority = "X"\n[roles]\nsia = { title = "SIA" }', "no role acts_as link_adviser, case_lead"),
    ('authority = "X"\n[roles]\nsia = { title = "SIA", acts_as = "adviser" }', "roles.sia.acts_as: unknown function"),
    ('authority = "X"\n[[meetings]]\nname="M"\ncadence="monthly"\nminimum_per_year=3\nresponsible="a"', "cadence"),
    ('authority = "X"\n[rules."no/such"]\nmonths = 3', "unknown rule"),
    ('authority = "X"\nclosures = ["2027-02-30"]', "not a YYYY-MM-DD date"),
    ('authority = [', "bad.toml"),
])
def test_bad_policy_files_are_refused(tmp_path, monkeypatch, text, says):
    (tmp_path / "bad.toml").write_text(text)
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(tmp_path))
    policy_module._load_all.cache_clear()
    with pytest.raises(PolicyError, match=says.replace("(", r"\(")):
        all_policies()
    policy_module._load_all.cache_clear()


def test_roles_in_the_authoritys_own_words_play_the_products_functions():
    p = policy_for("Doncaster")
    assert p.role_for("link_adviser") == "step"
    assert p.role_for("case_lead") == "senior_officer"
    assert p.role_for("service_head") == "assistant_director"
    assert p.responsible_for("no_such_kind") == p.responsible.get("*", "senior_officer")
    default = policy_for(None)
    assert [default.role_for(f) for f in ("link_adviser", "case_lead", "service_head", "director", "admin")] == [
        "link_adviser", "senior_adviser", "assistant_director", "director", "admin_officer"]


# --- meetings -------------------------------------------------------------------------------------------

MEETING = 'authority = "X"\n[[meetings]]\nname = "Review"\ncadence = "term"\nminimum_per_year = 3\nresponsible = "senior_adviser"\n'


def load_one(tmp_path, monkeypatch, text: str):
    (tmp_path / "x.toml").write_text(text)
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(tmp_path))
    policy_module._load_all.cache_clear()
    try:
        return all_policies()["x"]
    finally:
        policy_module._load_all.cache_clear()


def test_meeting_settings_default_to_a_school_meeting_on_weekdays(tmp_path, monkeypatch):
    from datetime import time

    m = load_one(tmp_path, monkeypatch, MEETING).meetings[0]
    assert (m.kind, m.scope, m.chair_role, m.attendees, m.school_attendees) == (
        "progress_meeting", "school", "senior_adviser", None, ("headteacher", "chair_of_governors"))
    assert (m.per_day_limit, m.days, m.times, m.length_minutes) == (2, (0, 1, 2, 3, 4), (time(10), time(14)), 120)
    assert not m.with_agenda


def test_meeting_settings_are_read(tmp_path, monkeypatch):
    from datetime import time

    settings = ('scope = "panel"\nchair = "assistant_director"\nattendees = ["senior_adviser", "link_adviser"]\n'
                'pathways = ["la_concern"]\nofsted_categories = ["LA"]\nper_day_limit = 1\n'
                'days = ["thursday", "tuesday"]\ntimes = ["14:00", "09:30"]\nlength_minutes = 180\n'
                'venue = "Town Hall"\ncadence = "half_term"\n')
    text = (MEETING + settings).replace('cadence = "term"\n', "")
    m = load_one(tmp_path, monkeypatch, text).meetings[0]
    assert m.is_panel and m.with_agenda and m.chair_role == "assistant_director"
    assert m.attendees == ("senior_adviser", "link_adviser") and m.school_attendees == ()
    assert (m.days, m.times, m.per_day_limit, m.venue) == ((1, 3), (time(9, 30), time(14)), 1, "Town Hall")
    assert m.selects({"la_concern"}, {"LA"}, None) and not m.selects({"special_measures"}, {"SM"}, None)


def test_half_termly_meetings_have_a_period_in_each_half():
    doncaster = policy_for("Doncaster")
    term = doncaster.terms.current_or_next_term(d("2027-01-04"))
    committee = doncaster.meeting("improvement_committee")
    assert [p.label for p in committee.periods(term)] == ["spring 2026/27, first half", "spring 2026/27, second half"]
    assert [p.label for p in doncaster.meeting("progress_meeting").periods(term)] == ["spring 2026/27"]


def test_shipped_meetings_follow_their_procedures():
    derbyshire = policy_for("Derbyshire").meeting("progress_meeting")
    assert derbyshire.chair_role == "senior_adviser" and derbyshire.school_attendees == ("headteacher",
                                                                                        "chair_of_governors")
    assert not derbyshire.selects({"requires_improvement"}, {"RI"}, None)  # medium risk: no review
    doncaster = policy_for("Doncaster")
    soc = doncaster.meeting("progress_meeting")
    assert soc.chair_role == doncaster.role_for("service_head") and doncaster.role_for("case_lead") in soc.attendees
    assert soc.with_agenda
    sic = doncaster.meeting("improvement_committee")
    assert sic.cadence == "half_term" and sic.chair_role == "chair_of_governors"
    assert doncaster.role_for("case_lead") in sic.attendees
    default = policy_for("Nowhere").meeting("progress_meeting")
    assert default.scope == "school" and default.attendees == ("link_adviser",)


@pytest.mark.parametrize(("setting", "says"), [
    ('scope = "authority"', "meetings[0].scope: 'authority' is not school or panel"),
    ('chair = "mayor"', "meetings[0].chair: unknown role 'mayor'"),
    ('attendees = ["senior_adviser", "sia"]', "meetings[0].attendees: unknown role 'sia'"),
    ('attendees = "link_adviser"', "meetings[0].attendees: 'link_adviser' is not a list of role keys"),
    ('per_day_limit = 0', "meetings[0].per_day_limit: 0 is not a whole number of at least 1"),
    ('days = ["wed"]', "meetings[0].days: unknown weekday 'wed'"),
    ('days = []', "meetings[0].days: [] leaves no day"),
    ('times = ["10am"]', "meetings[0].times: '10am' is not a time of day written HH:MM"),
    ('times = ["23:00"]', "would run past midnight"),
    ('pathways = ["coasting"]', "meetings[0].pathways: unknown pathway 'coasting'"),
    ('ofsted_categories = ["inadequate"]', "meetings[0].ofsted_categories: unknown Ofsted category 'inadequate'"),
    ('la_categories = ["high"]', "meetings[0].la_categories: ['high']: the policy has no [[categories.levels]]"),
    ('scope = "panel"\nschool_attendees = ["headteacher"]', "meetings[0].school_attendees"),
    ('papers_due_days_before = 15', "meetings[0].papers_due_days_before: 15 is not less than min_lead_days (15)"),
    ('colour = "blue"', "meetings[0].colour: unknown setting"),
    ('kind = "Progress Meeting"', "meetings[0].kind: 'Progress Meeting' is not a key"),
])
def test_bad_meeting_settings_are_refused_naming_file_key_and_value(tmp_path, monkeypatch, setting, says):
    with pytest.raises(PolicyError) as refused:
        load_one(tmp_path, monkeypatch, MEETING + setting + "\n")
    assert str(tmp_path / "x.toml") in str(refused.value) and says in str(refused.value)


def test_la_categories_must_be_the_policys_own_levels(tmp_path, monkeypatch):
    levels = '[categories]\n[[categories.levels]]\nkey = "A"\nlabel = "A"\nwhen = ["default"]\n'
    with pytest.raises(PolicyError, match=r"meetings\[0\]\.la_categories: unknown level 'D' \(one of: A\)"):
        load_one(tmp_path, monkeypatch, MEETING + 'la_categories = ["D"]\n' + levels)
    assert load_one(tmp_path, monkeypatch, MEETING + 'la_categories = ["A"]\n' + levels).meetings[0].la_categories == ("A",)


def test_two_meetings_of_one_kind_are_refused(tmp_path, monkeypatch):
    text = MEETING + MEETING.replace('authority = "X"\n', "")
    with pytest.raises(PolicyError, match=r"meetings\[1\]\.kind: 'progress_meeting' is also the kind of meetings\[0\]"):
        load_one(tmp_path, monkeypatch, text)
