"""The pathway machine with one model bound for good, for work over many cases in one go.

`statemachines.pathways.fire` adds and removes a model on the shared machine per event, which costs
several times the transition itself. The national import and the termly review fire thousands of events
in one unit of work, so they use one machine whose one model is given each case in turn.
"""

from __future__ import annotations

from transitions import MachineError

from concerns.domain.policy import Policy
from concerns.domain.rules import RuleRefusal
from statemachines.case import CaseFile, SchoolFacts, Transitioned
from statemachines.pathways import CaseModel, EventContext, build_machine


class Unreplayable(Exception):
    """The event cannot be fired in bulk: the case needs the step-by-step path, which says why in its own words."""


class BoundMachine:
    """The pathway machine with one CaseModel bound for good: each event hands the model its case.

    `statemachines.pathways.fire` adds and removes a model on the shared machine per event, which costs
    several times the transition itself; the model's state is its case's state (a property), so giving
    it the next case is all a new event needs. One per import: nothing here is shared between threads.
    """

    def __init__(self) -> None:
        self.machine = build_machine()
        self.model = CaseModel(CaseFile(), None, None)  # type: ignore[arg-type]  # given per event
        self.machine.add_model(self.model, initial="start")

    def fire(self, case: CaseFile, school: SchoolFacts, policy: Policy, ctx: EventContext) -> Transitioned:
        """As pathways.fire, but a refusal raises Unreplayable (the case is thrown away with the school)."""
        if case.last_event_on and ctx.on < case.last_event_on:
            raise Unreplayable("event earlier than the case's last event")
        model = self.model
        model.case, model.school, model.policy = case, school, policy
        model.refusals, model.result = [], None  # what CaseModel.__init__ starts a case with
        try:
            ok = getattr(model, ctx.trigger)(ctx=ctx)
        except (MachineError, RuleRefusal) as exc:
            raise Unreplayable(str(exc)) from None
        if not ok:
            raise Unreplayable("; ".join(model.refusals))
        return model.result
