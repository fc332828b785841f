"""`concerns policy list | check`, the vocabulary check, local events and deadlines, each authority's dates."""

from __future__ import annotations

import json

import pytest

from concerns.app.cli import main
from concerns.domain import policy as policy_module
from concerns.domain.policy import BUILTIN_DIR, PolicyError, all_policies, policy_for, service_of
from concerns.jobs import policycheck
from statemachines.case import CaseFile, SchoolFacts
from statemachines.pathways import EventContext, EventRefused, allowed_events, fire, open_case
from tests.conftest import d

GOOD = '''
authority = "Rutland"
[roles]
adviser = { title = "School improvement adviser", acts_as = "link_adviser", manager = "lead" }
lead = { title = "Lead adviser", acts_as = "case_lead", manager = "head" }
head = { title = "Head of service", acts_as = "service_head", manager = "dcs" }
dcs = { title = "Director of children's services", acts_as = "director" }
[[events]]
name = "audit_received"
label = "Safeguarding audit received"
pathways = ["requires_improvement", "la_concern"]
meets = ["audit"]
[[local_deadlines]]
on = "judged_requires_improvement"
kind = "audit"
count = 3
unit = "months"
responsible = "adviser"
met_by = "audit_received"
source = "Rutland procedure, section 2"
'''


@pytest.fixture
def policy_dir(tmp_path, monkeypatch):
    folder = tmp_path / "policies"
    folder.mkdir()
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(folder))
    policy_module._load_all.cache_clear()
    policy_module._policy_for.cache_clear()
    yield folder
    policy_module._load_all.cache_clear()
    policy_module._policy_for.cache_clear()


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_every_shipped_policy_and_the_template_pass_the_check(capsys):
    files = sorted(BUILTIN_DIR.glob("*.toml"))
    assert {f.stem for f in files} >= {"default", "derbyshire", "doncaster", "luton", "triborough", "leicester"}
    for path in [*files, BUILTIN_DIR / "TEMPLATE.toml.example"]:
        rc, out, err = run(capsys, "policy", "check", str(path))
        assert (rc, out.strip(), err) == (0, "ok", ""), path


def test_the_template_is_never_loaded_as_a_policy():
    assert "TEMPLATE" not in all_policies() and "TEMPLATE.toml" not in all_policies()


def test_policy_check_lists_every_problem_naming_file_setting_and_value(policy_dir, capsys):
    bad = policy_dir.parent / "bad.toml"
    bad.write_text('colour = "blue"\n' + GOOD.replace('met_by = "audit_received"', 'met_by = "audit_recieved"')
                   .replace('unit = "months"', 'unit = "fortnights"')
                   .replace('meets = ["audit"]', 'meets = ["audit", "no_such_kind"]')
                   + '\n[letters.no_such_letter]\ncopy = ["adviser", "nobody"]\n'
                   + '[responsible]\nstatement_of_action = "nobody_here"\n')
    rc, out, err = run(capsys, "policy", "check", str(bad))
    lines = err.strip().splitlines()
    assert rc == 2 and out == ""
    assert all(line.startswith(f"{bad}: ") for line in lines), lines
    expected = [
        ("local_deadlines[0].unit", "'fortnights'"),
        ("events.audit_received.meets", "'no_such_kind'"),
        ("letters.no_such_letter.copy", "'nobody'"),
        ("letters.no_such_letter", "'no_such_letter'"),
        ("responsible.statement_of_action", "'nobody_here'"),
        ("colour", "'blue'"),
    ]
    for setting, value in expected:
        assert any(f": {setting}: {value}" in line for line in lines), (setting, lines)



def test_policy_check_refuses_a_value_nested_too_deep_in_one_line(capsys, tmp_path):
    path = tmp_path / "rutland.toml"
    path.write_text(GOOD + "title = " + "[" * 5000 + "]" * 5000 + "\n")  # past Python's own recursion limit
    rc, out, err = run(capsys, "policy", "check", str(path))
    assert rc == 2 and "RecursionError" not in err and "Traceback" not in err
    lines = [line for line in (out + err).splitlines() if str(path) in line]
    assert lines == [f"{path}: a value is nested more than 24 tables or lists deep: write it flatter"]

