"""Authority policy files: shipped ones load, bad ones are refused with where and why."""

from __future__ import annotations

import pytest

from concerns import policy as policy_module
from concerns.policy import PolicyError, all_policies, policy_for
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
