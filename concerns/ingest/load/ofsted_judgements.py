"""What an Ofsted MI inspection record means as a Judgement (see the package notes on the decisions)."""

from __future__ import annotations

from concerns.domain.judgements import (
    AREAS,
    CATEGORY_OUTCOME,
    OVERALL_GRADE_OUTCOME,
    Grade,
    Judgement,
    Outcome,
)
from concerns.ingest.parse import (
    InspectionRecord,
)

# --- Ofsted judgements -----------------------------------------------------------------------------------

_GRADE_VALUES = frozenset(g.value for g in Grade)
_AREA_KEYS = frozenset(AREAS)  # most records grade no report-card area: tell at once


def judgement_from_record(record: InspectionRecord) -> tuple[Judgement, str | None] | None:
    """The Judgement an MI inspection record stands for, and its category code; None if it has none.

    Category SM -> special measures; RSI (SWK) / NTI -> serious weaknesses; else overall 1/2/3 ->
    outstanding / good / requires improvement; overall 4 with no category -> serious weaknesses (see the
    module notes); no overall grade (Sep 2024 on) -> the worst key judgement. Report cards -> areas.
    Raises ValueError, naming the value, for an inspection that cannot be placed in time.
    """
    if record.published is None:
        if record.overall is None and record.category is None and not record.grades:
            return None
        which = f"inspection {record.number}" if record.number else "an inspection"
        raise ValueError(f"{which} has grades but no publication date")
    if record.start and record.start > record.published:
        raise ValueError(f"inspection start date {record.start.isoformat()} is after its publication date "
                         f"{record.published.isoformat()}")
    areas = ({k: Grade(v) for k, v in record.grades.items() if k in AREAS and v in _GRADE_VALUES}
             if not _AREA_KEYS.isdisjoint(record.grades) else {})
    if areas:
        return (Judgement(published=record.published, inspected=record.start, areas=areas,
                          safeguarding=record.safeguarding, graded=record.graded), record.category)
    outcome = _outcome(record)
    if outcome is None:
        return None
    return (Judgement(published=record.published, inspected=record.start, outcome=outcome,
                      safeguarding=record.safeguarding, graded=record.graded), record.category)


def _outcome(record: InspectionRecord) -> Outcome | None:
    if record.category:
        return CATEGORY_OUTCOME[record.category]
    overall = record.overall
    if overall is None:
        numeric = [int(v) for v in record.grades.values() if v in ("1", "2", "3", "4")]
        overall = max(numeric) if numeric else None
    if overall is None:
        return None
    return OVERALL_GRADE_OUTCOME.get(overall, Outcome.serious_weaknesses)