def test_met_by_naming_an_unknown_event_is_refused_when_the_policies_load(policy_dir, capsys, tmp_path):
    # A deadline met by an event that does not exist could never be met and would escalate daily.
    (policy_dir / "rutland.toml").write_text(GOOD.replace('met_by = "audit_received"', 'met_by = "audit_done"'))
    rc, out, err = run(capsys, "policy", "check", str(policy_dir / "rutland.toml"))
    assert rc == 2 and "local_deadlines[0].met_by: 'audit_done' is not an event" in err
    policycheck._check_loaded.cache_clear()
    rc, out, err = run(capsys, "--db", f"sqlite:///{tmp_path / 'x.db'}", "event", "100001", "raise_concern", "--on",
                       "2026-12-18")
    assert rc == 2 and "met_by: 'audit_done'" in err and "rutland.toml" in err and out == ""


@pytest.mark.parametrize(("change", "says"), [
    (('name = "audit_received"', 'name = "confirm_concern"'), "is already an event of the pathway machine"),
    (('pathways = ["requires_improvement", "la_concern"]', 'pathways = ["ri"]'), "'ri' is not a pathway"),
    (('on = "judged_requires_improvement"', 'on = "judged_ri"'), "local_deadlines[0].on: 'judged_ri'"),
    (('kind = "audit"', 'kind = "statement_of_action"'), "a deadline kind the machine already creates"),
    (('source = "Rutland procedure, section 2"', 'source = "x"\nschools = "free_schools"'), "'free_schools'"),
    (('source = "Rutland procedure, section 2"', 'source = "x"\nevery = "fortnight"'), "'fortnight'"),
    (('[[events]]', '[categories]\n[[categories.levels]]\nkey = "a"\nlabel = "A"\nwhen = ["default"]\n'
                    '[[categories.levels]]\nkey = "b"\nlabel = "B"\nwhen = ["event:audit_recieved"]\n[[events]]'),
     "categories.levels.b.when: 'event:audit_recieved' names no event"),
])
def test_unknown_words_in_a_policy_are_refused(policy_dir, change, says):
    path = policy_dir.parent / "rutland.toml"
    path.write_text(GOOD.replace(*change))
    problems = policycheck.check_file(path)
    assert any(says in line for line in problems), problems


def test_a_bad_category_condition_does_not_hide_the_other_problems(policy_dir):
    path = policy_dir.parent / "rutland.toml"
    path.write_text(GOOD.replace('meets = ["audit"]', 'meets = ["audit", "zz"]')
                    + '[categories]\n[[categories.levels]]\nkey = "a"\nlabel = "A"\nwhen = ["nonsense:x"]\n')
    problems = policycheck.check_file(path)
    assert any("unknown condition 'nonsense:x'" in line for line in problems)
    assert any("events.audit_received.meets: 'zz'" in line for line in problems)


def test_the_loader_refuses_the_first_problem_and_counts_the_rest(policy_dir):
    (policy_dir / "rutland.toml").write_text('shape = "round"\n' + GOOD.replace('unit = "months"', 'unit = "weeks"'))
    with pytest.raises(PolicyError, match=r"and 1 more: `concerns policy check"):
        all_policies()


def test_policy_list_shows_shipped_and_local_policies(policy_dir, capsys):
    (policy_dir / "rutland.toml").write_text(GOOD)
    rc, out, _ = run(capsys, "policy", "list", "--json")
    docs = {p["key"]: p for p in json.loads(out)}
    assert rc == 0
    assert docs["rutland"]["from"] == "CONCERNS_POLICY_DIR" and docs["rutland"]["authority"] == "Rutland"
    assert docs["luton"]["from"] == "shipped"
    assert docs["leicester"]["source"] == "Leicester City Council, Policy for School Improvement, September 2007"
    assert set(docs["triborough"]["boroughs"]) == {"Hammersmith and Fulham", "Kensington and Chelsea", "Westminster"}
    rc, out, _ = run(capsys, "policy", "list")
    assert rc == 0 and "Rutland" in out and "Tri-borough" in out


