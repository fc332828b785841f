"""Who holds which role, loaded once per run (a national run must not query per deadline)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from concerns.domain.policy import names_of, policy_for, service_of
from models import Person, RoleAssignment


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    role: str
    school_side: bool


class Directory:
    def __init__(self, session: Session, las: set[str] | None = None):
        query = select(RoleAssignment, Person).join(Person, Person.id == RoleAssignment.person_id)
        if las is not None:
            # Officers are registered with the LA's service under any of its names (Tri-borough's serve
            # three boroughs): ask for every name each LA's service answers to.
            query = query.where(func.lower(RoleAssignment.la).in_(sorted({n.lower() for la in las
                                                                           for n in names_of(la)})))
        self._by_key: dict[tuple[str, str, str | None], list[Recipient]] = defaultdict(list)
        for assignment, person in session.exec(query):
            key = (service_of(assignment.la), assignment.role, assignment.urn)
            self._by_key[key].append(Recipient(person.name, person.email, assignment.role, person.school_side))
        # The schools with role holders of their own: anywhere else a role reaches the authority's holders.
        self.own_schools = frozenset(urn for _, _, urn in self._by_key if urn is not None)

    def holders(self, la: str, role: str, urn: str | None = None) -> list[Recipient]:
        """The school's own holder of the role, else the authority-wide one (registered with the service)."""
        service = service_of(la)
        if urn is not None and self._by_key.get((service, role, urn)):
            return self._by_key[(service, role, urn)]
        return self._by_key.get((service, role, None), [])

    def reach(self, la: str, role: str | None, urn: str | None = None) -> tuple[str | None, list[Recipient]]:
        """The holders of `role`, climbing the policy's management chain while nobody holds it.

        A reminder for a role nobody holds would be silently lost; the manager hears of it instead. Reminders
        are for officers: a duty the school owes (its head's) reaches the officer who chases it.
        """
        policy = policy_for(la)
        seen = set()
        while role and role not in seen:
            seen.add(role)
            people = [p for p in self.holders(la, role, urn) if not p.school_side]
            if people:
                return role, people
            role = policy.manager_of(role)
        return None, []

    def school_side(self, la: str, urn: str, roles: tuple[str, ...] = ("headteacher", "chair_of_governors")
                    ) -> list[Recipient]:
        return [r for role in roles for r in self._by_key.get((service_of(la), role, urn), [])]
