"""Every deadline the product creates can be met by an event the case's state allows.

A walk over the machine's table for every shipped policy: for each state a case can reach, the deadline
kinds that can be open in it (created by the steps into it, by the policy's local deadlines and events,
by its meetings and by the termly review's `schedule_meeting`, and carried from the state before unless the
step met or cancelled them), and for each, an event allowed in that state (the machine's or the policy's
own) that meets it. A deadline no event can meet would only ever go missed and be escalated.
"""

from __future__ import annotations

import pytest

from concerns.domain.policy import Policy, all_policies
from statemachines.pathways import MACHINE, OPEN_STATES, STATES, STEP_INDEX, STEPS, _sources

POLICIES = all_policies()
CATEGORIES = (None, "RSI", "SM", "LA")

# The kinds each factory of statemachines/deadlines.py makes, apart from those that depend on the policy.
FIXED_KINDS = {
    "statement_of_action": {"statement_of_action"},
    "hmi_monitoring": {"hmi_monitoring"},
    "next_hmi_monitoring": {"hmi_monitoring"},
    "reinspection": {"reinspection"},
    "safeguarding_return": {"safeguarding_return"},
    "warning_notice_compliance": {"warning_notice_compliance"},
    "tpc_warning_notice_compliance": {"tpc_warning_notice_compliance"},
}


def _school_meetings(policy: Policy, pathway: str):
    return [m for m in policy.meetings if not m.is_panel and m.selects({pathway}, set(CATEGORIES[1:]), None)]


def _factory_kinds(name: str, policy: Policy, pathway: str) -> set[str]:
    if name in FIXED_KINDS:
        return FIXED_KINDS[name]
    if name == "progress_meetings":
        return {m.kind for m in policy.meetings for c in CATEGORIES if m.selects_case(pathway, c)}
    if name == "next_progress_meeting":  # the next of the meeting just recorded
        return {m.kind for m in policy.meetings}
    if name == "scheduled_meeting":  # the termly review: the meeting, its papers, minutes, judgement
        kinds = set()
        for m in _school_meetings(policy, pathway):
            kinds.add(m.kind)
            if m.papers_due_days_before is not None:
                kinds.add("meeting_papers")
            if m.minutes_due_days_after is not None:
                kinds.add("meeting_minutes")
            if m.kind == "progress_meeting":
                kinds.add("progress_judgement")
        return kinds
    raise AssertionError(f"a factory this test does not know: {name}")


def _met_by(step, policy: Policy) -> set[str]:
    met = set(step.meet) | policy.met_by(step.trigger)
    if step.meets_requested_meeting:
        met |= {m.kind for m in policy.meetings} | {"progress_meeting"}
    return met


# The schools a pathway's cases can be on (its opening steps' guards): a local deadline for maintained
# schools only is never made on an academy's case.
MAINTAINED = {"academy_of_concern": (False,), "requires_improvement": (True, False)}


def _local_created(policy: Policy, trigger: str, met: set[str], pathway: str) -> set[str]:
    kinds = MAINTAINED.get(pathway, (True,))
    created = {d.kind for d in policy.deadlines_on(trigger) if any(d.applies_to(m, pathway) for m in kinds)}
    return created | {d.kind for d in policy.local_deadlines
                      if d.every and d.kind in met and any(d.applies_to(m, pathway) for m in kinds)}


def _meetable(policy: Policy, state: str) -> set[str]:
    """The deadline kinds some event allowed in `state` meets."""
    met: set[str] = set()
    for trigger in MACHINE.get_triggers(state):
        for step in STEP_INDEX.get((trigger, state), []):
            met |= _met_by(step, policy)
    for event in policy.events_on(STATES[state][0]):
        met |= policy.met_by(event)
    return met


def _open_kinds(policy: Policy) -> dict[str, dict[str, str]]:
    """state -> {deadline kind that can be open in it: how it came to be open}, to a fixed point."""
    open_in: dict[str, dict[str, str]] = {"start": {}}
    changed = True
    while changed:
        changed = False
        for step in STEPS:
            for source in _sources(step):
                if source not in open_in:
                    continue
                dest = source if step.dest == "=" else step.dest
                if dest == "closed":
                    continue
                pathway = STATES[dest][0]
                met = _met_by(step, policy)
                carried = {k: why for k, why in open_in[source].items()
                           if k not in met and "*" not in step.cancel and k not in step.cancel}
                made = {k: f"{step.trigger} from {source}" for name in step.create
                        for k in _factory_kinds(name, policy, pathway)}
                made |= {k: f"{step.trigger} from {source} ({policy.key} local deadline)"
                         for k in _local_created(policy, step.trigger, met, pathway)}
                target = open_in.setdefault(dest, {})
                for kind, why in {**carried, **made}.items():
                    if kind not in target:
                        target[kind], changed = why, True
        for state in [s for s in open_in if s != "start"]:
            for event in policy.events_on(STATES[state][0]):
                for kind in _local_created(policy, event, policy.met_by(event), STATES[state][0]):
                    if kind not in open_in[state]:
                        open_in[state][kind], changed = f"{event} ({policy.key} local event)", True
    return open_in


def _unmeetable(key: str) -> list[tuple[str, str, str]]:
    policy = POLICIES[key]
    open_in = _open_kinds(policy)
    return [(state, kind, why) for state in OPEN_STATES if state in open_in
            for kind, why in sorted(open_in[state].items()) if kind not in _meetable(policy, state)]


@pytest.mark.parametrize("key", sorted(POLICIES))
def test_every_deadline_that_can_be_open_in_a_state_can_be_met_there(key):
    unmeetable = [f"{state}: {kind} (made by {why})" for state, kind, why in _unmeetable(key)]
    assert not unmeetable, "deadlines no event allowed in the state meets:\n" + "\n".join(unmeetable)


@pytest.mark.parametrize("key", sorted(POLICIES))
def test_the_walk_reaches_every_open_state(key):
    # The walk above is over every state: a state it never reaches would go unchecked.
    assert set(OPEN_STATES) <= set(_open_kinds(POLICIES[key]))


def test_the_termly_review_schedules_meetings_only_where_the_state_can_record_them():
    for state in OPEN_STATES:
        if "schedule_meeting" in MACHINE.get_triggers(state):
            assert "progress_meeting" in MACHINE.get_triggers(state), state
