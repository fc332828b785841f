"""An authority's own settings for its letters: `[letters.<kind>]` in its policy file.

    [letters.warning_notice]
    copy = ["director_childrens_services"]   # extra copies to the authority's own roles
    parties = ["secretary_of_state"]         # extra copies to outside parties the product knows
    signatory = "service_director"           # the role that signs instead of the letter's default

Pure domain: parsed and checked here when the policy loads (types, keys, the letter kinds that exist);
the roles are the policy's own, so concerns.domain.policy checks them against its roles, and drafting refuses a
role nobody holds, naming the file, the key and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field, RootModel, ValidationError, field_validator

from concerns.domain.letterparties import PARTIES
from concerns.domain.tomlcheck import Strict, dotted, problems, said, shown


class LetterSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class LetterSetting:
    kind: str
    copy: tuple[str, ...] = ()
    signatory: str | None = None
    where: str = ""  # the policy file, for refusals
    # Outside parties the authority's procedure sends this letter to beyond the statutory list (a key of
    # concerns.domain.letterparties.PARTIES: "secretary_of_state", "regional_director", ...).
    parties: tuple[str, ...] = ()

    @property
    def roles(self) -> tuple[str, ...]:
        return (*self.copy, *((self.signatory,) if self.signatory else ()))


def _role_key(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a role key")
    return value


RoleKey = Annotated[str, AfterValidator(_role_key)]


class LetterSettingTable(Strict):
    """One `[letters.<kind>]` table of a policy file."""

    copies: Annotated[list[RoleKey], said("must be a list of role keys")] = Field([], alias="copy")
    signatory: Annotated[RoleKey, said("must be a role key")] | None = None
    parties: Annotated[list[str], said("must be a list of party keys")] = []

    @field_validator("copies")
    @classmethod
    def _once(cls, copy: list[str]) -> list[str]:
        if len(set(copy)) != len(copy):
            raise ValueError("names a role twice")
        return copy

    @field_validator("parties")
    @classmethod
    def _known_parties(cls, parties: list[str]) -> list[str]:
        unknown = [p for p in parties if p not in PARTIES]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a party the product knows (parties: {', '.join(PARTIES)})")
        if len(set(parties)) != len(parties):
            raise ValueError("names a party twice")
        return parties


LetterSettingsTable = RootModel[dict[str, LetterSettingTable]]


def parse_letter_settings(table: Any, where: str) -> dict[str, LetterSetting]:
    """`[letters.<kind>]` tables -> kind -> LetterSetting. Refusals name the key and the value; the policy
    loader puts the file's name in front (`where` is kept for refusals at drafting time)."""
    if not isinstance(table, Mapping):
        raise LetterSettingsError(f"letters = {shown(table)}: must be a table of [letters.<kind>] tables")
    try:
        tables = LetterSettingsTable.model_validate(dict(table)).root
    except ValidationError as exc:
        first = problems(exc, LetterSettingsTable, unknown="unknown setting (settings: {keys})",
                         label=lambda loc: dotted(("letters", *loc)))[0]
        raise LetterSettingsError(f"{first.key} = {shown(first.value)}: {first.why}") from None
    return {kind: LetterSetting(kind, tuple(spec.copies), spec.signatory, where, tuple(spec.parties))
            for kind, spec in tables.items()}


def check_letter_settings(settings: Mapping[str, LetterSetting], roles: Mapping[str, Any],
                          kinds: Any) -> None:
    """Refuse a setting for a letter that does not exist, or naming a role the policy does not have."""
    for kind, setting in settings.items():
        if kind not in kinds:
            raise LetterSettingsError(f"{setting.where}: letters.{kind}: no such letter "
                                      f"(letters: {', '.join(kinds)})")
        for role in setting.roles:
            if roles and role not in roles:
                key = "signatory" if role == setting.signatory and role not in setting.copy else "copy"
                raise LetterSettingsError(f"{setting.where}: letters.{kind}.{key}: unknown role {role!r} "
                                          f"(roles: {', '.join(roles)})")
