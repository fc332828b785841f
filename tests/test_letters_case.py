"""Letters bound to their case, on SQLite and PostgreSQL: dates taken from the case and a typed date that
differs refused in one line; the legacy notice's computed date; compliance_failed refused before the notice's
own period ends; the school's postal address from GIAS on its letters."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.test_cli import Cli

NOTICE = ('grounds = ["management_breakdown"]\nmatters = ["The governing body has not met."]\n'
          'actions_required = ["Appoint a chair of governors"]\nminded_to = ["s65"]\n')


@pytest.fixture
def demo(cli: Cli, tmp_path, monkeypatch) -> Cli:
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("init", "--demo")
    return cli


def _details(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "details.toml"
    path.write_text(NOTICE + extra)
    return str(path)


def _letter(tmp_path: Path, urn: str, kind: str) -> str:
    (path,) = (tmp_path / "letters" / urn).glob(f"*{kind.replace('_', '-')}.html")
    return path.read_text()


def test_the_warning_notice_takes_its_compliance_period_from_the_case(demo, tmp_path):
    # The case (990402) recorded the notice on 20 October 2026 with its period ending 4 December 2026.
    rc, _, err = demo("letter", "draft", "990402", "warning_notice", "--on", "2026-10-20",
                      "--details", _details(tmp_path, "compliance_end = 2026-12-18\n"))
    assert rc == 2 and err.count("\n") == 1
    assert "compliance_end 18 December 2026 does not match the case" in err and "4 December 2026" in err
    rc, _, err = demo("letter", "draft", "990402", "warning_notice", "--on", "2026-10-20",
                      "--details", _details(tmp_path, "given_on = 2026-10-21\n"))
    assert rc == 2 and "given_on 21 October 2026 does not match the case" in err
    demo.ok("letter", "draft", "990402", "warning_notice", "--on", "2026-10-20", "--details", _details(tmp_path))
    html = _letter(tmp_path, "990402", "warning_notice")
    assert "Friday 4 December 2026" in html and "990402/WN/20261020" in html
    assert "warning_notice" not in html.split("<body>")[1]


def test_a_warning_notice_needs_the_notice_recorded_on_the_case(demo, tmp_path):
    # 990401 has a confirmed concern but no warning notice on its case.
    rc, _, err = demo("letter", "draft", "990401", "warning_notice", "--on", "2026-11-20",
                      "--details", _details(tmp_path, "compliance_end = 2027-01-15\n"))
    assert rc == 2 and "the case records no warning notice with its compliance period yet" in err


def test_the_legacy_notice_prints_the_date_the_case_computed(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("school", "add", "100001", "--name", "Ash Tree Primary", "--la", "Derbyshire", "--type", "Community school")
    cli.ok("person", "add", "Mrs Jane Wilson", "head@ash.sch.uk", "--role", "headteacher", "--la", "Derbyshire",
           "--urn", "100001")
    cli.ok("person", "add", "Andrew Patel", "chair@ash.sch.uk", "--role", "chair_of_governors", "--la", "Derbyshire",
           "--urn", "100001")
    cli.ok("person", "add", "Helen Carter", "hc@derbyshire.gov.uk", "--role", "director", "--la", "Derbyshire")
    # Derbyshire 2023 section 3: the Cabinet Member for Young People issues the warning notice.
    cli.ok("person", "add", "Cllr Alex Dale", "ad@derbyshire.gov.uk", "--role", "cabinet_member", "--la", "Derbyshire")
    # Derbyshire copies its senior adviser and assistant director on warning notices ([letters.warning_notice]).
    cli.ok("person", "add", "David Okafor", "do@derbyshire.gov.uk", "--role", "assistant_director", "--la", "Derbyshire")
    cli.ok("person", "add", "Priya Shah", "ps@derbyshire.gov.uk", "--role", "senior_adviser", "--la", "Derbyshire")
    for event, on in (("raise_concern", "2015-11-02"), ("confirm_concern", "2015-11-09"),
                      ("warning_notice", "2015-12-18")):
        cli.ok("event", "100001", event, "--on", on)
    # 15 working days after Friday 18 December 2015 (25, 28 December and 1 January are bank holidays).
    rc, _, err = cli("letter", "draft", "100001", "warning_notice", "--on", "2015-12-18",
                     "--details", _details(tmp_path, "compliance_end = 2016-01-08\n"))
    assert rc == 2 and "compliance_end 8 January 2016 does not match the case" in err
    cli.ok("letter", "draft", "100001", "warning_notice", "--on", "2015-12-18", "--details", _details(tmp_path))
    html = _letter(tmp_path, "100001", "warning_notice")
    assert "ends\nwith the fifteenth working day following that day, which is <strong>Wednesday 13 January 2016" in html
    assert "Dear Andrew Patel," in html  # the notice is given to the governing body, through its chair


def test_compliance_failed_is_refused_until_the_notices_own_period_has_ended(demo):
    rc, _, err = demo("event", "990402", "compliance_failed", "--on", "2026-12-04")
    assert rc == 2 and err.count("\n") == 1
    assert "the warning notice's compliance period runs to Friday 4 December 2026" in err
    demo.ok("event", "990402", "compliance_failed", "--on", "2026-12-07")
    case = next(c for c in demo.json("case", "show", "990402", "--as-of", "2026-12-07")["cases"] if c["pathway"] == "la_concern")
    assert case["state"] == "compliance_failed"


def test_the_notice_of_intended_intervention_takes_the_notice_dates_from_the_case(demo, tmp_path):
    details = tmp_path / "intervention.toml"
    details.write_text('not_complied = ["No chair of governors has been appointed."]\npowers = ["s65"]\n'
                       'powers_from = 2027-01-11\n')
    rc, _, err = demo("letter", "draft", "990402", "intervention_notice", "--on", "2026-12-04",
                      "--details", str(details))
    assert rc == 2 and "may be given only once the warning notice's compliance period has expired" in err
    assert "the case stands at: warning notice given" in err
    demo.ok("event", "990402", "compliance_failed", "--on", "2026-12-07")
    demo.ok("letter", "draft", "990402", "intervention_notice", "--on", "2026-12-09", "--details", str(details))
    html = _letter(tmp_path, "990402", "intervention_notice")
    assert "Tuesday 20 October 2026" in html and "Friday 4 December 2026" in html


ADDRESS_HEADER = ["URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName",
                  "TypeOfEstablishment (name)", "EstablishmentStatus (name)", "PhaseOfEducation (name)",
                  "Street", "Locality", "Address3", "Town", "County (name)", "Postcode"]


def test_letters_carry_the_school_postal_address_from_gias(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    path = tmp_path / "edubase.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(ADDRESS_HEADER)
        writer.writerow(["100001", "830", "Derbyshire", "2001", "Ash Tree Primary School", "Community school",
                         "Open", "Primary", "Ash Lane", "Belper", "", "Derby", "Derbyshire", "DE56 1AA"])
    cli.ok("import", "gias", str(path), "--as-of", "2026-11-20")
    cli.ok("person", "add", "Jane Wilson", "head@ash.sch.uk", "--role", "headteacher", "--la", "Derbyshire",
           "--urn", "100001")
    cli.ok("person", "add", "Andrew Patel", "chair@ash.sch.uk", "--role", "chair_of_governors", "--la", "Derbyshire",
           "--urn", "100001")
    cli.ok("person", "add", "Priya Shah", "ps@derbyshire.gov.uk", "--role", "senior_adviser", "--la", "Derbyshire")
    cli.ok("person", "add", "Tom Evans", "te@derbyshire.gov.uk", "--role", "link_adviser", "--la", "Derbyshire")
    cli.ok("person", "add", "David Okafor", "do@derbyshire.gov.uk", "--role", "assistant_director",
           "--la", "Derbyshire")
    cli.ok("event", "100001", "raise_concern", "--on", "2026-11-02")
    details = tmp_path / "confirm.toml"
    details.write_text('discussed_on = 2026-11-02\nconcerns = ["Attendance"]\nnext_steps = ["A plan"]\n'
                       'review_cadence = "each term"\n')
    cli.ok("letter", "draft", "100001", "confirmation_of_concern", "--on", "2026-11-20", "--details", str(details))
    html = _letter(tmp_path, "100001", "confirmation_of_concern")
    block = html[html.index('<div class="addressee">'):html.index("</div>\n\n", html.index('<div class="addressee">'))]
    lines = [line.strip().removeprefix("<div>").removesuffix("</div>") for line in block.splitlines()[1:]]
    assert lines == ["Jane Wilson, Headteacher", "Andrew Patel, Chair of governors", "Ash Tree Primary School",
                     "Ash Lane", "Belper", "Derby", "Derbyshire", "DE56 1AA"]


LOCAL_POLICY = '''authority = "Westshire"
[roles.sia]
title = "School Improvement Adviser"
acts_as = "case_lead"
manager = "service_director"
[roles.link]
title = "Link Adviser"
acts_as = "link_adviser"
manager = "sia"
[roles.service_director]
title = "Service Director, Education"
acts_as = "service_head"
manager = "dcs"
[roles.dcs]
title = "Director of Children's Services"
acts_as = "director"
[letters.confirmation_of_concern]
copy = ["dcs"]
[letters.home_visit]
signatory = "service_director"
'''
HOME_VISIT = '''title = "Note of a home visit"
signatory = "case_lead"
pathways = ["la_concern"]
sources = ["Luton Council, Protocols for Monitoring Schools"]
[[details]]
name = "visited_on"
type = "date"
help = "the day of the visit"
[[copy]]
party = "headteacher"
addressee = true
source = "local practice"
tag = "S"
'''


def test_an_authority_drafts_its_own_letter_and_copies_its_own_roles(cli, tmp_path, monkeypatch):
    policies = tmp_path / "policies"
    (policies / "letters").mkdir(parents=True)
    (policies / "westshire.toml").write_text(LOCAL_POLICY)
    (policies / "letters" / "home_visit.toml").write_text(HOME_VISIT)
    (policies / "letters" / "home_visit.html.j2").write_text(
        '{% extends "letters/_base.html.j2" %}\n{% block body %}<p>We visited on {{ visited_on | ukdate }}.</p>'
        '{% endblock %}\n')
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(policies))
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("school", "add", "100001", "--name", "Ash Tree Primary", "--la", "Westshire", "--type", "Community school")
    for name, email, role, urn in (("Jane Wilson", "head@ash.sch.uk", "headteacher", "100001"),
                                   ("Andrew Patel", "chair@ash.sch.uk", "chair_of_governors", "100001"),
                                   ("Sam Lee", "sl@westshire.gov.uk", "sia", None),
                                   ("Kim Ode", "ko@westshire.gov.uk", "service_director", None),
                                   ("Ann Roe", "ar@westshire.gov.uk", "dcs", None)):
        cli.ok("person", "add", name, email, "--role", role, "--la", "Westshire", *(("--urn", urn) if urn else ()))
    cli.ok("event", "100001", "raise_concern", "--on", "2026-11-02")
    details = tmp_path / "confirm.toml"
    details.write_text('discussed_on = 2026-11-02\nconcerns = ["Attendance"]\nnext_steps = ["A plan"]\n'
                       'review_cadence = "each term"\n')
    out = cli.ok("letter", "draft", "100001", "confirmation_of_concern", "--on", "2026-11-20", "--details", str(details))
    assert "copies: " in out and "Ann Roe" in out  # the director, copied by the authority's setting
    html = _letter(tmp_path, "100001", "confirmation_of_concern")
    assert "Kim Ode</div>\n  <div>Service Director, Education" in html  # the service head signs, in its words
    visit = tmp_path / "visit.toml"
    visit.write_text("visited_on = 2026-11-18\n")
    cli.ok("letter", "draft", "100001", "home_visit", "--on", "2026-11-20", "--details", str(visit))
    html = _letter(tmp_path, "100001", "home_visit")
    assert "We visited on Wednesday 18 November 2026." in html and "Kim Ode" in html
    assert "Dear Jane Wilson," in html
