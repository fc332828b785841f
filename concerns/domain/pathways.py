"""The pathways a school's case can be on, by key: the one list that the policy's checks, the meetings'
settings and the state machine (statemachines.pathways, whose states each belong to one) all use.
"""

from __future__ import annotations

PATHWAYS = ("requires_improvement", "serious_weaknesses", "special_measures", "la_concern", "academy_of_concern")
