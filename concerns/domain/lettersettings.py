"""An authority's own settings for its letters: `[letters.<kind>]` in its policy file.

    [letters.warning_notice]
    copy = ["director_childrens_services"]   # extra copies to the authority's own roles
    signatory = "service_director"           # the role that signs instead of the letter's default

Pure domain: parsed and checked here when the policy loads (types, keys, the letter kinds that exist);
the roles are the policy's own, so concerns.domain.policy checks them against its roles, and drafting refuses a
role nobody holds, naming the file, the key and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class LetterSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class LetterSetting:
    kind: str
    copy: tuple[str, ...] = ()
    signatory: str | None = None
    where: str = ""  # the policy file, for refusals

    @property
    def roles(self) -> tuple[str, ...]:
        return (*self.copy, *((self.signatory,) if self.signatory else ()))


def parse_letter_settings(table: Any, where: str) -> dict[str, LetterSetting]:
    """`[letters.<kind>]` tables -> kind -> LetterSetting. Refusals name the key and the value; the policy
    loader puts the file's name in front (`where` is kept for refusals at drafting time)."""
    if not isinstance(table, Mapping):
        raise LetterSettingsError(f"letters = {table!r}: must be a table of [letters.<kind>] tables")
    settings = {}
    for kind, spec in table.items():
        key = f"letters.{kind}"
        if not isinstance(spec, Mapping):
            raise LetterSettingsError(f"{key} = {spec!r}: must be a table (copy, signatory)")
        unknown = sorted(set(spec) - {"copy", "signatory"})
        if unknown:
            raise LetterSettingsError(f"{key}.{unknown[0]} = {spec[unknown[0]]!r}: unknown setting "
                                      "(settings: copy, signatory)")
        copy = spec.get("copy", [])
        if not isinstance(copy, list) or not all(isinstance(r, str) and r.strip() for r in copy):
            raise LetterSettingsError(f"{key}.copy = {copy!r}: must be a list of role keys")
        if len(set(copy)) != len(copy):
            raise LetterSettingsError(f"{key}.copy = {copy!r}: names a role twice")
        signatory = spec.get("signatory")
        if signatory is not None and not (isinstance(signatory, str) and signatory.strip()):
            raise LetterSettingsError(f"{key}.signatory = {signatory!r}: must be a role key")
        settings[kind] = LetterSetting(kind, tuple(copy), signatory, where)
    return settings


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
