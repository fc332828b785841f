"""The categorisation scheme's language: what each condition means, what it refuses when the policy loads,
and the proposal it makes for a school (the worst level it meets, then the modifiers)."""

from __future__ import annotations

from datetime import date

import pytest

from concerns.domain.categories import CategoriesError, SchoolPicture, parse_categories, propose

D = date.fromisoformat
AS_OF = D("2026-10-01")

# A scheme in the shape of the published procedures: levels best first; Leicester-style modifiers.
SCHEME = {
    "facts": {"new_head": "New or acting headteacher", "safeguarding_not_compliant": "Safeguarding not compliant"},
    "levels": [
        {"key": "1", "label": "Outstanding", "when": ["latest:outstanding"]},
        {"key": "2", "label": "Good", "when": ["latest:good", "default"]},
        {"key": "3", "label": "Some concern", "when": ["inspected:ri within 4 years", "left:any within 1 year"]},
        {"key": "4", "label": "Causing concern", "causing_concern": True,
         "when": ["category:RI and event:warning_letter", "category:SM", "category:RSI",
                  "fact:safeguarding_not_compliant"]},
    ],
    "modifiers": [{"when": "fact:new_head within 1 year", "shift": 1, "reason": "A new or acting head took up post."}],
}


def picture(**kw) -> SchoolPicture:
    return SchoolPicture(as_of=AS_OF, **kw)


def proposed(**kw) -> tuple[str, list[str]]:
    level, reasons = propose(parse_categories(SCHEME, "test"), picture(**kw))
    return level.key, reasons


def test_outstanding_is_not_good():
    # The shipped policies' bug: "latest:good" matched outstanding schools too, so none reached the top.
    assert proposed(graded=((D("2023-05-01"), "outstanding"),))[0] == "1"
    assert proposed(graded=((D("2023-05-01"), "good"),))[0] == "2"


def test_an_ri_judgement_within_four_years_and_not_after():
    ri_2023 = ((D("2025-01-10"), "good"), (D("2023-01-10"), "ri"))
    key, reasons = proposed(graded=ri_2023)
    assert key == "3" and reasons == ["An Ofsted inspection published 10 January 2023 judged it as requiring improvement."]
    assert proposed(graded=((D("2025-01-10"), "good"), (D("2022-09-30"), "ri")))[0] == "2"


def test_the_first_year_after_leaving_a_category():
    assert proposed(closed=(("special_measures", D("2026-02-01")),))[0] == "3"
    assert proposed(closed=(("special_measures", D("2025-09-01")),))[0] == "2"


def test_all_parts_of_a_joined_condition_must_hold():
    assert proposed(categories=frozenset({"RI"}), pathways=frozenset({"requires_improvement"}))[0] == "2"
    key, reasons = proposed(categories=frozenset({"RI"}), events=frozenset({"warning_letter"}))
    assert key == "4" and reasons == ["Ofsted judged it as requiring improvement.", "A warning letter has been given."]


def test_facts_hold_from_their_date_until_they_end():
    fact = ("safeguarding_not_compliant", D("2026-09-15"), None)
    key, reasons = proposed(facts=(fact,))
    assert key == "4" and reasons == ["Recorded from 15 September 2026: Safeguarding not compliant."]
    assert proposed(facts=(("safeguarding_not_compliant", D("2026-10-02"), None),))[0] == "2"  # not yet
    assert proposed(facts=(("safeguarding_not_compliant", D("2026-01-01"), D("2026-06-30")),))[0] == "2"  # ended


def test_a_modifier_moves_a_level_and_stops_at_the_worst():
    new_head = ("new_head", D("2026-04-20"), None)
    key, reasons = proposed(graded=((D("2024-03-01"), "good"),), facts=(new_head,))
    assert key == "3" and reasons[-1] == "A new or acting head took up post."
    assert proposed(categories=frozenset({"SM"}), facts=(new_head,))[0] == "4"
    # "within 1 year" of its start: a head in post since 2025 no longer moves the level.
    assert proposed(graded=((D("2024-03-01"), "good"),), facts=(("new_head", D("2025-06-01"), None),))[0] == "2"


def test_no_inspection_is_said_in_words():
    key, reasons = proposed()
    assert key == "2" and reasons == ["It has no graded Ofsted inspection on record."]


@pytest.mark.parametrize(("condition", "says"), [
    ("latest:great", "latest:great is unknown"),
    ("inspected:ri", "needs a period"),
    ("category:SM within 2 years", "takes no 'within' period"),
    ("fact:new_teacher", "fact:new_teacher is unknown"),
    ("pathway:special", "pathway:special is unknown"),
    ("stuck:yes", "takes no value"),
    ("sunny", "unknown condition 'sunny'"),
    ("latest:ri or latest:sm", "cannot read condition"),
])
def test_conditions_the_language_cannot_say_are_refused_naming_them(condition, says):
    scheme = {**SCHEME, "levels": [*SCHEME["levels"][:3], {**SCHEME["levels"][3], "when": [condition]}]}
    with pytest.raises(CategoriesError, match=says) as refused:
        parse_categories(scheme, "luton.toml")
    assert str(refused.value).startswith("luton.toml: categories.levels[4] (4)")


def test_a_scheme_without_a_default_or_with_a_level_twice_is_refused():
    with pytest.raises(CategoriesError, match="default"):
        parse_categories({"levels": [{"key": "a", "label": "A", "when": ["stuck"]}]}, "x.toml")
    with pytest.raises(CategoriesError, match="used twice"):
        parse_categories({"levels": [{"key": "a", "label": "A", "when": ["default"]},
                                     {"key": "a", "label": "B"}]}, "x.toml")
    with pytest.raises(CategoriesError, match=r"modifiers\[1\]\.shift: 'one' must be a whole number of levels"):
        parse_categories({**SCHEME, "modifiers": [{"when": "stuck", "shift": "one", "reason": "r"}]}, "x.toml")


def test_not_lets_a_better_levels_particular_condition_win():
    scheme = parse_categories({
        "facts": {"results_above_national": "Results above national"},
        "levels": [{"key": "A", "label": "A", "when": ["latest:good and fact:results_above_national"]},
                   {"key": "B", "label": "B", "when": ["latest:good and not fact:results_above_national", "default"]}],
    }, "x.toml")
    above = picture(graded=GOOD_2024, facts=(("results_above_national", D("2026-07-01"), None),))
    assert propose(scheme, above)[0].key == "A"
    level, reasons = propose(scheme, picture(graded=GOOD_2024))
    assert level.key == "B" and reasons == ["Its latest graded Ofsted inspection, published 1 March 2024, judged it good."]
    with pytest.raises(CategoriesError, match="'not default' says nothing"):
        parse_categories({"levels": [{"key": "a", "label": "A", "when": ["not default"]}]}, "x.toml")


GOOD_2024 = ((D("2024-03-01"), "good"),)
