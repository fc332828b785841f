"""Who a letter is about and for: the school as a letter sees it, and the parties it goes to.

Pure data, no Jinja: the parties a distribution list can name (`PARTIES`), the conditions a row can
depend on (`CONDITIONS`), and how a person is greeted. concerns.domain.letterspecs reads the lists,
concerns.domain.copylists applies them, and concerns.output.letters renders the letter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from concerns.domain.rules import DEFAULT_RULES


@dataclass(frozen=True)
class LetterParty:
    """A person or body a letter is addressed or copied to, or an officer who signs it."""

    name: str
    role: str
    email: str | None = None
    address: str | None = None


# GIAS "type of establishment" names with a foundation or voluntary governing body: these have
# foundation governors and so a person or body who appoints them (EIA 2006 s60(6), Sch 6 para 6).
FOUNDATION_OR_VOLUNTARY_TYPES = frozenset(
    {
        "Voluntary aided school",
        "Voluntary controlled school",
        "Foundation school",
        "Foundation special school",
    }
)
_FOUNDATION_OR_VOLUNTARY_LOWER = frozenset(t.lower() for t in FOUNDATION_OR_VOLUNTARY_TYPES)
# GIAS uses these for "no religious character" / "no diocese".
_NOT_APPLICABLE = frozenset({"", "none", "not applicable", "does not apply", "n/a", "null"})


def _given(value: str | None) -> str | None:
    if value is None or value.strip().lower() in _NOT_APPLICABLE:
        return None
    return value.strip()


@dataclass(frozen=True)
class LetterSchool:
    """What a letter needs to know about the school (a slice of the school record)."""

    urn: str
    name: str
    la: str
    type_name: str
    maintained: bool
    diocese: str | None = None
    religious_character: str | None = None
    headteacher: LetterParty | None = None
    chair: LetterParty | None = None
    # Optional extras, after the fields every caller passes:
    address: str | None = None  # the postal address, one line with commas or several lines
    laestab: str | None = None
    # An academy's trust (GIAS "Trusts (name)") and the person the trust's letters are addressed to
    # (its chief executive or accounting officer), when recorded.
    trust: str | None = None
    trust_contact: LetterParty | None = None
    # Who appoints the foundation governors (foundation / voluntary schools). Falls back to a
    # generic party in the copy list when unknown, so the copy is never silently dropped.
    foundation_appointer: LetterParty | None = None
    # EA 2005 s15: for a VA school the statement of action also goes to "the appropriate appointing
    # authority" where that is a different body from the foundation-governor appointer.
    appointing_authority: LetterParty | None = None

    @property
    def church(self) -> str | None:
        """'cofe', 'rc', 'cofe_rc' (joint), 'unknown' (a diocese but no recorded character) or None.

        Taken from the GIAS religious character. A character naming another faith (Methodist, Jewish,
        ...) is not a Church of England or Roman Catholic school, whatever the diocese field says."""
        character = _given(self.religious_character)
        if character is None:
            # No recorded character: a real diocese (not "Not applicable") still marks a church school.
            return "unknown" if _given(self.diocese) else None
        lowered = character.lower()
        cofe = "church of england" in lowered or "anglican" in lowered
        rc = "catholic" in lowered
        if cofe and rc:
            return "cofe_rc"
        return "cofe" if cofe else "rc" if rc else None

    @property
    def is_church_school(self) -> bool:
        """Church of England or Roman Catholic school: the diocesan authority is copied (EIA 2006 s60(6))."""
        return self.church is not None

    @property
    def is_voluntary_aided(self) -> bool:
        return self.type_name.strip().lower() == "voluntary aided school"

    @property
    def is_foundation_or_voluntary(self) -> bool:
        return self.type_name.strip().lower() in _FOUNDATION_OR_VOLUNTARY_LOWER

    @property
    def diocese_name(self) -> str | None:
        return _given(self.diocese)


# --- Salutations ---------------------------------------------------------------------------------

TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Revd", "Rev", "Reverend", "Father", "Canon", "Professor",
          "Prof", "Sir", "Dame", "Lady", "Lord")
_TITLE = re.compile(r"^(" + "|".join(TITLES) + r")\.?\s+(.+)$")
# Names that are a description, not a person: "The Headteacher", "Every governor of the school".
_DESCRIPTION = re.compile(r"^(the|every|all|a|an)\s", re.IGNORECASE)
# A person recorded by their post rather than their name: "Headteacher of Brook Lane Primary School".
_POST_AS_NAME = re.compile(r"^(head ?teacher|principal|chair|vice[- ]chair|clerk|governor)s?\b", re.IGNORECASE)


def is_named(party: LetterParty | None) -> bool:
    """True when the party is a person or body with a name, not a description such as "The Headteacher"
    or a post recorded in place of a name ("Headteacher of Brook Lane Primary School")."""
    if party is None or not party.name.strip():
        return False
    name = party.name.strip()
    return not (_DESCRIPTION.match(name) or _POST_AS_NAME.match(name))


def party_line(party: LetterParty, article: str = "The") -> str:
    """How a person is written in an address or a copy list: "Jane Wilson, Headteacher", or "The
    Headteacher" when only the post is on record (never "Headteacher of X, Headteacher")."""
    if _POST_AS_NAME.match(party.name.strip()):
        return f"{article} {party.role}"
    return f"{party.name}, {party.role}" if party.role else party.name


