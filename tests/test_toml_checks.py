"""Every TOML file the product reads is checked one way (concerns.domain.tomlcheck): an unknown key, a wrong
type, a table where a value belongs and a value nested absurdly deep are each refused in one line naming
the file, the key and the value."""

from datetime import date

import pytest

from concerns.domain.letterspecs import LetterSpecError, parse_letter_spec
from concerns.domain.policy import PolicyError, parse_policy
from concerns.domain.tomlcheck import MAX_DEPTH, load_toml, too_deep
from concerns.output.letters import render_letter
from tests.test_letter_files import GOOD, ON, _spec_file, authority, school  # noqa: F401 (a fixture)

DEEP = "[" * 2000 + "]" * 2000


def _policy_refusal(data):
    with pytest.raises(PolicyError) as exc:
        parse_policy({"authority": "X", **data}, "x", "x.toml")
    return str(exc.value)


@pytest.mark.parametrize(("data", "says"), [
    ({"colour": "blue"}, "x.toml: colour: 'blue' is not a policy setting (settings: aliases,"),
    ({"local_deadlines": [{"on": "a", "kind": "k", "count": 3, "unit": "days", "responsible": "r",
                           "source": "s", "colour": "red"}]},
     "x.toml: local_deadlines[0].colour: 'red' is not a setting of local_deadlines[0] (settings:"),
    ({"events": [{"name": "audit", "label": "A", "pathways": ["la_concern"], "zz": 1}]},
     "x.toml: events.audit.zz: 1 is not a setting of events.audit (settings: label, meets, name, pathways"),
    ({"local_deadlines": [{"on": "a", "kind": "k", "count": "3", "unit": "days", "responsible": "r",
                           "source": "s"}]}, "x.toml: local_deadlines[0].count: '3' must be a whole number"),
    ({"title": {"text": "x"}}, "x.toml: title: {'text': 'x'} must be a text"),
    ({"roles": {"sia": "Adviser"}}, "x.toml: roles.sia: 'Adviser' must be a table (title, manager, acts_as)"),
])
def test_a_policy_file_is_refused_naming_file_key_and_value(data, says):
    refusal = _policy_refusal(data)
    assert refusal.startswith(says) and "\n" not in refusal and "type=" not in refusal and "Input" not in refusal


@pytest.mark.parametrize(("categories", "says"), [
    ({"colour": "red"}, "x.toml: categories.colour: 'red' is not a setting of [categories] (settings: change_letter,"),
    ({"levels": [{"key": "a", "label": "A", "when": ["default"], "colour": 1}]},
     "x.toml: categories.levels[1].colour: 1 is not a setting of categories.levels[1] (settings:"),
    ({"levels": [{"label": "A", "when": ["default"]}]}, "x.toml: categories.levels[1]: missing setting 'key'"),
    ({"levels": [{"key": "a", "label": "A", "when": "default"}]},
     "x.toml: categories.levels[1].when: 'default' must be a list"),
    ({"proposed_on": "13-01"}, "x.toml: categories.proposed_on: '13-01' is not a day of the year as MM-DD"),
    ({"proposed_on": 1001}, "x.toml: categories.proposed_on: 1001 is not a day of the year as MM-DD"),
    ({"year": "last"}, "x.toml: categories.year: 'last' is not current or next"),
    ({"modifiers": [{"when": "stuck", "shift": 0, "reason": "r"}]},
     "x.toml: categories.modifiers[1].shift: 0 moves no level"),
    ({"facts": {"new_head": 3}}, "x.toml: categories.facts: {'new_head': 3} must map each fact to its name"),
])
def test_a_policys_categories_are_refused_naming_file_key_and_value(categories, says):
    refusal = _policy_refusal({"categories": categories})
    assert refusal.startswith(says) and "\n" not in refusal


def test_every_problem_in_a_policys_meetings_and_categories_is_listed():
    problems: list[str] = []
    meeting = {"name": "M", "cadence": "monthly", "minimum_per_year": 3, "responsible": "senior_adviser",
               "days": ["wed"]}
    parse_policy({"authority": "X", "meetings": [meeting, {**meeting, "cadence": "term", "colour": 1}],
                  "categories": {"year": "last", "proposed_on": "02-30"}}, "x", "x.toml", problems)
    assert problems == [
        "x.toml: categories.year: 'last' is not current or next",
        "x.toml: categories.proposed_on: '02-30' is not a day of the year as MM-DD",
        "x.toml: meetings[0].cadence: 'monthly' is not term or half_term",
        "x.toml: meetings[0].days: unknown weekday 'wed' (one of: monday, tuesday, wednesday, thursday, friday, "
        "saturday, sunday)",
        "x.toml: meetings[1].days: unknown weekday 'wed' (one of: monday, tuesday, wednesday, thursday, friday, "
        "saturday, sunday)",
        "x.toml: meetings[1].colour: unknown setting (settings: attendees, cadence, chair, days, kind, "
        "la_categories, length_minutes, min_lead_days, minimum_per_year, minutes_due_days_after, name, "
        "ofsted_categories, papers_due_days_before, pathways, per_day_limit, responsible, school_attendees, "
        "scope, times, venue)"]


