"""Parsers for the DfE Get Information About Schools (GIAS, formerly EduBase) downloads.

- `read_establishments`: the "edubasealldata" all-establishments CSV (and older EduBase extracts with
  the same column names), one SchoolRecord per establishment.
- `read_links`: the "links" CSV, how establishments relate (predecessor, successor, merged ...), which is
  how a school is followed across the URN change when it becomes an academy.

Both files are published in cp1252 with dd-mm-yyyy dates.
"""

from __future__ import annotations

import re
from pathlib import Path

from concerns.ingest.parse.csvfile import (
    Row,
    collect,
    field_reader,
    find_table,
    open_table,
    read_date,
    read_file,
)
from concerns.ingest.parse.records import LinkRecord, NotRecognised, ParseResult, SchoolRecord

# Every "type of establishment" name in GIAS (edubasealldata20250422-establishment-types.csv).
GIAS_TYPE_NAMES = (
    "Further education",
    "Sixth form centres",
    "Higher education institutions",
    "City technology college",
    "Other independent school",
    "Community school",
    "Voluntary aided school",
    "Voluntary controlled school",
    "Foundation school",
    "Pupil referral unit",
    "Local authority nursery school",
    "Community special school",
    "Non-maintained special school",
    "Other independent special school",
    "Foundation special school",
    "Welsh establishment",
    "Secure units",
    "Offshore schools",
    "Service children's education",
    "Miscellaneous",
    "Special post 16 institution",
    "British schools overseas",
    "Institution funded by other government department",
    "Academy sponsor led",
    "Academy special sponsor led",
    "Academy converter",
    "Academy alternative provision converter",
    "Academy alternative provision sponsor led",
    "Academy special converter",
    "Academy 16-19 converter",
    "Academy 16 to 19 sponsor led",
    "Academy secure 16 to 19",
    "Free schools",
    "Free schools special",
    "Free schools alternative provision",
    "Free schools 16 to 19",
    "University technical college",
    "Studio schools",
    "Online provider",
)

# Spellings that differ from GIAS by more than case, spacing or punctuation, as seen in Ofsted
# "Type of education" (e.g. "LA Nursery School", "Free School") and EduBase 2015 ("Free Schools - 16-19").
# Keys are in the form `_type_key` gives.
TYPE_NAME_ALIASES = {
    "la nursery school": "Local authority nursery school",
    "free school": "Free schools",
    "free school special": "Free schools special",
    "free school alternative provision": "Free schools alternative provision",
    "free school 16 19": "Free schools 16 to 19",
    "studio school": "Studio schools",
    "utc": "University technical college",
    "independent school": "Other independent school",
    "independent special school": "Other independent special school",
}


def _type_key(name: str) -> str:
    # "16 to 19" and "16-19" are both in GIAS's own list, so they must compare equal.
    key = re.sub(r"[^0-9a-z]+", " ", name.lower().replace("'", "")).strip()
    return re.sub(r"\b(\d+) to (\d+)\b", r"\1 \2", key)


_TYPE_BY_KEY = {_type_key(name): name for name in GIAS_TYPE_NAMES} | TYPE_NAME_ALIASES


def gias_type_name(name: str | None) -> str | None:
    """The GIAS spelling of a type of establishment; a name we do not know is passed through as given.

    Passing it through (rather than failing the row) keeps a school on the register when a new type
    appears; deciding what an unknown type means for the LA's powers belongs to the school-types code.
    """
    if name is None:
        return None
    return _TYPE_BY_KEY.get(_type_key(name), name)


# Words GIAS uses in descriptive columns for "nothing here".
NOT_APPLICABLE_WORDS = frozenset({"does not apply", "not applicable", "none", "not recorded"})


def descriptive(value: str) -> str | None:
    """A descriptive value (religious character, diocese, phase, trust), or None for "Does not apply"."""
    return None if value.lower() in NOT_APPLICABLE_WORDS else value


def parse_urn(text: str) -> str:
    if not (len(text) == 6 and text.isdigit()):
        raise ValueError(f"{text!r} is not a URN (6 digits)")
    return text


# GIAS status names -> ours. "Proposed to open" is neither open nor closed, so it maps to None.
STATUSES = {
    "open": "open",
    "open, but proposed to close": "open",
    "closed": "closed",
    "proposed to open": None,
}