def greeting_name(party: LetterParty | None, fallback: str) -> str:
    """How a letter greets one person: "Mrs Patel" when the name on record carries a title, the name as
    recorded otherwise ("Jane Wilson"), and `fallback` ("Headteacher") only when there is no name."""
    if not is_named(party):
        return fallback
    name = " ".join(party.name.split())
    m = _TITLE.match(name)
    if m:
        title, rest = m.groups()
        surname = rest.split()[-1]
        return f"{'Revd' if title in ('Rev', 'Reverend') else title} {surname}"
    return name


def greeting(party: LetterParty | None, fallback: str) -> tuple[str, bool]:
    """How one person is greeted and whether by name: ("Mrs Patel", True) or ("Headteacher", False)."""
    return greeting_name(party, fallback), is_named(party)


_POST = re.compile(r"^(head ?teacher|principal|(?:vice[- ])?chair of governors|(?:vice[- ])?chair|clerk|governor)s?\b",
                   re.IGNORECASE)


def post_of(name: str) -> str:
    """A name as a list says it: the post alone ("Headteacher") when the post was recorded in place of a
    name ("Headteacher of Brook Lane Primary School"), the name as recorded otherwise."""
    m = _POST.match(name.strip())
    if m is None:
        return name
    post = m.group(1).lower()
    return re.sub(r"\bgovernors\b", "Governors", post[:1].upper() + post[1:])


def greet(name: str, school: str | None = None) -> str:
    """How a mail greets one recipient: "Mrs Patel" or "Priya Shah" by name, "Headteacher" for a post
    recorded in place of a name, "Governing Body" for "The Governing Body of <school>": never the school's
    name again, never "Dear The ..."."""
    name = " ".join(name.split())
    if _POST.match(name):
        return post_of(name)
    if _DESCRIPTION.match(name):
        words = name.split(" ", 1)[1]
        if school and words.endswith(f" of {school}"):
            words = words[: -len(f" of {school}")]
        return words[:1].upper() + words[1:]
    return greeting_name(LetterParty(name, ""), name)


def closing(named: bool) -> str:
    """The one rule for every letter and mail with a salutation: a person greeted by name ("Dear Mrs
    Patel") is signed off "Yours sincerely"; a greeting without a name ("Dear Headteacher", "Dear Sir or
    Madam", or one of several addressees greeted by post) is signed off "Yours faithfully"."""
    return "Yours sincerely" if named else "Yours faithfully"


# --- Conditions on the school, for distribution rows ------------------------------------------------

CONDITIONS: dict[str, Callable[[LetterSchool], bool]] = {
    "always": lambda school: True,
    # CofE / RC school: the appropriate diocesan authority.
    "church_school": lambda school: school.is_church_school,
    # Foundation, foundation special, VA and VC schools have foundation governors.
    "foundation_or_voluntary": lambda school: school.is_foundation_or_voluntary,
    "voluntary_aided": lambda school: school.is_voluntary_aided,
    # Maintained by the authority, or an academy (whose trust, not its governors, answers for it).
    "maintained": lambda school: school.maintained,
    "academy": lambda school: not school.maintained,
}