def test_every_problem_in_a_policy_is_listed_not_just_the_first():
    problems: list[str] = []
    parse_policy({"authority": "X", "colour": "blue", "title": 3}, "x", "x.toml", problems)
    assert problems == ["x.toml: colour: 'blue' is not a policy setting (settings: aliases, authority, boroughs, "
                        "categories, closures, escalation, events, letters, local_deadlines, meetings, "
                        "procedure, reminder_offsets, responsible, roles, rules, source, terms, title)",
                        "x.toml: title: 3 must be a text"]


def test_a_deeply_nested_policy_value_is_refused_in_one_line(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(f'authority = "X"\ntitle = {DEEP}\n')
    with pytest.raises(PolicyError) as exc:
        load_toml(path.read_bytes(), str(path), PolicyError)
    assert str(exc.value).startswith(f"{path}: ") and "nested more than" in str(exc.value)
    assert "\n" not in str(exc.value)
    shallow = "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2)  # parses, but deeper than any setting
    with pytest.raises(PolicyError, match=r"^t\.toml: t\[0\].*nested more than"):
        load_toml(f"t = {shallow}", "t.toml", PolicyError)


def test_a_value_nested_deeper_than_the_limit_is_refused_by_parse_policy_too():
    value: list = []
    for _ in range(MAX_DEPTH + 5):
        value = [value]
    refusal = _policy_refusal({"title": value})
    assert refusal.startswith("x.toml: title[0]") and "is nested more than" in refusal and "\n" not in refusal


def test_too_deep_walks_any_depth_without_recursion():
    value: list = []
    for _ in range(100_000):
        value = [value]
    assert too_deep(value) is not None and too_deep([[1]]) is None


@pytest.mark.parametrize(("change", "says"), [
    (('title = "Record of a home visit"', 'title = "x"\ncolour = "red"'), "colour = 'red': unknown key (keys: "),
    (('tag = "S"', 'tag = "S"\ncolour = "red"'), "copy[0].colour = 'red': unknown key (keys: "),
    (('addressee = true', 'addressee = "yes"'), "copy[0].addressee = 'yes': must be true or false"),
    (('help = "the day of the visit"', 'help = { text = "x" }'), "details.visited_on.help = {'text': 'x'}: "
                                                                  "must be a text"),
    (('[[copy]]', '[copy]'), "copy = {'addressee': True, 'party': 'headteacher', 'source': 'local practice', "
                             "'tag': 'S'}: must be a list of tables: write each as [[copy]]"),
])
def test_a_letter_file_is_refused_naming_file_key_and_value(tmp_path, change, says):
    import tomllib

    path = _spec_file(tmp_path, GOOD.replace(*change))
    with pytest.raises(LetterSpecError) as exc:
        parse_letter_spec(path, tomllib.loads(path.read_text()))
    assert str(exc.value) == f"{path}: {says}" or str(exc.value).startswith(f"{path}: {says}")


def test_a_deeply_nested_letter_file_is_refused_in_one_line(tmp_path):
    from concerns.domain.letterspecs import load_letter_specs

    path = _spec_file(tmp_path, GOOD.replace('title = "Record of a home visit"', f'title = {DEEP}'))
    with pytest.raises(LetterSpecError) as exc:
        load_letter_specs((tmp_path,))
    assert str(exc.value).startswith(f"{path}: ") and "nested more than" in str(exc.value)


@pytest.mark.parametrize(("letters", "says"), [
    ({"warning_letter": {"copy": ["dcs"], "colour": "red"}},
     "letters.warning_letter.colour = 'red': unknown setting (settings: copy, parties, signatory)"),
    ({"warning_letter": {"copy": {"role": "dcs"}}}, "letters.warning_letter.copy = {'role': 'dcs'}: must be a list"),
    ({"warning_letter": "dcs"}, "letters.warning_letter = 'dcs': must be a table (copy, signatory, parties)"),
])
def test_a_policys_letter_settings_are_refused_naming_file_key_and_value(letters, says):
    refusal = _policy_refusal({"letters": letters})
    assert refusal.startswith("x.toml: ") and says in refusal


def test_letter_details_nested_too_deep_are_refused_in_one_line(authority):  # noqa: F811 (the fixture)
    value: list = []
    for _ in range(5000):
        value = [value]
    with pytest.raises(ValueError) as exc:
        render_letter("warning_letter", school=school(), authority=authority, on=ON, reference="R",
                      concerns=value, actions=["Agree a plan"], complete_by=date(2027, 2, 12))
    assert str(exc.value).startswith("warning_letter: concerns[0]") and "nested more than" in str(exc.value)


def test_letter_details_refuse_an_unknown_key_and_a_wrong_type(authority):  # noqa: F811 (the fixture)
    with pytest.raises(ValueError, match=r"^warning_letter does not take: colour; it takes: "):
        render_letter("warning_letter", school=school(), authority=authority, on=ON, reference="R",
                      concerns=["x"], actions=["y"], complete_by=date(2027, 2, 12), colour="red")
    with pytest.raises(ValueError, match=r"^warning_letter: 'complete_by' must be a date; got str '2027-02-12'"):
        render_letter("warning_letter", school=school(), authority=authority, on=ON, reference="R",
                      concerns=["x"], actions=["y"], complete_by="2027-02-12")
