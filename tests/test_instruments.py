"""Each statutory instrument is drafted only when the law allows it: the letter files' preconditions,
drafting's refusals (on both engines), the desk and the command line offering only what may be drafted now,
and docs/instruments.md generated from the letter files."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from concerns.domain.letterspecs import LetterSpecError, letter_specs, parse_letter_spec
from concerns.output.instruments import instruments_markdown
from concerns.output.letters import spec_for
from statemachines.pathways import OPEN_STATES
from tests.test_cli import Cli
from tests.test_letter_files import GOOD, _spec_file

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = {kind: spec for kind, spec in letter_specs().items() if not spec.local}
BOUND = {kind: spec for kind, spec in BUILTIN.items() if spec.preconditions.states is not None}


def _satisfied(spec, state: str) -> dict:
    """Facts that satisfy every fact rule of the letter in `state`."""
    facts = {}
    for fact in spec.preconditions.facts:
        if fact.equals is not None:
            facts[fact.fact] = fact.equals
        elif fact.unless is None:
            facts[fact.fact] = True
    return facts


def test_every_letter_the_product_drafts_states_its_preconditions_with_sources():
    for kind, spec in BUILTIN.items():
        spec_for(kind)  # the states and facts named are the machine's
        pre = spec.preconditions
        assert pre is not None, kind
        assert pre.source.strip() and pre.given_by_source.strip() and pre.tag in "VSHU", kind


@pytest.mark.parametrize("state", OPEN_STATES)
@pytest.mark.parametrize("kind", sorted(BOUND))
def test_each_instrument_is_refused_in_each_state_it_may_not_be_drafted_in(kind, state):
    spec = BOUND[kind]
    why = spec.refusal(state, _satisfied(spec, state), {})
    if state in spec.preconditions.states:
        assert why is None
    else:
        assert why == f"{spec.preconditions.rule} ({spec.preconditions.source})"


@pytest.mark.parametrize("kind", sorted(BOUND))
def test_an_instrument_bound_to_a_case_is_refused_without_one(kind):
    assert BOUND[kind].refusal(None, {}, {}) is not None


def test_the_ieb_notice_is_refused_on_a_concern_only_raised():
    spec = BUILTIN["ieb_notice"]
    assert spec.refusal("concern_raised", {}, {}).startswith("an interim executive board may replace")
    assert spec.refusal("eligible_for_intervention", {}, {}) is None


def test_the_notice_of_intended_intervention_comes_only_from_the_body_that_gave_the_warning_notice():
    spec = BUILTIN["intervention_notice"]
    facts = {"failed_on": True, "warning_notice_issuer": "sos"}
    assert "s60(1)(a) and (d)" in spec.refusal("compliance_failed", facts, {"powers": ["s65"]})
    assert spec.refusal("compliance_failed", {**facts, "warning_notice_issuer": "la"}, {"powers": ["s63"]}) is None


def test_after_an_s60a_notice_the_intervention_notice_offers_ss64_66_and_never_s63():
    spec = BUILTIN["intervention_notice"]
    why = spec.refusal("tpc_compliance_failed", {"failed_on": True}, {"powers": ["s64", "s63"]})
    assert why.startswith("the power under section 63 may not be proposed") and "s63(1)" in why
    assert spec.refusal("tpc_compliance_failed", {"failed_on": True}, {"powers": ["s64", "s65", "s66"]}) is None


def test_the_s60a_notice_never_offers_s63():
    spec = BUILTIN["tpc_warning_notice"]
    assert "s63" not in spec.keys_of("minded_to")
    assert "section 63" in spec.refusal("concern_confirmed", {}, {"minded_to": ["s63"]})
    assert spec.refusal("concern_confirmed", {}, {"minded_to": ["s64", "A review of the pay policy"]}) is None


PRE = '''
[preconditions]
states = ["concern_confirmed"]
rule = "after a confirmed concern"
source = "local procedure"
tag = "S"
given_by = ["la"]
given_by_source = "local procedure"
'''


@pytest.mark.parametrize(("change", "says"), [
    (('tag = "S"\ngiven_by', 'tag = "Q"\ngiven_by'), "preconditions.tag = 'Q': must be V, S, H or U"),
    (('given_by = ["la"]', 'given_by = ["ofsted"]'), "preconditions.given_by = ['ofsted']: must list who"),
    (('states = ["concern_confirmed"]', 'states = []'), "preconditions.states = []: name at least one state"),
    (('rule = "after a confirmed concern"', 'rule = "x"\nwhen = "always"'), "preconditions.when = 'always': unknown key"),
    (('given_by_source = "local procedure"', 'given_by_source = "local procedure"\n[[preconditions.powers]]\n'
      'detail = "visited_on"\nstates = ["concern_confirmed"]\nallowed = ["s63"]\nrule = "r"\nsource = "s"\ntag = "V"'),
     "preconditions.powers[0].allowed = 's63': is not a key of details.visited_on"),
])
def test_bad_preconditions_are_refused_naming_file_key_and_value(tmp_path, change, says):
    path = _spec_file(tmp_path, (GOOD + PRE).replace(*change))
    with pytest.raises(LetterSpecError) as exc:
        parse_letter_spec(path, tomllib.loads(path.read_text()))
    assert str(exc.value).startswith(str(path)) and says in str(exc.value) and "\n" not in str(exc.value)


def test_preconditions_naming_a_state_the_machine_does_not_have_are_refused(tmp_path, monkeypatch):
    from concerns.output.letters import check_preconditions

    path = _spec_file(tmp_path, GOOD + PRE.replace('"concern_confirmed"', '"concern_pondered"'))
    spec = parse_letter_spec(path, tomllib.loads(path.read_text()))
    with pytest.raises(LetterSpecError, match=r"preconditions.states = 'concern_pondered': not an open state"):
        check_preconditions(spec)


def test_instruments_page_in_docs_is_generated_from_the_letter_files():
    assert (ROOT / "docs" / "instruments.md").read_text() == instruments_markdown(), (
        "docs/instruments.md is stale: regenerate it with `concerns letter kinds --markdown > docs/instruments.md`")
    assert "[docs/instruments.md](docs/instruments.md)" in (ROOT / "README.md").read_text()


OLD_TITLE = re.compile(r"Schools causing concern \(20\d\d\)|SCC guidance|\"Schools causing concern\" /")


def test_the_guidance_is_cited_by_its_title_support_and_intervention_in_schools():
    found = []
    for folder in ("concerns", "statemachines", "templates", "docs", "examples", "flows"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".toml", ".j2", ".md", ".html", ".txt"}:
                found += [f"{path.relative_to(ROOT)}:{n}" for n, line in
                          enumerate(path.read_text(errors="replace").splitlines(), 1) if OLD_TITLE.search(line)]
    assert found == []


# --- Drafting on a case, on both engines -------------------------------------------------------------

NOTICE = ('grounds = ["management_breakdown"]\nmatters = ["The governing body has not met."]\n'
          'actions_required = ["Appoint a chair of governors"]\nminded_to = ["s65"]\n')
INTERVENTION = 'not_complied = ["No chair of governors has been appointed."]\npowers_from = 2027-02-01\n'
TPC = ('provisions = ["The pay progression provisions of the School Teachers\' Pay and Conditions Document"]\n'
       'matters = ["Pay progression was withheld without appraisal."]\n'
       'actions_required = ["Review the pay decisions of September 2026"]\ncompliance_end = 2026-12-11\n')


@pytest.fixture
def demo(cli: Cli, tmp_path, monkeypatch) -> Cli:
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("init", "--demo")
    return cli


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


def _drafted(tmp_path: Path, urn: str) -> list[str]:
    return sorted(p.name for p in (tmp_path / "letters" / urn).glob("*.html"))


def _refused(demo: Cli, *args: str) -> str:
    rc, _, err = demo(*args)
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert not re.search(r"\d{4}-\d\d-\d\d", err), err
    return err


def _state(demo: Cli, urn: str, on: str) -> str:
    cases = demo.json("case", "show", urn, "--as-of", on)["cases"]
    return next(c for c in cases if c["pathway"] == "la_concern" and not c["closed"])["state"]


def test_the_notice_of_intended_intervention_is_refused_after_the_school_complied(demo, tmp_path):
    demo.ok("event", "990402", "compliance_met", "--on", "2026-12-07")
    before = _drafted(tmp_path, "990402")
    err = _refused(demo, "letter", "draft", "990402", "intervention_notice", "--on", "2026-12-09",
                   "--details", _file(tmp_path, "nii", INTERVENTION + 'powers = ["s65"]\n'))
    assert "may be given only once the warning notice's compliance period has expired" in err
    assert "s60(1)(b)-(d)" in err and "the case stands at: concern confirmed" in err
    assert _drafted(tmp_path, "990402") == before


def test_the_notice_of_intended_intervention_is_refused_after_a_secretary_of_state_warning_notice(demo, tmp_path):
    demo.ok("event", "990402", "sos_warning_notice", "--on", "2026-10-27", "--until", "2026-11-20")
    demo.ok("event", "990402", "compliance_failed", "--on", "2026-11-23")
    err = _refused(demo, "letter", "draft", "990402", "intervention_notice", "--on", "2026-11-24",
                   "--details", _file(tmp_path, "nii", INTERVENTION + 'powers = ["s65"]\n'))
    assert "given by the Secretary of State" in err and "s60(1)(a) and (d)" in err
    assert _drafted(tmp_path, "990402") == []


def test_the_ieb_notice_is_refused_on_a_raised_concern_and_not_offered(demo, tmp_path):
    details = ('grounds = ["x"]\nconsent_on = 2026-11-17\ntakes_effect_on = 2026-12-01\nmembers = ["A"]\n'
               'consulted = ["the governing body"]\n')
    err = _refused(demo, "letter", "draft", "990403", "ieb_notice", "--on", "2026-11-18",
                   "--details", _file(tmp_path, "ieb", details))
    assert "an interim executive board may replace the governing body only of a school eligible" in err
    assert "the case stands at: concern raised" in err
    kinds = demo.json("letter", "kinds", "--urn", "990403", "--json")
    assert kinds["ieb_notice"]["may_draft_now"] is False
    assert kinds["confirmation_of_concern"]["may_draft_now"] is True


def test_the_la_warning_notice_is_refused_after_an_sos_one_until_the_sos_says_it_may(demo, tmp_path):
    demo.ok("event", "990403", "sos_warning_notice", "--on", "2026-11-18", "--until", "2026-12-11")
    demo.ok("event", "990403", "compliance_met", "--on", "2026-12-01")
    assert _state(demo, "990403", "2026-12-01") == "concern_confirmed"
    err = _refused(demo, "letter", "draft", "990403", "warning_notice", "--on", "2026-12-02",
                   "--details", _file(tmp_path, "wn", NOTICE))
    assert "unless or until the Secretary of State informs it that it may" in err and "s60(4A)" in err
    rc, _, err = demo("event", "990403", "warning_notice", "--on", "2026-12-02", "--until", "2027-01-15")
    assert rc == 2 and "s60(4A)" in err
    assert demo.json("letter", "kinds", "--urn", "990403", "--json")["warning_notice"]["may_draft_now"] is False
    demo.ok("event", "990403", "sos_permits_warning_notice", "--on", "2026-12-03")
    demo.ok("event", "990403", "warning_notice", "--on", "2026-12-04", "--until", "2027-01-15")
    demo.ok("letter", "draft", "990403", "warning_notice", "--on", "2026-12-04", "--details", _file(tmp_path, "wn", NOTICE))


def test_the_s60a_path_end_to_end_offers_ss64_66_only(demo, tmp_path):
    # The notice, drafted before it is recorded: s63 is refused, ss64-66 drafted.
    err = _refused(demo, "letter", "draft", "990403", "tpc_warning_notice", "--on", "2026-11-20",
                   "--details", _file(tmp_path, "tpc", TPC + 'minded_to = ["s63"]\n'))
    assert "the power under section 63 may not be proposed" in err and "s63(1)" in err
    demo.ok("letter", "draft", "990403", "tpc_warning_notice", "--on", "2026-11-20",
            "--details", _file(tmp_path, "tpc", TPC + 'minded_to = ["s64", "s66"]\n'))
    # Its own compliance period, set by the authority.
    demo.ok("event", "990403", "tpc_warning_notice", "--on", "2026-11-20", "--until", "2026-12-11")
    case = next(c for c in demo.json("case", "show", "990403", "--as-of", "2026-11-20")["cases"] if not c["closed"])
    assert [(d["kind"], d["due"]) for d in case["deadlines"] if "compliance" in d["kind"]] == [
        ("tpc_warning_notice_compliance", "2026-12-11")]
    rc, _, err = demo("event", "990403", "compliance_failed", "--on", "2026-12-11")
    assert rc == 2 and "s60A(1)" in err
    demo.ok("event", "990403", "compliance_failed", "--on", "2026-12-14")
    assert _state(demo, "990403", "2026-12-14") == "tpc_compliance_failed"
    # The notice of intended intervention: s63 refused, ss64-66 drafted, citing s60A.
    err = _refused(demo, "letter", "draft", "990403", "intervention_notice", "--on", "2026-12-15",
                   "--details", _file(tmp_path, "nii", INTERVENTION + 'powers = ["s63", "s65"]\n'))
    assert "the power under section 63 may not be proposed" in err and "section 60A" in err
    demo.ok("letter", "draft", "990403", "intervention_notice", "--on", "2026-12-15",
            "--details", _file(tmp_path, "nii", INTERVENTION + 'powers = ["s64", "s65", "s66"]\n'))
    (html,) = [(tmp_path / "letters" / "990403" / n).read_text() for n in _drafted(tmp_path, "990403")
               if "intervention-notice" in n]
    assert "warning notice under section 60A of" in html and "Friday 11 December 2026" in html
    assert "section 63 of the 2006 Act" not in html
    # Eligible by virtue of s60A; the IEB notice (s65) may now be drafted.
    demo.ok("event", "990403", "notice_of_intervention", "--on", "2026-12-15")
    assert _state(demo, "990403", "2026-12-15") == "tpc_eligible_for_intervention"
    assert demo.json("letter", "kinds", "--urn", "990403", "--json")["ieb_notice"]["may_draft_now"] is True