def test_two_policies_answering_to_one_name_are_refused(policy_dir):
    (policy_dir / "leicester_city.toml").write_text('authority = "Leicester City"\n')
    with pytest.raises(PolicyError, match="both answer to 'leicester city'"):
        all_policies()


def test_aliases_and_boroughs_resolve_to_one_authority():
    assert {policy_for(n).key for n in ("Leicester", "Leicester City", "leicester city council", "856")} == {
        "leicester"}
    assert {service_of(n) for n in ("Westminster", "Kensington and Chelsea", "Hammersmith and Fulham",
                                    "Tri-borough")} == {"Tri-borough"}
    assert service_of("Nowhere  Borough") == "Nowhere Borough"  # a default-policy LA is its own service
    assert service_of("Nowhere Borough") != service_of("Elsewhere")


@pytest.mark.parametrize(("la", "year", "proposed", "label_on", "label"), [
    ("Leicester", "2027/28", "2027-05-01", "2027-05-20", "2027/28"),  # May/June statement for next year
    ("Leicester", 2026, "2026-05-01", "2026-09-20", "2026/27"),  # a change in the autumn: this year's level
    ("Leicester", "2026/27", "2026-05-01", "2027-04-30", "2026/27"),
    ("Leicester", "2026/27", "2026-05-01", "2027-08-31", "2027/28"),
    ("Tri-borough", "2026/27", "2026-09-15", "2026-09-20", "2026/27"),  # start of the academic year
    ("Doncaster", "2026/27", "2026-10-01", "2027-03-01", "2026/27"),
    ("Nowhere", "2026/27", "2026-10-01", "2027-08-31", "2026/27"),
])
def test_each_authority_has_its_own_categorisation_date_and_year_label(la, year, proposed, label_on, label):
    p = policy_for(la)
    assert p.categorisation_date(year) == d(proposed)
    assert p.academic_year_label(d(label_on)) == label


def test_an_academic_year_must_be_written_like_2026_27():
    with pytest.raises(ValueError, match="not like 2026/27"):
        policy_for("Leicester").categorisation_date("2026/28")


# --- local events and deadlines on the machine -------------------------------------------------------

@pytest.fixture
def rutland(policy_dir):
    (policy_dir / "rutland.toml").write_text(GOOD.replace(
        'source = "Rutland procedure, section 2"', 'source = "Rutland procedure, section 2"\nevery = "year"')
        + '''
[[local_deadlines]]
on = "agree_improvement_plan"
kind = "review"
count = 12
unit = "months"
responsible = "lead"
met_by = "school_review"
schools = "maintained"
source = "Rutland procedure, section 3"

[[local_deadlines]]
on = "audit_received"
kind = "termly_check"
count = 5
unit = "working_days"
responsible = "adviser"
met_by = "audit_received"
every = "term"
source = "Rutland procedure, section 4"
''')
    return policy_for("Rutland")


def ri(on: str) -> EventContext:
    from concerns.domain.judgements import Judgement, Outcome, summarise

    judgement = Judgement(d(on), outcome=Outcome.requires_improvement)
    return EventContext("judged_requires_improvement", d(on), judgement=judgement, summary=summarise(judgement))


def open_kinds(case: CaseFile) -> dict[str, str]:
    return {x.kind: x.due.isoformat() for x in case.deadlines if x.status == "open"}


