"""The pathway machine with one model bound for good, for work over many cases in one go.

`statemachines.pathways.fire` adds and removes a model on the shared machine per event, which costs
several times the transition itself. The national import and the termly review fire thousands of events
in one unit of work, so they use one machine whose one model is given each case in turn.

Such an event is also taken without `transitions`' trigger wrapper (Event.trigger, _trigger, _process,
Transition.execute, State.enter and exit, Machine.callbacks): each of those logs on the `transitions`
logger at debug or info level, a dozen calls per event (144,000 for a national import), paid in
isEnabledFor checks when nothing is shown and in log records and formatting when an operator turns
debug logging on for something else. BoundMachine walks the same objects the wrapper walks (the event's
transitions from the state, in the table's order, each transition's Condition objects, the machine's
before and after callbacks resolved as the library resolves them) and does nothing else. It does only
what this machine uses: `check_covered` refuses, when the machine is built, any feature of `transitions`
the walk does not reproduce (prepare, finalize, exception, enter, exit or final callbacks, callbacks on a
transition, queued events, ignored triggers), so a change to the table that needs one fails at once
rather than being skipped. The audit trail is the case's events, written by the callers from the result,
and nothing the library would log above info level can arise on this walk: its warnings are for ignored
invalid triggers and model overrides (at add_model, which still goes through the library), its error for
failing finalize callbacks.
"""

from __future__ import annotations

from transitions import EventData, Machine, MachineError

from concerns.domain.policy import Policy
from concerns.domain.rules import RuleRefusal
from statemachines.case import CaseFile, SchoolFacts, Transitioned
from statemachines.pathways import CaseModel, EventContext, build_machine


class Unreplayable(Exception):
    """The event cannot be fired in bulk: the case needs the step-by-step path, which says why in its own words."""


def check_covered(machine: Machine) -> None:
    """Refuse a machine that uses a part of `transitions` BoundMachine.fire does not reproduce."""
    unused = {"prepare_event": machine.prepare_event, "finalize_event": machine.finalize_event,
              "on_exception": machine.on_exception, "on_final": machine.on_final,
              "queued events": machine.has_queue, "ignore_invalid_triggers": machine.ignore_invalid_triggers}
    for state in machine.states.values():
        unused |= {f"{state.name} on_enter": state.on_enter, f"{state.name} on_exit": state.on_exit,
                   f"{state.name} ignore_invalid_triggers": state.ignore_invalid_triggers}
    for event in machine.events.values():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                where = f"{event.name} from {source}"
                unused |= {f"{where} prepare": transition.prepare, f"{where} before": transition.before,
                           f"{where} after": transition.after}
    used = [name for name, value in unused.items() if value]
    if used or not machine.send_event:
        raise RuntimeError(f"BoundMachine does not reproduce this machine's {', '.join(used) or 'send_event=False'}")


class BoundMachine:
    """The pathway machine with one CaseModel bound for good: each event hands the model its case.

    `statemachines.pathways.fire` adds and removes a model on the shared machine per event, which costs
    several times the transition itself; the model's state is its case's state (a property), so giving
    it the next case is all a new event needs. One per import: nothing here is shared between threads.
    """

    def __init__(self) -> None:
        self.machine = build_machine()
        check_covered(self.machine)
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
            ok = self._trigger(ctx)
        except (MachineError, RuleRefusal) as exc:
            raise Unreplayable(str(exc)) from None
        if not ok:
            raise Unreplayable("; ".join(model.refusals))
        return model.result

    def _trigger(self, ctx: EventContext) -> bool:
        """What `getattr(model, ctx.trigger)(ctx=ctx)` does on this machine (Event._trigger, _process,
        Transition.execute, _change_state), without the library's logging: the first of the event's
        transitions from the case's state whose conditions pass is taken."""
        machine, model = self.machine, self.model
        event = machine.events.get(ctx.trigger)
        if event is None:
            raise MachineError(f"no event {ctx.trigger}")
        state = machine.get_model_state(model)
        transitions = event.transitions.get(state.name)
        if not transitions:
            raise MachineError(f"Can't trigger event {event.name} from state {state.name}!")
        data = EventData(state, event, machine, model, args=(), kwargs={"ctx": ctx})
        resolve = machine.resolve_callable
        for transition in transitions:
            data.transition = transition
            if not all(condition.check(data) for condition in transition.conditions):
                continue
            for callback in machine.before_state_change:
                resolve(callback, data)(data)
            if transition.dest is not None:  # None: an internal transition, the state kept
                machine.set_state(transition.dest, model)
                data.update(getattr(model, machine.model_attribute))
            for callback in machine.after_state_change:
                resolve(callback, data)(data)
            data.result = True
            return True
        return False
