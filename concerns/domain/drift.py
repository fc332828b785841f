"""Where an authority's own procedure has fallen behind the law (docs/policy-drift.md).

Each policy pack says what its procedure states about the law: the date the procedure was written and,
for each statement it makes on a statutory topic of the rule book, the section, the words and the topic
(`[procedure]` in the pack). The report is computed from the rule book, never written by hand: for each
statement, the rules on its topic that

- came into force after the procedure was written and are in force on the report's date (`in_force`), or
- ended after the procedure was written and before the report's date (`ended`: the law changed in between),

with what the law says, since when, and its source. A procedure written after a change is not flagged
for it. Pure: the rule book, the procedure and the date (`on`) are inputs; nothing here asks for today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from concerns.domain.rules import DEFAULT_RULES, Rule, RuleBook

# A procedure about schools causing concern cannot be older than the law it implements: special measures
# and the LA's duties towards schools in them began with the Education Act 1993.
EARLIEST_YEAR = 1993


def _local_procedure(rule: Rule) -> bool:
    # The rule book also keeps a few timed numbers of local procedure (their source says so): not law.
    return rule.source.startswith("local procedure")


def law_topics(rules: RuleBook = DEFAULT_RULES) -> tuple[str, ...]:
    """The statutory topics of the rule book, in its order: what a procedure's statement may be about."""
    return tuple(dict.fromkeys(r.topic for r in rules.rules if not _local_procedure(r)))


LAW_TOPICS = law_topics()

# The topics in plain words, for what officers read (a topic missing here is shown with its underscores
# as spaces).
TOPIC_WORDS = {
    "warning_notice": "warning notices", "sos_warning_notice": "the Secretary of State's warning notices",
    "eligible_for_intervention": "eligibility for intervention", "statement_of_action": "statements of action",
    "academy_order": "academy orders", "safeguarding_return": "Ofsted's return after a safeguarding category",
    "reinspection": "re-inspection", "hmi_monitoring": "HMI monitoring", "judgements": "Ofsted's judgements",
    "coasting": "coasting schools", "stuck": "stuck schools", "crown": "the Crown in official titles",
    "sos_office": "who acts for the Secretary of State",
}


def topic_words(topic: str) -> str:
    return TOPIC_WORDS.get(topic, topic.replace("_", " "))


@dataclass(frozen=True)
class Statement:
    """What a procedure says about the law, where: the section as the procedure numbers it, its words."""

    section: str
    says: str
    topic: str  # one of LAW_TOPICS


@dataclass(frozen=True)
class Procedure:
    """The authority's written procedure: when it was written (or last revised) and what it says."""

    written: date
    statements: tuple[Statement, ...] = ()
    title: str = ""


@dataclass(frozen=True)
class Drift:
    """One statement of the procedure and one change of the law on its topic since it was written."""

    authority: str
    procedure: str
    written: date
    section: str
    topic: str
    says: str
    law_now: str  # what the law says (the rule's title); for an ended rule, that it no longer applies
    since: date  # the day the rule came into force, or the day it stopped applying
    source: str
    change: str  # "in_force": came into force since; "ended": no longer applies
    rule: str  # the rule's id (for machines; never shown to officers)
    title: str  # the rule's title as the rule book writes it

    def as_json(self) -> dict:
        return {"authority": self.authority, "procedure": self.procedure, "written": self.written.isoformat(),
                "section": self.section, "topic": self.topic, "says": self.says, "law_now": self.law_now,
                "since": self.since.isoformat(), "source": self.source, "change": self.change, "rule": self.rule}


def _same_law_from(rule: Rule, on_topic: list[Rule]) -> date | None:
    """The day the law `rule` states came in: its own start, or, where the rule book split it (a rule
    followed the next day by one in the same words, where only a parameter of policy changed), the start of
    the first rule in the same words."""
    start = rule.applies_from
    while start is not None:
        before = next((r for r in on_topic if r.applies_to is not None and r.title == rule.title
                       and r.applies_to + timedelta(days=1) == start), None)
        if before is None:
            break
        start = before.applies_from
    return start


