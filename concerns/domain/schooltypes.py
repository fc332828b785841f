"""GIAS "type of establishment" names and what they mean for the LA's powers (EIA 2006 Part 4; DfE, Get Information about Schools).

Maintained schools: the LA is responsible and the statutory powers apply. Academies and free schools:
the LA has no powers; it raises concerns with the trust and the Regional Director. Independent and
non-maintained special schools are neither, and are refused.
"""

from __future__ import annotations

from enum import StrEnum


class Governance(StrEnum):
    maintained = "maintained"
    academy = "academy"


# GIAS group 4 and the maintained half of group 5, then groups 10 and 11 (GIAS 2025 type list).
SCHOOL_TYPES: dict[str, Governance] = {
    "Community school": Governance.maintained,
    "Voluntary aided school": Governance.maintained,
    "Voluntary controlled school": Governance.maintained,
    "Foundation school": Governance.maintained,
    "Pupil referral unit": Governance.maintained,
    "Local authority nursery school": Governance.maintained,
    "Community special school": Governance.maintained,
    "Foundation special school": Governance.maintained,
    "Academy sponsor led": Governance.academy,
    "Academy special sponsor led": Governance.academy,
    "Academy converter": Governance.academy,
    "Academy alternative provision converter": Governance.academy,
    "Academy alternative provision sponsor led": Governance.academy,
    "Academy special converter": Governance.academy,
    "Academy 16-19 converter": Governance.academy,
    "Academy 16 to 19 sponsor led": Governance.academy,
    "Academy secure 16 to 19": Governance.academy,
    "Free schools": Governance.academy,
    "Free schools special": Governance.academy,
    "Free schools alternative provision": Governance.academy,
    "Free schools 16 to 19": Governance.academy,
    "University technical college": Governance.academy,
    "Studio schools": Governance.academy,
}

# Types whose governing body has foundation governors appointed by someone other than the LA:
# they get copies of warning notices, and VA appointers the statement of action (EA 2005 s15).
FOUNDATION_OR_VOLUNTARY = {
    "Voluntary aided school",
    "Voluntary controlled school",
    "Foundation school",
    "Foundation special school",
}

_BY_FOLDED_NAME = {name.casefold(): name for name in SCHOOL_TYPES}
# Spellings seen in Ofsted MI and older EduBase files, mapped to the GIAS names.
_ALIASES = {
    "community": "Community school",
    "voluntary aided": "Voluntary aided school",
    "voluntary controlled": "Voluntary controlled school",
    "foundation": "Foundation school",
    "free school": "Free schools",
    "free school special": "Free schools special",
    "free school alternative provision": "Free schools alternative provision",
    "free school - alternative provision": "Free schools alternative provision",
    "free school 16-19": "Free schools 16 to 19",
    "free schools - 16-19": "Free schools 16 to 19",
    "studio school": "Studio schools",
    "utc": "University technical college",
    "la nursery school": "Local authority nursery school",
    "academy 16 to 19 converter": "Academy 16-19 converter",
}


class UnknownSchoolType(ValueError):
    pass


def canonical_type(name: str) -> str:
    """The GIAS spelling of a type name, accepting case and the older spellings."""
    folded = " ".join(name.split()).casefold()
    if folded in _BY_FOLDED_NAME:
        return _BY_FOLDED_NAME[folded]
    if folded in _ALIASES:
        return _ALIASES[folded]
    if folded.endswith(" school") and folded[: -len(" school")] in _ALIASES:
        return _ALIASES[folded[: -len(" school")]]
    raise UnknownSchoolType(
        f"unknown or unsupported school type {name!r}: use a GIAS type of establishment for a state-funded "
        f"school, e.g. {', '.join(list(SCHOOL_TYPES)[:4])}, Academy converter, Free schools"
    )


def governance(type_name: str) -> Governance:
    return SCHOOL_TYPES[canonical_type(type_name)]


def is_maintained(type_name: str) -> bool:
    return governance(type_name) is Governance.maintained


def is_foundation_or_voluntary(type_name: str) -> bool:
    return canonical_type(type_name) in FOUNDATION_OR_VOLUNTARY