# --- The parties a distribution list can name ---------------------------------------------------------


def _hmci(school: LetterSchool, on: date | None) -> LetterParty:
    # Ofsted's chief inspector became "His Majesty's" on the accession of King Charles III (rule "crown").
    majesty = DEFAULT_RULES.in_force("crown", on).params["majesty"] if on is not None else "His"
    return LetterParty(
        name=f"{majesty} Majesty's Chief Inspector of Education, Children's Services and Skills", role="Ofsted")


def _via(on: date | None) -> str:
    # Regional Schools Commissioners were renamed Regional Directors in 2022 (rule "sos_office").
    rule = (DEFAULT_RULES.in_force("sos_office", on) if on is not None
            else DEFAULT_RULES.get("sos_office/regional-director"))
    return rule.params["via"]


def _secretary_of_state(school: LetterSchool, on: date | None) -> LetterParty:
    return LetterParty(name="The Secretary of State for Education", role=f"via {_via(on)}")


def _regional_director(school: LetterSchool, on: date | None) -> LetterParty:
    via = _via(on)
    return LetterParty(name=via[:1].upper() + via[1:], role="for the Secretary of State for Education")


def _diocesan_authority(school: LetterSchool, on: date | None) -> LetterParty:
    # "Appropriate diocesan authority": the Diocesan Board of Education for a Church of England school;
    # the bishop of the diocese for a Roman Catholic school.
    role = {
        "cofe": "Diocesan Board of Education (appropriate diocesan authority)",
        "rc": "the Bishop of the diocese, through the diocesan education service "
        "(appropriate diocesan authority)",
    }.get(school.church or "", "Appropriate diocesan authority")
    return LetterParty(name=school.diocese_name or "The appropriate diocesan authority", role=role)


def _foundation_appointer(school: LetterSchool, on: date | None) -> LetterParty:
    if school.foundation_appointer is not None:
        return school.foundation_appointer
    # Not recorded yet: named by its statutory description so the copy is still listed and recorded.
    return LetterParty(name="The appointer of the foundation governors", role=school.name)


def _headteacher(school: LetterSchool, on: date | None) -> LetterParty:
    return school.headteacher or LetterParty("The Headteacher", f"Headteacher, {school.name}",
                                             address=school.address)


def _chair(school: LetterSchool, on: date | None) -> LetterParty:
    return school.chair or LetterParty("The Chair of Governors", f"Chair of Governors, {school.name}",
                                       address=school.address)


def _governing_body(school: LetterSchool, on: date | None) -> LetterParty:
    chair = school.chair
    return LetterParty(
        name=f"The Governing Body of {school.name}",
        role=f"for the attention of {chair.name}, {chair.role}" if chair else "for the attention of the Chair",
        email=chair.email if chair else None,
        address=chair.address if chair and chair.address else school.address,
    )


def _trust(school: LetterSchool, on: date | None) -> LetterParty:
    """The academy trust: its board, for the attention of its chief executive where recorded."""
    contact = school.trust_contact
    name = f"The Board of Trustees of {school.trust}" if school.trust else "The Board of Trustees of the academy trust"
    return LetterParty(
        name=name,
        role=f"for the attention of {contact.name}, {contact.role}" if contact
        else "for the attention of the Chief Executive (accounting officer)",
        email=contact.email if contact else None,
        address=contact.address if contact else None,
    )


PARTIES: dict[str, Callable[[LetterSchool, date | None], LetterParty | None]] = {
    "headteacher": _headteacher,
    "chair": _chair,
    "governing_body": _governing_body,
    "trust": _trust,
    "diocesan_authority": _diocesan_authority,
    "foundation_appointer": _foundation_appointer,
    "appointing_authority": lambda school, on: school.appointing_authority,
    "hmci": _hmci,
    "secretary_of_state": _secretary_of_state,
    "regional_director": _regional_director,
    "local_authority": lambda school, on: LetterParty(name=school.la,
                                                      role="the local authority that maintains the school"),
    "ieb_members": lambda school, on: LetterParty(name="Every member of the interim executive board",
                                                  role=school.name),
    "governors": lambda school, on: LetterParty(name="Every governor of the school", role=school.name),
}
