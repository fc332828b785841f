"""The authority's categorisation scheme: its levels, best first, and the conditions that put a school in each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class CategoriesError(ValueError):
    pass


@dataclass(frozen=True)
class CategoryLevel:
    key: str
    label: str
    causing_concern: bool
    # Conditions any one of which puts a school in this level: "category:SM|RSI|RI|NA|LA",
    # "pathway:<name>", "stuck", "latest:<outcome level good|ri|rsi|sm>", "default".
    when: tuple[str, ...] = ()
    support: str = ""


CONDITION_PREFIXES = ("category:", "pathway:", "latest:")
CONDITION_WORDS = ("stuck", "default", "open_case")


def parse_categories(table: Mapping[str, Any], where: str) -> tuple[CategoryLevel, ...]:
    categories = tuple(CategoryLevel(c["key"], c["label"], bool(c.get("causing_concern", False)),
                                     tuple(c.get("when", [])), c.get("support", ""))
                       for c in table.get("levels", []))
    for level in categories:
        for cond in level.when:
            if cond not in CONDITION_WORDS and not cond.startswith(CONDITION_PREFIXES):
                raise CategoriesError(f"{where}: category {level.key!r} has unknown condition {cond!r}")
    if categories and not any("default" in c.when for c in categories):
        raise CategoriesError(f"{where}: one category level needs when = [..., \"default\"] for schools no "
                              "other condition fits")
    return categories