def parse_status(text: str) -> str | None:
    try:
        return STATUSES[text.lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not an establishment status (Open, Closed, Proposed to open ...)") from None


# Readers shared with the Ofsted parser. URNs are all different, so caching them would only cost memory.
read_urn = field_reader(parse_urn, cached=False)
read_type_name = field_reader(gias_type_name)
read_descriptive = field_reader(descriptive)

# Header spellings by field, first match wins; headers are compared in normal form (csvfile).
ESTABLISHMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "urn": ("URN",),
    "la_code": ("LA (code)", "LA code"),
    "la_name": ("LA (name)", "LA name", "Local authority"),
    "establishment_number": ("EstablishmentNumber", "Establishment number"),
    "name": ("EstablishmentName", "Establishment name"),
    "type_name": ("TypeOfEstablishment (name)", "TypeOfEstablishment", "Type of establishment"),
    "status": ("EstablishmentStatus (name)", "EstablishmentStatus", "Establishment status"),
    "phase": ("PhaseOfEducation (name)", "PhaseOfEducation", "Phase of education"),
    "open_date": ("OpenDate", "Open date"),
    "close_date": ("CloseDate", "Close date"),
    "religious_character": ("ReligiousCharacter (name)", "ReligiousCharacter", "Religious character"),
    "diocese": ("Diocese (name)", "Diocese"),
    "trust": ("Trusts (name)", "Trusts", "Trust name"),
    # The postal address, for letters.
    "street": ("Street",),
    "locality": ("Locality",),
    "address3": ("Address3", "Address 3"),
    "town": ("Town",),
    "county": ("County (name)", "County"),
    "postcode": ("Postcode",),
}
ADDRESS_FIELDS = ("street", "locality", "address3", "town", "county", "postcode")
ESTABLISHMENT_LAYOUTS = {"gias-establishments": ("urn", "name", "type_name")}
ESTABLISHMENT_READERS = {
    "urn": read_urn,
    "type_name": read_type_name,
    "status": field_reader(parse_status),
    "phase": read_descriptive,
    "religious_character": read_descriptive,
    "diocese": read_descriptive,
    "trust": read_descriptive,
    **dict.fromkeys(ADDRESS_FIELDS, read_descriptive),
    "open_date": read_date,
    "close_date": read_date,
}
ESTABLISHMENT_REQUIRED = ("urn", "name")

LINK_ALIASES: dict[str, tuple[str, ...]] = {
    "urn": ("URN",),
    "link_urn": ("LinkURN", "Link URN"),
    "link_name": ("LinkName", "Link name"),
    "link_type": ("LinkType", "Link type"),
    "established": ("LinkEstablishedDate", "Link established date"),
}
LINK_LAYOUTS = {"gias-links": ("urn", "link_urn", "link_type")}
LINK_READERS = {"urn": read_urn, "link_urn": read_urn, "established": read_date}
LINK_REQUIRED = ("urn", "link_urn")


def read_establishments(path: str | Path) -> ParseResult:
    """SchoolRecord rows from a GIAS all-establishments CSV; NotRecognised if it is not one."""
    table = open_table(path, "a GIAS establishments CSV", ESTABLISHMENT_ALIASES, ESTABLISHMENT_LAYOUTS)
    return collect(table, ESTABLISHMENT_READERS, ESTABLISHMENT_REQUIRED, _establishment)


def read_links(path: str | Path) -> ParseResult:
    """LinkRecord rows from a GIAS links CSV; NotRecognised if it is not one."""
    table = open_table(path, "a GIAS links CSV", LINK_ALIASES, LINK_LAYOUTS)
    return collect(table, LINK_READERS, LINK_REQUIRED, _link)


def read_gias(path: str | Path) -> ParseResult:
    """A GIAS links or establishments CSV, told apart by its header, from one read of the file.

    `layout` says which it was ("gias-links" or "gias-establishments"); NotRecognised if neither.
    """
    path = Path(path)
    source = read_file(path, "a GIAS CSV")
    try:
        links = find_table(path, source, "a GIAS links CSV", LINK_ALIASES, LINK_LAYOUTS)
    except NotRecognised:
        pass
    else:
        return collect(links, LINK_READERS, LINK_REQUIRED, _link)
    try:
        table = find_table(path, source, "a GIAS establishments CSV", ESTABLISHMENT_ALIASES, ESTABLISHMENT_LAYOUTS)
    except NotRecognised as exc:
        raise NotRecognised(f"{exc} (nor a GIAS links CSV)") from None
    return collect(table, ESTABLISHMENT_READERS, ESTABLISHMENT_REQUIRED, _establishment)


def laestab(la_code: str | None, establishment_number: str | None) -> str | None:
    """LA code + 4-digit establishment number ("931" + "3247" -> "9313247"), when both are known."""
    if la_code is None or establishment_number is None:
        return None
    return la_code + establishment_number.zfill(4)


def _establishment(row: Row) -> SchoolRecord:
    get = row.values.get
    return SchoolRecord(
        urn=get("urn"),
        laestab=laestab(get("la_code"), get("establishment_number")),
        name=get("name"),
        la_name=get("la_name"),
        type_name=get("type_name"),
        phase=get("phase"),
        religious_character=get("religious_character"),
        diocese=get("diocese"),
        trust=get("trust"),
        status=get("status"),
        open_date=get("open_date"),
        close_date=get("close_date"),
        line=row.line,
        address=tuple(get(f) for f in ADDRESS_FIELDS),
    )


def _link(row: Row) -> LinkRecord:
    get = row.values.get
    return LinkRecord(
        line=row.line,
        urn=get("urn"),
        link_urn=get("link_urn"),
        link_name=get("link_name"),
        link_type=get("link_type"),
        established=get("established"),
    )