def test_a_local_event_is_allowed_on_its_pathways_and_changes_no_state(rutland):
    school = SchoolFacts("200001", "Oakham Primary", "Rutland", "Community school", True)
    case, _ = open_case(school, rutland, ri("2026-11-02"))
    assert "audit_received" in allowed_events(case, school, policy=rutland)
    assert "audit_received" not in allowed_events(case, school)  # the machine alone knows nothing of it
    assert open_kinds(case)["audit"] == "2027-02-02"
    state = case.state
    result = fire(case, school, rutland, EventContext("audit_received", d("2027-01-15")))
    assert (result.from_state, result.to_state, case.state) == (state, state, state)
    assert [x.kind for x in result.met] == ["audit"]
    # Recurring every year: the next audit a year after the one met; every term: the end of the next term.
    assert open_kinds(case)["audit"] == "2028-02-02"
    assert open_kinds(case)["termly_check"] == rutland.calendar().add_working_days(d("2027-01-15"), 5).isoformat()
    fire(case, school, rutland, EventContext("audit_received", d("2027-01-20")))
    spring_end = rutland.terms.current_or_next_term(d("2027-01-20")).end
    summer_end = rutland.terms.next_term_starting_after(spring_end).end
    assert summer_end.isoformat() in [x.due.isoformat() for x in case.deadlines
                                      if x.kind == "termly_check" and x.status == "open"]


def test_a_local_event_is_refused_on_a_pathway_it_is_not_for(rutland):
    school = SchoolFacts("200001", "Oakham Primary", "Rutland", "Community school", True)
    from concerns.domain.judgements import Judgement, Outcome, summarise

    j = Judgement(d("2026-11-02"), outcome=Outcome.special_measures)
    case, _ = open_case(school, rutland, EventContext("judged_special_measures", d("2026-11-02"), judgement=j,
                                                      summary=summarise(j)))
    assert "audit_received" not in allowed_events(case, school, policy=rutland)
    with pytest.raises(EventRefused, match="recorded on requires_improvement, la_concern cases"):
        fire(case, school, rutland, EventContext("audit_received", d("2026-11-20")))


def test_a_local_deadline_for_maintained_schools_is_not_set_for_an_academy(rutland):
    for type_name, maintained, expected in (("Community school", True, True), ("Academy converter", False, False)):
        school = SchoolFacts("200002", "Uppingham", "Rutland", type_name, maintained)
        case, _ = open_case(school, rutland, ri("2026-11-02"))
        fire(case, school, rutland, EventContext("agree_improvement_plan", d("2026-11-20")))
        assert ("review" in open_kinds(case)) is expected
        assert "audit" in open_kinds(case)  # schools = "all"


def test_an_hmi_monitoring_visit_is_recorded_on_an_ri_case(rutland):
    # Ofsted monitors schools judged RI (Tri-borough Framework 2013, 5.22: an HMI visit within four to
    # six weeks of the report) and those needing attention under report cards.
    school = SchoolFacts("200003", "Cottesmore", "Rutland", "Community school", True)
    case, _ = open_case(school, rutland, ri("2026-11-02"))
    assert "hmi_monitoring_visit" in allowed_events(case, school)
    result = fire(case, school, rutland, EventContext("hmi_monitoring_visit", d("2026-12-03")))
    assert result.from_state == result.to_state == "ri_improvement_planning"


def test_local_events_reach_the_command_line_and_the_audit_trail(rutland, cli):
    cli.ok("school", "add", "200004", "--name", "Ketton Primary", "--la", "Rutland", "--type", "Community school")
    cli.ok("inspection", "add", "200004", "--published", "2026-11-02", "--outcome", "requires_improvement")
    case = cli.json("case", "show", "200004")["cases"][0]
    assert {"audit_received", "hmi_monitoring_visit"} <= set(case["allowed_events"])
    cli.ok("event", "200004", "audit_received", "--on", "2026-11-20", "--note", "Audit in")
    case = cli.json("case", "show", "200004", "--as-of", "2026-11-20")["cases"][0]
    assert case["events"][-1]["event"] == "audit_received"
    assert case["events"][-1]["from_state"] == case["events"][-1]["to_state"] == case["state"]
    audits = [x for x in case["deadlines"] if x["kind"] == "audit"]
    assert [(x["status"], x["due"]) for x in audits] == [("met", "2027-02-02"), ("open", "2028-02-02")]
    rc, _, err = cli("event", "200004", "audit_recieved", "--on", "2026-11-21")
    assert rc == 2 and "the rutland policy's own: audit_received" in err


def test_template_file_is_shipped_beside_the_policies():
    assert (policy_module.BUILTIN_DIR / "TEMPLATE.toml.example").is_file()
