"""Who a letter goes to and who gets a copy: the distribution lists, applied to a school.

Each letter kind's list is data in its file, `templates/letters/<kind>.toml` (`[[copy]]` rows, read by
concerns.domain.letterspecs). A row says which party, whether that party is an addressee or gets a copy, when
the row applies (school type, who issued the letter, the date the letter was given), where the rule comes
from, and how sure we are. The tags (docs/decisions/0020-sources-and-confidence.md):

    V  verified in the statute or official text
    S  secondary source (an LA procedure, a law firm's summary) or local practice
    H  historical: right once, now superseded
    U  unconfirmed: kept because a spare copy does no harm, but not checked

The product records who was sent what (docs/decisions/0021-confidential-notes.md), so every copy produced here is a real party with
a name and role, even where the authority has not yet recorded who that body is (the party is then named
by its statutory description, and the officer fills in the address before posting).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

from concerns.domain.letterparties import CONDITIONS, PARTIES, LetterParty, LetterSchool
from concerns.domain.letterspecs import Recipient, letter_specs


class _CopyLists(Mapping[str, tuple[Recipient, ...]]):
    """Each letter kind's distribution rows, as its file gives them."""

    def __getitem__(self, kind: str) -> tuple[Recipient, ...]:
        return letter_specs()[kind].copy

    def __iter__(self) -> Iterator[str]:
        return iter(letter_specs())

    def __len__(self) -> int:
        return len(letter_specs())


COPY_LISTS: Mapping[str, tuple[Recipient, ...]] = _CopyLists()


def _party(key: str, school: LetterSchool, on: date | None) -> LetterParty | None:
    return PARTIES[key](school, on)


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
