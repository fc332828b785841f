"""Who a letter is about and for: the school as a letter sees it, and the parties it goes to.

Pure data, no Jinja: concerns.copylists decides the copies from these, and concerns.letters renders
the letter (both import this module; neither imports the other's internals).
"""

from __future__ import annotations

from dataclasses import dataclass


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
    address: str | None = None
    laestab: str | None = None
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