def changes_since(topic: str, written: date, on: date,
                  rules: RuleBook = DEFAULT_RULES) -> list[tuple[str, Rule, date]]:
    """The changes of the law on `topic` between `written` and `on`, as (change, rule, since): ("in_force",
    rule, the day its law came in) for a rule whose law came in after `written` and applies on `on`;
    ("ended", rule, the day after it ended) for one that still applied on or after `written` and stopped
    applying before `on`. A rule followed by one in the same words is no change. In order of the day."""
    on_topic = [rule for rule in rules.rules if rule.topic == topic]
    found: list[tuple[date, str, Rule]] = []
    for rule in on_topic:
        if rule.applies_on(on):
            came_in = _same_law_from(rule, on_topic)
            if came_in is not None and came_in > written:
                found.append((came_in, "in_force", rule))
        elif rule.applies_to is not None and written <= rule.applies_to < on:
            after = rule.applies_to + timedelta(days=1)
            if not any(r.title == rule.title and r.applies_from == after for r in on_topic):
                found.append((after, "ended", rule))
    return [(change, rule, since) for since, change, rule in sorted(found, key=lambda f: (f[0], f[1] != "ended"))]


def procedure_drift(authority: str, procedure: Procedure, on: date, rules: RuleBook = DEFAULT_RULES) -> list[Drift]:
    """Every statement of `procedure` the law has moved past by `on`, with what changed (statement order)."""
    out: list[Drift] = []
    for statement in procedure.statements:
        for change, rule, since in changes_since(statement.topic, procedure.written, on, rules):
            ended = change == "ended"
            out.append(Drift(
                authority=authority, procedure=procedure.title, written=procedure.written,
                section=statement.section, topic=statement.topic, says=statement.says,
                law_now=f"No longer the law: {rule.title}" if ended else rule.title,
                since=since, source=rule.source, change=change, rule=rule.id, title=rule.title))
    return out


def policy_drift(policy, on: date, rules: RuleBook | None = None) -> list[Drift]:
    """The drift of a policy's procedure (none when the pack says nothing of its procedure). `rules`: the
    rule book to compare with, by default the policy's own (its overrides change parameters, not dates)."""
    procedure = getattr(policy, "procedure", None)
    if procedure is None:
        return []
    return procedure_drift(policy.authority, procedure, on, rules or policy.rules)


_STATUTES = (("EIA 2006", "Education and Inspections Act 2006"), ("EA 2005", "Education Act 2005"))
_UNCONFIRMED = re.compile(r"\s*\([^()]*\bunconfirmed\b[^()]*\)|;?\s*parameters overridden by authority policy")


def plain_source(source: str) -> str:
    """A rule's source as officers read it: statutes by their names, without the rule book's own notes on
    what it could not confirm (those are for whoever maintains the rule book)."""
    for short, full in _STATUTES:
        source = re.sub(rf"\b{re.escape(short)}\b", full, source)
    return _UNCONFIRMED.sub("", source).strip()


def grouped(rows: list[Drift]) -> list[dict]:
    """The rows as people read them: per authority (its procedure and written date), per statement (its
    section, topic in words and words), the changes of the law since, oldest first."""
    out: list[dict] = []
    for row in rows:
        if not out or out[-1]["authority"] != row.authority:
            out.append({"authority": row.authority, "procedure": row.procedure, "written": row.written,
                        "statements": []})
        statements = out[-1]["statements"]
        key = (row.section, row.topic, row.says)
        if not statements or statements[-1]["key"] != key:
            statements.append({"key": key, "section": row.section, "topic": topic_words(row.topic),
                               "says": row.says, "changes": []})
        statements[-1]["changes"].append({"ended": row.change == "ended", "title": row.title,
                                          "since": row.since, "source": plain_source(row.source)})
    return out


def judgement_regime_superseded(policy, on: date, rules: RuleBook | None = None) -> list[Drift]:
    """The statements on which the authority's categorisation rests that speak of a judgement regime the
    law has since replaced (an "overall effectiveness" grade, say): its `judgements` statements with drift."""
    return [d for d in policy_drift(policy, on, rules) if d.topic == "judgements"]


__all__ = ["EARLIEST_YEAR", "LAW_TOPICS", "TOPIC_WORDS", "Drift", "Procedure", "Statement", "changes_since",
           "grouped", "judgement_regime_superseded", "plain_source", "topic_words", "law_topics", "policy_drift", "procedure_drift"]
