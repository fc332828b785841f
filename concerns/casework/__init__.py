"""Casework: events on a school's case through the pathway machine, the register and case views, the
people, and the authority's own categories, all in the database."""
