"""The machine's input: what happened (EventContext), and what a deadline factory may read of the case.

Its own module so that statemachines.deadlines (the factories) and statemachines.pathways (the table
and the machine) both import it and neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from concerns.domain.judgements import Judgement, Summary
    from concerns.domain.policy import Policy
    from statemachines.case import CaseFile, SchoolFacts


@dataclass(frozen=True)
class EventContext:
    trigger: str
    on: date
    until: date | None = None
    note: str = ""
    actor: str = ""
    confidential: bool = False
    judgement: Judgement | None = None
    summary: Summary | None = None
    meeting: str = "progress_meeting"
    extra: dict = field(default_factory=dict)


class MachineModel(Protocol):
    """What a deadline factory reads of the case being moved (pathways.CaseModel provides it)."""

    case: CaseFile
    school: SchoolFacts
    policy: Policy
