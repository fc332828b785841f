"""Each shipped authority's categorisation, proposed as its own procedure puts it: one test per rule the
procedure states, each citing the section it follows. The schools are plain pictures (what the scheme
reads); the database side of categorisation is tested in tests/test_lacategories.py."""

from __future__ import annotations

from datetime import date

import pytest

from concerns.domain.categories import SchoolPicture, propose
from concerns.domain.policy import policy_for

D = date.fromisoformat
AS_OF = D("2026-10-01")
GOOD = ((D("2024-03-01"), "good"),)
OUTSTANDING = ((D("2023-03-01"), "outstanding"),)
RI = ((D("2025-05-01"), "ri"),)


def level(authority: str, **picture) -> str:
    chosen, _ = propose(policy_for(authority).categories, SchoolPicture(as_of=picture.pop("as_of", AS_OF), **picture))
    return chosen.key


def fact(name: str, since: str = "2026-09-01") -> tuple:
    return (name, D(since), None)


@pytest.mark.parametrize(("picture", "expected", "procedure"), [
    ({"graded": OUTSTANDING}, "low", "low risk: outstanding"),
    ({"graded": ((D("2025-01-10"), "good"), (D("2023-02-01"), "ri"))}, "medium",
     "medium risk: judged requires improvement within the last four years"),
    ({"graded": ((D("2025-01-10"), "good"), (D("2022-06-01"), "ri"))}, "low", "... but not five years ago"),
    ({"graded": GOOD, "facts": (fact("leadership_ri"),)}, "medium", "medium: leadership and management RI"),
    ({"categories": frozenset({"SM"}), "pathways": frozenset({"special_measures"})}, "high",
     "high risk: a school causing concern"),
    ({"pathways": frozenset({"la_concern"}), "categories": frozenset({"LA"})}, "high",
     "high risk: the authority's own concern"),
])
def test_derbyshire_2023_risk_levels(picture, expected, procedure):
    """Derbyshire County Council, Local Authority Procedures for Schools Causing Concern (2023), section 3:
    "Low risk / Medium risk / High risk (and therefore, School Causing Concern)"."""
    assert level("Derbyshire", **picture) == expected, procedure


@pytest.mark.parametrize(("picture", "expected", "procedure"), [
    ({"graded": OUTSTANDING}, "A", "Appendix A: outstanding"),
    ({"graded": GOOD, "facts": (fact("results_above_national"),)}, "A", "Appendix A: good, results above national"),
    ({"graded": GOOD}, "B", "Appendix A: good"),
    ({"graded": RI, "categories": frozenset({"RI"})}, "C", "RI protocol: requires improvement is C"),
    ({"graded": GOOD, "closed": (("special_measures", D("2026-03-01")),)}, "C",
     "Appendix A: C in the first year after leaving D"),
    ({"graded": GOOD, "closed": (("special_measures", D("2025-06-01")),)}, "B", "... not after the first year"),
    ({"graded": RI, "categories": frozenset({"RI"}), "events": frozenset({"warning_letter"})}, "D",
     "Powers of Intervention: D once a pre-warning notice is given"),
    ({"categories": frozenset({"SM"})}, "D", "Inadequate Schools: D"),
])
def test_luton_categories_a_to_d(picture, expected, procedure):
    """Luton Council Education Service, Protocols for Monitoring Schools, "All Schools" and Appendix A:
    "The Local Authority categorises all schools including academies from A to D"."""
    assert level("Luton", **picture) == expected, procedure


@pytest.mark.parametrize(("authority", "picture", "expected", "procedure"), [
    ("Westminster", {"graded": OUTSTANDING}, "outstanding", "Table 1: outstanding"),
    ("Hammersmith and Fulham", {"graded": GOOD}, "good", "Table 1: good"),
    ("Kensington and Chelsea", {"graded": GOOD, "facts": (fact("at_risk_of_category"),)}, "requires_improvement",
     "Table 1: at risk of a category when next inspected"),
    ("Westminster", {"graded": GOOD, "facts": (fact("la_review_inadequate"),)}, "inadequate",
     "Table 1: an LA review identifies the school as inadequate"),
    ("Westminster", {"categories": frozenset({"RSI"})}, "inadequate", "Table 1: serious weaknesses"),
])
def test_triborough_2013_table_1(authority, picture, expected, procedure):
    """Tri-borough Education Service, Framework to Support School Improvement (2013), 2.5 Table 1, for each
    of the three boroughs."""
    assert level(authority, **picture) == expected, procedure


@pytest.mark.parametrize(("picture", "expected", "procedure"), [
    ({"graded": OUTSTANDING}, "1", "1 Sustaining Excellence: outstanding (no longer read as good)"),
    ({"graded": GOOD}, "2", "2 Aspiring to Excellence: good"),
    ({"graded": GOOD, "facts": (fact("outstanding_improvement"),)}, "1",
     "good with secure evidence of outstanding improvement is 1"),
    ({"graded": RI, "facts": (fact("good_improvement"),)}, "2", "RI with secure evidence of good improvement"),
    ({"graded": RI, "facts": (fact("capacity_to_improve"),)}, "3", "RI with the capacity to improve"),
    ({"graded": RI, "facts": (fact("lacks_capacity"),)}, "4", "RI lacking the capacity to improve"),
    ({"graded": GOOD, "facts": (fact("increasing_concerns"),)}, "4", "good with increasing concerns"),
    ({"categories": frozenset({"RSI"})}, "5", "5 School of Extreme Concern: serious weaknesses (not 4)"),
    ({"categories": frozenset({"SM"})}, "5", "5: special measures"),
])
def test_doncaster_2015_16_categories_1_to_5(picture, expected, procedure):
    """Doncaster MBC, School Improvement Strategy 2015-16, section 4 "Annual Review and Risk Assessment":
    categories 1-5 by Ofsted's judgement and the authority's risk assessment."""
    assert level("Doncaster", **picture) == expected, procedure


@pytest.mark.parametrize(("picture", "expected", "procedure"), [
    ({"graded": OUTSTANDING}, "1", "Appendix 4: light touch"),
    ({"graded": GOOD}, "2", "Appendix 5: medium"),
    ({"graded": GOOD, "facts": (fact("new_head", "2026-04-20"),)}, "3", "Appendix 8: +1 level for a new head"),
    ({"graded": OUTSTANDING, "facts": (fact("new_head", "2025-04-20"),)}, "1", "... only in the first year"),
    ({"graded": RI}, "3", "Appendix 6: enhanced"),
    ({"graded": GOOD, "facts": (fact("safeguarding_not_compliant"),)}, "4",
     "Appendix 2: not compliant with safeguarding protocols is level 4"),
    ({"categories": frozenset({"SM"}), "facts": (fact("new_head"),)}, "4", "+1 stops at the highest level"),
])
def test_leicester_2007_levels_of_support(picture, expected, procedure):
    """Leicester City Council, Policy for School Improvement (2007), 6.2 and Appendices 2 and 4-8."""
    assert level("Leicester City", **picture) == expected, procedure


def test_each_authority_proposes_on_its_own_day_for_its_own_year():
    """Leicester Appendix 1: the May/June statement is for the coming year; the others in the autumn."""
    leicester, tri = policy_for("Leicester"), policy_for("Westminster")
    assert leicester.categorisation_date("2027/28") == D("2027-05-01")
    assert leicester.academic_year_label(D("2027-06-10")) == "2027/28"
    assert tri.categorisation_date("2026/27") == D("2026-09-15")
    assert policy_for("Derbyshire").academic_year_label(D("2027-06-10")) == "2026/27"
