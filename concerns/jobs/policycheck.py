"""A policy's words checked against the machine's and the letters' vocabulary.

`concerns.domain.policy` is pure domain, below the pathway machine (docs/decisions/0010-layers.md), so it cannot know
which events the machine fires, which deadline kinds it creates, or which letters exist. This module sits
above both: it checks that every event, deadline kind and letter kind a policy names exists (the
machine's, the letters', or the policy's own local events, local deadlines and meetings). The command
line runs it when it loads the policies, and `concerns policy check FILE` runs it on one file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from concerns.domain.pathways import PATHWAYS
from concerns.domain.policy import Policy, PolicyError, all_policies, parse_policy
from concerns.domain.tomlcheck import load_toml
from statemachines.pathways import CREATED_KINDS, DEADLINE_KINDS, MACHINE


def letter_kinds() -> frozenset[str]:
    # Imported here: the letters bring Jinja, which a policy without letter settings does not need.
    from concerns.domain.letterspecs import LETTER_KINDS

    return frozenset(LETTER_KINDS)


def deadline_kinds(policy: Policy) -> set[str]:
    """Every deadline kind a case under `policy` can hold: the machine's, its meetings', its local ones."""
    return {*DEADLINE_KINDS, *(m.kind for m in policy.meetings), *(d.kind for d in policy.local_deadlines)}


def event_names(policy: Policy) -> set[str]:
    """Every event a case under `policy` can record: the machine's triggers and the policy's own."""
    return {*MACHINE.events, *(e.name for e in policy.events)}


def vocabulary_problems(policy: Policy, where: str) -> list[str]:
    """One line per event, deadline kind or letter kind `policy` names that does not exist (in its local
    events and deadlines, responsible table, escalation ladder, letters and category conditions)."""
    problems: list[str] = []

    def bad(setting: str, value: object, why: str) -> None:
        problems.append(f"{where}: {setting}: {value!r} {why}")

    events, kinds = event_names(policy), deadline_kinds(policy)
    known_events = f"(events: the machine's, e.g. confirm_concern, or this policy's [[events]]: " \
                   f"{', '.join(e.name for e in policy.events) or 'none'})"
    for event in policy.events:
        if event.name in MACHINE.events:
            bad(f"events.{event.name}.name", event.name, "is already an event of the pathway machine; "
                                                         "give the local step a name of its own")
        for kind in event.meets:
            if kind not in kinds:
                bad(f"events.{event.name}.meets", kind, "is not a deadline kind of the machine, a meeting or a "
                                                        "local deadline of this policy")
        for pathway in event.pathways:
            if pathway not in PATHWAYS:
                bad(f"events.{event.name}.pathways", pathway, f"is not a pathway ({', '.join(PATHWAYS)})")
    for i, local in enumerate(policy.local_deadlines):
        if local.on_event not in events:
            bad(f"local_deadlines[{i}].on", local.on_event, f"is not an event {known_events}")
        if local.met_by is not None and local.met_by not in events:
            bad(f"local_deadlines[{i}].met_by", local.met_by,
                f"is not an event, so the deadline could never be met {known_events}")
        if local.kind in CREATED_KINDS:
            bad(f"local_deadlines[{i}].kind", local.kind, "is a deadline kind the machine already creates")
    for kind in policy.responsible:
        if kind != "*" and kind not in kinds:
            bad(f"responsible.{kind}", kind, "is not a deadline kind of the machine, a meeting or a local deadline "
                                             "of this policy")
    ladder_words = events | kinds
    for step in policy.escalation:
        if step not in ladder_words:
            bad("escalation.ladder", step, f"is not an event or deadline kind {known_events}")
    scheme = policy.categories
    conditions = [*((f"categories.levels.{level.key}.when", c) for level in scheme.levels for c in level.conditions),
                  *(("categories.modifiers.when", m.condition) for m in scheme.modifiers)]
    for setting, condition in conditions:
        for term in condition.terms:
            if term.kind == "event" and term.value not in events:
                bad(setting, f"event:{term.value}", f"names no event {known_events}")
    named_letters = [*((f"letters.{kind}", kind) for kind in policy.letters)]
    named_letters.append(("categories.change_letter", policy.categories.change_letter))
    if named_letters:
        letters = letter_kinds()
        for setting, kind in named_letters:
            if kind not in letters:
                bad(setting, kind, f"is not a letter kind ({', '.join(sorted(letters))})")
    return problems


def check_file(path: Path) -> list[str]:
    """Every problem in the policy file at `path`, one line each naming the file, setting and value."""
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [f"{where}: cannot be read: {exc.strerror or exc}"]
    try:
        data = load_toml(raw, where, PolicyError)  # not TOML, or nested too deep: one line
    except PolicyError as exc:
        return [str(exc)]
    problems: list[str] = []
    policy = parse_policy(data, path.stem, where, problems)
    return [*problems, *vocabulary_problems(policy, where)]


def check_loaded() -> None:
    """Refuse (PolicyError, first problem) if any policy in use names an unknown event, kind or letter."""
    _check_loaded(tuple(sorted((key, id(p)) for key, p in all_policies().items())))


@cache
def _check_loaded(_loaded: tuple) -> None:
    for key, policy in all_policies().items():
        problems = vocabulary_problems(policy, policy.path or key)
        if problems:
            more = len(problems) - 1
            raise PolicyError(problems[0] + (f" (and {more} more: `concerns policy check FILE` lists them)"
                                             if more else ""))
