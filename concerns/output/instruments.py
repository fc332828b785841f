"""docs/instruments.md: every letter the product drafts, when the law allows it, the powers it may offer,
who gets a copy and the sources, generated from the letter files (`concerns letter kinds --markdown`).

The page is the letter files read aloud: a test keeps it in step with them, as docs/pathways.md is kept in
step with the machine.
"""

from __future__ import annotations

from concerns.domain.formatting import ukdate
from concerns.domain.letterspecs import GIVERS, LetterSpec, letter_specs, power_words
from statemachines.pathways import STATES

TAGS = {"V": "verified", "S": "secondary", "H": "historical", "U": "unconfirmed"}

HEADER = """# Instruments: when each letter may be given

Generated from the letter files (`templates/letters/<kind>.toml`, their `[preconditions]` and `[[copy]]`
tables) by `concerns letter kinds --markdown`; `tests/test_instruments.py` fails when this page is stale.
Drafting refuses a letter, in one line naming the rule and its source, when the case is not in one of the
states listed or lacks a fact listed, or when the letter names a power not offered in the case's state; the
desk offers only the letters that may be drafted now (`concerns letter kinds --urn URN` says which).
Confidence: V verified against the text of the provision, S secondary source, H historical, U unconfirmed.
"""


def _tag(tag: str) -> str:
    return f"[{tag}: {TAGS[tag]}]"


def _state(state: str) -> str:
    return f"`{state}` ({STATES[state][1]})"


def _copy_row(spec: LetterSpec) -> list[str]:
    rows = []
    for r in spec.copy:
        conditions = [c for c in (None if r.when == "always" else f"when {r.when.replace('_', ' ')}",
                                  f"given by {GIVERS['secretary_of_state' if r.issuer == 'sos' else 'la']}"
                                  if r.issuer else None,
                                  f"from {ukdate(r.valid_from, weekday=False)}" if r.valid_from else None,
                                  f"before {ukdate(r.valid_to, weekday=False)}" if r.valid_to else None) if c]
        role = "addressee" if r.addressee else "copy"
        rows.append(f"  - {r.party.replace('_', ' ')} ({role}{'; ' + ', '.join(conditions) if conditions else ''}):"
                    f" {r.source} {_tag(r.tag)}")
    return rows


def instrument_section(spec: LetterSpec) -> str:
    lines = [f"## {spec.title}", "", f"Letter kind `{spec.kind}`."
             + (" Maintained schools only." if spec.maintained_only else "")
             + (" Academies only." if spec.academy_only else ""), ""]
    pre = spec.preconditions
    if pre is None:
        lines.append("- Preconditions: none stated.")
    else:
        if pre.states is None:
            lines.append("- May be drafted: for any school, with or without a case.")
        else:
            lines.append("- May be drafted in these case states: " + ", ".join(_state(s) for s in pre.states) + ".")
        lines.append(f"- Rule: {pre.rule} ({pre.source}) {_tag(pre.tag)}")
        lines.append(f"- Given by: {', '.join(GIVERS[g] for g in pre.given_by)} ({pre.given_by_source})")
        for fact in pre.facts:
            where = f" (in {', '.join(f'`{s}`' for s in fact.states)})" if fact.states else ""
            need = (f"`{fact.fact}` is not {fact.unless!r}" if fact.unless is not None
                    else f"`{fact.fact}` is {fact.equals!r}" if fact.equals is not None else f"`{fact.fact}` is recorded")
            lines.append(f"- The case must record{where}: {need}; otherwise refused: {fact.rule} ({fact.source}) "
                         f"{_tag(fact.tag)}")
        for powers in pre.powers:
            lines.append(f"- Powers it may offer ({powers.detail}) in {', '.join(f'`{s}`' for s in powers.states)}: "
                         f"{', '.join(power_words(p) for p in powers.allowed)}: {powers.rule} ({powers.source}) "
                         f"{_tag(powers.tag)}")
    lines.append(f"- Copies{' (the copy list is the law' + chr(39) + 's)' if spec.statutory_copies else ''}:")
    lines.extend(_copy_row(spec))
    lines.append("- Sources:")
    lines.extend(f"  - {source}" for source in spec.sources)
    return "\n".join(lines) + "\n"


def instruments_markdown() -> str:
    """docs/instruments.md, from the product's own letter files (not an authority's local ones)."""
    specs = [s for s in letter_specs().values() if not s.local]
    return HEADER + "".join("\n" + instrument_section(s) for s in sorted(specs, key=lambda s: s.title))
