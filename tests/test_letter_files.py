"""Letters as data: the files beside the templates, an authority's own letters and settings, addressees and
salutations, the statutory instruments, and letters bound to their case."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from concerns.domain.letterparties import LetterParty, LetterSchool, greeting_name
from concerns.domain.lettersettings import parse_letter_settings
from concerns.domain.letterspecs import (
    BUILTIN_LETTERS,
    LETTER_KINDS,
    LetterSpecError,
    load_letter_specs,
    parse_letter_spec,
)
from concerns.domain.policy import FUNCTIONS, PolicyError, parse_policy
from concerns.output.letters import CHECKS, LetterAuthority, render_letter

ROOT = Path(__file__).resolve().parents[1]
ON = date(2026, 11, 25)


@pytest.fixture
def authority() -> LetterAuthority:
    return LetterAuthority(
        name="Midshire County Council",
        officers={
            "director": LetterParty("Helen Carter", "Executive Director of Children's Services", "hc@midshire.gov.uk"),
            "assistant_director": LetterParty("David Okafor", "Assistant Director", "do@midshire.gov.uk"),
            "senior_adviser": LetterParty("Priya Shah", "Senior Adviser", "ps@midshire.gov.uk"),
            "link_adviser": LetterParty("Tom Hughes", "Link Adviser", "th@midshire.gov.uk"),
        },
    )


def school(maintained: bool = True, **extra) -> LetterSchool:
    return LetterSchool(
        "145678", "Brookfield Primary School" if maintained else "Hilltop Academy", "Midshire",
        "Voluntary aided school" if maintained else "Academy converter", maintained,
        "Diocese of Derby" if maintained else None, "Church of England" if maintained else None,
        LetterParty("Mrs Anita Patel", "Headteacher", "head@brookfield.sch.uk"),
        LetterParty("Revd John Smith", "Chair of Governors", "chair@brookfield.sch.uk"),
        address="Brook Road\nRipley\nDerbyshire\nDE5 3XY", **extra)


# --- The files --------------------------------------------------------------------------------------


def test_every_letter_file_beside_its_template_names_functions_and_public_sources():
    specs = load_letter_specs((BUILTIN_LETTERS,))
    assert {"warning_notice", "ieb_notice", "intervention_notice", "tpc_warning_notice", "rd_referral"} <= set(specs)
    for kind, spec in specs.items():
        assert (BUILTIN_LETTERS / f"{kind}.html.j2").is_file()
        assert spec.signatory in FUNCTIONS and spec.contact in FUNCTIONS
        assert set(spec.internal_copies) <= set(FUNCTIONS)
        assert spec.sources and all(len(s) > 20 for s in spec.sources), kind
        assert spec.check is None or spec.check in CHECKS
        assert all(row.source and row.tag in "VSHU" for row in spec.copy), kind


def test_letters_and_copy_lists_name_functions_not_product_role_keys():
    files = [ROOT / "concerns" / name for name in ("output/letters.py", "domain/copylists.py", "domain/letterspecs.py",
                                                    "domain/letterparties.py", "notify/drafting.py")]
    files += sorted(BUILTIN_LETTERS.iterdir())
    hits = [f"{path.name}: {word}" for path in files for word in ("senior_adviser", "assistant_director")
            if word in path.read_text()]
    assert hits == []


def _spec_file(tmp_path: Path, text: str, kind: str = "home_visit") -> Path:
    (tmp_path / f"{kind}.html.j2").write_text('{% extends "letters/_base.html.j2" %}')
    path = tmp_path / f"{kind}.toml"
    path.write_text(text)
    return path


GOOD = '''title = "Record of a home visit"
signatory = "case_lead"
sources = ["Luton Council, Protocols for Monitoring Schools"]
[[details]]
name = "visited_on"
type = "date"
help = "the day of the visit"
[[checks]]
that = "visited_on <= on"
message = "visited_on is after the letter date"
[[copy]]
party = "headteacher"
addressee = true
source = "local practice"
tag = "S"
'''


@pytest.mark.parametrize(("change", "says"), [
    (('type = "date"', 'type = "calendar"'), 'details.visited_on.type = \'calendar\': unknown type'),
    (('signatory = "case_lead"', 'signatory = "senior_adviser"'), "signatory = 'senior_adviser': not a function"),
    (('party = "headteacher"', 'party = "caretaker"'), "copy[0].party = 'caretaker': unknown party"),
    (('tag = "S"', 'tag = "Z"'), "copy[0].tag = 'Z'"),
    (('"visited_on <= on"', '"visited_on <= published"'), "'published' is neither a date detail"),
    (('help = "the day of the visit"', 'help = "x"\nhelpful = true'), "details.visited_on.helpful = True: unknown key"),
    (('sources = ["Luton Council, Protocols for Monitoring Schools"]', 'sources = []'), "sources = []"),
])
def test_a_bad_letter_file_is_refused_naming_file_key_and_value(tmp_path, change, says):
    path = _spec_file(tmp_path, GOOD.replace(*change))
    import tomllib

    with pytest.raises(LetterSpecError) as exc:
        parse_letter_spec(path, tomllib.loads(path.read_text()))
    assert str(exc.value).startswith(str(path)) and says in str(exc.value)


def test_a_letter_file_without_its_template_is_refused(tmp_path):
    import tomllib

    path = _spec_file(tmp_path, GOOD)
    (tmp_path / "home_visit.html.j2").unlink()
    with pytest.raises(LetterSpecError, match="no template home_visit.html.j2"):
        parse_letter_spec(path, tomllib.loads(GOOD))


# --- An authority's own letter, without Python ------------------------------------------------------


def test_an_authority_adds_a_letter_from_its_policy_folder(tmp_path, monkeypatch, authority):
    letters = tmp_path / "letters"
    letters.mkdir()
    (letters / "home_visit.toml").write_text(GOOD)
    (letters / "home_visit.html.j2").write_text(
        '{% extends "letters/_base.html.j2" %}\n{% block body %}<p>Thank you for our visit on '
        '{{ visited_on | ukdate }}.</p>{% endblock %}\n')
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(tmp_path))
    assert LETTER_KINDS["home_visit"].local
    letter = render_letter("home_visit", school=school(), authority=authority, on=ON, reference="R",
                           visited_on=date(2026, 11, 20))
    assert "Thank you for our visit on Friday 20 November 2026." in letter.text
    assert "Dear Mrs Patel," in letter.text and "Priya Shah" in letter.text  # signed by the case lead
    with pytest.raises(ValueError, match="home_visit: visited_on is after the letter date"):
        render_letter("home_visit", school=school(), authority=authority, on=ON, reference="R",
                      visited_on=date(2026, 11, 26))
    monkeypatch.delenv("CONCERNS_POLICY_DIR")
    with pytest.raises(ValueError, match="unknown letter kind 'home_visit'"):
        render_letter("home_visit", school=school(), authority=authority, on=ON, reference="R",
                      visited_on=date(2026, 11, 20))


def test_a_local_letter_cannot_take_the_name_of_a_statutory_one(tmp_path, monkeypatch):
    letters = tmp_path / "letters"
    letters.mkdir()
    _spec_file(letters, GOOD, kind="warning_notice")
    with pytest.raises(LetterSpecError, match="warning_notice.toml: 'warning_notice' is a letter the product"):
        load_letter_specs((BUILTIN_LETTERS, letters))


# --- Roles by function, and the policy's own letter settings ------------------------------------------


POLICY = {
    "authority": "Tri-borough",
    "roles": {
        "lead_adviser": {"title": "Lead Adviser", "acts_as": "case_lead", "manager": "head_of_service"},
        "link": {"title": "School Improvement Adviser", "acts_as": "link_adviser", "manager": "lead_adviser"},
        "head_of_service": {"title": "Head of Commissioning", "acts_as": "service_head", "manager": "dcs"},
        "dcs": {"title": "Director of Children's Services", "acts_as": "director"},
    },
}


def test_a_policy_sets_local_copies_and_the_signatory_per_letter():
    policy = parse_policy({**POLICY, "letters": {"warning_letter": {"copy": ["dcs"], "signatory": "head_of_service"}}},
                          "triborough", "triborough.toml")
    authority = LetterAuthority(
        "Tri-borough", {"lead_adviser": LetterParty("Sam Lee", "Lead Adviser"),
                        "head_of_service": LetterParty("Kim Ode", "Head of Commissioning"),
                        "dcs": LetterParty("Ann Roe", "Director of Children's Services")},
        roles={f: policy.role_for(f) for f in FUNCTIONS}, settings=policy.letters)
    letter = render_letter("warning_letter", school=school(), authority=authority, on=ON, reference="R",
                           concerns=["Attendance has fallen"], actions=["Agree an attendance plan"],
                           complete_by=date(2027, 2, 12))
    assert "Ann Roe" in [p.name for p in letter.copies]  # the director, copied by the policy
    assert re.search(r"Kim Ode\s+Head of Commissioning", letter.text)  # signs instead of the director
    # Without the setting the letter is the director's (the function that signs warning letters).
    plain = render_letter("warning_letter", school=school(), authority=LetterAuthority(
        "Tri-borough", authority.officers, roles=authority.roles), on=ON, reference="R",
        concerns=["Attendance has fallen"], actions=["Agree an attendance plan"], complete_by=date(2027, 2, 12))
    assert re.search(r"Ann Roe\s+Director of Children's Services", plain.text)


@pytest.mark.parametrize(("letters", "says"), [
    ({"warning_letter": {"copy": "dcs"}}, "letters.warning_letter.copy = 'dcs': must be a list of role keys"),
    ({"warning_letter": {"cc": ["dcs"]}}, "letters.warning_letter.cc = ['dcs']: unknown setting"),
    ({"warning_letter": {"signatory": 3}}, "letters.warning_letter.signatory = 3: must be a role key"),
])
def test_bad_letter_settings_refuse_the_policy_naming_file_key_and_value(letters, says):
    with pytest.raises(PolicyError) as exc:
        parse_policy({**POLICY, "letters": letters}, "triborough", "triborough.toml")
    assert str(exc.value).startswith("triborough.toml: ") and says in str(exc.value)


def test_letter_settings_naming_an_unknown_role_or_letter_are_refused():
    from concerns.domain.lettersettings import LetterSettingsError, check_letter_settings

    settings = parse_letter_settings({"warning_letter": {"copy": ["sip"]}}, "leicester.toml")
    with pytest.raises(LetterSettingsError, match=r"leicester.toml: letters.warning_letter.copy: unknown role 'sip'"):
        check_letter_settings(settings, POLICY["roles"], LETTER_KINDS)
    settings = parse_letter_settings({"final_letter": {"copy": ["dcs"]}}, "leicester.toml")
    with pytest.raises(LetterSettingsError, match="letters.final_letter: no such letter"):
        check_letter_settings(settings, POLICY["roles"], LETTER_KINDS)


# --- Addressees and salutations -----------------------------------------------------------------------


def test_salutations_use_the_name_on_record_and_a_title_only_when_there_is_no_name():
    assert greeting_name(LetterParty("Mrs Anita Patel", "Headteacher"), "Headteacher") == "Mrs Patel"
    assert greeting_name(LetterParty("Rev. John Smith", "Chair"), "Chair of Governors") == "Revd Smith"
    assert greeting_name(LetterParty("Jane Wilson", "Headteacher"), "Headteacher") == "Jane Wilson"
    assert greeting_name(LetterParty("The Headteacher", "Headteacher"), "Headteacher") == "Headteacher"
    assert greeting_name(None, "Headteacher") == "Headteacher"


def test_a_letter_names_its_addressees_with_the_school_postal_address(authority):
    letter = render_letter("warning_letter", school=school(), authority=authority, on=ON, reference="100001/WL/1",
                           concerns=["Attendance has fallen"], actions=["Agree an attendance plan"],
                           complete_by=date(2027, 2, 12))
    assert "Dear Mrs Patel and Revd Smith," in letter.text
    head = letter.text.index("Mrs Anita Patel, Headteacher")
    assert letter.text.index("DE5 3XY") > head and "Headteacher of" not in letter.text
    # The closing and the signature are kept together on the page.
    assert re.search(r'<div class="sign-off">\s*<p>Yours sincerely', letter.html)
    assert "break-inside: avoid" in letter.html


# --- The statutory instruments -------------------------------------------------------------------------


def ieb(**overrides):
    return {"grounds": ["The governing body did not comply with the warning notice given on 20 October 2026."],
            "consent_on": date(2026, 11, 20), "takes_effect_on": date(2026, 12, 1),
            "members": ["Dr Ruth Adeyemi (chair), National Leader of Governance", "Mark Evans, finance"],
            "consulted": ["the governing body", "the Diocese of Derby"], **overrides}


def test_the_ieb_notice_cites_s65_and_the_secretary_of_states_consent_with_the_schedule_6_copies(authority):
    letter = render_letter("ieb_notice", school=school(), authority=authority, on=ON, reference="R", **ieb())
    text = " ".join(letter.text.split())
    assert "notice under section 65 of the 2006 Act" in text
    assert "With the consent of the Secretary of State for Education, given on Friday 20 November 2026" in text
    assert [a.name for a in letter.addressees] == ["The Governing Body of Brookfield Primary School"]
    copies = [p.name for p in letter.copies]
    for party in ("Every member of the interim executive board", "Every governor of the school",
                  "The Secretary of State for Education", "Diocese of Derby"):
        assert party in copies
    with pytest.raises(ValueError, match="consent_on is after the letter date"):
        render_letter("ieb_notice", school=school(), authority=authority, on=ON, reference="R",
                      **ieb(consent_on=date(2026, 11, 26)))
    with pytest.raises(ValueError, match="applies only to maintained schools"):
        render_letter("ieb_notice", school=school(False), authority=authority, on=ON, reference="R", **ieb())


def test_the_notice_of_intended_intervention_follows_the_end_of_the_compliance_period(authority):
    details = {"given_on": date(2026, 10, 20), "compliance_end": date(2026, 12, 4),
               "not_complied": ["No chair of governors has been appointed."], "powers": ["s64", "s65"],
               "powers_from": date(2027, 1, 11)}
    letter = render_letter("intervention_notice", school=school(), authority=authority, on=date(2026, 12, 9),
                           reference="R", **details)
    text = " ".join(letter.text.split())
    assert "for the purposes of section 60(1) of the 2006 Act" in text
    assert "The compliance period it specified ended on Friday 4 December 2026" in text
    assert "interim executive board under section 65 of the 2006 Act." in text
    with pytest.raises(ValueError, match="only be given after the warning notice's compliance period has ended"):
        render_letter("intervention_notice", school=school(), authority=authority, on=date(2026, 12, 4),
                      reference="R", **details)


def test_the_teachers_pay_and_conditions_warning_notice_cites_s60a_and_is_copied_to_the_secretary_of_state(
        authority):
    letter = render_letter(
        "tpc_warning_notice", school=school(), authority=authority, on=ON, reference="R",
        provisions=["The annual pay progression decisions for 2026"], matters=["No pay review was held."],
        actions_required=[{"text": "Hold the pay review", "by": date(2026, 12, 11)}],
        compliance_end=date(2027, 1, 15), minded_to=["s66"])
    text = " ".join(letter.text.split())
    assert "warning notice under section 60A of the Education and Inspections Act 2006" in text
    assert "section 122 of the Education Act 2002" in text and "Friday 15 January 2027" in text
    assert "The Secretary of State for Education" in [p.name for p in letter.copies]


def test_the_referral_of_an_academy_goes_to_the_regional_director(authority):
    academy = school(False, trust="Peak Learning Trust")
    letter = render_letter("rd_referral", school=academy, authority=authority, on=ON, reference="R",
                           concerns=["Outcomes have fallen for three years."], evidence=["Ofsted, October 2026"],
                           steps_taken=["Met the trust's chief executive on 3 November 2026"],
                           asks=["Consider whether the trust's action plan is sufficient"])
    assert [a.name for a in letter.addressees] == ["The Regional Director, Department for Education"]
    assert "Dear Regional Director," in letter.text and "Peak Learning Trust" in letter.text
    assert "The Board of Trustees of Peak Learning Trust" in [p.name for p in letter.copies]
    with pytest.raises(ValueError, match="applies only to academies"):
        render_letter("rd_referral", school=school(), authority=authority, on=ON, reference="R",
                      concerns=["x"], evidence=["y"], steps_taken=["z"], asks=["w"])


def test_the_academy_warning_letter_is_addressed_to_the_trust_with_head_and_chair_copied(authority):
    academy = school(False, trust="Peak Learning Trust")
    letter = render_letter("warning_letter", school=academy, authority=authority, on=ON, reference="R",
                           concerns=["Outcomes have fallen."], actions=["Share the trust's plan"],
                           complete_by=date(2027, 3, 26))
    assert [a.name for a in letter.addressees] == ["The Board of Trustees of Peak Learning Trust"]
    assert {"Mrs Anita Patel", "Revd John Smith"} <= {p.name for p in letter.copies}
    assert "Dear Chief Executive," in letter.text and "Regarding Hilltop Academy" in letter.text


def test_a_post_recorded_in_place_of_a_name_is_written_as_the_post():
    head = LetterParty("Headteacher of Brook Lane Primary School", "Headteacher")
    chair = LetterParty("Chair of governors of Brook Lane Primary School", "Chair of governors")
    records = school()
    letter = render_letter(
        "warning_notice", school=LetterSchool(records.urn, records.name, records.la, records.type_name, True,
                                              None, None, head, chair, address=records.address),
        authority=LetterAuthority("Midshire County Council", {"director": LetterParty("Helen Carter", "Director"),
                                                              "senior_adviser": LetterParty("Priya Shah", "Adviser")}),
        on=ON, reference="R", grounds=["safety"], matters=["m"], actions_required=["a"],
        compliance_end=date(2027, 1, 15), minded_to=["s64"])
    assert "For the attention of the Chair of governors\n" in letter.text
    assert "Dear Chair of Governors," in letter.text and "- The Headteacher\n" in letter.text
    assert "of Brook Lane Primary School, " not in letter.text
