"""Who a letter goes to and who gets a copy: statutory and local distribution lists as data.

Each letter kind has a tuple of `Recipient` rows. A row says which party, whether that party is an
addressee or gets a copy, when the row applies (school type, who issued the letter, the date the letter
was given), where the rule comes from, and how sure we are. The tags (docs/decisions.md, D20):

    V  verified in the statute or official text
    S  secondary source (an LA procedure, a law firm's summary) or local practice
    H  historical: right once, now superseded
    U  unconfirmed: kept because a spare copy does no harm, but not checked

The product records who was sent what (docs/decisions.md, D21), so every copy produced here is a real party with
a name and role, even where the authority has not yet recorded who that body is (the party is then named
by its statutory description, and the officer fills in the address before posting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from concerns.letterparties import LetterParty, LetterSchool
from concerns.rules import DEFAULT_RULES

# Education and Adoption Act 2016 s2 commenced on this day (SI 2016/466): SoS warning notices,
# s60(6A) copy, no representations to Ofsted. The date is the rule book's (concerns/rules.py).
EAA_2016_COMMENCED = DEFAULT_RULES.starts("warning_notice/issuer-sets-period")


@dataclass(frozen=True)
class Recipient:
    party: str  # key into _PARTIES
    addressee: bool  # True: the letter is addressed to them; False: "Copies to"
    source: str
    tag: str  # V / S / H / U (see the module docstring)
    when: str = "always"  # key into CONDITIONS
    issuer: str | None = None  # "la" / "sos": only for letters given by that issuer
    valid_from: date | None = None
    valid_to: date | None = None  # exclusive
    note: str = ""


# --- Conditions on the school ------------------------------------------------------------------

CONDITIONS: dict[str, Callable[[LetterSchool], bool]] = {
    "always": lambda school: True,
    # CofE / RC school: the appropriate diocesan authority.
    "church_school": lambda school: school.is_church_school,
    # Foundation, foundation special, VA and VC schools have foundation governors.
    "foundation_or_voluntary": lambda school: school.is_foundation_or_voluntary,
    "voluntary_aided": lambda school: school.is_voluntary_aided,
}


# --- The lists ---------------------------------------------------------------------------------

_S60 = "EIA 2006 s60(6) as enacted, kept by EAA 2016 s2 ('relevant authority'); Tri-borough 2013 §5.9"

COPY_LISTS: dict[str, tuple[Recipient, ...]] = {
    # EIA 2006 s60: the notice is given to the governing body (s60(2)) and copied the same day.
    "warning_notice": (
        Recipient("governing_body", True, "EIA 2006 s60(2): notice given to the governing body", "V"),
        Recipient("headteacher", False, _S60, "V"),
        Recipient(
            "diocesan_authority",
            False,
            _S60 + " (Church of England or Roman Catholic school)",
            "V",
            when="church_school",
        ),
        Recipient(
            "foundation_appointer",
            False,
            _S60 + " (foundation or voluntary school)",
            "V",
            when="foundation_or_voluntary",
        ),
        # Statutory from 1 Apr 2007 (Hansard, 11 Mar 2009: LAs "have been under a duty to copy all warning
        # notices to Her Majesty's Chief Inspector"; Tri-borough 2013 §5.10). The 2016 Act omitted s60(5), whose
        # text we have not seen, so whether the duty survives 18 Apr 2016 is unconfirmed: V to 2016, U after.
        Recipient(
            "hmci",
            False,
            "Hansard HC 11 Mar 2009 (duty since Apr 2007); Tri-borough 2013 §5.10",
            "V",
            valid_to=EAA_2016_COMMENCED,
        ),
        Recipient(
            "hmci",
            False,
            "as before 18 Apr 2016; s60(5) omitted by EAA 2016 (content unseen)",
            "U",
            valid_from=EAA_2016_COMMENCED,
        ),
        # s60(6A), inserted by EAA 2016 s2(2)(g): "If a local authority give a warning notice ... they must,
        # at the same time, give a copy of it to ..." - the recipient is cut off in every stored copy;
        # almost certainly the Secretary of State (EAA 2016 s2(2)(g), legislation.gov.uk). Sent via the Regional Director.
        Recipient(
            "secretary_of_state",
            False,
            "EIA 2006 s60(6A) (EAA 2016 s2(2)(g)), recipient text unseen",
            "U",
            issuer="la",
            valid_from=EAA_2016_COMMENCED,
        ),
        # An SoS warning notice: by analogy with s60(4A) (the LA must be notified), the maintaining LA
        # gets a copy.
        Recipient(
            "local_authority",
            False,
            "EIA 2006 s60(4A) presupposes the LA is notified",
            "U",
            issuer="sos",
            valid_from=EAA_2016_COMMENCED,
        ),
    ),
    # s60A teachers' pay and conditions warning notice (LA only): copy to the SoS since 18 Apr 2016.
    "tpc_warning_notice": (
        Recipient("governing_body", True, "EIA 2006 s60A(2)", "V"),
        Recipient(
            "secretary_of_state",
            False,
            "EIA 2006 s60A as amended 2016 (ASCLA 2009 Sch 13 para 4; Public Bill Committee 7 Jul 2015)",
            "S",
            valid_from=EAA_2016_COMMENCED,
        ),
        Recipient("headteacher", False, "by analogy with s60(6); s60A copy list not seen", "U"),
    ),
    # EA 2005 s15: the LA sends its statement to HMCI and, for a VA school, to the person who appoints
    # the foundation governors and the appropriate appointing authority (tag V).
    # It is shared with the headteacher and governing board (Derbyshire 2023 §3).
    "statement_of_action": (
        Recipient(
            "headteacher", True, "Derbyshire 2023 §3: shared with the headteacher and governing board", "S"
        ),
        Recipient("chair", True, "Derbyshire 2023 §3: shared with the headteacher and governing board", "S"),
        Recipient("hmci", False, "EA 2005 s15; explanatory notes paras 50-52", "V"),
        Recipient(
            "foundation_appointer", False, "EA 2005 s15: voluntary aided school", "V", when="voluntary_aided"
        ),
        Recipient(
            "appointing_authority",
            False,
            "EA 2005 s15: voluntary aided school, if a different body",
            "V",
            when="voluntary_aided",
            note="only when the school record names it",
        ),
        # s15 also covers "anyone the Secretary of State specifies": not knowable from the school record.
    ),
    # EIA 2006 s65 / Sch 6 para 6: copies of the IEB notice and of each appointment.
    "ieb_notice": (
        Recipient("governing_body", True, "EIA 2006 s65(1): written notice to the governing body", "V"),
        Recipient("ieb_members", False, "EIA 2006 Sch 6 para 6", "V"),
        Recipient("governors", False, "EIA 2006 Sch 6 para 6", "V"),
        Recipient("secretary_of_state", False, "EIA 2006 Sch 6 para 6 (LA appoints)", "V", issuer="la"),
        Recipient("local_authority", False, "EIA 2006 Sch 6 para 6 (SoS appoints)", "V", issuer="sos"),
        Recipient("diocesan_authority", False, "EIA 2006 Sch 6 para 6", "V", when="church_school"),
        Recipient(
            "foundation_appointer",
            False,
            "EIA 2006 Sch 6 para 6 (other foundation/voluntary schools)",
            "V",
            when="foundation_or_voluntary",
        ),
    ),
    # Local procedure: the AD confirms the concerns to head and chair; the diocese is told for church
    # schools (Derbyshire 2023 §3: "In the case of faith schools, the local authority will inform the
    # Diocese").
    "confirmation_of_concern": (
        Recipient("headteacher", True, "Derbyshire 2023 §3; Doncaster 2015-16 'The Role of Governors'", "S"),
        Recipient("chair", True, "Derbyshire 2023 §3; Doncaster 2015-16 'The Role of Governors'", "S"),
        Recipient("diocesan_authority", False, "Derbyshire 2023 §3", "S", when="church_school"),
    ),
    # Local procedure: the senior officer's letter to the school (Derbyshire §3; Doncaster §5). The diocese
    # was told of the concern, so it is told of the escalation too (local practice).
    "warning_letter": (
        Recipient("headteacher", True, "Derbyshire 2023 §3; Doncaster 2015-16 §5", "S"),
        Recipient("chair", True, "Derbyshire 2023 §3; Doncaster 2015-16 §5", "S"),
        Recipient(
            "diocesan_authority",
            False,
            "local practice, following Derbyshire 2023 §3",
            "S",
            when="church_school",
        ),
    ),
    # Local procedure: "the Headteacher and Chair will be notified in writing by the Assistant Director"
    # (Doncaster 2015-16 §5); the diocese, told of the concern, is told it has ended (local practice).
    "removal_from_concern": (
        Recipient("headteacher", True, "Doncaster 2015-16 §5 'Progress and Removal'", "S"),
        Recipient("chair", True, "Doncaster 2015-16 §5 'Progress and Removal'", "S"),
        Recipient(
            "diocesan_authority",
            False,
            "local practice, following Derbyshire 2023 §3",
            "S",
            when="church_school",
        ),
    ),
    # The annual letter telling each school its category (Doncaster 2015-16: a letter to every school).
    "categorisation": (
        Recipient("headteacher", True, "Doncaster 2015-16, annual categorisation letter", "S"),
        Recipient("chair", True, "Doncaster 2015-16, annual categorisation letter", "S"),
    ),
    # The agenda goes to the meeting's invitees, which come from the meeting details, not from here.
    "soc_meeting_agenda": (),
}


# --- Building the parties ----------------------------------------------------------------------


def _hmci(on: date | None) -> LetterParty:
    # Ofsted's chief inspector became "His Majesty's" on the accession of King Charles III (rule "crown").
    majesty = DEFAULT_RULES.in_force("crown", on).params["majesty"] if on is not None else "His"
    return LetterParty(
        name=f"{majesty} Majesty's Chief Inspector of Education, Children's Services and Skills",
        role="Ofsted",
    )


def _secretary_of_state(on: date | None) -> LetterParty:
    # Regional Schools Commissioners were renamed Regional Directors in 2022 (rule "sos_office").
    via = DEFAULT_RULES.in_force("sos_office", on).params["via"] if on is not None else (
        DEFAULT_RULES.get("sos_office/regional-director").params["via"]
    )
    return LetterParty(name="The Secretary of State for Education", role=f"via {via}")


def _diocesan_authority(school: LetterSchool) -> LetterParty:
    # "Appropriate diocesan authority" (SSFA 1998 s142, from memory - U): the Diocesan Board of
    # Education for a Church of England school; the bishop of the diocese for a Roman Catholic school.
    role = {
        "cofe": "Diocesan Board of Education (appropriate diocesan authority)",
        "rc": "the Bishop of the diocese, through the diocesan education service "
        "(appropriate diocesan authority)",
    }.get(school.church or "", "Appropriate diocesan authority")
    return LetterParty(name=school.diocese_name or "The appropriate diocesan authority", role=role)


def _foundation_appointer(school: LetterSchool) -> LetterParty:
    if school.foundation_appointer is not None:
        return school.foundation_appointer
    # Not recorded yet: named by its statutory description so the copy is still listed and recorded.
    return LetterParty(name="The appointer of the foundation governors", role=school.name)


def _party(key: str, school: LetterSchool, on: date | None) -> LetterParty | None:
    if key == "headteacher":
        return school.headteacher or LetterParty(
            "The Headteacher", f"Headteacher, {school.name}", address=school.address
        )
    if key == "chair":
        return school.chair or LetterParty(
            "The Chair of Governors", f"Chair of Governors, {school.name}", address=school.address
        )
    if key == "governing_body":
        chair = school.chair
        return LetterParty(
            name=f"The Governing Body of {school.name}",
            role=f"for the attention of {chair.name}, {chair.role}"
            if chair
            else "for the attention of the Chair",
            email=chair.email if chair else None,
            address=(chair.address if chair and chair.address else school.address),
        )
    if key == "diocesan_authority":
        return _diocesan_authority(school)
    if key == "foundation_appointer":
        return _foundation_appointer(school)
    if key == "appointing_authority":
        return school.appointing_authority
    if key == "hmci":
        return _hmci(on)
    if key == "secretary_of_state":
        return _secretary_of_state(on)
    if key == "local_authority":
        return LetterParty(name=school.la, role="the local authority that maintains the school")
    if key == "ieb_members":
        return LetterParty(name="Every member of the interim executive board", role=school.name)
    if key == "governors":
        return LetterParty(name="Every governor of the school", role=school.name)
    raise AssertionError(f"unknown party key {key!r}")  # a programming error in COPY_LISTS


def _applies(row: Recipient, school: LetterSchool, issuer: str, on: date | None) -> bool:
    if row.issuer is not None and row.issuer != issuer:
        return False
    if on is not None:
        if row.valid_from is not None and on < row.valid_from:
            return False
        if row.valid_to is not None and on >= row.valid_to:
            return False
    elif row.valid_to is not None:
        # Undated: today's rules, so rows that ended are left out.
        return False
    return CONDITIONS[row.when](school)


def _merge(parties: list[LetterParty]) -> list[LetterParty]:
    """One entry per body: a diocese that also appoints the foundation governors is copied once, with
    both roles named."""
    out: list[LetterParty] = []
    for p in parties:
        same = next((q for q in out if q.name.strip().lower() == p.name.strip().lower()), None)
        if same is None:
            out.append(p)
        elif p.role.lower() not in same.role.lower():
            out[out.index(same)] = LetterParty(
                same.name, f"{same.role}; {p.role}", same.email or p.email, same.address or p.address
            )
    return out


def recipient_rules(
    kind: str,
    school: LetterSchool,
    issuer: str = "la",
    *,
    on: date | None = None,
    addressee: bool | None = None,
) -> list[Recipient]:
    """The rows that apply, for showing or recording why each party was sent the letter."""
    if kind not in COPY_LISTS:
        raise ValueError(f"no copy list for {kind!r}; kinds: {', '.join(COPY_LISTS)}")
    if issuer not in {"la", "sos"}:
        raise ValueError(f"issuer must be 'la' or 'sos', got {issuer!r}")
    return [
        row
        for row in COPY_LISTS[kind]
        if (addressee is None or row.addressee == addressee) and _applies(row, school, issuer, on)
    ]


def _parties(
    kind: str, school: LetterSchool, issuer: str, on: date | None, addressee: bool
) -> list[LetterParty]:
    rows = recipient_rules(kind, school, issuer, on=on, addressee=addressee)
    return _merge([p for row in rows if (p := _party(row.party, school, on)) is not None])


def copies_for(
    kind: str, school: LetterSchool, issuer: str = "la", *, on: date | None = None
) -> list[LetterParty]:
    """The "Copies to" list for a letter of this kind about this school.

    issuer: "la" (the authority gives the notice) or "sos" (the Secretary of State / Regional Director).
    on: the date the letter or notice is given; rules that did not apply then are left out (no s60(6A)
    copy to the Secretary of State before 18 April 2016). Without it, today's rules apply.
    """
    return _parties(kind, school, issuer, on, addressee=False)


def addressees_for(
    kind: str, school: LetterSchool, issuer: str = "la", *, on: date | None = None
) -> list[LetterParty]:
    """Whom the letter is addressed to (head and chair, or the governing body for a statutory notice)."""
    return _parties(kind, school, issuer, on, addressee=True)


__all__ = ["CONDITIONS", "COPY_LISTS", "Recipient", "addressees_for", "copies_for", "recipient_rules"]
